"""The station's HTTP client of the hub: HTTPS with certificate checks, a bearer station token.

Plain HTTP is accepted only to a loopback address (a hub on the same machine, or a tunnel); any
other ``http://`` URL is refused before anything is sent, so the token and patient data never
cross a network in clear. Certificates are verified against the system's CAs, or against
``ca_file`` (a clinic's own CA).

Errors: :class:`HubUnreachable` (no connection, timeout, TLS failure, the hub answering 5xx: try
again later; :class:`HubLimited`, a subclass, when the hub answers 429: a limit of this station's
requests reached) and :class:`HubRefused` (the hub answered 4xx: a revoked token, a refused change;
retrying the same will not help until someone acts), both with a one-line message; an answer of
the wrong shape is :class:`BadAnswer` (:mod:`station.sync.answers`).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

DEFAULT_TIMEOUT_S = 30.0
DEADLINE_FACTOR = 3.0
"""A whole request (connect, headers, body) ends after ``DEADLINE_FACTOR × timeout_s``: the socket
timeout bounds each read only, and a hub (or a box in between) sending a byte every few seconds
would otherwise hold the request, and a web thread asking for a patient, for ever."""
Transport = Callable[[str, str, dict, bytes | None], tuple[int, bytes]]
"""``transport(method, url, headers, body) -> (status, body)``; raises OSError when the hub
cannot be reached."""


class SyncError(Exception):
    """A sync step failed; the message says what and what to do."""


class HubUnreachable(SyncError):
    """The hub could not be reached (or failed on its side): the station retries later."""


class HubLimited(HubUnreachable):
    """The hub answered ``429``: a limit of this station's requests was reached (the hub is neither
    busy nor failing); it passes by itself after ``retry_after_s`` (None: the hub did not say). A
    background sync retries; a request from a page says when to try again (:func:`said_once`)."""

    def __init__(self, message: str, retry_after_s: int | None = None):
        self.retry_after_s = retry_after_s
        super().__init__(message)


RETRIED = "will retry"
"""How a sync error that passes by itself ends: the words of ``run``'s background sync, which retries."""


def said_once(message: str, what_to_do: str) -> str:
    """A sync error as a one-shot request says it (``sync --once``, a patient pulled from a page):
    nothing retries it, so "will retry" at its end becomes ``what_to_do``.

    >>> said_once("cannot reach the hub at https://hub.example (timed out); will retry", "try again later")
    'cannot reach the hub at https://hub.example (timed out); try again later'
    >>> said_once("the hub refused the token", "try again later")
    'the hub refused the token; try again later'
    """
    message = message.rstrip(".")
    if message.endswith(RETRIED):
        return message[:-len(RETRIED)] + what_to_do
    return f"{message}; {what_to_do}"


class HubRefused(SyncError):
    """The hub refused the request (4xx): ``status`` and the hub's message; ``fields``, the
    answer's ``fields`` object (the hub's words for each input it refused: ``{name: words}``, text
    only), empty when it has none."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None):
        self.status = status
        self.fields = dict(fields or {})
        super().__init__(message)


class BadAnswer(HubRefused):
    """The hub's answer is not what the request gets (a wrong JSON type, a value out of range:
    :mod:`station.sync.answers`); ``status`` 502, as a gateway's bad answer."""

    def __init__(self, message: str):
        super().__init__(502, message)


def check_hub_url(url: str) -> str:
    """``url`` without a trailing slash; ValueError (one line) unless it is https, or http to a
    loopback address."""
    parts = urllib.parse.urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"hub url {url!r} is not an http(s) URL; give e.g. https://hub.clinic.example")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"hub url {url!r} uses plain HTTP to another machine; use https:// (plain HTTP is only "
                         "allowed to localhost)")
    if parts.query or parts.fragment:
        raise ValueError(f"hub url {url!r} must not have a query or fragment")
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the hub's answer, never followed: urllib would resend the station token (and
    the request) to wherever the hub points, even over plain HTTP to another machine."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


