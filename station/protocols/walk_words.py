"""Walk results in a clinician's words: which measures a walk test shows first (the treadmill's
differ from the gates'), what each one means and which way is better, and whether lost IMU
samples touched the gait measures (a gap too long to bridge: the time not measured, the gait from the
parts between, :mod:`station.protocols.walk_parts`).

Used by :mod:`station.protocols.walk` (the trial's warning and ``walk.imu_gaps``) and
:mod:`station.protocols.report` (the visit results' key measures and trial lines). Nothing here
measures: the numbers come from the trial's stored result.
"""

from __future__ import annotations

import math
from statistics import median, median_low

from station.analysis.gait import MIN_BOUT_STEPS, MIN_STEP_S, PAUSE_MIN_S
from station.analysis.imu_gaps import MAX_BRIDGE_S
from station.protocols.walk_parts import STALL_WORDS, not_measured_words

WALK_NOT_COMPLETED_CODES = frozenset({"person_stopped", "gate_not_reached"})
"""Quality issues of a walk test that mean the patient did not get to the stop gate (stopped, or never
started): a result to read, not a recording fault."""

WALK_NOT_COMPLETED = "walk not completed"
"""What every page says of such a walk (the live page's list and walk panel, the visit results, the PDF),
rather than "invalid", which a clinician reads as a fault of the recording."""


def walk_not_completed(valid: bool, issues, judged_by: str | None = None) -> bool:
    """Whether a walk trial is one the patient did not finish: not valid, its every issue a
    :data:`WALK_NOT_COMPLETED_CODES` one (a gate fault or lost data is a recording's fault), not judged by a
    clinician. ``issues``: the result's issues (dicts with a ``code``, or objects with one).

    >>> walk_not_completed(False, [{"code": "person_stopped", "message": "..."}])
    True
    >>> walk_not_completed(False, [{"code": "person_stopped"}, {"code": "data_lost"}])
    False
    >>> walk_not_completed(True, [])
    False
    """
    codes = {str(i.get("code", "") if isinstance(i, dict) else getattr(i, "code", "")) for i in issues or []}
    return bool(not valid and not judged_by and codes and codes <= WALK_NOT_COMPLETED_CODES)


NO_GAIT_CODES = frozenset({"imu_missing", "imu_misaligned", "too_short"})
"""Quality issues of a walk that say why it has no gait measures (:data:`station.protocols.walk.IMU_MISSING`,
``IMU_MISALIGNED``, ``TOO_SHORT``: a treadmill session's lower-back sensor lost, or its readings unusable, or a
recording too short): their words, the trial's invalid reason, say what ``walk.imu`` says."""


def no_gait_in_reason(valid: bool, issues, judged_by: str | None, walk: dict | None) -> bool:
    """Whether a walk trial's invalid reason (its issues' words, the stored ``validity_reason``) already says why it
    has no gait measures (``walk["imu"]``): not valid by the station's own check (a clinician's judgement gives
    their reason instead), with a :data:`NO_GAIT_CODES` issue. The visit results then say the loss once, in the
    reason, not again in a "no gait measures" line under it (s31 P17). ``issues``: the stored result's issues,
    dicts with a ``code`` (as its one caller, the visit results' trial lines, has them).

    >>> lost = [{"code": "imu_missing", "message": "The lower-back sensor sent no readings from 1.0 s after the go ..."}]
    >>> no_gait_in_reason(False, lost, None, {"imu": "the lower-back sensor's readings stopped 1.0 s after the go"})
    True

    The reason another (the station's data lost: the gait note says more), or a clinician's:

    >>> no_gait_in_reason(False, [{"code": "data_lost"}], None, {"imu": "1.1 s recorded, under the 2 s ..."})
    False
    >>> no_gait_in_reason(False, lost, "ana", {"imu": "the lower-back sensor's readings stopped 1.0 s after the go"})
    False
    """
    codes = {str(i.get("code", "")) for i in issues or []}
    return bool(not valid and not judged_by and (walk or {}).get("imu") and codes & NO_GAIT_CODES)


WALK_KEY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("walk_time_s", "Time", "s"),
    ("walk_speed_m_s", "Speed", "m/s"),
    ("walking_min", "Minutes walking", "min"),
    ("steps", "Steps", ""),
    ("cadence_steps_min", "Cadence", "steps/min"),
    ("stride_time_cv_pct", "Stride-time variability (CV)", "%"),
    ("step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%"),
    ("step_symmetry", "Step symmetry (1: both steps alike)", ""),
)
"""(metric key, label, unit) a walk test shows first: the gates' time and speed, the gait of
DESIGN.md §8; a key a test does not measure is left out."""

TREADMILL_KEY_MEASURES: tuple[tuple[str, str, str], ...] = (
    ("walking_min", "Time walking", "min"),
    ("pauses", f"Pauses (no step for {PAUSE_MIN_S:g} s or more)", ""),
    ("steps", "Steps", ""),
    ("cadence_steps_min", "Cadence", "steps/min"),
    ("stride_time_cv_pct", "Stride-time variability (CV)", "%"),
    ("step_time_cv_pct", "Step-time variability (CV, both legs mixed)", "%"),
    ("step_symmetry", "Step symmetry (1: both steps alike)", ""),
    ("walk_speed_m_s", "Belt speed (entered)", "m/s"),
)
"""The same for a treadmill session: the time walked against the planned minutes and the pauses
come first; the belt speed is the clinician's entry, said so; ``walk_time_s`` (the same time in
seconds) is left out."""


TIMED_WALK_SPANS: dict[str, str] = {
    "cadence_steps_min": "over the whole walk recorded, not only the timed distance",
    "steps": "every step recorded, not only those of the timed distance",
}
"""What a walk over the gates' gait measures span, in the words every page and report uses
(``GET /api/measures``' ``walk_spans`` for the pages): the gait keys come from the whole walk
recorded (from the go to just past the last gate, the first and last steps included), the speed
from the timed distance between the gates, so a clinician does not read them as the timed stretch's."""


PERRY_1995_CLASSES: tuple[tuple[float, str], ...] = (
    (0.4, "household walking"),
    (0.8, "limited community walking"),
    (math.inf, "community walking"),
)
"""Perry et al. (1995) walking classes after stroke by comfortable speed: (upper limit in m/s, class);
the thresholds as the ten-metre walk's protocol carries them (its cut-offs, cited there)."""

PERRY_1995_WORDS = ("household walking below 0.4 m/s, limited community walking 0.4 to 0.8 m/s, "
                    "community walking 0.8 m/s and above")


