"""Signing in and out, first-run setup and the user's own account: pages and JSON API.

Pages (HTML forms with a CSRF field): ``/setup`` (first administrator; only while no account
exists), ``/login``, ``POST /logout``, ``/account`` (who am I, change password, sign out everywhere
else: ``POST /account/sign-out-others``).
API: ``GET /api/session``, ``POST /api/login``, ``POST /api/logout``, ``POST /api/setup``,
``POST /api/account/password``, ``POST /api/account/sign-out-others``. See ``docs/api.md``.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import RequestRedirect

from station import __version__
from station.protocols.service import trial_running
from station.store.audit import Actor
from station.store.db import Conflict, DatabaseBusy, DiskFull, NotFound, StorageFailed, ValidationError
from station.store.logins import MAX_AGE_S, PasswordChanged
from station.store.passwords import MAX_PASSWORD_CHARS, RESET_PASSWORD_WORDS, PasswordUnusable
from station.store.passwords import priority as hashing_priority
from station.store import setup_code
from web.jsonio import json_body
from web.throttle import address_key
from web.security import (
    CLOCK_SET_BACK_WORDS,
    ENDED_ON_PURPOSE,
    MAX_AGE_WORDS,
    actor,
    anonymous_csrf_token,
    api_error,
    background,
    current_user,
    public,
    safe_next,
    session_timeout_min,
    signed_out_unstored,
    store,
)

bp = Blueprint("auth", __name__)


class LoginRefused(Exception):
    def __init__(self, status: int, message: str, retry_after_s: int | None = None):
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(message)


SIGN_IN_FAILED = "wrong user name or password, or the account is disabled"
"""What any refused sign-in says to the person signing in: an unknown account, a wrong password, a
disabled account, and an account whose stored password cannot be checked alike."""


def _guard():
    return current_app.extensions["station_sign_in_guard"]


def _address() -> str:
    """The client's address as the per-address limits count it (:func:`web.throttle.address_key`: an
    IPv6 client's /64)."""
    return address_key(request.remote_addr)


def _sign_in(username: str, password: str) -> tuple[dict, str]:
    """Check the credentials under the rate limits and open a login session.

    Returns (user, csrf_token); raises LoginRefused (401 or 429).
    """
    guard = _guard()
    account_key = username.casefold()
    address = _address()
    wait = guard.retry_after_s(account_key, address)
    if wait:
        raise LoginRefused(429, f"too many failed sign-in attempts; try again in {wait} s", wait)
    unusable = changed = False
    try:
        with hashing_priority(guard.known(account_key, address)):  # the tablets wait in places of their own
            user = store().users.authenticate(username, password)
    except PasswordUnusable:  # the person signing in is told no more than for any failure (the account exists)
        user, unusable = None, True
    if user is not None:
        store().logins.purge_expired(session_timeout_min() * 60.0)
        try:  # only while the password checked is still the account's (a change meanwhile ended every session)
            token, csrf = store().logins.create(user["id"], request.remote_addr,
                                                checked=user["password_checked"])
        except PasswordChanged:
            user, changed = None, True
    if user is None:
        guard.failure(account_key, address)
        try:
            known = store().users.get_by_name(username)
            who = Actor(known["id"], known["username"], request.remote_addr)
        except NotFound:
            who = Actor(None, "(unknown account)", request.remote_addr)
        reason = ("stored password hash cannot be checked" if unusable
                  else "password changed or account disabled while it was checked" if changed else None)
        store().audit.record(who, "user.login_failed", detail={"reason": reason} if reason else None)
        if unusable:  # for the administrator: which account, and what to do (a user name is no patient data)
            current_app.logger.warning(
                "sign-in refused for account %s: its stored password hash cannot be checked (malformed, or of a cost "
                "this station never makes, e.g. from a restored backup); %s", who.username,
                RESET_PASSWORD_WORDS.format(name=who.username, where=" --database URL" if current_app.config.get("HUB")
                                            else ""))
        else:
            current_app.logger.info("failed sign-in from %s", address)
        raise LoginRefused(401, SIGN_IN_FAILED)
    guard.success(account_key, address)
    session.clear()  # a new session: no fixation
    session["sid"] = token
    store().audit.record(Actor(user["id"], user["username"], request.remote_addr), "user.login")
    current_app.logger.info("user %s signed in", user["username"])
    return user, csrf


def _setup_attempt() -> None:
    """Count a first-run setup attempt of this address; LoginRefused (429) past the limit.

    Setup is open to anyone until the first account exists, and each attempt hashes a password:
    a few attempts per address are plenty for a person."""
    throttle = current_app.extensions["station_setup_throttle"]
    wait = throttle.retry_after_s(_address())
    if wait:
        raise LoginRefused(429, f"too many setup attempts from this address; try again in {wait} s", wait)
    throttle.failure(_address())


