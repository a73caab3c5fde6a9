"""Recovering without harm (issue 14): readers re-attach to a restarted acquisition's ring in their
own thread (the supervisor never closes a mapping under a reader), and a trial that cannot be closed
after a fault is logged in one line, without a traceback or patient data."""

from __future__ import annotations

import logging
import sys
import threading

import numpy as np

from station.acquire.frame import empty_frames
from station.acquire.ring import FrameRing
from station.acquire.source import RingFrameSource
from station.protocols.service import _TrackedStoreSink
from station.store.db import DiskFull, StoreError


def _frames(start: int, n: int) -> np.ndarray:
    out = empty_frames(n)
    out["seq"] = np.arange(start, start + n)
    out["t_ns"] = out["seq"] * 10_000_000
    return out


def _write(ring: FrameRing, start: int, n: int) -> None:
    for row in _frames(start, n):
        ring.write(row.item())


def test_a_reader_in_use_keeps_working_when_asked_to_reattach():
    ring = FrameRing(64, name=f"bs-test-reattach-{threading.get_ident()}")
    source = RingFrameSource(ring.name, 100.0)
    try:
        _write(ring, 0, 5)
        assert len(source.read_frames(0.0).frames) == 0  # attaches at the newest frame
        old = source._attach()
        source.reattach()  # the supervisor thread, while another thread holds the reader
        _write(ring, 5, 3)
        assert list(old.read().frames["seq"]) == [5, 6, 7]  # not closed under its user
        # the acquisition restarts: a new ring of the same name
        ring.close()
        ring = FrameRing(64, name=ring.name)
        _write(ring, 100, 4)
        source.read_frames(0.0)
        _write(ring, 104, 2)
        assert list(source.read_frames(0.0).frames["seq"]) == [104, 105]
        assert source._attach() is not old
    finally:
        source.close()
        ring.close()


def test_reattaching_while_other_threads_read_raises_nothing_in_them():
    ring = FrameRing(256, name=f"bs-test-race-{threading.get_ident()}")
    source = RingFrameSource(ring.name, 100.0)
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                source.read_frames(0.0)
                source.latest(16)
                source.health()
        except BaseException as exc:  # noqa: BLE001 - any failure in the reading thread is the bug
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a close under a reader shows
    for t in threads:
        t.start()
    try:
        for i in range(1000):
            _write(ring, i * 4, 4)
            source.reattach()
    finally:
        sys.setswitchinterval(switch)
        done.set()
        for t in threads:
            t.join(timeout=10)
        source.close()
        ring.close()
    assert errors == []


class _Writer:
    def __init__(self, finished: bool, error: StoreError | None = None):
        self.trial_id = 42
        self.finished = finished
        self.error = error
        self.aborted = []
        self.saving = False

    def abort(self, reason, *, wait=True):
        if self.error is not None:
            raise self.error
        self.aborted.append(reason)


class _Output:
    def __init__(self, writer):
        self.writer = writer


def _sink_with(writer) -> _TrackedStoreSink:
    sink = _TrackedStoreSink(sink=None)
    sink.open_output = type("Tracked", (), {"output": _Output(writer)})()
    return sink


def test_a_trial_a_full_disk_already_ended_is_left_alone(caplog):
    writer = _Writer(finished=True)
    with caplog.at_level(logging.DEBUG, logger="station.protocols.service"):
        _sink_with(writer).abort_open("the station's disk is full")
    assert writer.aborted == [] and caplog.records == []


def test_a_trial_that_cannot_be_closed_is_one_log_line_without_traceback(caplog):
    writer = _Writer(finished=False, error=DiskFull("the station's disk is full: trial #42 could not be closed"))
    with caplog.at_level(logging.DEBUG, logger="station.protocols.service"):
        _sink_with(writer).abort_open("patient P-SECRET stepped off")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    text = record.getMessage()
    assert "\n" not in text and "#42" in text and "disk is full" in text and "P-SECRET" not in text


def test_an_open_trial_is_aborted_with_the_reason():
    writer = _Writer(finished=False)
    _sink_with(writer).abort_open("sensor fault")
    assert writer.aborted == ["sensor fault"]
