"""The hub's changes of a station's programmes come in pages: a station whose programmes hold more
fields set elsewhere than one answer carries still takes every change, its last programme's too.
(Before, one answer of at most 5,000 fields: the fields after them were never sent.)"""

from __future__ import annotations

import dataclasses

from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.sync.hub import Hub

from sync_support import CLINICIAN, WallClock, hub_patient

HUB_USER = Actor(7, "hubclin", "10.0.0.9")
PATIENTS = 7  # each a year's programme of 364 sessions: about 740 fields, 5,180 in all


def _year_long():
    template = builtin_programmes(builtin_protocols())["balance-training"]
    return dataclasses.replace(template, schedule=dataclasses.replace(template.schedule, weeks=52,
                                                                      sessions_per_week=7))


def test_every_programme_takes_the_hub_s_changes_however_many_fields(hub_store, station_factory):
    gym = station_factory("gym", WallClock())  # the station's clock behind the hub's: the hub's edit is newer
    template = _year_long()
    local = []
    for n in range(PATIENTS):
        patient = gym.store.patients.create({"identifier": f"Y-{n}", "birth_year": 1950, "sex": "F"},
                                            actor=CLINICIAN)
        local.append(gym.store.programmes.assign(patient["id"], template, "2026-01-05", actor=CLINICIAN))
    gym.sync_once()
    with hub_store.db.write() as conn:  # every field as if last set at another station (values unchanged)
        marked = conn.execute("UPDATE programme_field_times SET station = 'ward'").rowcount
    assert marked > 5000
    last = hub_store.programmes.get(
        hub_store.programmes.list_for_patient(hub_patient(hub_store, f"Y-{PATIENTS - 1}")["id"])[0]["id"])
    hub_store.programmes.move_session(last["sessions"][-1]["id"], {"planned_date": "2027-01-09"}, actor=HUB_USER)

    report = gym.sync_once()

    moved = gym.store.programmes.get(local[-1]["id"])["sessions"][-1]
    assert moved["planned_date"] == "2027-01-09"  # before: never (past the first 5,000 fields)
    assert report.programme_fields == 1
    station = Hub(hub_store).station_named("gym")
    page = Hub(hub_store).programme_updates(station, limit=100)
    assert sum(len(p["fields"]) for p in page["programmes"]) == 100 and page["next"] is not None
    after = (page["next"]["local_id"], page["next"]["field"])
    following = Hub(hub_store).programme_updates(station, limit=100, after=after)
    first = following["programmes"][0]
    assert (first["local_id"], first["fields"][0]["field"]) > after  # no field twice, none left out
