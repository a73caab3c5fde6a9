"""A patient's downloads are named without identifying data, on a station and on the hub.

A browser keeps a download's file name in its list of downloads: on a clinic's shared tablet the next user
opens that list. The history CSV was ``PT-100-history.csv`` (the patient's identifier, often a hospital
number), the reports and bundles ``PT-100-session-3.pdf``; now the patient's internal number, what the file
is and the clinic's day it was downloaded (web/downloads.py): ``patient-1-history-2026-12-06.csv``. The
identifier stays inside the file. Run on SQLite (a station) and on the hub's PostgreSQL (``BACKENDS``).
"""

from __future__ import annotations

import re

from station.store.timefmt import parse_utc_iso

BACKENDS = ("sqlite", "postgresql")

NAME = re.compile(r'attachment; filename="(patient-\d+-[a-z0-9-]+-\d{4}-\d\d-\d\d\.[a-z.]+)"')


def test_a_patients_downloads_carry_its_number_and_the_day_not_its_identifier(clinician, store, records, wall,
                                                                                time_zone):
    time_zone("EST+5")
    assert wall() == parse_utc_iso("2026-01-01T00:00:00Z")  # the evening of 2025-12-31 in New York: the clinic's day
    pid, sid = records["patient"], records["session"]
    identifier = store.patients.get(pid)["identifier"]
    expected = {
        f"/api/patients/{pid}/export.csv": f"patient-{pid}-history-2025-12-31.csv",
        f"/api/patients/{pid}/programmes/export.json": f"patient-{pid}-programmes-2025-12-31.json",
        f"/api/sessions/{sid}/fhir.json": f"patient-{pid}-session-{sid}-2025-12-31.fhir.json",
        f"/api/patients/{pid}/fhir.json": f"patient-{pid}-history-2025-12-31.fhir.json",
        f"/api/sessions/{sid}/report.pdf": f"patient-{pid}-session-{sid}-2025-12-31.pdf",
    }
    for path, name in expected.items():
        response = clinician.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="{name}"', (path, disposition)
        assert NAME.fullmatch(disposition) and identifier not in disposition, disposition
    # the identifier is still inside the file (what the clinician downloaded it for)
    assert identifier in clinician.get(f"/api/patients/{pid}/export.csv").get_data(as_text=True)
    # a trial's files were named by the trial's number already: nothing identifying, as before
    trial = clinician.get(f"/api/trials/{records['trial']}/export.csv")
    assert trial.headers["Content-Disposition"] == f'attachment; filename="trial-{records["trial"]}.csv"'
