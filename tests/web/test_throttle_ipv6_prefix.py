"""The per-address limits count an IPv6 client's whole /64, not each of its addresses.

An IPv6 host picks any address of its /64 at will (SLAAC, privacy addresses), so 20 failed sign-ins
per address were 20 per address *it chose to use*: no limit. ``web.throttle.address_key`` keys an
IPv6 address by its /64 (an IPv4-mapped one as its IPv4 address, IPv4 as itself), for sign-in,
first-run setup, the sign-in guard's known addresses and the hub's bad station tokens.
"""

from __future__ import annotations

import pytest

from station.sync.hub import Hub
from web.throttle import SignInGuard, address_key
from web_support import CLINICIAN_PW, ApiClient


def _sign_in(app, address: str, password: str, username: str = "ana"):
    client = ApiClient(app.test_client())
    client.client.environ_base["REMOTE_ADDR"] = address
    return client.login(username, password)


def test_address_keys():
    assert address_key("2001:db8:aa:bb::1") == address_key("2001:db8:aa:bb:ffff:ffff:ffff:fffe") == "2001:db8:aa:bb::/64"
    assert address_key("2001:db8:aa:bc::1") == "2001:db8:aa:bc::/64"  # the next /64: apart
    assert address_key("fe80::1%eth0") == address_key("fe80::2") == "fe80::/64"
    assert address_key("::ffff:10.0.0.9") == address_key("10.0.0.9") == "10.0.0.9"
    assert address_key("10.0.0.10") == "10.0.0.10"  # IPv4: each address its own
    assert address_key("") == address_key(None) == "unknown"
    assert address_key("not an address") == "not an address"


def test_twenty_failed_sign_ins_from_one_64_lock_the_whole_64_not_another(app, accounts):
    """Each failure from a new address of one /64 (and other accounts: the pair limit of 5 is not what
    stops it) counts against the /64; the right password from a fresh address of it is then refused,
    from the next /64 admitted. Before, each address was counted alone: the 21st got 401, the right
    password 200."""
    for i in range(20):
        assert _sign_in(app, f"2001:db8:5:1::{i + 1:x}", "wrong password", f"guess{i}").status_code == 401
    r = _sign_in(app, "2001:db8:5:1:dead:beef:0:1", CLINICIAN_PW)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900, r.json
    assert _sign_in(app, "2001:db8:5:2::1", CLINICIAN_PW).status_code == 200


def test_an_ipv4_mapped_address_is_its_ipv4_address(app, accounts):
    for i in range(5):  # the account+address pair's 5, half of them by the mapped spelling
        address = "::ffff:192.0.2.40" if i % 2 else "192.0.2.40"
        assert _sign_in(app, address, "wrong password").status_code == 401
    assert _sign_in(app, "::ffff:192.0.2.40", CLINICIAN_PW).status_code == 429
    assert _sign_in(app, "192.0.2.41", CLINICIAN_PW).status_code == 200


def test_first_run_setup_attempts_are_counted_per_64(app, store):
    """10 setup attempts per address in 15 min (a wrong setup code each): the 11th, from a fresh
    address of the same /64, is refused 429; from the next /64 it is checked (403, the code)."""
    from station.store.setup_code import code_path

    code_path(store.data_dir).write_text("1234-5678-9012\n")

    def attempt(address):
        client = ApiClient(app.test_client())
        client.client.environ_base["REMOTE_ADDR"] = address
        client.refresh_csrf()
        return client.post("/api/setup", {"username": "boss", "password": "long enough 1", "setup_code": "0000"})

    answers = [attempt(f"2001:db8:7:7::{i + 1:x}") for i in range(11)]
    assert [a.status_code for a in answers] == [403] * 10 + [429], [a.json for a in answers]
    assert "setup code" in answers[0].json["error"] and "too many setup attempts" in answers[10].json["error"]
    r = attempt("2001:db8:7:8::1")
    assert r.status_code == 403 and "setup code" in r.json["error"]


def test_a_tablet_known_by_its_64_stays_known_when_its_privacy_address_changes():
    """The pace spares an address the account signed in from; a tablet's IPv6 privacy address changes
    (daily), its /64 does not. Also when read back from the audit log's full addresses at start."""
    guard = SignInGuard(lambda: 1000.0)
    guard.remember_sign_ins([{"username": "Ana", "address": "2001:db8:9:9:1111:2222:3333:4444",
                              "at": "2026-12-06T10:00:00Z"}], now_s=1796554800.0)
    assert guard.known("ana", address_key("2001:db8:9:9:aaaa:bbbb:cccc:dddd"))
    assert not guard.known("ana", address_key("2001:db8:9:a:1111:2222:3333:4444"))


@pytest.mark.parametrize("backend", ["postgresql"])
def test_bad_station_tokens_from_one_64_are_throttled_together(app, store):
    """The hub's 20 bad station tokens in 15 min per address: from 20 addresses of one /64 the 21st
    (any address of it) gets 429, another /64 is still answered 401, and a valid token is served."""
    token = Hub(store).add_station("gym")
    client = app.test_client()

    def ask(address, bearer="bst_wrong"):
        return client.get("/api/hub/tombstones?after=0&keyed=1", headers={"Authorization": f"Bearer {bearer}"},
                          environ_base={"REMOTE_ADDR": address})

    codes = [ask(f"2001:db8:c:d::{n + 1:x}").status_code for n in range(21)]
    assert codes == [401] * 20 + [429], codes
    assert ask("2001:db8:c:d:1:2:3:4").status_code == 429
    assert ask("2001:db8:c:e::1").status_code == 401
    assert ask("2001:db8:c:d::99", token).status_code == 200
