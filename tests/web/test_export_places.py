"""Reports, FHIR bundles and exports are built a few at a time: one account holds at most two of
the places (a double click, a report and an export), the last ones are kept for the others, and a
refused download says so with ``429`` and ``Retry-After`` before any work (nothing audited)."""

from __future__ import annotations

from web.places import EXPORT_WORDS, MAX_EXPORTS, MAX_EXPORTS_PER_USER, Places

HEAVY = ("/api/sessions/{session}/report.pdf", "/api/patients/{patient}/report.pdf", "/api/assignments/1/report.pdf",
         "/api/trials/{trial}/fhir.json", "/api/sessions/{session}/fhir.json", "/api/patients/{patient}/fhir.json",
         "/api/trials/{trial}/export.csv", "/api/trials/{trial}/export.zip", "/api/patients/{patient}/export.csv")


def _places(app) -> Places:
    return app.extensions.setdefault("station_export_places", Places(MAX_EXPORTS, MAX_EXPORTS_PER_USER, 2,
                                                                       words=EXPORT_WORDS))


def test_one_account_builds_at_most_two_downloads_at_once(app, clinician, admin, store, records, accounts):
    places = _places(app)
    ana = accounts["ana"]["id"]
    for _ in range(MAX_EXPORTS_PER_USER):  # two of ana's downloads are being built
        assert places.enter(ana) is None
    exports_before = len(store.audit.query(action="patient.export", limit=1000))
    for path in HEAVY:
        response = clinician.get(path.format(**records))
        assert response.status_code == 429, path  # before: built (200, 404 for the programme)
        assert response.headers["Retry-After"] == "5"
        assert response.json["error"] == ("2 of your reports or exports are still being made (at most 2 at once); "
                                          "try again when one is done")
    assert len(store.audit.query(action="patient.export", limit=1000)) == exports_before  # refused before any work
    assert admin.get(f"/api/patients/{records['patient']}/report.pdf").status_code == 200  # others still can
    places.leave(ana)
    assert clinician.get(f"/api/patients/{records['patient']}/fhir.json").status_code == 200
    assert places.count == 1  # each download gives its place back


def test_the_last_places_are_kept_for_users_who_hold_none(app, clinician, admin, records, accounts):
    places = _places(app)
    for who in range(MAX_EXPORTS - 2):  # others' downloads fill all but the two kept places
        assert places.enter(f"other-{who}") is None
    assert places.enter(accounts["ana"]["id"]) is None  # ana holds one of the kept places
    response = clinician.get(f"/api/patients/{records['patient']}/export.csv")
    assert response.status_code == 429 and "kept for other users" in response.json["error"]
    assert admin.get(f"/api/patients/{records['patient']}/export.csv").status_code == 200
