"""systemd's service notification protocol, and a watchdog fed only while frames keep arriving.

The protocol (``sd_notify(3)``): a service started with ``Type=notify`` finds a socket path in
``$NOTIFY_SOCKET`` and sends it datagrams of newline-separated ``KEY=VALUE`` assignments:
``READY=1`` when it is up, ``STATUS=...`` (one line of text shown by ``systemctl status``),
``WATCHDOG=1`` at least once per ``$WATCHDOG_USEC`` microseconds when the unit sets
``WatchdogSec=``, and ``STOPPING=1`` on the way out. A path starting with ``@`` is in Linux's
abstract socket namespace (the ``@`` stands for a leading NUL byte). This module speaks it over a
plain ``AF_UNIX``/``SOCK_DGRAM`` socket: no libsystemd, no C extension.

:class:`ServiceWatchdog` ties the protocol to the acquisition. Given a callable returning the
acquisition's health document (the one ``GET /healthz`` serves: ``frames``, ``state``,
``reason``, ``rate_hz``), it

- sends ``READY=1`` once ``frames > 0`` (the acquisition delivers frames), never before;
- sends ``WATCHDOG=1`` only when ``frames`` advanced since the previous check, so a hung
  acquisition stops feeding the watchdog and systemd restarts the service;
- reports the health state in ``STATUS=``. A missing or failed sensor does not stop the
  acquisition loop (it keeps producing frames, flagged), so it shows as ``degraded``/``down`` in the
  status while the watchdog stays fed: the service is not restarted in a loop for a sensor that a
  restart cannot bring back.

Checks run every half of the watchdog period (``$WATCHDOG_USEC / 2``, as ``sd_watchdog_enabled(3)``
recommends), or every :data:`DEFAULT_INTERVAL_S` when there is no watchdog.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from station.acquire.source import STARTING_CODE
from station.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
"""How often :class:`ServiceWatchdog` checks the acquisition when systemd set no watchdog, s."""


def notify_address(env: Mapping[str, str] | None = None) -> bytes | None:
    """The socket address from ``$NOTIFY_SOCKET`` as bytes (``@name`` -> ``\\0name``), or ``None``
    when the variable is unset or empty (not started by systemd with ``Type=notify``)."""
    env = os.environ if env is None else env
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return None
    if path.startswith("@"):
        return b"\0" + os.fsencode(path[1:])
    return os.fsencode(path)


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification (e.g. ``"READY=1\\nSTATUS=running"``) to systemd.

    Returns ``True`` if it was sent, ``False`` when there is no ``$NOTIFY_SOCKET`` or sending
    failed (logged: a notification is never worth crashing the station for).
    """
    address = notify_address(env)
    if address is None:
        return False
    return Notifier(address).send(message)


class Notifier:
    """Sends notifications to one socket address (see :func:`notify_address`).

    ``address=None`` makes a notifier that sends nothing (the process was not started by
    systemd); :meth:`from_environment` picks it from ``$NOTIFY_SOCKET``.
    """

    def __init__(self, address: bytes | None) -> None:
        self.address = address

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> "Notifier":
        return cls(notify_address(env))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        if self.address is None:
            return False
        data = message.encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(data)
        except OSError as exc:
            log.warning("systemd notification %r not sent to %r: %s", message, self.address, exc)
            return False
        return True


def watchdog_usec(env: Mapping[str, str] | None = None, pid: int | None = None) -> int | None:
    """The watchdog period systemd expects, in µs, or ``None`` when there is none for this process.

    Follows ``sd_watchdog_enabled(3)``: ``$WATCHDOG_USEC`` must be a positive integer, and when
    ``$WATCHDOG_PID`` is set it must be this process's id (``pid``, default ``os.getpid()``): the
    watchdog is the main process's duty, not its children's.
    """
    env = os.environ if env is None else env
    text = env.get("WATCHDOG_USEC", "")
    try:
        usec = int(text)
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec


