"""Where the protocol runner stores trials: trial files, the clinic database, or both.

Each sink implements :class:`station.protocols.runner.TrialSink`: ``start_trial`` when a trial
starts recording returns an output that takes the frames as they come (``append``, durable about
once a second) and the result at the end (``finish``). Invalid trials are stored too, labelled
with their reasons: nothing measured is thrown away.

* :class:`FileSink`: one trial CSV (DESIGN.md §4, ``time_s`` from the start signal: ``(seq −
  start_seq) / rate_hz``, the trial's first sample slot given by ``start_trial``) and its JSON
  sidecar per trial, written with :class:`station.store.trialfile.TrialCsvWriter`; the sidecar
  gets the protocol, the condition, the calibration (and ``status: "partial"`` while the trial records,
  :data:`UNFINISHED_REASON`) and, at the end, ``status: "complete"``, the trial's result and
  ``frames_lost`` (the key of an exported trial's sidecar: the result's count, every slot of the
  trial without a frame; an interrupted trial's, its slots from its start slot to its last frame
  without a frame, as the database counts an aborted trial's). A trial
  that recorded the IMU also gets how the station read it (``mounting_up``, ``mounting_toes``,
  ``sensor_height_m``: the keys :mod:`station.store.imu_recording` reads), so that ``balance-station
  gait`` re-analyses the file as the station did.
* :class:`StoreSink`: the clinic database (:class:`station.store.trials.Trials`), one trial row
  per trial in a session. The result of the protocol (held time, what ended the hold, the quality
  issues) goes with the metrics document under ``"trial"``.
* :class:`TeeSink`: several sinks at once.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from station import __version__
from station.acquire.frame import IMU_FIELDS, periods_after_go, trial_columns


def trial_outcome(result) -> dict:
    """The protocol's view of a trial, for storage next to its metrics."""
    d = result.to_dict()
    return {k: d[k] for k in ("protocol", "condition", "label", "trial", "attempt", "valid", "end_reason", "completed",
                              "duration_s", "time_held_s", "liftoff_s", "hold_end", "issues", "warnings",
                              "body_weight_n", "analysis_start_s", "analysis_end_s", "metrics_note", "walk", "training")}


def _reason(result) -> str | None:
    if result.valid:
        return None
    return " ".join(issue.message for issue in result.issues) or "invalid trial"


UNFINISHED_REASON = ("the trial file was not finished: its recording was cut short (the program or the station "
                     "stopped, or the disk refused the rest); what was written is kept, not the whole trial")
"""The sidecar's ``status_reason`` while its trial records (``status: "partial"``), so that a file whose end
never came (a crash, a power cut, a full disk) is not read as a whole trial; :meth:`_FileOutput.finish` writes
``complete``, :meth:`_FileOutput.interrupt` its own reason."""


