"""The hub's sync API (for stations, with a station token) and its stations' health (for admins).

Mounted when the app runs as the hub (``create_app({"HUB": True, ...})``; ``balance-station hub``).

Station endpoints take ``Authorization: Bearer <station token>`` (from ``balance-station hub
stations add NAME``), never a login session, so they need no CSRF token (a header the browser never
sends by itself); unknown and revoked tokens get ``401``, and an address that keeps presenting
bad tokens (20 in 15 min; an IPv6 address's whole /64 counted as one: :func:`web.throttle.address_key`) gets ``429`` for them for a while (the addresses remembered are
bounded); a valid, active token is looked up first (by its SHA-256) and always served, so a guesser behind a clinic's NAT cannot stop the stations' sync. Lookups of a patient by identifier
(the three ``/api/hub/patients`` lookups below, POST and GET counted together) are limited per
station token (:func:`lookup_limited`), and so are a push's patients: one it never had that the hub
holds by identifier counts as a lookup, and new ones are bounded (:func:`push_limits`; beyond,
``429`` with ``Retry-After`` naming the change, those before it applied). Bodies are bounded (push 128 kB, frame part 56 kB, lookup
4 kB) before they are read.

The lookups take the identifier in a POST's JSON body, so that no URL names a patient (proxies'
logs keep URLs); each also answers ``GET`` with the same arguments as its query, for the stations
installed before (a station POSTs first, and asks by GET only a hub that answers its POST ``405``:
:meth:`station.sync.client.HubClient.lookup`). The hub remembers which stations still look up by
GET (:meth:`station.sync.hub.Hub.note_lookup`): ``hub stations list`` and the Stations page say
"uses the old lookup (identifier in URLs): update this station". The GET routes are planned to go
in the first release after :data:`station.sync.hub.GET_LOOKUPS_END` (a plan: docs/api.md).

The answers a station acts on (push, tombstones, the updates and lookups) name the restore of the
station the hub last confirmed, ``confirmed_restore`` (absent: none; :func:`names_restore`): a
station that never sent that restore (a notice posted with its stolen token and confirmed) stops
syncing and says so (:mod:`station.sync.station_restore`).

``POST /api/hub/push``
    ``{"station_id", "queue_length", "last_error", "tombstones_through", "restores", "changes": [...]}`` →
    ``{"applied_through", "applied", "duplicates"}`` (:meth:`station.sync.hub.Hub.push`;
    ``tombstones_through``: the last erasure tombstone the station applied; ``restores``: the
    restores it sent, ``409`` and nothing applied when they do not hold the one the hub confirmed).
``POST /api/hub/station-restored``
    ``{"station_id", "restored": {"id", "seq", "queued_from", "ids"}}``: the station was restored
    from its own backup. Held until a hub administrator confirms it (``409`` in words meanwhile);
    then ``{"last_seq", "forgotten"}``: the hub takes its changes after ``last_seq`` as a new epoch
    of it (:mod:`station.sync.hub_restore`).
``GET /api/hub/audit`` / ``POST /api/hub/audit``
    ``{"last"}``: the last of the station's own audit entries the hub holds; ``{"station_id",
    "entries": [...]}`` (at most 200, in order) → ``{"last", "added"}``: appended to the hub's
    audit log as ``USER@STATION`` (:mod:`station.sync.hub_audit`).
``GET /api/hub/trials/<local_id>/parts``
    ``{"on_hub", "parts"}``: which frame parts of a station's trial the hub holds.
``PUT /api/hub/trials/<local_id>/parts/<part_no>``
    one part, ``application/octet-stream``, headers ``X-First-Seq`` (the first frame's ``seq``),
    ``X-Frames`` and ``X-Frames-SHA256`` (the body's SHA-256: a part whose body differs is not
    stored, ``400``, and the station sends it again).
``DELETE /api/hub/trials/<local_id>/parts``
    drop the parts of a trial that will never come (its patient was erased at the station).
``GET /api/hub/tombstones?after=N&keyed=1[&queue_length=Q]``
    erasures after tombstone ``N`` (with ``highest``, the database's ``epoch``:
    :mod:`station.store.hub_epoch`, and ``hub_version``, the hub's software: a station whose
    restore notice an older hub answered ``404`` tells it again once this changes,
    :mod:`station.sync.station_restore`), each patient named by the HMAC of their identifier hash keyed
    with the clinic's key (``keyed=1``: a station of sync protocol 1, which would look for plain
    hashes and erase nobody, gets ``400`` instead); ``queue_length`` checks the station in (its
    last sync and queue on the stations page, also when it has nothing to push).
``GET /api/hub/clinic-key``
    ``{"key", "key_id"}``: the clinic's erasure key (:mod:`station.store.erasure_key`: a file of the
    hub's data directory, never in its database), with which stations name erasures and match tombstones.
``GET /api/hub/patient-updates?after=N``
    ``{"patients": [{"local_id", "change", "updated_at", "fields"}], "until"}``: the hub's current
    fields of this station's patients changed on the hub after change number ``N`` (merged from
    other stations, or edited on the hub; :mod:`station.store.change_seq`), so that every station
    converges on the hub's record; ``until`` is the next ``N``. Stations before change numbers ask
    ``?since=T`` (a time of the hub's clock) and are answered by time, as before.
``POST /api/hub/patients`` ``{"identifier"}``
    ``{"patient": {...}}``: a patient to measure at the station (pulled on demand); audited.
``GET /api/hub/history-updates?after=N&judged_after=J``
    ``{"patients": [{"local_id", "sessions"}], "next"}``: trials recorded elsewhere after hub trial
    ``N`` of the patients this station holds, with their visits (at most 200 trials), so that its
    pulled histories stay current at every sync (:meth:`station.sync.hub.Hub.history_updates`);
    with ``judged_after``, also ``"judgements"`` (those trials whose validity, reason or note
    changed after hub audit entry ``J``), ``"judged_until"`` and ``"judged_more"``.
``GET /api/hub/programme-updates?after=N&after_field=F``
    ``{"programmes": [{"local_id", "fields"}], "next"}``: the fields of the programmes this station
    assigned that the hub's users or other stations' games set, so the station takes them; 2,000
    a page, in the order of (programme, field) after programme ``N``'s field ``F``; ``next``
    (``{"local_id", "field"}``) while more wait.
``POST /api/hub/patients/programmes`` ``{"identifier"}``
    ``{"programmes": [...]}``: the patient's programmes as the hub has them now, in short (status,
    adherence, each session's date, status, minutes and where it was recorded), for a station to
    show read-only (:meth:`station.sync.hub.Hub.programmes_for_station`); audited.
``POST /api/hub/patients/history`` ``{"identifier", "after": N, "trial_after": T}``
    ``{"sessions": [...], "next", "next_trial"}``: one page (about 1 MB) of the patient's sessions
    and trials recorded elsewhere (results, validity, station and calibration ids; no raw frames),
    after hub session ``N`` (``T`` > 0: session ``N`` goes on after its hub trial ``T``, a session
    too large for one page being sent in parts; :meth:`station.sync.hub.Hub.history_for_station`);
    the first page is audited. Without ``trial_after`` (stations before parts), whole sessions, and
    ``409`` for a session larger than such a station takes in one answer (4 MiB).

Signed-in users: ``GET /api/hub/assignments/<id>/sources``: which station assigned a programme
and recorded each of its fields (:meth:`station.sync.hub.Hub.programme_sources`; the programme
page marks sessions "at NAME").

Administrators: ``GET /api/hub/assignments/<id>/versions`` (the versions of a programme's fields
that last-writer-wins merges kept, audited); ``GET /api/hub/stations`` (JSON) and the page ``/hub/stations``: every station with
its last sync, queue length, last error and restore notice waiting (``POST
/hub/stations/<name>/confirm-restore``, a form with ``mark``, the notice's id: the administrator
confirms it, audited by name); ``GET /api/hub/patients/<id>/versions``: the versions
of a patient's fields that last-writer-wins merges kept (the station's and the hub's), audited; ``POST
/api/hub/patients/<id>/versions/<version>/undo``: the hub's values that version replaced put back, as
the administrator's edit on the hub (every station takes it), the fields changed since left and named,
with ``said``, the same in words (:mod:`web.hub_versions`); the page ``/hub/patients/<id>/versions``
(linked from the patient's page): each version, its "Put back these values" button, a confirmation
(``?confirm=<version>``) saying what will change, and the form ``POST
/hub/patients/<id>/versions/<version>/undo`` whose answer is the page saying what was done.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, render_template, request

from station.store.db import NotFound, ValidationError
from station.sync.hub import MAX_PART_BYTES, Hub, LimitReached, PushLimits, wait_words
from station.sync.hub_restore import NAMED
from station.sync.records import PART_DIGEST_HEADER, part_digest
from station.sync.refused import shown_error
from web.jsonio import BadRequestBody, body_int, json_body, query_int
from web.security import actor, api_error, roles, token_auth
from web.throttle import address_key

bp = Blueprint("hub_api", __name__)

PUSH_MAX_BYTES = 128 * 1024
BAD_TOKENS_PER_ADDRESS = 20
BAD_TOKEN_WINDOW_S = 15 * 60
LOOKUPS_PER_STATION = 60
"""Requests naming a patient by identifier (patient, history page, programmes) one station token
may make in :data:`LOOKUP_WINDOW_S`: a clinic pulls a few patients an hour (3 or 4 requests
each, and the link its next push sends), while a leaked token enumerating identifiers needs
thousands. A pushed patient this station never had that the hub holds by its identifier counts
as one too (:class:`station.sync.hub.PushLimits`: otherwise a push of guessed identifiers found
them unlimited, and brought their histories to the station)."""
LOOKUP_MISSES_PER_STATION = 10
"""Of those, lookups of identifiers the hub does not know (what enumeration mostly makes)."""
LOOKUP_WINDOW_S = 15 * 60
NEW_PATIENTS_PER_STATION = 200
"""New patients one station token may send in :data:`LOOKUP_WINDOW_S`. A pushed patient the hub
does not hold is created, which tells the sender the identifier was nobody's: a push of guessed
identifiers is a lookup of each, missed, at 500 a push. Patients are registered by hand, one or
two a minute at most per station, so a clinic meets this bound only when a backlog arrives at
once (a station's first sync after weeks offline, or a station of records upgraded to sync): its
queue then goes on 200 patients each 15 min (1,000 in about 75 min), the station saying so and
retrying by itself. A leaked token so finds at most 800 unknown identifiers an hour, each leaving
a patient on the hub named by the guess (audited ``patient.create`` by ``station:NAME``), where
before it found any number at push speed; its finds of identifiers the hub holds are lookups
(:data:`LOOKUPS_PER_STATION`)."""
RESTORE_NOTICE_MAX_BYTES = 32 * 1024
"""The largest restore notice: its mark, and up to 100 visits, 100 trials and 100 queued changes
above it with their times (about 40 bytes each: 12 kB); it was 4 kB, which 60 of them outgrew."""
LOOKUP_MAX_BYTES = 4 * 1024
"""The largest body of a lookup by identifier (an identifier and two numbers: under 200 bytes)."""


def hub() -> Hub:
    return current_app.extensions["station_hub"]


def station_only(view):
    """The view needs a valid station token; ``g.station`` is the station."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        # the token is looked up first (its SHA-256: cheap), so that a valid, active token is never
        # refused for the bad ones others sent from the same address (a clinic's NAT, a guest Wi-Fi)
        station = hub().authenticate(token)
        if station is None:
            throttle = current_app.extensions["station_hub_token_throttle"]
            address = address_key(request.remote_addr)  # an IPv6 client's /64
            wait = throttle.retry_after_s(address)
            if wait:
                response = api_error(429, f"too many requests with bad station tokens; try again in {wait} s")
                response.headers["Retry-After"] = str(wait)
                return response
            throttle.failure(address)
            return api_error(401, "unknown or revoked station token; ask the hub's administrator for a token "
                                  "(`balance-station hub stations add NAME`)")
        g.station = station
        return view(*args, **kwargs)

    return token_auth(wrapper)


def names_restore(view):
    """The view's answer (a dict) names the restore of ``g.station`` the hub last confirmed
    (:data:`station.sync.hub_restore.NAMED`; absent when none): a station that never sent that
    restore stops syncing before it takes or pushes anything (:mod:`station.sync.station_restore`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        answer = view(*args, **kwargs)
        if isinstance(answer, dict):
            named = hub().confirmed_restore(g.station)
            if named is not None:
                answer = {**answer, NAMED: named}
        return answer

    return wrapper


def lookup_limited(view):
    """A station's lookup of a patient by identifier, limited per station token (after
    :func:`station_only`): beyond :data:`LOOKUPS_PER_STATION` lookups, or
    :data:`LOOKUP_MISSES_PER_STATION` of unknown identifiers, in :data:`LOOKUP_WINDOW_S`,
    ``429`` with ``Retry-After`` (and ``retry_after_s`` in the answer). A push's patients are
    counted in the same windows (:func:`push_limits`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        hub().note_lookup(g.station, in_url=request.method == "GET")  # the Stations page: "update this station"
        wait = _lookup_wait(str(g.station.id))
        if wait:
            return _limited(f"too many patient lookups by identifier from station {g.station.name!r} (the hub "
                            f"answers {LOOKUPS_PER_STATION} in {LOOKUP_WINDOW_S // 60} min, "
                            f"{LOOKUP_MISSES_PER_STATION} of them of identifiers it does not hold); "
                            f"try again in {wait_words(wait)}", wait)
        try:
            return view(*args, **kwargs)
        except NotFound:
            current_app.extensions["station_hub_lookup_misses"].failure(str(g.station.id))
            raise

    return wrapper


def _lookup_wait(key: str) -> int:
    """0 if station ``key`` may look up a patient by identifier now (the lookup is then counted),
    else whole seconds to wait."""
    misses = current_app.extensions["station_hub_lookup_misses"]
    return misses.retry_after_s(key) or current_app.extensions["station_hub_lookups"].admit(key)


def _limited(message: str, wait: int):
    response = api_error(429, message, retry_after_s=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def push_limits(station) -> PushLimits:
    """The limits of ``station``'s push (:class:`station.sync.hub.PushLimits`): a patient it never
    had found by identifier is a lookup (:data:`LOOKUPS_PER_STATION`, after
    :data:`LOOKUP_MISSES_PER_STATION`), a link to an unknown identifier a miss, a new patient one
    of :data:`NEW_PATIENTS_PER_STATION`."""
    key = str(station.id)
    extensions = current_app.extensions
    return PushLimits(found=lambda: _lookup_wait(key),
                      missed=lambda: extensions["station_hub_lookup_misses"].failure(key),
                      created=lambda: extensions["station_hub_new_patients"].admit(key))


@bp.post("/api/hub/push")
@station_only
@names_restore
def push():
    request.max_content_length = PUSH_MAX_BYTES
    try:
        return hub().push(g.station, json_body(), push_limits(g.station))
    except LimitReached as exc:  # the changes before it are applied; the station sends the rest again
        return _limited(str(exc), exc.retry_after_s)


@bp.post("/api/hub/station-restored")
@station_only
def station_restored():
    request.max_content_length = RESTORE_NOTICE_MAX_BYTES
    return hub().station_restored(g.station, json_body())


@bp.get("/api/hub/audit")
@station_only
def audit_last():
    return hub().audit_last(g.station)


@bp.post("/api/hub/audit")
@station_only
def push_audit():
    request.max_content_length = PUSH_MAX_BYTES
    return hub().push_audit(g.station, json_body())


@bp.get("/api/hub/trials/<int:local_id>/parts")
@station_only
def parts(local_id: int):
    return hub().parts(g.station, local_id)


@bp.put("/api/hub/trials/<int:local_id>/parts/<int:part_no>")
@station_only
def put_part(local_id: int, part_no: int):
    request.max_content_length = MAX_PART_BYTES
    if request.mimetype != "application/octet-stream":
        return api_error(415, "send the frames as application/octet-stream")
    try:
        first_seq = int(request.headers.get("X-First-Seq", ""))
        n_frames = int(request.headers.get("X-Frames", ""))
    except ValueError:
        return api_error(400, "X-First-Seq and X-Frames headers (integers) are required")
    data = request.get_data(cache=False)  # 413 beyond the bound
    digest = request.headers.get(PART_DIGEST_HEADER, "").strip().lower()
    if not digest:
        return _refused_protocol_1(f"this station's software sends frame parts without {PART_DIGEST_HEADER} (sync "
                                   "protocol 1); update the station to the hub's version")
    if part_digest(data) != digest:
        return api_error(400, f"part {part_no} arrived damaged (its body does not match {PART_DIGEST_HEADER}); "
                              "not stored: send it again")
    hub().store_part(g.station, local_id, part_no, first_seq, n_frames, data)
    return {"stored": part_no}


@bp.delete("/api/hub/trials/<int:local_id>/parts")
@station_only
def drop_parts(local_id: int):
    hub().drop_parts(g.station, local_id)
    return {"dropped": local_id}


def _refused_protocol_1(message: str):
    """400 with ``message`` (naming :data:`station.sync.hub.PROTOCOL_1_MARK`, so that the station's
    next check-in as the current protocol clears it), also shown as the station's last error on the
    hub's stations page."""
    hub().note_refusal(g.station, message)
    return api_error(400, message)


@bp.get("/api/hub/tombstones")
@station_only
@names_restore
def tombstones():
    after = query_int("after", 0, low=0, high=2**62)
    queue_length = query_int("queue_length", -1, low=0, high=2**62)
    if queue_length >= 0:
        hub().check_in(g.station, queue_length, current_protocol=request.args.get("keyed") == "1")
    answer = hub().tombstones(after, station=g.station)
    if request.args.get("keyed") != "1" and answer["tombstones"]:
        return _refused_protocol_1("this station's software asks for unkeyed erasure tombstones (sync protocol 1); "
                                   "update the station to the hub's version (its erasures wait until then)")
    import station

    # a station whose restore notice an older hub did not know asks it again once this changes
    return {**answer, "hub_version": station.__version__}


@bp.get("/api/hub/clinic-key")
@station_only
def clinic_key():
    return hub().clinic_key_for_station()


@bp.get("/api/hub/patient-updates")
@station_only
@names_restore
def patient_updates():
    if "after" in request.args:  # a change number (stations since change numbers)
        return hub().patient_updates(g.station, after=query_int("after", 0, low=0, high=2**62))
    since = request.args.get("since", "")
    if len(since) > 40:
        return api_error(400, "since must be an ISO time as the hub returned it")
    return hub().patient_updates(g.station, since)


def _lookup_arguments(*integers: str) -> dict:
    """The arguments of a lookup by identifier: a POST's JSON body (at most
    :data:`LOOKUP_MAX_BYTES`; its URL names no patient), or, from stations before those POSTs, the
    GET's query. ``identifier`` (checked) and the whole numbers ``integers`` (each -1 when absent).
    BadRequestBody / ValidationError (``400``/``422``) in words."""
    if request.method == "POST":
        request.max_content_length = LOOKUP_MAX_BYTES
        if request.args:
            raise BadRequestBody(400, "send the lookup's arguments in the JSON body, not in the URL")
        data = json_body()
        unknown = [k for k in data if k not in ("identifier", *integers)]
        if unknown:
            raise ValidationError({k[:40]: "unknown field; allowed: " + ", ".join(("identifier", *integers))
                                   for k in unknown})
        identifier = data.get("identifier")
        numbers = {name: body_int(data, name, -1, 0, 2**62) for name in integers}
    else:
        identifier = request.args.get("identifier", "")
        numbers = {name: query_int(name, -1, low=0, high=2**62) for name in integers}
    if not isinstance(identifier, str) or not identifier.strip() or len(identifier) > 64:
        where = '{"identifier": "..."} in the JSON body' if request.method == "POST" else "?identifier="
        raise BadRequestBody(400, f"give {where} (the patient's pseudonymous code, 1 to 64 characters)")
    return {"identifier": identifier, **numbers}


@bp.route("/api/hub/patients", methods=["GET", "POST"])
@station_only
@names_restore
@lookup_limited
def pull_patient():
    identifier = _lookup_arguments()["identifier"]
    return {"patient": hub().patient_for_station(g.station, identifier)}


@bp.route("/api/hub/patients/history", methods=["GET", "POST"])
@station_only
@names_restore
@lookup_limited
def pull_history():
    asked = _lookup_arguments("after", "trial_after")
    trial_after = asked["trial_after"]  # absent: a station before history in parts
    return hub().history_for_station(g.station, asked["identifier"], max(asked["after"], 0),
                                     trial_after=None if trial_after < 0 else trial_after)


@bp.get("/api/hub/history-updates")
@station_only
@names_restore
def history_updates():
    after = query_int("after", 0, low=0, high=2**62)
    judged_after = query_int("judged_after", -1, low=0, high=2**62)  # absent: a station before judgements
    return hub().history_updates(g.station, after, judged_after=None if judged_after < 0 else judged_after)


@bp.get("/api/hub/programme-updates")
@station_only
@names_restore
def programme_updates():
    after_field = request.args.get("after_field", "")
    if len(after_field) > 100:
        return api_error(400, "after_field must be a programme field as the hub returned it")
    return hub().programme_updates(g.station, after=(query_int("after", 0, low=0, high=2**62), after_field))


@bp.route("/api/hub/patients/programmes", methods=["GET", "POST"])
@station_only
@names_restore
@lookup_limited
def pull_programmes():
    return hub().programmes_for_station(g.station, _lookup_arguments()["identifier"])


@bp.get("/api/hub/assignments/<int:assignment_id>/sources")
def programme_sources(assignment_id: int):
    """Where a programme and each of its fields were recorded (the programme page marks them); audited
    as the station's ``recorded-elsewhere`` lookups are (X1's F7)."""
    patient_id = hub().store.programmes.get(assignment_id)["patient_id"]  # 404 for an unknown programme
    answer = hub().programme_sources(assignment_id)
    hub().store.audit.record(actor(), "programme.view", patient_id=patient_id, object=f"programme:{assignment_id}",
                             detail={"sources": True})
    return answer


@bp.get("/api/hub/assignments/<int:assignment_id>/versions")
@roles("admin")
def programme_versions(assignment_id: int):
    patient_id = hub().store.programmes.get(assignment_id)["patient_id"]  # 404 for an unknown programme
    versions = hub().programme_versions(assignment_id)
    hub().store.audit.record(actor(), "programme.view", patient_id=patient_id, object=f"programme:{assignment_id}",
                             detail={"versions": len(versions)})
    return {"assignment_id": assignment_id, "versions": versions}


def _shown_stations() -> list[dict]:
    return [{**s, "last_error": shown_error(s["last_error"])} for s in hub().stations()]


@bp.get("/api/hub/stations")
@roles("admin")
def list_stations():
    return {"stations": _shown_stations()}


@bp.get("/api/hub/patients/<int:patient_id>/versions")
@roles("admin")
def patient_versions(patient_id: int):
    hub().store.patients.get(patient_id)  # 404 for an unknown patient
    versions = hub().patient_versions(patient_id)
    hub().store.audit.record(actor(), "patient.view", patient_id=patient_id, object=f"patient:{patient_id}",
                             detail={"versions": len(versions)})
    return {"patient_id": patient_id, "versions": versions}


@bp.post("/api/hub/patients/<int:patient_id>/versions/<int:version_id>/undo")
@roles("admin")
def undo_patient_version(patient_id: int, version_id: int):
    """Put back the hub's values a station's merge replaced (:meth:`station.sync.hub.Hub.undo_patient_version`),
    with ``said``: what was put back and what was left, in words (:func:`web.hub_versions.undo_words`)."""
    answer, said = _undo(patient_id, version_id)
    return {**answer, "said": said}


def _undo(patient_id: int, version_id: int) -> tuple[dict, str]:
    """Put version ``version_id``'s values back: the answer, and its words. NotFound, Conflict as
    :meth:`station.sync.hub.Hub.undo_patient_version`."""
    from web.hub_versions import changed_by, undo_words

    answer = hub().undo_patient_version(patient_id, version_id, actor=actor())
    plan = answer.pop("plan")  # the words say what was done: the plan it carried out, not one read again
    by = changed_by(_patient_updates(patient_id, plan["audit_id"]), plan["changed_since"], version_id)
    return answer, undo_words(plan, by, _local_time)


def _patient_updates(patient_id: int, upto_id: int | None = None) -> list[dict]:
    """The audit log's changes of patient ``patient_id`` (``patient.update``), newest first: who changed a
    field since a version (:func:`web.hub_versions.changed_by`); ``upto_id``: those up to that entry (a plan's
    ``audit_id``: who changed what it left, not an edit made after it was read)."""
    return hub().store.audit.query(action="patient.update", patient_id=patient_id, limit=1000,
                                   before_id=None if upto_id is None else upto_id + 1)


@bp.get("/hub/patients/<int:patient_id>/versions")
@roles("admin")
def patient_versions_page(patient_id: int):
    """The page of a patient's versions (what stations' merges replaced), each with its "Put back these
    values" button; ``?confirm=<version>`` asks first, saying what will change. A ``confirm`` that is no
    version's number (only a hand-edited address has one) is the page saying so, 400, not the page as if
    nothing had been asked; a version the patient does not have, 404, as the button's own answer."""
    try:
        confirm = query_int("confirm", 0, 1, 2**62) or None
    except ValidationError:
        return _versions_page(patient_id, 400, failed=True, said="Nothing to confirm: the address's confirm= is not "
                              "a version's number; choose “Put back these values…” beside a version below.")
    return _versions_page(patient_id, confirm=confirm)


@bp.post("/hub/patients/<int:patient_id>/versions/<int:version_id>/undo")
@roles("admin")
def undo_version_form(patient_id: int, version_id: int):
    """The versions page's confirmed button: put the version's values back (:func:`_undo`); the page
    again, saying what was put back and what was left, or why nothing was."""
    from station.store.db import Conflict

    try:
        said, status = _undo(patient_id, version_id)[1], 200
    except NotFound as exc:
        said, status = f"Nothing put back: {exc}; the versions it has are below.", 404
    except Conflict as exc:
        said, status = (f"Nothing put back: {exc}. Change the other patient's identifier first, or edit this "
                        "patient by hand."), 409
    return _versions_page(patient_id, status, said=said, failed=status != 200)


def _versions_page(patient_id: int, status: int = 200, **extra) -> tuple[str, int]:
    """The versions page of patient ``patient_id`` and ``status`` (a page saying so, 404, for an unknown
    patient), audited as ``patient.view`` as ``GET /api/hub/patients/<id>/versions``; ``extra``: a
    version to confirm, what an action said."""
    from web.hub_versions import changed_by, confirm_words, field_words, left_words, value_words

    try:
        patient = hub().store.patients.get(patient_id)
    except NotFound:
        return render_template("dashboard/missing.html", what=f"patient #{patient_id}", is_admin=True), 404
    versions = list(reversed(hub().patient_versions(patient_id)))  # newest first
    if extra.get("confirm") is not None and extra["confirm"] not in {v["id"] for v in versions}:
        status, extra = 404, {"failed": True, "said": f"Nothing to confirm: patient #{patient_id} has no version "
                                                      f"#{extra['confirm']}; the versions it has are below."}
    updates = _patient_updates(patient_id)
    shown = []
    for version in versions:
        plan = hub().undo_plan(patient_id, version["id"])
        by = changed_by(updates, plan["changed_since"], version["id"])
        shown.append({**version, "plan": plan, "confirm_words": confirm_words(plan, by, _local_time) if plan["put_back"] else "",
                      "left_words": left_words(plan["changed_since"], by, _local_time, version["before"])})
    hub().store.audit.record(actor(), "patient.view", patient_id=patient_id, object=f"patient:{patient_id}",
                             detail={"versions": len(versions)})
    return render_template("dashboard/hub_patient_versions.html", patient=patient, versions=shown, is_admin=True,
                           page="patients", local_time=_local_time, field_words=field_words, value_words=value_words,
                           **extra), status


@bp.get("/hub/stations")
@roles("admin")
def stations_page():
    return _stations_page()


def _stations_page(**extra):
    """The hub's Stations page (``extra``: what an action said)."""
    from station.sync.hub import GET_LOOKUPS_END, OLD_LOOKUP_WORDS

    return render_template("dashboard/hub_stations.html", stations=_shown_stations(), is_admin=True, page="admin",
                           old_lookup_words=OLD_LOOKUP_WORDS, get_lookups_end=GET_LOOKUPS_END, local_time=_local_time,
                           **extra)


def _local_time(when) -> str:
    """A time the hub stored (ISO 8601 text, as ``2026-12-06T02:10:33.123+00:00``; or a datetime) as the pages say
    times: to the minute in the clinic's time zone (:func:`station.store.timefmt.local_minute`, ``2026-12-06 13:10
    AEDT``); text that is not a time, as it is."""
    from datetime import datetime

    from station.store.timefmt import local_minute

    try:
        return local_minute(when.timestamp() if isinstance(when, datetime) else str(when))
    except ValueError:
        return str(when)


@bp.post("/hub/stations/<name>/confirm-restore")
@roles("admin")
def confirm_restore(name: str):
    """The stations page's button: confirm the restore notice ``mark`` (its id, as the page showed
    it) of station ``name`` (:meth:`station.sync.hub.Hub.confirm_restore`); the page again, saying
    what was done or why not."""
    from station.store.db import Conflict

    mark = request.form.get("mark", "")
    try:
        done = hub().confirm_restore(name, actor=actor(), mark=mark[:64] or None)
        forgotten = done["forgotten"]
        said, status = (f"Station {name}: restore {done['id'][:8]} confirmed. The hub takes its changes after "
                        f"#{done['last_seq']} at its next sync" + (
                            f"; {forgotten} change{'s' if forgotten != 1 else ''} it had from the lost database after "
                            "the backup: their records stay on the hub as they are." if forgotten else ".")), 200
    except Conflict as exc:
        said, status = str(exc), 409
    return _stations_page(said=said), status


def station_changes(patient_id: int) -> int:
    """How many changes by stations the hub kept for patient ``patient_id`` (:meth:`Hub.patient_versions`): the
    patient page links to them only when there are some (a template global of the hub)."""
    return len(hub().patient_versions(patient_id))


def init_hub(app) -> None:
    """Make the app's store a hub and mount these endpoints."""
    from web.throttle import LoginThrottle, RequestLimit

    app.extensions["station_hub"] = Hub(app.extensions["station_store"], app.config["WALL_CLOCK"])
    app.extensions["station_hub"].clinic_key  # no hub serves without its erasure key: StoreError, saying what to do
    clock = app.config["THROTTLE_CLOCK"]  # monotonic: a step of the wall clock moves no window
    app.extensions["station_hub_token_throttle"] = LoginThrottle(BAD_TOKENS_PER_ADDRESS, BAD_TOKEN_WINDOW_S, clock)
    app.extensions["station_hub_lookups"] = RequestLimit(LOOKUPS_PER_STATION, LOOKUP_WINDOW_S, clock)
    app.extensions["station_hub_lookup_misses"] = LoginThrottle(LOOKUP_MISSES_PER_STATION, LOOKUP_WINDOW_S, clock)
    app.extensions["station_hub_new_patients"] = RequestLimit(NEW_PATIENTS_PER_STATION, LOOKUP_WINDOW_S, clock)
    app.jinja_env.globals["station_changes"] = station_changes
    app.register_blueprint(bp)
