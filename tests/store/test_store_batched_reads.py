"""A patient's history and results read their trials in one batch (issue 19: the hub on
PostgreSQL took seconds for a 500-trial patient when every trial was its own read transaction).
The statements are counted on both backends, never timed."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from station.protocols.report import patient_history, session_results
from station.store import trials as trials_module
from station.store.audit import Actor
from station.store.db import NotFound

from clinic_data import make_frames, metrics_doc

CAL = {"method": "nominal"}
ACTOR = Actor(2, "ana", "10.0.0.7")


class _Counting:
    """A connection that records the statements run through it (the rest passes through)."""

    def __init__(self, conn, log: list[str]):
        self._conn = conn
        self._log = log

    def execute(self, sql, params=()):
        self._log.append(sql)
        return self._conn.execute(sql, params)

    def executemany(self, sql, seq):
        self._log.append(sql)
        return self._conn.executemany(sql, seq)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _count_statements(monkeypatch, db) -> tuple[list[str], list[str]]:
    """(statements, transactions) run through ``db`` from now on."""
    statements: list[str] = []
    transactions: list[str] = []
    read, write = db.read, db.write

    @contextmanager
    def counting_read():
        transactions.append("read")
        with read() as conn:
            yield _Counting(conn, statements)

    @contextmanager
    def counting_write():
        transactions.append("write")
        with write() as conn:
            yield _Counting(conn, statements)

    monkeypatch.setattr(db, "read", counting_read)
    monkeypatch.setattr(db, "write", counting_write)
    return statements, transactions


def _patient_with_trials(store, identifier: str, sessions: int, per_session: int) -> dict:
    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    frames = make_frames(20)
    for k in range(sessions):
        session = store.sessions.create(patient["id"], {"label": f"visit {k + 1}"}, actor=ACTOR)
        for j in range(per_session):
            valid = j != 1  # one invalid trial per session: left out of the history
            store.trials.import_trial(session["id"], "romberg", "eo", CAL, 100.0, frames,
                                      metrics_doc(ellipse_area_cm2=1.0 + k + j), valid,
                                      None if valid else "patient talked")
    return patient


def _history_cost(store, monkeypatch, patient_id: int) -> tuple[dict, int, int]:
    with monkeypatch.context() as m:
        statements, transactions = _count_statements(m, store.db)
        history = patient_history(store, patient_id, {}, actor=ACTOR)
    return history, len(statements), len(transactions)


def test_history_of_a_many_trial_patient_takes_as_many_queries_as_a_small_one(store, monkeypatch):
    small = _patient_with_trials(store, "SMALL-1", sessions=1, per_session=2)
    big = _patient_with_trials(store, "BIG-1", sessions=12, per_session=5)

    small_history, small_statements, small_transactions = _history_cost(store, monkeypatch, small["id"])
    history, statements, transactions = _history_cost(store, monkeypatch, big["id"])

    assert statements == small_statements and transactions == small_transactions
    assert statements <= 8 and transactions <= 3  # the patient's view (audited) and one read of the trials
    areas = next(s for s in history["series"] if s["metric"] == "ellipse_area_cm2")
    assert len(areas["points"]) == 12 and all(len(p["trials"]) == 4 for p in areas["points"])
    # session k: valid trials j = 0, 2, 3, 4 with areas 1 + k + j, mean 3.25 + k
    assert [p["value"] for p in areas["points"]] == pytest.approx([3.25 + k for k in range(12)])
    assert len(small_history["sessions"]) == 1


def test_a_visits_results_read_its_trials_in_one_batch(store, monkeypatch):
    patient = _patient_with_trials(store, "VISIT-1", sessions=1, per_session=30)
    session_id = store.patients.view(patient["id"], actor=ACTOR)["sessions"][0]["id"]
    with monkeypatch.context() as m:
        statements, _ = _count_statements(m, store.db)
        doc = session_results(store, session_id, {}, actor=ACTOR)
    trial_reads = [s for s in statements if "FROM trials t JOIN sessions s" in s and "WHERE t.id" in s]
    assert len(trial_reads) == 1 and len(statements) <= 12
    assert len(doc["unknown_protocol_trials"]) == 30  # no protocol given: every trial listed as unknown


def test_get_many_is_get_for_each_id_and_says_which_one_is_missing(store, monkeypatch):
    patient = _patient_with_trials(store, "MANY-1", sessions=2, per_session=4)
    ids = [t["id"] for s in store.patients.view(patient["id"], actor=ACTOR)["sessions"] for t in s["trials"]]
    monkeypatch.setattr(trials_module, "GET_MANY_BATCH", 3)  # 8 ids: three queries in one read
    with monkeypatch.context() as m:
        statements, transactions = _count_statements(m, store.db)
        found = store.trials.get_many(ids + ids[:2])  # a repeated id is read once
    assert len(statements) == 3 and transactions == ["read"]
    assert found == {i: store.trials.get(i) for i in ids}
    assert store.trials.get_many([]) == {}
    with pytest.raises(NotFound, match=r"no trial #987654"):
        store.trials.get_many(ids[:1] + [987654])


def test_a_postgres_read_opens_its_snapshot_with_its_first_statement(pg_url):
    """The reader's BEGIN travels with the block's first statement (one round trip less): the
    block still reads one REPEATABLE READ, read-only snapshot, a block without statements opens
    no transaction, and a failed statement leaves a usable connection behind."""
    from station.store.pg import PgDatabase

    db, other = PgDatabase(pg_url, max_readers=1), PgDatabase(pg_url)
    try:
        with db.read() as conn:
            assert not conn.in_transaction
        with db.read() as conn:
            before = conn.execute("SELECT count(*) FROM settings").fetchone()[0]
            assert conn.in_transaction
            with other.write() as w:
                w.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('snap', '1', 't', 'a')")
            assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == before  # the same snapshot
            mode = conn.execute("SELECT current_setting('transaction_isolation'),"
                                " current_setting('transaction_read_only')").fetchone()
            assert tuple(mode) == ("repeatable read", "on")
        assert not conn.in_transaction
        with pytest.raises(Exception, match="no_such_column"):
            with db.read() as conn:
                conn.execute("SELECT no_such_column FROM settings")
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == before + 1
    finally:
        db.close()
        other.close()
