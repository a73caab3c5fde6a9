"""A failing SD card, as the tests simulate it in the station's own terms: the store's writer connection
answers COMMIT with what SQLite raises when the card refuses a write or an fsync (EIO):
``sqlite3.OperationalError: disk I/O error`` (the transaction not committed: the store rolls it back,
as SQLite does on a failed commit), and the space monitor's check write (space.storage_writes) answers
what the OS would. Set ``failing`` to make the card fail or mend it. A slow card (:class:`GatedCard`): its
COMMITs wait for the test to let them go, as an SD card's fsync that takes seconds."""

from __future__ import annotations

import sqlite3
import threading

import station.store.space as space


class FailingCard:
    """The writer connection on a card that fails while ``failing``; ``failed_commits`` counts them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.failing, self.failed_commits = conn, False, 0

    def execute(self, sql, *args):
        if self.failing and sql == "COMMIT":
            self.failed_commits += 1
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def failing_card(store, monkeypatch) -> FailingCard:
    """Put the store's database on a :class:`FailingCard` (working until ``failing`` is set)."""
    card = FailingCard(store.db._writer)
    monkeypatch.setattr(store.db, "_writer", card)
    monkeypatch.setattr(space, "storage_writes", lambda data_dir: "Input/output error" if card.failing else "",
                        raising=False)  # (the code before it had no check write)
    return card


GATE_S = 3.0
"""The longest a gated COMMIT waits for the test (the old code, waiting in the append, fails after it)."""


class GatedCard:
    """The store's writer connection on a card whose COMMITs wait for ``release`` while ``slow`` (at most
    GATE_S), or fail with ``error`` (SQLite's words for EIO or a full disk) when it is set."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.slow, self.error = conn, False, None
        self.release = threading.Event()
        self.in_commit = threading.Event()  # a COMMIT is waiting at the gate now
        self.commit_threads: set[str] = set()

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self.commit_threads.add(threading.current_thread().name)
            if self.error is not None:
                raise sqlite3.OperationalError(self.error)
            if self.slow:
                self.in_commit.set()
                try:
                    self.release.wait(GATE_S)
                finally:
                    self.in_commit.clear()
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)
