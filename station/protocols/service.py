"""The trial service: runs the protocol chosen on the tablet against the acquisition's frames.

It lives in the station daemon (the web server's process), never in the acquisition process: it
reads frames from the shared-memory ring through a :class:`~station.acquire.source.FrameSource`
(``RingFrameSource``), drives a :class:`~station.protocols.runner.ProtocolRunner` for the patient
and protocol the clinician chose, stores every trial through the clinic store
(:class:`~station.protocols.sinks.StoreSink`, one session per protocol run), and publishes
everything on one :class:`~station.protocols.events.EventBus`.

Threads
-------
One service thread (:meth:`TrialService.start`, named ``trial-service``) owns every change: it
executes queued commands, steps the runner (which reads the frames, at most ``read_wait_s`` per
step), and ticks the panel. Any other thread (web requests, gpiozero's button callback) calls the
command methods (:meth:`open_run`, :meth:`start_trial`, :meth:`stop_trial`, :meth:`end_hold`,
:meth:`repeat_trial`, :meth:`skip_trial`, :meth:`close_run`, :meth:`press`): each queues its
command and waits for the service thread to carry it out (within one step, ~50 ms), then returns
the new :meth:`status` or raises the store's error (:class:`~station.store.db.Conflict` when the
command does not fit the trial's state, :class:`~station.store.db.NotFound`,
:class:`~station.store.db.ValidationError`), which the web maps to 409/404/422. Tests may instead
call :meth:`step` themselves with :meth:`submit` (no thread), e.g. on a simulated station.

Events
------
The bus lives as long as the service, so sequence numbers keep growing across protocol runs; a
client that resumes (SSE ``Last-Event-ID``) asks :meth:`EventBus.since` for what it missed, and
:attr:`TrialService.epoch` (random per service start) tells it when the station restarted and its
numbers mean nothing any more. Besides the runner's events (see :mod:`station.protocols.events`):

``run_opening``  message, title: the test's visit is still being written (a slow storage); ``run_opened`` follows
                 once it is, or ``fault`` says why the test was not opened
``run_opened``   the run's status document (see :meth:`status`)
``trial_stored`` trial_id, session_id, condition, trial, attempt, valid, completed
``trial_saving`` message: a trial is being saved (another program holds the database's write lock, or
                 the storage is slow to write: its end is stored once it can be, the loop going on meanwhile)
``trial_saved``  trial_id, message: that trial is now saved (after its own ``trial_stored``)
``run_closed``   session_id, reason, summary (the protocol's results so far)
``patient_updated`` patient_id, patient_identifier: the open test's patient has a new identifier
``fault``        message (also when a run fails: the run is closed and its trial kept)

The panel
---------
The station panel (:class:`station.hw.panel.StationPanel`) is attached to the service, which
offers it what a runner offers (``bus``, ``add_tick``, ``press``): the button starts the trial that
is due or stops the running one, whichever run is open. :func:`open_panel` builds it with
gpiozero's own pin-factory detection; on a computer without GPIO there is no panel, and the
status says why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from station.protocols.events import EventBus
from station.protocols.loader import builtin_protocols, load_protocols
from station.protocols.machine import ACTIVE_STATES, SHUTDOWN_WORDS, TrialState
from station.protocols.results import summarise
from station.protocols.runner import ProtocolRunner
from station.protocols.schema import Protocol, ProtocolError
from station.protocols.sinks import StoreSink
from station.store.audit import Actor
from station.store.backup import list_backups
from station.store.db import (Conflict, DatabaseBusy, DiskFull, NotFound, StorageFailed, StorageSlow, StoreError,
                              WRITE_LOCK_WAIT_S, ValidationError, storage_slow_message)
from station.store.space import STORAGE_WHAT_TO_DO, NoRoomToRecord, StorageFailing
from station.store.timefmt import local_minute
from station.store.trials import FLUSH_BUSY_WAIT_MS, HANDOVER_WAIT_S

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0
"""How long a caller waits for the service thread to carry out a command, s."""
COMMAND_FINISH_S = 30.0
"""After the timeout, how long a caller still waits for a command the service thread had already
started (its outcome is the answer), s."""

FAILURE_PAUSE_S = 0.5
"""Pause after an unexpected error in the service loop, s (so a persistent fault cannot spin)."""


class ServiceUnavailable(RuntimeError):
    """The service thread did not answer in time (stopped or stuck); the message says what to do."""


def open_panel(config, clock, pin_factory=None):
    """The station panel on GPIO, or None where there is none.

    Uses gpiozero's default pin-factory detection (``pin_factory=None``): on a Raspberry Pi the
    pins work; on a computer without GPIO gpiozero finds no pin factory and the station runs
    without a panel. Returns ``(panel or None, reason)`` where ``reason`` says why there is none.
    """
    from gpiozero.exc import GPIOZeroError

    from station.hw.panel import StationPanel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gpiozero warns about every pin factory it falls back from
        try:
            return StationPanel(config, clock=clock, pin_factory=pin_factory), ""
        except (GPIOZeroError, OSError) as exc:
            return None, f"no station panel (no usable GPIO on this computer; gpiozero says: {exc})"


def _trial_instructions(protocol: Protocol, condition) -> str:
    words = protocol.instructions
    if condition.instructions:
        words = f"{words}\n\n{condition.instructions}"
    return words


@dataclasses.dataclass
class _Saving:
    """A trial whose end (finish or abort) waits for the write lock another program holds: the
    service loop tries again each commit interval (``writer.retry_end``) instead of waiting."""

    writer: object
    output: object = None
    """The store output (:class:`~station.protocols.sinks._StoreOutput`) of a finished trial, whose
    ``saved`` does what follows its storing; None for a trial aborted when its run failed."""
    result: object = None
    stored: dict | None = None
    """The runner's record of the trial (``{"trial_id", "saving": True}``), completed once saved."""
    session_id: int | None = None
    next_try_ns: int = 0
    """When the writes that follow a stored trial (a game's training session, a programme session's dose),
    put off by a slow storage, are tried again (the service's clock)."""

    @property
    def follow_ups(self) -> bool:
        """The trial is stored; what follows it waits for the write lock (a slow SD card still writing)."""
        return self.output is not None and self.writer.finished and not self.writer.saving


class _Withdrawable:
    """A write handed to the store's committer thread that a shutdown may withdraw until the thread begins it
    (a test's visit: :meth:`TrialService._do_open_run`): exactly one of :meth:`begin` (the committer thread,
    before it writes) and :meth:`withdraw` (the shutdown) wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = ""

    def _take(self, state: str) -> bool:
        with self._lock:
            if not self._state:
                self._state = state
            return self._state == state

    def begin(self) -> bool:
        """Whether the write may go on (not withdrawn); after it, it cannot be withdrawn."""
        return self._take("begun")

    def withdraw(self) -> bool:
        """Whether the write is withdrawn (not begun): it will not be made."""
        return self._take("withdrawn")


@dataclasses.dataclass
class _Pending:
    """A command whose outcome waits for a write handed to the store's committer thread (opening a test: its
    visit), so that the loop does not wait for the storage: ``finish()`` is run on the loop once ``job`` is done
    (:meth:`TrialService._finish_pending`), its answer or its error the command's."""

    job: object
    finish: Callable[[], object]
    release: Callable[[], None]
    """Undoes what the command holds meanwhile (the patient's record), when it is not finished (a shutdown)."""
    write: _Withdrawable = dataclasses.field(default_factory=_Withdrawable)
    """The write the job makes: withdrawn at a shutdown unless the committer thread has begun it."""
    future: Future | None = None
    since_s: float = dataclasses.field(default_factory=time.monotonic)
    said: bool = False
    """Whether the pages were told it waits (:func:`opening_words`, once it has waited :data:`OPENING_SAID_AFTER_S`)."""
    title: str = ""
    """The title of the test being opened (the words name it)."""