_watchdog_usec_from_environment = watchdog_usec  # the name is shadowed by a parameter below


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(health: Mapping[str, Any]) -> str:
    """One line for ``systemctl status`` from a health document: its reason in the engineer's words
    (``detail``, where the clinician's ``reason`` has them), else its ``reason``."""
    state = str(health.get("state", "unknown"))
    frames = health.get("frames", 0)
    parts = [state]
    rate = health.get("rate_hz")
    measured = rate.get("measured") if isinstance(rate, Mapping) else None
    if isinstance(measured, (int, float)):
        parts.append(f"{measured:.1f} Hz")
    parts.append(f"{frames} frames")
    lost = health.get("frames_lost")
    if lost:
        parts.append(f"{lost} lost")
    text = ", ".join(parts)
    reason = health.get("detail") or health.get("reason")
    if reason:
        text += f": {reason}"
    return _one_line(text)


WAITING_FOR_FIRST_FRAME = "starting: waiting for the acquisition's first frame"
"""The status line of a normal start: the acquisition started (or has not reported yet) and has sent no frame."""


def starting_text(health: Mapping[str, Any]) -> str:
    """One line for ``systemctl status`` before the acquisition's first frame (``READY=1`` not sent yet), said once.
    While its health document says it is starting (state ``starting``, or ``down`` before its first report: reason
    code :data:`~station.acquire.source.STARTING_CODE`), :data:`WAITING_FOR_FIRST_FRAME`; otherwise the document's
    own state and words (:func:`status_text`): it says what is wrong with the start (no frame over a second after
    the acquisition started, the acquisition not answering).

    >>> starting_text({"state": "starting", "frames": 0, "detail": "acquisition starting: no frame yet"})
    "starting: waiting for the acquisition's first frame"
    >>> starting_text({"state": "nodata", "frames": 0,
    ...                "detail": "no data: the acquisition started 2 s ago and has sent no frame"})
    'nodata, 0 frames: no data: the acquisition started 2 s ago and has sent no frame'
    """
    if health.get("state") == "starting" or health.get("reason_code") == STARTING_CODE:
        return WAITING_FOR_FIRST_FRAME
    return status_text(health)


_FROM_ENVIRONMENT: Any = object()


