"""The patients page searches by identifier without putting it in any URL: the search text goes in
a POST's JSON body (``/api/patients/search``), so neither a proxy's log, the station's nor the
browser's history keeps it. Read from what reached the station: every request line and Referer the
browser sent through the relay, at tablet and phone size (before: ``GET /api/patients?...&q=``)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from e2e_support import PHONE, TABLET, set_size
from test_dashboard import api, at, by_id, css, setup_admin, wait

pytestmark = pytest.mark.e2e

PATIENTS = ("SRCH-0417", "SRCH-0533", "WARD-77")
REQUEST_LINE = re.compile(rb"([A-Z]{3,7}) (\S+) HTTP/1\.[01]\r\n")
REFERER = re.compile(rb"\r\nReferer: ([^\r\n]*)", re.IGNORECASE)


def _listed(driver) -> list[str]:
    return [row.text for row in css(driver, "#patients tbody tr td:first-child a")]


def _search(driver, text: str, expected: list[str]) -> None:
    box = by_id(driver, "search")
    box.clear()
    box.send_keys(text)
    wait(driver, f"the patients found by {text!r}", lambda d: _listed(d) == expected)


def _seen_today_on_a_programme(data_dir, identifier: str) -> None:
    """The patient tested now (a finished trial) and started on a programme, beside the running station."""
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols
    from station.store.audit import Actor
    from station.store.programmes import today_of
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        actor = Actor(None, "test")
        [patient] = store.patients.search(q=identifier)["patients"]
        session = store.sessions.create(patient["id"], {"label": "test"}, actor=actor)
        store.trials.start_trial(session["id"], "romberg", "eo", {"method": "nominal"}, 100.0, actor=actor).finish(None, valid=True)
        template = builtin_programmes(builtin_protocols())["balance-training"]
        store.programmes.assign(patient["id"], template, today_of(time.time), actor=actor)
    finally:
        store.close()


def test_the_patients_page_searches_without_an_identifier_in_any_url(station, browsers, shots):
    tablet, _ = browsers("tablet", TABLET)
    station.relay.record()
    setup_admin(tablet, station.url)
    tablet.get(station.url + "/patients")  # a new station's empty list says how to start (R L12: it said "0 patients")
    wait(tablet, "the empty list's words", lambda d: by_id(d, "list-count").text
         == "No patients yet: press Add patient (above) to register the first one.")
    for identifier in PATIENTS:
        assert api(tablet, "POST", "/api/patients", {"identifier": identifier, "birth_year": 1950, "sex": "F"})[
            "status"] == 201
    tablet.get(station.url + "/patients")
    wait(tablet, "the three patients listed", lambda d: sorted(_listed(d)) == sorted(PATIENTS))

    _search(tablet, "srch-04", ["SRCH-0417"])
    assert by_id(tablet, "list-count").text == "1 patient"
    tablet.save_screenshot(str(shots / "search-tablet.png"))
    css(tablet, "#patients tbody tr td:first-child a")[0].click()  # the patient's page, and back
    wait(tablet, "the patient's page", lambda d: re.fullmatch(r"/patients/\d+", urlsplit(d.current_url).path))
    tablet.back()
    wait(tablet, "the patients page again", at("/patients"))
    _search(tablet, "0533", ["SRCH-0533"])
    _search(tablet, "NOBODY-9", [])
    assert by_id(tablet, "list-count").text == 'No patient\'s identifier contains "NOBODY-9".'

    assert "?" not in tablet.current_url  # the page's own address holds no search either

    # seen today, on a programme: said in the list at either size (R L5: a phone dropped the last test's column)
    _seen_today_on_a_programme(station.data_dir, "WARD-77")
    tablet.refresh()
    _search(tablet, "ward", ["WARD-77"])
    row = " ".join(css(tablet, "#patients tbody tr")[0].text.split())
    assert "on a programme" in row and re.search(r"today \d", row), row
    tablet.save_screenshot(str(shots / "seen-today-tablet.png"))
    set_size(tablet, PHONE)
    _search(tablet, "ward", ["WARD-77"])
    row = " ".join(css(tablet, "#patients tbody tr")[0].text.split())
    assert "on a programme" in row and re.search(r"last test today \d", row), row
    tablet.save_screenshot(str(shots / "search-phone.png"))
    assert tablet.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")

    sent = [bytes(stream) for stream in station.relay.sent]
    targets = [m.group(2).decode("latin-1") for stream in sent for m in REQUEST_LINE.finditer(stream)]
    referers = [m.group(1).decode("latin-1") for stream in sent for m in REFERER.finditer(stream)]
    searches = [t for stream in sent for m in REQUEST_LINE.finditer(stream)
                if (t := m.group(1) + b" " + m.group(2)) == b"POST /api/patients/search"]
    for words in ("srch", "0417", "0533", "nobody", "ward"):
        assert not [u for u in targets + referers if words in u.lower()], (words, targets, referers)
    assert not [t for t in targets if "?" in t and t.startswith("/api/patients")], targets
    assert len(searches) >= 4, targets  # the searches reached the station, as POSTs