def _public_user(user) -> dict:
    if isinstance(user, dict):
        return {"id": user["id"], "username": user["username"], "role": user["role"]}
    return {"id": user.user_id, "username": user.username, "role": user.role}


def _credentials(data: dict) -> tuple[str, str]:
    problems = {}
    for key, limit in (("username", 64), ("password", MAX_PASSWORD_CHARS)):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            problems[key] = "is required (a non-empty string)"
        elif len(value) > limit:
            problems[key] = f"must be at most {limit} characters"
    unknown = [k for k in data if k not in ("username", "password")]
    for key in unknown:
        problems[str(key)[:40]] = "unknown field; allowed: username, password"
    if problems:
        raise ValidationError(problems)
    return data["username"], data["password"]


# -- API ---------------------------------------------------------------------------------------


@bp.get("/api/session")
@public
def api_session():
    user = current_user()
    if user is None:
        return {
            "authenticated": False,
            "expired": bool(g.get("station_session_expired", False)),
            "setup_required": store().users.count() == 0,
            "csrf_token": anonymous_csrf_token(),
        }  # no software version before signing in: it tells an outsider which release's flaws to try
    timeout_min = session_timeout_min()
    return {
        "authenticated": True,
        "user": _public_user(user),
        "csrf_token": user.csrf_token,
        "session_timeout_min": timeout_min,
        "station_version": __version__,
    }


def _login_response(user: dict, csrf: str) -> dict:
    return {
        "authenticated": True,
        "user": _public_user(user),
        "csrf_token": csrf,
        "session_timeout_min": session_timeout_min(),
    }


def _refusal(exc: LoginRefused) -> Response:
    response = api_error(exc.status, str(exc), **({"retry_after_s": exc.retry_after_s} if exc.retry_after_s else {}))
    if exc.retry_after_s:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


@bp.post("/api/login")
@public
def api_login():
    username, password = _credentials(json_body())
    try:
        user, csrf = _sign_in(username, password)
    except LoginRefused as exc:
        return _refusal(exc)
    return _login_response(user, csrf)


@bp.post("/api/logout")
@background  # signing out is no activity: its last-activity time is not written first (a write that can fail)
def api_logout():
    if not _sign_out():
        return {"signed_out": True, "recorded": False, "message": SIGN_OUT_UNRECORDED}
    return "", 204


SIGN_OUT_UNRECORDED = ("you are signed out on this browser; the station could not record the sign-out (its storage "
                       "failed to write or is full): tell the administrator")
"""What a sign-out says when the station could not store it (the browser is signed out all the same)."""

SIGNED_OUT_ELSEWHERE = ("You were signed out from another tab, window or device, by a change of your password or by "
                        "an administrator; please sign in again.")
"""What the sign-in page says when a page's login session was ended on purpose elsewhere, the station not knowing how
(signed out in another tab of the same browser; or by another program, such as the command line)."""

_ENDED_ON_PURPOSE_WORDS = dict(ENDED_ON_PURPOSE.values())
"""The sign-in page's words for ``signed_out=others|password|disabled`` (:data:`web.security.ENDED_ON_PURPOSE`)."""


def _sign_out() -> bool:
    """End this browser's login session: its cookie is cleared whatever the store says, so that on a
    full disk or a failing SD card the next person at a shared tablet is not signed in as this user.
    Returns False when the end of the session (and its audit entry) could not be stored: this process
    then refuses the session (:func:`web.security.signed_out_unstored`) and the database's row of it
    ends by itself after the inactivity timeout.

    The ended token is not kept in the cookie (weighed in s33, so that the browser's other tabs, whose next
    request carries no session, would be told "signed out in another tab" rather than shown a sign-in page
    without words): a browser's tabs share one cookie, so every later page of the tab that signed out (Back,
    a bookmark, the next person at a shared tablet) would say it was signed out in another tab, and after 12 h,
    its reason forgotten, "after inactivity" (tests/web/test_session_ended_reason_api.py)."""
    user = current_user()
    token = session.get("sid")
    session.clear()
    try:
        if token:
            store().logins.end(token)
        if user is not None:
            store().audit.record(actor(), "user.logout")
    except (DiskFull, StorageFailed, DatabaseBusy) as exc:
        if token:
            signed_out_unstored(token)  # a copy of the cookie signs in no more, in this process
        current_app.logger.warning("a sign-out was not stored (%s); the browser is signed out", type(exc).__name__)
        return False
    return True


