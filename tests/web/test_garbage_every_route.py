"""Garbage to every route of the app, signed in with a valid CSRF token (as a clinician; as an
administrator where the route is for administrators only; on the hub with a station token too): no
answer is a ``500``, a traceback or an API error without words (DESIGN §11: bad input gets a clear
error in words). Station (SQLite) and hub (PostgreSQL: its own routes too).

The routes come from ``app.url_map``, so a new route is covered by itself. Each gets, by method:

- its path ids as they are (one patient's records, a programme of theirs), unknown (999999), the
  largest the store holds (2^63 - 1); a name argument over-long, ``..``, other digits;
- on a GET: each query parameter its view reads (``args.get("x")``, ``query_int("x", ...)``, ...,
  in the view, the helpers of its module it calls, and the store methods it calls), and
  ``in_visit``, alone, with each of :data:`QUERY_GARBAGE` (numbers of other digits, beyond 64 bits,
  NaN, infinities, negative, over-long text, impossible dates); one that names a record also with
  unknown ids and every record of another patient;
- on a write: malformed bodies (:data:`RAW_BODIES`: not JSON, not an object, not UTF-8, nested too
  deeply, NaN, 1e400, integers beyond 64 bits, lone surrogates, NUL, over 64 KiB, a form, text, no
  body), then each field its view or the store methods it calls read (and those an ``unknown field;
  allowed: ...`` answer names) alone with each of :data:`FIELD_GARBAGE` (wrong types, huge and
  negative numbers, over-long text; for a field that names a record, unknown ids and another
  patient's), then all of them at once with each.

An answer passes when its status is below 500 (``503``/``507`` with their own words: ``/healthz``
without an acquisition) and, if it is an error of the API, it carries words; no answer holds a
Python traceback. The test lists every failing request, not only the first. Erasures come after the
other routes (a garbage identifier a PATCH stored is one an erasure confirms), then sign-ins (their
refusals count against the sign-in limits), then sign-outs; after every route the client must still
be signed in and, before the erasures, the records the ids name still there (else the test would
ask nothing of them). On 7fc1c49 it finds X5's ``?in_visit=²`` (a 500 on three routes).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
import re
import sys

import pytest

from station.store.audit import Actor

from web_support import ADMIN_PW, CLINICIAN_PW, ApiClient, clinic_data

BACKENDS = ("sqlite", "postgresql")

UNKNOWN_ID = 999_999
LARGEST_ID = 2**63 - 1
QUERY_GARBAGE = ("", "-1", "9223372036854775808", "1.5", "nan", "-inf", "x" * 3000, "\u0661\u0662", "\u00b2",
                 "2026-02-30T25:61:00Z", "[]")
FIELD_GARBAGE = (None, True, -1, LARGEST_ID, 1e308, "x" * 20_000, "\u0661\u0662", "2026-02-30", [None], {"a": []})
JSON = "application/json"
RAW_BODIES = (
    (b"{", JSON), (b"[]", JSON), (b'"text"', JSON), (b"", JSON), (b'{"a": NaN}', JSON), (b'{"a": 1e400}', JSON),
    (b'{"a": 123456789012345678901234567890}', JSON), (b'{"a": "\\ud800"}', JSON), (b'{"a": "x\\u0000y"}', JSON),
    (b"\xff\xfe{}", JSON), (b"[" * 50_000 + b"]" * 50_000, JSON), (b'{"a": "' + b"x" * 70_000 + b'"}', JSON),
    (b"a=b", "application/x-www-form-urlencoded"), (b"{}", "text/plain"), (None, None),
)
SIGN_OUTS = ("auth.api_logout", "auth.logout_page")
"""Routes that end the login session they are asked with: asked last."""
SIGN_INS = ("auth.api_login", "auth.login_page", "auth.api_setup", "auth.setup_page")
"""Routes whose refusals count against the sign-in limits (a later sign-in would wait): asked just before."""
NAME_PATTERN = re.compile(r"""(?:\.get|\.pop|\.getlist|query_int|body_int|_query_\w+|_\w+_arg)\(\s*(?:\w+,\s*)?"(\w+)"|"""
                          r"""\[\s*"(\w+)"\s*\]|"(\w+)"\s+(?:not\s+)?in\s+(?:data|body|args|request\.args)""")
ALLOWED = re.compile(r"allowed: ([\w, ]+)")
CALLED = re.compile(r"\b([a-z_]\w*)\(")
METHOD = re.compile(r"\.([a-z_]\w*)\(")
STORED_NAME = re.compile(r'\b(?:data|changes|dose|body|given)(?:\.get\(|\[)\s*"(\w+)"')
"""A field a store method reads of what it was given (not a column of a row it read)."""


@functools.lru_cache(maxsize=1)
def _store_methods() -> dict[str, tuple[str, ...]]:
    """The sources of the store's and the programmes' functions and methods, by name."""
    import station.programmes
    import station.store

    found: dict[str, list[str]] = {}
    for package in (station.store, station.programmes):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, thing in inspect.getmembers(module):
                functions = [thing] if inspect.isfunction(thing) else (
                    [f for _, f in inspect.getmembers(thing, inspect.isfunction)] if inspect.isclass(thing) else [])
                for function in functions:
                    if getattr(function, "__module__", None) == module.__name__:
                        try:
                            found.setdefault(function.__name__, []).append(inspect.getsource(function))
                        except (OSError, TypeError):  # made at run time (a dataclass's __init__)
                            pass
    return {name: tuple(sources) for name, sources in found.items()}


def _names(view) -> set[str]:
    """The parameter and field names the view's source reads, those of its module's functions it
    calls (the helpers that read its query or body), and those of the store's methods it calls
    (``store().patients.update(..., json_body())``) and of theirs (``self._move``)."""
    view = inspect.unwrap(view)
    module = sys.modules[view.__module__]
    source = inspect.getsource(view)
    sources = [source]
    for called in set(CALLED.findall(source)):
        helper = getattr(module, called, None)
        if inspect.isfunction(helper) and helper.__module__ in (module.__name__, "web.jsonio"):
            sources.append(inspect.getsource(helper))
    methods = _store_methods()
    stored = [text for called in set(METHOD.findall("".join(sources))) for text in methods.get(called, ())]
    stored += [text for called in set(METHOD.findall("".join(stored))) if called.startswith("_")
               for text in methods.get(called, ())]
    return ({next(g for g in m.groups() if g) for text in sources for m in NAME_PATTERN.finditer(text)}
            | {name for text in stored for name in STORED_NAME.findall(text)})


@pytest.fixture
def world(app, store, records, accounts):
    """The records the ids name: the ``records`` patient's with a programme, and another patient's."""
    from web.api_programmes import templates

    who = Actor(accounts["ana"]["id"], "ana")
    with app.test_request_context():
        found, _problem = templates()
    template = found[sorted(found)[0]]
    mine = store.programmes.assign(records["patient"], template, "2026-12-01", actor=who)
    theirs = store.programmes.assign(records["other"], template, "2026-12-01", actor=who)
    other_session = store.sessions.create(records["other"], {"label": "theirs"}, actor=who)
    other_trial = store.trials.import_trial(other_session["id"], "romberg", "eyes_open", {"method": "nominal"}, 100.0,
                                            clinic_data.make_frames(300), clinic_data.metrics_doc(), True, None,
                                            actor=who)
    mine, theirs = store.programmes.get(mine["id"]), store.programmes.get(theirs["id"])
    # the account the administrator's garbage goes to (disabled or given another role, it is not the test's)
    zed = store.users.create("zed", "zed password 123", "clinician", actor=Actor(None, "cli:test"))
    return {
        "ids": {"patient_id": records["patient"], "session_id": records["session"], "trial_id": records["trial"],
                "assignment_id": mine["id"], "visit_id": mine["visits"][0]["id"], "user_id": zed["id"],
                "local_id": records["trial"], "part_no": 0},
        "programme_session": mine["sessions"][0]["id"],
        "theirs": [records["other"], other_session["id"], other_trial, theirs["id"], theirs["visits"][0]["id"],
                   theirs["sessions"][0]["id"]],
    }


def _path_values(rule, ids: dict, template_names: list[str]) -> list[dict]:
    """Values for the rule's arguments: its own records, then each id argument unknown and largest."""
    own = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "BoundedIntConverter":
            own[name] = ids[name] if name in ids else UNKNOWN_ID
        elif kind != "AnyConverter":  # a name (a programme template, a station); any(...): each word (_urls)
            own[name] = template_names[0] if template_names else "x"
    cases = [own]
    for name, converter in rule._converters.items():
        if type(converter).__name__ == "BoundedIntConverter":
            cases += [{**own, name: UNKNOWN_ID}, {**own, name: LARGEST_ID}]
        elif type(converter).__name__ != "AnyConverter":
            cases += [{**own, name: bad} for bad in ("x" * 300, "..", "%2e%2e%2f", "\u0661", "a b", "-1")]
    return cases


def _urls(rule, ids: dict, template_names: list[str], own_only: bool = False) -> list[str]:
    """The rule's paths: its own records' first (every word of an ``any(...)``), then the others."""
    urls = []
    cases = _path_values(rule, ids, template_names)
    for values in cases[:1] if own_only else cases:
        any_args = {n: c for n, c in rule._converters.items() if type(c).__name__ == "AnyConverter"}
        choices = [dict()]
        for name, converter in any_args.items():
            words = [w for w in re.findall(r"[\w-]+", converter.regex) if w]
            choices = [{**c, name: w} for c in choices for w in words]
        for choice in choices:
            filled = {k: v for k, v in values.items() if k not in any_args}
            path = rule.rule
            for name, value in {**filled, **choice}.items():
                path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", str(value), path)
            urls.append(path)
    return urls


def _check(problems: list, what: str, response) -> None:
    """Note ``response`` in ``problems`` if it is a 500, holds a traceback, or is an API error
    without words. A stream (the live view's events) is judged by its status and headers alone:
    it never ends."""
    status = response.status_code
    if response.mimetype == "text/event-stream":
        body = b""
    else:
        body = response.get_data()
    response.close()
    if b"Traceback (most recent call last)" in body or b'File "/' in body:
        problems.append(f"{what}: a traceback in the answer ({status})")
    if status >= 500 and status not in (503, 507):
        problems.append(f"{what}: {status} {body[:300].decode('utf-8', 'replace')}")
        return
    if status >= 400 and response.mimetype == JSON:
        doc = json.loads(body) if body else None
        words = doc.get("error") or doc.get("detail") if isinstance(doc, dict) else None  # detail: /healthz's
        if not (isinstance(words, str) and len(words) > 10):
            problems.append(f"{what}: {status} without words: {body[:200]!r}")


ID_NAMES = re.compile(r"(^|_)(id|ids|visit|session|trial|patient|assignment)$")


def _field_values(name: str, world: dict) -> tuple:
    """Garbage for a field or parameter; for one that names a record, also unknown ids and every
    record of another patient."""
    if ID_NAMES.search(name):
        return FIELD_GARBAGE + (UNKNOWN_ID, *world["theirs"])
    return FIELD_GARBAGE


def _ask_route(client: ApiClient, rule, method: str, view, world: dict, template_names: list[str],
               problems: list) -> int:
    urls = _urls(rule, world["ids"], template_names)
    names = sorted(_names(view) | {"in_visit"}) if method == "GET" else sorted(_names(view))
    asked = 0

    def ask(what: str, response) -> None:
        nonlocal asked
        asked += 1
        _check(problems, what, response)

    for n, url in enumerate(urls):
        own = n < len(_urls(rule, world["ids"], template_names, own_only=True))
        if method == "GET":
            ask(f"GET {url}", client.client.get(url, buffered=False))
            if not own:
                continue
            for name in names:
                values = QUERY_GARBAGE + (tuple(str(i) for i in (UNKNOWN_ID, *world["theirs"]))
                                          if ID_NAMES.search(name) else ())
                for bad in values:
                    ask(f"GET {url}?{name}={bad[:20]!r}",
                        client.client.get(url, query_string={name: bad}, buffered=False))
            continue
        if not own:
            ask(f"{method} {url} {{}}", client.send(method, url, {}))
            continue
        for raw, mimetype in RAW_BODIES:
            headers = {"X-CSRF-Token": client.csrf}
            if mimetype:
                headers["Content-Type"] = mimetype
            ask(f"{method} {url} body {(raw or b'')[:30]!r} ({mimetype})",
                client.client.open(url, method=method, data=raw, headers=headers))
        fields = set(names)
        probe = client.send(method, url, {"zz_not_a_field": 1})
        ask(f"{method} {url} {{zz_not_a_field: 1}}", probe)
        if probe.mimetype == JSON and isinstance(probe.get_json(), dict):
            for found in ALLOWED.findall(json.dumps(probe.get_json())):
                fields |= {f.strip() for f in found.split(",") if f.strip()}
        for field in sorted(fields):
            for value in _field_values(field, world):
                ask(f"{method} {url} {{{field}: {str(value)[:30]!r}}}", client.send(method, url, {field: value}))
        for value in FIELD_GARBAGE:
            ask(f"{method} {url} every field {str(value)[:30]!r}", client.send(method, url, {f: value for f in fields}))
    return asked


def _garbage_to_every_route(app, clients: dict[str, ApiClient], world: dict) -> tuple[int, int, list[str]]:
    from web.api_programmes import templates

    with app.test_request_context():
        found, _problem = templates()
    template_names = sorted(found)
    # erasures after the rest (a garbage identifier a PATCH stored is one a DELETE confirms), then the
    # sign-ins, then the sign-outs
    asks = sorted(((rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
                   for method in rule.methods - {"HEAD", "OPTIONS"}),
                  key=lambda a: (a[0].endpoint in SIGN_OUTS, a[0].endpoint in SIGN_INS, a[1] == "DELETE", a[0].rule, a[1]))
    problems: list[str] = []
    routes = asked = 0
    trial = f"/api/trials/{world['ids']['trial_id']}"
    erasing = False
    for rule, method in asks:
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "station_roles", None)
        who = "clinician" if roles is None or "clinician" in roles else "admin"  # past the role check
        routes += 1
        asked += _ask_route(clients[who], rule, method, view, world, template_names, problems)
        if rule.endpoint not in SIGN_OUTS and not clients[who].get("/api/session").get_json()["authenticated"]:
            problems.append(f"{method} {rule.rule}: the garbage signed the {who} out")
            clients[who].login(*CREDENTIALS[who])
        erasing = erasing or method == "DELETE"
        if not erasing and clients["clinician"].get(trial).status_code != 200:  # the ids must name records
            problems.append(f"{method} {rule.rule}: the garbage took the records the ids name")
    return routes, asked, problems


CREDENTIALS = {"clinician": ("ana", CLINICIAN_PW), "admin": ("root", ADMIN_PW)}


def test_garbage_to_every_route_is_answered_in_words_never_500(app, store, world, clinician, admin, backend):
    if backend == "postgresql":  # the hub's station endpoints: past their token check
        from station.sync.hub import Hub

        token = Hub(store).add_station("gym")
        for client in (clinician, admin):
            client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    routes, asked, problems = _garbage_to_every_route(app, {"clinician": clinician, "admin": admin}, world)
    assert routes >= 80 and asked > 50 * routes, (routes, asked)
    assert not problems, f"{len(problems)} answers out of words:\n" + "\n".join(problems[:400])
