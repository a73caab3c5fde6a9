"""Sign-in state, access control, CSRF protection and security headers for every request.

**Login required by default.** Every endpoint needs a signed-in user unless its view is marked
:func:`public` (sign-in and setup pages, ``/api/session``, ``/api/login``, ``/api/setup``) or it is
``static`` or ``health.healthz``. Refusals: ``401`` JSON for ``/api/...``; for pages, a redirect to
``/login?next=...`` (or ``/setup`` before the first account exists). :func:`roles` restricts a view
to some roles (``403`` otherwise).

**CSRF.** Every ``POST``/``PUT``/``PATCH``/``DELETE`` must carry the session's CSRF token, in the
``X-CSRF-Token`` header (JSON) or the ``csrf_token`` form field (HTML forms); else ``403``. Signed
in, the token is the login session's (returned by ``POST /api/login`` and ``GET /api/session``);
before signing in, an anonymous token kept in the signed cookie (``GET /api/session``, or the form
pages) protects login and setup themselves against login CSRF. Together with
``SameSite=Strict``, ``HttpOnly`` session cookies.

**Inactivity logout.** A login session ends after ``session_timeout_min`` (clinic setting; default
from ``StationConfig.web``) without activity. Requests with the header ``X-Station-Background: 1``
(polling by an open page) do not count as activity, so a tablet left on a live page still logs out
(the timeout counted from the end of the last trial it showed running, or between an open test's
trials at most twice the timeout, 30 min at most, after it: :mod:`web.live`).

**Lifetime.** A login session also ends 12 h after its sign-in however busy it is
(:data:`station.store.logins.MAX_AGE_S`): ``401`` with ``"ended": "max_age"``, pages to ``/login?expired=age``.

**Ended on purpose.** A login session ended elsewhere on purpose (:data:`ENDED_ON_PURPOSE`: "Sign out
everywhere else" in another session, the password changed, the account disabled, signed out in another tab of the
same browser) is refused with ``401``
``{"expired": false, "ended": why}``, pages to ``/login?signed_out=<others|password|disabled|tab>``, each saying
why (not "after inactivity"); the station keeps why in its database for 12 h (:mod:`station.store.logins`).
The browser's cookie keeps naming an ended session until it signs in or out again, so every request of it
(a page's requests in flight together, its other tabs) is told the same reason, not only the first.

**Host.** A request is answered only when its ``Host`` is one of the station's own (:func:`own_host`):
an IP address, ``localhost``, the machine's host name or ``<host name>.local``, or a name of ``[web]
host_names``; any other, or none (a request without ``Host``: malformed in HTTP/1.1, and nothing of the
station's own, no sync, health check or install script, sends one without it), is refused with ``400`` in
words before its login or anything else of it is looked at. A page of another site whose name an attacker points at the station's address (DNS
rebinding) would otherwise reach it from a clinic's browser under that site's name. The hub's station endpoints (:func:`token_auth`) are not
checked: a browser never sends their bearer token by itself, and a station reaches its hub by
whatever name its ``[hub] url`` holds.

**Headers.** Content-Security-Policy (``default-src 'self'``, no inline script, no framing),
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``,
``Cache-Control: no-store`` on everything but static files (patient data must not linger in a
shared tablet's cache), and HSTS when the cookie is marked Secure (TLS).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import secrets
import socket
from collections import OrderedDict
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, redirect, request, session, url_for

from station.store.audit import Actor
from station.store.logins import (
    ENDED_AGE,
    ENDED_CLOCK,
    ENDED_DISABLED,
    ENDED_OTHERS,
    ENDED_PASSWORD,
    ENDED_SIGNED_OUT,
    MAX_AGE_S,
    LoginSession,
)
from station.store.store import Store
from web.error_pages import error_page

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_PUBLIC_ENDPOINTS = frozenset({"static", "health.healthz"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
BACKGROUND_HEADER = "X-Station-Background"
ROLE_WORDS = {"admin": "administrators", "clinician": "clinicians"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in."""
    view.station_public = True  # type: ignore[attr-defined]
    return view


def token_auth(view: Callable) -> Callable:
    """Mark a view that authenticates its caller itself by a bearer token in a header (the hub's
    station endpoints, :mod:`web.hub_api`): no login session, hence no CSRF token (a browser
    never adds that header by itself, so a forged cross-site request carries no credential)."""
    view.station_token_auth = True  # type: ignore[attr-defined]
    return view