class _FileOutput:
    def __init__(self, sink: "FileSink", path: Path, metadata: dict, t0_ns: int, rate_hz: float = 100.0,
                 start_seq: int | None = None):
        self.rate_hz = float(rate_hz)
        self._seq0 = start_seq
        self._start_seq = start_seq
        self._last_seq: int | None = None
        self.frames_lost = 0
        """Slots without a frame so far, from the start slot (the first frame's, without one) to the last frame."""
        self._time_zero_s = 0.0
        self.sink = sink
        self.path = path
        self.metadata = metadata
        self.t0_ns = t0_ns
        self.writer = None

    def append(self, frames: np.ndarray) -> None:
        from station.store.trialfile import TrialCsvWriter

        if self.writer is None:
            include_imu = bool(np.isfinite(np.stack([frames[f] for f in IMU_FIELDS])).any())
            if include_imu:
                self.metadata = {**self.metadata, **self.sink.imu}
            names = list(trial_columns(frames[:1], self.rate_hz, include_imu=include_imu))
            self.writer = TrialCsvWriter(self.path, names, {**self.metadata, "status": "partial",
                                                            "status_reason": UNFINISHED_REASON})
            self._include_imu = include_imu
        if self._seq0 is None and len(frames):
            # time_s on the sample grid (DESIGN.md §3), zero at the start signal. Without the trial's
            # start slot (a walk, timed on the clock from its go) the first frame is placed a whole
            # number of periods after the go by its wake time.
            self._seq0 = int(frames["seq"][0])
            self._time_zero_s = periods_after_go(int(frames["t_ns"][0]), self.t0_ns, self.rate_hz) / self.rate_hz
        if len(frames):
            seq = frames["seq"].astype(np.int64)
            before = self._last_seq if self._last_seq is not None else (
                self._start_seq - 1 if self._start_seq is not None and int(seq[0]) >= self._start_seq else int(seq[0]) - 1)
            self.frames_lost += int((np.diff(seq, prepend=before) - 1).sum())
            self._last_seq = int(seq[-1])
        self.writer.append(trial_columns(frames, self.rate_hz, seq0=self._seq0, time_zero_s=self._time_zero_s,
                                         include_imu=self._include_imu))

    def finish(self, result) -> dict:
        metadata = {**self.metadata, "samples": result.samples, "frames_lost": int(result.lost_frames),
                    "status": "complete", "result": trial_outcome(result), "metrics": result.metrics}
        if self.writer is None:  # nothing was recorded: an empty trial is still a trial
            from station.store.trialfile import TrialCsvWriter

            self.writer = TrialCsvWriter(self.path, ["time_s", "ap_cm", "ml_cm", "fz_n", "fl_n", "fr_n", "bl_n", "br_n", "flags"],
                                         metadata)
        self.writer.close(metadata)
        return {"csv": str(self.path), "json": str(self.path.with_suffix(".json"))}

    def interrupt(self, reason: str) -> dict:
        """The program stops while this trial records: the CSV keeps the frames written so far and its
        sidecar says the trial is incomplete (``status: "partial"``, ``status_reason``: ``reason``, as
        an exported trial's sidecar says it; no ``result``) and its ``frames_lost``. ``{"csv", "json", "samples"}``, or ``{}``
        when no frame was written (no file was made)."""
        if self.writer is None:
            return {}
        samples = self.writer.rows_written
        self.writer.close({**self.metadata, "samples": samples, "frames_lost": self.frames_lost, "status": "partial",
                           "status_reason": reason})
        return {"csv": str(self.path), "json": str(self.path.with_suffix(".json")), "samples": samples}


class FileSink:
    """Trial CSV + JSON sidecar per trial in ``directory`` (which must exist).

    ``metadata``: extra sidecar contents for every trial (calibration, plate geometry, source).
    ``imu``: sidecar contents for a trial whose frames carry IMU readings, how the station read them:
    ``mounting_up`` and ``mounting_toes`` (sensor axes, ``"+z"``, ...) and, for walks,
    ``sensor_height_m`` (the sensor's height above the floor, m, for step length and speed).
    """

    def __init__(self, directory: str | Path, metadata: dict | None = None, imu: dict | None = None) -> None:
        self.directory = Path(directory)
        self.metadata = dict(metadata or {})
        self.imu = {k: v for k, v in (imu or {}).items() if v is not None}
        self.count = 0

    def start_trial(self, plan, rate_hz: float, body_weight_n: float, t0_ns: int = 0,
                    start_seq: int | None = None) -> _FileOutput:
        self.count += 1
        name = f"{self.count:02d}-{plan.protocol.name}-{plan.condition.id}-t{plan.trial}-a{plan.attempt}.csv"
        metadata = {
            **self.metadata,
            "rate_hz": rate_hz,
            "station_version": __version__,
            "protocol": {"name": plan.protocol.name, "title": plan.protocol.title, "version": plan.protocol.version,
                         "source": plan.protocol.source},
            "condition": plan.condition.to_dict(),
            "trial": plan.trial,
            "attempt": plan.attempt,
            "body_weight_n": None if not math.isfinite(body_weight_n) else round(float(body_weight_n), 2),
            "time_zero": "the start signal (long beep)",
        }
        return _FileOutput(self, self.directory / name, metadata, t0_ns, rate_hz, start_seq)


