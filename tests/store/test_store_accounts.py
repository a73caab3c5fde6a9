"""Accounts: password hashing and policy, users, login sessions and their expiry."""

from __future__ import annotations

import pytest

from station.store.audit import Actor
from station.store.db import Conflict, NotFound, ValidationError
from station.store.logins import touch_interval_s
from station.store.passwords import (
    DEFAULT_COST,
    ScryptCost,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)

from clinic_data import CHEAP_COST

ADMIN = Actor(None, "cli:root")
PW = "correct horse battery"


# -- passwords ---------------------------------------------------------------------------------


def test_default_cost_is_an_owasp_scrypt_setting():
    # OWASP Password Storage Cheat Sheet: N=2^17,r=8,p=1 or the equivalent 2^16/8/2, 2^15/8/3, 2^14/8/5, 2^13/8/10
    owasp = {(17, 8, 1), (16, 8, 2), (15, 8, 3), (14, 8, 5), (13, 8, 10)}
    assert (DEFAULT_COST.log2_n, DEFAULT_COST.r, DEFAULT_COST.p) in owasp


def test_hash_with_default_cost_verifies_and_is_salted():
    stored = hash_password(PW)
    assert stored.startswith("scrypt$15$8$3$")
    assert verify_password(PW, stored)
    assert not verify_password(PW + "x", stored)
    assert hash_password(PW) != stored  # a new salt each time
    assert not needs_rehash(stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "scrypt$15$8$3$abc", "bcrypt$1$2$3$4$5", "scrypt$x$8$3$AAAA$AAAA", "scrypt$40$8$1$AAAA$" + "A" * 43],
)
def test_malformed_stored_hash_never_matches(stored):
    assert not verify_password(PW, stored)
    assert needs_rehash(stored)


OUT_OF_RANGE = ["scrypt$22$32$16$", "scrypt$20$8$16$", "scrypt$18$8$1$", "scrypt$15$8$13$", "scrypt$9999$8$1$",
                "scrypt$15$8$-1$", "scrypt$0$8$1$", "scrypt$15$0$1$"]
"""Costs the station never makes (a restored or edited database): 22/32/16 made hashlib raise
("maxmem must be ..."), 20/8/16 costs 1 GiB and ~100 s."""


@pytest.mark.parametrize("prefix", OUT_OF_RANGE)
def test_a_hash_of_a_cost_out_of_range_never_matches_and_is_never_computed(prefix, monkeypatch):
    import station.store.passwords as passwords

    def refuse(*args):
        raise AssertionError("hashed with a cost out of range")

    stored = prefix + "A" * 22 + "$" + "A" * 43
    monkeypatch.setattr(passwords, "_scrypt", refuse)
    assert verify_password(PW, stored) is False
    assert needs_rehash(stored)
    assert not passwords.hash_is_usable(stored)


def test_the_dearest_cost_in_range_still_verifies():
    from station.store.passwords import MAX_COST_FACTOR, cost_in_range

    assert MAX_COST_FACTOR == 4
    dearest = ScryptCost(17, 8, 3)  # 4 x the default's work, 128 MiB
    assert cost_in_range(dearest) and not cost_in_range(ScryptCost(17, 8, 4)) and not cost_in_range(ScryptCost(18, 8, 1))
    assert verify_password(PW, hash_password(PW, ScryptCost(15, 8, 4)))


def test_cheaper_hash_needs_rehash():
    assert needs_rehash(hash_password(PW, CHEAP_COST))
    assert not needs_rehash(hash_password(PW, CHEAP_COST), CHEAP_COST)


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short", "at least 10"),
        ("x" * 257, "at most 256"),
        (" " * 12, "only spaces"),
        ("Ana walks at 9", None),
        ("password12", "most common"),
        ("1234567890", "most common"),
        ("aaaaaaaaaa", "repeated"),
        ("Anaanaana1", "repeated"),
        ("0987654321", "keyboard"),
        ("zyxwvutsrq", "keyboard"),
        ("Welcome2024!", "common word"),
        ("AnaAnaAnaAna2", "user name"),
        ("1122334411", "different characters"),
        ("ok\ud800ok ok ok", "Unicode"),
        ("anaanaanaana", "user name"),
        (12345678901, "string"),
    ],
)
def test_password_policy(password, problem):
    result = password_problem(password, "AnaAnaAnaAna")
    if problem is None:
        assert result is None
    else:
        assert problem in result


