"""The patients whose test is open on this station: their record must stay as it is until it ends.

A test (a protocol run) is open from the moment the clinician chooses the patient and the protocol
on the tablet until it is ended (End test, or the run fails or the station shuts down), and holds
the patient until its protocol has finished (its last trial recorded; a repeat asked after that
finds the record erased, if it was, and is refused in words). Between its
trials nothing is recording, yet the live page shows the patient and the next Start records into
their visit; erasing or archiving the patient then would make that Start fail. The trial service
registers each run here (:meth:`OpenTests.hold`) *before* it reads the patient, and releases it
when the run closes; :meth:`station.store.patients.Patients.erase` and ``update`` (archiving) ask
:meth:`OpenTests.title` inside their write transaction, so either the erasure comes first (and the
run's first write finds no patient) or the run does (and the erasure is refused). A change of the
patient's identifier meanwhile is told to the run (:meth:`OpenTests.changed`, once the change is
committed, :mod:`station.store.after_commit`): its live page shows the identifier the record has now.

In memory: a test cannot outlive the process that runs it (after a restart no test is open).

>>> tests = OpenTests()
>>> release = tests.hold(7, "Romberg test")
>>> tests.title(7), tests.title(8)
('Romberg test', None)
>>> release(); release()  # releasing twice is harmless
>>> tests.title(7) is None
True
>>> finished = {"yes": True}
>>> release = tests.hold(7, "Romberg test", still_open=lambda: not finished["yes"])
>>> tests.title(7) is None  # its protocol finished: nothing more records unless a trial is repeated
True
>>> told = []
>>> release = tests.hold(8, "Romberg test", on_change=lambda: told.append("patient 8 changed"))
>>> tests.changed(8); tests.changed(9)
>>> told
['patient 8 changed']
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable


class OpenTests:
    """Which patients have a test open (thread-safe); see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # token -> (patient_id, title, still_open, on_change)
        self._held: dict[int, tuple[int, str, Callable[[], bool], Callable[[], None]]] = {}
        self._tokens = itertools.count(1)

    def hold(self, patient_id: int, title: str, still_open: Callable[[], bool] = lambda: True,
             on_change: Callable[[], None] = lambda: None) -> Callable[[], None]:
        """Mark the patient's test ``title`` open; returns the function that releases it.
        ``still_open``: whether the test holds the patient now (a test whose protocol finished holds
        nothing until a trial is repeated: opening another test closes it without asking, and an
        administrator who erases the patient need not end it first). ``on_change``: called (from
        the thread that changed the record) when the patient's record changed while the test is
        open, finished or not (its page still shows the patient); it must return at once."""
        with self._lock:
            token = next(self._tokens)
            self._held[token] = (int(patient_id), str(title), still_open, on_change)

        def release() -> None:
            with self._lock:
                self._held.pop(token, None)

        return release

    def title(self, patient_id: int) -> str | None:
        """The title of a test open for the patient, or None."""
        with self._lock:
            held = [(title, still_open) for pid, title, still_open, _ in self._held.values() if pid == patient_id]
        return next((title for title, still_open in held if still_open()), None)

    def changed(self, patient_id: int) -> None:
        """The patient's record changed (call it after the change is stored): tell their open tests."""
        with self._lock:
            told = [on_change for pid, _, _, on_change in self._held.values() if pid == patient_id]
        for on_change in told:
            on_change()
