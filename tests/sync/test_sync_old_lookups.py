"""The hub remembers which stations still look patients up by the old GET routes (the identifier in
the URL, kept by proxies' logs): ``hub stations list`` and the hub's Stations page say "uses the old
lookup (identifier in URLs): update this station", with the planned end of those routes; a station
that looks up by POST again (updated) is no longer named."""

from __future__ import annotations

from station.cli import main
from station.sync.hub import Hub

from sync_support import CLINICIAN, WallClock, hub_admin_client
from test_sync_lookup_by_post import _measured_at_gym

WORDS = "uses the old lookup (identifier in URLs): update this station"
GET_LOOKUPS_END = "2027-06-30"  # the planned end, as docs/api.md says it


def test_a_station_that_looks_up_by_get_is_named_until_it_looks_up_by_post(hub_store, hub_app, station_factory,
                                                                          pg_url, tmp_path, capsys):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    _measured_at_gym(gym, "P-OLD-1", wall)
    _measured_at_gym(gym, "P-OLD-2", wall)
    ward.client.lookups_by_get = True  # a station from before lookups by POST asks so
    ward.pull_patient("P-OLD-1", actor=CLINICIAN)
    by_name = {s["name"]: s for s in Hub(hub_store).stations()}
    assert by_name["ward"]["old_lookup_at"] is not None and by_name["gym"]["old_lookup_at"] is None

    assert main(["hub", "stations", "list", "--database", pg_url, "--data-dir", str(tmp_path / "hub")]) == 0
    listed = capsys.readouterr().out  # the old code: nothing said
    ward_lines = listed.split("\nward\t")[1]
    assert WORDS in ward_lines and f"first release after {GET_LOOKUPS_END}" in ward_lines
    assert WORDS not in listed.split("\nward\t")[0]  # not of gym

    client = hub_admin_client(hub_store, hub_app)
    page = client.get("/hub/stations").get_data(as_text=True)
    assert page.count("Uses the old lookup (identifier in URLs): update this station") == 1
    assert f"planned to stop answering it in the first release after {GET_LOOKUPS_END}" in page

    ward.client.lookups_by_get = False  # updated: asks by POST
    ward.pull_patient("P-OLD-2", actor=CLINICIAN)
    assert all(s["old_lookup_at"] is None for s in Hub(hub_store).stations())
    assert "Uses the old lookup" not in client.get("/hub/stations").get_data(as_text=True)
