"""The limits-of-stability part of the visit PDF cites the sources of its method, measures and limits
and the test's reliability papers where it describes them, so its references are listed again, each
one cited above the list. Before (since reports list only the sources they cite), nothing in it cited
the protocol's six papers: the PDF had no references at all."""

from __future__ import annotations

import re

import pytest

from station.cli import main
from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")


@pytest.fixture(scope="module")
def los_visit(tmp_path_factory):
    """A data directory with one limits-of-stability test of a 165-cm patient, run by the trial command on
    the simulated station: (data directory, session id)."""
    data = tmp_path_factory.mktemp("los") / "data"
    store = Store.open(data)
    patient = store.patients.create({"identifier": "LOS-CITE", "birth_year": 1952, "sex": "F", "height_cm": 165},
                                    actor=ACTOR)
    store.close()
    assert main(["trial", "--protocol", "limits-of-stability", "--simulate", "--seed", "3", "--data-dir", str(data),
                 "--patient", str(patient["id"]), "--quiet"]) == 0
    store = Store.open(data)
    try:
        (session,) = store.patients.view(patient["id"], actor=ACTOR)["sessions"]
    finally:
        store.close()
    return data, session["id"]


def _pdf_words(los_visit, protocols, clinic) -> str:
    """The words of the visit's PDF, on one line."""
    data, session_id = los_visit
    store = Store.open(data)
    try:
        pdf = make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    finally:
        store.close()
    return " ".join(pdf_text(pdf).split())


def test_the_los_pdf_cites_its_method_and_reliability_papers(los_visit, protocols, clinic):
    text = _pdf_words(los_visit, protocols, clinic)
    body, _, listed = text.rpartition("References ")
    entries = dict(re.findall(r"\[(\d+)\] (\S+ \S+)", listed))
    # all six of the protocol's papers listed, each cited above the list
    assert len(entries) == 6, (entries, text)
    for n in entries:
        assert f"[{n}]" in body, (n, text)
    by_author = {words.split()[0]: n for n, words in entries.items()}
    assert {"Nashner", "NeuroCom", "Lininger", "PhysioSensing.", "Clark", "Pickerill"} <= set(by_author), entries
    # where the PDF describes the method, the papers that define it; the limits with theirs
    assert (f"Method: eight targets, one lean each, and the test's five measures [{by_author['Nashner']}], "
            f"[{by_author['NeuroCom']}] (their names as in [{by_author['Lininger']}]).") in body, body
    assert (f"Height 165 cm; targets at the theoretical limits, 8° forward and to each side and 4.5° backward "
            f"[{by_author['PhysioSensing.']}].") in body, body
    assert (f"Reliability and validity of the test: [{by_author['Lininger']}], [{by_author['Clark']}], "
            f"[{by_author['Pickerill']}]; no published cut-off or norm is applied here.") in body, body


def test_the_los_pdf_prints_each_measure_with_its_units_decimals(los_visit, protocols, clinic):
    """One rule per unit, as the pages (text.UNIT_DIGITS): reaction times to 0.01 s, velocities to 0.1
    deg/s, excursions in whole % of the limit, directional control to 0.1 %. Before, three significant
    digits: a column read "1.08", "1", "0.960", and the composite "0.999 s" beside "74.5 % of limit"."""
    text = _pdf_words(los_visit, protocols, clinic)
    assert re.search(r"Reaction time \d\.\d\d s lower", text), text
    # no age-group percentile is printed for this test: no note on how percentiles are estimated either
    assert "Percentiles" not in text, text
    assert re.search(r"Maximum excursion \d{2,3} % of limit higher", text), text
    rows = re.findall(r"(forward|backward|left|right)(?:-(?:right|left))? (\S+) (\S+) (\S+) (\S+) (\S+) valid", text)
    assert len(rows) == 8, text
    for _, reaction, velocity, endpoint, maximum, control in rows:
        assert re.fullmatch(r"\d\.\d\d", reaction) and re.fullmatch(r"\d+\.\d", velocity), rows
        assert re.fullmatch(r"\d+", endpoint) and re.fullmatch(r"\d+", maximum), rows
        assert re.fullmatch(r"\d+\.\d", control), rows
