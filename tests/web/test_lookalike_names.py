"""No account and no condition tag ends in a newline (X1 finding F8, session 25): the checks matched
their rule with ``re.match`` and ``$``, which lets one trailing newline through, so an administrator
could make "ana\\n" beside "ana": two accounts that the users page, the audit log ("who viewed") and
the hub's audit (``ana@ward``) show alike, each signing in with its own password."""

from __future__ import annotations

import pytest

from station.store.audit import Actor
from station.store.db import ValidationError
from station.store.users import username_problem

from web_support import sqlite_only

BACKENDS = ("sqlite", "postgresql")

LOOKALIKES = ["ana\n", "root\n", "x\n"]


@sqlite_only("the name is checked in Python before any SQL (username_problem), the same on the hub")
@pytest.mark.parametrize("name", LOOKALIKES, ids=repr)
def test_an_account_name_with_a_trailing_newline_is_refused(admin, store, name):
    before = [u["username"] for u in store.users.list()]
    response = admin.post("/api/users", {"username": name, "password": "another long pass 99", "role": "clinician"})
    assert response.status_code == 422 and "username" in response.json["fields"], response.json
    assert [u["username"] for u in store.users.list()] == before
    assert username_problem(name) is not None and username_problem(name.rstrip("\n")) is None


@sqlite_only("the first administrator's name is checked in Python before any SQL, the same on the hub")
def test_the_first_administrator_cannot_have_a_trailing_newline(store):
    with pytest.raises(ValidationError):
        store.users.create_first_admin("root\n", "a long password 1234", actor=Actor(None, "setup"))
    assert store.users.count() == 0


@sqlite_only("condition tags are checked in Python before any SQL (condition_problem), the same on the hub")
def test_a_condition_tag_with_a_trailing_newline_is_refused(clinician, store):
    response = clinician.post("/api/patients", {"identifier": "NL-1", "birth_year": 1950, "sex": "F",
                                                "conditions": ["other:x\n"]})
    assert response.status_code == 422, response.json
    ok = clinician.post("/api/patients", {"identifier": "NL-1", "birth_year": 1950, "sex": "F", "conditions": ["other:x"]})
    assert ok.status_code == 201 and ok.json["conditions"] == ["other:x"]
