"""The project's FHIR CodeSystem: one code per station measure, its display, UCUM unit and family.

No LOINC code is used: none was found that means exactly one of these measures (see
``docs/fhir.md``: sway measures of a force plate have none, and the walking-speed codes LOINC has
are for other procedures, e.g. 83172-7 the NIH Toolbox 4-metre walk, 41956-4 a 24-hour maximum).
Every code lives in :data:`MEASURE_SYSTEM`; a code is the station's measure key (DESIGN.md §5 and
§8), so what it means is the contract of DESIGN.md.

**Families.** A measure with per-axis variants is one ``Observation``: the planar value (when
there is one) as ``valueQuantity`` and the variants as ``component``\\ s (``path_length_cm`` with
``path_length_ap_cm`` and ``path_length_ml_cm``). Per-axis measures without a planar value
(``f50_ap_hz``, ``f50_ml_hz``) share a family code that has no value of its own (``f50_hz``). The
ellipse's semi-axes and angle are components of ``ellipse_area_cm2``; the other weight shares are
components of ``weight_left_pct``.

>>> family("path_length_ap_cm"), family("sda_d_long_r_cm2_s"), family("ellipse_angle_deg")
('path_length_cm', 'sda_d_long_cm2_s', 'ellipse_area_cm2')
>>> ucum("mean_velocity_cm_s"), ucum("ellipse_area_cm2"), ucum("step_symmetry"), ucum("cadence_steps_min")
('cm/s', 'cm2', '1', '/min')
"""

from __future__ import annotations

import re
from functools import lru_cache

from station.reference import measures

BASE_URL = "https://balance-station.org/fhir"
"""Base of the project's FHIR identifiers (names, not necessarily resolvable addresses)."""
MEASURE_SYSTEM = f"{BASE_URL}/CodeSystem/measure"
"""The project's CodeSystem of measures (the ``code`` of every Observation and component)."""
TEST_SYSTEM = f"{BASE_URL}/CodeSystem/test"
"""The project's CodeSystem of tests: ``<protocol>/<condition>`` (``Observation.method``)."""
PATIENT_IDENTIFIER_SYSTEM = f"{BASE_URL}/NamingSystem/patient-identifier"
"""The clinic's pseudonymous patient identifiers (``Observation.subject.identifier``)."""
OBSERVATION_IDENTIFIER_SYSTEM = f"{BASE_URL}/NamingSystem/observation"
"""``trial-<trial id>/<code>``: one Observation per trial and measure family."""
DEVICE_IDENTIFIER_SYSTEM = f"{BASE_URL}/NamingSystem/device"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

_UNITS = (("_m2_s5", "m2/s5", "m²/s⁵"), ("_m_s2", "m/s2", "m/s²"), ("_cm2_s", "cm2/s", "cm²/s"), ("_cm2", "cm2", "cm²"),
          ("_cm_s", "cm/s", "cm/s"), ("_steps_min", "/min", "steps/min"), ("_m_s", "m/s", "m/s"),
          ("_deg_s", "deg/s", "deg/s"), ("_deg", "deg", "°"), ("_hz", "Hz", "Hz"), ("_pct", "%", "%"),
          ("_min", "min", "min"), ("_cm", "cm", "cm"), ("_m", "m", "m"), ("_s", "s", "s"))

PARENTS = {"ellipse_major_cm": "ellipse_area_cm2", "ellipse_minor_cm": "ellipse_area_cm2",
           "ellipse_angle_deg": "ellipse_area_cm2", "weight_right_pct": "weight_left_pct",
           "weight_front_pct": "weight_left_pct", "weight_back_pct": "weight_left_pct",
           "weight_symmetry_index_pct": "weight_left_pct", "weight_asymmetry_pct": "weight_left_pct"}
"""Components that are not per-axis variants: measure -> the Observation it belongs to."""

_AXIS = re.compile(r"_(ap|ml|r)(?=_|$)")

GAIT_LABELS = {
    "walk_time_s": "Walk test time (light gates)",
    "walk_distance_m": "Walk test distance timed",
    "walk_speed_m_s": "Walk test speed (light gates)",
    "steps": "Steps",
    "duration_s": "Duration of the walking bout",
    "cadence_steps_min": "Cadence",
    "step_time_s": "Step time",
    "step_time_cv_pct": "Step-time variability (coefficient of variation)",
    "stride_time_cv_pct": "Stride-time variability (coefficient of variation)",
    "step_regularity": "Step regularity (autocorrelation at one step)",
    "stride_regularity": "Stride regularity (autocorrelation at one stride)",
    "step_symmetry": "Step symmetry (step over stride regularity)",
    "step_length_m": "Step length (inverted pendulum)",
    "walking_speed_m_s": "Walking speed from the trunk IMU (inverted pendulum)",
    "walking_min": "Minutes walking (treadmill)",
    "pauses": "Pauses while walking",
    "pause_s": "Time paused",
    "belt_speed_m_s": "Treadmill belt speed",
    "planned_min": "Planned minutes (treadmill)",
    "trunk_rms_m_s2": "Trunk sway, RMS acceleration",
    "trunk_rms_ap_m_s2": "Trunk sway, RMS acceleration, front-back (AP)",
    "trunk_rms_ml_m_s2": "Trunk sway, RMS acceleration, side to side (ML)",
    "trunk_range_ap_m_s2": "Trunk sway, range of acceleration, front-back (AP)",
    "trunk_range_ml_m_s2": "Trunk sway, range of acceleration, side to side (ML)",
    "trunk_jerk_m2_s5": "Trunk sway, jerk",
    "trunk_sway_area_m2_s5": "Trunk sway area",
}
"""Labels of the walk, gait (DESIGN.md §8) and trunk-sway keys, which measures.py does not describe."""