def walking_class(speed_m_s) -> str | None:
    """The Perry et al. (1995) walking class of a comfortable walking speed (m/s) after stroke.

    >>> walking_class(0.62), walking_class(0.8), walking_class(0.25), walking_class(None)
    ('limited community walking', 'community walking', 'household walking', None)
    """
    v = _number(speed_m_s)
    if v is None:
        return None
    return next(name for limit, name in PERRY_1995_CLASSES if v < limit)


def perry_class_reference(cutoffs: list[dict]) -> dict | None:
    """The Perry et al. (1995) cut-offs of a walk speed (``cutoffs``: its ``kind: cutoff``
    references, from ``session_results``) as one reference naming the class, or None when they are
    not Perry's two thresholds. ``verdict`` is ``"class"``, ``walking_class`` the class's name, ``words`` the
    class, the source and its classes in one sentence (the PDF, the command line), ``classes`` the classes alone
    (a page that shows the class as a tag and the source beside it says each once).

    >>> ref = perry_class_reference([{"source": "Perry J et al. 1995", "below": 0.4, "value": 0.62},
    ...                              {"source": "Perry J et al. 1995", "below": 0.8, "value": 0.62}])
    >>> ref["walking_class"], ref["classes"]
    ('limited community walking', 'After stroke: household walking below 0.4 m/s, limited community walking 0.4 to 0.8 m/s, community walking 0.8 m/s and above.')
    """
    perry = [c for c in cutoffs if str(c.get("source") or "").startswith("Perry J")]
    if sorted(c.get("below") or 0 for c in perry) != [PERRY_1995_CLASSES[0][0], PERRY_1995_CLASSES[1][0]]:
        return None
    first = perry[0]
    name = walking_class(first.get("value"))
    words = (f"{name[0].upper() + name[1:]}" if name else "No speed to classify") + \
        f" (Perry et al. 1995, after stroke: {PERRY_1995_WORDS})."
    return {"kind": "cutoff", "metric": first.get("metric"), "condition": first.get("condition"),
            "value": first.get("value"), "below": None, "above": None, "flagged": None,
            "thresholds_m_s": [limit for limit, _ in PERRY_1995_CLASSES[:-1]], "source": first.get("source"),
            "doi": first.get("doi"), "verdict": "class" if name else None, "walking_class": name, "words": words,
            "classes": f"After stroke: {PERRY_1995_WORDS}."}


_BETTER = {"walk_speed_m_s": "higher", "walking_min": "higher", "walk_time_s": "lower", "pauses": "lower",
           "pause_s": "lower", "stride_time_cv_pct": "lower"}
"""Which way a walk measure's change is a benefit (the history charts); absent: neither by itself."""
_TREADMILL_BETTER = {"walk_speed_m_s": None, "walk_time_s": "higher"}
"""On the treadmill, where it differs: the belt speed is entered, the time is the time walking (the dose)."""


def better_direction(metric: str, setting: str | None) -> str | None:
    """``"higher"``, ``"lower"`` or None: which way a change of a walk measure is a benefit.

    The treadmill's belt speed is the clinician's entry (None), and its ``walk_time_s`` is the
    session's time walking, its dose (higher, as ``walking_min``; overground it is the time over the
    timed distance: lower); cadence, steps and symmetry have no better direction by themselves;
    step-time variability mixes in the asymmetry of the two legs (None), stride-time variability is
    the steadiness measure (lower).

    >>> better_direction("walk_speed_m_s", "overground"), better_direction("walk_time_s", "overground")
    ('higher', 'lower')
    >>> better_direction("walk_time_s", "treadmill"), better_direction("walking_min", "treadmill")
    ('higher', 'higher')
    >>> better_direction("walk_speed_m_s", "treadmill") is None, better_direction("cadence_steps_min", None) is None
    (True, True)
    """
    if setting == "treadmill" and metric in _TREADMILL_BETTER:
        return _TREADMILL_BETTER[metric]
    return _BETTER.get(metric)


ENTERED_SETTINGS = ("walk_speed_m_s", "belt_speed_m_s", "planned_min")
"""A treadmill session's values the clinician enters (the belt speed, stored as ``walk_speed_m_s`` and
``belt_speed_m_s``, and the planned minutes), not measured."""


def entered_setting(metric: str, setting: str | None) -> bool:
    """True for a walk value the clinician enters rather than the station measures: the treadmill's
    belt speed (stored as ``walk_speed_m_s`` and ``belt_speed_m_s``) and the planned minutes. Its change
    between sessions is a change of the session's dose, said as such: never read against a minimal
    detectable change, which is for measured changes (DESIGN.md §9); nor is it averaged over a visit's
    sessions into a value nobody set (:func:`station.protocols.results.summarise` keeps each session's).

    >>> entered_setting("walk_speed_m_s", "treadmill"), entered_setting("walk_speed_m_s", "overground")
    (True, False)
    >>> entered_setting("planned_min", "treadmill"), entered_setting("cadence_steps_min", "treadmill")
    (True, False)
    """
    return setting == "treadmill" and metric in ENTERED_SETTINGS


def better_words(metric: str, setting: str | None) -> str:
    """The direction of benefit of a walk measure's chart, in words.

    >>> better_words("walk_speed_m_s", "overground"), better_words("walk_time_s", "overground")
    ('higher is better', 'lower is better')
    >>> better_words("walk_speed_m_s", "treadmill")
    'set on the treadmill by the clinician, not measured'

    A count is fewer or more, and a session's time walking is read at the belt speed it was walked at:

    >>> better_words("pauses", "treadmill"), better_words("walking_min", "treadmill")
    ('fewer is better', 'more is better at the same belt speed')
    """
    direction = better_direction(metric, setting)
    if metric in COUNTS and direction is not None:
        return f"{'fewer' if direction == 'lower' else 'more'} is better"
    if metric == "walking_min" and setting == "treadmill":
        return "more is better at the same belt speed"
    if metric == "steps" and setting == "treadmill":
        return "no better direction by itself: more steps is more walking (the dose); compare sessions of the same planned minutes"
    if direction is not None:
        return f"{direction} is better"
    if metric == "walk_speed_m_s":
        return "set on the treadmill by the clinician, not measured"
    if metric == "step_time_cv_pct":
        return "no better direction by itself: it mixes the two legs' difference into the variability"
    return "no better direction by itself: compare with earlier sessions"


