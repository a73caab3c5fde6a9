"""Fixtures of the report tests: one clinic for the whole module (the benchmark's patient with 50
sessions over a year and a finished backward-walking programme, plus a patient with the longest
identifier), the built-in protocols, and poppler-utils."""

from __future__ import annotations

import pytest

from station.protocols.loader import builtin_protocols
from station.reports.context import Clinic
from station.store.store import Store

from reports_support import ACTOR, LONG_IDENTIFIER, poppler_or_skip, report_timing


@pytest.fixture(scope="session")
def protocols():
    return builtin_protocols()


BUILT_S = 1796551200.0
"""2026-12-06T10:00:00Z (Unix s): the store's clock while the clinic is built, on the builder's own fixed day
(benchmarks/report_timing.py ``ANCHOR_DAY``, which dates the sessions), so what the store dates itself (records
made, the audit) is of that day too, whatever the day the tests run. The builder dated its sessions from the store's
today until session 33: built on the real clock, from 2027-02-18 on the first session came after the calibration
change of 2026-05-11 and the history's footer said one calibration (found under libfaketime at 2027-03-28)."""


@pytest.fixture(scope="session")
def clinic_dir(tmp_path_factory):
    """A data directory with the two patients (built once, as of :data:`BUILT_S`; tests that change it copy it)."""
    data_dir = tmp_path_factory.mktemp("reports") / "data"
    store = Store.open(data_dir, wall_clock=lambda: BUILT_S)
    try:
        fifty = report_timing().build_patient(store, sessions=50, identifier="R-0050")
        long = report_timing().build_patient(store, sessions=9, identifier=LONG_IDENTIFIER, seed=2)
        store.patients.update(fifty["patient_id"], {"notes": "Lives with her daughter Maria Dupont"}, actor=ACTOR)
    finally:
        store.close()
    return {"data_dir": data_dir, "fifty": fifty, "long": long}


@pytest.fixture
def store(clinic_dir):
    s = Store.open(clinic_dir["data_dir"])
    yield s
    s.close()


@pytest.fixture
def clinic():
    return Clinic("Clinique du Lac, service de rééducation", None)


@pytest.fixture
def poppler():
    poppler_or_skip()
