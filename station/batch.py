"""One function over many files: on every core of this machine or on a Dask cluster, results in
input order, memory bounded whatever the number of files, with a progress bar for people.

Used by ``balance-station analyze`` and ``gait``. The task function takes one item (a file) and
returns its result (a dict); it must not raise for a bad file (it returns an error row instead),
be importable by name (a module-level function or a :func:`functools.partial` of one) and
return picklable results.

Bounded memory: the items are cut into chunks and at most ``window`` chunks are in flight (sent
to a worker, or done but not yet consumed); the next chunk is sent only when the oldest one has
been handed to the caller. So at most ``(window + 1) * chunk`` results exist at any time, and a caller
that writes each result as it comes holds none of the others, for 10 files or 100,000.

Local processes (:func:`run_local`) are started with ``fork`` where the platform has it, so each
worker inherits the modules the parent has already imported instead of importing them again (the
caller imports what the work needs before starting the batch); elsewhere ``spawn``. A worker that
dies (killed, out of memory) does not stop the batch: the files in flight are run again one at a
time, and the one that kills its worker again becomes an error row (``lost(item, reason)``).

On a Dask cluster (:func:`run_dask`, ``--dask ADDRESS``) the chunks go to the cluster's workers,
which must have this package installed (they import the task function by name) and reach the files
at the same paths; a chunk that fails on the cluster (a worker lost, a module missing there)
becomes one error row per file.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

WINDOW_PER_WORKER = 4
"""Chunks in flight per worker: enough to keep every worker busy while the caller writes."""
MAX_CHUNK = 16
"""Largest chunk of items sent to a worker at once (a chunk is one round trip)."""


def default_jobs() -> int:
    """The number of cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_size(total: int, workers: int) -> int:
    """Items in the next chunk when ``total`` items are left to send: half a worker's share of them
    (guided self-scheduling), at most :data:`MAX_CHUNK`, at least 1. The first chunk is the
    largest; as the batch runs out the chunks shrink to one item, so that the workers finish
    together (with fixed chunks of 12 files of 200, one worker ran alone for up to a chunk at the
    end), in few chunks (24 for 200 files on 2 workers: each chunk costs the command's process
    about 0.7 ms of CPU, which the workers need)."""
    return max(1, min(MAX_CHUNK, total // (2 * max(1, workers))))


def _run_chunk(func: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [func(item) for item in chunk]


def _chunks(items: Iterable[T], total: int, workers: int) -> Iterator[list[T]]:
    """The items in chunks of :func:`chunk_size` of the items still to send (``total`` at first)."""
    chunk: list[T] = []
    size = chunk_size(total, workers)
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            total -= size
            chunk = []
            size = chunk_size(total, workers)
    if chunk:
        yield chunk


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the parent, which stops the batch (no traceback from each worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


KEEP_FREED_BYTES = 64 << 20
"""Freed memory the C library's allocator keeps for reuse instead of returning it to the system
(:func:`keep_freed_memory`), bytes."""


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for the next file instead of returning it to the
    system after each one: blocks up to ``KEEP_FREED_BYTES / 2`` come from the heap, not from a
    fresh mapping each time (``M_MMAP_THRESHOLD``), and up to ``KEEP_FREED_BYTES`` of free heap is
    kept (``M_TRIM_THRESHOLD``). A 60 s trial allocates a few arrays of 50-500 kB per metric; each
    fresh mapping costs page faults (about 250 a file, 0.5-1 ms of system time), and the batch's
    CPU per trial dropped by about 9 % (``bench analysis --batch``, alternating runs). Memory stays
    bounded: the kept blocks are reused by the next file. Called before the workers are forked
    (they inherit it); False where there is no glibc ``mallopt`` (nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(mallopt(m_mmap_threshold, KEEP_FREED_BYTES // 2)) and bool(mallopt(m_trim_threshold, KEEP_FREED_BYTES))


KEEP_FREED_FROM_FILES = 50
"""Batches of this many files or more keep freed memory (:func:`keep_freed_memory`)."""


def _mp_context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_local(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int,
    total: int,
    lost: Callable[[T, str], R],
) -> Iterator[R]:
    """``func(item)`` for every item, in order, on ``jobs`` processes (``jobs == 1``: here, in
    this process). ``total`` is the number of items (for the chunk size); ``lost(item, reason)``
    is the result of an item whose worker died while running it alone."""
    if total >= KEEP_FREED_FROM_FILES:
        keep_freed_memory()
    if jobs <= 1:
        for item in items:
            yield func(item)
        return
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import gc

    window = WINDOW_PER_WORKER * jobs
    context = _mp_context()
    pending: deque[tuple[list[T], object]] = deque()
    chunks = _chunks(items, total, jobs)
    # The objects made so far (the imported modules' mostly) are left out of the garbage collector's
    # walks until the batch ends: a walk writes to every object it visits, so in a forked worker it
    # would copy the pages it shares with this process (about 600 fewer page faults in the workers
    # of a 200-file batch, and shorter collections here while the results stream in).
    gc.freeze()
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_interrupt)
    try:
        def submit() -> None:
            chunk = next(chunks, None)
            if chunk is None:
                return
            try:
                future = executor.submit(_run_chunk, func, chunk)
            except BrokenProcessPool as exc:
                # A worker died after the result just taken was ready: this chunk is retried with
                # the others in flight when the loop reaches it.
                future = Future()
                future.set_exception(exc)
            pending.append((chunk, future))

        for _ in range(window):
            submit()
        while pending:
            chunk, future = pending[0]
            try:
                results = future.result()
            except BrokenProcessPool:
                # A worker died: every chunk in flight is lost. Run their items again one at a
                # time in a fresh pool, so that only the item that kills a worker is an error row.
                executor.shutdown(wait=True, cancel_futures=True)
                retry = [item for chunk, _ in pending for item in chunk]
                pending.clear()
                executor = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_ignore_interrupt)
                for item in retry:
                    try:
                        yield executor.submit(func, item).result()
                    except BrokenProcessPool:
                        executor.shutdown(wait=True)
                        executor = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_ignore_interrupt)
                        yield lost(item, "the worker process running it died (out of memory?)")
                executor.shutdown(wait=True)
                executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_interrupt)
                for _ in range(window):
                    submit()
                continue
            pending.popleft()
            submit()
            yield from results
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


class DaskUnavailable(Exception):
    """``--dask`` cannot be used: the client library is missing or the scheduler is unreachable;
    ``str(e)`` is one line saying what to do."""


CONNECT_TIMEOUT_S = 10.0
"""How long ``--dask`` waits for the scheduler to answer, s."""


def connect_dask(address: str, timeout_s: float | None = None):
    """A :class:`distributed.Client` connected to the scheduler at ``address`` (``tcp://host:8786``).

    Raises
    ------
    DaskUnavailable
        When dask.distributed is not installed or the scheduler does not answer within ``timeout_s``.
    """
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable(
            "--dask needs dask.distributed; install it with: pip install 'balance-station[dask]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S if timeout_s is None else timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DaskUnavailable(
            f"cannot reach the Dask scheduler at {address} ({reason}); start it with `dask scheduler` and give "
            "its address, e.g. tcp://host:8786"
        ) from None


def worker_versions(client) -> dict[str, str]:
    """The station version each worker of the cluster imports (its address -> version)."""
    return client.run(_station_version)


def _station_version() -> str:
    from station import __version__

    return __version__


def run_dask(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    client,
    total: int,
    lost: Callable[[T, str], R],
) -> Iterator[R]:
    """``func(item)`` for every item, in order, on the workers of a Dask cluster (``client``).

    A chunk whose task fails on the cluster (a worker lost, the package missing on a worker)
    gives ``lost(item, reason)`` for each of its items; the batch goes on.
    """
    workers = max(1, sum(client.nthreads().values()))
    window = WINDOW_PER_WORKER * workers
    pending: deque[tuple[list[T], object]] = deque()
    chunks = _chunks(items, total, workers)

    def submit() -> None:
        chunk = next(chunks, None)
        if chunk is not None:
            pending.append((chunk, client.submit(_run_chunk, func, chunk, pure=False)))

    for _ in range(window):
        submit()
    while pending:
        chunk, future = pending.popleft()
        submit()
        try:
            results = future.result()
        except Exception as exc:  # the cluster's failure, not the file's: one error row per file
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            results = [lost(item, f"failed on the Dask cluster ({reason})") for item in chunk]
        finally:
            future.release()
        yield from results


class ProgressBar:
    """One line on stderr while a batch runs: a bar, files done of all, files per second and the
    time left; only when the stream is a terminal and the batch has at least ``min_files``.

    Redrawn at most 10 times a second; :meth:`clear` before printing anything else on the stream.
    """

    WIDTH = 24
    INTERVAL_S = 0.1

    def __init__(self, total: int, stream=None, label: str = "analyze", min_files: int = 10, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.label = label
        self.total = total
        self.clock = clock
        self.enabled = total >= min_files and getattr(self.stream, "isatty", lambda: False)()
        self.started = clock()
        self._drawn_at = None
        self._shown = False

    def line(self, done: int) -> str:
        """The text of the bar after ``done`` files (also used by the tests)."""
        elapsed = self.clock() - self.started
        filled = int(self.WIDTH * done / self.total) if self.total else self.WIDTH
        text = f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total}"
        if done and elapsed > 0:
            rate = done / elapsed
            left = (self.total - done) / rate
            text += f"  {rate:.1f} files/s  {_clock_text(left)} left"
        return text

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if not force and self._drawn_at is not None and now - self._drawn_at < self.INTERVAL_S:
            return
        self._drawn_at = now
        self.stream.write("\r" + self.line(done).ljust(79)[:200])
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
            self._shown = False
            self._drawn_at = None


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