def count_better_words(metric: str, setting: str | None) -> str:
    """Which way a walk count's change since an earlier visit is better, in the few words of its since-line
    ("-1 pause since the visit of ... (2 pauses); fewer is better."): :func:`better_words` where a direction
    is a benefit; for the treadmill's steps, why none is (the history's chart says more, with how to compare).

    >>> count_better_words("pauses", "treadmill"), count_better_words("steps", "treadmill")
    ('fewer is better', 'more steps is more walking, not better by itself')
    >>> count_better_words("steps", "overground")
    'no better direction by itself'
    """
    if better_direction(metric, setting) is not None:
        return better_words(metric, setting)
    if metric == "steps" and setting == "treadmill":
        return "more steps is more walking, not better by itself"
    return "no better direction by itself"


def key_measures_for(setting: str | None) -> tuple[tuple[str, str, str], ...]:
    """The key measures of a walk test done ``overground`` or on the ``treadmill`` (None: either)."""
    return TREADMILL_KEY_MEASURES if setting == "treadmill" else WALK_KEY_MEASURES


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def walked_words(walking_min: float) -> str:
    """Time walked in words: whole seconds under a minute (not ``0.3 min``), minutes and seconds above (not
    ``12.4 min``, decimal minutes a clinician has to work out), whole minutes alone; as the pages say it
    (``Station.walkedTime``, web/static/js/app.js), the same rounding (to the nearest second).

    >>> walked_words(0.333), walked_words(12.4), walked_words(1.0), walked_words(29.999), walked_words(0.9999)
    ('20 s', '12 min 24 s', '1 min', '30 min', '1 min')
    >>> walked_words(0.0)  # nothing walked, in the plan's unit
    '0 min'
    """
    s = math.floor(walking_min * 60.0 + 0.5)
    if s < 60:
        return f"{s} s" if s else "0 min"
    return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"


def plans_words(plans: list[float], join) -> str:
    """Several sessions' planned minutes, each in the time walked's words (:func:`walked_words`), joined by ``join``;
    whole minutes say their unit once.

    >>> plans_words([20, 10], listed), plans_words([1.5, 1], listed), plans_words([1, 30], " vs ".join)
    ('20 and 10 min', '1 min 30 s and 1 min', '1 vs 30 min')
    """
    said = [walked_words(p) for p in plans]
    if all(w.endswith(" min") and " s" not in w for w in said):
        return join([w.removesuffix(" min") for w in said]) + " min"
    return join(said)


def listed(words: list[str]) -> str:
    """Words in a sentence's list: ``a``, ``a and b``, ``a, b and c`` (a visit's sessions' settings, each said).

    >>> listed(["20"]), listed(["20", "10"]), listed(["1.8", "2.0", "2.2"])
    ('20', '20 and 10', '1.8, 2.0 and 2.2')
    """
    return words[-1] if len(words) < 2 else ", ".join(words[:-1]) + " and " + words[-1]


COUNTS = ("steps", "pauses")
"""Walk measures that are counts: a visit's several trials each keep theirs (results.summarise ``counts``), said
as counted, never their mean rounded into a count nobody counted."""


def counts_words(each: list, setting: str | None) -> str:
    """A visit's counts of a measure, one a valid trial (a treadmill's trial is a session), as counted: each, in
    order, with how many; the one count of several trials that counted the same said "in each of" them (a bare "24"
    of 4 trials, beside rows read "mean of 4 trials", read as their total); one trial's count alone (``–`` for none).

    >>> counts_words([31, 34], "treadmill"), counts_words([13, 14, 13], "overground"), counts_words([2, 2], None)
    ('31 and 34 (2 sessions)', '13, 14 and 13 (3 trials)', '2 in each of 2 trials')
    >>> counts_words([24, 24, 24, 24], "overground"), counts_words([40, 40], "treadmill"), counts_words([13], None)
    ('24 in each of 4 trials', '40 in each of 2 sessions', '13')
    """
    counts = [f"{v:.0f}" for v in map(_number, each) if v is not None]
    noun = "sessions" if setting == "treadmill" else "trials"
    if len(set(counts)) <= 1:
        return "–" if not counts else counts[0] if len(counts) == 1 else f"{counts[0]} in each of {len(counts)} {noun}"
    return f"{listed(counts)} ({len(counts)} {noun})"


COUNT_NOUNS = {"steps": ("step", "steps"), "pauses": ("pause", "pauses")}
"""The noun each count is said with (one, several): "1 pause", "13 steps"."""


def count_noun(metric: str, n: float) -> str:
    """The noun of a count measure for ``n`` of it: ``1 step``, ``0 pauses``, ``13 steps``."""
    one, many = COUNT_NOUNS[metric]
    return one if n == 1 else many


def session_count(counts: list[int]) -> int:
    """The one count a history point charts of a session's trials' counts: always a count a trial made, their
    median when the trials are odd in number (13, 13 and 14 steps: 13), else the lower of the middle two (0 and 1
    pauses: 0, where the median, 0.5 pauses, is a count nobody counted; Python's ``statistics.median_low``).

    >>> session_count([13, 14, 13]), session_count([1, 0]), session_count([12, 15, 13, 14]), session_count([3])
    (13, 0, 13, 3)
    """
    return median_low(counts)


def session_counts_words(counts: list[int], metric: str) -> str:
    """A history point's counts (one a valid trial of the session, in order), as counted, with the one the chart
    draws when there are several (:func:`session_count`), said as what it is: their median when it is one of
    them, else the lower of the middle two; never their mean (13.33 steps) nor a half count (0.5 pauses).

    >>> session_counts_words([13, 13, 14], "steps"), session_counts_words([0, 1], "pauses")
    ('13, 13 and 14 steps (3 trials; median 13)', '0 and 1 pauses (2 trials; charted: 0, the lower of the two)')
    >>> session_counts_words([12, 15, 13, 14], "steps"), session_counts_words([12, 13, 13, 15], "steps")
    ('12, 15, 13 and 14 steps (4 trials; charted: 13, the lower of the middle two)', '12, 13, 13 and 15 steps (4 trials; median 13)')
    >>> session_counts_words([2], "pauses"), session_counts_words([1], "pauses"), session_counts_words([13, 13], "steps")
    ('2 pauses', '1 pause', '13 steps in each of 2 trials')
    """
    if len(counts) == 1:
        return f"{counts[0]} {count_noun(metric, counts[0])}"
    if len(set(counts)) == 1:
        return f"{counts[0]} {count_noun(metric, counts[0])} in each of {len(counts)} trials"
    charted = session_count(counts)
    lower = _lower_of_middle(counts)
    how = f"charted: {charted}, {lower}" if lower else f"median {charted}"
    return f"{listed([str(c) for c in counts])} {COUNT_NOUNS[metric][1]} ({len(counts)} trials; {how})"


