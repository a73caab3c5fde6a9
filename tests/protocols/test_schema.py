"""Protocol files: the built-ins load and carry sourced cut-offs; mistakes name file, field, allowed values."""

from __future__ import annotations

import textwrap

import pytest

from station.protocols.loader import builtin_protocols, get_protocol, load_protocol_file, load_protocols
from station.protocols.schema import ProtocolError

MINIMAL = textwrap.dedent(
    """
    [protocol]
    name = "clinic-test"
    title = "Clinic test"
    summary = "A test protocol."
    outcome = "sway"
    duration_s = 20
    instructions = "Stand still."

    [stance]
    feet = "apart"
    arms = "at_sides"
    surface = "firm"
    eyes = "open"

    [[conditions]]
    id = "eo"
    label = "Eyes open"
    """
)


def write(tmp_path, text, name="clinic-test.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_are_the_published_tests():
    protocols = builtin_protocols()
    assert "limits-of-stability" in protocols  # tests/protocols/test_los_protocol.py checks it
    # (the biofeedback training games, issue 16 part B, are tested with their own)
    assert set(protocols) - {"limits-of-stability", "biofeedback-training"} == {
        "quiet-stance", "romberg", "mctsib", "single-leg", "tandem", "weight-bearing",
        "backward-walk-3m", "backward-walk-3m-5m", "ten-metre-walk", "backward-treadmill"}
    mctsib = protocols["mctsib"]
    assert [(c.stance.surface, c.stance.eyes) for c in mctsib.conditions] == [
        ("firm", "open"), ("firm", "closed"), ("foam", "open"), ("foam", "closed")]
    assert all(c.stance.feet == "together" and c.stance.arms == "crossed" and c.duration_s == 30 for c in mctsib.conditions)
    assert mctsib.max_attempts == 3 and "not_completed" in mctsib.repeat_when
    single = protocols["single-leg"]
    assert [c.stance.feet for c in single.conditions] == ["single_left", "single_right"]
    assert single.trials_per_condition == 3 and single.duration_s == 30 and single.outcome == "time_held"
    assert protocols["romberg"].romberg == ("eo", "ec")
    assert protocols["quiet-stance"].duration_s == 30
    assert protocols["weight-bearing"].outcome == "weight_bearing"
    assert protocols["tandem"].conditions[0].stance.feet == "tandem"


def test_every_cutoff_and_norm_names_a_source_with_a_citation():
    for protocol in builtin_protocols().values():
        for item in (*protocol.cutoffs, *protocol.norms):
            ref = protocol.reference(item.reference)
            assert len(ref.citation) > 30, (protocol.name, ref)


def test_published_values_are_carried_exactly():
    single = builtin_protocols()["single-leg"]
    springer = single.norms[0]
    assert single.reference(springer.reference).citation.startswith("Springer BA, Marin R")
    assert [(r.age_min_y, r.age_max_y, r.mean) for r in springer.rows] == [
        (18, 39, 44.7), (40, 49, 41.9), (50, 59, 41.2), (60, 69, 32.1), (70, 79, 21.5), (80, 99, 9.4)]
    assert springer.trial_duration_s == 45
    vellas = single.cutoffs[0]
    assert vellas.below == 5 and single.reference(vellas.reference).doi == "10.1111/j.1532-5415.1997.tb01479.x"
    tandem = builtin_protocols()["tandem"]
    assert sorted(c.below for c in tandem.cutoffs) == [3, 10]
    # No invented numbers: weight bearing carries no cut-off and no flag limit.
    wb = builtin_protocols()["weight-bearing"]
    assert wb.cutoffs == () and wb.asymmetry_flag_pct is None and "No published cut-off" in wb.notes


def test_clinic_directory_adds_protocols(tmp_path):
    write(tmp_path, MINIMAL)
    protocols = load_protocols(tmp_path)
    assert "clinic-test" in protocols and "mctsib" in protocols
    assert get_protocol("clinic-test", tmp_path).conditions[0].stance.eyes == "open"
    assert load_protocols(tmp_path / "absent") == builtin_protocols()


@pytest.mark.parametrize(
    "old, new, field, allowed",
    [
        ('eyes = "open"', 'eyes = "shut"', "stance.eyes", "'open', 'closed'"),
        ('outcome = "sway"', 'outcome = "speed"', "protocol.outcome", "'sway', 'time_held', 'weight_bearing'"),
        ("duration_s = 20", "duration_s = 0", "protocol.duration_s", "from 1 to 600"),
        ("duration_s = 20", 'duration_s = "long"', "protocol.duration_s", "from 1 to 600"),
        ('title = "Clinic test"\n', "", "protocol.title", "required"),
        ('label = "Eyes open"', 'label = "Eyes open"\ncolour = "red"', "conditions[0].colour", "'id', 'label'"),
        ('id = "eo"', 'id = "Eyes Open"', "conditions[0].id", "lower-case letters"),
        ('id = "eo"', 'id = "eo\\n"', "conditions[0].id", "lower-case letters"),  # "eo\n" beside "eo" (X1's F8)
        ('name = "clinic-test"', 'name = "other"', "protocol.name", "'clinic-test'"),
        ('[stance]\nfeet = "apart"', '[stance]\nfeet = "wide"', "stance.feet", "'together'"),
    ],
)
def test_mistakes_name_file_field_and_what_is_allowed(tmp_path, old, new, field, allowed):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ProtocolError) as err:
        load_protocol_file(path)
    message = str(err.value)
    assert str(path) in message and field in message and allowed in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "extra, field, words",
    [
        ('[[cutoffs]]\nmetric = "mean_velocity_cm_s"\nbelow = 1\nmeaning = "x"\nreference = "nobody"\n',
         "cutoffs[0].reference", "add a [[references]] table"),
        ('[[references]]\nid = "a"\ncitation = "A. 2020."\n[[cutoffs]]\nmetric = "speed"\nbelow = 1\nmeaning = "x"\nreference = "a"\n',
         "cutoffs[0].metric", "'mean_velocity_cm_s'"),
        ('[[references]]\nid = "a"\ncitation = "A. 2020."\n[[cutoffs]]\nmetric = "time_held_s"\nbelow = 1\nmeaning = "x"\nreference = "a"\n',
         "cutoffs[0].metric", "only applies to timed holds"),
        ('[[references]]\nid = "a"\ncitation = "A. 2020."\n[[cutoffs]]\nmetric = "rms_ap_cm"\nbelow = 1\nabove = 2\nmeaning = "x"\nreference = "a"\n',
         "cutoffs[0].below", "exactly one of 'below' or 'above'"),
        ('[quality]\nstep_size = 3\n', "quality.step_size", "'stable_s'"),
        ('[quality]\nunload_fraction = 0.1\n', "quality", "off_plate_fraction < unload_fraction"),
        ('[analysis]\nromberg = { eyes_open = "eo", eyes_closed = "eo" }\n', "analysis.romberg.eyes_closed", "eyes-closed"),
        ('[analysis]\nasymmetry_flag_pct = 10\n', "analysis.asymmetry_flag_pct", "weight-bearing"),
        ('[[references]]\nid = "a"\ncitation = "A. 2020."\n[[norms]]\nmetric = "rms_ap_cm"\nstatistic = "mean"\n'
         'population = "adults"\nreference = "a"\nrows = [{age_min_y = 20, age_max_y = 40, mean = 1}, '
         '{age_min_y = 30, age_max_y = 50, mean = 2}]\n', "norms[0].rows[1].age_min_y", "overlaps"),
    ],
)
def test_mistakes_in_cutoffs_norms_and_settings(tmp_path, extra, field, words):
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ProtocolError) as err:
        load_protocol_file(path)
    assert str(path) in str(err.value) and field in str(err.value) and words in str(err.value)


