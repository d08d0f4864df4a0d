"""The Settings page's JSON API: flow switches and parameters, and editable email templates.

GET  /api/settings/flows                      every flow (and "messaging") with its settings
PUT  /api/settings/flows/<flow>               {"enabled": bool, "params": {...}}; 400 says why
GET  /api/settings/templates/<flow>/<step>    shipped sources and the shop's override
PUT  /api/settings/templates/<flow>/<step>    {"subject", "html", "text"}; refused unless it renders
DELETE /api/settings/templates/<flow>/<step>  back to the shipped template
POST /api/settings/templates/preview          {"flow", "step", parts...} rendered with sample data
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request
from marshmallow import Schema
from marshmallow import fields

from shopify_app.db import get_session
from shopify_app.errors import AppError
from shopify_app.messaging import template_overrides
from shopify_app.messaging.flow_params import MESSAGING
from shopify_app.messaging.flow_params import MessagingParamsSchema
from shopify_app.messaging.flow_settings import InvalidFlowSettings
from shopify_app.messaging.flow_settings import default_config
from shopify_app.messaging.flow_settings import load_flow_config
from shopify_app.messaging.flow_settings import save_flow_config
from shopify_app.messaging.flows import FLOWS
from shopify_app.web.auth.session_guard import current_shop

bp = Blueprint("settings_api", __name__, url_prefix="/settings")


class InvalidSettingsRequest(AppError):
    status_code = 400


def _settings_error(error: InvalidFlowSettings) -> Response:
    response = jsonify({"error": {"message": error.message, "status": 400, "fields": error.errors}})
    response.status_code = 400
    return response


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidSettingsRequest("send a JSON object")
    return body


_FIELD_TYPES = (
    (fields.Boolean, "boolean"),
    (fields.Integer, "integer"),
    (fields.Float, "number"),
    (fields.List, "list"),
    (fields.Dict, "object"),
    (fields.String, "string"),
)


def _describe_fields(schema: type[Schema]) -> list[dict[str, Any]]:
    described = []
    for name, field in schema().fields.items():
        kind = next((label for cls, label in _FIELD_TYPES if isinstance(field, cls)), "string")
        entry: dict[str, Any] = {"name": name, "type": kind}
        choices = getattr(field.validate, "choices", None)
        if choices is not None:
            entry["choices"] = list(choices)
        described.append(entry)
    return described


def _steps(flow: str, params: dict[str, Any]) -> int:
    delays = params.get("step_delays_hours")
    return len(delays) if isinstance(delays, list) and delays else 1


def _dump_flow(flow: str, enabled: bool, params: dict[str, Any]) -> dict[str, Any]:
    definition = FLOWS.get(flow)
    schema = definition.params_schema if definition is not None else MessagingParamsSchema
    return {
        "flow": flow,
        "enabled": enabled,
        "params": params,
        "defaults": default_config(flow).params,
        "fields": _describe_fields(schema),
        "is_marketing": definition.is_marketing if definition is not None else None,
        "priority": definition.priority if definition is not None else None,
        "audience_param": definition.audience_param if definition is not None else None,
        "steps": _steps(flow, params) if definition is not None else 0,
    }


@bp.get("/flows")
def list_flow_settings() -> Response:
    shop = current_shop()
    session = get_session()
    dumped = []
    for flow in (MESSAGING, *sorted(FLOWS, key=lambda name: FLOWS[name].priority)):
        config = load_flow_config(session, shop_id=shop.id, flow=flow)
        dumped.append(_dump_flow(flow, config.enabled, config.params))
    return jsonify({"flows": dumped})


@bp.put("/flows/<flow>")
def update_flow_settings(flow: str) -> Response:
    shop = current_shop()
    if flow != MESSAGING and flow not in FLOWS:
        raise AppError(f"unknown flow {flow!r}", status_code=404)
    body = _json_body()
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        return _settings_error(InvalidFlowSettings({"enabled": ["must be true or false"]}))
    params = body.get("params", {})
    if not isinstance(params, dict):
        return _settings_error(InvalidFlowSettings({"params": ["must be a JSON object"]}))
    session = get_session()
    try:
        config = save_flow_config(
            session,
            shop_id=shop.id,
            flow=flow,
            enabled=enabled or flow == MESSAGING,
            params=params,
            now=datetime.now(UTC),
        )
    except InvalidFlowSettings as error:
        session.rollback()
        return _settings_error(error)
    session.commit()
    return jsonify(_dump_flow(flow, config.enabled, config.params))


def _dump_template(view: template_overrides.TemplateView) -> dict[str, Any]:
    return {
        "flow": view.flow,
        "step": view.step,
        "shipped": view.shipped,
        "override": view.override,
    }


@bp.get("/templates/<flow>/<int:step>")
def show_template(flow: str, step: int) -> Response:
    view = template_overrides.load_template_view(
        get_session(), shop_id=current_shop().id, flow=flow, step=step
    )
    return jsonify(_dump_template(view))


@bp.put("/templates/<flow>/<int:step>")
def save_template(flow: str, step: int) -> Response:
    session = get_session()
    try:
        view = template_overrides.save_template_override(
            session,
            shop_id=current_shop().id,
            flow=flow,
            step=step,
            parts=_json_body(),
            now=datetime.now(UTC),
        )
    except AppError:
        session.rollback()
        raise
    session.commit()
    return jsonify(_dump_template(view))


@bp.delete("/templates/<flow>/<int:step>")
def reset_template(flow: str, step: int) -> Response:
    session = get_session()
    shop_id = current_shop().id
    template_overrides.delete_template_override(session, shop_id=shop_id, flow=flow, step=step)
    session.commit()
    view = template_overrides.load_template_view(session, shop_id=shop_id, flow=flow, step=step)
    return jsonify(_dump_template(view))


@bp.post("/templates/preview")
def preview_template() -> Response:
    body = _json_body()
    flow, step = body.get("flow"), body.get("step", 1)
    if not isinstance(flow, str) or not isinstance(step, int) or isinstance(step, bool):
        raise InvalidSettingsRequest("send a flow name and a step number")
    parts = {name: body.get(name) for name in template_overrides.PARTS if name in body}
    rendered = template_overrides.preview_template(
        get_session(), shop_id=current_shop().id, flow=flow, step=step, parts=parts
    )
    return jsonify({"subject": rendered.subject, "html": rendered.html, "text": rendered.text})
