"""What each sway measure is, for people: label, unit, group, one-line meaning and reference.

Every key of DESIGN.md §5 (and ``time_held_s``) has an entry, so that the dashboard's "all
measures" table and ``balance-station analyze`` show words instead of raw keys. Per-axis variants
(``_ap``, ``_ml``, ``_r``) share their base's meaning. :func:`describe` never fails: an unknown
key gets its own name as label (a clinic's newer analysis may add measures).

>>> describe("mean_velocity_cm_s")["label"]
'Mean sway velocity'
>>> describe("sda_d_long_ap_cm2_s")["group"]
'Diffusion (Collins & De Luca)'
"""

from __future__ import annotations

import re

PRIETO = "Prieto TE et al. IEEE Trans Biomed Eng 1996;43(9):956-966"
SCHUBERT = "Schubert P, Kirchner M. Gait Posture 2014;40(1):1-6"
DUARTE = "Duarte M, Freitas SMSF. Rev Bras Fisioter 2010;14(3):183-192"
COLLINS = "Collins JJ, De Luca CJ. Exp Brain Res 1993;95(2):308-318"
JACONO = "Jacono M et al. Gait Posture 2004;20(3):318-324"
SANTOS = "Santos DA, Duarte M. PeerJ 2016;4:e2648"

GROUPS = ("Test result", "Size of sway", "Speed of sway", "Frequency", "Spectrum", "Diffusion (Collins & De Luca)",
          "Sway density", "Weight bearing", "Other")
"""The groups, in the order the dashboard shows them."""

AXES = {"ap": "front-back (AP)", "ml": "side to side (ML)", "r": "planar"}

_EXACT = {
    "time_held_s": ("Time held", "s", "Test result", "How long the test position was held (0 s: the patient could not take it).", ""),
    "ellipse_area_cm2": ("95 % ellipse area", "cm²", "Size of sway",
                         "Area that holds 95 % of the centre-of-pressure positions (prediction ellipse). Smaller = steadier.",
                         SCHUBERT),
    "ellipse_major_cm": ("Ellipse, long semi-axis", "cm", "Size of sway", "Half the ellipse's length.", SCHUBERT),
    "ellipse_minor_cm": ("Ellipse, short semi-axis", "cm", "Size of sway", "Half the ellipse's width.", SCHUBERT),
    "ellipse_angle_deg": ("Ellipse direction", "°", "Size of sway",
                          "Direction of the ellipse's long axis, from front-back toward the right.", SCHUBERT),
    "mean_distance_cm": ("Mean distance", "cm", "Size of sway", "Average distance of the centre of pressure from its mean position.", PRIETO),
    "rms_distance_cm": ("RMS distance", "cm", "Size of sway", "Root-mean-square distance from the mean position.", PRIETO),
    "max_distance_cm": ("Largest distance", "cm", "Size of sway", "Farthest the centre of pressure went from its mean position.", PRIETO),
    "range_cm": ("Range", "cm", "Size of sway", "Largest distance between any two positions.", PRIETO),
    "confidence_circle_area_cm2": ("95 % confidence circle area", "cm²", "Size of sway",
                                   "Circle holding about 95 % of the distances from the mean.", PRIETO),
    "sway_area_per_s_cm2_s": ("Sway area per second", "cm²/s", "Speed of sway",
                              "Area swept by the centre of pressure per second.", PRIETO),
    "path_length_cm": ("Path length", "cm", "Speed of sway", "Total distance travelled by the centre of pressure (grows with the trial's length).", PRIETO),
    "mean_velocity_cm_s": ("Mean sway velocity", "cm/s", "Speed of sway",
                           "Path length divided by the trial's length. Lower = steadier; the most reliable sway measure.", PRIETO),
    "mean_frequency_hz": ("Mean frequency", "Hz", "Frequency",
                          "How many rotations per second the centre of pressure would make around a circle of its mean distance.", PRIETO),
    "fractal_dimension_cc": ("Fractal dimension (circle)", "", "Frequency",
                             "How much the path fills the 95 % circle (1 = a line, 2 = fills the plane).", PRIETO),
    "fractal_dimension_ce": ("Fractal dimension (ellipse)", "", "Frequency",
                             "How much the path fills the 95 % ellipse (1 = a line, 2 = fills the plane).", PRIETO),
    "mean_power_frequency_hz": ("Mean power frequency", "Hz", "Spectrum",
                                "Average frequency of the sway, weighted by its power (Welch spectrum).", SANTOS),
    "sway_density_mean_peak_s": ("Sway density, mean peak", "s", "Sway density",
                                 "How long, on average, the centre of pressure stays within 0.3 cm of a point at its steadiest moments.", JACONO),
    "sway_density_mean_distance_cm": ("Sway density, distance between peaks", "cm", "Sway density",
                                      "Average distance between successive steady points.", JACONO),
    "weight_left_pct": ("Weight on the left", "%", "Weight bearing", "Share of body weight on the left half of the plate.", ""),
    "weight_right_pct": ("Weight on the right", "%", "Weight bearing", "Share of body weight on the right half of the plate.", ""),
    "weight_front_pct": ("Weight on the front", "%", "Weight bearing", "Share of body weight on the front (toes) half of the plate.", ""),
    "weight_back_pct": ("Weight on the back", "%", "Weight bearing", "Share of body weight on the back (heels) half of the plate.", ""),
    "weight_symmetry_index_pct": ("Symmetry index", "%", "Weight bearing",
                                  "Left-right difference as a share of the mean of both sides (0 = even).", ""),
    "weight_asymmetry_pct": ("Left-right difference", "percentage points", "Weight bearing",
                             "Difference between the shares on the left and on the right.", ""),
}

