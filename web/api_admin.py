"""JSON API for administrators: accounts, clinic settings and the audit log (role ``admin``).

``GET/POST /api/users``, ``PATCH /api/users/<id>``, ``GET/PATCH /api/settings``, ``GET /api/audit``.
See ``docs/api.md``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from station.store.audit import ACTIONS
from station.store.db import ValidationError
from station.store.timefmt import parse_utc_iso, utc_iso
from web.jsonio import json_body, query_int
from web.security import actor, roles, store

bp = Blueprint("api_admin", __name__, url_prefix="/api")


@bp.get("/users")
@roles("admin")
def list_users():
    return {"users": store().users.list()}


@bp.post("/users")
@roles("admin")
def create_user():
    data = json_body()
    allowed = ("username", "password", "role")
    problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(allowed)}" for k in data if k not in allowed}
    for key in allowed:
        if key not in data:
            problems[key] = "is required"
    if problems:
        raise ValidationError(problems)
    user = store().users.create(data["username"], data["password"], data["role"], actor=actor())
    response = current_app.json.response(user)
    response.status_code = 201
    return response


@bp.patch("/users/<int:user_id>")
@roles("admin")
def update_user(user_id: int):
    data = json_body()
    allowed = ("role", "disabled", "password")
    problems = {str(k)[:40]: f"unknown field; allowed: {', '.join(allowed)}" for k in data if k not in allowed}
    if not data:
        problems["body"] = f"nothing to change; give one or more of {', '.join(allowed)}"
    if "password" in data and not isinstance(data["password"], str):
        problems["password"] = "must be a string"
    if "role" in data and not isinstance(data["role"], str):
        problems["role"] = "must be a string"
    if problems:
        raise ValidationError(problems)
    return store().users.update(
        user_id, actor=actor(), role=data.get("role"), disabled=data.get("disabled"), password=data.get("password")
    )


@bp.get("/settings")
@roles("admin")
def get_settings():
    return {"settings": store().settings.all()}


@bp.patch("/settings")
@roles("admin")
def update_settings():
    return {"settings": store().settings.update(json_body(), actor=actor())}


def _time_arg(name: str) -> str | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return utc_iso(parse_utc_iso(raw))
    except (ValueError, OverflowError, OSError):
        raise ValidationError({name: "must be an ISO 8601 time with a time zone, e.g. 2025-01-31T09:00:00Z"}) from None


@bp.get("/audit")
@roles("admin")
def audit_log():
    allowed = ("patient_id", "username", "action", "since", "until", "before_id", "limit")
    unknown = [k for k in request.args if k not in allowed]
    if unknown:
        raise ValidationError({k[:40]: f"unknown query parameter; allowed: {', '.join(allowed)}" for k in unknown})
    action = request.args.get("action") or None
    if action is not None and action not in ACTIONS and not (
        action.endswith(".") and any(a.startswith(action) for a in ACTIONS)
    ):
        raise ValidationError({"action": "unknown action; see docs/api.md (a family like 'patient.' also works)"})
    patient_id = request.args.get("patient_id")
    entries = store().audit.query(
        patient_id=query_int("patient_id", 0, 1, 2**62) if patient_id else None,
        username=request.args.get("username") or None,
        action=action,
        since=_time_arg("since"),
        until=_time_arg("until"),
        before_id=query_int("before_id", 0, 1, 2**62) if request.args.get("before_id") else None,
        limit=query_int("limit", 100, 1, 1000),
    )
    return {"entries": entries, "next_before_id": entries[-1]["id"] if entries else None}