class _TrackedStoreSink:
    """A :class:`StoreSink` that remembers the trial being written, so that a run which fails
    mid-trial can close that trial (aborted, frames kept) instead of leaving it recording.
    Its trials' ends do not wait for another program's write lock: one that must is put on
    ``saving`` (the service's list), which the service loop retries."""

    run_follow_ups = None
    """What its trials' outputs do what follows a stored trial with (the service's, off its loop)."""

    def __init__(self, sink: StoreSink, saving: list | None = None, session_id: int | None = None) -> None:
        self.sink = sink
        self.open_output = None
        self.saving = [] if saving is None else saving
        self.session_id = session_id

    def start_trial(self, plan, rate_hz: float, body_weight_n: float, t0_ns: int = 0, start_seq: int | None = None):
        self.open_output = output = _TrackedOutput(self, self.sink.start_trial(plan, rate_hz, body_weight_n, t0_ns,
                                                                               start_seq))
        return output

    def abort_open(self, reason: str) -> None:
        output, self.open_output = self.open_output, None
        if output is None:
            return
        writer = output.output.writer
        if writer.finished:
            return  # already closed: a full disk ends the trial as partial with what was committed
        try:
            writer.abort(reason, wait=False)
        except StoreError as exc:
            # One line, no traceback: the message names the trial by number and the cause (e.g. a
            # full disk), never patient data; the next start recovers the trial as partial. A trial
            # started while another program held the database's lock has no row before its first
            # commit (trial_id None): then nothing of it was stored, and there is nothing to recover.
            # A trial the fault ended as partial (the writer finished) is said as the error says it.
            if writer.finished:
                log.warning("could not close %s as aborted: %s",
                            "a trial not yet stored" if writer.trial_id is None else f"trial #{writer.trial_id}", exc)
            elif writer.trial_id is None:
                log.warning("could not close a trial not yet stored as aborted (%s); nothing of it is in the database",
                            exc)
            else:
                log.warning("could not close trial #%s as aborted (%s); it will be recovered as partial",
                            writer.trial_id, exc)
            return
        if writer.saving:  # another program holds the write lock: stored once it is free
            self.saving.append(_Saving(writer))


def start_refusal(health: dict) -> str | None:
    """Why a trial must not start now, in the clinician's words, or None: the acquisition sends no
    frames (health ``nodata``, :data:`station.acquire.source.NO_FRAMES_S`), has not sent its first
    yet (``starting``: just started or restarted) or is down (every load cell silent, or the process
    not responding). A trial started then would only record the gap.

    >>> start_refusal({"state": "ok"}) is None and start_refusal({"state": "degraded"}) is None
    True
    >>> print(start_refusal({"state": "nodata", "newest_frame_age_s": 4.2}))
    The station has had no readings for 4 s, so the trial was not started. Wait until the status strip says OK, then press Start again; if it does not come back within a minute, check the plate's cable and restart the station.
    >>> print(start_refusal({"state": "starting"}))
    The station's measuring program is starting and has no readings yet, so the trial was not started. Press Start again once the status strip says OK (within seconds).
    """
    state = health.get("state")
    if state == "starting":
        return ("The station's measuring program is starting and has no readings yet, so the trial was not started. "
                "Press Start again once the status strip says OK (within seconds).")
    if state == "nodata":
        age_s = health.get("newest_frame_age_s")
        for_how_long = f" for {age_s:.0f} s" if isinstance(age_s, (int, float)) else ""
        return (f"The station has had no readings{for_how_long}, so the trial was not started. Wait until the status "
                "strip says OK, then press Start again; if it does not come back within a minute, check the plate's "
                "cable and restart the station.")
    if state == "down":
        reason = str(health.get("reason") or "").strip().rstrip(".")
        return (f"The station is down{f' ({reason})' if reason else ''}, so the trial was not started. Press Start "
                "again once the status strip says OK.")
    return None


def full_disk_refusal(storage: dict, not_done: str, again: str) -> str | None:
    """Why nothing new may be recorded now, in the clinician's words, or None: the store's disk is
    ``full`` (:meth:`station.store.space.SpaceMonitor.status`: its space reserve was released), or its
    storage ``failed`` to write (an I/O error: a failing SD card; until a check write goes through), or has
    not answered its check write for ``STORAGE_HUNG_S`` (``io_error`` false: said as not answering). The
    reserve is kept for sign-ins and audited reads; trials started on it ate it (a review: 13 more
    trials took the 8 MB, then nobody could sign in). ``not_done``: what was refused; ``again``:
    what to do once there is room, or the card is mended.

    >>> full_disk_refusal({"state": "low", "free_bytes": 9e7}, "the trial was not started", "press Start again") is None
    True
    >>> print(full_disk_refusal({"state": "full", "free_bytes": 8388608}, "the trial was not started", "press Start again"))
    The station's disk is full, so the trial was not started. Everything recorded is kept, and signing in and results still work. Free space on the station (delete old exports, move backups off it), then press Start again.
    >>> print(full_disk_refusal({"state": "failed", "free_bytes": 9e8, "io_error": True}, "the trial was not started", "press Start again"))
    The station's storage failed to write (a disk I/O error: its SD card may be failing), so the trial was not started. What was stored before is kept. Check the SD card or replace it (copy the data directory, with its backups, off it first), then press Start again.

    Failed as its check write has not answered for ``STORAGE_HUNG_S`` (no write failed: no I/O error to speak of)::

    >>> print(full_disk_refusal({"state": "failed", "free_bytes": 9e8, "io_error": False, "not_answered_s": 12.4},
    ...                         "the test was not opened", "open the test again"))
    The station's storage (its SD card) has not answered for 12 s, so the test was not opened. What was stored before is kept. Check the SD card or replace it (copy the data directory, with its backups, off it first), then open the test again.
    """
    if storage.get("state") == "failed":
        not_answered = storage.get("not_answered_s")
        if storage.get("io_error", True):
            what = "The station's storage failed to write (a disk I/O error: its SD card may be failing)"
            if not_answered is not None:
                what += f" and has not answered for {not_answered:.0f} s since"
        else:  # its check write hangs
            what = f"The station's storage (its SD card) has not answered for {not_answered or 0:.0f} s"
        return (f"{what}, so {not_done}. "
                f"What was stored before is kept. {STORAGE_WHAT_TO_DO[:1].upper()}{STORAGE_WHAT_TO_DO[1:]}, then {again}.")
    if storage.get("state") != "full":
        return None
    if storage.get("free_bytes") is None:  # statvfs failed: no free space known
        return (f"The station cannot check its disk's free space ({storage.get('message', '')}), so {not_done}. "
                f"Everything recorded is kept. Tell the station's administrator, then {again}.")
    return (f"The station's disk is full, so {not_done}. Everything recorded is kept, and signing in and results "
            f"still work. Free space on the station (delete old exports, move backups off it), then {again}.")


OPEN_AGAIN = "open the test again"
"""What to do once a test refused on a full disk may open, when the caller names no button of its
own (:meth:`TrialService.open_run` ``again``: the live page's "press Open test again")."""

RUNNING_STATES = (TrialState.COUNTDOWN, TrialState.RECORDING)
"""A trial counting down or recording: a time its protocol bounds (its duration, a walk's time
limit, a treadmill session's planned minutes), unlike waiting for the patient or instructions."""