def _lower_of_middle(counts: list[int]) -> str | None:
    """Which of several counts :func:`session_count` takes when it is not their median (an even number of counts
    whose middle two differ): ``the lower of the two`` or ``the lower of the middle two``; None when it is the
    median."""
    if session_count(counts) == median(counts):
        return None
    return f"the lower of the {'two' if len(counts) == 2 else 'middle two'}"


COUNT_NO_MDC = "Counts have no published minimal detectable change, so no change in a count is judged real."
"""What a walk count's change is read against (none published for steps or pauses, DESIGN.md §9)."""


def count_change(now: list[int], before: list[int], metric: str) -> dict:
    """A walk count's change since the previous visit (or session), as counted: each side's count is one a trial
    made (:func:`session_count`, as the history charts a session's trials: the median, the lower of the middle two
    for an even number), their difference whole with its noun (:func:`count_change_words`); ``previous_words`` the
    earlier count with its noun; ``compared`` says which counts were compared when a side had several that differ
    (None otherwise). Never a mean of counts; no MDC is published for a count (:data:`COUNT_NO_MDC`).

    >>> c = count_change([1], [2], "pauses")
    >>> c["now"], c["previous"], c["change"], c["change_words"], c["previous_words"], c["compared"]
    (1, 2, -1, '-1 pause', '2 pauses', None)
    >>> count_change([52, 54], [50], "steps")["compared"]
    'Counts compared: 52 (the lower of 52 and 54) against 50.'
    >>> count_change([13, 13, 14], [12, 15], "steps")["compared"]
    'Counts compared: 13 (the median of 13, 13 and 14) against 12 (the lower of 12 and 15).'
    """
    def side(counts: list[int]) -> str:
        if len(set(counts)) == 1:
            return str(counts[0])
        how = "the median of" if _lower_of_middle(counts) is None else "the lower of" if len(counts) == 2 \
            else "the lower of the middle two of"
        return f"{session_count(counts)} ({how} {listed([str(c) for c in counts])})"

    now_count, before_count = session_count(now), session_count(before)
    change = now_count - before_count
    several = len(set(now)) > 1 or len(set(before)) > 1
    return {"now": now_count, "previous": before_count, "change": change,
            "change_words": count_change_words(change, metric, several=False),
            "previous_words": f"{before_count} {count_noun(metric, before_count)}",
            "compared": f"Counts compared: {side(now)} against {side(before)}." if several else None}


def count_change_words(change: float | None, metric: str, several: bool) -> str:
    """The change of a count between two history points (each a count a trial made: :func:`session_count`), whole,
    signed, with its noun (``+2 steps``, ``-1 pause``); none is "no change", as every other change says it (it read
    "change 0 steps"); ``several``: some point stands for several trials' counts, said so (the points' words say
    which count each charts).

    >>> count_change_words(-1, "pauses", False), count_change_words(1.0, "steps", True), count_change_words(0, "pauses", False)
    ('-1 pause', '+1 step (between the counts charted for each session)', 'no change')
    """
    if change is None:
        return "–"
    sign = "+" if change > 0 else "-" if change < 0 else ""
    words = f"{sign}{abs(change):g} {count_noun(metric, abs(change))}" if change else "no change"
    return words + (" (between the counts charted for each session)" if several else "")


def measure_words(metric: str, values: dict, setting: str | None) -> str:
    """What a walk measure means and which way is better, in plain words (one or two sentences).

    ``values`` are the condition's (or trial's) measures: the treadmill's time walking is said
    against ``planned_min`` (by :func:`walked_words`, as the pages say it; the plan said, no bare
    percentage after it), the pauses with ``pause_s``.

    >>> measure_words("walking_min", {"walking_min": 9.3, "planned_min": 10}, "treadmill")
    'Walked 9 min 18 s of the 10 min planned; more is better.'
    >>> measure_words("walking_min", {"walking_min": 0.333, "planned_min": 30}, "treadmill")
    'Walked 20 s of the 30 min planned; more is better.'
    >>> measure_words("pauses", {"pauses": 2, "pause_s": 14.2}, "treadmill")
    'Stood still 2 times, 14 s in all; fewer is better.'

    >>> measure_words("pauses", {"pauses": [1, 2], "pause_s": 7.5}, "treadmill")
    'Stood still 1 and 2 times (2 sessions), 8 s a session on average; fewer is better.'
    >>> measure_words("pauses", {"pauses": [0, 1], "pause_s": 2.0}, "overground")
    'Stood still 0 and 1 times (2 trials), 2 s a trial on average; fewer is better.'

    Several that stood still as often: the time paused is still their mean, not one session's nor their sum.

    >>> measure_words("pauses", {"pauses": [2, 2], "pause_s": 30.0}, "treadmill")
    'Stood still 2 times in each of 2 sessions, 30 s a session on average; fewer is better.'
    >>> measure_words("pauses", {"pauses": [1, 1, 1], "pause_s": 4.0}, "treadmill")
    'Stood still 1 time in each of 3 sessions, 4 s a session on average; fewer is better.'
    >>> measure_words("pauses", {"pauses": [0, 0], "pause_s": 0.0}, "treadmill")
    'Walked without stopping in any of the 2 sessions (no stop of 3 s or more).'
    >>> measure_words("pauses", {"pauses": [2], "pause_s": 30.0}, "treadmill")
    'Stood still 2 times, 30 s in all; fewer is better.'

    A visit's sessions each planned their own minutes (``planned_min`` a list, one a session): each is
    said, not their mean, which nobody planned.

    >>> measure_words("walking_min", {"walking_min": 14.7, "planned_min": [20, 10]}, "treadmill")
    'Walked 14 min 42 s a session on average, of the 20 and 10 min planned (2 sessions: 98 % of the minutes planned); more is better.'
    >>> measure_words("walking_min", {"walking_min": 1.2, "planned_min": [1.5, 1]}, "treadmill")
    'Walked 1 min 12 s a session on average, of the 1 min 30 s and 1 min planned (2 sessions: 96 % of the minutes planned); more is better.'
    """
    v = _number(values.get(metric))
    if metric == "walking_min":
        planned = values.get("planned_min")
        each = [p for p in map(_number, planned) if p] if isinstance(planned, (list, tuple)) else []
        planned = each[0] if each and len(set(each)) == 1 else None if each else _number(planned)
        if v is None:
            return "No walking was measured."
        walked = walked_words(v)  # 'Walked 9 min 18 s of the 10 min', 'Walked 20 s of the 30 min'
        if planned:
            return f"Walked {walked} of the {walked_words(planned)} planned; more is better."
        if len(each) > 1:
            return (f"Walked {walked} a session on average, of the {plans_words(each, listed)} planned "
                    f"({len(each)} sessions: {100 * v * len(each) / sum(each):.0f} % of the minutes planned); more is better.")
        return "Minutes actually walking (pauses left out); more is better."
    if metric == "pauses":
        each = values.get("pauses")  # a visit's counts, one a session: each said, not their mean
        each = [c for c in map(_number, each) if c is not None] if isinstance(each, (list, tuple)) else None
        if each and len(each) > 1:  # the time paused of several: the mean of each one's (results.summarise)
            total = _number(values.get("pause_s"))
            per = "session" if setting == "treadmill" else "trial"  # as counts_words counts them
            if not any(each):
                return f"Walked without stopping in any of the {len(each)} {per}s (no stop of {PAUSE_MIN_S:g} s or more)."
            words = counts_words(each, setting)
            words = words.replace(" (", " times (", 1) if len(set(each)) > 1 else \
                words.replace(" in each", (" time" if each[0] == 1 else " times") + " in each", 1)
            return (f"Stood still {words}" + (f", {total:.0f} s a {per} on average" if total is not None else "")
                    + "; fewer is better.")
        v = each[0] if each else v
        if v is None:
            return "Not measured."
        if v == 0:
            return f"Walked without stopping (no stop of {PAUSE_MIN_S:g} s or more)."
        total = _number(values.get("pause_s"))
        times = "once" if v == 1 else f"{v:.0f} times"
        return f"Stood still {times}" + (f", {total:.0f} s in all" if total is not None else "") + "; fewer is better."
    if metric == "walk_time_s":
        return "Time between the gates (or from the go to the gate); shorter is faster."
    if metric == "walk_speed_m_s":
        if setting == "treadmill":
            return "Set on the treadmill by the clinician, not measured."
        return "Timed distance / time, from the light gates; higher is better."
    if metric == "steps":
        return "Counted by the lower-back sensor" + (" while walking." if setting == "treadmill" else
                                                     " over the time it measured (the whole trial unless a trial's "
                                                     "line says some was not measured).")
    if metric == "cadence_steps_min":
        if setting == "treadmill":
            return ("Steps per minute while walking (stops left out); no better direction by itself: compare with earlier "
                    "sessions at the same belt speed.")
        return (f"Steps per minute while walking, {TIMED_WALK_SPANS[metric]} (stops left out); no better direction by "
                "itself: compare with earlier sessions.")
    if metric == "step_time_cv_pct":
        return ("How much the time of one step differs from the next, left and right steps mixed: an uneven gait (one "
                "leg's steps longer, e.g. after a stroke) raises it even when each leg keeps its rhythm, so it is not "
                "steadiness by itself; read steadiness from the stride-time variability, the legs' difference from "
                "the step symmetry.")
    if metric == "stride_time_cv_pct":
        return ("How much the time of one stride (two steps, back to the same foot) differs from the next: the "
                "steadiness of the walk, not raised by a difference between the legs; lower = steadier.")
    if metric == "step_symmetry":
        return "1 = left and right steps alike; the further from 1, the more one leg's steps differ from the other's."
    return ""


