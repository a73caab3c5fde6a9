"""The command line (``report``, ``export --fhir``) and the API downloads of reports and bundles:
files written or refused with one-line errors, sign-in required, paper checked, audited."""

from __future__ import annotations

import json
import shutil

import pytest

from station.cli import main
from station.reports.fhir_bundle import observations_of

from reports_support import LONG_IDENTIFIER, load_test_module, page_count, pdf_info, pdf_text


@pytest.fixture
def data_dir(clinic_dir, tmp_path):
    """A copy of the clinic (the commands write audit entries)."""
    copy = tmp_path / "data"
    shutil.copytree(clinic_dir["data_dir"], copy)
    return copy


def test_report_command_writes_each_report_and_refuses_to_overwrite(data_dir, clinic_dir, tmp_path, capsys, poppler):
    long = clinic_dir["long"]
    out = tmp_path / "visit.pdf"
    assert main(["report", "session", str(long["last_visit_session_id"]), "--data-dir", str(data_dir),
                 "--out", str(out), "--paper", "letter"]) == 0
    assert "wrote" in capsys.readouterr().out
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and "612 x 792" in pdf_info(pdf)["Page size"]
    assert LONG_IDENTIFIER in pdf_text(pdf)
    assert main(["report", "session", str(long["last_visit_session_id"]), "--data-dir", str(data_dir),
                 "--out", str(out)]) == 1
    assert "already exists; use --force" in capsys.readouterr().err
    assert out.read_bytes() == pdf
    # the default name follows the identifier, in the current directory
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["report", "patient", LONG_IDENTIFIER, "--data-dir", str(data_dir)]) == 0
        assert main(["report", "programme", str(long["assignment_id"]), "--data-dir", str(data_dir)]) == 0
    finally:
        os.chdir(here)
    assert page_count((tmp_path / f"{LONG_IDENTIFIER}-history.pdf").read_bytes()) >= 1
    assert (tmp_path / f"{LONG_IDENTIFIER}-programme-{long['assignment_id']}.pdf").read_bytes().startswith(b"%PDF")
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        entries = [e for e in store.audit.query(action="patient.export", limit=50)
                   if e["detail"].get("format") == "pdf" and e["username"].startswith("cli:")]
    finally:
        store.close()
    assert [e["detail"]["report"] for e in entries] == ["programme", "patient", "session"]