# -- users ---------------------------------------------------------------------------------------


def test_no_accounts_until_setup_and_first_admin_only_once(store):
    assert store.users.count() == 0
    admin = store.users.create_first_admin("root", PW, actor=ADMIN)
    assert admin["role"] == "admin" and "password_hash" not in admin
    with pytest.raises(Conflict, match="already set up"):
        store.users.create_first_admin("second", PW, actor=ADMIN)
    assert store.users.count() == 1


@pytest.mark.parametrize(
    "username, password, role, field",
    [
        ("", PW, "admin", "username"),
        ("has space", PW, "admin", "username"),
        ("x" * 65, PW, "admin", "username"),
        (None, PW, "admin", "username"),
        ("ana", "short", "admin", "password"),
        ("ana", PW, "superuser", "role"),
    ],
)
def test_create_user_validates(store, username, password, role, field):
    with pytest.raises(ValidationError) as info:
        store.users.create(username, password, role, actor=ADMIN)
    assert field in info.value.fields
    assert store.users.count() == 0


def test_user_names_are_unique_ignoring_case(store):
    store.users.create("Ana", PW, "clinician", actor=ADMIN)
    with pytest.raises(Conflict, match="already exists"):
        store.users.create("ana", PW, "admin", actor=ADMIN)
    assert store.users.get_by_name("ANA")["username"] == "Ana"


def test_authenticate(store):
    store.users.create("ana", PW, "clinician", actor=ADMIN)
    assert store.users.authenticate("ana", PW)["last_login_at"] is not None
    assert store.users.authenticate("ana", "wrong password!") is None
    assert store.users.authenticate("nobody", PW) is None


def test_login_upgrades_a_cheaper_hash(tmp_path, wall):
    from station.store.store import Store

    with Store.open(tmp_path / "d", wall_clock=wall, password_cost=CHEAP_COST) as s:
        s.users.create("ana", PW, "clinician", actor=ADMIN)
    stronger = ScryptCost(5, 8, 1)
    with Store.open(tmp_path / "d", wall_clock=wall, password_cost=stronger) as s:
        assert s.users.authenticate("ana", PW) is not None
        with s.db.read() as conn:
            stored = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("scrypt$5$8$1$") and verify_password(PW, stored)


def test_last_active_admin_cannot_be_disabled_or_demoted(store):
    root = store.users.create_first_admin("root", PW, actor=ADMIN)
    with pytest.raises(Conflict, match="last active administrator"):
        store.users.update(root["id"], disabled=True, actor=ADMIN)
    with pytest.raises(Conflict, match="last active administrator"):
        store.users.update(root["id"], role="clinician", actor=ADMIN)
    other = store.users.create("boss", PW, "admin", actor=ADMIN)
    assert store.users.update(root["id"], disabled=True, actor=ADMIN)["disabled"] is True
    with pytest.raises(Conflict):
        store.users.update(other["id"], disabled=True, actor=ADMIN)


def test_disabled_user_cannot_sign_in_and_loses_sessions(store):
    store.users.create_first_admin("root", PW, actor=ADMIN)
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _csrf = store.logins.create(ana["id"], "10.0.0.2")
    assert store.logins.resolve(token, 900) is not None
    store.users.update(ana["id"], disabled=True, actor=ADMIN)
    assert store.logins.resolve(token, 900) is None
    assert store.users.authenticate("ana", PW) is None
    store.users.update(ana["id"], disabled=False, actor=ADMIN)
    assert store.users.authenticate("ana", PW) is not None
    details = [e["detail"] for e in store.audit.query(action="user.update")]
    assert details == [{"changed": ["disabled"], "disabled": False}, {"changed": ["disabled"], "disabled": True}]


