"""JSON request bodies and error responses of the API.

Errors are ``{"error": "<what happened; what to do>"}``, with ``"fields": {name: problem}`` for
validation errors. Status codes: ``400`` malformed body, ``401`` not signed in, ``403`` CSRF or
role, ``404`` unknown record, ``409`` conflict with the stored state, ``413`` body too large,
``415`` not JSON, ``422`` well-formed but invalid values, ``429`` too many sign-in attempts,
``500`` a trial's stored frames corrupt (the trial, its chunk and what to do), ``503`` busy hashing
other passwords (``Retry-After``), ``507`` the station's disk is full.
Text with lone UTF-16 surrogates or NUL characters, integers beyond 64 bits and non-finite numbers
are refused (``400``) before anything looks at them; a route id beyond 64 bits is no route (``404``).
Nothing is stored when a request is refused.
"""

from __future__ import annotations

import json
import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from station.store.db import Conflict, DatabaseBusy, DiskFull, NotFound, StorageFailed, StoreError, ValidationError
from station.store.space import NoRoomToRecord, StorageFailing
from station.store.passwords import PasswordHashingBusy
from station.store.trials import CorruptFrames
from station.tls_proxy import MAX_BODY_BYTES
from web.error_pages import WORDS, error_page
from web.security import api_error, is_api_request


