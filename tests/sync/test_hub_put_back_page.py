"""The hub's page of a patient's versions gives an administrator a "Put back these values" button per
version (POST /api/hub/patients/<id>/versions/<v>/undo had no button: e6a7bb4), which asks first,
saying what will change, and then says what it did: the fields put back, those left because they
were changed since, by whom and when. Clinicians see neither the page nor its link. The API's answer
says the same words (``said``)."""

from __future__ import annotations

import re
import threading

from station.store.audit import Actor

from sync_support import CLINICIAN, hub_admin_client, hub_patient, open_hub_store

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d \S+"
"""A time as the pages say it (web.hub_api._local_time: to the minute, the clinic's zone)."""


def _push(sync, seq: int, op: str, local_id: int, payload: dict, at: str) -> None:
    """One patient change pushed with ``sync``'s token (as tests/sync/test_sync_erasure.py's)."""
    change = {"seq": seq, "entity": "patient", "op": op, "local_id": local_id, "at": at, "payload": payload}
    sync.client.request("POST", "/api/hub/push", body={"station_id": sync.store.outbox.station_id, "changes": [change]})


def _page_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces squeezed."""
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(re.sub(r"<[^>]+>", "", html)))


def _rewritten(hub_store, station_factory) -> tuple[dict, object]:
    """P-0043 registered by the gym (1950, no notes); the ward, which only found them, rewrites the birth
    year and the notes (1999, "moved"): one version."""
    gym, ward = station_factory("gym"), station_factory("ward")
    gym.store.patients.create({"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    _push(ward, 1, "create", 7, {"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, "2026-12-01T10:00:00Z")
    _push(ward, 2, "update", 7, {"birth_year": 1999, "notes": "moved"}, "2030-01-01T00:00:00Z")
    return hub_patient(hub_store, "P-0043"), gym


def test_an_administrator_puts_a_stations_change_back_from_the_page(hub_store, hub_app, station_factory):
    on_hub, gym = _rewritten(hub_store, station_factory)
    admin = hub_admin_client(hub_store, hub_app)
    page = f"/hub/patients/{on_hub['id']}/versions"
    assert f'href="{page}"' in admin.get(f"/patients/{on_hub['id']}").get_data(as_text=True)  # the patient page's link
    shown = admin.get(page)
    assert shown.status_code == 200
    words = _text(shown.get_data(as_text=True))
    assert re.search(f"Station ward's change, received {WHEN}", words), words
    assert "Birth year: 1950 → 1999; now 1999" in words and "Notes: none → “moved”; now “moved”" in words
    [version] = [int(v) for v in re.findall(r'id="put-back-(\d+)"', shown.get_data(as_text=True))]
    viewed = hub_store.audit.query(action="patient.view", patient_id=on_hub["id"], username="boss")
    assert [e["detail"] for e in viewed] == [{"versions": 1}]

    # an edit on the hub since: the notes are left, and who changed them is said
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    assert admin.patch(f"/api/patients/{on_hub['id']}", json={"notes": "lives alone"},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    asked = admin.get(f"{page}?confirm={version}")
    words = _text(asked.get_data(as_text=True))
    assert re.search("Put back birth year 1999 → 1950 \\(the values before station ward's change\\)\\? It is saved as "
                     "your edit on the hub, and every station holding the patient takes it at its next sync. Left as it "
                     f"is: notes, now “lives alone”, changed since by boss on the hub on {WHEN}.", words), words
    form = f"{page}/{version}/undo"
    assert admin.post(form, data={}).status_code == 403  # no CSRF token
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1999
    done = admin.post(form, data={"csrf_token": _page_csrf(asked.get_data(as_text=True))})
    assert done.status_code == 200
    words = _text(done.get_data(as_text=True))
    assert re.search("Put back birth year 1999 → 1950 \\(as before station ward's change\\); every station holding the "
                     "patient takes it at its next sync. Left as it is: notes, now “lives alone”, changed since by boss "
                     f"on the hub on {WHEN}.", words), words
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1950
    gym.sync_once()
    assert gym.store.patients.get_by_identifier("P-0043")["birth_year"] == 1950
    # done: the version has nothing left to put back, and says why; no button
    again = admin.get(page).get_data(as_text=True)
    assert 'id="put-back-' not in again
    assert re.search(f"Nothing to put back: birth year, now 1950 \\(as before this change\\), changed since by boss on "
                     f"the hub on {WHEN}; notes, "
                     f"now “lives alone”, changed since by boss on the hub on {WHEN}.", _text(again)), _text(again)


def test_the_apis_answer_says_it_in_words_and_errors_are_words(hub_store, hub_app, station_factory):
    on_hub, _ = _rewritten(hub_store, station_factory)
    admin = hub_admin_client(hub_store, hub_app)
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    [version] = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    undo = f"/api/hub/patients/{on_hub['id']}/versions/{version['id']}/undo"
    answer = admin.post(undo, headers={"X-CSRF-Token": csrf}).get_json()
    assert answer == {"patient_id": on_hub["id"], "version": version["id"], "put_back": ["birth_year", "notes"],
                      "changed_since": [],
                      "said": "Put back birth year 1999 → 1950 and notes “moved” → none (as before station ward's "
                              "change); every station holding the patient takes it at its next sync."}
    again = admin.post(undo, headers={"X-CSRF-Token": csrf}).get_json()
    assert again["put_back"] == [] and re.fullmatch(
        f"Nothing put back. Left as it is: birth year, now 1950 \\(as before this change\\), changed since by boss on "
        f"the hub on {WHEN}; notes, now none \\(as before this change\\), changed since by boss on the hub on {WHEN}.",
        again["said"]), again["said"]
    # a version the patient does not have: 404 in words, on the API and the page
    missing = admin.post(f"/api/hub/patients/{on_hub['id']}/versions/{version['id'] + 99}/undo",
                         headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404 and "has no version" in missing.get_json()["error"]
    page = f"/hub/patients/{on_hub['id']}/versions"
    gone = admin.post(f"{page}/{version['id'] + 99}/undo", data={"csrf_token": csrf})  # the session's token, as the form's
    assert gone.status_code == 404
    assert f"Nothing put back: patient #{on_hub['id']} has no version #{version['id'] + 99}" in _text(gone.get_data(as_text=True))
    assert "Traceback" not in gone.get_data(as_text=True)
    assert admin.get("/hub/patients/999999/versions").status_code == 404


def test_an_identifier_another_patient_holds_now_is_refused_in_words(hub_store, hub_app, station_factory):
    """The ward renamed P-0043 to P-0099; P-0043 was then given to another patient: putting the old
    identifier back would take theirs (409), said on the page; nothing changes."""
    on_hub, _ = _rewritten(hub_store, station_factory)
    ward = station_factory("ward2")
    _push(ward, 1, "create", 8, {"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, "2026-12-01T10:00:00Z")
    _push(ward, 2, "update", 8, {"identifier": "P-0099"}, "2030-02-01T00:00:00Z")
    hub_store.patients.create({"identifier": "P-0043", "birth_year": 1980, "sex": "M"}, actor=Actor(None, "cli:test"))
    admin = hub_admin_client(hub_store, hub_app)
    versions = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    [rename] = [v for v in versions if v["incoming"] == {"identifier": "P-0099"}]
    page = f"/hub/patients/{on_hub['id']}/versions"
    asked = admin.get(f"{page}?confirm={rename['id']}").get_data(as_text=True)
    assert "Put back identifier P-0099 → P-0043" in _text(asked)
    refused = admin.post(f"{page}/{rename['id']}/undo", data={"csrf_token": _page_csrf(asked)})
    assert refused.status_code == 409
    words = _text(refused.get_data(as_text=True))
    assert re.search(r"Nothing put back: .*P-0043.*Change the other patient's identifier first, or edit this patient "
                     r"by hand\.", words), words
    assert hub_store.patients.get(on_hub["id"])["identifier"] == "P-0099"


def test_clinicians_see_no_button_and_cannot_put_back(hub_store, hub_app, station_factory):
    on_hub, _ = _rewritten(hub_store, station_factory)
    hub_store.users.create("ana", "a long clinician password 1", "clinician", actor=Actor.system())
    clinician = hub_app.test_client()
    csrf = clinician.get("/api/session").get_json()["csrf_token"]
    assert clinician.post("/api/login", json={"username": "ana", "password": "a long clinician password 1"},
                          headers={"X-CSRF-Token": csrf}).status_code == 200
    csrf = clinician.get("/api/session").get_json()["csrf_token"]
    assert "patient-versions" not in clinician.get(f"/patients/{on_hub['id']}").get_data(as_text=True)
    assert clinician.get(f"/hub/patients/{on_hub['id']}/versions").status_code == 403
    [version] = [e["detail"]["version"] for e in hub_store.audit.query(action="patient.update", patient_id=on_hub["id"])
                 if "version" in (e["detail"] or {})]
    assert clinician.post(f"/hub/patients/{on_hub['id']}/versions/{version}/undo",
                          data={"csrf_token": csrf}).status_code == 403
    assert clinician.post(f"/api/hub/patients/{on_hub['id']}/versions/{version}/undo",
                          headers={"X-CSRF-Token": csrf}).status_code == 403
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1999


def test_the_words_say_the_plan_the_undo_carried_out(hub_store, hub_app, station_factory, monkeypatch):
    """_undo read Hub.undo_plan for its words, then Hub.undo_patient_version read it again to act, and the field
    left was said at the value read after (s31 P17, item 4): a change between them made the words say other than
    what was done. The undo now returns the plan it carried out and the words are that plan's: one read of the plan,
    and an edit right after the undo (another administrator's) does not change what the undo says it left."""
    from station.sync.hub import Hub

    on_hub, _ = _rewritten(hub_store, station_factory)
    admin = hub_admin_client(hub_store, hub_app)
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    assert admin.patch(f"/api/patients/{on_hub['id']}", json={"notes": "lives alone"},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    [version] = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    plans, undo = [], Hub.undo_patient_version
    read = Hub.undo_plan

    def counted(self, *args, **kwargs):
        plans.append(args)
        return read(self, *args, **kwargs)

    def then_edited(self, patient_id, version_id, *, actor):
        done = undo(self, patient_id, version_id, actor=actor)
        hub_store.patients.update(patient_id, {"notes": "moved to the coast"}, actor=Actor(None, "cli:other-admin"))
        return done

    monkeypatch.setattr(Hub, "undo_plan", counted)
    monkeypatch.setattr(Hub, "undo_patient_version", then_edited)
    answer = admin.post(f"/api/hub/patients/{on_hub['id']}/versions/{version['id']}/undo",
                        headers={"X-CSRF-Token": csrf}).get_json()
    assert len(plans) == 1, plans  # was 2: the words' read and the undo's
    assert (answer["put_back"], answer["changed_since"]) == (["birth_year"], ["notes"]) and "plan" not in answer
    assert re.fullmatch("Put back birth year 1999 → 1950 \\(as before station ward's change\\); every station holding "
                        "the patient takes it at its next sync. Left as it is: notes, now “lives alone”, changed "
                        f"since by boss on the hub on {WHEN}.", answer["said"]), answer["said"]


def test_a_confirm_that_is_no_versions_number_is_said_on_the_page(hub_store, hub_app, station_factory):
    """``?confirm=`` that is no number (a hand-edited address) showed the page as if nothing was asked, 200, and one
    of a version the patient does not have the same (s31 P17, item 4: web.jsonio.query_int, not parsed by hand): now
    the page says so, 400 and 404, with no confirmation box and nothing changed."""
    on_hub, _ = _rewritten(hub_store, station_factory)
    admin = hub_admin_client(hub_store, hub_app)
    page = f"/hub/patients/{on_hub['id']}/versions"
    [version] = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    for bad in ("abc", "-1", "0", "1.5", "9" * 30):
        shown = admin.get(f"{page}?confirm={bad}")
        html = shown.get_data(as_text=True)
        assert shown.status_code == 400, (bad, shown.status_code)
        assert "Nothing to confirm: the address's confirm= is not a version's number; choose “Put back these " \
               "values…” beside a version below." in _text(html), bad
        assert 'class="confirm-box"' not in html and f'id="put-back-{version["id"]}"' in html and "Traceback" not in html
    missing = admin.get(f"{page}?confirm={version['id'] + 99}")
    assert missing.status_code == 404
    assert (f"Nothing to confirm: patient #{on_hub['id']} has no version #{version['id'] + 99}; the versions it has "
            "are below.") in _text(missing.get_data(as_text=True))
    assert admin.get(f"{page}?confirm=").status_code == 200  # no confirm asked: the page
    asked = admin.get(f"{page}?confirm={version['id']}")
    assert asked.status_code == 200 and f'id="confirm-{version["id"]}"' in asked.get_data(as_text=True)
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1999


def test_an_edit_between_the_plans_read_and_its_write_waits_and_is_not_overwritten(hub_store, hub_app, station_factory,
                                                                                   monkeypatch, pg_url, tmp_path):
    """Hub.undo_patient_version read its plan in one transaction and wrote it in another (s32 P, item 3): an edit
    committed between them (here a second hub process's, its own connections to the database) was overwritten by a
    plan read before it, the birth year put back to 1950 over the 1960 just entered. Plan and write are one write
    transaction now: the edit, made right after the plan is read, waits for the undo to commit (the writer lock of
    every process) and then stands; the undo did what its plan (and its words) say."""
    from station.sync.hub import Hub

    on_hub, _ = _rewritten(hub_store, station_factory)
    other = open_hub_store(tmp_path / "second-process", database=pg_url)
    admin = hub_admin_client(hub_store, hub_app)
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    [version] = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    read, edit, waited = Hub.undo_plan, [], []

    def read_then_edited(self, *args, **kwargs):
        plan = read(self, *args, **kwargs)
        edit.append(threading.Thread(target=other.patients.update, args=(on_hub["id"], {"birth_year": 1960}),
                                     kwargs={"actor": Actor(None, "cli:other-admin")}))
        edit[0].start()
        edit[0].join(1.0)  # committed at once unless the undo holds the writer lock
        waited.append(edit[0].is_alive())
        return plan

    monkeypatch.setattr(Hub, "undo_plan", read_then_edited)
    try:
        answer = admin.post(f"/api/hub/patients/{on_hub['id']}/versions/{version['id']}/undo",
                            headers={"X-CSRF-Token": csrf}).get_json()
        edit[0].join(30)
    finally:
        other.close()
    assert waited == [True], waited  # the edit waited for the undo (was: committed between its read and its write)
    assert answer["put_back"] == ["birth_year", "notes"] and answer["said"].startswith("Put back birth year 1999 → 1950")
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1960  # the later edit stands (was 1950: overwritten)
    updates = [e["username"] for e in hub_store.audit.query(action="patient.update", patient_id=on_hub["id"])]
    assert updates[:2] == ["cli:other-admin", "boss"], updates  # newest first: the edit after the undo
