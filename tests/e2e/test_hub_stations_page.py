"""The hub's Stations page reads on a phone (390x844: each station a card of labelled lines) and on a tablet
(1180x820): nothing runs past the screen's right edge (its six columns, a station's id and the "uses the old lookup"
note ended 743 px from the left of a 390-px phone). Its times are said as every page says them, to the minute in the clinic's time zone
(``2026-12-06 13:10 AEDT``: station.store.timefmt.local_minute), where it printed the stored text
(``2026-12-06T02:10:33.123+00:00``). A hub on PostgreSQL served from this process, its stations as the hub keeps
them (a sync, an old lookup, a revoked token, a long error, a refusal shown without the identifier it quoted)."""

from __future__ import annotations

import threading

import pytest

from e2e_support import set_size
from free_ports import free_port
from test_dashboard import PHONE, TABLET, by_id, setup_admin, wait

pytestmark = pytest.mark.e2e

NOW_S = 1796523033.123
"""2026-12-06T02:10:33.123Z: 13:10 in Sydney (AEDT)."""

PAST_THE_EDGE = """
const edge = document.documentElement.clientWidth;
return [...document.querySelectorAll('#hub-stations-page *')]
  .filter((e) => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > edge + 0.5)
  .map((e) => e.tagName + ' ' + (e.className || '') + ': ' + e.textContent.trim().slice(0, 40));"""


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
    hub.add_station("ward")
    hub.add_station("old-annex")
    hub.revoke_station("old-annex")
    hub.note_lookup(hub.authenticate(gym), in_url=True)  # a station from before lookups by POST
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
        assert driver.execute_script(PAST_THE_EDGE) == [], size
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
