"""The process's one write lock serves its writers in the order they came (station.store.db.FairLock): the
store's committer thread, handing a slow SD card one commit after another, retook threading.RLock as soon as
it had released it, before a page's write that had been waiting woke, so that write waited out its bound
(benchmarks/recording_faults.py slow-fsync --fsync-s 6 --page-writes: one note of 4 refused). The hub's
process (PostgreSQL) queues its writers on the same lock since session 28 (it had an RLock: a station's push,
applied a transaction a change, waited behind up to 21 of another thread's transactions in one wait,
benchmarks/hub_write_lock.py)."""

from __future__ import annotations

import threading
import time

from station.store.db import FairLock


def test_a_write_waiting_for_the_lock_gets_it_before_its_holder_takes_it_again(store):
    """Ten times: the committer holds the lock, a page's write waits for it, the committer releases it and
    asks again at once. The page's write is next each time (the old lock let the committer win the race
    most times), on a station (SQLite) and on the hub (PostgreSQL: a push's next change behind a page's
    write)."""
    db = store.db
    rounds = []
    for _ in range(10):
        order: list[str] = []
        holding, let_go = threading.Event(), threading.Event()

        def committer() -> None:  # one commit, then the next at once
            with db.write():
                holding.set()
                let_go.wait(5)
            with db.write():
                order.append("committer")

        def page() -> None:
            with db.write():
                order.append("page")

        first = threading.Thread(target=committer)
        first.start()
        assert holding.wait(5)
        second = threading.Thread(target=page)
        second.start()
        time.sleep(0.1)  # the page's write is waiting for the lock
        let_go.set()
        first.join(10)
        second.join(10)
        rounds.append(order)
    assert rounds == [["page", "committer"]] * 10, rounds


def test_waiters_are_served_in_the_order_they_came_and_one_that_gives_up_leaves_its_place():
    lock = FairLock()
    lock.acquire()
    order: list[str] = []
    gave_up = []

    def waiter(name: str, timeout: float) -> None:
        if lock.acquire(timeout=timeout):
            order.append(name)
            lock.release()
        else:
            gave_up.append(name)

    threads = []
    for name, timeout in (("first", 10.0), ("impatient", 0.2), ("third", 10.0), ("fourth", 10.0)):
        threads.append(threading.Thread(target=waiter, args=(name, timeout)))
        threads[-1].start()
        time.sleep(0.1)  # each in the queue before the next
    time.sleep(0.3)  # the impatient one has given up
    assert gave_up == ["impatient"]
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == ["first", "third", "fourth"]