@bp.post("/api/setup")
@public
def api_setup():
    body = dict(json_body())
    given_code = body.pop("setup_code", None)  # asked for on an installed station (web.setup_code)
    username, password = _credentials(body)
    if store().users.count() > 0:  # cheap checks first: no hashing, no counting on a set-up station
        raise Conflict("the station is already set up; sign in, or ask an administrator for an account")
    try:
        _setup_attempt()
    except LoginRefused as exc:
        return _refusal(exc)
    wrong_code = setup_code.refusal(store().data_dir, given_code)
    if wrong_code:
        return api_error(403, wrong_code)
    store().users.create_first_admin(username, password, actor=Actor(None, "setup", request.remote_addr))
    setup_code.used(store().data_dir)
    try:
        user, csrf = _sign_in(username, password)
    except LoginRefused as exc:
        return _refusal(exc)
    return _login_response(user, csrf), 201


def _sign_out_others() -> int:
    """End every other login session of the signed-in user (other browsers, tablets, a stolen cookie), this
    one kept; audited as ``user.logout`` with ``detail`` ``{"others": n}`` (a count, no patient data); returns
    n. Their pages are taken to the sign-in page at their next request, an open live view within its next
    check of the session (5 s), as a disabled account's are."""
    ended = store().logins.end_others(current_user().user_id, session.get("sid"))
    store().audit.record(actor(), "user.logout", detail={"others": ended})
    current_app.logger.info("user %s signed out %d other session(s)", current_user().username, ended)
    return ended


def sign_out_others_words(ended: int) -> str:
    """What the account page says after "Sign out everywhere else" ended ``ended`` sessions.

    >>> sign_out_others_words(0)
    'You were signed in nowhere else: nothing was ended. You stay signed in here.'
    >>> sign_out_others_words(2)
    'Signed out everywhere else: 2 other sign-ins were ended. You stay signed in here.'
    """
    if ended == 0:
        return "You were signed in nowhere else: nothing was ended. You stay signed in here."
    what = "1 other sign-in was" if ended == 1 else f"{ended} other sign-ins were"
    return f"Signed out everywhere else: {what} ended. You stay signed in here."


@bp.post("/api/account/sign-out-others")
def api_sign_out_others():
    ended = _sign_out_others()
    return {"ended": ended, "message": sign_out_others_words(ended)}


@bp.post("/api/account/password")
def api_change_password():
    data = json_body()
    unknown = [k for k in data if k not in ("current_password", "new_password")]
    problems = {str(k)[:40]: "unknown field; allowed: current_password, new_password" for k in unknown}
    for key in ("current_password", "new_password"):
        if not isinstance(data.get(key), str):
            problems[key] = "is required (a string)"
    if problems:
        raise ValidationError(problems)
    try:
        return _change_password(data["current_password"], data["new_password"])
    except LoginRefused as exc:
        return _refusal(exc)


def _change_password(current: str, new: str) -> dict:
    """Change the signed-in user's password. Wrong current passwords are limited per account
    (5 in 15 min, then LoginRefused 429): a stolen session must not become a password oracle."""
    user = current_user()
    throttle = current_app.extensions["station_password_change_throttle"]
    key = str(user.user_id)
    wait = throttle.retry_after_s(key)
    if wait:
        raise LoginRefused(429, f"too many wrong current passwords; try again in {wait} s", wait)
    try:
        store().users.change_own_password(user.user_id, current, new, actor=actor())
    except ValidationError as exc:
        if "current_password" in exc.fields:
            throttle.failure(key)
        raise
    throttle.success(key)
    # Every session of the account ended (a stolen one too); open a fresh one for this browser.
    session.clear()
    token, csrf = store().logins.create(user.user_id, request.remote_addr)
    session["sid"] = token
    g.station_user = replace(user, csrf_token=csrf)
    return {"csrf_token": csrf}


# -- pages -------------------------------------------------------------------------------------


def _home() -> str:
    """Where to go after signing in: the dashboard at ``/`` once it exists, else the account page."""
    try:
        current_app.url_map.bind("").match("/", method="GET")
    except RouteNotFound:
        return url_for("auth.account_page")
    except (RequestRedirect, MethodNotAllowed):  # "/" exists all the same
        pass
    return "/"


def _trial_running_words() -> str | None:
    """What the sign-in page says while a trial counts down or records on this station (no
    patient data: the page is public), or None."""
    service = current_app.config.get("TRIAL_SERVICE")
    status = service.status() if service is not None else None
    if status is None or not trial_running(status):
        return None
    button = " (or press the station's button)" if status["panel"]["present"] else ""
    return ("A trial is being recorded on this station now. Stop is one sign-in away: sign in, and the live view "
            f"shows Stop{button}.")


