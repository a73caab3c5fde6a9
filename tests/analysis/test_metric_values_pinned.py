"""Every metric of the 8 published trials, in both profiles, pinned to the values the metric set gave
before issue 18's speed work (``metric_values_bds.json``, computed with the code of commit 792d7ff).

The speed work keeps every number bit for bit on this machine; the pin allows 1e-12 relative so
that another numpy build (a different FFT or SIMD path) does not fail it, while any change of a
definition, a window, a band edge, a lag or a stay count does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from station.analysis.metrics import METRIC_KEYS, compute_metrics

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
PINNED = json.loads((Path(__file__).with_name("metric_values_bds.json")).read_text())


@pytest.mark.skipif(not BDS.is_dir(), reason=f"shared BDS data not found at {BDS}")
@pytest.mark.parametrize("case", sorted(PINNED))
def test_every_metric_of_the_published_trials_as_before(case):
    name, profile = case.split()
    data = np.loadtxt(BDS / name, skiprows=1)
    got = compute_metrics(data[:, 7], data[:, 8], 100.0, profile)["metrics"]
    expected = PINNED[case]
    assert list(got) == list(METRIC_KEYS) and set(expected) == set(METRIC_KEYS)
    for key in METRIC_KEYS:
        if expected[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-15), key