def imu_gaps_line(summary: dict | None, walk: dict | None = None) -> str | None:
    """One plain line for a walk trial's short gaps that were filled (the summary of :func:`imu_gaps_summary` when
    nothing longer was missing: they do not touch the result), else None: the visit results' trial list (small grey
    type, the whole words on the trial's page) and the visit PDF say it alike (report._trial_line's
    ``imu_gaps_line``). ``walk``: the trial's walk result, to say who lost the readings, the sensor or the station
    (a busy station: not the sensor's fault).

    >>> imu_gaps_line({"bridged_samples": 12, "gaps": 3, "longest_gap_s": 0.05, "gait_valid": True})
    'Lower-back sensor (IMU): 3 short gaps (≤ 0.1 s; 12 readings) filled by interpolation; gait measures valid.'
    >>> imu_gaps_line({"bridged_samples": 2, "gaps": 1, "gait_valid": True})
    'Lower-back sensor (IMU): 1 short gap (≤ 0.1 s; 2 readings) filled by interpolation; gait measures valid.'
    >>> imu_gaps_line({"bridged_samples": 2, "gaps": 2, "gait_valid": True, "contacts_near_gaps": 1, "steps_left_out": 2})[60:]
    'filled by interpolation; 2 step times next to 1 heel strike in or beside them left out of the variability; gait measures valid.'

    Frames the station lost (it woke late), the sensor's readings complete; and both:

    >>> imu_gaps_line({"bridged_samples": 6, "gaps": 2, "gait_valid": True},
    ...               {"imu_bridged_frames": 6, "imu_bridged_sensor_frames": 0})
    'Station (busy, not the sensor): 2 short gaps (≤ 0.1 s; 6 frames) filled by interpolation; gait measures valid.'
    >>> imu_gaps_line({"bridged_samples": 6, "gaps": 2, "gait_valid": True},
    ...               {"imu_bridged_frames": 6, "imu_bridged_sensor_frames": 2})[36:]
    ' 2 short gaps (≤ 0.1 s; 6 readings, 4 of them frames a busy station lost) filled by interpolation; gait measures valid.'
    """
    if not summary or not summary.get("gait_valid") or summary.get("not_measured_s") or not summary.get("bridged_samples"):
        return None
    n, gaps = int(summary["bridged_samples"]), summary.get("gaps")
    count = "short gaps" if gaps is None else f"{int(gaps)} short gap{'' if gaps == 1 else 's'}"
    near, steps = summary.get("contacts_near_gaps"), summary.get("steps_left_out")
    left = (f"; {steps} step time{'' if steps == 1 else 's'} next to {near} heel strike{'' if near == 1 else 's'} in or "
            "beside them left out of the variability" if near else "")
    sensor = (walk or {}).get("imu_bridged_sensor_frames")  # None: a trial stored before the two were told apart
    station = 0 if sensor is None else max(0, n - int(sensor))
    if station and station == n:  # the station lost them all
        who, what = "Station (busy, not the sensor)", f"{n} frame{'' if n == 1 else 's'}"  # its readings are frames
    elif station:
        who = "Lower-back sensor (IMU) and station"
        what = f"{n} readings, {station} of them frame{'' if station == 1 else 's'} a busy station lost"
    else:
        who, what = "Lower-back sensor (IMU)", f"{n} reading{'' if n == 1 else 's'}"
    return f"{who}: {count} (≤ {MAX_BRIDGE_S:g} s; {what}) filled by interpolation{left}; gait measures valid."


def _times(n) -> str:
    return "" if n is None else (" once" if n == 1 else f" {int(n)} times")


