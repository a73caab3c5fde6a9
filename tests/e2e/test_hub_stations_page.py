"""The hub's Stations page reads on a phone (390x844: each station a card of labelled lines) and on a tablet
(1180x820): nothing runs past the screen's right edge (its six columns, a station's id and the "uses the old lookup"
note ended 743 px from the left of a 390-px phone). Its times are said as every page says them, to the minute in the clinic's time zone
(``2026-12-06 13:10 AEDT``: station.store.timefmt.local_minute), where it printed the stored text
(``2026-12-06T02:10:33.123+00:00``). A hub on PostgreSQL served from this process, its stations as the hub keeps
them (a sync, an old lookup, a revoked token, a long error, a refusal shown without the identifier it quoted).

Then a patient's versions (what a station's changes replaced), linked from the patient's page for an
administrator: each version's "Put back these values…" asks first, saying what will change, and the
page then says what was put back, at both sizes (web.hub_versions; the words' cases:
tests/sync/test_hub_put_back_page.py)."""

from __future__ import annotations

import threading

import pytest

from e2e_support import set_size
from free_ports import free_port
from test_dashboard import PHONE, TABLET, by_id, css, setup_admin, wait

pytestmark = pytest.mark.e2e

NOW_S = 1796523033.123
"""2026-12-06T02:10:33.123Z: 13:10 in Sydney (AEDT)."""

PAST_THE_EDGE = """
const edge = document.documentElement.clientWidth;
return [...document.querySelectorAll(arguments[0] + ' *')]
  .filter((e) => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > edge + 0.5)
  .map((e) => e.tagName + ' ' + (e.className || '') + ': ' + e.textContent.trim().slice(0, 40));"""