def test_password_change_ends_sessions_and_needs_current_password(store):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _ = store.logins.create(ana["id"], None)
    with pytest.raises(ValidationError) as info:
        store.users.change_own_password(ana["id"], "not it at all", "a brand new password", actor=ADMIN)
    assert "current_password" in info.value.fields
    assert store.logins.resolve(token, 900) is not None
    store.users.change_own_password(ana["id"], PW, "a brand new password", actor=ADMIN)
    assert store.logins.resolve(token, 900) is None
    assert store.users.authenticate("ana", "a brand new password") is not None
    assert store.users.authenticate("ana", PW) is None


def test_unknown_user(store):
    with pytest.raises(NotFound, match="users list"):
        store.users.get_by_name("ghost")
    with pytest.raises(NotFound):
        store.users.update(99, disabled=True, actor=ADMIN)


# -- login sessions ------------------------------------------------------------------------------


def test_session_expires_after_inactivity(store, wall):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, csrf = store.logins.create(ana["id"], None)
    wall.advance(14 * 60)
    session = store.logins.resolve(token, 15 * 60)
    assert session.username == "ana" and session.csrf_token == csrf
    wall.advance(14 * 60)  # activity 14 min ago: still alive
    assert store.logins.resolve(token, 15 * 60) is not None
    wall.advance(15 * 60 + 1)
    assert store.logins.resolve(token, 15 * 60) is None
    wall.advance(-20 * 60)  # even if the clock came back, the expired session is gone
    assert store.logins.resolve(token, 15 * 60) is None


def test_a_session_last_seen_in_the_future_has_ended(store, wall):
    """Signed in while the clock ran ahead, then the clock set back 2 days (a Pi without a real-time
    clock, NTP): the session ends (it lived 2 days and 15 min), as a small correction does not."""
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _ = store.logins.create(ana["id"], None)
    wall.advance(-60)  # FUTURE_TOLERANCE_S: still fine
    assert store.logins.resolve(token, 15 * 60) is not None
    wall.advance(-2 * 86_400)
    assert store.logins.resolve(token, 15 * 60) is None
    from station.store.logins import ENDED_CLOCK, FUTURE_TOLERANCE_S

    assert FUTURE_TOLERANCE_S == 60
    assert store.logins.resolve_or_ended(token, 15 * 60) == ENDED_CLOCK  # deleted when it ended, its reason kept
    clocked, _ = store.logins.create(ana["id"], None)
    wall.advance(-FUTURE_TOLERANCE_S - 1)
    assert store.logins.resolve_or_ended(clocked, 15 * 60) == ENDED_CLOCK
    wall.advance(2 * 86_400)
    assert store.logins.resolve(token, 15 * 60) is None
    other, _ = store.logins.create(ana["id"], None)  # never used again: purged with the idle ones
    wall.advance(-2 * 86_400)
    assert store.logins.purge_expired(15 * 60) == 1
    assert store.logins.resolve(other, 15 * 60) is None


def test_background_requests_do_not_extend_a_session(store, wall):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _ = store.logins.create(ana["id"], None)
    for _ in range(10):
        wall.advance(2 * 60)
        store.logins.resolve(token, 15 * 60, touch=False)
    assert store.logins.resolve(token, 15 * 60, touch=False) is None  # 20 min without user activity


def test_touch_interval_bounds_early_expiry():
    assert touch_interval_s(15 * 60) == 30.0
    assert touch_interval_s(60) == 6.0


def test_logout_and_unknown_tokens(store):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _ = store.logins.create(ana["id"], None)
    assert store.logins.resolve("not-a-token", 900) is None
    store.logins.end(token)
    assert store.logins.resolve(token, 900) is None


def test_only_token_hashes_are_stored(store):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    token, _ = store.logins.create(ana["id"], None)
    with store.db.read() as conn:
        stored = conn.execute("SELECT token_hash FROM login_sessions").fetchone()[0]
    assert token.encode() not in bytes(stored) and len(stored) == 32


def test_purge_expired(store, wall):
    ana = store.users.create("ana", PW, "clinician", actor=ADMIN)
    store.logins.create(ana["id"], None)
    wall.advance(3600)
    store.logins.create(ana["id"], None)
    assert store.logins.purge_expired(900) == 1