class ServiceWatchdog:
    """Signals readiness, feeds systemd's watchdog while frames arrive, and keeps STATUS current.

    Parameters
    ----------
    health : callable
        Returns the acquisition's health document (a mapping with ``frames``, an int counting the
        frames delivered so far, and ``state``; ``reason`` and ``rate_hz.measured`` are shown in
        the status when present). E.g. ``RingFrameSource.health``. If it raises, the check counts
        as "no progress" and the error is shown in the status.
    frames_counter : callable, optional
        Returns the frame counter, used instead of ``health()["frames"]`` (e.g. one that returns
        -1 when the acquisition process has died). Zero or negative means "no frames".
    notifier : Notifier, optional
        Where notifications go; default ``Notifier.from_environment()`` (``$NOTIFY_SOCKET``;
        sends nothing outside systemd).
    clock : Clock, optional
        Time base for the check schedule of :meth:`run` (real clock by default).
    watchdog_usec : int or None, optional
        The watchdog period in µs; default from ``$WATCHDOG_USEC``/``$WATCHDOG_PID``
        (:func:`watchdog_usec`). ``None``: no watchdog, ``WATCHDOG=1`` is never sent.
    interval_s : float, optional
        Check period in s; default half the watchdog period, or :data:`DEFAULT_INTERVAL_S`.
    """

    def __init__(
        self,
        health: Callable[[], Mapping[str, Any]],
        *,
        frames_counter: Callable[[], int] | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        watchdog_usec: int | None = _FROM_ENVIRONMENT,
        interval_s: float | None = None,
    ) -> None:
        self._health = health
        self._frames_counter = frames_counter
        self.notifier = Notifier.from_environment() if notifier is None else notifier
        self.clock = clock or MonotonicClock()
        if watchdog_usec is _FROM_ENVIRONMENT:
            watchdog_usec = _watchdog_usec_from_environment()
        self.watchdog_usec = watchdog_usec
        if interval_s is None:
            interval_s = watchdog_usec / 2e6 if watchdog_usec else DEFAULT_INTERVAL_S
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.interval_s = float(interval_s)
        self.ready = False
        self.last_frames: int | None = None
        self.last_progress_ns: int | None = None
        self.last_status: str | None = None
        self.watchdog_sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[str]:
        """Look at the acquisition once and send what is due; returns the messages sent."""
        now_ns = self.clock.monotonic_ns()
        try:
            health = self._health()
            frames = int(self._frames_counter() if self._frames_counter is not None else health.get("frames", 0))
        except Exception as exc:  # the health source is the thing being watched: report, don't die
            health, frames = None, None
            error = f"{type(exc).__name__}: {exc}"
        # Any change counts: a counter that went back means the acquisition restarted and counts
        # anew, which is also frames arriving. Only a counter that stays put is a stall.
        progressed = frames is not None and frames > 0 and frames != self.last_frames
        if progressed:
            self.last_frames = frames
            self.last_progress_ns = now_ns

        if health is None:
            status = _one_line(f"acquisition health unavailable: {error}")
        elif not self.ready and not progressed:
            status = starting_text(health)
        elif not progressed:
            stalled_s = (now_ns - (self.last_progress_ns or now_ns)) / 1e9
            status = _one_line(f"acquisition stalled: no new frame for {stalled_s:.0f} s; " + status_text(health))
        else:
            status = status_text(health)

        fields: list[str] = []
        if progressed and not self.ready:
            fields.append("READY=1")
            self.ready = True
        elif progressed and self.watchdog_usec:
            fields.append("WATCHDOG=1")
        if status != self.last_status:
            fields.append(f"STATUS={status}")
        if not fields:
            return []
        message = "\n".join(fields)
        sent = self.notifier.send(message)
        if sent or not self.notifier.enabled:
            self.last_status = status
        if "WATCHDOG=1" in fields and sent:
            self.watchdog_sent += 1
        return fields

    def run(self, stop: Callable[[], bool] | threading.Event) -> None:
        """Check every :attr:`interval_s` until ``stop`` (a callable returning True, or a
        :class:`threading.Event` that is set), on an absolute schedule of :attr:`clock` (a slow
        check shortens the next wait instead of delaying every later one)."""
        should_stop = stop.is_set if isinstance(stop, threading.Event) else stop
        period_ns = int(self.interval_s * 1e9)
        deadline_ns = self.clock.monotonic_ns()
        while not should_stop():
            self.check()
            deadline_ns += period_ns
            now_ns = self.clock.monotonic_ns()
            if deadline_ns < now_ns:  # fell behind (suspend, overload): restart the schedule
                deadline_ns = now_ns
            self.clock.sleep_until_ns(deadline_ns)

    def start(self) -> threading.Thread:
        """Run the checks in a daemon thread; stop with :meth:`stop` (waits use real time, so use
        this with the real clock and :meth:`run` under a simulated one)."""
        if self._thread is not None:
            raise RuntimeError("the service watchdog is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run_until_stopped, name="systemd-watchdog", daemon=True
        )
        self._thread.start()
        return self._thread

    def _run_until_stopped(self) -> None:
        period_ns = int(self.interval_s * 1e9)
        deadline_ns = self.clock.monotonic_ns()
        while True:
            self.check()
            deadline_ns = max(deadline_ns + period_ns, self.clock.monotonic_ns())
            if self._stop.wait((deadline_ns - self.clock.monotonic_ns()) / 1e9):
                return

    def stop(self, status: str = "stopping") -> None:
        """Stop the thread (if started) and tell systemd the service is stopping."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=max(1.0, 2 * self.interval_s))
        self.notifier.send(f"STOPPING=1\nSTATUS={_one_line(status)}")
