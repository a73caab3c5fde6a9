"""Programme templates: the built-ins are valid and cite their sources; every field's mistake is
refused with one line naming the file, the field and what is allowed; clinic templates load from
the protocols directory's programmes/ folder."""

from __future__ import annotations

import pytest

from station.programmes.loader import clinic_programmes_dir, load_programme_file, load_programmes
from station.programmes.template import ProgrammeError, programme_from_dict
from station.protocols.loader import load_protocols


def test_the_backward_walking_pilot_is_built_in_as_published(builtins):
    t = builtins["backward-walking-stroke"]
    assert (t.schedule.weeks, t.schedule.sessions_per_week, t.schedule.minutes_per_session) == (4, 3, 30.0)
    assert t.schedule.session_protocol == "backward-treadmill"
    assert t.activity == "backward_treadmill_walking" and t.population == "stroke"
    assert [a.week for a in t.assessments] == [0, 2, 4]
    chang = t.references[0]
    assert "Chang KW" in chang.citation and "Chronic Stroke" in chang.citation and chang.doi == "10.3390/ijerph18052376"


def test_the_balance_training_programme_follows_mctsib_and_single_leg_stance(builtins):
    t = builtins["balance-training"]
    assert {o.protocol for o in t.outcomes} == {"mctsib", "single-leg"}
    assert all(o.metric == "time_held_s" and o.better == "higher" for o in t.outcomes)
    assert t.population == "older_adults"


def test_a_valid_template_round_trips_through_its_stored_form(data, protocols):
    t = programme_from_dict(data, "clinic.toml", protocols)
    assert t.schedule.minutes_in_week(2) == 30.0 and t.schedule.minutes_in_week(3) == 40.0
    again = programme_from_dict(t.to_file_dict(), "stored", protocols)
    assert again.to_dict() | {"source": ""} == t.to_dict() | {"source": ""}


def _set(path, value):
    def mutate(d):
        *head, last = path
        for key in head:
            d = d[key]
        if value is KeyError:
            del d[last]
        else:
            d[last] = value
    return mutate


