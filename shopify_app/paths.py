"""Where the app finds the files it ships beside its packages (templates, migrations, instance)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
INSTANCE_DIR = PROJECT_ROOT / "instance"