_PATTERNS = (
    (r"path_length_(ap|ml)_cm", "Path length, {axis}", "cm", "Speed of sway", "Distance travelled {axis}.", PRIETO),
    (r"mean_velocity_(ap|ml)_cm_s", "Mean velocity, {axis}", "cm/s", "Speed of sway", "Speed of the sway {axis}.", PRIETO),
    (r"mean_distance_(ap|ml)_cm", "Mean distance, {axis}", "cm", "Size of sway", "Average distance from the mean, {axis}.", PRIETO),
    (r"rms_(ap|ml)_cm", "RMS, {axis}", "cm", "Size of sway", "Root-mean-square displacement {axis}.", PRIETO),
    (r"range_(ap|ml)_cm", "Range, {axis}", "cm", "Size of sway", "Largest minus smallest position, {axis}.", PRIETO),
    (r"mean_frequency_(ap|ml)_hz", "Mean frequency, {axis}", "Hz", "Frequency", "Mean frequency of the sway {axis}.", PRIETO),
    (r"total_power_(ap|ml)_cm2", "Total power, {axis}", "cm²", "Spectrum", "Power of the sway {axis}, 0.15–5 Hz.", PRIETO),
    (r"f50_(ap|ml)_hz", "Median frequency, {axis}", "Hz", "Spectrum", "Half of the sway's power {axis} lies below this frequency.", PRIETO),
    (r"f95_(ap|ml)_hz", "95 % power frequency, {axis}", "Hz", "Spectrum", "95 % of the sway's power {axis} lies below this frequency.", PRIETO),
    (r"centroid_frequency_(ap|ml)_hz", "Centroid frequency, {axis}", "Hz", "Spectrum", "Centre of mass of the spectrum {axis}.", PRIETO),
    (r"frequency_dispersion_(ap|ml)", "Frequency dispersion, {axis}", "", "Spectrum",
     "Spread of the spectrum {axis} (0 = one frequency, 1 = spread evenly).", PRIETO),
    (r"sda_critical_time_(ap|ml|r)_s", "Critical time, {axis}", "s", "Diffusion (Collins & De Luca)",
     "Lag where the sway turns from drifting away (short-term, open loop) to returning (long-term, closed loop).", COLLINS),
    (r"sda_critical_msd_(ap|ml|r)_cm2", "Critical mean square displacement, {axis}", "cm²", "Diffusion (Collins & De Luca)",
     "How far (squared) the sway drifts before it is corrected.", COLLINS),
    (r"sda_d_short_(ap|ml|r)_cm2_s", "Short-term diffusion coefficient, {axis}", "cm²/s", "Diffusion (Collins & De Luca)",
     "How fast the sway spreads over short lags (open-loop). Higher = more stochastic activity.", COLLINS),
    (r"sda_d_long_(ap|ml|r)_cm2_s", "Long-term diffusion coefficient, {axis}", "cm²/s", "Diffusion (Collins & De Luca)",
     "How fast the sway spreads over long lags (closed-loop). Near 0, or negative, when the sway keeps returning to the "
     "same place: the mean square displacement then levels off or falls with the lag, and its fitted slope is negative. "
     "A negative value is a real fit of a bounded sway, not an error; read it as no long-term drift.", COLLINS),
    (r"sda_h_short_(ap|ml|r)", "Short-term scaling exponent, {axis}", "", "Diffusion (Collins & De Luca)",
     "0.5 = random walk; above 0.5 the sway keeps going the same way (persistent) over short lags.", COLLINS),
    (r"sda_h_long_(ap|ml|r)", "Long-term scaling exponent, {axis}", "", "Diffusion (Collins & De Luca)",
     "Below 0.5 the sway tends to reverse (anti-persistent, corrected) over long lags.", COLLINS),
)


