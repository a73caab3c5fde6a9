"""The protocols' copies of the Santos & Duarte (2016) sway norms are the station's table (s27 R1's review).

quiet-stance, romberg and mctsib carry 80 of the table's numbers (8 norm tables, 16 rows) by hand in their ``[[norms]]`` rows, with the
number of subjects in their population words; the results page reads those rows, the history and the age-group
percentiles read ``station/reference/norms-santos-duarte-2016.csv`` (the shared data's copy). A row edited in
one place and not the other would compare a patient with two different reference values."""

from __future__ import annotations

import re

from station.protocols.loader import builtin_protocols
from station.reference import norms

STATS = ("mean", "sd", "p05", "p50", "p95")
GROUP_OF_FIRST_AGE = {18: "Young", 60: "Old"}


def test_every_santos_duarte_row_of_a_protocol_is_the_tables():
    seen, counts = 0, 0
    for protocol in builtin_protocols().values():
        for norm in protocol.norms:
            if norm.reference != "santos2016":
                continue
            stance = protocol.condition(norm.condition).stance
            for row in norm.rows:
                group = next(g for g in norms.norm_groups() if (g.age_group, g.vision, g.surface) ==
                             (GROUP_OF_FIRST_AGE[row.age_min_y], stance.eyes, stance.surface))
                assert (row.age_min_y, row.age_max_y) == group.age_range_y, (protocol.name, norm.condition)
                q = group.measures[norm.metric]
                assert [getattr(row, s) for s in STATS] == [getattr(q, s) for s in STATS], (protocol.name, norm.condition)
                said = re.findall(rf"{group.age_group} \d+-\d+ y \(n = (\d+)\)", norm.population)
                assert said in ([], [str(group.n_subjects)]), (protocol.name, norm.condition, norm.population)
                seen, counts = seen + len(STATS), counts + len(said)
    # quiet-stance eo velocity and area, romberg eo and ec, the mCTSIB's four conditions: 2 age rows each; the
    # numbers of subjects said in 7 tables' words (quiet-stance's area says "As for mean velocity")
    assert (seen, counts) == (80, 14)
