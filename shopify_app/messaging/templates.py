"""Render lifecycle emails from Jinja2 templates: one entry point, `render_message()`.

Templates live in templates/emails/<name>.{subject.txt,html,txt}. A merchant's override (stored
by the settings page) is a `TemplateOverride` with the same three parts; it renders in a sandbox
with undefined names refused, so a broken override is caught by `check_override()` at save time.
HTML parts are autoescaped: customer-controlled text (names, product titles) can never inject
markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from shopify_app.errors import AppError
from shopify_app.money import display_amount

EMAIL_TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "emails"


class TemplateRenderError(AppError):
    status_code = 422


@dataclass(frozen=True)
class TemplateOverride:
    subject: str | None = None
    html: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(EMAIL_TEMPLATES_DIR)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = display_amount
    return env


def render_message(
    template: str, context: dict[str, Any], *, override: TemplateOverride | None = None
) -> RenderedEmail:
    """Render the subject, HTML and text parts of *template* with *context*."""
    override = override or TemplateOverride()
    try:
        subject = _render(False, f"{template}.subject.txt", override.subject, context)
        html = _render(True, f"{template}.html", override.html, context)
        text = _render(False, f"{template}.txt", override.text, context)
    except TemplateError as exc:
        raise TemplateRenderError(f"The email template does not render: {exc}") from exc
    # A subject is one header line, whatever the template or the data put into it.
    subject = " ".join(subject.split())
    return RenderedEmail(subject=subject, html=html, text=text)


def _render(autoescape: bool, name: str, source: str | None, context: dict[str, Any]) -> str:
    env = _environment(autoescape)
    template = env.from_string(source) if source is not None else env.get_template(name)
    return template.render(**context)


def check_override(
    template: str, override: TemplateOverride, sample_context: dict[str, Any]
) -> RenderedEmail:
    """Render *override* with a sample; raise TemplateRenderError saying why when it cannot."""
    return render_message(template, sample_context, override=override)
