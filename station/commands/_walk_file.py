"""A station walk trial's file judged again as its trial judged it, for ``balance-station gait``.

A walk trial measures its gait in the parts between the lower-back sensor's gaps over 0.1 s
(:mod:`station.protocols.walk_parts`) and gives none, with why, when too little of the walk was
measured; a recording read for gait in general refuses such a gap ("record again or cut the file at
the gap": :mod:`station.store.imu_recording`). So ``gait`` on the file ``trial --out`` wrote for a walk
(its sidecar: the station's version, a built-in walk protocol's condition and the walk's result) runs
the trial's own judging again on the file's frames and the sidecar's gate crossings, the
stall the trial ended in and the data it lost for good (:meth:`station.protocols.walk.WalkMachine.judged_from_recording`): the same gait, the same parts, the
same words about the gaps. Any other recording keeps the general reader's rule.
"""

from __future__ import annotations

import numpy as np

FILE_COLUMNS = ("time_s", "t_ns", "seq", "ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s")
"""The columns of a trial CSV the judging reads (``seq`` when the file has it)."""


def walk_plan(metadata: dict):
    """The :class:`station.protocols.machine.TrialPlan` of a station walk trial's file from its sidecar
    (``trial --out``: ``station_version``, ``protocol.name`` of a built-in protocol with a walk, ``condition.id``,
    ``trial``, ``attempt``, ``rate_hz`` and the walk's result), or None for any other file.

    >>> walk_plan({"rate_hz": 100.0}) is None
    True
    >>> plan = walk_plan({"station_version": "0.1.0", "rate_hz": 100.0, "protocol": {"name": "ten-metre-walk",
    ...                   "source": "builtin:ten-metre-walk.toml"}, "condition": {"id": "fast"}, "trial": 2,
    ...                   "attempt": 1, "result": {"walk": {"setting": "overground"}}})
    >>> plan.protocol.name, plan.condition.id, plan.trial
    ('ten-metre-walk', 'fast', 2)
    """
    from station.commands.analyze import walk_result
    from station.protocols.loader import builtin_protocols
    from station.protocols.machine import TrialPlan

    protocol, condition = metadata.get("protocol"), metadata.get("condition")
    if (metadata.get("station_version") is None or walk_result(metadata) is None or not isinstance(protocol, dict)
            or not isinstance(condition, dict) or not str(protocol.get("source", "")).startswith("builtin:")
            or not isinstance(metadata.get("rate_hz"), (int, float))):
        return None
    found = builtin_protocols().get(protocol.get("name"))
    if found is None or found.walk is None or condition.get("id") not in {c.id for c in found.conditions}:
        return None
    trial, attempt = metadata.get("trial"), metadata.get("attempt")
    return TrialPlan(found, found.condition(condition["id"]), trial if isinstance(trial, int) else 1,
                     attempt if isinstance(attempt, int) else 1)


def judge_walk_file(path: str, metadata: dict, plan, *, sensor_height_m: float | None,
                    mounting: tuple[str, str]):
    """The walk trial of ``path`` (its sidecar ``metadata``, its ``plan`` from :func:`walk_plan`) judged again:
    a :class:`station.protocols.machine.TrialResult`. Its frames are the file's rows (``seq`` from the file, else
    its ``time_s`` in sample periods; ``t_ns`` the station clock's), the go is where the first row's ``time_s``
    places it, the gates' crossings are the sidecar's (``at_s`` after the go), and so is the stall the trial ended
    in and the data lost for good that ended it (``silent_end_s``, ``data_lost``; a file written before the result
    kept them: none). ``sensor_height_m`` (m) and ``mounting`` (up, toes axes) as
    ``gait`` resolved them. Raises :class:`station.store.trialfile.TrialFileError` for a file it cannot read."""
    from station.acquire.frame import FRAME_DTYPE
    from station.commands.analyze import walk_result
    from station.hw.gates import GateCrossing
    from station.protocols.walk import WalkMachine, WalkSettings
    from station.store.imu_recording import read_columns
    from station.store.trialfile import TrialFileError

    rate_hz = float(metadata["rate_hz"])
    columns = read_columns(path, FILE_COLUMNS)
    time_s = columns["time_s"]
    frames = np.zeros(time_s.shape[0], dtype=FRAME_DTYPE)
    frames["seq"] = columns["seq"] if "seq" in columns else np.rint(time_s * rate_hz)
    frames["t_ns"] = columns["t_ns"] if "t_ns" in columns else np.rint(time_s * 1e9)
    for name in FILE_COLUMNS[3:]:
        frames[name] = columns.get(name, np.nan)
    go_ns = int(frames["t_ns"][0]) - round(float(time_s[0]) * 1e9) if len(frames) else 0
    walk = walk_result(metadata)
    try:
        crossings = [GateCrossing(gate=int(c["gate"]), position_m=float(c["position_m"]),
                                  t_ns=go_ns + round(float(c["at_s"]) * 1e9), timing=str(c.get("timing", "driver")),
                                  breaks=int(c.get("breaks", 1)), passes=int(c.get("passes", 1)))
                     for c in walk.get("crossings") or [] if isinstance(c, dict)]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # an edited or damaged sidecar
        raise TrialFileError(path, f"its sidecar's light-gate crossings cannot be read ({_what(exc)}): the trial's "
                                   "walk cannot be judged again; use the sidecar the station wrote, or move the sidecar "
                                   "away to analyse the recording alone") from None
    silent_s = walk.get("silent_end_s")
    lost = walk.get("data_lost")
    lost = lost if isinstance(lost, dict) and isinstance(lost.get("words"), str) and isinstance(lost.get("check"), str) \
        else None
    belt = walk.get("belt_speed_m_s")
    settings = WalkSettings(belt_speed_m_s=float(belt) if isinstance(belt, (int, float)) else None,
                            sensor_height_m=sensor_height_m)
    return WalkMachine.judged_from_recording(
        plan, frames, rate_hz=rate_hz, go_ns=go_ns, crossings=crossings, settings=settings, mounting=mounting,
        silent_end_s=float(silent_s) if isinstance(silent_s, (int, float)) and silent_s > 0 else 0.0, data_lost=lost)


def _what(exc: Exception) -> str:
    """What was wrong with a sidecar's crossing, in a few words (no Python type names).

    >>> _what(KeyError("position_m")), _what(ValueError("invalid literal for int() with base 10: 'x'"))
    ('no position_m', "a value that is not a number: 'x'")
    """
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]}"
    text = str(exc)
    return f"a value that is not a number: {text.rsplit(': ', 1)[-1]}" if ": " in text else "a value that is not a number"
