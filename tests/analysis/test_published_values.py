"""Profile raw reproduces the values Santos & Duarte (2016) published for their trials (DESIGN.md §5)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from station.analysis.metrics import compute_metrics
from station.store.trialfile import read_trial

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
PUBLISHED = {
    row["Trial"]: row for row in csv.DictReader(open(BDS / "BDSinfoCOP-subset.tsv"), delimiter="\t")
}


@pytest.mark.parametrize("trial", sorted(PUBLISHED))
def test_raw_profile_matches_published_area_velocity_and_mean_frequency(trial):
    data = read_trial(BDS / f"{trial}.txt")
    result = compute_metrics(data.ap_cm, data.ml_cm, data.fs_hz, "raw")
    assert result["profile"] == "raw" and result["fs_hz"] == 100.0 and result["samples"] == 6000
    m = result["metrics"]
    row = PUBLISHED[trial]
    assert m["ellipse_area_cm2"] == pytest.approx(float(row["COParea"]), rel=1e-9)
    assert m["mean_velocity_cm_s"] == pytest.approx(float(row["COPvelo"]), rel=1e-9)
    assert m["mean_power_frequency_hz"] == pytest.approx(float(row["COPmfreq"]), rel=1e-9)


def test_station_profile_filters_and_so_differs_from_raw():
    data = read_trial(BDS / "BDS00043.txt")
    raw = compute_metrics(data.ap_cm, data.ml_cm, 100.0, "raw")["metrics"]
    station = compute_metrics(data.ap_cm, data.ml_cm, 100.0, "station")["metrics"]
    # the data were already low-passed at 10 Hz: a second 10 Hz pass removes a little more path
    assert station["mean_velocity_cm_s"] < raw["mean_velocity_cm_s"]
    assert station["mean_velocity_cm_s"] == pytest.approx(raw["mean_velocity_cm_s"], rel=0.05)
    assert station["ellipse_area_cm2"] == pytest.approx(raw["ellipse_area_cm2"], rel=1e-3)
