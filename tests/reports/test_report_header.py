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
    assert text.startswith("Balance station report Visit report Patient R-0050"), text[:120]
    assert "Balance station Balance station report" not in text
    assert text.count("Balance station report") == pages  # once on each page's header


def test_with_a_clinic_name_the_header_names_the_clinic_and_the_document(store, protocols, clinic_dir, clinic):
    text, pages = _text(store, protocols, clinic_dir, clinic)
    assert text.startswith("Clinique du Lac, service de rééducation Visit report Patient R-0050 Balance station report")
    assert text.count("Balance station report") == pages


def test_the_visit_report_is_called_as_the_page_and_keeps_each_tests_heading_with_its_first_condition(store, protocols,
                                                                                                       clinic_dir):
    """The visit PDF is the "Visit report" (it was "Session report" beside the page's "Visit results"), and a test's
    heading and count are kept with its first condition's heading and trials: a heading was left alone at a page's
    foot ("10-metre walk test, comfortable and fast / 4 valid of 4"; R's review, session 24, L10)."""
    import time

    from reportlab.platypus import KeepTogether

    from station.reports.session_report import session_story

    story, doc, _trials = session_story(store, clinic_dir["fifty"]["last_visit_session_id"], protocols, actor=ACTOR,
                                        wall_clock=time.time, paper="a4")
    assert story[0].getPlainText() == "Visit report"
    titles = [s["title"] for s in doc["protocols"] if s["conditions"]]
    kept = [f._content[0].getPlainText() for f in story if isinstance(f, KeepTogether) and f._content
            and getattr(f._content[0], "style", None) is not None and f._content[0].style.name == "h2"]
    assert titles and kept == titles, (titles, kept)
