"""The event bus: sequence numbers, resuming after a sequence number, listeners that fail."""

from __future__ import annotations

import threading

from station.protocols.events import EventBus
from station.sim.clock import SimulatedClock


def test_events_are_numbered_stamped_and_resumable():
    clock = SimulatedClock()
    bus = EventBus(clock)
    bus.publish("state", state="waiting")
    clock.advance_ns(2_000_000_000)
    bus.publish("countdown", remaining_s=3)
    bus.publish("countdown", remaining_s=2)
    page = bus.since(0)
    assert [e.seq for e in page.events] == [1, 2, 3]
    assert [e.t_ns for e in page.events] == [0, 2_000_000_000, 2_000_000_000]
    assert page.last_seq == 3 and page.missed == 0
    resumed = bus.since(2)
    assert [e.data for e in resumed.events] == [{"remaining_s": 2}]
    assert bus.since(3).events == []
    assert page.to_dict()["events"][1] == {"seq": 2, "t_ns": 2_000_000_000, "kind": "countdown", "data": {"remaining_s": 3}}


def test_a_client_too_far_behind_learns_how_many_it_missed():
    bus = EventBus(SimulatedClock(), history=3)
    for i in range(10):
        bus.publish("progress", elapsed_s=i)
    page = bus.since(2)
    assert [e.seq for e in page.events] == [8, 9, 10]
    assert page.missed == 5  # events 3..7 are gone: reload the state, then continue


def test_listeners_in_order_failures_do_not_stop_others_and_unsubscribe():
    bus = EventBus(SimulatedClock())
    seen = []

    def broken(event):
        raise RuntimeError("listener bug")

    bus.subscribe(lambda e: seen.append(("a", e.seq)))
    bus.subscribe(broken)
    stop_b = bus.subscribe(lambda e: seen.append(("b", e.seq)))
    bus.publish("state", state="waiting")
    stop_b()
    bus.publish("state", state="countdown")
    assert seen == [("a", 1), ("b", 1), ("a", 2)]


def test_wait_returns_when_an_event_arrives_or_at_once_if_there_are_some():
    bus = EventBus(SimulatedClock())
    bus.publish("state", state="waiting")
    assert [e.seq for e in bus.wait(0, timeout_s=10).events] == [1]
    assert bus.wait(1, timeout_s=0).events == []
    publisher = threading.Timer(0.01, lambda: bus.publish("state", state="countdown"))
    publisher.start()
    page = bus.wait(1, timeout_s=30)  # returns as soon as the event comes
    publisher.join()
    assert [e.data["state"] for e in page.events] == ["countdown"]


def test_the_log_listener_writes_one_line_per_event(caplog):
    import logging

    from station.protocols.events import log_event

    bus = EventBus(SimulatedClock())
    bus.subscribe(log_event)
    with caplog.at_level(logging.INFO, logger="station.protocols.events"):
        bus.publish("trial_finished", condition="eo", result={"valid": False, "time_held_s": None,
                                                              "issues": [{"code": "step", "message": "long words"}]})
    (record,) = caplog.records
    assert record.getMessage() == "trial event 1 trial_finished condition=eo valid=False time_held_s=None issues=['step']"