MISTAKES = [
    # (mutation, field named, words of what is allowed)
    (_set(["programme"], KeyError), "programme", "is missing; it is required"),
    (_set(["programme"], "x"), "programme", "must be a table"),
    (_set(["programme", "name"], "Bad Name"), "programme.name", "lower-case letters, digits and '_' or '-'"),
    (_set(["programme", "name"], KeyError), "programme.name", "is missing"),
    (_set(["programme", "title"], ""), "programme.title", "must be non-empty text"),
    (_set(["programme", "title"], "x" * 201), "programme.title", "allowed: at most 200"),
    (_set(["programme", "summary"], 3), "programme.summary", "must be non-empty text"),
    (_set(["programme", "activity"], "running"), "programme.activity",
     "allowed: 'backward_treadmill_walking', 'overground_backward_walking', 'balance_training', 'other'"),
    (_set(["programme", "activity_label"], "Tai chi"), "programme.activity_label", "only applies to activity 'other'"),
    (_set(["programme", "activity"], "other"), "programme.activity_label", "is missing"),
    (_set(["programme", "population"], "children"), "programme.population", "allowed: 'stroke', 'older_adults', 'other'"),
    (_set(["programme", "version"], 0), "programme.version", "allowed: a whole number from 1 to 10000"),
    (_set(["programme", "colour"], "red"), "programme.colour", "unknown field"),
    (_set(["schedule"], KeyError), "schedule", "is missing"),
    (_set(["schedule", "weeks"], 0), "schedule.weeks", "allowed: a whole number from 1 to 52 weeks"),
    (_set(["schedule", "weeks"], 2.5), "schedule.weeks", "must be a whole number"),
    (_set(["schedule", "sessions_per_week"], 8), "schedule.sessions_per_week", "allowed: a whole number from 1 to 7 sessions"),
    (_set(["schedule", "minutes_per_session"], "30"), "schedule.minutes_per_session", "must be a number"),
    (_set(["schedule", "minutes_per_session"], 0.5), "schedule.minutes_per_session", "allowed: a number from 1 to 240 min"),
    (_set(["schedule", "session_protocol"], "treadmill"), "schedule.session_protocol", "'treadmill' is not allowed; allowed: "),
    (_set(["schedule", "session_protocol"], "romberg"), "schedule.session_protocol",
     "'romberg' does not measure walking; allowed: a treadmill walk protocol that measures a session's dose: "),
    (_set(["schedule", "sessions"], 3), "schedule.sessions", "did you mean 'sessions_per_week'?"),
    (_set(["schedule", "progression"], {"from_week": 1}), "schedule.progression", "must be an array of tables"),
    (_set(["schedule", "progression", 0, "from_week"], 5), "schedule.progression[0].from_week",
     "allowed: a whole number from 1 to 4 (a week of this 4-week programme)"),
    (_set(["schedule", "progression", 1, "from_week"], 1), "schedule.progression[1].from_week", "is used twice"),
    (_set(["schedule", "progression", 0, "belt_speed_m_s"], 0), "schedule.progression[0].belt_speed_m_s",
     "allowed: a number above 0 and up to 3 m/s"),
    (_set(["schedule", "progression", 0, "incline_pct"], 45), "schedule.progression[0].incline_pct",
     "allowed: a number from -20 to 30 %"),
    (_set(["schedule", "progression", 1, "minutes_per_session"], 300), "schedule.progression[1].minutes_per_session",
     "allowed: a number from 1 to 240 min"),
    (_set(["schedule", "progression", 0], {"from_week": 1}), "schedule.progression[0]", "says nothing"),
    (_set(["schedule", "progression", 0, "speed"], 1), "schedule.progression[0].speed", "unknown field"),
    (_set(["assessments"], []), "assessments", "is empty"),
    (_set(["assessments"], KeyError), "assessments", "is missing"),
    (_set(["assessments", 0, "week"], 1), "assessments", "has no baseline"),
    (_set(["assessments", 1, "week"], 0), "assessments[1].week", "already has an assessment"),
    (_set(["assessments", 2, "week"], 5), "assessments[2].week", "allowed: a whole number from 0 to 4 (0 = baseline, 4 = the end)"),
    (_set(["assessments", 1, "id"], "baseline"), "assessments[1].id", "is used twice"),
    (_set(["assessments", 1, "label"], ""), "assessments[1].label", "must be non-empty text"),
    (_set(["assessments", 1, "protocols"], []), "assessments[1].protocols", "is empty; allowed: at least 1 of"),
    (_set(["assessments", 1, "protocols"], ["berg"]), "assessments[1].protocols", "'berg' is not allowed; allowed: "),
    (_set(["assessments", 1, "protocols"], "quiet-stance"), "assessments[1].protocols", "must be a list of text"),
    (_set(["outcomes"], []), "outcomes", "is empty"),
    (_set(["outcomes", 0, "protocol"], "romberg"), "outcomes[0].protocol", "allowed: 'quiet-stance', 'single-leg'"),
    (_set(["outcomes", 0, "condition"], "ec"), "outcomes[0].condition", "allowed: 'eo'"),
    (_set(["outcomes", 0, "metric"], "speed"), "outcomes[0].metric", "'speed' is not allowed; allowed: 'ellipse_area_cm2'"),
    (_set(["outcomes", 0, "metric"], "time_held_s"), "outcomes[0].metric", "'time_held_s' is not allowed"),
    (_set(["outcomes", 1, "metric"], "mean_velocity_cm_s"), "outcomes[1].metric", None),
    (_set(["outcomes", 0, "group"], ""), "outcomes[0].group", "must be non-empty text"),
    (_set(["outcomes", 0, "label"], KeyError), "outcomes[0].label", "is missing"),
    (_set(["outcomes", 0, "better"], "smaller"), "outcomes[0].better", "allowed: 'lower', 'higher'"),
    (_set(["references", 0, "id"], "Chang 2021"), "references[0].id", "lower-case letters, digits and '_'"),
    (_set(["references", 0, "citation"], KeyError), "references[0].citation", "is missing"),
    (_set(["references", 0, "doi"], ""), "references[0].doi", "must be non-empty text"),
    (_set(["extra"], 1), "extra", "unknown field"),
]


