"""Fixtures shared by every test folder: a throwaway PostgreSQL cluster (tests/postgres_cluster.py)
for the store's second backend (the hub). Started on first use, once per run; stopped and removed
at the end.

* ``pg_cluster``: the running cluster (``url(name)``, ``create_database``, ``admin``);
* ``pg_url``: the URL of a fresh database of its own, already at the latest schema (a copy of a
  template migrated once), dropped after the test;
* ``pg_empty_url``: the URL of a fresh empty database (migration tests).

Where PostgreSQL is missing, the tests that need it skip only if it cannot be installed here (no
root or no apt-get); otherwise a missing server is an error that points at tests/bootstrap.sh.
"""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

from postgres_cluster import Cluster, find_bindir

_TEMPLATE = "balance_template"
_names = itertools.count(1)


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
def _pg_template(pg_cluster) -> str:
    from station.store.pg import PgDatabase

    url = pg_cluster.create_database(_TEMPLATE)
    db = PgDatabase(url)
    try:
        db.migrate()
    finally:
        db.close()
    return _TEMPLATE


@pytest.fixture
def pg_url(pg_cluster, _pg_template):
    name = f"t{os.getpid()}_{next(_names)}"
    url = pg_cluster.create_database(name, template=_pg_template)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture
def pg_empty_url(pg_cluster):
    name = f"e{os.getpid()}_{next(_names)}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)
