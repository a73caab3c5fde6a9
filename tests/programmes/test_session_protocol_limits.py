"""A programme's session protocol is the station's treadmill walk that measures each session, so its
sessions must be ones that walk can run. Found by an attack review: a template naming an overground
walk test (``backward-walk-3m``) as session protocol, or planning sessions longer than the 120 min
a treadmill session may be planned for, was accepted, and then every session's
``POST /api/programme-sessions/<id>/run`` was refused (422: ``walk.planned_min: applies to
treadmill sessions only`` / ``150.0 is out of range``): the programme could never be measured."""

from __future__ import annotations

import pytest

from station.programmes.template import ProgrammeError, programme_from_dict
from station.protocols.walk import WalkSettings

SOURCE = "clinic/programmes/x.toml"


def _refused(data, protocols) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as caught:
        programme_from_dict(data, SOURCE, protocols)
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("name", ["backward-walk-3m", "ten-metre-walk"])
def test_an_overground_walk_test_is_no_session_protocol(data, protocols, name):
    data["schedule"]["session_protocol"] = name
    error = _refused(data, protocols)
    assert error.field == "schedule.session_protocol"
    assert f"'{name}' is a walk test timed over a few metres by the light gates, not a session" in str(error)
    assert "allowed: a treadmill walk protocol that measures a session's dose: 'backward-treadmill'" in str(error)
    with pytest.raises(ValueError, match="applies to treadmill sessions only"):  # what each run was refused with
        WalkSettings(planned_min=30.0).check_setting(protocols[name].walk.setting, protocols[name].title)


@pytest.mark.parametrize("field, change", [
    ("schedule.minutes_per_session", lambda s: s.update(minutes_per_session=150)),
    ("schedule.progression[1].minutes_per_session", lambda s: s["progression"][1].update(minutes_per_session=121)),
])
def test_sessions_longer_than_a_treadmill_session_can_be_planned_are_refused(data, protocols, field, change):
    data["schedule"]["session_protocol"] = "backward-treadmill"
    change(data["schedule"])
    error = _refused(data, protocols)
    assert error.field == field
    assert "is longer than the 120 min a session measured by 'backward-treadmill' can last" in str(error)
    with pytest.raises(ValueError, match="out of range"):  # what each run was refused with
        WalkSettings.from_dict({"planned_min": 150.0})


def test_sessions_up_to_two_hours_or_entered_by_hand_are_kept(data, protocols):
    data["schedule"]["session_protocol"] = "backward-treadmill"
    data["schedule"]["minutes_per_session"] = 120
    assert programme_from_dict(data, SOURCE, protocols).schedule.minutes_per_session == 120
    del data["schedule"]["session_protocol"]
    data["schedule"]["minutes_per_session"] = 240  # no session protocol: the dose is entered by hand
    assert programme_from_dict(data, SOURCE, protocols).schedule.minutes_per_session == 240
