"""The visit PDF says which of Carter's bands a 3-m backward walk falls in: low fall risk faster
than 3.0 s, neither high nor low from 3.0 to 4.5 s, high slower than 4.5 s; for a patient outside
the cut-off's population, that it is not applied, as before. Before, 3.4 s and 2.8 s both read "not
slower than the 4.5 s cut-off"."""

from __future__ import annotations

import pytest

from station.reports.build import make_report
from station.reports.fhir_bundle import _readings
from station.store.store import Store

from reports_support import ACTOR, pdf_text
from test_cutoff_populations import CARTER_GROUP, _patient, _walk_session

pytestmark = pytest.mark.usefixtures("poppler")


@pytest.mark.parametrize("time_s, age, conditions, said", [
    (3.4, 70, [], "Cut-off [1]: 3.40 s: neither high nor low fall risk (between 3 and 4.5 s)."),
    (2.8, 70, [], "Cut-off [1]: 2.80 s: low fall risk (faster than 3 s). The cut-off: Faster than 3.0 s: low risk of falls"),
    # with Polo-Ferrero's 5.5 s, not applied for the same reason: said once, both sources named
    (2.8, 45, [], f"Not applied to this patient: the cut-offs (3 and 4.5 s) [1], set in {CARTER_GROUP}, and the cut-off "
                  "(5.5 s) [2], set in 483 community-dwelling older adults (mean age 76.3 y); for both: aged 45, younger than "
                  "the 60 y it is applied from."),
])
def test_the_visit_pdf_says_the_band_of_a_backward_walk(tmp_path, protocols, clinic, time_s, age, conditions, said):
    store = Store.open(tmp_path / "data")
    try:
        session_id = _walk_session(store, _patient(store, "BAND-1", age, conditions), "backward-walk-3m", "fast",
                                   {"walk_time_s": time_s, "walk_speed_m_s": 3.0 / time_s})
        pdf = make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    finally:
        store.close()
    text = " ".join(pdf_text(pdf).split())
    assert said in text, text
    assert "not slower than the 4.5 s cut-off" not in text and "criterion" not in text, text


def test_the_fhir_bundle_reads_a_band_on_its_flagged_side(protocols):
    carter = protocols["backward-walk-3m"]
    low = _readings("walk_time_s", 2.8, carter, "fast", 70.0, [])[0][0]
    assert low["coding"][0]["code"] == "N" and low["text"].startswith("Low fall risk (faster than 3 s) (Carter V")
    between, polo = _readings("walk_time_s", 3.4, carter, "fast", 70.0, [])[0]
    assert between["coding"][0]["code"] == "N"
    assert between["text"].startswith("Neither high nor low fall risk (between 3 and 4.5 s) (Carter V")
    # a risk cut-off not crossed, in the pages' words: "criterion met" reads as screened positive
    assert polo["coding"][0]["code"] == "N" and "criterion" not in polo["text"]
    assert polo["text"].startswith("Not slower than the 5.5 s fall-history cut-off (at or below 5.5 s) (Polo-Ferrero L")
    high = _readings("walk_time_s", 4.99, carter, "fast", 70.0, [])[0][0]
    assert high["coding"][0]["code"] == "H"
    assert high["text"].startswith("High fall risk (slower than 4.5 s). 3-m backward walk slower than 4.5 s: high risk")
    (limit,) = _readings("walk_time_s", 2.8, carter, "fast", 70.0, [])[1][:1]
    assert limit["high"]["value"] == 4.5 and "low" not in limit  # the flag's limit; the good end is not a range
