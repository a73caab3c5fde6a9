"""station.tomlschema, the one mechanism for hand-written TOML: each accessor's message names the
file and the dotted field (with list indices) and ends with what is allowed."""

from __future__ import annotations

import doctest

import pytest

import station.tomlschema as tomlschema
from station.tomlschema import SchemaError, Table, parse_toml_text


class ClinicError(SchemaError):
    pass


def test_docstring_example_runs():
    assert doctest.testmod(tomlschema).failed == 0


def test_accessors_check_and_name_the_field():
    t = Table("f.toml", "a.b[2]", {"n": 3, "x": 1.5, "c": "red", "l": ["p", "q", "p"], "s": "  two\n  words  "},
              ClinicError)
    assert t.integer("n", lo=1, hi=5) == 3 and t.number("x", lo=0, hi=2, unit="m") == 1.5
    assert t.choice("c", ("red", "blue")) == "red" and t.choices("l", ("p", "q")) == ("p", "q")
    assert t.text("s") == "two words" and t.text("missing", required=False, default="d") == "d"
    t.finish()
    cases = [
        (lambda t: t.integer("n", lo=5, hi=9), "f.toml: a.b[2].n: 3 is out of range; allowed: 5 to 9"),
        (lambda t: t.integer("x", lo=0, hi=9), "f.toml: a.b[2].x: must be a whole number, not 1.5; allowed: 0 to 9"),
        (lambda t: t.number("c", lo=0, hi=1, unit="s"), "f.toml: a.b[2].c: must be a number, not 'red'; allowed: from 0 to 1 s"),
        (lambda t: t.choice("c", ("blue",)), "f.toml: a.b[2].c: 'red' is not allowed; allowed: 'blue'"),
        (lambda t: t.choices("l", ("p",)), "f.toml: a.b[2].l: 'q' is not allowed; allowed: 'p'"),
        (lambda t: t.text("zz"), "f.toml: a.b[2].zz: is missing; it is required"),
        (lambda t: t.sub("n"), "f.toml: a.b[2].n: must be a table ([a.b[2].n]), not a number"),
        (lambda t: t.array_of_tables("l"), "f.toml: a.b[2].l: must be an array of tables ([[a.b[2].l]]), not a list"),
    ]
    for call, message in cases:
        table = Table("f.toml", "a.b[2]", {"n": 3, "x": 1.5, "c": "red", "l": ["p", "q"]}, ClinicError)
        with pytest.raises(ClinicError) as caught:
            call(table)
        assert str(caught.value) == message


def test_unknown_keys_are_refused_with_the_closest_known_one():
    t = Table("f.toml", "", {"weeks": 2, "sesions_per_week": 3})
    t.integer("weeks", lo=1, hi=9)
    t.integer("sessions_per_week", lo=1, hi=9, required=False)
    with pytest.raises(SchemaError, match="f.toml: sesions_per_week: unknown field; did you mean 'sessions_per_week'"):
        t.finish()


def test_toml_syntax_errors_keep_tomllibs_position():
    with pytest.raises(ClinicError, match=r"x.toml: not valid TOML: .*line 2"):
        parse_toml_text("a = 1\nb = = 2\n", "x.toml", ClinicError)
