"""A failing SD card, as the tests simulate it in the station's own terms: the store's writer connection
answers COMMIT with what SQLite raises when the card refuses a write or an fsync (EIO):
``sqlite3.OperationalError: disk I/O error`` (the transaction not committed: the store rolls it back,
as SQLite does on a failed commit), and the space monitor's check write (space.storage_writes) answers
what the OS would. Set ``failing`` to make the card fail or mend it."""

from __future__ import annotations

import sqlite3

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
