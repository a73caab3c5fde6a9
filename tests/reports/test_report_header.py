"""The PDF header says what the document is once: the clinic's name with "Balance station report" under
it, or without a name configured "Balance station report" alone. Found by a review: with ``[clinic]
name`` empty the header read "Balance station / Balance station report"."""

from __future__ import annotations

import pytest

from station.reports.build import make_report
from station.reports.context import Clinic

from reports_support import ACTOR, page_count, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")


def _text(store, protocols, clinic_dir, clinic) -> tuple[str, int]:
    pdf = make_report("session", store, clinic_dir["fifty"]["last_visit_session_id"], protocols=protocols,
                      clinic=clinic, actor=ACTOR)
    return pdf_text(pdf), page_count(pdf)


def test_without_a_clinic_name_the_header_says_balance_station_report_once(store, protocols, clinic_dir):
    text, pages = _text(store, protocols, clinic_dir, Clinic("", None))
    assert text.startswith("Balance station report Session report Patient R-0050"), text[:120]
    assert "Balance station Balance station report" not in text
    assert text.count("Balance station report") == pages  # once on each page's header


def test_with_a_clinic_name_the_header_names_the_clinic_and_the_document(store, protocols, clinic_dir, clinic):
    text, pages = _text(store, protocols, clinic_dir, clinic)
    assert text.startswith("Clinique du Lac, service de rééducation Session report Patient R-0050 Balance station report")
    assert text.count("Balance station report") == pages