class _StoreOutput:
    def __init__(self, writer, rate_hz: float, sink: "StoreSink | None" = None):
        self.writer = writer
        self.rate_hz = rate_hz
        self.sink = sink

    def append(self, frames: np.ndarray) -> None:
        self.writer.append(frames)

    def finish(self, result, *, wait: bool = True) -> dict:
        """Store the trial's result; ``{"trial_id", ...}`` (:meth:`saved`). With ``wait=False`` (the trial
        service's loop) a write lock another program holds is not waited for: the answer is then
        ``{"trial_id", "saving": True}`` and the writer stores the trial later (``retry_end``), after
        which :meth:`saved` does the rest."""
        doc = dict(result.metrics) if result.metrics is not None else {
            "fs_hz": float(self.rate_hz), "samples": int(result.samples), "profile": "station",
            "version": __version__, "metrics": {}, "note": result.metrics_note or "no sway measures",
        }
        doc["trial"] = trial_outcome(result)
        stored = self.writer.finish(doc, result.valid, _reason(result), wait=wait,
                                    frames_lost=int(result.lost_frames))  # one count: the result's
        if stored is None:
            return {"trial_id": self.writer.trial_id, "saving": True}
        return self.saved(result, stored)

    def interrupt(self, reason: str) -> dict:
        """The program stops while this trial records: the trial keeps its frames and is ended as
        aborted with ``reason``; ``{"trial_id"}``, with ``"store_error"`` when the database refused
        (the station's next start then recovers the trial as partial)."""
        from station.store.db import StoreError

        try:
            self.writer.abort(reason)
        except StoreError as exc:
            return {"trial_id": self.writer.trial_id, "store_error": str(exc)}
        return {"trial_id": self.writer.trial_id}

    run_follow_ups = None
    """Set by the trial service: ``run_follow_ups(output, result, trial_id, out)`` does :meth:`follow_ups` off
    its loop (in the store's committer thread) and answers as :meth:`saved`, ``"saving": True`` while that is
    not done."""

    def saved(self, result, stored=None, done: dict | None = None) -> dict:
        """What follows the trial's storing (a game's training session, a programme session's dose):
        ``{"trial_id", "training", "programme_session"}``. When the database's write lock is not had
        in time (a slow SD card still writing: :class:`~station.store.db.DatabaseBusy`) what is left
        waits, ``"saving": True`` in the answer: called again with ``done`` (that answer, updated in
        place), it does only what is left (the trial service's loop retries so; nothing of the game is
        lost meanwhile)."""
        trial_id = stored["id"] if isinstance(stored, dict) and "id" in stored else self.writer.trial_id
        out = {"trial_id": trial_id} if done is None else done
        out.pop("saving", None)
        if self.run_follow_ups is not None:
            return self.run_follow_ups(self, result, trial_id, out)
        out.update(self.follow_ups(result, trial_id, out))
        return out

    def follow_ups(self, result, trial_id: int, done: dict) -> dict:
        """Store what follows the trial and is not in ``done`` yet; the new keys of :meth:`saved`'s answer,
        with ``"saving": True`` when the write lock was not had in time (what is left is tried again)."""
        from station.store.db import DatabaseBusy

        out: dict = {}
        try:
            if "training" not in done and result.training is not None and self.sink is not None \
                    and self.sink.training is not None:
                out["training"] = self.sink.record_training(result, trial_id)
            if "programme_session" not in done and self.sink is not None \
                    and self.sink.programme_session_id is not None:
                out["programme_session"] = self.sink.credit_programme_session(trial_id)
        except DatabaseBusy:
            out["saving"] = True
        return out


