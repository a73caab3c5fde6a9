"""The station's copy of the hub's programme (a patient's history page, "Programme on the clinic's hub") counts
partial sessions as the station's own programme page does (G1's rule: under half the planned minutes walked): the
minutes walked of those due lead, "2 of 12 sessions done (1 partial: under half the planned minutes)", and the
partial session says "partial · 5 min of 45 min". Before (s24), the copy dropped the hub's partial counts and said
"2 of 12 sessions done, 0 missed; 45 of 540 minutes", the 5-minute session "done · 5 min". A hub on PostgreSQL and
two stations syncing to it in this process (tests/sync/sync_support.py), the ward's pages served from here."""

from __future__ import annotations

import threading

import pytest

from e2e_support import set_size
from free_ports import free_port
from test_dashboard import PHONE, TABLET, by_id, css, page_width, setup_admin, wait

pytestmark = pytest.mark.e2e


def _sync_support():
    """tests/sync/sync_support.py (its folder is not a package), loaded once."""
    import importlib.util
    import sys
    from pathlib import Path

    if "sync_support" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sync_support", Path(__file__).parents[1] / "sync" / "sync_support.py")
        sys.modules["sync_support"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["sync_support"]


@pytest.fixture
def ward_url(pg_url, tmp_path, station_data_dir):
    from werkzeug.serving import make_server

    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols
    from station.store.programmes import today_of
    from web import create_app

    sync_support = _sync_support()
    hub_store = sync_support.open_hub_store(tmp_path, database=pg_url)
    hub_app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": sync_support.CHEAP,
                          "TESTING": True})
    made = []
    for name in ("gym", "ward"):
        station_data_dir(tmp_path / name)
        made.append(sync_support.make_station(hub_store, hub_app, tmp_path, name))
    gym, ward = made
    actor = sync_support.CLINICIAN
    patient = gym.store.patients.create({"identifier": "HUB-PART", "birth_year": 1950, "sex": "F"}, actor=actor)
    template = builtin_programmes(builtin_protocols())["balance-training"]
    local = gym.store.programmes.assign(patient["id"], template, today_of(gym.store.programmes._now), actor=actor)
    gym.store.programmes.enter_dose(local["sessions"][0]["id"], {"minutes": 45}, actor=actor)
    gym.store.programmes.enter_dose(local["sessions"][1]["id"], {"minutes": 5}, actor=actor)  # under half: partial
    gym.sync_once()
    pulled = ward.pull_patient("HUB-PART", actor=actor)
    app = create_app({"STORE": ward.store, "SYNC": ward, "SECRET_KEY": "test", "TESTING": True})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", pulled["id"]
    finally:
        server.shutdown()
        thread.join(5)
        for sync in made:
            sync.store.close()
        hub_store.close()


def test_the_hubs_programme_counts_partial_sessions_as_the_station_does(ward_url, browsers, shots):
    url, patient = ward_url
    driver, _ = browsers("tablet", TABLET)
    setup_admin(driver, url)
    for size, name in ((TABLET, "tablet"), (PHONE, "phone")):
        set_size(driver, size)
        driver.get(f"{url}/patients/{patient}/history")
        box = wait(driver, "the hub's programme", lambda d: by_id(d, "hub-programmes").is_displayed()
                   and css(d, "#hub-programmes .hub-adherence") and by_id(d, "hub-programmes"))
        summary = css(driver, "#hub-programmes .hub-adherence")[0].text
        assert "2 of 12 sessions done (1 partial: under half the planned minutes), 0 missed." in summary, summary
        assert summary.split(": ", 1)[1].startswith("walked 50 min of "), summary
        second = css(driver, '#hub-programmes li[data-number="2"]')[0].text
        assert "· partial · 5 min of 45 min ·" in second and "at gym" in second, second
        assert "· done · 45 min ·" in css(driver, '#hub-programmes li[data-number="1"]')[0].text
        driver.execute_script("arguments[0].scrollIntoView()", box)
        driver.save_screenshot(str(shots / f"hub-programme-partial-{name}.png"))
        assert page_width(driver) <= size[0]
