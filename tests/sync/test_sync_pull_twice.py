"""The same patient asked for twice at once (a double tap on "bring from the hub", two tablets):
the second request finds the patient the first one stored while it waited for the hub, and gets
them, not a refusal telling the clinician to choose another identifier."""

from __future__ import annotations

from sync_support import CLINICIAN


def test_a_patient_pulled_while_the_same_pull_waited_for_the_hub_is_the_answer(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    gym.store.patients.create({"identifier": "P-TWICE", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    transport = ward.client._send
    first = {}

    def meanwhile(method, url, headers, body):  # the other request's pull ends while this one waits
        answer = transport(method, url, headers, body)
        if url.endswith("/api/hub/patients") and not first:
            ward.client._send = transport
            first.update(ward.pull_patient("P-TWICE", actor=CLINICIAN))
        return answer

    ward.client._send = meanwhile
    second = ward.pull_patient("p-twice", actor=CLINICIAN)  # before: Conflict, "choose another"
    assert second["id"] == first["id"] and second["identifier"] == "P-TWICE"
    assert ward.store.patients.search()["total"] == 1