def _short_gaps_cause(walk: dict, frames: int, gaps) -> str:
    """Who lost the readings of a walk's short, bridged gaps: the sensor (frames that came without its
    readings, ``imu_bridged_sensor_frames``), the station (frames it lost: it woke late, a busy Pi),
    or both; a trial stored before the two were told apart says neither."""
    sensor = walk.get("imu_bridged_sensor_frames")
    if sensor is None:
        return f"Readings of the lower-back sensor were missing{_times(gaps)}"
    sensor, sensor_gaps = int(sensor), int(walk.get("imu_bridged_sensor_gaps") or 0)
    station = frames - sensor
    if station <= 0:
        return f"The lower-back sensor's signal dropped out{_times(gaps)}"
    late = f"the station lost {station} frame{'' if station == 1 else 's'} (it woke late: a busy station, not the sensor)"
    if sensor <= 0:
        return late[0].upper() + late[1:] + (f" in {int(gaps)} short gap{'' if gaps == 1 else 's'}" if gaps else "")
    return f"The lower-back sensor's signal dropped out{_times(sensor_gaps)} ({sensor} readings) and {late}"


def imu_gaps_summary(walk: dict | None, samples: int | None = None, fs_hz: float | None = None) -> dict | None:
    """Whether lost lower-back IMU samples touched a walk trial's gait measures, in plain words.

    ``walk`` is a walk trial's result (``TrialResult.walk``): ``imu_bridged_frames``,
    ``imu_bridged_gaps``, ``imu_longest_gap_s`` (gaps up to
    :data:`station.analysis.imu_gaps.MAX_BRIDGE_S`, 0.1 s, filled by interpolation: shorter than any
    step, so the gait measures stay valid), ``imu_not_measured_s``, ``imu_parts``, ``imu_dropouts``
    and ``imu_stalls`` (a longer gap: the walk measured in the parts between,
    :mod:`station.protocols.walk_parts`, on the treadmill and overground alike) and ``imu`` (why
    there are no gait measures, or None). ``samples``: frames recorded, for the share. Returns None
    when nothing was missing, else ``{bridged_samples, gaps, longest_gap_s, missing_s, gait_valid,
    words}``, plus ``not_measured_s``, ``dropouts`` and ``stalls`` when a longer gap was not measured.

    >>> s = imu_gaps_summary({"imu_bridged_frames": 12, "imu_bridged_gaps": 3, "imu_longest_gap_s": 0.05,
    ...                       "imu_bridged_sensor_frames": 12, "imu_bridged_sensor_gaps": 3,
    ...                       "imu": None, "setting": "treadmill"}, samples=6000, fs_hz=100.0)
    >>> s["gait_valid"], s["missing_s"]
    (True, 0.12)
    >>> print(s["words"])
    The lower-back sensor's signal dropped out 3 times, for at most 50 ms (12 of 6000 readings, 0.2 %). Each gap was filled in from the readings either side; it is far shorter than a step (0.25 s at the quickest), so no step was missed: the gait measures are valid.

    No gait measures: why, the sensor named once (the note names it, or the lead words do):

    >>> print(imu_gaps_summary({"imu": "the lower-back sensor's readings missing for 5 of 30 s", "setting": "treadmill"})["words"])
    No gait measures: the lower-back sensor's readings missing for 5 of 30 s.
    >>> print(imu_gaps_summary({"imu": "1.5 s recorded, under the 2 s the gait analysis needs", "setting": "treadmill"})["words"])
    No gait measures from the lower-back sensor: 1.5 s recorded, under the 2 s the gait analysis needs.

    Frames the station lost (it woke late), the sensor's readings complete: not the sensor's fault:

    >>> print(imu_gaps_summary({"imu_bridged_frames": 6, "imu_bridged_gaps": 2, "imu_longest_gap_s": 0.05,
    ...                         "imu_bridged_sensor_frames": 0, "imu_bridged_sensor_gaps": 0, "imu": None,
    ...                         "setting": "overground"}, samples=917, fs_hz=100.0)["words"])
    The station lost 6 frames (it woke late: a busy station, not the sensor) in 2 short gaps, for at most 50 ms (6 of 917 readings, 0.7 %). Each gap was filled in from the readings either side; it is far shorter than a step (0.25 s at the quickest), so no step was missed: the gait measures are valid.

    An overground walk with a 1.5-s stall of the station: the gait from the parts either side, the
    time and speed from the gates (the same first words as a treadmill session's):

    >>> s = imu_gaps_summary({"imu": None, "setting": "overground", "walk_time_s": 5.1, "imu_not_measured_s": 1.49,
    ...                       "imu_stalls": 1, "imu_parts": [[0.0, 3.05], [4.54, 9.25]]}, samples=776, fs_hz=100.0)
    >>> s["gait_valid"], s["not_measured_s"], s["stalls"]
    (True, 1.49, 1)
    >>> print(s["words"])
    1.49 s not measured (1 station stall): the station measured nothing at all (its measuring program was held up) for longer than 0.1 s, which can hide steps, so that time is not counted. The gait measures come from the 2 parts measured, 7.8 of the 9.2 s from the go to the end (84 %): cadence, variability, symmetry and step length are those of the steps measured, none across a gap, and the steps count the measured time only. The time and speed come from the light gates and are valid.

    A treadmill session with a 3-s stall: the time measured in seconds under a minute, as everywhere:

    >>> s = imu_gaps_summary({"imu": None, "setting": "treadmill", "imu_not_measured_s": 2.98, "imu_stalls": 1,
    ...                       "imu_parts": [[0.0, 6.02], [9.0, 24.0]]}, samples=2100, fs_hz=100.0)
    >>> print(s["words"])
    2.98 s not measured (1 station stall): the station measured nothing at all (its measuring program was held up) for longer than 0.1 s, which can hide steps, so that time is not counted. The session was measured in the 2 parts between the gaps (21 s in all); minutes walked, steps and pauses count the measured time only, so the dose may be a little more.
    """
    if not walk:
        return None
    note = walk.get("imu")
    if note:
        timed = walk.get("setting") == "overground" and walk.get("walk_time_s") is not None
        return {"bridged_samples": 0, "gaps": 0, "longest_gap_s": None, "missing_s": None, "gait_valid": False,
                # the sensor named once: a note that names it says whose readings ("No gait measures from the
                # lower-back sensor: the lower-back sensor's readings missing ..." named it twice)
                "words": (f"No gait measures: {note}." if "lower-back sensor" in note
                          else f"No gait measures from the lower-back sensor: {note}.")
                         + (" The time and speed come from the light gates and are valid." if timed else "")}
    frames = int(walk.get("imu_bridged_frames") or 0)
    not_measured = _number(walk.get("imu_not_measured_s")) or 0.0
    if not_measured > 0:  # a walk measured in the parts between dropouts (walk_parts.py)
        parts = walk.get("imu_parts") or []
        dropouts = int(walk.get("imu_dropouts") or 0)
        stalls = int(walk.get("imu_stalls") or 0)
        measured_s = sum(b - a for a, b in parts)
        lost = " and ".join(w for w in ("the lower-back sensor's signal was lost" if dropouts or not stalls else "",
                                         STALL_WORDS if stalls else "")
                            if w)
        words = (f"{not_measured_words(not_measured, dropouts, stalls)}: {lost} for longer "
                 f"than {MAX_BRIDGE_S:g} s, which can hide steps, so that time is not counted. ")
        stepless_s = _number(walk.get("imu_parts_without_steps_s")) or 0.0
        if stepless_s > 0:
            words += (f"Of it, {stepless_s:.1f} s lay between gaps and was too short to show a walking bout's "
                      f"{MIN_BOUT_STEPS} steps, so the walking there was not measured either. ")
        some = f"{len(parts)} part{'' if len(parts) == 1 else 's'}"
        filled = f" {frames} readings in shorter gaps were filled in from the readings either side." if frames > 0 else ""
        near = _near_gaps_sentence(walk, fs_hz)
        filled += f" {near}" if near else ""
        if walk.get("setting") == "overground":
            which = "part" if len(parts) == 1 else f"{len(parts)} parts"
            share = 100.0 * measured_s / (measured_s + not_measured)
            words += (f"The gait measures come from the {which} measured, {measured_s:.1f} of the "
                      f"{measured_s + not_measured:.1f} s from the go to the end ({share:.0f} %): cadence, variability, "
                      "symmetry and step length are those of the steps measured, "
                      f"none across a gap, and the steps count the measured time only.{filled} The time and speed "
                      "come from the light gates and are valid.")
        else:
            words += (f"The session was measured in the {some} between the gaps ({walked_words(measured_s / 60.0)} in "
                      "all); minutes "
                      f"walked, steps and pauses count the measured time only, so the dose may be a little more.{filled}")
        return {"bridged_samples": frames, "gaps": walk.get("imu_bridged_gaps"), "longest_gap_s": _number(walk.get("imu_longest_gap_s")),
                "missing_s": round(not_measured + (frames / fs_hz if fs_hz else 0.0), 3), "not_measured_s": not_measured,
                "dropouts": dropouts, "stalls": stalls, "gait_valid": True, **_near_gaps_counts(walk), "words": words}
    if frames <= 0:
        return None
    gaps = walk.get("imu_bridged_gaps")
    longest = _number(walk.get("imu_longest_gap_s"))
    missing_s = round(frames / fs_hz, 3) if fs_hz else None
    how_long = f", for at most {1000 * longest:.0f} ms" if longest is not None else ""
    share = f" of {samples} readings, {100 * frames / samples:.1f} %" if samples else " readings"
    words = (f"{_short_gaps_cause(walk, frames, gaps)}{how_long} ({frames}{share}). "
             f"Each gap was filled in from the readings either side; it is far shorter than a step "
             f"({MIN_STEP_S:g} s at the quickest), so no step was missed{_near_gaps_words(walk, fs_hz)}")
    return {"bridged_samples": frames, "gaps": None if gaps is None else int(gaps), "longest_gap_s": longest,
            "missing_s": missing_s, "gait_valid": True, **_near_gaps_counts(walk), "words": words}


