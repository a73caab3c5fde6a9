"""The programme page: one patient's training programme (calendar, dose, adherence, outcomes).

``/assignments/<id>``; the patient page shows the programme at a glance and offers to start one
(``web/static/js/programme_glance.js``). Like every page, an HTML shell whose script loads the data
through the JSON API (:mod:`web.api_programmes`).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from station.store.db import NotFound
from web.pages import page_shown
from web.security import current_user, store

bp = Blueprint("programme_pages", __name__)


@bp.get("/assignments/<int:assignment_id>")
def programme_page(assignment_id: int):
    user = current_user()
    is_admin = user is not None and user.role == "admin"
    try:
        assignment = store().programmes.get(assignment_id)
        patient_id = assignment["patient_id"]
        # the title as its script words it, there from the start (a long one wraps on a phone: filled
        # in later, it pushed the buttons under it 80 px down)
        identifier = store().patients.get(patient_id)["identifier"]
    except NotFound:
        return render_template("dashboard/missing.html", what=f"programme #{assignment_id}", is_admin=is_admin,
                               page="patients"), 404
    page_shown("programme.view", patient_id, f"programme:{assignment_id}")  # the heading names the patient
    heading = f"{assignment['template']['programme']['title']} · {identifier}"
    status = assignment["status"]  # its tag beside the title, worded as programme.js words it
    status_words = f"paused since {assignment['paused_from']}" if status == "paused" else status
    return render_template("dashboard/programme.html", assignment_id=assignment_id, patient_id=patient_id,
                           is_admin=is_admin, page="patients", heading=heading, identifier=identifier,
                           status_words=status_words)
