"""Every built-in cut-off carries the population it was set in, the stance ones included.

Vellas et al. (1997): healthy community-living volunteers older than 60 (single-leg stance, 5 s);
Guralnik et al. (1994): people aged 71 and older (SPPB tandem stand, 10 s and 3 s). The mCTSIB's
30 s is the test's own criterion, not a value measured in a population: it alone has none (its
protocol's notes say why). The trial command says a cut-off is not applied to a 45-year-old, in
words, and reads it for a 75-year-old.
"""

from __future__ import annotations

import json

import pytest

from station.cli import main
from station.protocols.loader import builtin_protocols

VELLAS_GROUP = "healthy community-living volunteers older than 60 (mean age 73 y)"
GURALNIK_GROUP = "people aged 71 and older in three communities"


def test_every_builtin_cut_off_has_a_population_but_the_mctsib_criterion():
    unbounded = [(p.name, c.below if c.below is not None else c.above)
                 for p in builtin_protocols().values() for c in p.cutoffs if not c.population.bounded]
    assert unbounded == [("mctsib", 30.0)]
    notes = " ".join(builtin_protocols()["mctsib"].notes.split())
    assert "carries no population and is applied to every patient" in notes


@pytest.mark.parametrize("protocol, group, min_age_y, count", [("single-leg", VELLAS_GROUP, 60, 1),
                                                               ("tandem", GURALNIK_GROUP, 71, 2)])
def test_the_stance_cut_offs_carry_their_sources_population(protocol, group, min_age_y, count):
    cutoffs = builtin_protocols()[protocol].cutoffs
    assert len(cutoffs) == count
    assert {c.population.to_dict()["group"] for c in cutoffs} == {group}
    assert {(c.population.min_age_y, c.population.condition_tag, c.population.excluded_tags) for c in cutoffs} == \
           {(min_age_y, None, ())}  # the abstracts give no exclusion criteria (the protocols' notes)


def _tandem(tmp_path, capsys, age: int, lapses: list[str]) -> tuple[str, list[dict]]:
    out = tmp_path / f"tandem-{age}"
    args = ["trial", "--protocol", "tandem", "--simulate", "--seed", "2", "--out", str(out), "--quiet",
            "--age", str(age)]
    assert main(args + [a for lapse in lapses for a in ("--lapse", lapse)]) == 0
    return capsys.readouterr().out, json.loads((out / "results.json").read_text())["cutoffs"]


def test_the_trial_command_says_the_tandem_limits_are_not_applied_to_a_45_year_old(tmp_path, capsys):
    printed, cutoffs = _tandem(tmp_path, capsys, 45, ["tandem:step_off:2:1", "tandem:step_off:2:2"])
    assert [(c["below"], c["applies"], c["flagged"]) for c in cutoffs] == [(10.0, False, None), (3.0, False, None)]
    assert all(c["value"] < 3 and c["not_applied_why"] == "aged 45, younger than the 71 y it is applied from"
               for c in cutoffs), cutoffs
    # one source's two limits, not applied for one reason: said once, on the time held's line
    said = (f"The published cut-offs (3 and 10 s) were set in {GURALNIK_GROUP}; they are not applied to this "
            "patient (aged 45, younger than the 71 y it is applied from).")
    assert printed.count(said) == 1 and printed.count("not applied") == 1, printed
    assert printed.split(said)[0].splitlines()[-1].startswith("    time held "), printed
    assert "Short Physical Performance Battery" not in printed and "mortality" not in printed, printed


def test_the_trial_command_reads_the_tandem_limits_for_a_75_year_old(tmp_path, capsys):
    printed, cutoffs = _tandem(tmp_path, capsys, 75, ["tandem:step_off:2:1", "tandem:step_off:2:2"])
    assert [(c["below"], c["applies"], c["flagged"]) for c in cutoffs] == [(10.0, True, True), (3.0, True, True)]
    assert "Tandem stand held for less than 3 s: 0 points in the Short Physical Performance Battery" in printed, printed
    assert "not applied" not in printed, printed