def _rewritten_by_the_ward(store, hub, ward) -> None:
    """Patient P-0043, registered on the hub (1950, female, no notes), found by the ward, which rewrites
    the birth year and then the notes: two versions, each put back from the page."""
    from station.store.audit import Actor

    store.patients.create({"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, actor=Actor(None, "cli:test"))
    with store.db.write() as conn:  # registered before the ward's changes (the store's clock is the real one)
        conn.execute("UPDATE hub_patient_field_times SET changed_at = ?", ("2026-12-01T09:00:00.000Z",))
    changes = [(1, "create", {"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, "2026-12-01T10:00:00Z"),
               (2, "update", {"birth_year": 1999}, "2026-12-06T02:00:00Z"),
               (3, "update", {"notes": "moved to the coast; see the new address in the file"}, "2026-12-06T02:05:00Z")]
    for seq, op, payload, at in changes:
        hub.push(ward, {"station_id": "0d9e6c1a-6b52-4f0e-8f0e-1c2b3a4d5e6f", "changes": [
            {"seq": seq, "entity": "patient", "op": op, "local_id": 7, "at": at, "payload": payload}]})


@pytest.fixture
def hub_url(pg_url, tmp_path):
    from werkzeug.serving import make_server

    from station.store.store import Store
    from station.store.timefmt import use_time_zone
    from station.sync.hub import Hub
    from web import create_app

    store = Store.open(tmp_path / "hub", database=pg_url)
    hub = Hub(store, wall_clock=lambda: NOW_S)
    gym = hub.add_station("physio-gym-level-2")
    ward = hub.add_station("ward")
    hub.add_station("old-annex")
    hub.revoke_station("old-annex")
    hub.note_lookup(hub.authenticate(gym), in_url=True)  # a station from before lookups by POST
    _rewritten_by_the_ward(store, hub, hub.authenticate(ward))
    with store.db.write() as conn:  # as a push leaves them (the text a PostgreSQL timestamp reads as, too)
        conn.execute("UPDATE hub_stations SET last_sync_at = ?, queue_length = 3, station_id = ?, last_error = ?"
                     " WHERE name = 'physio-gym-level-2'",
                     ("2026-12-06T02:10:33.123+00:00", "5f0c2a9e-1b7d-4c3e-9a61-2f8d7c4b9e10",
                      "the hub refused change #1842 (a trial part whose digest did not match its data); "
                      "the station sends it again"))
        conn.execute("UPDATE hub_stations SET last_sync_at = ?, last_error = ? WHERE name = 'ward'",
                     ("2026-12-05T22:45:00.000Z", "change refused: identifier 'P-SECRET-7' is already used by another "
                      "patient; choose another"))  # shown without the identifier (X1's F7)
    use_time_zone("Australia/Sydney")
    app = create_app({"STORE": store, "HUB": True, "SECRET_KEY": "test", "TESTING": True})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        use_time_zone(None)
        store.close()


def test_the_hub_stations_page_reads_on_a_phone_and_a_tablet_in_the_clinics_time(hub_url, browsers, shots):
    driver, _ = browsers("tablet", TABLET)
    setup_admin(driver, hub_url)
    driver.get(hub_url + "/hub/stations")
    wait(driver, "the stations", lambda d: by_id(d, "hub-stations").is_displayed())
    page = by_id(driver, "hub-stations-page").text
    assert "2026-12-06 13:10 AEDT" in page and "2026-12-06 09:45 AEDT" in page, page  # last syncs, the clinic's zone
    assert "T02:10" not in page and "+00:00" not in page and "T22:45" not in page, page
    assert "last at 2026-12-06 13:10 AEDT" in page, page  # the old lookup's time
    assert "revoked 2026-12-06 13:10 AEDT" in page, page
    for size in (TABLET, PHONE):
        set_size(driver, size)
        driver.get(hub_url + "/hub/stations")
        wait(driver, "the stations", lambda d: by_id(d, "hub-stations").is_displayed())
        driver.save_screenshot(str(shots / f"hub-stations-{size[0]}x{size[1]}.png"))
        assert driver.execute_script(PAST_THE_EDGE, "#hub-stations-page") == [], size
        assert "Uses the old lookup (identifier in URLs): update this station" in by_id(driver, "hub-stations").text
        ward = by_id(driver, "hub-stations").text
        assert "P-SECRET-7" not in ward and "identifier '…' is already used by another patient" in ward
        assert "(a quoted value left out here: it may name a patient; the station's status shows it" in ward
    # on a phone a station is a card: each value beside its label, the station's name first
    card = by_id(driver, "hub-stations").find_elements("css selector", "tbody tr")
    names = [tr.find_element("css selector", "td.station-name").text.split("\n")[0] for tr in card]
    assert names == ["old-annex", "physio-gym-level-2", "ward"], names
    labels = driver.execute_script("""return [...arguments[0].querySelectorAll('td')].map((td) => [
        getComputedStyle(td, '::before').content, td.textContent.trim().slice(0, 22)]);""", card[1])
    assert labels[1:] == [['"Last sync"', "2026-12-06 13:10 AEDT"], ['"Queue"', "3"], ['"Changes received"', "0"],
                          ['"Last error"', "the hub refused change"], ['"Token"', "active"]], labels
    assert card[0].rect["y"] + card[0].rect["height"] <= card[1].rect["y"]  # one card under another
    # a patient's versions: an administrator puts back what the ward changed, a version at a time, asked first
    # with what will change, then told what was done; at the tablet's size, then the phone's
    _puts_back(driver, hub_url, TABLET, shots, "Notes", "Put back notes “moved to the coast; see the new address in the "
               "file” → none (the values before station ward's change)? It is saved as your edit on the hub, and every "
               "station holding the patient takes it at its next sync.")
    _puts_back(driver, hub_url, PHONE, shots, "Birth year", "Put back birth year 1999 → 1950 (the values before station "
               "ward's change)?")
    assert "Nothing to put back" in by_id(driver, "hub-versions-page").text
    assert not css(driver, "[id^=put-back-]")  # both put back: no button left


def _puts_back(driver, hub_url: str, size, shots, field: str, asked: str) -> None:
    """From the patient's page (P-0043), its versions; the version that changed ``field``: its button,
    the confirmation saying ``asked``, the answer; screenshots of both at ``size``; nothing past the edge."""
    set_size(driver, size)
    driver.get(hub_url + "/patients")
    wait(driver, "the patient in the list", lambda d: [a for a in css(d, "a[href^='/patients/']") if a.text == "P-0043"])
    [link] = [a for a in css(driver, "a[href^='/patients/']") if a.text == "P-0043"]
    link.click()
    wait(driver, "the patient page's link to the versions", lambda d: by_id(d, "patient-versions").is_displayed())
    by_id(driver, "patient-versions").click()
    wait(driver, "the versions page", lambda d: by_id(d, "hub-versions-page").is_displayed())
    [version] = [v for v in css(driver, "section.hub-version") if f"{field}:" in v.text and css(v, "[id^=put-back-]")]
    assert "Station ward's change, received 2026-12-06 13:10 AEDT" in version.text, version.text
    css(version, "[id^=put-back-]")[0].click()
    wait(driver, "the confirmation", lambda d: css(d, ".confirm-box") and css(d, ".confirm-box")[0].is_displayed())
    box = css(driver, ".confirm-box")[0]
    assert asked in box.text, box.text
    driver.save_screenshot(str(shots / f"hub-versions-confirm-{size[0]}x{size[1]}.png"))
    assert driver.execute_script(PAST_THE_EDGE, "#hub-versions-page") == [], size
    css(box, "button[type=submit]")[0].click()
    wait(driver, "what was put back", lambda d: css(d, "#hub-versions-said"))
    said = by_id(driver, "hub-versions-said").text
    assert said.startswith("Put back " + asked[len("Put back "):asked.index(" (the values")]), said
    assert "every station holding the patient takes it at its next sync" in said, said
    driver.save_screenshot(str(shots / f"hub-versions-done-{size[0]}x{size[1]}.png"))
    assert driver.execute_script(PAST_THE_EDGE, "#hub-versions-page") == [], size
