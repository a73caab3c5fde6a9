"""The browser tests' wait(): it polls every 0.2 s at first and less often as a wait grows long
(each poll is a WebDriver round trip, about 15 ms of CPU across this process, chromedriver and
Chromium; CI is CPU-bound), yet waits its whole timeout and checks once more at the deadline.
Run under a simulated clock: no browser, no sleeping."""

from __future__ import annotations

import pytest

import test_dashboard
from test_dashboard import wait


class FakeTime:
    """monotonic() and sleep() of a clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        self.sleeps_s: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.sleeps_s.append(seconds)
        self.now_s += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(test_dashboard, "time", fake)
    return fake


def true_after(clock: FakeTime, after_s: float):
    """A predicate that turns true ``after_s`` seconds from now, counting its calls."""
    start_s = clock.now_s
    calls = []

    def predicate(_driver):
        calls.append(clock.now_s - start_s)
        return clock.now_s - start_s >= after_s

    return predicate, calls


def test_a_long_wait_polls_less_often_and_a_short_one_as_often_as_before(clock):
    predicate, calls = true_after(clock, 45.0)
    assert wait(None, "a trial's end", predicate, timeout_s=60)
    # 0.2 s for 10 s (50 polls), 0.5 s to 30 s (40), then 1 s (15): not 225 polls at 0.2 s
    assert 100 <= len(calls) <= 110
    assert calls[-1] == pytest.approx(45.0, abs=1.0)  # seen within one poll of turning true
    assert max(clock.sleeps_s) == pytest.approx(1.0)
    short, short_calls = true_after(clock, 3.0)
    assert wait(None, "a page", short)
    assert set(round(s, 6) for s in clock.sleeps_s[-len(short_calls) + 1:]) == {0.2}


def test_a_caller_s_poll_interval_is_kept_however_long_the_wait(clock):
    predicate, calls = true_after(clock, 25.0)
    wait(None, "the go", predicate, timeout_s=40, poll_s=0.1)
    assert set(round(s, 6) for s in clock.sleeps_s) == {0.1}
    assert len(calls) >= 250


def test_the_timeout_is_waited_in_full_and_checked_at_the_deadline(clock):
    predicate, calls = true_after(clock, 59.99)
    assert wait(None, "a late change", predicate, timeout_s=60)  # a 1 s poll does not skip it
    never = lambda _d: (_ for _ in ()).throw(RuntimeError("stale element"))
    start_s = clock.now_s
    with pytest.raises(AssertionError, match=r"timed out after 45 s waiting for the result "
                                             r"\(last error: stale element\)"):
        wait(None, "the result", never, timeout_s=45)
    assert clock.now_s - start_s == pytest.approx(45.0)