def _los_labels() -> dict[str, str]:
    from station.analysis.limits_of_stability import DIRECTIONS, MEASURES

    words = {"los_reaction_time_s": "reaction time", "los_movement_velocity_deg_s": "movement velocity",
             "los_endpoint_excursion_pct": "endpoint excursion (% of the limit)",
             "los_max_excursion_pct": "maximum excursion (% of the limit)",
             "los_directional_control_pct": "directional control"}
    sides = {"f": "forward", "fr": "forward-right", "r": "right", "br": "backward-right", "b": "backward",
             "bl": "backward-left", "l": "left", "fl": "forward-left"}
    out = {}
    for m in MEASURES:
        out[m] = f"Limits of stability: {words[m]}, composite"
        out.update({f"{m}_{d}": f"Limits of stability: {words[m]}, {sides[d]}" for d in DIRECTIONS})
    return out


TRAINING_LABELS = {
    "training_score": "Biofeedback training game score (0-100, by the game's own definition)",
    "training_level": "Game level (1-5)",
    "training_min": "Minutes played",
    "training_targets_shown": "Targets shown",
    "training_targets_held": "Targets held",
    "training_mean_time_to_reach_s": "Mean time to reach a target",
    "training_mean_path_efficiency": "Mean path efficiency (straight line over path travelled)",
    "training_inside_pct": "Time inside the target (% of the time scored)",
    "training_mean_distance_cm": "Mean distance to the moving target",
    "training_rms_distance_cm": "RMS distance to the moving target",
    "training_smallest_radius_held_cm": "Smallest target circle held",
    "training_in_band_pct": "Weight on the paretic side within the band (% of the shift time)",
}
"""Labels of a biofeedback training game's measures (:meth:`station.analysis.biofeedback.Game.result`):
one Observation per game played, its score the value and the rest components of ``training_score``."""

COUNT_UNITS = {"steps": "{steps}", "training_score": "{score}", "training_level": "{level}",
               "training_targets_shown": "{targets}", "training_targets_held": "{targets}"}
"""UCUM annotations of the counts and scores (a unit of 1 with its meaning in braces)."""

LOS_LABELS = _los_labels()
"""Labels of the limits-of-stability keys: each direction's measure and the composite, each its own
Observation (a direction is not an axis: ``los_max_excursion_pct_r`` is the lean to the right)."""


def _unit_key(key: str) -> str:
    """The part of a key that ends with its unit (a limits-of-stability key ends with a direction)."""
    return key.rsplit("_", 1)[0] if key in LOS_LABELS and key.rsplit("_", 1)[0] in LOS_LABELS else key


def family(key: str) -> str:
    """The code of the Observation that carries ``key`` (itself when it is not a component)."""
    if key in LOS_LABELS:
        return key
    if key in TRAINING_LABELS:
        return "training_score"
    if key in PARENTS:
        return PARENTS[key]
    return _AXIS.sub("", key, count=1)


def ucum(key: str) -> str:
    """The UCUM code of a measure key's unit (``1`` for a dimensionless one, ``{steps}`` for a count of steps)."""
    if key in COUNT_UNITS:
        return COUNT_UNITS[key]
    key = _unit_key(key)
    for suffix, code, _human in _UNITS:
        if key.endswith(suffix):
            return code
    return "1"


def unit_words(key: str) -> str:
    """The unit as people write it (``cm²``), '' for a dimensionless one."""
    if key in COUNT_UNITS:
        return COUNT_UNITS[key].strip("{}")
    key = _unit_key(key)
    for suffix, _code, human in _UNITS:
        if key.endswith(suffix):
            return human
    return ""


@lru_cache(maxsize=None)
def display(key: str) -> str:
    """The code's display: the measure's label (a family without a value of its own says so)."""
    if key in GAIT_LABELS:
        return GAIT_LABELS[key]
    if key in LOS_LABELS:
        return LOS_LABELS[key]
    if key in TRAINING_LABELS:
        return TRAINING_LABELS[key]
    described = measures.describe(key)
    if described["label"] != key:
        return described["label"]
    members = [k for k in catalogue_keys() if family(k) == key and k != key]
    if members:
        label = display(members[0])
        for axis in measures.AXES.values():
            label = label.replace(f", {axis}", "").replace(f" {axis}", "")
        return f"{label} (per axis, in components)"
    return key.replace("_", " ")


def catalogue_keys() -> list[str]:
    """Every measure key the station stores (sway, time held, weight, walk, gait, trunk sway,
    limits of stability, training games)."""
    return list(_catalogue_keys())


@lru_cache(maxsize=1)
def _catalogue_keys() -> tuple[str, ...]:
    return tuple(dict.fromkeys(list(measures.known_keys()) + list(GAIT_LABELS) + list(LOS_LABELS)
                                + list(TRAINING_LABELS)))


def catalogue() -> list[dict]:
    """Every code of :data:`MEASURE_SYSTEM`: ``{code, display, ucum, family, role}`` where
    ``role`` is ``value`` (an Observation's value), ``component`` or ``family`` (an Observation
    with components only). For ``docs/fhir.md`` and its test."""
    keys = catalogue_keys()
    families = {family(k) for k in keys}
    out = []
    for key in keys:
        fam = family(key)
        out.append({"code": key, "display": display(key), "ucum": ucum(key), "family": fam,
                    "role": "component" if fam != key else "value"})
    for fam in sorted(families - set(keys)):
        out.append({"code": fam, "display": display(fam), "ucum": "", "family": fam, "role": "family"})
    return out
