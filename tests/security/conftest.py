"""Fixtures of the attack and fault suites (helpers in ``security_support.py``): one data directory
with accounts per run, one running station shared by each file of the attack suite, signed-in clients, and the
tally of what was tried printed at the end of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from plate_calibration import with_plate_calibration
from security_support import ADMIN_PW, CLINICIAN_PW, TALLY, Station, copy_data, create_accounts


@pytest.fixture(scope="session")
def template_data(tmp_path_factory) -> Path:
    """A data directory with the two accounts (hashed once per run; copied by each test) and the
    simulated plate's calibration (tests/plate_calibration.py)."""
    data = tmp_path_factory.mktemp("template") / "data"
    create_accounts(data)
    return with_plate_calibration(data)


@pytest.fixture(scope="module")
def station(tmp_path_factory, template_data):
    """One running station with accounts, shared by a file's attacks and stopped at the file's end:
    kept for the whole session, its simulated acquisition ran on (about a fifth of a core) until the
    worker's last file, some 200 s of CPU of a 2-core CI run."""
    data = copy_data(template_data, tmp_path_factory.mktemp("attack") / "data")
    st = Station(data).start()
    try:
        st.wait_ready()
        yield st
    finally:
        st.stop()


@pytest.fixture
def admin(station):
    return station.client().sign_in("root", ADMIN_PW)


@pytest.fixture
def clinician(station):
    return station.client().sign_in("ana", CLINICIAN_PW)


def pytest_terminal_summary(terminalreporter):
    if TALLY:
        terminalreporter.write_line(
            "security suite tried: " + ", ".join(f"{k} {v}" for k, v in sorted(TALLY.items()))
        )