def trial_running(status: dict) -> bool:
    """Whether the service's :meth:`TrialService.status` shows a trial counting down or recording
    (:data:`RUNNING_STATES`): then a live view keeps its clinician signed in, and the sign-in page
    says that Stop is one sign-in away (web.live, web.auth).

    >>> trial_running({"run": {"state": "recording"}}), trial_running({"run": {"state": "instructions"}})
    (True, False)
    >>> trial_running({"run": None})
    False
    """
    run = status.get("run") if isinstance(status, dict) else None
    return bool(run) and run.get("state") in RUNNING_STATES


class _TrackedOutput:
    def __init__(self, owner: _TrackedStoreSink, output) -> None:
        self.owner = owner
        self.output = output
        if owner.run_follow_ups is not None and hasattr(output, "run_follow_ups"):
            output.run_follow_ups = owner.run_follow_ups

    def append(self, frames) -> None:
        self.output.append(frames)

    def finish(self, result) -> dict:
        stored = self.output.finish(result, wait=False)  # the service loop keeps its pace
        self.owner.open_output = None
        if stored.get("saving"):
            self.owner.saving.append(_Saving(self.output.writer, self.output, result, stored, self.owner.session_id))
        return stored


@dataclasses.dataclass
class _Run:
    """One protocol run: a patient, a protocol (possibly some of its conditions), a session."""

    runner: ProtocolRunner
    sink: _TrackedStoreSink
    patient_id: int
    patient_identifier: str
    session_id: int
    protocol: Protocol
    age_y: float | None
    actor: Actor
    stored: int = 0
    closed: bool = False
    walk_settings: object = None
    release: Callable[[], None] = lambda: None
    """Releases the patient's record (held while the test is open: no erasing, no archiving)."""
    opened_at: str = ""
    """When the test was opened (its session's ``started_at``, UTC ISO 8601)."""