def _near_gaps_counts(walk: dict) -> dict:
    """The walk's heel strikes next to a filled-in gap and the step times left out for them
    (``imu_contacts_near_gaps``, ``imu_steps_near_gaps``), as ``contacts_near_gaps`` and
    ``steps_left_out``; {} for a trial stored before they were counted."""
    if walk.get("imu_contacts_near_gaps") is None:
        return {}
    return {"contacts_near_gaps": int(walk["imu_contacts_near_gaps"]),
            "steps_left_out": int(walk.get("imu_steps_near_gaps") or 0)}


def _near_gaps_words(walk: dict, fs_hz: float | None) -> str:
    """The end of the sentence on a walk's filled-in gaps ("so no step was missed..."): whether a
    heel strike fell next to one (within :func:`station.analysis.gait.gap_margin_s`, its time then
    uncertain) and which step times were left out for it. A trial stored before they were counted
    keeps its words.

    >>> _near_gaps_words({"imu_contacts_near_gaps": 0, "imu_steps_near_gaps": 0}, 100.0)
    ', and no heel strike fell within 50 ms of a gap: the gait measures are valid.'
    >>> print(_near_gaps_words({"imu_contacts_near_gaps": 1, "imu_steps_near_gaps": 2}, 100.0)[2:])
    1 heel strike fell within 50 ms of a gap, so its time is uncertain: the 2 step times next to it were left out of the step time, its variability and the stride-time variability (the steps and the cadence still count it). With them left out, the gait measures are valid.
    """
    counts = _near_gaps_counts(walk)
    if not counts:
        return ": the gait measures are valid."
    if counts["contacts_near_gaps"] == 0:
        return f", and no heel strike fell within {_margin_words(fs_hz)} of a gap: the gait measures are valid."
    left = "it" if counts["steps_left_out"] == 1 else "them"
    return f". {_near_gaps_sentence(walk, fs_hz)} With {left} left out, the gait measures are valid."


def _margin_words(fs_hz: float | None) -> str:
    from station.analysis.gait import gap_margin_s

    return f"{1000 * gap_margin_s(fs_hz or 100.0):.0f} ms"


def _near_gaps_sentence(walk: dict, fs_hz: float | None) -> str:
    """"N heel strikes fell within 50 ms of a gap ... left out ...", or "" when none did (or the
    trial was stored before they were counted)."""
    counts = _near_gaps_counts(walk)
    n = counts.get("contacts_near_gaps", 0)
    if not n:
        return ""
    steps = counts["steps_left_out"]
    one = n == 1
    return (f"{n} heel strike{'' if one else 's'} fell within {_margin_words(fs_hz)} of a gap, so "
            f"{'its time is' if one else 'their times are'} uncertain: the {steps} step time{'' if steps == 1 else 's'} "
            f"next to {'it' if one else 'them'} {'was' if steps == 1 else 'were'} left out of the step time, its "
            f"variability and the stride-time variability (the steps and the cadence still count {'it' if one else 'them'}).")


TREADMILL_DOSE_MEASURES = frozenset({"walking_min", "pauses", "steps"})
"""A treadmill session's measures that grow with its planned minutes: compared across sessions only at the same
plan (the gait measures, cadence and variability, only at the same belt speed; the time walked at both: "more is
better at the same belt speed")."""

