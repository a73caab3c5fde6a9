"""The patients whose test is open on this station: their record must stay as it is until it ends.

A test (a protocol run) is open from the moment the clinician chooses the patient and the protocol
on the tablet until it is ended (End test, or the run fails or the station shuts down). Between its
trials nothing is recording, yet the live page shows the patient and the next Start records into
their visit; erasing or archiving the patient then would make that Start fail. The trial service
registers each run here (:meth:`OpenTests.hold`) *before* it reads the patient, and releases it
when the run closes; :meth:`station.store.patients.Patients.erase` and ``update`` (archiving) ask
:meth:`OpenTests.title` inside their write transaction, so either the erasure comes first (and the
run's first write finds no patient) or the run does (and the erasure is refused).

In memory: a test cannot outlive the process that runs it (after a restart no test is open).

>>> tests = OpenTests()
>>> release = tests.hold(7, "Romberg test")
>>> tests.title(7), tests.title(8)
('Romberg test', None)
>>> release(); release()  # releasing twice is harmless
>>> tests.title(7) is None
True
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable


class OpenTests:
    """Which patients have a test open (thread-safe); see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, tuple[int, str]] = {}  # token -> (patient_id, title)
        self._tokens = itertools.count(1)

    def hold(self, patient_id: int, title: str) -> Callable[[], None]:
        """Mark the patient's test ``title`` open; returns the function that releases it."""
        with self._lock:
            token = next(self._tokens)
            self._held[token] = (int(patient_id), str(title))

        def release() -> None:
            with self._lock:
                self._held.pop(token, None)

        return release

    def title(self, patient_id: int) -> str | None:
        """The title of a test open for the patient, or None."""
        with self._lock:
            return next((title for pid, title in self._held.values() if pid == patient_id), None)
