"""JSON API of biofeedback training sessions: ``GET /api/patients/<id>/training`` (the patient's
games, newest first: game, level, score, minutes, per-target results; audited ``training.view``).
Games are played through the trial service (``POST /api/station/run`` with ``training``; see
docs/api.md); this module only reads them."""

from __future__ import annotations

from flask import Blueprint

from station.analysis.biofeedback import GAME_TITLES, SCORE_DEFINITIONS
from web.security import actor, store

bp = Blueprint("api_training", __name__, url_prefix="/api")


@bp.get("/patients/<int:patient_id>/training")
def patient_training(patient_id: int):
    rows = store().training.history(patient_id, actor=actor())  # NotFound -> 404
    sessions = [{
        "id": r["id"], "day": r["day"], "created_at": r["created_at"], "game": r["game"],
        "title": GAME_TITLES.get(r["game"], r["game"]), "level": r["level"], "score": r["score"],
        "minutes": r["minutes"], "completed": r["completed"], "session_id": r["session_id"],
        "trial_id": r["trial_id"], "programme_session_id": r["programme_session_id"],
        "hits": r["result"].get("hits"), "targets_shown": r["result"].get("targets_shown"),
        "targets": r["result"].get("targets"),
    } for r in rows]
    return {"sessions": sessions, "score_definitions": SCORE_DEFINITIONS}