class TrialService:
    """Runs protocols for the tablet and the panel (see the module docstring).

    Parameters
    ----------
    source : FrameSource
        The frames (``RingFrameSource`` in the daemon; a ``SimulatedStation`` in tests). Its
        ``clock`` times the runner and stamps the events.
    store : station.store.store.Store
        The clinic store (sessions and trials are written here).
    calibration : dict
        The plate calibration the acquisition uses (``PlateCalibration.to_dict()``), stored with
        every trial.
    protocols_dir : path, optional
        The clinic's own protocol files (besides the built-in ones).
    panel : StationPanel, optional
        Attached to the service (see :func:`open_panel`); ``panel_reason`` says why there is none.
    read_wait_s : float
        Longest wait for frames in one step, s.
    wall_clock : callable
        Unix time in s (the patient's age from the birth year).
    gates : station.hw.gates.GateArray, optional
        The walkway's light gates (walk tests); closed with the service.
    mounting : (str, str), optional
        The IMU's up and toes axes as worn (walk tests).
    plate_width_cm : float
        Distance between the left and right load cells, cm (the weight-shift game's band on screen).
    """

    def __init__(self, source, store, *, calibration: dict, protocols_dir=None, panel=None, panel_reason: str = "",
                 read_wait_s: float = 0.05, wall_clock: Callable[[], float] = time.time, gates=None,
                 mounting: tuple[str, str] | None = None, plate_width_cm: float = 40.0) -> None:
        self.source = source
        self.plate_width_cm = float(plate_width_cm)
        self.store = store
        self.clock = source.clock
        self.calibration = dict(calibration)
        self.protocols_dir = protocols_dir
        self.read_wait_s = read_wait_s
        self.wall_clock = wall_clock
        self.bus = EventBus(self.clock)
        self.epoch = secrets.token_hex(4)
        self.panel = panel
        self.gates = gates
        self.mounting = mounting
        self.panel_reason = "" if panel is not None else (panel_reason or "no station panel configured")
        self._ticks: list[Callable[[int], None]] = []
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._run: _Run | None = None
        self._saving: list[_Saving] = []
        """Trials whose end waits for another program's write lock (:meth:`_save_pending`)."""
        self._follow_up_jobs: dict[int, object] = {}
        """What follows a stored trial, handed to the store's committer thread and not done yet, by the id of
        the trial's record (``_Saving.stored``)."""
        self._follow_up_wait_s = HANDOVER_WAIT_S
        self._follow_up_lock_wait_s = FLUSH_BUSY_WAIT_MS / 1000
        self._opening: _Pending | None = None
        """A test being opened whose visit the committer thread is still writing (:meth:`_do_open_run`)."""
        self._status: dict = {}
        self._status_seq = -1
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        if panel is not None:
            panel.attach(self)
        self._refresh_status(force=True)

    # -- what the panel sees (the runner's interface) ------------------------------------------
    def add_tick(self, hook: Callable[[int], None]) -> None:
        """Call ``hook(now_ns)`` on every step of the service (the panel's beeps and LED)."""
        self._ticks.append(hook)

    def press(self) -> None:
        """The panel's button: start the trial that is due, or stop the one that is running.
        Called from gpiozero's thread; returns at once."""
        self._commands.put((self._do_press, (), None))

    # -- the thread ----------------------------------------------------------------------------
    def start(self) -> None:
        """Run the service thread (a daemon thread; :meth:`shutdown` ends it)."""
        if self._thread is not None:
            raise RuntimeError("the trial service is already running")
        self._thread = threading.Thread(target=self._loop, name="trial-service", daemon=True)
        self._thread.start()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop the trial that is running (stored, marked stopped), close the run, end the thread."""
        if self._thread is not None and self._thread.is_alive():
            try:
                self._call(self._do_close_run, (SHUTDOWN_WORDS, True), timeout_s)
            except (ServiceUnavailable, StoreError):
                log.warning("the trial service did not close its run in time")
            self._stopping.set()
            self._thread.join(timeout_s)
        pending, self._opening = self._opening, None
        if pending is not None:
            self._open_at_shutdown(pending, timeout_s)
        if self._run is not None and not self.running:  # (also a test that opened after the close above)
            self._do_close_run(SHUTDOWN_WORDS, True)
        self._unsaved_at_shutdown()
        if self.panel is not None:
            self.panel.close()
        if self.gates is not None:
            self.gates.close()

    def _open_at_shutdown(self, pending: _Pending, timeout_s: float) -> None:
        """A test being opened at shutdown, its visit still with the committer thread. Not begun there, its
        write is withdrawn: no visit is made, and the test is not opened (the command says so), rather than an
        empty visit left behind that the clinician was told was not opened. Begun, it cannot be withdrawn (its
        COMMIT is with the card), and once written it is recorded (its ``session.create`` audited): it is
        finished, waited for ``timeout_s`` at most, and the test opened (``run_opened``) to be ended by the
        shutdown at once (``run_closed``, as a test open at shutdown), so the visit is that test's, not a stray."""
        not_opened = ServiceUnavailable("the station is shutting down, so the test was not opened; open it again "
                                        "once the station is back")
        if not pending.write.withdraw() and pending.job.done.wait(timeout_s):
            self._opening = pending
            self._finish_pending()  # opened (the command answered with it), or its error the command's
            return
        if not pending.job.done.is_set() and not pending.write.withdraw():
            log.warning("the station's storage did not finish writing a test's visit within %g s of the shutdown; it "
                        "may be kept with no trials", timeout_s)
        pending.release()
        if pending.said:  # the pages were told it was being opened
            self.bus.publish("fault", message=_sentence(not_opened))
        if pending.future is not None:
            pending.future.set_exception(not_opened)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception:  # never let the service thread die: say so and go on
                log.exception("trial service step failed")
                self.bus.publish("fault", message="The trial service hit an internal error; see the station log.")
                time.sleep(FAILURE_PAUSE_S)

    def step(self) -> None:
        """One iteration: carry out queued commands, step the run (or keep the reader current),
        tick the panel. Its writes wait :data:`LOOP_LOCK_WAIT_S` at most for the database's write lock
        (a slow SD card still writing another write): the loop serves the sampling."""
        with self._bounded_writes(LOOP_LOCK_WAIT_S):
            self._step()

    def _bounded_writes(self, seconds: float):
        """The store's writes from this thread wait ``seconds`` at most for its write lock
        (:class:`StorageSlow` after it; ``Database.waiting_at_most``)."""
        bound = getattr(self.store.db, "waiting_at_most", None)
        return bound(seconds) if bound is not None else contextlib.nullcontext()

    def _step(self) -> None:
        self._run_commands()
        self._finish_pending()
        self._save_pending()
        run = self._run
        if run is not None and not run.runner.finished:
            try:
                run.runner.step()
            except StorageFailed as exc:  # the SD card failing: one line (the trial by number, no patient data)
                log.error("the test stopped: %s", exc)
                self._fail_run(run, self._storage_failed_words(exc))
            except (DiskFull, DatabaseBusy) as exc:  # expected: one line (the trial by number, no patient data)
                log.warning("the test stopped: %s", exc)
                self._fail_run(run, _sentence(exc))  # what happened, what to do
            except Exception:
                log.exception("protocol run failed")
                self._fail_run(run, None)
            else:
                self._announce_stored(run)
        else:
            try:
                self.source.read_frames(self.read_wait_s)  # stay current; a run starts from now
            except Exception as exc:
                log.warning("no frames: %s", exc)
                time.sleep(self.read_wait_s)
        now_ns = int(self.clock.monotonic_ns())
        for hook in self._ticks:
            hook(now_ns)
        self._refresh_status()

    def _save_pending(self) -> None:
        """Store the trials whose end waited for another program's write lock (each tried once per
        commit interval, :data:`FLUSH_BUSY_WAIT_MS` at most: the loop keeps its pace); once one is
        stored, ``trial_stored`` and ``trial_saved`` say so. A lock held past the trial's bound ends it
        as partial with every frame recorded (``fault``, in words, as during a recording). Then the
        ``partial`` of a trial a fault ended is written once it can be (``Trials.close_unclosed``)."""
        self.store.trials.close_unclosed(busy_wait_ms=FLUSH_BUSY_WAIT_MS, paced=True)
        for saving in list(self._saving):
            if saving.follow_ups:
                self._save_follow_ups(saving)
                continue
            try:
                trial = saving.writer.retry_end()
            except (StorageFailed, DiskFull, DatabaseBusy) as exc:
                self._saving.remove(saving)
                if saving.stored is not None:
                    saving.stored.pop("saving", None)
                if isinstance(exc, StorageFailed):
                    log.error("a trial being saved was not: %s", exc)
                    self.bus.publish("fault", message=self._storage_failed_words(exc))
                else:
                    log.warning("a trial being saved was not: %s", exc)
                    self.bus.publish("fault", message=_sentence(exc))
                continue
            if trial is None:
                continue
            if saving.stored is None:
                self._saving.remove(saving)
                continue  # a trial aborted as its run failed: the run's fault said what happened
            saving.output.saved(saving.result, trial, saving.stored)
            if saving.stored.get("saving"):  # what follows it waits for a slow storage: tried again
                saving.next_try_ns = int(self.clock.monotonic_ns() + FOLLOW_UP_RETRY_S * 1e9)
                continue
            self._saving.remove(saving)
            self._announce_saved(saving)

    def _save_follow_ups(self, saving: _Saving) -> None:
        """The writes that follow a stored trial (its game's training session, its programme session's dose)
        that a slow storage put off: taken once the committer thread has done them, tried again once per
        :data:`FOLLOW_UP_RETRY_S` when the write lock was not had; once done, ``trial_stored`` and
        ``trial_saved``."""
        now_ns = self.clock.monotonic_ns()
        job = self._follow_up_jobs.get(id(saving.stored))
        if job is not None:
            if not job.done.is_set():
                return
            del self._follow_up_jobs[id(saving.stored)]
            saving.stored.pop("saving", None)
            saving.stored.update(job.outcome())
        elif now_ns >= saving.next_try_ns:
            with self._bounded_writes(FLUSH_BUSY_WAIT_MS / 1000):  # (inline: a sink without the committer)
                saving.output.saved(saving.result, None, saving.stored)
        else:
            return
        if saving.stored.get("saving"):
            if id(saving.stored) not in self._follow_up_jobs:
                saving.next_try_ns = int(now_ns + FOLLOW_UP_RETRY_S * 1e9)
            return
        self._saving.remove(saving)
        self._announce_saved(saving)

    def _follow_ups_off_loop(self, output, result, trial_id: int, out: dict) -> dict:
        """What follows a stored trial (``output.follow_ups``) done in the store's committer thread, after the
        trial's own transactions, its wait for the write lock bounded there as its commits' are; waited for
        :data:`HANDOVER_WAIT_S` at most (``out`` updated), else ``out`` says ``"saving"`` and
        :meth:`_save_follow_ups` takes it once done: the loop does not wait for the card's commit."""
        seen = dict(out)

        def work() -> dict:
            with self._bounded_writes(self._follow_up_lock_wait_s):
                return output.follow_ups(result, trial_id, seen)

        job = self.store.trials.off_loop(work)
        if job.done.wait(self._follow_up_wait_s):
            out.update(job.outcome())
            return out
        out["saving"] = True
        self._follow_up_jobs[id(out)] = job
        return out

    def _announce_saved(self, saving: _Saving) -> None:
        """``trial_stored`` and ``trial_saved`` for a trial whose saving the page was told of."""
        trial_id = saving.stored.get("trial_id")
        plan = saving.result.plan
        self.bus.publish("trial_stored", **_stored_event(saving.session_id, saving.result, saving.stored))
        self.bus.publish("trial_saved", trial_id=trial_id,
                         message=f"Saved: {plan.condition.label}, trial {plan.trial}"
                                 f"{f' (attempt {plan.attempt})' if plan.attempt > 1 else ''}.")

    def _unsaved_at_shutdown(self) -> None:
        """At shutdown, the trials still being saved (another program holding the database's lock) get a
        last try; each one still not saved is one log line (by number, no patient data): the next start
        recovers it as partial with the frames committed, the ones held in memory being lost. One a slow
        storage is still writing is left to the store's closing, which waits for it (bounded)."""
        self._save_pending()
        self._follow_up_wait_s = self._follow_up_lock_wait_s = WRITE_LOCK_WAIT_S  # the last tries wait as a page's
        for saving in list(self._saving):
            for _ in range(2 if saving.follow_ups else 0):  # the job handed over before, then once more, not paced
                job = self._follow_up_jobs.get(id(saving.stored))
                if job is not None:
                    job.done.wait(WRITE_LOCK_WAIT_S)
                saving.next_try_ns = 0
                self._save_follow_ups(saving)
                if saving not in self._saving:
                    break
        for saving in self._saving:
            writer = saving.writer
            if saving.follow_ups:
                log.warning("trial #%s is stored, but what goes with it (%s) was not before the station shut down: "
                            "the storage was too slow; enter it by hand", writer.trial_id,
                            "its training session" if saving.result.training is not None else "the programme session's dose")
                continue
            if writer.storing:
                log.warning("%s was still being written as the station shut down (its storage is slow): the store's "
                            "closing waits for it", "a trial" if writer.trial_id is None else f"trial #{writer.trial_id}")
                continue
            kept = f"{writer.frames_committed / writer.rate_hz:.1f} s"
            lost = f"{(writer.frames_appended - writer.frames_committed) / writer.rate_hz:.1f} s"
            log.warning("%s was not saved before the station shut down: another program held the database; the next "
                        "start recovers it as partial with the %s committed, the %s held in memory are lost",
                        "a trial not yet stored" if writer.trial_id is None else f"trial #{writer.trial_id}", kept, lost)

    def _storage_failed_words(self, exc: StorageFailed) -> str:
        """What the clinician is told when the station's storage failed to write: the trial's fate
        and what to do (:class:`StorageFailed`'s words), and what the newest backup holds."""
        try:
            backups = list_backups(self.store.data_dir)
        except (OSError, AttributeError):  # the card failing under the listing too; a store without a data directory
            backups = None
        if backups:
            newest = backups[-1]
            made = local_minute(newest.created_s)
            held = (f"The newest backup ({newest.path.name}, made {made}) holds what was stored before it; it is on "
                    "the same card: copy the data directory, with its backups, off the card before replacing it.")
        elif backups is None:
            held = "Copy the data directory off the card before replacing it."
        else:
            held = ("The station has no backup yet (balance-station backup): copy the data directory off the card "
                    "before replacing it.")
        return f"{_sentence(exc)} {held}"

    # -- commands (any thread) -----------------------------------------------------------------
    def submit(self, command: str, *args) -> Future:
        """Queue a command by the name of its method (``open_run``, ``start_trial`` ...) without
        waiting; the returned future holds its result once :meth:`step` has carried it out."""
        future: Future = Future()
        self._commands.put((getattr(self, "_do_" + command), args, future))
        return future

    def _call(self, fn, args: tuple, timeout_s: float = COMMAND_TIMEOUT_S):
        if not self.running:
            raise ServiceUnavailable("the trial service is not running; restart the station (balance-station run)")
        future: Future = Future()
        self._commands.put((fn, args, future))
        try:
            return future.result(timeout_s)
        except FutureTimeout:
            # The caller is told the command failed, so it must never run later: withdraw it.
            # If the service thread has already started it, its outcome is what counts: wait
            # for it a little longer rather than report a failure that did not happen.
            if future.cancel():
                raise ServiceUnavailable(
                    "the station did not answer in time and the command was not carried out; try again, "
                    "and restart the station if this persists"
                ) from None
        try:
            return future.result(COMMAND_FINISH_S)
        except FutureTimeout:
            raise ServiceUnavailable(
                "the station is still carrying out the command; check the trial's state before trying again"
            ) from None

    def open_run(self, patient_id: int, protocol: str, conditions: list[str] | None, actor: Actor,
                 walk: dict | None = None, training: dict | None = None, los: dict | None = None,
                 programme_session_id: int | None = None, again: str = OPEN_AGAIN) -> dict:
        """Open a protocol run for a patient: a new session, the first trial's instructions.
        ``walk``: walk tests' settings entered by the clinician (``belt_speed_m_s``, ``planned_min``,
        ``sensor_height_m``; see :class:`station.protocols.walk.WalkSettings`). ``training``: a
        training game's choice (``game``, ``level``, ...; see
        :class:`station.protocols.training.TrainingSettings`), required for ``outcome = "training"``.
        ``los``: a limits-of-stability test's ``height_cm`` when the patient's record has none.
        ``programme_session_id``: the run is that programme session's (started from the programme
        page): a trial stored is its dose while it has none (:meth:`StoreSink.credit_programme_session`).
        ``again``: what the clinician does once a refusal on a full disk is resolved, naming the
        button of the page that asked (:meth:`_no_room_refusal`; e.g. "press Open test again")."""
        try:
            return self._call(self._do_open_run, (patient_id, protocol, conditions, actor, walk, training, los,
                                                  programme_session_id, again), COMMAND_TIMEOUT_S)
        except ServiceUnavailable:
            if self._opening is None:
                raise
            # its visit still with a slow card: the test opens by itself once written (the pages are told, and
            # told why not if it cannot), which 'the station is still carrying out the command' did not say
            raise ServiceUnavailable(still_opening_words(COMMAND_TIMEOUT_S + COMMAND_FINISH_S, self._opening.title)) from None

    def start_trial(self) -> dict:
        """The instructions were given: start the trial that is due (waiting, countdown, recording)."""
        return self._call(self._do_start_trial, ())

    def stop_trial(self) -> dict:
        """Stop the running trial (invalid if it was recording; due again if it was not)."""
        return self._call(self._do_stop_trial, ())

    def end_hold(self) -> dict:
        """Timed holds: the patient lost the test position; the hold ends now (valid)."""
        return self._call(self._do_end_hold, ())

    def repeat_trial(self) -> dict:
        """Offer the last finished trial again, as a further attempt."""
        return self._call(self._do_repeat_trial, ())

    def skip_trial(self) -> dict:
        """Drop the trial that is due."""
        return self._call(self._do_skip_trial, ())

    def score_unable(self, actor: Actor) -> dict:
        """Single-leg stance: score the due side's remaining trials as unable without measuring
        them (the patient cannot stand on one leg), as ``actor`` decided; audited."""
        return self._call(self._do_score_unable, (actor,))

    def close_run(self, reason: str = "ended by the clinician") -> dict:
        """End the run (a running trial is stopped first); its trials stay stored."""
        return self._call(self._do_close_run, (reason,))

    def status(self) -> dict:
        """Where the service is (JSON-serialisable; a snapshot, safe from any thread)::

            {"epoch", "last_seq", "panel": {"present", "reason"}, "run": None or {
                "patient_id", "patient_identifier", "session_id", "protocol", "title",
                "outcome", "conditions", "started_by", "opened_at", "age_y", "finished", "state",
                "trial" (current plan), "instructions", "operator_notes", "stance",
                "duration_s", "countdown_s", "rest_s", "due", "done" (results),
                "trial_ids", "summary", "walk", "walk_settings", "gates"}}
        """
        return self._status

    def protocols(self) -> tuple[dict[str, Protocol], str]:
        """Every protocol this station offers (built-in and the clinic's), and a problem with the
        clinic's files in words ('' when none; then only the built-in ones are offered)."""
        try:
            return load_protocols(self.protocols_dir), ""
        except ProtocolError as exc:
            return builtin_protocols(), str(exc)

    # -- command bodies (service thread) -------------------------------------------------------
    def _run_commands(self) -> None:
        while True:
            try:
                fn, args, future = self._commands.get_nowait()
            except queue.Empty:
                return
            if future is not None and not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except Exception as exc:
                if future is None:
                    log.warning("panel command failed: %s", exc)
                else:
                    future.set_exception(exc)
                continue
            if isinstance(result, _Pending):  # finished once its write is done (_finish_pending)
                result.future = future
                continue
            self._refresh_status(force=True)
            if future is not None:
                future.set_result(self._status if result is None else result)

    def _finish_pending(self) -> None:
        """The test being opened, once the committer thread has written its visit: opened (the command's
        answer, ``run_opened``), or its error the command's (and said on the pages that were told it was
        being opened: ``fault``)."""
        pending = self._opening
        if pending is None:
            return
        if not pending.job.done.is_set():
            if not pending.said and time.monotonic() - pending.since_s >= OPENING_SAID_AFTER_S:
                pending.said = True
                self.bus.publish("run_opening", message=opening_words(pending.title), title=pending.title)
            return
        self._opening = None
        try:
            result = pending.finish()
        except Exception as exc:
            if pending.said:  # the pages were told it was being opened
                self.bus.publish("fault", message=_sentence(exc))
            if pending.future is not None:
                pending.future.set_exception(exc)
            return
        self._refresh_status(force=True)
        if pending.future is not None:
            pending.future.set_result(self._status if result is None else result)

    def _state(self) -> TrialState | None:
        run = self._run
        if run is None or run.runner.machine is None:
            return None
        return run.runner.machine.state

    def _no_room_refusal(self, not_done: str, again: str) -> NoRoomToRecord | None:
        """The error refusing a new recording while the disk is full, or its storage failed to write
        and does not write yet (None: there is room, and the storage writes). Asked
        (fresh: space freed a moment ago counts) by every way a recording begins: opening a test
        (:meth:`_do_open_run`; a visit's next test too) and starting a trial (:meth:`_start_refusal`),
        whatever the protocol (stance, walk, treadmill, game). A trial already recording is not
        stopped: if the disk runs out it ends partial (:mod:`station.store.trials`)."""
        storage = self.store.space.status(fresh=True)
        words = full_disk_refusal(storage, not_done, again)
        if words is None:
            return None
        return StorageFailing(words) if storage.get("state") == "failed" else NoRoomToRecord(words)

    def _start_refusal(self) -> StoreError | None:
        """Why the trial that is due must not start now (Start on the tablet, the panel's button),
        as the error to raise, or None: no readings or the acquisition down (:func:`start_refusal`,
        409), the disk full (:meth:`_no_room_refusal`, 507)."""
        words = start_refusal(self.source.health())
        if words:
            return Conflict(words)
        return self._no_room_refusal("the trial was not started", "press Start again")

    def _require_run(self) -> _Run:
        if self._run is None:
            raise Conflict("no test is open; choose a patient and a protocol first")
        return self._run

    def _training_schedule(self, protocol: Protocol, patient: dict, training: dict | None):
        """The game to play (its schedule, seeded and stored with the trial), or None for other protocols."""
        from station.analysis.biofeedback import GameError
        from station.protocols.lean import last_los_excursion_pct
        from station.protocols.training import TrainingSettings, build_schedule

        if protocol.outcome != "training":
            if training is not None:
                raise ValidationError({"training": f"only applies to training games, not to {protocol.name}"})
            return None
        if training is None:
            raise ValidationError({"training": "choose the game and its level: {game, level, ...}"})
        try:
            settings = TrainingSettings.from_dict(training)
            return build_schedule(settings, height_cm=patient.get("height_cm"),
                                  los_excursion_pct=last_los_excursion_pct(self.store, patient["id"]),
                                  plate_width_cm=self.plate_width_cm, seed=secrets.randbelow(2**31))
        except (ValueError, GameError) as exc:
            raise ValidationError({"training": str(exc)}) from None

    def _los_settings(self, protocol: Protocol, patient: dict, los: dict | None, actor: Actor):
        """A limits-of-stability test's height and limits (None for other protocols)."""
        from station.protocols.lean import los_settings_for, previous_limits_deg

        if protocol.outcome != "limits_of_stability":
            if los is not None:
                raise ValidationError({"los": f"only applies to the limits-of-stability test, not to {protocol.name}"})
            return None
        los = los or {}
        unknown = [k for k in los if k != "height_cm"]
        if unknown:
            raise ValidationError({"los": f"unknown field {str(unknown[0])[:40]!r}; allowed: height_cm"})
        previous = None
        if protocol.los is not None and protocol.los.targets == "previous":
            previous = previous_limits_deg(self.store, patient["id"], protocol.name, actor=actor)
        try:
            return los_settings_for(protocol, record_height_cm=patient.get("height_cm"),
                                    entered_height_cm=los.get("height_cm"), previous=previous)
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field: message}) from None

    def _do_open_run(self, patient_id: int, protocol_name: str, conditions, actor: Actor, walk: dict | None = None,
                     training: dict | None = None, los: dict | None = None,
                     programme_session_id: int | None = None, again: str = OPEN_AGAIN) -> None:
        from station.protocols.walk import WalkSettings

        try:
            walk_settings = WalkSettings.from_dict(walk)
        except ValueError as exc:
            raise ValidationError({"walk": str(exc)}) from None
        run = self._run
        if run is not None and not run.runner.finished:
            raise Conflict(f"a test ({run.protocol.title}) is open for patient {run.patient_identifier}; "
                           "end it before starting another")
        if self._opening is not None:
            raise Conflict("another test is being opened (its visit is still being saved); wait until it is open")
        protocol = self._select(protocol_name, conditions)
        refusal = self._no_room_refusal("the test was not opened", again)
        if refusal is not None:
            raise refusal
        if run is not None:
            self._do_close_run("finished")
        if protocol.walk is not None:
            try:
                walk_settings.check_setting(protocol.walk.setting, protocol.title)
            except ValueError as exc:
                raise ValidationError({"walk": str(exc)}) from None
        # Held before it is read, until the run closes or its protocol finishes: an erasure either
        # came first (NotFound below) or is refused (station.store.open_tests); one after the
        # protocol finished is checked by a repeat (_do_repeat_trial).
        opened: dict = {}  # its runner, once made: a finished protocol holds the patient no more
        release = self.store.patients.open_tests.hold(
            patient_id, protocol.title, still_open=lambda: "runner" not in opened or not opened["runner"].finished,
            on_change=lambda: self._commands.put((self._do_patient_changed, (patient_id,), None)))
        try:
            patient = self.store.patients.get(patient_id)  # NotFound -> 404
            schedule = self._training_schedule(protocol, patient, training)
            los_settings = self._los_settings(protocol, patient, los, actor)
            # the visit is written in the committer thread (Conflict there if archived): a slow card's commit
            # must not hold the loop (the sampling, a trial being saved); the command ends once it is written
            write = _Withdrawable()  # a shutdown before the committer thread comes to it: no visit

            def write_visit() -> dict:
                if not write.begin():
                    raise ServiceUnavailable("the station is shutting down, so the test was not opened")
                return self.store.sessions.create(patient_id, {"label": protocol.title}, actor=actor)

            job = self.store.trials.off_loop(write_visit)
        except BaseException:
            release()
            raise

        def opened_run() -> None:
            try:
                session = job.outcome()
            except StorageSlow as exc:
                release()
                raise StorageSlow(storage_slow_message(exc.held_s, "the test was not opened", again)) from None
            except BaseException:
                release()
                raise
            self._open(session, patient, protocol, actor, walk_settings, schedule, los_settings, programme_session_id,
                       opened, release)

        if job.done.wait(HANDOVER_WAIT_S):
            return opened_run()
        self._opening = _Pending(job, opened_run, release, write, title=protocol.title)  # the pages told so once it has waited a while
        return self._opening

    def _open(self, session: dict, patient: dict, protocol: Protocol, actor: Actor, walk_settings, schedule,
              los_settings, programme_session_id: int | None, opened: dict, release: Callable[[], None]) -> None:
        """The run of a test whose visit ``session`` is written: its runner begins (``run_opened``)."""
        patient_id = patient["id"]
        age_y = None
        if patient.get("birth_year"):
            age_y = float(time.gmtime(self.wall_clock()).tm_year - int(patient["birth_year"]))
        sink = _TrackedStoreSink(StoreSink(self.store.trials, session["id"], self.calibration, actor,
                                           training=self.store.training, patient_id=patient_id,
                                           programmes=self.store.programmes, programme_session_id=programme_session_id),
                                 saving=self._saving, session_id=session["id"])
        sink.run_follow_ups = self._follow_ups_off_loop
        runner = ProtocolRunner(protocol, self.source, bus=self.bus, sink=sink, patient_age_y=age_y,
                                patient_conditions=tuple(patient.get("conditions") or ()), read_wait_s=self.read_wait_s, gates=self.gates, walk_settings=walk_settings,
                                mounting=self.mounting, training_schedule=schedule, los=los_settings)
        opened["runner"] = runner
        self._run = _Run(runner, sink, patient_id, patient["identifier"], session["id"], protocol, age_y, actor,
                         walk_settings=walk_settings, release=release, opened_at=session.get("started_at") or "")
        runner.begin()
        self._refresh_status(force=True)
        self.bus.publish("run_opened", run=self._status["run"])

    def _select(self, name: str, conditions) -> Protocol:
        if not isinstance(name, str) or not name:
            raise ValidationError({"protocol": "is required (a protocol name)"})
        protocols, _problem = self.protocols()
        if name not in protocols:
            raise ValidationError({"protocol": f"no protocol {name[:60]!r}; allowed: {', '.join(sorted(protocols))}"})
        protocol = protocols[name]
        if conditions is None:
            return protocol
        ids = [c.id for c in protocol.conditions]
        if not isinstance(conditions, list) or not conditions or not all(isinstance(c, str) for c in conditions):
            raise ValidationError({"conditions": f"give a non-empty list of condition ids of {name}: {', '.join(ids)}"})
        unknown = [c for c in conditions if c not in ids]
        if unknown:
            raise ValidationError({"conditions": f"{name} has no condition {unknown[0][:40]!r}; allowed: {', '.join(ids)}"})
        chosen = tuple(c for c in protocol.conditions if c.id in conditions)  # protocol order
        romberg = protocol.romberg
        if romberg is not None and not all(cid in conditions for cid in romberg):
            romberg = None  # the quotient needs both of its conditions
        return dataclasses.replace(protocol, conditions=chosen, romberg=romberg)

    def _do_start_trial(self) -> None:
        run = self._require_run()
        if self._state() != TrialState.INSTRUCTIONS:
            raise Conflict("no trial is waiting to start" + (" (the test is finished)" if run.runner.finished else ""))
        refusal = self._start_refusal()
        if refusal is not None:
            raise refusal
        run.runner.request_start()

    def _do_stop_trial(self) -> None:
        run = self._require_run()
        if self._state() not in ACTIVE_STATES:
            raise Conflict("no trial is running")
        run.runner.request_stop()

    def _do_end_hold(self) -> None:
        run = self._require_run()
        if run.protocol.outcome != "time_held":
            raise Conflict(f"{run.protocol.title} is not a timed hold; use stop to stop the trial")
        if self._state() != TrialState.RECORDING:
            raise Conflict("no hold is being timed")
        run.runner.request_end_hold()

    def _do_repeat_trial(self) -> None:
        run = self._require_run()
        if not run.runner.records:
            raise Conflict("no trial has finished yet; there is nothing to repeat")
        if self._state() not in (TrialState.INSTRUCTIONS, None):
            raise Conflict("a trial is running; stop it first")
        if run.runner.finished and not self._patient_kept(run.patient_id):  # erased once the test finished
            raise Conflict("this patient's record was erased after the test finished, so nothing more can be "
                           "recorded for them; end the test")
        run.runner.request_repeat()
        if run.runner.finished:  # a finished run is not stepped any more: carry it out now
            run.runner.step(0.0)

    def _do_patient_changed(self, patient_id: int) -> None:
        """The open test's patient record changed (:meth:`OpenTests.changed`): the run shows the
        identifier the record has now, and ``patient_updated`` tells the pages following it."""
        run = self._run
        if run is None or run.patient_id != patient_id:
            return  # that run closed meanwhile
        try:
            identifier = self.store.patients.get(patient_id)["identifier"]
        except NotFound:
            return
        if identifier != run.patient_identifier:
            run.patient_identifier = identifier
            self.bus.publish("patient_updated", patient_id=patient_id, patient_identifier=identifier)

    def _patient_kept(self, patient_id: int) -> bool:
        try:
            self.store.patients.get(patient_id)
        except NotFound:
            return False
        return True

    def _do_skip_trial(self) -> None:
        run = self._require_run()
        if self._state() != TrialState.INSTRUCTIONS:
            raise Conflict("no trial is waiting to start")
        run.runner.request_skip()

    def _do_score_unable(self, actor: Actor) -> None:
        run = self._require_run()
        offer = run.runner.score_unable_offer()
        if offer is None:
            raise Conflict("scoring unable is offered for a single-leg side waiting to start once one of its trials "
                           "was measured unable (the foot never lifted); press Start to try this side first")
        self.store.audit.record(actor, "trial.scored_unable", patient_id=run.patient_id,
                                object=f"session:{run.session_id}", detail={"condition": offer["condition"],
                                                                            "trials": offer["trials"]})
        run.runner.request_score_unable(actor.username)

    def _do_press(self) -> None:
        run = self._run
        if run is None or run.runner.finished:
            return
        if self._state() == TrialState.INSTRUCTIONS:  # the press would start the trial
            refusal = self._start_refusal()
            if refusal is not None:
                self.bus.publish("fault", message=str(refusal))
                return
        run.runner.press()

    def _do_close_run(self, reason: str = "ended by the clinician", shutdown: bool = False) -> None:
        run = self._run
        if run is None:
            return
        runner = run.runner
        if self._state() in ACTIVE_STATES:
            runner.request_stop(shutdown)  # a shutdown's trial says so, not "stopped by the operator"
            runner.step(0.0)  # carries out the stop: the trial is stored, invalid, with its frames
            self._announce_stored(run)
        self._close(run, reason)

    def _close(self, run: _Run, reason: str) -> None:
        run.closed = True
        run.release()
        summary = run.runner.summary or summarise(run.protocol, [r.result for r in run.runner.records], age_y=run.age_y,
                                                  patient_conditions=run.runner.patient_conditions)
        self._run = None
        self._refresh_status(force=True)
        self.bus.publish("run_closed", session_id=run.session_id, patient_id=run.patient_id, reason=reason,
                         summary=summary)

    def _fail_run(self, run: _Run, message: str | None) -> None:
        """Close a run that failed; ``message`` None: an unexpected error, told with what of the
        test the store holds (after the trial cut short is closed)."""
        run.sink.abort_open(message or "the test stopped because of an internal error")
        if message is None:
            message = self._internal_error_words(run)
        self.bus.publish("fault", message=message)
        self._close(run, message)

    def _internal_error_words(self, run: _Run) -> str:
        """What the clinician is told when a test stopped on an unexpected error: no exception's
        name, and only the trials the store really holds."""
        stopped = "The test stopped because of an internal error"
        try:
            kept = len(self.store.sessions.get(run.session_id)["trials"])
        except NotFound:
            return (f"{stopped}, and its visit is no longer in the store (the patient's record may have been erased): "
                    "nothing of this test was kept. See the station log.")
        except StoreError:
            return f"{stopped}; the station could not check which of its trials are stored. See the station log."
        if kept == 0:
            return f"{stopped} before any of its trials was stored. See the station log."
        trials = "1 trial" if kept == 1 else f"{kept} trials"
        return f"{stopped}; the {trials} of this test recorded so far {'is' if kept == 1 else 'are'} kept. " \
               "See the station log."

    def _announce_stored(self, run: _Run) -> None:
        records = run.runner.records
        while run.stored < len(records):
            record = records[run.stored]
            run.stored += 1
            if record.stored.get("saving"):  # its trial_stored comes once it is (_save_pending)
                saving = next((s for s in self._saving if s.stored is record.stored), None)
                words = SAVING_WORDS if saving is None else FOLLOW_UPS_SAVING_WORDS if saving.follow_ups \
                    else SLOW_SAVING_WORDS if saving.writer.storing else SAVING_WORDS
                self.bus.publish("trial_saving", message=words)
                continue
            self.bus.publish("trial_stored", **_stored_event(run.session_id, record.result, record.stored))

    # -- status --------------------------------------------------------------------------------
    def _refresh_status(self, force: bool = False) -> None:
        seq = self.bus.last_seq
        if not force and seq == self._status_seq:
            return
        self._status_seq = seq
        self._status = {
            "epoch": self.epoch,
            "last_seq": seq,
            "panel": {"present": self.panel is not None, "reason": self.panel_reason},
            "run": self._run_status(),
        }

    def _run_status(self) -> dict | None:
        run = self._run
        if run is None:
            return None
        runner = run.runner
        protocol = run.protocol
        status = runner.status()
        plan = runner.machine.plan if runner.machine is not None else None
        condition = plan.condition if plan is not None else (runner.due[0].condition if runner.due else None)
        return {
            "patient_id": run.patient_id,
            "patient_identifier": run.patient_identifier,
            "session_id": run.session_id,
            "protocol": protocol.name,
            "title": protocol.title,
            "outcome": protocol.outcome,
            "conditions": [{"id": c.id, "label": c.label} for c in protocol.conditions],
            "started_by": run.actor.username,
            "opened_at": run.opened_at,
            "age_y": run.age_y,
            "finished": status["finished"],
            "state": status["state"],
            "trial": status["trial"],
            "instructions": _trial_instructions(protocol, condition) if condition is not None else "",
            "operator_notes": protocol.operator_notes,
            "stance": condition.describe(protocol.walk) if condition is not None else "",
            "duration_s": condition.duration_s if condition is not None else None,
            "countdown_s": protocol.countdown_s,
            "rest_s": protocol.rest_s,
            "condition_trials": protocol.trials_per_condition,  # as trial_ready says it: "trial 2 of 3"
            "score": protocol.score,
            "due": status["due"],
            "done": status["done"],
            "score_unable": status["score_unable"],
            "trial_ids": [r.stored.get("trial_id") for r in runner.records],
            "summary": runner.summary,
            "walk": protocol.walk.to_dict() if protocol.walk is not None else None,
            "walk_settings": run.walk_settings.to_dict() if run.walk_settings is not None else None,
            "training": _training_status(runner),
            "los": runner.los.to_dict() if runner.los is not None else None,
            "gates": self.gates.state(runner.machine.start_ns or None) if self.gates is not None and runner.machine
            is not None else (self.gates.state() if self.gates is not None else None),
        }