class StoreSink:
    """Trials into the clinic database, in session ``session_id``.

    Parameters
    ----------
    trials : station.store.trials.Trials
    session_id : int
    calibration : dict
        The plate calibration in use (``PlateCalibration.to_dict()``).
    actor : station.store.audit.Actor, optional
        Who records (default: the station).
    training : station.store.training.TrainingSessions, optional
        Where a training game's session goes (with ``patient_id``): game, level, schedule,
        per-target results, score, minutes; it counts toward the patient's programme.
    programmes : station.store.programmes.Programmes, optional
        With ``programme_session_id``: the run was started from that programme session (the
        programme page's Start); a trial stored is its measured dose while it has none
        (:meth:`~station.store.programmes.Programmes.credit_run_trial`).
    """

    def __init__(self, trials, session_id: int, calibration: dict, actor=None, *, training=None,
                 patient_id: int | None = None, programmes=None, programme_session_id: int | None = None) -> None:
        self.trials = trials
        self.session_id = session_id
        self.calibration = calibration
        self.actor = actor
        self.training = training
        self.patient_id = patient_id
        self.programmes = programmes
        self.programme_session_id = programme_session_id if programmes is not None else None

    def credit_programme_session(self, trial_id: int) -> dict:
        """Count the stored trial ``trial_id`` as the dose of the programme session the run was
        started from; returns ``credit_run_trial``'s answer, or ``{"error"}`` (the trial is
        stored either way, and offered on the programme page to link by hand)."""
        from station.store.audit import Actor
        from station.store.db import DatabaseBusy, StoreError

        try:
            return self.programmes.credit_run_trial(self.programme_session_id, self.trials.get(trial_id),
                                                    actor=self.actor or Actor.system())
        except DatabaseBusy:
            raise  # not had the write lock in time (a slow card): tried again, nothing refused
        except StoreError as exc:
            return {"error": f"the trial was stored but not counted as the programme session's dose: {exc}; "
                             "take its dose on the programme page"}

    def record_training(self, result, trial_id: int) -> dict:
        """Store the game of ``result`` as a training session; returns ``{"id", "dose"}`` or
        ``{"error"}`` (the trial is stored either way: nothing measured is lost)."""
        from station.store.audit import Actor
        from station.store.db import DatabaseBusy, StoreError

        game = result.training
        schedule = game["schedule"]
        try:
            row = self.training.record(
                self.patient_id, game=schedule["game"], level=schedule["level"], settings=schedule,
                result=game["result"], minutes=game["minutes"], completed=result.completed,
                session_id=self.session_id, trial_id=trial_id, actor=self.actor or Actor.system())
        except DatabaseBusy:
            raise  # not had the write lock in time (a slow card): tried again, nothing of the game lost
        except StoreError as exc:
            return {"error": f"the game's training session was not stored: {exc}"}
        return {"id": row["id"], "dose": row["dose"], "score": row["score"]}

    def start_trial(self, plan, rate_hz: float, body_weight_n: float, t0_ns: int = 0,
                    start_seq: int | None = None) -> _StoreOutput:
        # a trial without a start slot (a walk) is timed from its go on the clock, t0_ns: the store places its
        # first frame after the go as its trial CSV does (Trials.start_trial's go_ns)
        writer = self.trials.start_trial(self.session_id, plan.protocol.name, plan.condition.id, self.calibration,
                                         rate_hz, actor=self.actor, start_seq=start_seq,
                                         go_ns=int(t0_ns) if start_seq is None else None)
        return _StoreOutput(writer, rate_hz, self)


class _TeeOutput:
    def __init__(self, outputs):
        self.outputs = outputs

    def append(self, frames: np.ndarray) -> None:
        for output in self.outputs:
            output.append(frames)

    def finish(self, result) -> dict:
        stored: dict = {}
        for output in self.outputs:
            stored.update(output.finish(result))
        return stored

    def interrupt(self, reason: str) -> dict:
        kept: dict = {}
        for output in self.outputs:
            kept.update(output.interrupt(reason))
        return kept


class TeeSink:
    """Every trial to each of ``sinks``."""

    def __init__(self, *sinks) -> None:
        self.sinks = sinks

    def start_trial(self, plan, rate_hz: float, body_weight_n: float, t0_ns: int = 0,
                    start_seq: int | None = None) -> _TeeOutput:
        return _TeeOutput([s.start_trial(plan, rate_hz, body_weight_n, t0_ns, start_seq) for s in self.sinks])