TREADMILL_GAIT_MEASURES = frozenset({"cadence_steps_min", "stride_time_cv_pct", "step_time_cv_pct", "step_symmetry"})

TREADMILL_AT_ONE_SPEED = TREADMILL_GAIT_MEASURES | {"walking_min"}
"""A treadmill session's measures compared across sessions only at the same belt speed (:func:`better_words`: a
session's time walking is read at the belt speed it was walked at)."""


def clock_words(seconds: float) -> str:
    """A time on the treadmill's timer as a clock reads it, minutes and whole seconds passed, as a stopwatch
    counts (rounded down, as the live page's timer, ``Station.clockTime``, showed it: a session stopped at 20.6 s
    reads 0:20 there and here); where a session stopped (a time walked is said by :func:`walked_words`).

    >>> clock_words(21.4), clock_words(20.6), clock_words(60.0), clock_words(1805.9)
    ('0:21', '0:20', '1:00', '30:05')
    """
    whole = max(0, math.floor(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def km_h(belt_speed_m_s: float) -> str:
    """A belt speed (stored in m/s) as the clinician entered it.

    >>> km_h(0.5), km_h(2.0 / 3.6)
    ('1.8 km/h', '2.0 km/h')
    """
    return f"{belt_speed_m_s * 3.6:.1f} km/h"


def treadmill_session_words(session: dict) -> str:
    """One treadmill session against its own plan (``walking_min``, ``planned_min``, ``recorded_s``: the time
    from the go to its end, ``belt_speed_m_s``): never a percentage, nor another session's plan; a session that
    ended before its planned minutes says so. The time walked by :func:`walked_words`, as the live result and the
    measures say it; where it stopped as the treadmill's timer read (:func:`clock_words`).

    >>> treadmill_session_words({"walking_min": 0.34, "planned_min": 30, "recorded_s": 21.3, "belt_speed_m_s": 2 / 3.6})
    '20 s walked of 30 min planned at 2.0 km/h: stopped early, at 0:21'
    >>> treadmill_session_words({"walking_min": 1.0, "planned_min": 1, "recorded_s": 60.0, "belt_speed_m_s": 0.5})
    '1 min walked of 1 min planned at 1.8 km/h'
    >>> treadmill_session_words({"walking_min": 0.5, "planned_min": 0.5, "recorded_s": 30.0})  # a plan in part minutes
    '30 s walked of 30 s planned'
    """
    walked = session.get("walking_min")
    words = ("no walking measured" if walked is None else f"{walked_words(walked)} walked") + (
        f" of {walked_words(session['planned_min'])} planned" if session.get("planned_min") else "")
    if session.get("belt_speed_m_s"):
        words += f" at {km_h(session['belt_speed_m_s'])}"
    recorded, planned = session.get("recorded_s"), session.get("planned_min")
    if recorded is not None and planned and recorded < planned * 60.0 - 1.0:
        words += f": stopped early, at {clock_words(recorded)}"
    return words


def treadmill_not_compared(metric: str, first: dict, last: dict) -> str | None:
    """Why two treadmill sessions' ``metric`` is not compared (each a dict with ``planned_min`` and
    ``belt_speed_m_s``), in words; None when they are comparable: a dose measure (:data:`TREADMILL_DOSE_MEASURES`)
    at the same plan, a gait measure (:data:`TREADMILL_GAIT_MEASURES`) at the same belt speed, the time walked at
    both (:data:`TREADMILL_AT_ONE_SPEED`), anything else always. The one rule of a treadmill history: its change
    since the first session and its chart's lines (a session not comparable with the one before is not joined to it,
    :func:`station.protocols.report.patient_history`'s ``apart``).

    >>> treadmill_not_compared("walking_min", {"planned_min": 1, "belt_speed_m_s": 0.5},
    ...                        {"planned_min": 30, "belt_speed_m_s": 2 / 3.6})
    'not compared: planned 1 vs 30 min, belt speed 1.8 vs 2.0 km/h'
    >>> treadmill_not_compared("walking_min", {"planned_min": 30, "belt_speed_m_s": 1.2 / 3.6},
    ...                        {"planned_min": 30, "belt_speed_m_s": 1.5 / 3.6})
    'not compared: belt speed 1.2 vs 1.5 km/h'
    >>> treadmill_not_compared("walking_min", {"planned_min": 0.5, "belt_speed_m_s": 0.5},
    ...                        {"planned_min": 30, "belt_speed_m_s": 0.5})  # a plan in part minutes: as a time walked
    'not compared: planned 30 s vs 30 min'
    >>> treadmill_not_compared("cadence_steps_min", {"planned_min": 1, "belt_speed_m_s": 0.5},
    ...                        {"planned_min": 30, "belt_speed_m_s": 2 / 3.6})
    'not compared: belt speed 1.8 vs 2.0 km/h'
    >>> treadmill_not_compared("pauses", {"planned_min": 20, "belt_speed_m_s": 0.5},
    ...                        {"planned_min": 20, "belt_speed_m_s": 0.6}) is None
    True
    """
    if metric not in TREADMILL_DOSE_MEASURES | TREADMILL_GAIT_MEASURES:
        return None
    why = []
    a, b = first.get("planned_min"), last.get("planned_min")
    if metric in TREADMILL_DOSE_MEASURES and a and b and abs(a - b) > 1e-9:
        why.append(f"planned {plans_words([a, b], ' vs '.join)}")
    a, b = first.get("belt_speed_m_s"), last.get("belt_speed_m_s")
    if metric in TREADMILL_AT_ONE_SPEED and a and b and km_h(a) != km_h(b):
        why.append(f"belt speed {km_h(a)[:-5]} vs {km_h(b)}")
    return "not compared: " + ", ".join(why) if why else None


def treadmill_apart_words(metric: str) -> str:
    """Said under a treadmill measure's chart whose sessions are not all joined by a line: which sessions are left
    unjoined, by :func:`treadmill_not_compared`'s rule for ``metric`` (the one its change since the first follows).

    >>> treadmill_apart_words("walking_min")
    'Sessions of another plan or belt speed are not joined by a line: their times are not compared.'
    >>> treadmill_apart_words("cadence_steps_min")
    'Sessions at another belt speed are not joined by a line: they are not compared.'
    """
    if metric == "walking_min":
        return "Sessions of another plan or belt speed are not joined by a line: their times are not compared."
    if metric in TREADMILL_GAIT_MEASURES:
        return "Sessions at another belt speed are not joined by a line: they are not compared."
    return "Sessions of another plan (planned minutes) are not joined by a line: they are not compared."
