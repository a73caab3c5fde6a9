"""Calls a write transaction makes once it has committed: notifications of what it changed.

Code that changes a record and tells a listener about it (:meth:`station.store.patients.Patients.update`
tells the patient's open test a new identifier, :mod:`station.store.open_tests`) may run inside an
outer transaction: the hub's put-back reads its plan and updates the patient in one
(:meth:`station.sync.hub.Hub.undo_patient_version`). Told at the end of its own block, which is then
only a savepoint, the listener could read the row as it was (the outer transaction has not
committed) or be told of a change that the outer transaction then rolls back. Both databases'
``write`` (:class:`station.store.db.Database`, :class:`station.store.pg.PgDatabase`) keep these calls
here: added inside a block, a call runs once the outermost block has committed, after the write lock
is released, in the thread that wrote; a block that rolls back (a savepoint or the whole
transaction) drops the calls added inside it.

>>> calls, told = AfterCommit(), []
>>> outer = calls.mark()                  # the transaction begins
>>> calls.add(lambda: told.append("identifier"))
>>> inner = calls.mark()                  # a savepoint ...
>>> calls.add(lambda: told.append("rolled back"))
>>> calls.drop_since(inner)               # ... rolled back
>>> told                                  # nothing yet: not committed
[]
>>> for call in calls.take(): call()     # committed
>>> told, calls.take()
(['identifier'], [])
"""

from __future__ import annotations

from collections.abc import Callable


class AfterCommit:
    """The calls waiting for one database's write transaction to commit (see the module doc). Used
    only by the thread holding that database's write lock."""

    def __init__(self) -> None:
        self._calls: list[Callable[[], None]] = []

    def mark(self) -> int:
        """Where a block (the transaction or a savepoint) begins, for :meth:`drop_since` if it rolls back."""
        return len(self._calls)

    def add(self, call: Callable[[], None], *, writing: bool = True) -> None:
        """Run ``call`` (no arguments; it must return at once) after the transaction commits; now if the
        thread is not ``writing`` (inside no write block: nothing waits to commit)."""
        if writing:
            self._calls.append(call)
        else:
            call()

    def drop_since(self, mark: int) -> None:
        """The block that began at ``mark`` rolled back: its calls are never made."""
        del self._calls[mark:]

    def take(self) -> list[Callable[[], None]]:
        """The transaction committed: its calls, in the order they were added, to make now (none kept)."""
        calls, self._calls = self._calls, []
        return calls
