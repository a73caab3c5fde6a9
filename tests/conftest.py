"""Fixtures shared by every test folder: a throwaway PostgreSQL cluster (tests/postgres_cluster.py)
for the store's second backend (the hub). Started on first use, once per run; stopped and removed
at the end.

* ``pg_cluster``: the running cluster (``url(name)``, ``create_database``, ``admin``);
* ``pg_url``: the URL of a database at the latest schema, empty: one database migrated once per
  run, emptied before each test (its other connections ended, every row deleted and every id
  sequence restarted, the schema version restored), which costs far less than a new database;
* ``pg_empty_url``: the URL of a fresh empty database (migration tests);
* ``station_data_dir``: ``make(path)`` makes ``path`` a station's data directory holding a copy of
  a SQLite database already at the latest schema (migrated once per run), which a store then opens
  as it opens any station's: a copy costs ~8 ms where migrating an empty database costs ~60 ms.
  Tests of creating or migrating a database start from an empty directory instead.

Where PostgreSQL is missing, the tests that need it skip only if it cannot be installed here (no
root or no apt-get); otherwise a missing server is an error that points at tests/bootstrap.sh.

Which tests run on both backends (``BACKENDS`` in tests/web and tests/dashboard, ``backend`` in
tests/store; tests/sync's hub is on PostgreSQL only, as ``balance-station hub`` is, its stations on
SQLite):

* on PostgreSQL too, every test whose SQL or transaction behaviour can differ by backend: the
  store's queries and their dialect translations (station/store/dialect.py, pg.py), uniqueness
  and other constraints, ids and values at the limits of a column, locking and concurrent
  writers, sync and the hub, erasure, backups, the audit trail, and each route's success path
  (every store method the web layer calls);
* on SQLite only (``@sqlite_only(reason)``), a test whose behaviour is decided before the store
  or beside it: pure page rendering, headers and redirects, the request's body parsed and its
  fields checked in Python, CSRF, role and other refusals made before any SQL that differs,
  limits kept in the app's memory; and recording through the station's trial service, which a
  hub does not have. The reason says which it is;
* a matrix of one refusal over many routes or values runs every case on SQLite and a sample on
  PostgreSQL (``@hub_sample`` in tests/web/web_support.py), which keeps the store calls the
  refusal makes on the hub.

The check of a change to this split: the lines of station/store/ run by the PostgreSQL tests
(``-k postgresql`` under coverage) stay the same.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from pathlib import Path

import pytest

from handout_order import RECORDING_ROW, handout_order, make_scheduler
from postgres_cluster import Cluster, find_bindir

_SHARED = "balance_tests"
_names = itertools.count(1)

# The suite runs in UTC whatever the machine's zone (CI's, a developer's in Los Angeles or Auckland): the station
# says days and times in the clinic's zone ([clinic] time_zone, else TZ: station.store.timefmt), and many tests
# state a day that holds in UTC (a programme starting 2026-01-05T00:00Z is still the 4th west of UTC; s32 F found
# 11 programme tests failing with TZ=America/Los_Angeles). A test of a zone sets it (``time_zone``), restored after.
# Set at import, so in every xdist worker and in the stations and commands the tests start (they inherit it).
os.environ["TZ"] = "UTC"
time.tzset()


# Under pytest-xdist (`make test`: -n, --dist loadfile, --no-loadscope-reorder) each file goes to
# one worker, in collection order. These files take longest (`--durations=0` summed per file in one
# full run on this 2-core machine, 2026-12-05, longest first), so they are handed out first and the
# run does not end on one worker finishing a long file alone. Only the order changes; a file missing
# from the list runs in its usual place. The first thirteen were reordered after the simulation got
# 20-35 % cheaper (CPU accounting off, fewer calls per bus transaction, the factory calibration kept,
# browser and attack stations started calibrated): the files whose time is real-time waiting
# (browsers, stations) shrank less than those that simulate under the simulated clock. Wall time of
# each file run alone at load 1-5 after those changes (s): e2e/test_dashboard 189,
# e2e/test_report_downloads second of the e2e files in a 2-worker run of them, e2e/test_session_notice 99,
# test_timing 74, e2e/test_walk_controls 73, test_end_to_end 72, test_fault_injection 65,
# test_walk_protocols 63, test_attack_new_surface 57, test_pipeline 57, test_commands 38,
# test_readable_results 30, test_lapses_act 24. Those thirteen alternate, longest first, a file that
# mostly waits in real time (e2e, stations) with one that keeps a core busy (simulated clock), so
# that the first three workers do not all wait at once while the cores idle. Until 2026-12-06 the
# browser files missing here (39: nine flows of 31-69 s in the fresh-clone run on 342453d, and 19
# that share the reading_pages station) ran as one block in collection order (tests/e2e/, between
# tests/deploy/ and tests/firmware/): three workers in browsers at once, each keeping about 0.3 of a
# core busy (the station 0.15, a live view in Chromium 0.3: alone, test_dashboard took 58 CPU-s in
# 202 s, test_session_notice 30 in 98) while the cores idled, and the reading_pages files, mixed with
# the others, started a station and two browsers for almost each file. The nine flows now alternate
# with simulated-clock files below, and handout_order puts every reading_pages file (found by its
# fixture) in the row after the list and spreads the other browser files over the run.
# Since s32 the 11 files that record on the shared recording_station (test_session_notice, test_slow_card_live,
# test_trial_saving_live, test_live_open_test_words, test_live_state_races, test_stance_controls and five more:
# handout_order.RECORDING_ROW) are one unit of work, third in the list, not spread over it; since s33 the
# reading_pages row is one unit too (handout_order.rows: it had gone to all three workers at once, 5 station
# starts in a full run), handed out after the list.
SLOWEST_FILES_FIRST = (
    "tests/e2e/test_dashboard.py",
    "tests/acquire/test_timing.py",
    *RECORDING_ROW,
    "tests/e2e/test_report_downloads.py",
    "tests/protocols/test_end_to_end.py",
    "tests/protocols/test_walk_protocols.py",
    "tests/e2e/test_walk_controls.py",
    "tests/acquire/test_pipeline.py",
    "tests/security/test_fault_injection.py",
    "tests/protocols/test_commands.py",
    "tests/security/test_attack_new_surface.py",
    "tests/dashboard/test_readable_results.py",
    "tests/sim/test_lapses_act.py",
    "tests/protocols/test_walk_overground_stall.py",
    "tests/e2e/test_single_leg_unable_live.py",
    "tests/protocols/test_walk_station_faults.py",
    "tests/cli/test_commands_hardening_stdout.py",
    "tests/e2e/test_walk_no_data_words.py",
    "tests/protocols/test_los_protocol.py",
    "tests/e2e/test_phone_and_layout.py",
    "tests/protocols/test_walk_treadmill_imu_lost.py",
    "tests/protocols/test_walk_imu_gaps.py",
    "tests/dashboard/test_service.py",
    "tests/e2e/test_programme_credit_live.py",
    "tests/deploy/test_install_script.py",
    "tests/protocols/test_training_game.py",
    "tests/protocols/test_walk_overground_parts.py",
    "tests/e2e/test_full_disk_live.py",
    "tests/acquire/test_process.py",
    "tests/programmes/test_api.py",
    "tests/dashboard/test_api_station.py",
    "tests/security/test_attacks.py",
    "tests/e2e/test_programmes.py",
    "tests/cli/test_station_commands.py",
    "tests/e2e/test_stall_live.py",
    "tests/sim/test_person.py",
    "tests/reports/test_fhir_bundles.py",
    "tests/reports/test_cutoff_populations.py",
    "tests/e2e/test_walk.py",
    "tests/protocols/test_walk_live_cadence_words.py",
    # Two of the longest files in the last minute of the full run on 367e781 (tests/suite_timeline.py, load 5-14):
    # in collection order they came last (tests/web/), test_web_routes (26 s) ending the run 10 s after the other
    # two workers, test_garbage_every_route 42 s; handed out here, the run ends on files of under 10 s.
    "tests/web/test_garbage_every_route.py",
    "tests/web/test_web_routes.py",
    # Then the files whose tests share one station and browsers (tests/e2e/conftest.py ``reading_pages``), one unit
    # of work (handout_order.rows), which handout_order finds by their fixture.
)


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # a plain run keeps pytest's order
        return
    root = config.rootpath
    path = {item: item.path.relative_to(root).as_posix() for item in items}
    sharing = frozenset(path[item] for item in items if "reading_pages" in getattr(item, "fixturenames", ()))
    position = {p: i for i, p in enumerate(handout_order(list(dict.fromkeys(path.values())), SLOWEST_FILES_FIRST, sharing))}
    items.sort(key=lambda item: position[path[item]])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with the files of each row that shares a station (RECORDING_ROW, the reading_pages files)
    one unit of work (handout_order.make_scheduler): handed out file by file, a worker that had finished a file took
    the row's next one and started a station for it."""
    if config.getvalue("dist") != "loadfile":
        return None
    return make_scheduler(config, log)


