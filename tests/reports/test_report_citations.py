"""A PDF report lists only the sources it cites: every ``[n]`` of its references is cited in the
report above them. Before, the visit report listed every reference of each protocol run, cited or
not: a 45-year-old after stroke doing the 10-metre walk got Bohannon's norms of healthy adults (not
read against her) alone on page 2; the programme report listed every source of the programme."""

from __future__ import annotations

import re
import time

import pytest

from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")


def _listed_and_cited(pdf: bytes) -> tuple[list[str], str, str]:
    """(the entries of the references, the text above them, the whole text)."""
    text = " ".join(pdf_text(pdf).split())
    body, _, listed = text.rpartition("References ")
    return re.findall(r"\[(\d+)\] ", listed), body, text


def _walk_visit(store, identifier: str, age: int, conditions: list[str]) -> int:
    from test_cutoff_populations import _walk_session

    patient = store.patients.create({"identifier": identifier, "birth_year": time.gmtime().tm_year - age,
                                     "sex": "F", "conditions": conditions}, actor=ACTOR)
    return _walk_session(store, patient["id"], "ten-metre-walk", "comfortable",
                         {"walk_time_s": 9.68, "walk_speed_m_s": 0.62, "cadence_steps_min": 96.0})


def test_the_visit_report_lists_only_the_sources_it_cites(tmp_path, protocols, clinic):
    store = Store.open(tmp_path / "data")
    try:
        session_id = _walk_visit(store, "CITE-STROKE-45", 45, ["stroke:left"])
        pdf = make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    finally:
        store.close()
    listed, body, text = _listed_and_cited(pdf)
    assert listed, text  # Perry's walking classes, read against her, are cited
    assert "Perry J" in text and "Bohannon" not in text, text
    for n in listed:
        assert f"[{n}]" in body, (n, text)


def test_the_programme_and_history_reports_list_only_the_sources_they_cite(store, clinic_dir, protocols, clinic):
    made = clinic_dir["fifty"]
    for kind, key in (("programme", "assignment_id"), ("patient", "patient_id"), ("session", "last_visit_session_id")):
        pdf = make_report(kind, store, made[key], protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
        listed, body, text = _listed_and_cited(pdf)
        for n in listed:
            assert f"[{n}]" in body, (kind, n, text)
