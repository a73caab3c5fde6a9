"""A stranger asking from many addresses cannot lock the clinician out at the tablet (s28 X7).

The account's pace (one attempt every 2 s after 10 failures in 15 min, from anywhere) was shared by
everyone trying the account: a stranger who kept asking from fresh addresses (each address's 5
failures bought 10 s of the pace; an IPv6 prefix holds any number of addresses) took the pace's
attempt each time, and the clinician's right password at the tablet was refused (429) every time:
39 of 39 sign-ins in 20 s against the running station. An address the account signed in from is
now not paced (web.throttle.SignInGuard), also after a restart (read from the audit log).
"""

from __future__ import annotations

from web import create_app
from web_support import CLINICIAN_PW, ApiClient

import clinic_data


def _attempt(app, address: str, password: str, username: str = "ana"):
    client = ApiClient(app.test_client())
    client.client.environ_base["REMOTE_ADDR"] = address
    return client.login(username, password)


def _stranger_takes_the_pace(app, first: int = 0) -> None:
    """10 failures from two addresses (5 each: their pair limits), then one more from a third, which
    the pace admits: the account's next attempt from anywhere unknown is due 2 s later."""
    for i in range(10):
        assert _attempt(app, f"10.66.{first + i // 5}.1", "guess guess guess").status_code == 401
    assert _attempt(app, f"10.66.{first + 2}.1", "guess guess guess").status_code == 401


def test_the_tablet_signs_in_while_a_stranger_keeps_the_pace_busy(app, accounts, ticks):
    tablet = "10.0.0.5"
    assert _attempt(app, tablet, CLINICIAN_PW).status_code == 200  # the clinician's morning sign-in
    _stranger_takes_the_pace(app)
    r = _attempt(app, tablet, CLINICIAN_PW)
    assert r.status_code == 200, r.json  # was 429 "too many failed sign-in attempts; try again in 2 s"
    # an address the account never signed in from is paced as before
    r = _attempt(app, "10.0.0.77", CLINICIAN_PW)
    assert r.status_code == 429 and r.headers["Retry-After"] in ("1", "2")
    ticks.advance(2.5)
    assert _attempt(app, "10.0.0.77", CLINICIAN_PW).status_code == 200
    # the tablet's own failures are still limited as a pair: 5, then 429 even for the right password
    for _ in range(5):
        assert _attempt(app, tablet, "wrong wrong wrong").status_code == 401
    assert _attempt(app, tablet, CLINICIAN_PW).status_code == 429


def test_the_tablet_stays_known_after_a_restart_and_forgotten_after_30_days(app, accounts, store, wall, ticks):
    tablet = "10.0.0.5"
    assert _attempt(app, tablet, CLINICIAN_PW).status_code == 200
    wall.advance(86_400)

    def restarted():
        return create_app({"STORE": store, "PASSWORD_COST": clinic_data.CHEAP_COST, "WALL_CLOCK": wall,
                           "THROTTLE_CLOCK": ticks, "TESTING": True, "SECRET_KEY": "restart"})

    again = restarted()  # a new process: its limits start empty, the audit log's sign-ins are read
    _stranger_takes_the_pace(again)
    assert _attempt(again, tablet, CLINICIAN_PW).status_code == 200

    wall.advance(31 * 86_400)
    ticks.advance(3600)  # the stranger's failures have left their window
    later = restarted()
    _stranger_takes_the_pace(later, first=10)
    assert _attempt(later, tablet, CLINICIAN_PW).status_code == 429  # not seen for 31 days: paced as anyone