def describe(key: str) -> dict:
    """``{"key", "label", "unit", "group", "meaning", "reference"}`` of a measure key."""
    if key in _EXACT:
        label, unit, group, meaning, reference = _EXACT[key]
        return {"key": key, "label": label, "unit": unit, "group": group, "meaning": meaning, "reference": reference}
    for pattern, label, unit, group, meaning, reference in _PATTERNS:
        match = re.fullmatch(pattern, key)
        if match:
            axis = AXES[match.group(1)]
            return {"key": key, "label": label.format(axis=axis), "unit": unit, "group": group,
                    "meaning": meaning.format(axis=axis), "reference": reference}
    return {"key": key, "label": key, "unit": "", "group": "Other", "meaning": "", "reference": ""}


def catalogue(keys) -> list[dict]:
    """:func:`describe` of each key, in the order of :data:`GROUPS`, then as given."""
    described = [describe(k) for k in keys]
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(described, key=lambda d: order.get(d["group"], len(GROUPS)))


def known_keys() -> list[str]:
    """Every key this module describes (per-axis variants spelled out), in group order."""
    keys = list(_EXACT)
    for pattern, *_rest in _PATTERNS:
        axes = re.search(r"\(([a-z|]+)\)", pattern).group(1).split("|")
        for axis in axes:
            keys.append(re.sub(r"\([a-z|]+\)", axis, pattern, count=1))
    return [d["key"] for d in catalogue(keys)]


_UNITS = (("_steps_min", "steps/min"), ("_min", "min"), ("_cm2_s", "cm²/s"), ("_cm2", "cm²"), ("_cm_s", "cm/s"), ("_m_s", "m/s"), ("_cm", "cm"),
          ("_pct", "%"), ("_hz", "Hz"), ("_s", "s"), ("_m", "m"))


def unit_of(metric: str) -> str:
    """The unit a metric key names (``mean_velocity_cm_s`` → ``cm/s``); '' when it has none.

    >>> unit_of("ellipse_area_cm2"), unit_of("time_held_s"), unit_of("step_regularity"), unit_of("walk_speed_m_s")
    ('cm²', 's', '', 'm/s')
    """
    for suffix, unit in _UNITS:
        if metric.endswith(suffix):
            return unit
    return ""
