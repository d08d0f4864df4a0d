"""Merchant-edited email templates: checked at save time, previewed, and used by the sender.

An override replaces the shipped subject, HTML or text part of one flow step (a part left empty
keeps the shipped one). It renders through `email_templates.render_message()`, the one render
function the sender uses, in Jinja's sandbox with undefined names refused: an override that does
not parse, names data the flow does not have, or reaches for attributes the sandbox forbids
(`{{ ''.__class__.__mro__ }}`) fails on the sample data and is refused before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.messaging.flows import FLOWS
from shopify_app.messaging.templates import EMAIL_TEMPLATES_DIR
from shopify_app.messaging.templates import RenderedEmail
from shopify_app.messaging.templates import TemplateOverride
from shopify_app.messaging.templates import TemplateRenderError
from shopify_app.messaging.templates import check_override
from shopify_app.messaging.templates import render_message
from shopify_app.models import EmailTemplateOverride
from shopify_app.models import Shop

MAX_STEP = 5
MAX_PART_LENGTH = 100_000
PARTS = ("subject", "html", "text")
SUFFIXES = {"subject": "subject.txt", "html": "html", "text": "txt"}


class InvalidTemplate(AppError):
    """Raise when an edited template cannot be saved; the message says which part and why."""

    status_code = 400


@dataclass(frozen=True)
class TemplateView:
    flow: str
    step: int
    shipped: dict[str, str]
    override: dict[str, str | None] | None


def _flow_template(flow: str, step: int) -> str:
    definition = FLOWS.get(flow)
    if definition is None:
        raise NotFound(f"unknown flow {flow!r}")
    if not 1 <= step <= MAX_STEP:
        raise NotFound(f"step must be between 1 and {MAX_STEP}")
    return definition.template


def sample_context(flow: str, step: int, shop: Shop | None = None) -> dict[str, Any]:
    """Return made-up data for *flow*, shaped like what its planner and sender provide."""
    definition = FLOWS.get(flow)
    context: dict[str, Any] = {"recipient": {"first_name": "Alex <Sample>"}}
    if definition is not None and definition.sample_context is not None:
        context.update(definition.sample_context(shop))
    context.update(
        shop={
            "name": (shop.name or shop.domain) if shop else "Sample shop",
            "email": shop.email if shop else "hello@example.com",
            "domain": shop.domain if shop else "example.myshopify.com",
        },
        step=step,
        unsubscribe_url="https://app.example/u/sample",
    )
    return context


def _clean(parts: dict[str, Any]) -> TemplateOverride:
    values: dict[str, str | None] = {}
    for name in PARTS:
        value = parts.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidTemplate(f"{name}: must be text or null")
        if value is not None and len(value) > MAX_PART_LENGTH:
            raise InvalidTemplate(f"{name}: must be at most {MAX_PART_LENGTH} characters")
        values[name] = value if value and value.strip() else None
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise InvalidTemplate(f"{unknown[0]}: unknown part; use subject, html and text")
    return TemplateOverride(**values)


def _check(template: str, override: TemplateOverride, context: dict[str, Any]) -> RenderedEmail:
    """Render each edited part on its own so the error names the part that failed."""
    for name in PARTS:
        if getattr(override, name) is None:
            continue
        try:
            check_override(template, TemplateOverride(**{name: getattr(override, name)}), context)
        except TemplateRenderError as exc:
            raise InvalidTemplate(f"{name}: {exc.message}") from exc
    return render_message(template, context, override=override)


def preview_template(
    session: Session, *, shop_id: int, flow: str, step: int, parts: dict[str, Any]
) -> RenderedEmail:
    """Render *parts* (or the saved/shipped template) with sample data; refuse what fails."""
    template = _flow_template(flow, step)
    shop = session.get(Shop, shop_id)
    override = _clean(parts) if any(parts.get(n) for n in PARTS) else None
    if override is None:
        override = load_template_override(session, shop_id, flow, step)
    return _check(template, override or TemplateOverride(), sample_context(flow, step, shop))


def save_template_override(
    session: Session,
    *,
    shop_id: int,
    flow: str,
    step: int,
    parts: dict[str, Any],
    now: datetime,
) -> TemplateView:
    """Store the edited template of a flow step once it renders; empty parts reset to shipped."""
    template = _flow_template(flow, step)
    override = _clean(parts)
    shop = session.get(Shop, shop_id)
    _check(template, override, sample_context(flow, step, shop))
    row = _row(session, shop_id, flow, step)
    if all(getattr(override, n) is None for n in PARTS):
        if row is not None:
            session.delete(row)
            session.flush()
        return load_template_view(session, shop_id=shop_id, flow=flow, step=step)
    if row is None:
        row = EmailTemplateOverride(shop_id=shop_id, flow=flow, step=step)
        session.add(row)
    row.subject, row.html, row.text = override.subject, override.html, override.text
    row.updated_at = now
    session.flush()
    return load_template_view(session, shop_id=shop_id, flow=flow, step=step)


def delete_template_override(session: Session, *, shop_id: int, flow: str, step: int) -> None:
    """Go back to the shipped template for a flow step."""
    _flow_template(flow, step)
    session.execute(
        delete(EmailTemplateOverride).where(
            EmailTemplateOverride.shop_id == shop_id,
            EmailTemplateOverride.flow == flow,
            EmailTemplateOverride.step == step,
        )
    )


def _row(session: Session, shop_id: int, flow: str, step: int) -> EmailTemplateOverride | None:
    return session.scalar(
        select(EmailTemplateOverride).where(
            EmailTemplateOverride.shop_id == shop_id,
            EmailTemplateOverride.flow == flow,
            EmailTemplateOverride.step == step,
        )
    )


def load_template_view(session: Session, *, shop_id: int, flow: str, step: int) -> TemplateView:
    """Return the shipped sources of a flow step and the shop's override, if any."""
    template = _flow_template(flow, step)
    shipped = {
        name: (EMAIL_TEMPLATES_DIR / f"{template}.{SUFFIXES[name]}").read_text(encoding="utf-8")
        for name in PARTS
    }
    row = _row(session, shop_id, flow, step)
    override = None if row is None else {n: getattr(row, n) for n in PARTS}
    return TemplateView(flow=flow, step=step, shipped=shipped, override=override)


def load_template_override(
    session: Session, shop_id: int, flow: str, step: int
) -> TemplateOverride | None:
    """Return the shop's saved template for a flow step (the sender's override loader)."""
    row = _row(session, shop_id, flow, step)
    if row is None:
        return None
    return TemplateOverride(subject=row.subject, html=row.html, text=row.text)