@pytest.mark.parametrize("args, message", [
    (["report", "patient", "NOBODY"], "no patient with identifier 'NOBODY'"),
    (["report", "session", "999"], "no session"),
    (["report", "programme", "abc"], "programme id must be a number"),
    (["export", "session", "1"], "a session is exported only as FHIR: add --fhir"),
])
def test_command_mistakes_are_one_line(data_dir, tmp_path, capsys, args, message):
    assert main(args + ["--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_export_fhir_for_a_trial_a_session_and_a_patient(data_dir, clinic_dir, tmp_path, capsys):
    long = clinic_dir["long"]
    from station.store.store import Store

    store = Store.open(data_dir)
    try:
        tid = store.sessions.get(long["last_visit_session_id"])["trials"][0]["id"]
    finally:
        store.close()
    for args, name in ((["trial", str(tid)], "t.json"), (["session", str(long["last_visit_session_id"])], "s.json"),
                       (["patient", LONG_IDENTIFIER], "p.json")):
        out = tmp_path / name
        assert main(["export", *args, "--fhir", "--out", str(out), "--data-dir", str(data_dir)]) == 0
        assert "FHIR R4B Bundle" in capsys.readouterr().out
        text = out.read_text()
        assert json.loads(text)["resourceType"] == "Bundle" and observations_of(text)
    # without --fhir a trial is still the CSV and its sidecar
    assert main(["export", "trial", str(tid), "--out", str(tmp_path), "--data-dir", str(data_dir)]) == 0
    assert (tmp_path / f"trial-{tid}.csv").exists()


@pytest.fixture
def web(data_dir):
    web_support = load_test_module("web_support", "web/web_support.py")
    ADMIN_PW, ApiClient, clinic_data = web_support.ADMIN_PW, web_support.ApiClient, web_support.clinic_data

    from station.store.audit import Actor
    from web import create_app

    app = create_app({"DATA_DIR": str(data_dir), "PASSWORD_COST": clinic_data.CHEAP_COST, "TESTING": True})
    store = app.extensions["station_store"]
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor(None, "cli:test"))
    client = ApiClient(app.test_client())
    assert client.login("root", ADMIN_PW).status_code == 200
    yield app, client, ApiClient(app.test_client())
    store.close()


def test_api_downloads_need_sign_in_and_are_audited(web, clinic_dir):
    app, client, anonymous = web
    long = clinic_dir["long"]
    sid, pid, aid = long["last_visit_session_id"], long["patient_id"], long["assignment_id"]
    paths = [f"/api/sessions/{sid}/report.pdf", f"/api/patients/{pid}/report.pdf", f"/api/assignments/{aid}/report.pdf",
             f"/api/sessions/{sid}/fhir.json", f"/api/patients/{pid}/fhir.json"]
    for path in paths:
        assert anonymous.get(path).status_code == 401
    response = client.get(f"/api/sessions/{sid}/report.pdf?paper=letter")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="patient-{pid}-session-{sid}-')  # not the identifier
    assert response.headers["Cache-Control"] == "no-store"
    response = client.get(f"/api/patients/{pid}/fhir.json")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    assert observations_of(response.get_data(as_text=True))
    assert client.get(f"/api/assignments/{aid}/report.pdf").status_code == 200
    assert client.get(f"/api/sessions/{sid}/report.pdf?paper=a3").status_code == 422
    assert client.get("/api/sessions/99999/report.pdf").status_code == 404
    assert client.get("/api/trials/99999/fhir.json").status_code == 404
    audit = client.get("/api/audit?action=patient.export&limit=10").json["entries"]
    assert [(e["detail"]["format"], e["object"]) for e in audit[:3]] == [
        ("pdf", f"assignment:{aid}"), ("fhir", f"patient:{pid}"), ("pdf", f"session:{sid}")]
    assert all(e["username"] == "root" for e in audit[:3])


def test_a_trial_judged_invalid_is_not_sent_as_fhir(web, clinic_dir):
    app, client, _anonymous = web
    long = clinic_dir["long"]
    tid = app.extensions["station_store"].sessions.get(long["last_visit_session_id"])["trials"][0]["id"]
    assert client.patch(f"/api/trials/{tid}", {"valid": False, "validity_reason": "stepped off"}).status_code == 200
    response = client.get(f"/api/trials/{tid}/fhir.json")
    assert response.status_code == 409 and "judged invalid" in response.json["error"]


def test_the_configured_paper_is_the_default_of_the_downloads(data_dir, clinic_dir, poppler):
    from dataclasses import replace

    from station.config import ClinicConfig, StationConfig
    from web import create_app

    web_support = load_test_module("web_support", "web/web_support.py")
    config = replace(StationConfig(), clinic=ClinicConfig(name="Letter clinic", paper="letter"))
    app = create_app({"DATA_DIR": str(data_dir), "PASSWORD_COST": web_support.clinic_data.CHEAP_COST,
                      "TESTING": True, "STATION_CONFIG": config})
    store = app.extensions["station_store"]
    try:
        from station.store.audit import Actor

        store.users.create_first_admin("root", web_support.ADMIN_PW, actor=Actor(None, "cli:test"))
        client = web_support.ApiClient(app.test_client())
        assert client.login("root", web_support.ADMIN_PW).status_code == 200
        pid = clinic_dir["long"]["patient_id"]
        letter = client.get(f"/api/patients/{pid}/report.pdf").data
        assert "612 x 792" in pdf_info(letter)["Page size"] and "Letter clinic" in pdf_text(letter)
        a4 = client.get(f"/api/patients/{pid}/report.pdf?paper=a4").data
        assert "(A4)" in pdf_info(a4)["Page size"]
    finally:
        store.close()