def test_syntax_errors_and_unreadable_files(tmp_path):
    path = write(tmp_path, MINIMAL.replace('title = "Clinic test"', 'title = "Clinic test'))
    with pytest.raises(ProtocolError, match=r"clinic-test\.toml: not valid TOML: .*line"):
        load_protocol_file(path)
    binary = tmp_path / "clinic-test.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        load_protocol_file(binary)
    with pytest.raises(ProtocolError, match="no such file"):
        load_protocol_file(tmp_path / "missing.toml")


def test_a_clinic_file_may_not_take_a_builtin_name(tmp_path):
    write(tmp_path, MINIMAL.replace('name = "clinic-test"', 'name = "mctsib"'), name="mctsib.toml")
    with pytest.raises(ProtocolError) as err:
        load_protocols(tmp_path)
    assert "mctsib.toml" in str(err.value) and "builtin:mctsib.toml" in str(err.value)


def test_unknown_protocol_lists_the_known_ones():
    with pytest.raises(ProtocolError, match="allowed: .*mctsib, quiet-stance, romberg"):
        get_protocol("nope")


def test_quality_overrides_and_condition_durations_apply(tmp_path):
    text = MINIMAL.replace('label = "Eyes open"', 'label = "Eyes open"\nduration_s = 45') + "[quality]\nstable_s = 1.5\n"
    protocol = load_protocol_file(write(tmp_path, text))
    assert protocol.conditions[0].duration_s == 45
    assert protocol.quality.stable_s == 1.5 and protocol.quality.off_plate_fraction == 0.2