def background(view: Callable) -> Callable:
    """Mark a view whose requests never count as user activity, like requests carrying
    ``X-Station-Background: 1`` (for streams a browser opens without custom headers, such as
    the live view's Server-Sent Events)."""
    view.station_background = True  # type: ignore[attr-defined]
    return view


def roles(*allowed: str) -> Callable[[Callable], Callable]:
    """Restrict a view to signed-in users with one of ``allowed`` roles."""

    def mark(view: Callable) -> Callable:
        view.station_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return mark


def store() -> Store:
    """The data store of the running app."""
    return current_app.extensions["station_store"]


def current_user() -> LoginSession | None:
    return g.get("station_user")


def actor() -> Actor:
    """The signed-in user as the audit log's actor (with the client's address)."""
    user = current_user()
    if user is None:
        raise RuntimeError("actor() needs a signed-in user")
    return Actor(user.user_id, user.username, request.remote_addr)


def session_timeout_min() -> float:
    return float(store().settings.get("session_timeout_min"))


def anonymous_csrf_token() -> str:
    """The pre-login CSRF token of this browser (created on first use, kept in the signed cookie)."""
    token = session.get("anon_csrf")
    if not token:
        token = session["anon_csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_token() -> str:
    """The CSRF token a page or client must send back with state-changing requests."""
    user = current_user()
    return user.csrf_token if user is not None else anonymous_csrf_token()


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def api_error(status: int, message: str, **extra) -> Response:
    """A JSON error response: ``{"error": message, ...extra}``."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (no scheme, no host, no control characters such as
    CR/LF, which would split the ``Location`` header), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


SIGNED_OUT_UNSTORED = "station_signed_out_unstored"
"""``app.extensions`` key: the login sessions signed out while the store could not record it (a full disk, a
failing SD card), by their token's SHA-256; refused by this process as if ended (:func:`signed_out_unstored`)."""


def signed_out_unstored(token: str) -> None:
    """Refuse the login session ``token`` from now on in this process: its sign-out could not be stored, so the
    database still holds it until its inactivity timeout, and a copy of its cookie would still sign in. The
    memory is bounded; the oldest are forgotten first (their sessions have long timed out)."""
    ended = current_app.extensions.setdefault(SIGNED_OUT_UNSTORED, OrderedDict())
    ended[hashlib.sha256(token.encode()).hexdigest()] = None
    while len(ended) > 1000:
        ended.popitem(last=False)


def was_signed_out_unstored(app: Flask, token: str) -> bool:
    """Whether the login session ``token`` was signed out without the store recording it
    (:func:`signed_out_unstored`): refused as ended, by pages, the API and the live stream."""
    return hashlib.sha256(token.encode()).hexdigest() in app.extensions.get(SIGNED_OUT_UNSTORED, ())


def _load_user(view: Callable | None = None) -> None:
    g.station_user = None
    g.station_session_expired = False
    token = session.get("sid")
    if not token:
        return
    if was_signed_out_unstored(current_app, token):
        session.pop("sid", None)  # signed out (not recorded): no longer signed in, and not 'expired' either
        return
    background = request.headers.get(BACKGROUND_HEADER) == "1" or getattr(view, "station_background", False)
    user = store().logins.resolve_or_ended(token, session_timeout_min() * 60.0, touch=not background)
    if not isinstance(user, LoginSession):
        # The cookie keeps naming the ended session (until a sign-in or sign-out replaces it), so that every
        # request of this browser says why, not only the first: a page's requests in flight together and its
        # other tabs are sent with the cookie the first one's answer changed (it used to drop the token, and
        # the next request, plainly "not signed in", sent the page to a sign-in page that said nothing; s32).
        g.station_session_expired = True
        g.station_session_clock_set_back = user == ENDED_CLOCK
        g.station_session_too_old = user == ENDED_AGE
        g.station_session_ended = user
        return
    g.station_user = user


def _unauthenticated() -> Response:
    expired = g.get("station_session_expired", False)
    clock = expired and g.get("station_session_clock_set_back", False)
    too_old = expired and g.get("station_session_too_old", False)
    on_purpose = ENDED_ON_PURPOSE.get(g.get("station_session_ended")) if expired else None
    if is_api_request():
        if on_purpose is not None:
            return api_error(401, ended_on_purpose_error(g.station_session_ended), expired=False,
                             ended=g.station_session_ended)
        if clock:
            return api_error(401, CLOCK_SET_BACK_WORDS + "; sign in again", expired=True, ended="clock_set_back")
        if too_old:
            return api_error(401, MAX_AGE_WORDS + "; sign in again", expired=True, ended=ENDED_AGE)
        message = (
            "your session expired after inactivity; sign in again"
            if expired
            else "not signed in; sign in with POST /api/login"
        )
        return api_error(401, message, expired=expired)
    if store().users.count() == 0:
        return redirect(url_for("auth.setup_page"))
    next_path = request.full_path if request.query_string else request.path
    if on_purpose is not None:
        return redirect(url_for("auth.login_page", next=next_path, signed_out=on_purpose[0]))
    why = "clock" if clock else "age" if too_old else 1
    return redirect(url_for("auth.login_page", next=next_path, expired=why if expired else None))


CLOCK_SET_BACK_WORDS = "your session ended because the station's clock was set back (corrected by the network's time)"
"""Why a session ended whose last activity lay in the future (:data:`station.store.logins.ENDED_CLOCK`)."""

MAX_AGE_WORDS = (f"your session ended {MAX_AGE_S / 3600:g} hours after you signed in (a sign-in lasts "
                 f"{MAX_AGE_S / 3600:g} hours at most, even while in use)")
"""Why a session ended that was signed in longer ago than its lifetime (:data:`station.store.logins.ENDED_AGE`)."""

ENDED_ON_PURPOSE = {
    ENDED_OTHERS: ("others", "You were signed out here by \u201cSign out everywhere else\u201d in another tab, window or "
                             "device signed in as you; please sign in again (if that was not you, change your password "
                             "on your account page)."),
    ENDED_PASSWORD: ("password", "You were signed out because your password was changed (by you on another device, or "
                                 "by an administrator); please sign in with the new password."),
    ENDED_DISABLED: ("disabled", "You were signed out because an administrator disabled your account; ask an "
                                 "administrator if you need it again."),
    ENDED_SIGNED_OUT: ("tab", "You were signed out in another tab or window of this browser; please sign in again."),
}
"""Why a login session ended on purpose elsewhere (:mod:`station.store.logins`' "Why it ended"; a sign-out in
another tab of the same browser, whose tabs share the cookie, too): the sign-in page's ``signed_out`` value and its
words (the API's error: the same, :func:`ended_on_purpose_error`)."""


def ended_on_purpose_error(why: str) -> str:
    """The API's ``error`` for a session ended on purpose (:data:`ENDED_ON_PURPOSE`), as the other errors are worded.

    >>> ended_on_purpose_error("disabled")
    'you were signed out because an administrator disabled your account; ask an administrator if you need it again'
    """
    words = ENDED_ON_PURPOSE[why][1]
    return words[:1].lower() + words[1:].rstrip(".")


def _provided_csrf() -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get(CSRF_FORM_FIELD)
    return None


def own_names(extra: tuple[str, ...] = (), host_name: str | None = None) -> frozenset[str]:
    """The names this machine answers (besides IP addresses): ``localhost``, its host name
    (``socket.gethostname()``, or ``host_name``) with and without its domain, ``<host name>.local``
    (its mDNS name), and the ``extra`` names (``[web] host_names``), in lower case.

    >>> sorted(own_names(("balance-hub.clinic.lan",), host_name="Station-2"))
    ['balance-hub.clinic.lan', 'localhost', 'station-2', 'station-2.local']
    """
    full = (socket.gethostname() if host_name is None else host_name).lower().rstrip(".")
    short = full.split(".")[0]
    names = {"localhost", *extra}
    if short:
        names |= {full, short, short + ".local"}
    return frozenset(names)


def own_host(host: str, names: frozenset[str]) -> bool:
    """Whether a request's ``Host`` header is the station's own: an IP address (IPv6 in brackets,
    as a URL writes it) or one of ``names`` (:func:`own_names`), in any case and with or without
    the one final dot of a fully qualified name, with or without a port (1 to 5 ASCII digits, at
    most 65535). Other spellings of its names are refused, though no browser sends them: a name in
    brackets, two final dots, a port of other digits or none after the colon, IPv6 without
    brackets, a name of other than ASCII letters (a browser sends a Unicode name in punycode).

    >>> names = own_names(host_name="station-2")
    >>> [own_host(h, names) for h in ("192.168.1.40", "[fe80::1]:443", "127.0.0.1:8000", "Station-2.local.",
    ...                               "localhost:8871", "STATION-2:443")]
    [True, True, True, True, True, True]
    >>> [own_host(h, names) for h in ("attacker.example", "station-2.local.attacker.example",
    ...                               "localhost.attacker.example:443", "", "[fe80::1", "1.2.3.4:x")]
    [False, False, False, False, False, False]
    >>> [own_host(h, names) for h in ("station-2..", "[station-2.local]", "station-2:\u0668\u0660", "station-2:",
    ...                               "localhost:65536", "::1", "[127.0.0.1]", ".")]
    [False, False, False, False, False, False, False, False]
    """
    if host.startswith("["):
        literal, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return False
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return False
        return not rest or _port_ok(rest[1:])
    name, colon, port = host.rpartition(":") if ":" in host else (host, "", "")
    if colon and not _port_ok(port):
        return False
    try:
        ipaddress.IPv4Address(name)
        return True
    except ValueError:
        pass
    if not name.isascii():
        return False
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    return bool(name) and name in names


def _port_ok(port: str) -> bool:
    return 0 < len(port) <= 5 and port.isascii() and port.isdigit() and int(port) <= 65535


OWN_NAMES = "station_own_names"
"""``app.extensions`` key: the names this app answers (:func:`own_names`), found when it starts."""


def _foreign_host_refusal(host: str | None) -> Response:
    who = "hub" if current_app.config.get("HUB") else "station"
    if host is None:  # no browser, nothing of the station's own: a hand-written HTTP/1.0 request
        what = (f"the request names no address (it has no Host header, which every HTTP/1.1 client sends): the {who} "
                "answers only a request that names one of its own")
        todo = f"send the {who}'s name or IP address in a Host header (curl and browsers do by themselves)"
    else:
        shown = host if len(host) <= 80 else host[:80] + "…"
        what = f"the {who} does not answer the name {shown!r}: it is not one of its own"
        todo = (f"open the {who} by its own address (https://<its name>.local/ or its IP address); if this name is "
                f"the {who}'s, an administrator adds it to host_names under [web] in "
                f"{'hub.toml' if who == 'hub' else 'station.toml'} and restarts the {who}")
    if is_api_request():
        return api_error(400, f"{what}; {todo}")
    # a bare page, not the styled error page: that page carries a sign-in link and a CSRF token (a cookie) for
    # the name, which is not the station's; the viewport so that a phone shows the words at a readable size
    said = ("This request names no address. " if host is None else f"This address is not the {who}'s. ") + \
        f"{todo[0].upper()}{todo[1:]}."
    return Response('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                    '<meta name="viewport" content="width=device-width, initial-scale=1">'
                    f"<title>Not the {who}'s address</title></head>\n"
                    f"<body><p>{html.escape(said, quote=False)}</p>\n<p>({html.escape(what, quote=False)})</p></body></html>\n",
                    400, mimetype="text/html")


def _check_request() -> Response | None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    host = request.environ.get("HTTP_HOST")
    if not getattr(view, "station_token_auth", False) and (
            host is None or not own_host(host, current_app.extensions[OWN_NAMES])):
        return _foreign_host_refusal(host)
    _load_user(view)
    if view is None:
        return None  # no such route: let Flask answer 404/405
    if getattr(view, "station_token_auth", False):
        return None  # the view checks its bearer token (and throttles bad ones) itself
    is_public = request.endpoint in ALWAYS_PUBLIC_ENDPOINTS or getattr(view, "station_public", False)
    user = current_user()
    if not is_public and user is None:
        return _unauthenticated()
    if request.method not in SAFE_METHODS:
        expected = user.csrf_token if user is not None else session.get("anon_csrf")
        provided = _provided_csrf()
        if not provided:
            return _csrf_refusal("missing CSRF token: send the csrf_token of GET /api/session in the X-CSRF-Token header")
        if not expected or not hmac.compare_digest(provided.encode(), expected.encode()):
            return _csrf_refusal("invalid CSRF token: fetch a fresh one from GET /api/session (or reload the page)")
    allowed = getattr(view, "station_roles", None)
    if allowed is not None and (user is None or user.role not in allowed):
        if is_api_request():
            return api_error(403, f"this needs the {' or '.join(sorted(allowed))} role")
        return error_page(403, f"This page is for {' or '.join(ROLE_WORDS.get(r, r) for r in sorted(allowed))}. "
                               "Ask an administrator if you need it.")
    return None


def _csrf_refusal(message: str) -> Response:
    if is_api_request():
        return api_error(403, message)
    return error_page(403, "The form had expired (the page was open a long time, or the station restarted). "
                           "Go back, reload the page and try again.", detail=message.split(":")[0])


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    """Install the checks and headers on ``app``."""
    app.extensions[OWN_NAMES] = own_names(app.config["STATION_CONFIG"].web.host_names)
    app.before_request(_check_request)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_user"] = current_user

