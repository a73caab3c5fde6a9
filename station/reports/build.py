"""Make a PDF report (session, patient history or programme), audited like an export.

:func:`make_report` is what the command line (``balance-station report``) and the dashboard's
download (``GET /api/.../report.pdf``) call. The report is recorded in the audit log as
``patient.export`` with ``{"format": "pdf", "report": <kind>}`` and the object reported on
(``session:<id>``, ``patient:<id>``, ``assignment:<id>``); building it reads the records through
the same functions as the dashboard's pages, which record their own views.
"""

from __future__ import annotations

import time

from station.reports.context import Clinic, STATION_VERSION, calibration_words, made_at
from station.reports.layout import PAPERS, PageInfo, build_pdf

KINDS = ("session", "patient", "programme")
"""The reports: a session's visit, a patient's history, a training programme (an assignment)."""

TITLES = {"session": "Visit report", "patient": "Patient history report", "programme": "Programme report"}


def report_filename(kind: str, identifier: str, object_id: int) -> str:
    """The download's file name (identifiers are ``[A-Za-z0-9._-]``)."""
    return {"session": f"{identifier}-session-{object_id}.pdf", "patient": f"{identifier}-history.pdf",
            "programme": f"{identifier}-programme-{object_id}.pdf"}[kind]


def report_patient_id(store, kind: str, object_id: int) -> int:
    """The patient a report is about (NotFound for an unknown session, patient or programme)."""
    if kind == "session":
        return store.sessions.get(object_id)["patient_id"]
    if kind == "programme":
        return store.programmes.get(object_id)["patient_id"]
    return store.patients.get(object_id)["id"]


def make_report(kind: str, store, object_id: int, *, protocols: dict, clinic: Clinic, actor,
                paper: str = "a4", wall_clock=time.time) -> bytes:
    """The PDF of report ``kind`` for ``object_id`` (a session, patient or assignment id).

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``paper``.
    station.store.db.NotFound
        No such session, patient or programme.
    """
    if kind not in KINDS:
        raise ValueError(f"report must be one of {', '.join(KINDS)}")
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}")
    patient_id = report_patient_id(store, kind, object_id)
    patient = store.patients.get(patient_id)
    if kind == "session":
        from station.reports.session_report import session_story as story_of
    elif kind == "patient":
        from station.reports.history_report import history_story as story_of
    else:
        from station.reports.programme_report import programme_story as story_of
    story, _doc, trials = story_of(store, object_id, protocols, actor=actor, wall_clock=wall_clock, paper=paper)
    info = PageInfo(title=TITLES[kind], patient_identifier=patient["identifier"], clinic_name=clinic.name,
                    logo=clinic.logo, station_version=STATION_VERSION, calibration=calibration_words(trials),
                    generated=made_at(wall_clock))
    pdf = build_pdf(story, info, paper)
    store.audit.record(actor, "patient.export", patient_id=patient_id, object=f"{_object_noun(kind)}:{object_id}",
                       detail={"format": "pdf", "report": kind, "paper": paper, "bytes": len(pdf)})
    return pdf


def _object_noun(kind: str) -> str:
    return {"session": "session", "patient": "patient", "programme": "assignment"}[kind]
