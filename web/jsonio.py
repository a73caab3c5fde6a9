"""JSON request bodies and error responses of the API.

Errors are ``{"error": "<what happened; what to do>"}``, with ``"fields": {name: problem}`` for
validation errors. Status codes: ``400`` malformed body, ``401`` not signed in, ``403`` CSRF or
role, ``404`` unknown record, ``409`` conflict with the stored state, ``413`` body too large,
``415`` not JSON, ``422`` well-formed but invalid values, ``429`` too many sign-in attempts.
Nothing is stored when a request is refused.
"""

from __future__ import annotations

import json
import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from station.store.db import Conflict, NotFound, StoreError, ValidationError
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
    return data


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


def _log_without_data(app: Flask, exc: BaseException) -> None:
    """Log an error's type and the code path (file, line, source line), never the exception's
    message or the request's data: either may hold patient data."""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    app.logger.error(
        "%s in %s %s (message withheld: may hold patient data)\n%s",
        type(exc).__name__, request.method, request.endpoint, frames,
    )


def install_error_handlers(app: Flask) -> None:
    """Map store errors and HTTP errors to JSON for the API (HTML pages keep Flask's pages)."""

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

    @app.errorhandler(StoreError)
    def _store_error(exc: StoreError):
        _log_without_data(app, exc)
        return api_error(500, "the station could not complete this; try again, and tell the administrator if it persists")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if isinstance(exc, RequestEntityTooLarge):
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body too large (limit {limit // 1024} KiB); nothing was stored"
            if is_api_request():
                return api_error(413, message)
            return Response(message, 413, mimetype="text/plain")
        if is_api_request():
            return api_error(exc.code or 500, exc.description or exc.name)
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _log_without_data(app, exc)
        message = "internal error; the station log has details"
        if is_api_request():
            return api_error(500, message)
        return Response(message, 500, mimetype="text/plain")