class _TrackedConnections:
    """urllib handlers that remember the connections they open, so that a watchdog can cut them."""

    def __init__(self, context: ssl.SSLContext):
        self.connections: list[http.client.HTTPConnection] = []
        self.was_cut = False
        tracked = self

        class _Https(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(tracked._factory(http.client.HTTPSConnection), req, context=context)

        class _Http(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(tracked._factory(http.client.HTTPConnection), req)

        self.handlers = (_Https(context=context), _Http())

    def _factory(self, cls):
        def make(host, **kwargs):
            connection = cls(host, **kwargs)
            self.connections.append(connection)
            return connection
        return make

    def cut(self) -> None:
        # said before the sockets are shut: the reader, woken by the shutdown, must see it (the
        # watchdog's thread may still be alive then, so it cannot tell whether the deadline passed)
        self.was_cut = True
        for connection in self.connections:
            sock = connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once with an error
                except OSError:
                    pass


MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""Largest answer body the station takes from the hub, bytes (a larger declared one is refused)."""


def urllib_transport(ca_file: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> Transport:
    """The real transport (urllib), verifying certificates (against ``ca_file`` if given),
    following no redirect (a 3xx comes back as the status), each read bounded by ``timeout_s`` and
    the whole request by :data:`DEADLINE_FACTOR` × ``timeout_s`` (then OSError, as when the hub is
    unreachable)."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot read the hub CA file {ca_file}: {exc}; check [hub] ca_file") from None

    def send(method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, bytes]:
        tracked = _TrackedConnections(context)
        opener = urllib.request.build_opener(*tracked.handlers, _NoRedirects)
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        watchdog = threading.Timer(DEADLINE_FACTOR * timeout_s, tracked.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            with opener.open(request, timeout=timeout_s) as response:
                status, data = response.status, response.read(MAX_ANSWER_BYTES)
                missing = response.length  # of the declared Content-Length, the bytes not read
                if missing is None and len(data) == MAX_ANSWER_BYTES:  # chunked: no length declared
                    missing = len(response.read(1))  # a byte more is an answer larger than we take
            if tracked.was_cut:  # a shut socket reads as the end of a (short) body
                raise TimeoutError(f"the hub did not answer in {DEADLINE_FACTOR * timeout_s:g} s")
            if missing:  # the hub (or a box in between) hung up mid-answer, or sent more than we take
                raise ConnectionError(
                    f"the hub's answer was cut short ({len(data)} of {len(data) + missing} bytes)"
                    if len(data) < MAX_ANSWER_BYTES else f"the hub's answer is larger than {MAX_ANSWER_BYTES} bytes"
                )
            return status, data
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read(64 * 1024)
        except (OSError, http.client.HTTPException) as exc:
            if tracked.was_cut:
                raise TimeoutError(f"the hub did not answer in {DEADLINE_FACTOR * timeout_s:g} s") from None
            if isinstance(exc, http.client.HTTPException):  # not HTTP at all: as unreachable as a hub can be
                raise ConnectionError(f"the hub's answer is not HTTP ({type(exc).__name__})") from None
            raise
        finally:
            watchdog.cancel()

    return send


class HubClient:
    """Requests to one hub with one station token.

    Parameters
    ----------
    url : str
        The hub's base URL (https, or http to loopback only).
    token : str
        The station token printed by ``balance-station hub stations add``.
    ca_file : str, optional
        CA certificate(s) to verify the hub against instead of the system's.
    transport : callable, optional
        Replaces the network (tests); see :data:`Transport`.
    """

    def __init__(self, url: str, token: str, *, ca_file: str | None = None, transport: Transport | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = check_hub_url(url)
        if not isinstance(token, str) or not token.strip():
            raise ValueError("no hub token; give [hub] token (from `balance-station hub stations add NAME`)")
        self._token = token.strip()
        self._send = transport or urllib_transport(ca_file, timeout_s)
        self.answer_check: Callable[[str, str, dict], None] | None = None
        """Called with ``(method, path, answer)`` for each answer taken (2xx), before the caller sees it;
        what it raises (a :class:`SyncError`) is the request's outcome. The station's sync sets it
        (:func:`station.sync.station_restore.check_named`: a restore confirmed on the hub that this
        station never sent stops every request)."""
        self.lookups_by_get = False
        """This hub answered a lookup's POST ``405`` (a hub from before those POSTs): its lookups are
        asked by GET for the client's life (the station's process makes one client per hub)."""

    def lookup(self, path: str, arguments: dict) -> dict:
        """A lookup of a patient by identifier (``arguments`` holds it): POSTed as a JSON body, so
        that no URL names the patient (a proxy's log, the hub's). A hub from before those POSTs
        answers ``405`` (the route is there, for GET only): then, and for every later lookup of
        this client, GET with ``arguments`` as the query, said once on standard error. A ``404``
        is the hub's "no such patient", never a reason to ask again."""
        if not self.lookups_by_get:
            try:
                return self.request("POST", path, body=arguments)
            except HubRefused as exc:
                if exc.status != 405:
                    raise
            self.lookups_by_get = True
            print(f"balance-station: the hub at {self.url} takes lookups of a patient only with the identifier "
                  "in the URL (a hub from before lookups by POST); this station asks it so until it restarts. "
                  "Update the hub, so that identifiers stay out of URLs", file=sys.stderr)
        return self.request("GET", path, query=arguments)

    def lookup_method(self) -> str:
        """``POST``, or ``GET`` for a hub from before lookups by POST (:meth:`lookup`)."""
        return "GET" if self.lookups_by_get else "POST"

    def request(self, method: str, path: str, *, body: dict | None = None, data: bytes | None = None,
                headers: dict | None = None, query: dict | None = None) -> dict:
        """Send one request; the hub's JSON answer, or HubUnreachable / HubRefused."""
        url = self.url + path + (("?" + urllib.parse.urlencode(query)) if query else "")
        head = {"Authorization": f"Bearer {self._token}", "Accept": "application/json", **(headers or {})}
        payload = data
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
            head["Content-Type"] = "application/json"
        elif data is not None:
            head["Content-Type"] = "application/octet-stream"
        try:
            status, raw = self._send(method, url, head, payload)
        except (OSError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, ssl.SSLError) or isinstance(exc, ssl.SSLError):
                detail = getattr(reason, "verify_message", None) or getattr(reason, "reason", None) or reason
                raise HubUnreachable(f"the hub at {self.url} was refused: its certificate is not trusted ({detail}); "
                                     "give the CA that signed it as [hub] ca_file (or --ca-file)") from None
            raise HubUnreachable(f"cannot reach the hub at {self.url} ({reason}); will retry") from None
        try:
            doc = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError, RecursionError):
            doc = {}
        if not isinstance(doc, dict):
            if 200 <= status < 300:
                from station.sync.answers import kind_of  # answers imports this module's errors

                raise BadAnswer(f"the hub's answer to {method} {path} had {kind_of(doc)} where an object was "
                                "expected; is [hub] url the hub's own address?")
            doc = {}
        words = _one_line(doc.get("error", "no detail"))
        if status == 429:
            wait = doc.get("retry_after_s")
            wait = wait if isinstance(wait, int) and not isinstance(wait, bool) and 0 < wait <= 86_400 else None
            raise HubLimited(f"the hub's limit for this station was reached (HTTP 429: {words}); will retry", wait)
        if status >= 500:  # a failing hub or its proxy: no advice of the hub's to keep whole
            raise HubUnreachable(f"the hub is busy or failing (HTTP {status}: {_one_line(words, FAILING_WORDS_CHARS)}); "
                                 "will retry")
        if status >= 400:
            raise HubRefused(status, f"the hub refused {method} {path} (HTTP {status}): {words}", _fields(doc))
        if status >= 300:
            raise HubRefused(status, f"the hub at {self.url} answered {method} {path} with a redirect (HTTP {status}), "
                                     "which the station does not follow (its token would go along); set [hub] url "
                                     "to the hub's own address")
        if self.answer_check is not None:
            self.answer_check(method, path, doc)
        return doc


def _fields(doc: dict) -> dict[str, str]:
    """The refusal's ``fields`` (``{name: words}``) as far as they are text; {} otherwise."""
    fields = doc.get("fields")
    if not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}


HUB_WORDS_CHARS = 1000
"""The hub's words in a refusal are kept whole up to this many characters: its refusals say what to
do at their end (the longest, a restored station's, is about 500); beyond it the text is not the
hub's (a proxy's page), and is cut."""

FAILING_WORDS_CHARS = 200
"""A failing answer's words (HTTP 5xx: a hub's crash or a proxy's error page) are cut at this many
characters: they carry no advice, and the error is shown on the health page and stored as the
queue's last error."""


def _one_line(words: object, max_chars: int = HUB_WORDS_CHARS) -> str:
    """The hub's message as one bounded line (a failing hub or a proxy may answer anything)."""
    text = " ".join(str(words).split())
    return text if len(text) <= max_chars else text[:max_chars - 3] + "..."
