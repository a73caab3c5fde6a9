"""Where the hub's pages are linked from (s32 P, item 4): the patient page's "Changes from stations" showed for every
patient, a link to an empty list for one no station ever changed; now it is a link, with how many, only where there
are some, and "none yet" in its place otherwise. ``/hub/stations`` had no link anywhere (an administrator had to know
its address): it is a tab beside Users, Settings and Audit log on the hub's administration pages, which only
administrators see; a station has no such page and no such tab."""

from __future__ import annotations

import re

from web import create_app

from sync_support import CHEAP, CLINICIAN, hub_admin_client, hub_patient
from test_hub_put_back_page import _rewritten

STATIONS_TAB = re.compile(r'<a href="/hub/stations" class="tab( current)?">Stations</a>')


def test_the_changes_link_shows_only_for_a_patient_a_station_changed(hub_store, hub_app, station_factory):
    changed, gym = _rewritten(hub_store, station_factory)  # P-0043: the ward's change kept as a version
    gym.store.patients.create({"identifier": "P-0044", "birth_year": 1960, "sex": "M"}, actor=CLINICIAN)
    gym.sync_once()
    untouched = hub_patient(hub_store, "P-0044")  # registered by the gym, changed by no station since
    admin = hub_admin_client(hub_store, hub_app)
    page = admin.get(f"/patients/{untouched['id']}").get_data(as_text=True)
    assert "/versions" not in page, page  # was a link to an empty list, for every patient
    assert '<span class="muted" id="patient-versions-none">Changes from stations: none yet</span>' in page, page
    page = admin.get(f"/patients/{changed['id']}").get_data(as_text=True)
    assert (f'<a class="button secondary" id="patient-versions" href="/hub/patients/{changed["id"]}/versions">'
            "Changes from stations (1)</a>") in page, page
    assert "none yet" not in page


def test_the_stations_page_is_a_tab_of_the_hubs_administration_pages(hub_store, hub_app, station_factory):
    admin = hub_admin_client(hub_store, hub_app)
    for address in ("/admin/users", "/admin/settings", "/admin/audit", "/hub/stations"):
        shown = admin.get(address)
        assert shown.status_code == 200, address
        tabs = STATIONS_TAB.findall(shown.get_data(as_text=True))
        assert tabs == [" current" if address == "/hub/stations" else ""], (address, tabs)  # was none
    # a station: no Stations page, no tab
    gym = station_factory("gym")
    station_app = create_app({"STORE": gym.store, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True})
    on_station = hub_admin_client(gym.store, station_app)
    html = on_station.get("/admin/users").get_data(as_text=True)
    assert "Audit log</a>" in html and "/hub/stations" not in html
    assert on_station.get("/hub/stations").status_code == 404