SAVING_WORDS = ("Saving the trial: another program (an administrator's command?) is using the station's database. "
                "The station keeps the trial and saves it as soon as the database is free; the test goes on meanwhile. "
                "Do not switch the station off until it says saved.")
"""What the live page says while a trial's end waits for another program's write lock."""
SLOW_SAVING_WORDS = ("Saving the trial: the station's storage (its SD card) is slow to write just now. The station keeps "
                     "the trial and saves it as soon as the card has written it; the test goes on meanwhile. Do not "
                     "switch the station off until it says saved.")
"""What the live page says while a trial's end is still being written by a slow storage (the store's committer
thread: :data:`station.store.trials.HANDOVER_WAIT_S`)."""
FOLLOW_UPS_SAVING_WORDS = ("The trial is saved. What goes with it (the game's training session, or the programme "
                           "session it counts for) waits: the station's storage (its SD card) is slow to write just "
                           "now. The station saves it as soon as the card is free; the test goes on meanwhile. Do not "
                           "switch the station off until it says saved.")
"""What the live page says while the writes that follow a stored trial wait for a slow storage
(:meth:`TrialService._save_follow_ups`)."""
def opening_words(title: str) -> str:
    """What the live pages say while a test's visit is still being written (:data:`OPENING_SAID_AFTER_S` after
    the open command, the loop having waited :data:`station.store.trials.HANDOVER_WAIT_S` for the store's
    committer thread), naming the test by its ``title`` (a page that watches did not choose it).

    >>> opening_words("Romberg test").split(": ")[0]
    'Opening the test “Romberg test”'
    """
    return (f"Opening the test “{title}”: the station's storage (its SD card) is slow to write just now, so the new "
            "visit is still being saved. Please wait: the test opens by itself as soon as the card has written it "
            "(Start then becomes available); there is no need to press Open test again.")


