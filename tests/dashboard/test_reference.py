"""Reference values: percentiles from published quantiles, the Santos & Duarte (2016) norms by age
group and condition, and the published minimal detectable changes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.analysis.norms import percentile_band, percentile_from_quantiles
from station.reference import mdc, norms


def test_the_published_quantiles_are_met_exactly():
    assert percentile_from_quantiles(1.0, 0.5, 1.0, 3.0) == pytest.approx(50.0)
    assert percentile_from_quantiles(0.5, 0.5, 1.0, 3.0) == pytest.approx(5.0)
    assert percentile_from_quantiles(3.0, 0.5, 1.0, 3.0) == pytest.approx(95.0)


def test_a_log_normal_distribution_is_reproduced():
    # ln X ~ N(0, 0.5): X's quantiles, then the percentile of its 80th-percentile value
    z80 = 0.8416212335729143
    q = [math.exp(0.5 * z) for z in (-1.6448536269514722, 0.0, 1.6448536269514722)]
    assert percentile_from_quantiles(math.exp(0.5 * z80), *q) == pytest.approx(80.0, abs=1e-9)


@given(st.floats(0.01, 100), st.floats(0.01, 100))
def test_percentiles_grow_with_the_value(a, b):
    lo, hi = sorted((a, b))
    assert percentile_from_quantiles(lo, 0.7, 1.0, 2.2) <= percentile_from_quantiles(hi, 0.7, 1.0, 2.2)


def test_values_without_a_percentile_and_bad_quantiles():
    assert percentile_from_quantiles(None, 1, 2, 3) is None
    assert percentile_from_quantiles(float("nan"), 1, 2, 3) is None
    assert percentile_from_quantiles(0.0, 1, 2, 3) is None
    with pytest.raises(ValueError, match="must increase"):
        percentile_from_quantiles(1.0, 2, 1, 3)
    with pytest.raises(ValueError, match="positive"):
        percentile_from_quantiles(1.0, 0, 1, 3)
    assert percentile_band(0.1, 0.5, 3) == "below the 5th percentile"
    assert percentile_band(4, 0.5, 3) == "above the 95th percentile"
    assert percentile_band(1, 0.5, 3) == "between the 5th and 95th percentiles"


def test_the_norms_table_is_the_shared_one():
    groups = norms.norm_groups()
    assert len(groups) == 8
    old_ec_firm = norms.find_group(70, "closed", "firm")
    assert old_ec_firm.n_subjects == 76
    assert old_ec_firm.measures["ellipse_area_cm2"].p50 == 2.234
    assert old_ec_firm.measures["mean_velocity_cm_s"].p95 == 2.216
    assert norms.find_group(30, "open", "foam").measures["mean_power_frequency_hz"].p05 == 0.172


@pytest.mark.parametrize("age, group", [(18, "Young"), (59, "Young"), (59.9, "Young"), (60, "Old"), (86, "Old"),
                                        (17, None), (87, None)])
def test_age_groups(age, group):
    assert norms.age_group(age) == group


def test_comparing_a_value_names_the_group_the_source_and_the_caveats():
    c = norms.compare("mean_velocity_cm_s", 1.005, age_y=70, eyes="open", surface="firm", feet="apart", duration_s=60)
    assert c["comparable"] and c["percentile"] == pytest.approx(50.0)
    assert c["group"] == "old adults 60-86 y, eyes open, firm surface" and c["n_subjects"] == 76
    assert "Santos DA, Duarte M" in c["source"] and "10.7717/peerj.2648" in c["source"] and c["note"] == ""
    short = norms.compare("ellipse_area_cm2", 9.0, age_y=25, eyes="closed", surface="firm", feet="together", duration_s=30)
    assert short["band"] == "above the 95th percentile" and short["percentile"] > 95
    assert "lasted 60 s, this one 30 s" in short["note"] and "feet were together" in short["note"]


def test_no_comparison_where_the_reference_does_not_apply():
    assert norms.compare("path_length_cm", 10, age_y=70, eyes="open", surface="firm", feet="apart") is None
    single = norms.compare("mean_velocity_cm_s", 3, age_y=70, eyes="open", surface="firm", feet="single_left")
    assert not single["comparable"] and "stance" in single["note"]
    child = norms.compare("mean_velocity_cm_s", 3, age_y=9, eyes="open", surface="firm", feet="apart")
    assert not child["comparable"] and "age 9" in child["note"]
    unknown = norms.compare("mean_velocity_cm_s", 3, age_y=None, eyes="open", surface="firm", feet="apart")
    assert not unknown["comparable"] and "age is unknown" in unknown["note"]
    missing = norms.compare("mean_velocity_cm_s", None, age_y=40, eyes="open", surface="firm", feet="apart")
    assert missing["comparable"] and missing["percentile"] is None and "No valid value" in missing["note"]


def test_minimal_detectable_changes_only_where_published():
    eo = mdc.find_mdc("mean_velocity_cm_s", protocol="romberg", eyes="open", feet="together")
    ec = mdc.find_mdc("mean_velocity_cm_s", protocol="romberg", eyes="closed", feet="together")
    assert (eo.value, ec.value) == (0.61, 0.95) and "stroke" in eo.population and eo.doi
    assert mdc.find_mdc("mean_velocity_cm_s", protocol="single-leg", eyes="open", feet="single_left") is None
    held = mdc.find_mdc("time_held_s", protocol="single-leg", eyes="open", feet="single_left")
    assert held.value == 24.1 and "Gait Posture 2011" in held.citation
    assert mdc.find_mdc("time_held_s", protocol="mctsib", eyes="open", feet="together") is None
    assert mdc.find_mdc("ellipse_area_cm2", protocol="romberg", eyes="open", feet="together") is None