@pytest.fixture(scope="session")
def pg_cluster():
    if find_bindir() is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("PostgreSQL is not installed and cannot be here (needs root and apt-get): "
                        "install Debian's postgresql to run the hub's tests")
        pytest.fail("PostgreSQL is not installed: run `bash tests/bootstrap.sh` as root (make test does)")
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def _pg_shared(pg_cluster):
    """The migrated database: (url, the SQL that empties it, version)."""
    import psycopg

    from station.store.pg import PgDatabase

    url = pg_cluster.create_database(_SHARED)
    db = PgDatabase(url)
    try:
        db.migrate()
        version = db.schema_version()
    finally:
        db.close()
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'station_schema_version'")]
        sequences = [r[0] for r in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
    # replica role: no triggers (the audit log's append-only guard) nor foreign key checks while emptying
    empty = ("SET session_replication_role = replica; " + "".join(f"DELETE FROM {t}; " for t in tables)
             + "".join(f"ALTER SEQUENCE {s} RESTART; " for s in sequences) + "RESET session_replication_role")
    return url, empty, version


@pytest.fixture
def pg_url(_pg_shared):
    import psycopg

    url, empty, version = _pg_shared
    with psycopg.connect(url, autocommit=True) as conn:  # a test may have ended every other connection
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        conn.execute(empty)
        conn.execute("UPDATE station_schema_version SET version = %s", (version,))
    return url


@pytest.fixture
def pg_empty_url(pg_cluster):
    name = f"e{os.getpid()}_{next(_names)}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory) -> Path:
    """A station's database at the latest schema and nothing else: migrated, never opened by a
    store (which gives each database its own sync identity on first open)."""
    from station.store.db import Database

    path = tmp_path_factory.mktemp("migrated") / "station.sqlite3"
    db = Database(path)
    try:
        db.migrate()
    finally:
        db.close()
    return path


@pytest.fixture
def station_data_dir(_sqlite_migrated):
    """``make(path)``: ``path`` made a station's data directory (mode 0700) with a copy of the
    migrated database (mode 0600, as the store makes it); returns ``path``."""

    def make(path) -> Path:
        path = Path(path)
        path.mkdir(mode=0o700, parents=True)
        target = path / _sqlite_migrated.name
        shutil.copyfile(_sqlite_migrated, target)
        target.chmod(0o600)
        return path

    return make


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 MiB tmpfs to fill (root only; tests/small_disk.py), unmounted afterwards."""
    from small_disk import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "tiny", 24) as mount:
        yield mount


@pytest.fixture
def time_zone(monkeypatch):
    """``time_zone("AEDT-11")``: the station's local time zone for this test (a POSIX TZ string: no
    time-zone database needed), for what people read in the clinic's time (station.store.timefmt's
    local_day/local_minute); restored after the test."""

    def set_zone(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()
