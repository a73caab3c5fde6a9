"""The live stream's batching (issue 16, "Live feel"): a frames event at most every 33 ms holding
every frame acquired since the previous one, on a virtual clock (no timing of this machine).

``web.live`` reads its clock and sleeps through the ``time`` module; here both are a virtual
clock, and each sleep advances it and writes the frames a 100 Hz acquisition would have written
meanwhile into a real shared-memory ring (stamped with the virtual monotonic clock)."""

from __future__ import annotations

import json
import time
import types

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameRing
from station.acquire.source import RingFrameSource
from station.store.audit import Actor
from web import create_app
import web.live

from dashboard_support import CHEAP, CLINICIAN_PW

FRAME_PERIOD_NS = 10_000_000  # 100 Hz
MAX_EVENT_INTERVAL_NS = 33_000_000  # 30 screen updates a second need an event every 33 ms


class VirtualAcquisition:
    """A monotonic clock that moves only when the stream sleeps, and the frames a 100 Hz
    acquisition writes into ``ring`` as it moves. ``stall_at``: the sleep (by count) after which
    the clock jumps ``stall_s`` further (the server's thread not scheduled for a while)."""

    def __init__(self, ring: FrameRing, stall_at: int = -1, stall_s: float = 0.0) -> None:
        self.ring = ring
        self.now_ns = time.monotonic_ns()
        self.next_frame_ns = self.now_ns - 2_000_000_000  # two seconds written before the stream opens
        self.seq = 0
        self.sleeps = 0
        self.stall_at = stall_at
        self.stall_s = stall_s
        self._write_until(self.now_ns)

    def _write_until(self, t_ns: int) -> None:
        while self.next_frame_ns <= t_ns:
            f = np.zeros(1, dtype=FRAME_DTYPE)[0]
            f["seq"], f["t_ns"] = self.seq, self.next_frame_ns
            f["fz_n"], f["ap_cm"], f["ml_cm"] = 700.0, 0.01 * (self.seq % 17), -0.02 * (self.seq % 13)
            self.ring.write(f.item())
            self.seq += 1
            self.next_frame_ns += FRAME_PERIOD_NS

    def monotonic(self) -> float:
        return self.now_ns / 1e9

    def monotonic_ns(self) -> int:
        return self.now_ns

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        step_s = seconds + (self.stall_s if self.sleeps == self.stall_at else 0.0)
        self.now_ns += max(0, round(step_s * 1e9))
        self._write_until(self.now_ns)


@pytest.fixture
def station(tmp_path):
    from station.store.store import Store

    store = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    ring = FrameRing(4096)
    link = RingFrameSource(ring.name, 100.0)
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP,
                      "STATION_LINK": link, "TRIAL_SERVICE": None, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    yield app, ring
    link.close()
    ring.close()
    store.close()


def frames_events(app, clock: VirtualAcquisition, monkeypatch, count: int) -> list[dict]:
    """The first ``count`` frames events of a signed-in viewer's stream, each with the virtual
    time it was written (``at_ns``)."""
    monkeypatch.setattr(web.live, "time", types.SimpleNamespace(
        monotonic=clock.monotonic, monotonic_ns=clock.monotonic_ns, sleep=clock.sleep))
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW},
                       headers={"X-CSRF-Token": token}).status_code == 200
    response = client.get("/api/live", buffered=False)
    events = []
    try:
        for chunk in response.response:
            text = chunk.decode()
            if text.startswith("event: frames\n"):
                doc = json.loads(text.split("data: ", 1)[1])
                events.append({**doc, "at_ns": clock.now_ns})
                if len(events) == count:
                    break
    finally:
        response.close()
    return events


def test_a_frames_event_at_most_every_33_ms_with_every_frame_acquired_since_the_last(station, monkeypatch):
    app, ring = station
    clock = VirtualAcquisition(ring)
    events = frames_events(app, clock, monkeypatch, 120)
    backfill, steady = events[0], events[1:]
    assert len(backfill["frames"]) == 201  # the two seconds before the stream opened, and the frame at its start
    intervals = [b["at_ns"] - a["at_ns"] for a, b in zip(events, events[1:])]
    assert max(intervals) <= MAX_EVENT_INTERVAL_NS
    assert web.live.LIVE_INTERVAL_S <= MAX_EVENT_INTERVAL_NS / 1e9
    seqs = [f["seq"] for e in events for f in e["frames"]]
    assert seqs == list(range(len(seqs)))  # every frame once, in order
    for previous, event in zip(events, steady):
        # held back by no more than one interval: every frame acquired by then is in the event
        assert all(previous["at_ns"] < f["t_ns"] <= event["at_ns"] for f in event["frames"])
        assert event["frames"] and event["frames"][-1]["t_ns"] > event["at_ns"] - FRAME_PERIOD_NS
        assert event["sent_ns"] == event["at_ns"] and event["missed"] == 0


def test_after_a_stall_one_event_catches_up_and_the_pace_resumes_without_a_burst(station, monkeypatch):
    app, ring = station
    clock = VirtualAcquisition(ring, stall_at=30, stall_s=0.25)
    events = frames_events(app, clock, monkeypatch, 60)
    intervals = [b["at_ns"] - a["at_ns"] for a, b in zip(events, events[1:])]
    stall = max(range(len(intervals)), key=intervals.__getitem__)
    assert intervals[stall] >= 250_000_000
    catch_up = events[stall + 1]
    assert len(catch_up["frames"]) >= 25 and catch_up["missed"] == 0  # the stalled quarter second, at once
    # then the usual pace again: no run of events crowded together to make up for the stall
    after = intervals[stall + 1:]
    assert after and min(after) >= web.live.LIVE_INTERVAL_S * 1e9 - 1_000 and max(after) <= MAX_EVENT_INTERVAL_NS
    seqs = [f["seq"] for e in events for f in e["frames"]]
    assert seqs == list(range(len(seqs)))


def frames(first_seq: int, n: int, t0_ns: int, ap_cm: float) -> np.ndarray:
    block = np.zeros(n, dtype=FRAME_DTYPE)
    block["seq"] = np.arange(first_seq, first_seq + n)
    block["t_ns"] = t0_ns + FRAME_PERIOD_NS * np.arange(n)
    block["fz_n"], block["ap_cm"], block["ml_cm"] = 700.0, ap_cm, np.nan
    return block


def test_every_stream_shares_each_frames_text_made_once_and_a_restarted_acquisition_is_encoded_anew():
    texts = web.live.FrameTexts(capacity=50)
    first = frames(0, 30, 10**12, 1.25)
    made = texts.texts(first)
    assert [json.loads(t) for t in made] == web.live.frames_payload(first)  # the frames' fields, null where NaN
    again = texts.texts(first[10:20])
    assert all(a is b for a, b in zip(again, made[10:20]))  # the same texts, not made again
    restarted = frames(0, 30, 2 * 10**12, -3.5)  # the same seq after a restart, other frames
    assert [json.loads(t)["ap_cm"] for t in texts.texts(restarted)] == [-3.5] * 30
    assert len(texts._texts) == 50  # the newest kept
    event = web.live._frames_event(made[:2], 3, 100.0)
    head, _, data = event.partition("data: ")
    assert head == "event: frames\n" and event.endswith("\n\n")
    doc = json.loads(data)
    assert doc["frames"] == web.live.frames_payload(first[:2]) and doc["missed"] == 3 and doc["rate_hz"] == 100.0
    assert list(doc) == ["frames", "missed", "rate_hz", "sent_ns"] and isinstance(doc["sent_ns"], int)
