"""The person's background chunk generation (real-time use) changes nothing in what it produces."""

import time

import numpy as np

from station.sim.person import CHUNK_S, VirtualPerson


def _walk(person, times):
    return np.array([person.corner_forces_n(t) + tuple(person.trunk(t).acc_m_s2) for t in times])


def test_prefetching_person_gives_the_same_samples_even_with_events_mid_run():
    plain = VirtualPerson(7)
    ahead = VirtualPerson(7, prefetch=True)
    times = np.arange(0.0, 3 * CHUNK_S, 0.003)
    first = times[times < 1.5 * CHUNK_S]
    a1, b1 = _walk(plain, first), _walk(ahead, first)
    time.sleep(0.05)  # let the background thread generate the next chunk
    # An event scheduled after the next chunk was generated must reach it all the same.
    for person in (plain, ahead):
        person.shift_weight(1.6 * CHUNK_S, left_pct=65)
        person.stumble(2.2 * CHUNK_S)
    rest = times[times >= 1.5 * CHUNK_S]
    a2, b2 = _walk(plain, rest), _walk(ahead, rest)
    assert np.array_equal(a1, b1)
    assert np.array_equal(a2, b2)
    assert ahead._prefetcher is not None and plain._prefetcher is None


def test_prefetch_has_the_next_chunk_ready_before_it_is_needed():
    person = VirtualPerson(3, prefetch=True)
    person.corner_forces_n(0.1)
    deadline = time.monotonic() + 5
    while 1 not in person._chunks and time.monotonic() < deadline:
        time.sleep(0.005)
    assert 1 in person._chunks
