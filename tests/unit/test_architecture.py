"""The layering rules of docs/architecture.md, checked on every module's imports (ast).

Imports inside functions count: they run too, and hiding an edge there does not remove it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.cli import AppGroup

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("shopify_app", "webhooks", "jobs")
DOMAIN_PACKAGES = (
    "shopify_app.store",
    "shopify_app.messaging",
    "shopify_app.analytics",
    "shopify_app.predictions",
    "shopify_app.privacy",
    "shopify_app.models",
    "shopify_app.gateway",
    "shopify_app.adapters",
)
# Plain modules of the app shell that the domain may use: they import nothing of the edges.
DOMAIN_MAY_ALSO_IMPORT = (
    "shopify_app.errors",
    "shopify_app.settings",
    "shopify_app.paths",
    "shopify_app.money",
)
WEB_FRAMEWORKS = ("flask", "werkzeug")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_JS_MODULE_LINES = 400


@dataclass(frozen=True)
class Import:
    """One imported module, where it was imported, and whether from inside a function."""

    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    modules = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


MODULES = product_modules()


def _resolve_relative(module: str, path: Path, level: int, name: str | None) -> str:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


def imports_of(module: str) -> list[Import]:
    """Return every module *module* imports, a `from package import submodule` as the submodule."""
    path = MODULES[module]
    tree = ast.parse(path.read_text("utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = _resolve_relative(module, path, child.level, child.module)
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    target = candidate if candidate in MODULES else base
                    found.append(Import(target, child.lineno, in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def project_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in MODULES:
        edges[module] = {
            imp.target
            for imp in imports_of(module)
            if imp.target in MODULES and imp.target != module
        }
    return edges


def in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def domain_modules() -> list[str]:
    return [m for m in MODULES if in_packages(m, DOMAIN_PACKAGES)]


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return components


def test_the_domain_never_imports_the_web_framework_or_an_edge() -> None:
    allowed = DOMAIN_PACKAGES + DOMAIN_MAY_ALSO_IMPORT
    violations = []
    for module in domain_modules():
        for imp in imports_of(module):
            top = imp.target.split(".")[0]
            if (
                top in WEB_FRAMEWORKS
                or imp.target in MODULES
                and not in_packages(imp.target, allowed)
            ):
                violations.append(f"{module}:{imp.line} imports {imp.target}")
    assert violations == []


def test_the_shell_modules_the_domain_uses_stay_free_of_the_web_framework() -> None:
    violations = [
        f"{module}:{imp.line} imports {imp.target}"
        for module in DOMAIN_MAY_ALSO_IMPORT
        if module in MODULES
        for imp in imports_of(module)
        if imp.target.split(".")[0] in WEB_FRAMEWORKS
        or (imp.target in MODULES and not in_packages(imp.target, DOMAIN_MAY_ALSO_IMPORT))
    ]
    assert violations == []


def test_every_domain_module_imports_with_flask_unavailable() -> None:
    """Import the whole domain in a fresh interpreter where flask and werkzeug cannot load."""
    script = "\n".join(
        [
            "import importlib, sys",
            "for name in ('flask', 'werkzeug'):",
            "    sys.modules[name] = None",
            f"for module in {sorted(domain_modules())!r}:",
            "    importlib.import_module(module)",
            "assert 'flask' not in {m.split('.')[0] for m in sys.modules if sys.modules[m]}",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_import_cycle_between_project_modules() -> None:
    assert find_cycles(project_edges()) == []


def _line_count(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines())


def test_no_product_module_is_longer_than_400_lines() -> None:
    long_modules = {
        module: _line_count(path)
        for module, path in MODULES.items()
        if _line_count(path) > MAX_MODULE_LINES
    }
    assert long_modules == {}


def test_no_static_script_is_longer_than_400_lines() -> None:
    scripts = sorted((ROOT / "shopify_app" / "static").rglob("*.js"))
    assert scripts, "the admin's scripts were not found"
    long_scripts = {
        str(p.relative_to(ROOT)): _line_count(p)
        for p in scripts
        if _line_count(p) > MAX_JS_MODULE_LINES
    }
    assert long_scripts == {}


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_product_function_is_longer_than_60_lines() -> None:
    long_functions = {}
    for module, path in MODULES.items():
        for function in _functions(ast.parse(path.read_text("utf-8"))):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                long_functions[f"{module}:{function.lineno}:{function.name}"] = length
    assert long_functions == {}


def _command_groups(app: Flask) -> Iterator[tuple[str, object]]:
    def walk(prefix: str, group: object) -> Iterator[tuple[str, object]]:
        for name, command in getattr(group, "commands", {}).items():
            yield f"{prefix} {name}".strip(), command
            yield from walk(f"{prefix} {name}", command)

    yield from walk("", app.cli)


def test_every_operator_command_group_is_an_app_group(app: Flask) -> None:
    """Nested groups must push the app context themselves, as Flask's AppGroup does."""
    plain_groups = [
        name
        for name, command in _command_groups(app)
        if hasattr(command, "commands") and not isinstance(command, AppGroup)
    ]
    assert plain_groups == []


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "new"],
        ["jobs", "list"],
        ["webhooks", "failed"],
        ["jobs", "needs-review"],
    ],
)
def test_operator_commands_run_under_the_test_cli_runner(app: Flask, command: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_no_source_file_keeps_a_noqa_for_the_size_rules() -> None:
    hidden = []
    for module, path in MODULES.items():
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.COMMENT and any(
                    code in token.string for code in ("C901", "PLR0915")
                ):
                    hidden.append(f"{module}:{token.start[0]}")
    assert hidden == []


def _calls_of_attribute(tree: ast.AST, attribute: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == attribute
    ]


def test_money_is_rounded_only_by_the_money_module() -> None:
    """One place decides how an amount rounds: `shopify_app.money`."""
    rounding = {
        f"{module}:{line}"
        for module, path in MODULES.items()
        if module != "shopify_app.money"
        for line in _calls_of_attribute(ast.parse(path.read_text("utf-8")), "quantize")
    }
    assert rounding == set()


def test_api_views_read_query_parameters_only_through_the_one_parser() -> None:
    """Every /api route parses dates, periods and limits with `shopify_app.web.query`."""
    readers = set()
    for module, path in MODULES.items():
        if not module.startswith("shopify_app.web.dashboard.") or not module.endswith("_api"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        readers |= {f"{module}:{line}" for line in _calls_of_attribute(tree, "args")}
    assert readers == set()


def test_the_inbox_due_condition_is_written_only_in_the_inbox() -> None:
    """Claiming and sweeping share `webhooks.inbox.is_due`; a second copy would drift."""
    copies = {
        module
        for module, path in MODULES.items()
        if module != "webhooks.inbox"
        and "WebhookDelivery.next_attempt_at <=" in path.read_text("utf-8")
    }
    assert copies == set()
