"""``GET /healthz``: the acquisition's health as JSON, without login (for monitors and systemd).

It reveals no patient data: only the state of the hardware and the acquisition counters.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from station.acquire.source import down_health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    link = current_app.config.get("STATION_LINK")
    if link is None:
        doc = down_health("no acquisition process is connected to this web server")
    else:
        doc = link.health()
    status = 200 if doc["state"] in ("ok", "degraded") else 503
    return jsonify(doc), status
