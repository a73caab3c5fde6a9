"""The live stream's health follows a stall of the acquisition at once (issue 10): when the frames
stop for a second the stream sends a health event saying ``nodata`` (what /healthz tells every other
page), and when they come again one saying so, instead of at its next once-a-second event (which
left the live page's strip saying "no data" over frames for up to a second, and /healthz "ok" for
up to 3 s of a stall). Real time, a real shared-memory ring written at 100 Hz."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.acquire.ring import FrameRing
from station.acquire.source import NO_FRAMES_S, RingFrameSource
from station.store.audit import Actor
from web import create_app

from web_support import CLINICIAN_PW, clinic_data


class StallingWriter(threading.Thread):
    """Writes frames at 100 Hz and a health report once a second, as the acquisition loop does;
    ``stalled`` set: writes nothing (its loop blocked)."""

    def __init__(self, ring: FrameRing) -> None:
        super().__init__(daemon=True)
        self.ring = ring
        self.stop = threading.Event()
        self.stalled = threading.Event()
        self.seq = 0

    def run(self) -> None:
        next_t = time.monotonic()
        next_report = next_t
        while not self.stop.is_set():
            if not self.stalled.is_set():
                f = np.zeros(1, dtype=FRAME_DTYPE)[0]
                f["seq"], f["t_ns"], f["fz_n"] = self.seq, time.monotonic_ns(), 700.0
                self.ring.write(f.item())
                self.seq += 1
                if time.monotonic() >= next_report:
                    next_report += 1.0
                    self.ring.publish_health({"state": "ok", "reason": "", "frames": self.seq, "frames_lost": 0,
                                              "published_ns": time.monotonic_ns()})
            next_t += 0.01
            time.sleep(max(0.0, next_t - time.monotonic()))


@pytest.fixture
def stream(tmp_path, station_data_dir):
    ring = FrameRing(4096)
    writer = StallingWriter(ring)
    writer.start()
    link = RingFrameSource(ring.name, 100.0)
    station_data_dir(tmp_path / "data")
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "PASSWORD_COST": clinic_data.CHEAP_COST,
                      "WALL_CLOCK": clinic_data.WallClock(), "STATION_LINK": link, "TESTING": True})
    store = app.extensions["station_store"]
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW},
                       headers={"X-CSRF-Token": token}).status_code == 200
    time.sleep(1.2)  # frames, and a health report
    response = client.get("/api/live", buffered=False)
    yield writer, iter(response.response)
    response.close()
    writer.stop.set()
    writer.join(2)
    link.close()
    store.close()
    ring.close()


def _health_events(chunks, until_s: float):
    """(seconds since the call, the health document) of each health event within ``until_s``."""
    start = time.monotonic()
    seen = []
    for chunk in chunks:
        text = chunk.decode()
        if text.startswith("event: health"):
            doc = json.loads(text.split("data: ", 1)[1])["health"]
            seen.append((time.monotonic() - start, doc))
        if time.monotonic() - start > until_s:
            return seen
    return seen


def _frames_then_health(chunks, until_s: float) -> tuple[int, dict | None]:
    """How many frames events came before the first health event within ``until_s``, and its document (None:
    none came)."""
    start = time.monotonic()
    frames = 0
    for chunk in chunks:
        text = chunk.decode()
        if text.startswith("event: frames"):
            frames += 1
        elif text.startswith("event: health"):
            return frames, json.loads(text.split("data: ", 1)[1])["health"]
        if time.monotonic() - start > until_s:
            break
    return frames, None


def test_the_stream_says_nodata_a_second_into_a_stall_and_ok_as_soon_as_frames_return(stream):
    writer, chunks = stream
    first = _health_events(chunks, 1.2)
    assert first and first[-1][1]["state"] == "ok", first
    writer.stalled.set()
    during = _health_events(chunks, 2.2)
    said = [(t, d) for t, d in during if d["state"] == "nodata"]
    assert said, [(round(t, 2), d["state"]) for t, d in during]
    # at once: within NO_FRAMES_S and a few of the stream's 20 ms ticks (the next once-a-second event
    # could be 1 s later)
    assert said[0][0] < NO_FRAMES_S + 0.25, [(round(t, 2), d["state"]) for t, d in during]
    assert said[0][1]["reason"].startswith("the station has measured nothing for ")
    assert said[0][1]["reason_code"] == "no_frames"
    writer.stalled.clear()
    # at once: the stream's next tick after the one that read the frames again (counted in the stream's own frames
    # events, not in wall time, which a loaded machine stretches: 0.33 s against a 0.25-s bound once, at load ~15);
    # the next once-a-second event would come after up to ~50 of them
    frames, health = _frames_then_health(chunks, 1.5)
    assert health is not None and health["state"] == "ok", (frames, health)
    assert frames <= 2, f"{frames} frames events before the health event saying the frames came again"