def still_opening_words(waited_s: float, title: str) -> str:
    """What the open command answers when the test ``title`` is still being opened after ``waited_s`` (its visit's
    write still with a slow or hung card); the pages keep :func:`opening_words` and are told once it opens or fails.

    >>> still_opening_words(40.0, "Romberg test").split(". ")[0]
    "the test “Romberg test” is still being opened: the station's storage (its SD card) has not written its new visit in 40 s"
    """
    return (f"the test “{title}” is still being opened: the station's storage (its SD card) has not written its new "
            f"visit in {waited_s:.0f} s. It opens by itself as soon as the card has; if it has not within a few "
            f"minutes, {STORAGE_WHAT_TO_DO}")


OPENING_SAID_AFTER_S = 1.0
"""How long a test's visit may take to be written before the pages are told it is still being written, s (a
CPU busy for a moment delays a working card's commit by a fraction of a second: not said)."""
LOOP_LOCK_WAIT_S = HANDOVER_WAIT_S
"""How long the service loop's writes (an audit line, what follows a trial when written inline) wait for the
database's write lock, s: held longer (a slow SD card still writing a commit of the trial recorder or of a
page), what follows a trial is put off to :data:`FOLLOW_UP_RETRY_S` later, never lost. A test's visit, a
game's training session and a programme session's dose are written in the store's committer thread, the loop
waiting :data:`~station.store.trials.HANDOVER_WAIT_S` for them (opening a test then ends once its visit is
written, the page told :func:`opening_words` meanwhile)."""
FOLLOW_UP_RETRY_S = 0.5
"""How often the writes that follow a stored trial, put off by a slow storage, are tried again, s."""


def _sentence(exc: BaseException) -> str:
    """An error's words as a sentence: capitalised, with a full stop."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _stored_event(session_id: int, result, stored: dict) -> dict:
    """The ``trial_stored`` event's data for a trial's result and its record in the store."""
    plan = result.plan
    return {"trial_id": stored.get("trial_id"), "session_id": session_id, "condition": plan.condition.id,
            "label": plan.condition.label, "trial": plan.trial, "attempt": plan.attempt, "valid": result.valid,
            "completed": result.completed}


def _training_status(runner) -> dict | None:
    """A training game's schedule and, once played, its result (for a tablet that (re)connects)."""
    from station.analysis.biofeedback import SCORE_DEFINITIONS

    schedule = getattr(runner, "training_schedule", None)
    if schedule is None:
        return None
    machine = runner.machine
    played = next((r.result.training for r in reversed(runner.records) if r.result.training), None)
    return {"schedule": schedule.to_dict(), "title": schedule.title,
            "score_definition": SCORE_DEFINITIONS[schedule.game],
            "state": machine.game.state() if machine is not None and hasattr(machine, "game") else None,
            "result": played["result"] if played else None,
            "stored": next((r.stored.get("training") for r in reversed(runner.records) if r.stored.get("training")), None)}