class BadRequestBody(Exception):
    """The request body is refused; ``status`` is 400 or 415."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON (use null for an undefined value)")


def json_body() -> dict:
    """The request's JSON object; raises BadRequestBody (400/415) or RequestEntityTooLarge (413)."""
    if request.mimetype != "application/json":
        raise BadRequestBody(415, "send a JSON object with Content-Type: application/json")
    raw = request.get_data(cache=True)  # enforces MAX_CONTENT_LENGTH
    if not raw.strip():
        raise BadRequestBody(400, "empty body; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestBody(400, "the body is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequestBody(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:
        raise BadRequestBody(400, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadRequestBody(400, "malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequestBody(400, f"the body must be a JSON object, not {type(data).__name__}")
    problem = _unstorable(data)
    if problem:
        raise BadRequestBody(400, problem)
    return data


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""Integers the database stores (SQLite INTEGER is 64-bit signed)."""


def has_surrogate(text: str) -> bool:
    """True if ``text`` holds a lone UTF-16 surrogate (JSON allows ``"\\ud800"``; it is not text
    and cannot be stored or encoded as UTF-8)."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def _unstorable(value, depth: int = 0) -> str | None:
    """Why a parsed JSON value cannot be stored as it is (lone surrogates, integers beyond 64
    bits, numbers too large for a float), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return "the body holds text with a lone UTF-16 surrogate (e.g. \\ud800); send valid Unicode text"
            if "\x00" in item:  # PostgreSQL text cannot hold it (the hub's driver fails)
                return "the body holds a NUL character (\\u0000) in its text; remove it"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return "the body holds an integer out of range; integers must be between -2^63 and 2^63-1"
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return "the body holds a number too large to represent; send a finite number"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in routes, limited to the 64-bit ids the database stores: a larger number is
    no route (404) instead of an overflow inside the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Route converters that refuse what the store cannot hold (call before registering routes)."""
    app.url_map.converters["int"] = BoundedIntConverter


SERVER_LIMITS = {
    "max_request_body_size": MAX_BODY_BYTES,
    "max_request_header_size": 64 * 1024,
    "connection_limit": 100,
}
"""Limits for the web server (waitress), applied before a request reaches the app: a body over
128 KiB is refused while it arrives, never buffered (waitress's default would buffer 1 GiB to
disk first; the app itself accepts at most 64 KiB, ``MAX_CONTENT_LENGTH``), headers over 64 KiB
likewise, and at most 100 connections are open at once (issue 14, finding 3). The nginx site in
front (:mod:`station.tls_proxy`) refuses the same bodies before it reads them, and bounds slow
clients, which these limits do not: reachable without it, 100 clients sending a byte every few
seconds hold every connection for as long as they go on."""


def query_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in [low, high]; ValidationError otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: f"must be an integer between {low} and {high}"}) from None
    if not low <= value <= high:
        raise ValidationError({name: f"must be between {low} and {high} (got {value})"})
    return value


def body_int(data: dict, name: str, default: int, low: int, high: int) -> int:
    """An integer of a JSON body (:func:`json_body`) in [low, high], ``default`` when absent or
    null; ValidationError otherwise (true/false and fractions are no integers here)."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({name: f"must be an integer between {low} and {high}"})
    return value


def _log_without_data(app: Flask, exc: BaseException) -> None:
    """Log an error's type and the code path (file, line, source line), never the exception's
    message or the request's data: either may hold patient data."""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    app.logger.error(
        "%s in %s %s (message withheld: may hold patient data)\n%s",
        type(exc).__name__, request.method, request.endpoint, frames,
    )


def _plain_or_api(status: int, message: str) -> Response:
    """The API's JSON error, else the station's error page with the message."""
    if is_api_request():
        return api_error(status, message)
    return error_page(status, message[:1].upper() + message[1:])


def install_error_handlers(app: Flask) -> None:
    """Map store errors and HTTP errors to JSON for the API, and to the station's error pages
    (:mod:`web.error_pages`) for the HTML pages. A NUL character in a query or form parameter
    is refused (``400``) before any view runs: PostgreSQL text cannot hold one (the hub's driver
    failed with a 500). ``next`` is exempt: it never reaches the database, and sign-in drops an
    unsafe one (:mod:`web.auth`)."""

    @app.before_request
    def _refuse_nul():
        params = list(request.args.items(multi=True))
        if request.mimetype == "application/x-www-form-urlencoded":
            params += request.form.items(multi=True)
        if any("\x00" in k or ("\x00" in v and k != "next") for k, v in params):
            return _plain_or_api(400, "the request holds a NUL character (%00); remove it")
        return None

    @app.errorhandler(BadRequestBody)
    def _bad_body(exc: BadRequestBody):
        return api_error(exc.status, str(exc))

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):
        return api_error(422, "invalid input: " + str(exc), fields=exc.fields)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return api_error(404, str(exc))

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return api_error(409, str(exc))

    @app.errorhandler(PasswordHashingBusy)
    def _busy(exc: PasswordHashingBusy):
        response = _plain_or_api(503, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(DiskFull)
    def _disk_full(exc: DiskFull):
        if isinstance(exc, StorageFailing):  # a refusal in words, as meant: the failed write said it once
            app.logger.warning("refused to record (storage failing) in %s %s", request.method, request.endpoint)
        elif isinstance(exc, NoRoomToRecord):  # a refusal in words, as meant: the disk is said full once, by space
            app.logger.warning("refused to record (disk full) in %s %s", request.method, request.endpoint)
        else:
            app.logger.error("disk full in %s %s", request.method, request.endpoint)
        return _plain_or_api(507, str(exc))

    @app.errorhandler(StorageFailed)
    def _storage_failed(exc: StorageFailed):  # the SD card failing: what happened and what to do, not 'try again'
        app.logger.error("the station's storage failed to write in %s %s", request.method, request.endpoint)
        return _plain_or_api(507, str(exc))

    @app.errorhandler(DatabaseBusy)
    def _database_busy(exc: DatabaseBusy):  # a slow SD card, another program's lock: nothing saved, try again
        app.logger.warning("a write waited too long for the station's database in %s %s (%s)", request.method,
                           request.endpoint, type(exc).__name__)
        response = _plain_or_api(503, str(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CorruptFrames)
    def _corrupt_frames(exc: CorruptFrames):  # the trial, its chunk and what to do: no retry mends stored bits
        _log_without_data(app, exc)
        return _plain_or_api(500, str(exc))

    @app.errorhandler(StoreError)
    def _store_error(exc: StoreError):
        _log_without_data(app, exc)
        return _plain_or_api(500, "the station could not complete this; try again, and tell the administrator if it persists")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if isinstance(exc, RequestEntityTooLarge):
            limit = request.max_content_length or app.config.get("MAX_CONTENT_LENGTH")  # a route's own bound
            message = f"request body too large (limit {limit // 1024} KiB); nothing was stored"
            return _plain_or_api(413, message)
        if is_api_request():
            return api_error(exc.code or 500, exc.description or exc.name)
        code = exc.code or 500
        return error_page(code, None if code in WORDS else exc.description)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _log_without_data(app, exc)
        if is_api_request():
            return api_error(500, "internal error; the station log has details")
        return error_page(500)