@pytest.mark.parametrize("mutate, field, words", MISTAKES, ids=[m[1] + ":" + str(i) for i, m in enumerate(MISTAKES)])
def test_every_mistake_names_the_file_the_field_and_what_is_allowed(data, protocols, mutate, field, words):
    mutate(data)
    if field == "outcomes[1].metric":  # a measure the protocol has, but the same outcome twice
        data["outcomes"][1] = dict(data["outcomes"][0])
        words = "is already an outcome"
    with pytest.raises(ProgrammeError) as caught:
        programme_from_dict(data, "clinic/programmes/x.toml", protocols)
    error = caught.value
    assert error.field == field
    assert str(error).startswith(f"clinic/programmes/x.toml: {field}: ")
    assert words in str(error)
    assert "\n" not in str(error)


def test_a_later_assessment_is_required_to_measure_a_change(data, protocols):
    data["assessments"] = data["assessments"][:1]
    data["outcomes"] = data["outcomes"][:1]
    with pytest.raises(ProgrammeError, match="has only the baseline; add at least one later assessment"):
        programme_from_dict(data, "x.toml", protocols)


def test_clinic_templates_sit_in_the_protocols_folder_and_may_not_shadow_a_builtin(tmp_path, protocols):
    folder = clinic_programmes_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "clinic-walk.toml").write_text(_toml())
    found = load_programmes(protocols, tmp_path)
    assert found["clinic-walk"].source == str(folder / "clinic-walk.toml")
    assert {"backward-walking-stroke", "balance-training"} <= set(found)
    # the protocol loader reads <dir>/*.toml only: the programmes folder does not disturb it
    assert set(load_protocols(tmp_path)) == set(protocols)

    (folder / "clinic-walk.toml").rename(folder / "other.toml")
    with pytest.raises(ProgrammeError, match=r"other.toml: programme.name: 'clinic-walk' does not match the file name"):
        load_programmes(protocols, tmp_path)
    (folder / "other.toml").unlink()
    (folder / "balance-training.toml").write_text(_toml().replace('"clinic-walk"', '"balance-training"'))
    with pytest.raises(ProgrammeError, match="is already the name of builtin:balance-training.toml"):
        load_programmes(protocols, tmp_path)


@pytest.mark.parametrize("content, words", [
    (b"[programme\n", "not valid TOML"),
    (b"\xff\xfe", "not UTF-8 text"),
])
def test_unreadable_files_are_refused_with_the_reason(tmp_path, protocols, content, words):
    path = tmp_path / "x.toml"
    path.write_bytes(content)
    with pytest.raises(ProgrammeError, match=words):
        load_programme_file(path, protocols)
    with pytest.raises(ProgrammeError, match="no such file"):
        load_programme_file(tmp_path / "missing.toml", protocols)


def _toml() -> str:
    return '''
[programme]
name = "clinic-walk"
title = "Clinic walking"
summary = "Backward walking in the corridor."
activity = "overground_backward_walking"
population = "stroke"

[schedule]
weeks = 2
sessions_per_week = 2
minutes_per_session = 20

[[assessments]]
id = "baseline"
label = "Baseline"
week = 0
protocols = ["quiet-stance"]

[[assessments]]
id = "end"
label = "End"
week = 2
protocols = ["quiet-stance"]

[[outcomes]]
protocol = "quiet-stance"
condition = "eo"
metric = "mean_velocity_cm_s"
label = "Sway velocity"
group = "Balance"
better = "lower"
'''
