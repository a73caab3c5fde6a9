"""The clinician's judgement of a single-leg trial the station counts as unable (0 s): the foot never
lifted (measured), or scored unable by the clinician without a measurement. Its stored ``valid`` is
the engine's 0 (the results, the history, FHIR, the summaries and the hub read "unable" from it and
its issue codes), so the trial's page read it as "The station's check: invalid" with Invalid
preselected, and saving the judgement as it was (or "Valid") took the trial out of the results as a
clinician's override. Now GET /api/trials/<id> says ``station_check.unable`` ("scored"/"measured"),
and a judgement "valid" on such a trial keeps it as the station counts it: unable, in the results."""

from __future__ import annotations

from station.store.store import Store
from tests.protocols.test_unable_exported import _run_unable

from dashboard_support import CHEAP
from test_api_station import make_app


def _results(api, session_id: int) -> dict:
    (section,) = api.get(f"/api/sessions/{session_id}/results").get_json()["protocols"]
    return section


def test_judging_an_unable_trial_valid_keeps_it_counted_unable(tmp_path):
    store = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    try:
        session_id = _run_unable(store)
        _app, api = make_app(tmp_path, store)
        section = _results(api, session_id)
        all_unable = "6 analysed trials: 6 unable (0 s; 4 of them scored by the clinician, not measured)."
        assert section["count_words"] == all_unable
        left = section["conditions"][0]["trials"]
        measured_id, scored_id = left[0]["id"], left[1]["id"]

        scored = api.get(f"/api/trials/{scored_id}").get_json()
        assert scored["station_check"]["unable"] == "scored" and scored["judged_by"] is None
        assert api.get(f"/api/trials/{measured_id}").get_json()["station_check"]["unable"] == "measured"

        # the page's judgement saved unchanged: Valid, the reason box as it was filled
        r = api.patch(f"/api/trials/{scored_id}", {"valid": True, "validity_reason": scored["validity_reason"]})
        assert r.status_code == 200, r.get_json()
        after = r.get_json()
        assert after["judged_by"] is None and after["station_check"]["unable"] == "scored"
        assert after["validity_reason"] == scored["validity_reason"]  # the station's words stay
        section = _results(api, session_id)
        assert section["count_words"] == all_unable
        line = next(t for t in section["conditions"][0]["trials"] if t["id"] == scored_id)
        assert line["unable"] and line["scored_unable"] and line["time_held_s"] == 0.0
        assert section["conditions"][0]["time_held_s"] == [0.0, 0.0, 0.0]

        # judged invalid for a reason of the clinician's own: out of the results; judged valid again: back in, unable
        r = api.patch(f"/api/trials/{measured_id}", {"valid": False, "validity_reason": "she held the rail"})
        assert r.status_code == 200 and r.get_json()["judged_by"] == "ana"
        assert r.get_json()["station_check"]["unable"] == "measured"  # the station's own check, kept aside
        assert _results(api, session_id)["count_words"] == "6 analysed trials: 5 unable (0 s; 4 of them scored by the clinician, not measured), 1 invalid."
        r = api.patch(f"/api/trials/{measured_id}", {"valid": True, "validity_reason": "she held the rail"})
        assert r.status_code == 200 and r.get_json()["judged_by"] is None and r.get_json()["valid"] is False
        assert _results(api, session_id)["count_words"] == all_unable

        updates = store.audit.query(action="trial.update")
        assert sorted((e["detail"].get("valid"), bool(e["detail"].get("station_result"))) for e in updates
                      if e["username"] == "ana") == [(False, False), (True, True), (True, True)]
    finally:
        store.close()


def test_the_trial_export_says_unable_as_the_trial_api_does(tmp_path):
    """The trial export's sidecar (``export.json``, the zip's, ``balance-station export``'s) carries
    ``station_check.unable`` as GET /api/trials/<id> does, one answer from the store (before: the
    export's ``station_check`` held ``valid`` and ``reason`` only, and a scored-unable trial left the
    station as a plain invalid one)."""
    import io
    import json
    import zipfile

    from station.store.audit import Actor
    from station.store.export import export_trial

    store = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    try:
        session_id = _run_unable(store)
        _app, api = make_app(tmp_path, store)
        left = _results(api, session_id)["conditions"][0]["trials"]
        measured_id, scored_id = left[0]["id"], left[1]["id"]
        # a clinician's own judgement since: the station's check (and its "unable") is kept aside in both
        assert api.patch(f"/api/trials/{measured_id}", {"valid": False, "validity_reason": "she held the rail"}).status_code == 200
        for trial_id, unable in ((measured_id, "measured"), (scored_id, "scored")):
            check = api.get(f"/api/trials/{trial_id}").get_json()["station_check"]
            assert check["unable"] == unable and check["valid"] is False
            assert json.loads(api.get(f"/api/trials/{trial_id}/export.json").data)["station_check"] == check
            with zipfile.ZipFile(io.BytesIO(api.get(f"/api/trials/{trial_id}/export.zip").data)) as archive:
                assert json.loads(archive.read(f"trial-{trial_id}.json"))["station_check"] == check
            _csv, sidecar = export_trial(store, trial_id, tmp_path, actor=Actor.command_line())
            assert json.loads(sidecar.read_text())["station_check"] == check
    finally:
        store.close()