@bp.route("/login", methods=["GET", "POST"])
@public
def login_page():
    if store().users.count() == 0:
        return redirect(url_for("auth.setup_page"))
    next_path = safe_next(request.values.get("next")) or _home()
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_path)
        message = None
        if request.args.get("expired") == "clock":
            message = CLOCK_SET_BACK_WORDS.capitalize() + "; please sign in again."
        elif request.args.get("expired") == "age":
            message = MAX_AGE_WORDS.capitalize() + "; please sign in again."
        elif request.args.get("expired"):
            message = "Your session ended after inactivity; please sign in again."
        elif request.args.get("signed_out") == "unrecorded":
            message = SIGN_OUT_UNRECORDED[:1].upper() + SIGN_OUT_UNRECORDED[1:] + "."
        elif request.args.get("signed_out") == "elsewhere":  # a live view's session ended (web.live.logout_reason)
            message = SIGNED_OUT_ELSEWHERE
        elif (said := _ENDED_ON_PURPOSE_WORDS.get(request.args.get("signed_out"))) is not None:
            message = said  # ended on purpose from elsewhere: "Sign out everywhere else", password, disabled
        running = _trial_running_words()
        if running and not safe_next(request.values.get("next")):
            next_path = url_for("pages.live_page")  # where Stop is
        return render_template("login.html", next=next_path, message=message, running=running)
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    if not username or not password or len(username) > 64 or len(password) > MAX_PASSWORD_CHARS:
        return render_template("login.html", next=next_path, error="Enter your user name and password."), 400
    try:
        _sign_in(username, password)
    except LoginRefused as exc:
        response = Response(render_template("login.html", next=next_path, error=str(exc).capitalize() + "."), exc.status)
        if exc.retry_after_s:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return redirect(next_path)


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup_page():
    if store().users.count() > 0:
        if request.method == "GET":
            return redirect(url_for("auth.login_page"))
        return Response("The station is already set up; sign in instead.", 409, mimetype="text/plain")
    code_required = setup_code.required(store().data_dir)
    if request.method == "GET":
        return render_template("setup.html", code_required=code_required)
    try:
        _setup_attempt()
    except LoginRefused as exc:
        response = Response(str(exc).capitalize() + ".", exc.status, mimetype="text/plain")
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    username = request.form.get("username", "")
    wrong_code = setup_code.refusal(store().data_dir, request.form.get("setup_code"))
    if wrong_code:
        return render_template("setup.html", username=username, code_required=True,
                               error=wrong_code[:1].upper() + wrong_code[1:] + "."), 403
    password = request.form.get("password", "")
    if password != request.form.get("password_repeat", ""):
        return render_template("setup.html", username=username, code_required=code_required,
                               error="The two passwords differ."), 422
    try:
        store().users.create_first_admin(username, password, actor=Actor(None, "setup", request.remote_addr))
    except ValidationError as exc:
        errors = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in exc.fields.items())
        return render_template("setup.html", username=username, code_required=code_required,
                               error=errors[:1].upper() + errors[1:] + "."), 422
    except Conflict as exc:
        return Response(str(exc), 409, mimetype="text/plain")
    setup_code.used(store().data_dir)
    try:
        _sign_in(username, password)
    except LoginRefused:
        return redirect(url_for("auth.login_page"))
    return redirect(_home())


@bp.post("/logout")
@background  # as /api/logout: no write before the sign-out
def logout_page():
    if not _sign_out():
        return redirect(url_for("auth.login_page", signed_out="unrecorded"))
    return redirect(url_for("auth.login_page"))


def _account_page(**words) -> str:
    """The account page, with ``error`` or ``message`` words."""
    return render_template("account.html", user=current_user(), timeout_min=session_timeout_min(),
                           max_age_h=MAX_AGE_S / 3600, **words)


@bp.get("/account")
def account_page():
    return _account_page()


@bp.post("/account/sign-out-others")
def account_sign_out_others_page():
    ended = _sign_out_others()
    return _account_page(message=sign_out_others_words(ended))


@bp.post("/account/password")
def account_password_page():
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_repeat", ""):
        return _account_page(error="The two new passwords differ."), 422
    try:
        _change_password(current, new)
    except LoginRefused as exc:
        response = Response(_account_page(error=str(exc).capitalize() + "."), exc.status)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except ValidationError as exc:
        errors = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in exc.fields.items())
        return _account_page(error=errors[:1].upper() + errors[1:] + "."), 422
    return _account_page(message="Your password was changed.")
