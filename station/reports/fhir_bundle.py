"""FHIR R4B ``Bundle`` of ``Observation`` resources for a trial, a session (its visit) or a
patient's history, built and validated with ``fhir.resources`` (``fhir.resources.R4B``).

Contents (codes in ``docs/fhir.md``, :mod:`.fhir_codes`):

* one ``Observation`` per valid trial and measure family (:func:`.fhir_codes.family`):
  ``valueQuantity`` in UCUM units with the station's float to full precision (a JSON number with
  17 significant digits where needed, so it parses back to the same float); per-axis variants as
  ``component``\\ s; an undefined measure (``null`` in the station) as ``dataAbsentReason``
  ``not-a-number``; ``effectiveDateTime`` the trial's start; ``method`` the test
  (``<protocol>/<condition>`` with the trial and attempt); ``subject`` the patient **by
  identifier only** (the clinic's pseudonymous identifier, no resource, no other personal data);
* ``interpretation`` and ``referenceRange`` where a norm or cut-off applies to that trial's value:
  the Santos & Duarte (2016) age-group 5th–95th percentiles (``H`` above, ``L`` below, ``N``
  between) and the protocol's published cut-offs (``L``/``H`` when crossed, ``N`` when met),
  each with its source in the range's text;
* a ``Device`` for the station (name, software version) and a ``DeviceMetric`` per plate
  calibration in force (``calibration.time``, ``type`` gain or unspecified, ``state``), which
  the Observations name as their ``device``.

* one ``Observation`` per biofeedback training game played (``training_score``: the score as
  its value, the level, minutes played and the game's measures as components; ``method`` the
  game and level, whether it was played to its end, and the score's definition); identifier
  ``training-<id>/training_score``.

Only valid, complete trials are exported (and a timed hold the patient could not take counts as
0 s, as on the results page, its ``method`` and ``note`` saying whether it was measured or scored
by the clinician without a measurement: :func:`unable_words`; a scored one names the clinician who
scored it as its ``performer``, by user name); trials judged invalid stay on the station, and so do
the games played in them.

A patient's whole history is one bundle up to :data:`HISTORY_BUNDLE_TRIALS` complete trials (each
with its games; about 48 kB of JSON a trial); a longer one is refused whole
(:class:`BundleTooLarge`, naming its parts) and exported in parts of that many trials, oldest
first (``part``; the games stored without a trial in the last part): a bundle is built, validated
and held in memory whole, and an unbounded one would take a small station's memory and minutes.
"""

from __future__ import annotations

import json
import math
import time
import uuid

from station import __version__
from station.analysis.biofeedback import GAME_TITLES
from station.protocols.report import (age_in_year, cutoff_reading, norm_withheld_words, stored_result,
                                     visit_session_ids)
from station.protocols.results import cutoff_entry
from station.reference import norms
from station.reference.measures import unit_of
from station.reports import fhir_codes as codes
from station.reports.text import ordinal
from station.store.timefmt import utc_iso
from station.store.verdict import scored_by, unable_trial

FHIR_VERSION = "4.3.0"
"""FHIR R4B, as ``fhir.resources.R4B`` implements it."""
HISTORY_BUNDLE_TRIALS = 250
"""Complete trials (each with the games played in it) one bundle of a patient's history
holds at most: about 12 MB of JSON, scaled from the benchmark's 50-visit history (87 trials: 4.2
MB, 2 338 Observations, built and validated in 3.2–4.1 s, at most 6 times its size in memory),
so about 10 s and 70 MB. A longer history is exported in parts (:func:`patient_bundle`)."""


class NothingToExport(ValueError):
    """The trial or session has no valid, complete trial with measures."""


class BundleTooLarge(NothingToExport):
    """A patient's history holds more trials than one bundle takes: export it in parts."""


def _quantity(key: str, value: float) -> dict:
    return {"value": float(value), "unit": codes.unit_words(key) or "1", "system": codes.UCUM,
            "code": codes.ucum(key)}


def _concept(key: str) -> dict:
    return {"coding": [{"system": codes.MEASURE_SYSTEM, "code": key, "display": codes.display(key)}],
            "text": codes.display(key)}


def _absent() -> dict:
    return {"coding": [{"system": codes.DATA_ABSENT_SYSTEM, "code": "not-a-number",
                        "display": "Not a Number (NaN)"}],
            "text": "undefined for this recording (e.g. a signal without sway)"}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _interpretation(code: str, text: str) -> dict:
    words = {"H": "High", "L": "Low", "N": "Normal", "A": "Abnormal"}[code]
    return {"coding": [{"system": codes.INTERPRETATION_SYSTEM, "code": code, "display": words}], "text": text}


def _norm_withheld(key: str, value: float, protocol, condition_id: str, age_y: float | None,
                   outcome: dict | None) -> str | None:
    """Why the norms that would read this trial's ``value`` of ``key`` are not read, in the results
    page's words (a hold that ended early: :func:`report.norm_withheld_words`, ``outcome`` the trial's
    :meth:`TrialResult.to_dict`); None when they are read or none would apply (as the page, only a
    comparable norm is withheld: a stance without norms keeps its own reason)."""
    if protocol is None or outcome is None:
        return None
    try:
        condition = protocol.condition(condition_id)
    except (KeyError, ValueError):
        return None
    words = norm_withheld_words(protocol.outcome, condition.duration_s, value, [outcome])
    if not words:
        return None
    stance = condition.stance
    norm = norms.compare(key, value, age_y=age_y, eyes=stance.eyes, surface=stance.surface, feet=stance.feet,
                         duration_s=condition.duration_s)
    return words if norm is not None and norm["comparable"] else None


def _readings(key: str, value: float, protocol, condition_id: str, age_y: float | None,
              patient_conditions: list[str] | None = None, norm_withheld: str | None = None) -> tuple[list, list]:
    """(interpretations, reference ranges) of one trial's value against the norms and cut-offs (a
    cut-off set in a population the patient is not known to belong to is left out; the norms not
    when ``norm_withheld`` says why: :func:`_norm_withheld`)."""
    interpretations, ranges = [], []
    if protocol is None:
        return interpretations, ranges
    try:
        condition = protocol.condition(condition_id)
    except (KeyError, ValueError):
        return interpretations, ranges
    stance = condition.stance
    norm = None if norm_withheld else norms.compare(key, value, age_y=age_y, eyes=stance.eyes, surface=stance.surface,
                                                    feet=stance.feet, duration_s=condition.duration_s)
    if norm is not None and norm.get("comparable") and norm.get("percentile") is not None:
        flag = "H" if value > norm["p95"] else ("L" if value < norm["p05"] else "N")
        caveat = f" {norm['note']}" if norm.get("note") else ""
        where = {"H": "Above the 95th percentile", "L": "Below the 5th percentile",
                 "N": f"About the {ordinal(norm['percentile'])} percentile"}[flag]
        interpretations.append(_interpretation(flag, f"{where} of {norm['group']} ({norm['short_source']}).{caveat}"))
        ranges.append({"low": _quantity(key, norm["p05"]), "high": _quantity(key, norm["p95"]),
                       "text": f"5th-95th percentile, {norm['group']}: {norm['source']}"})
    for cut in protocol.cutoffs:
        if cut.metric != key or (cut.condition is not None and cut.condition != condition_id):
            continue
        reference = protocol.reference(cut.reference)
        entry = cutoff_entry(cut, reference, condition_id, value, age_y, patient_conditions)
        if not entry["applies"]:
            continue
        source = reference.citation + (f" doi:{reference.doi}" if reference.doi else "")
        side = cut.flag_side  # a band's good end (Carter's low risk below 3.0 s) is said, never flagged
        limit = cut.below if side == "below" else cut.above
        reading = cutoff_reading(entry, unit_of(key))  # the pages' and the PDF's finding
        words = f"{reading['finding'][:1].upper()}{reading['finding'][1:]} ({reading['limit_words']})"
        if entry["flagged"]:
            words += f". {cut.meaning.rstrip('.')}"
        interpretations.append(_interpretation(("L" if side == "below" else "H") if entry["flagged"] else "N",
                                               f"{words} ({reference.citation})"))
        ranges.append({"low" if side == "below" else "high": _quantity(key, limit), "text": f"cut-off: {cut.meaning} {source}"})
    return interpretations, ranges


def unable_words(trial: dict) -> dict | None:
    """How a stored trial exported as unable (0 s: :func:`.verdict.unable_trial`) was scored:
    ``measured`` (the foot was never lifted) or not (issue ``scored_unable``: scored by the clinician
    without a measurement; ``by``, the clinician's user name, as the trial's page and the audit log
    give it: :func:`.verdict.scored_by`), with the words of its ``method`` text and its ``note``;
    None for any other trial. A 0 s never measured must not read as measured.

    >>> def trial(code):
    ...     return {"valid": False, "validity_reason": "", "metrics": {"trial": {"issues": [{"code": code}]}}}
    >>> unable_words(trial("scored_unable"))["method"]
    'scored by the clinician: the patient could not stand on one leg; not measured'
    >>> unable_words({"valid": False, "validity_reason": "", "metrics": {"trial": {"issues": [{"code": "scored_unable",
    ...     "message": "Scored unable by the clinician (physio.ben), not measured: ..."}]}}})["by"]
    'physio.ben'
    >>> unable_words(trial("no_liftoff"))["note"]
    'Did not lift a foot (measured): unable, counted as 0 s.'
    >>> unable_words(trial("too_few_frames")) is None
    True
    """
    if trial.get("valid") or not unable_trial(trial):
        return None
    issues = ((trial.get("metrics") or {}).get("trial") or {}).get("issues") or []
    if {str(i.get("code", "")) for i in issues if isinstance(i, dict)} == {"scored_unable"}:
        return {"measured": False, "by": scored_by(trial),
                "method": "scored by the clinician: the patient could not stand on one leg; not measured",
                "note": "Scored unable by the clinician, not measured: the patient could not stand on one leg. "
                        "Counted as 0 s."}
    return {"measured": True, "by": None, "method": "measured: the foot was never lifted (unable, 0 s)",
            "note": "Did not lift a foot (measured): unable, counted as 0 s."}


def _performer(username: str | None) -> dict | None:
    """The clinician who asserted a trial's value without the station measuring it (a single-leg
    trial scored unable: :func:`unable_words` ``by``), as FHIR R4 ``Observation.performer`` ("Who
    was responsible for asserting the observed value as 'true'", 0..*, Reference(Practitioner |
    ...)): a logical reference by ``display`` only, the station's user name, since the station keeps
    no Practitioner resource and a user name is no identifier outside it; None when nobody is named.

    >>> _performer("physio.ben")
    {'type': 'Practitioner', 'display': 'physio.ben'}
    """
    if not username:
        return None
    return {"type": "Practitioner", "display": username}


def trial_values(trial: dict) -> dict[str, float | None] | None:
    """The measures of a stored trial that a bundle carries (metric keys; ``time_held_s`` of a
    timed hold), or None for a trial that is not exported (not complete, or judged invalid)."""
    if trial.get("status") != "complete":
        return None
    unable = not trial.get("valid") and unable_trial(trial)
    if not trial.get("valid") and not unable:
        return None
    doc = trial.get("metrics") or {}
    if unable:
        return {"time_held_s": 0.0}
    # A stance measure without a value is undefined for the recording (dataAbsentReason not-a-number);
    # a walk measure without one was not measured or not given (no sensor height, too few steps, the
    # sensor's speed estimate withheld where the gates show it wrong): left out.
    keep_absent = doc.get("kind") != "walk"
    values = {k: (float(v) if _finite(v) else None) for k, v in (doc.get("metrics") or {}).items()
              if (v is None and keep_absent) or _finite(v)}
    held = (doc.get("trial") or {}).get("time_held_s")
    if _finite(held):
        values["time_held_s"] = float(held)
    return values or None


_GAME_MEASURES = {"level": "training_level", "targets_shown": "training_targets_shown",
                  "hits": "training_targets_held", "mean_time_to_reach_s": "training_mean_time_to_reach_s",
                  "mean_path_efficiency": "training_mean_path_efficiency", "inside_pct": "training_inside_pct",
                  "mean_distance_cm": "training_mean_distance_cm", "rms_distance_cm": "training_rms_distance_cm",
                  "smallest_radius_held_cm": "training_smallest_radius_held_cm", "in_band_pct": "training_in_band_pct"}
"""A game result's key (:meth:`station.analysis.biofeedback.Game.result`) -> its code; the game
carries only the measures its kind has (``track`` has no targets, ``reach`` no distance)."""


def training_values(game: dict) -> dict[str, float | None]:
    """The measures of a stored training game (``TrainingSessions.get``) that a bundle carries:
    ``training_score`` (None when nothing was scored), ``training_min`` and the game's measures."""
    result = game.get("result") or {}
    values: dict[str, float | None] = {
        "training_score": float(game["score"]) if _finite(game.get("score")) else None,
        "training_min": float(game["minutes"]),
        "training_level": float(game["level"]),
    }
    for name, key in _GAME_MEASURES.items():
        if name in result and name != "level":
            values[key] = float(result[name]) if _finite(result[name]) else None
    return values


class BundleBuilder:
    """Collects the Observations of trials, with their Device and DeviceMetrics."""

    def __init__(self, identifier: str, protocols: dict, age_y: float | None, wall_clock=time.time,
                 patient_conditions: list[str] | None = None) -> None:
        self.identifier = identifier
        self.protocols = protocols
        self.age_y = age_y
        self.patient_conditions = list(patient_conditions or [])
        self.wall_clock = wall_clock
        self.entries: list[dict] = []
        self._devices: dict[str, str] = {}
        self._metrics: dict[tuple, str] = {}
        self.observations = 0

    def _add(self, resource: dict) -> str:
        full_url = f"urn:uuid:{uuid.uuid4()}"
        self.entries.append({"fullUrl": full_url, "resource": resource})
        return full_url

    def _device(self, version: str) -> str:
        if version not in self._devices:
            self._devices[version] = self._add({
                "resourceType": "Device",
                "identifier": [{"system": codes.DEVICE_IDENTIFIER_SYSTEM, "value": f"balance-station/{version}"}],
                "status": "active",
                "deviceName": [{"name": "Balance station (force plate and lower-back IMU)", "type": "user-friendly-name"}],
                "type": {"text": "Force-plate balance station (four load cells, NAU7802 ADCs)"},
                "version": [{"type": {"text": "software"}, "value": version}],
            })
        return self._devices[version]

    def _device_metric(self, version: str, calibration: dict) -> str:
        created = str(calibration.get("created_utc") or "")
        method = str(calibration.get("method") or "")
        key = (version, created, method)
        if key not in self._metrics:
            device = self._device(version)
            metric = {
                "resourceType": "DeviceMetric",
                "type": {"text": "Centre of pressure and forces from the plate's four load cells"},
                "source": {"reference": device},
                "operationalStatus": "on",
                "category": "measurement",
                "calibration": [{"type": "gain" if method == "measured" else "unspecified",
                                 "state": "calibrated" if method == "measured" else "not-calibrated"}],
            }
            if created:
                metric["calibration"][0]["time"] = _instant(created)
            self._metrics[key] = self._add(metric)
        return self._metrics[key]

    def add_trial(self, trial: dict) -> int:
        """The Observations of one stored trial (``Trials.get``); returns how many were added."""
        values = trial_values(trial)
        if not values:
            return 0
        protocol = self.protocols.get(trial["protocol"])
        doc = trial.get("metrics") or {}
        outcome = doc.get("trial") or {}
        version = str(trial.get("station_version") or doc.get("version") or __version__)
        device = self._device_metric(version, trial.get("calibration") or {})
        label, condition_label = self._test_labels(trial)
        method_text = f"{label}: {condition_label}"
        if outcome.get("trial"):
            method_text += f", trial {outcome.get('trial')}, attempt {outcome.get('attempt') or 1}"
        unable = unable_words(trial)  # a 0 s scored by the clinician, or measured: said, not left to be guessed
        if unable:
            method_text += f"; {unable['method']}"
        if doc.get("profile") and (unable is None or unable["measured"]):  # a scored trial was not processed
            method_text += f"; {doc['profile']} processing at {doc.get('fs_hz')} Hz, {doc.get('samples')} samples"
        method = {"coding": [{"system": codes.TEST_SYSTEM, "code": f"{trial['protocol']}/{trial['condition']}",
                              "display": f"{label}: {condition_label}"}], "text": method_text}
        result = stored_result(protocol, trial) if protocol is not None else None
        added = self._add_observations(f"trial-{trial['id']}", values, trial["started_at"], method, device,
                                       protocol, trial["condition"], None if result is None else result.to_dict(),
                                       unable["note"] if unable else None, _performer(unable["by"] if unable else None))
        self.observations += added
        return added

    def _test_labels(self, trial: dict) -> tuple[str, str]:
        """(the test's title, the condition's label) of a trial, its codes when the protocol is unknown."""
        protocol = self.protocols.get(trial["protocol"])
        if protocol is None:
            return trial["protocol"], trial["condition"]
        try:
            return protocol.title, protocol.condition(trial["condition"]).label
        except (KeyError, ValueError):
            return protocol.title, trial["condition"]

    def add_training(self, game: dict, trial: dict | None) -> int:
        """The Observation of one training game (``TrainingSessions.get``) played in ``trial``
        (``Trials.get``, or None when the game names none); returns how many were added (0 for a
        game whose trial is not complete or was judged invalid)."""
        if trial is not None and (trial.get("status") != "complete" or not trial.get("valid")):
            return 0
        result = game.get("result") or {}
        title = GAME_TITLES.get(game["game"], game["game"])
        ended = "played to its end" if game.get("completed") else "ended early"
        text = f"Biofeedback training game {title}, level {game['level']}, {ended}"
        if trial is not None:
            text += f"; stance: {self._test_labels(trial)[1]}"
        if result.get("score_definition"):
            text += f"; score: {result['score_definition']}"
        version = str((trial or {}).get("station_version") or __version__)
        device = self._device_metric(version, (trial or {}).get("calibration") or {})
        code = f"{(trial or {}).get('protocol') or 'biofeedback-training'}/{game['game']}"
        method = {"coding": [{"system": codes.TEST_SYSTEM, "code": code,
                              "display": f"Biofeedback training: {title}"}], "text": text}
        effective = (trial or {}).get("started_at") or game["created_at"]
        added = self._add_observations(f"training-{game['id']}", training_values(game), effective, method, device,
                                       None, None)
        self.observations += added
        return added

    def _add_observations(self, prefix: str, values: dict, effective: str, method: dict, device: str,
                          protocol, condition: str | None, outcome: dict | None = None, note: str | None = None,
                          performer: dict | None = None) -> int:
        """One Observation per measure family of ``values`` (identifier ``<prefix>/<family>``; ``outcome``: the
        trial's, :meth:`TrialResult.to_dict`; ``note``: words every value of the trial carries, first;
        ``performer``: who asserted the values, :func:`_performer`)."""
        families: dict[str, list[str]] = {}
        for key in values:
            families.setdefault(codes.family(key), []).append(key)
        added = 0
        for fam, keys in families.items():
            observation = {
                "resourceType": "Observation",
                "identifier": [{"system": codes.OBSERVATION_IDENTIFIER_SYSTEM, "value": f"{prefix}/{fam}"}],
                "status": "final",
                "category": [{"coding": [{"system": codes.CATEGORY_SYSTEM, "code": "exam", "display": "Exam"}]}],
                "code": _concept(fam),
                "subject": {"type": "Patient",
                            "identifier": {"system": codes.PATIENT_IDENTIFIER_SYSTEM, "value": self.identifier}},
                "effectiveDateTime": _instant(effective),
                "method": method,
                "device": {"reference": device},
            }
            if performer is not None:
                observation["performer"] = [performer]
            if fam in values:
                value = values[fam]
                if value is None:
                    observation["dataAbsentReason"] = _absent()
                else:
                    observation["valueQuantity"] = _quantity(fam, value)
                    withheld = _norm_withheld(fam, value, protocol, condition, self.age_y, outcome)
                    # an unable trial's words; a hold ended early: no norm's reading, and why (the results page's words)
                    notes = [{"text": text} for text in (note, withheld) if text]
                    if notes:
                        observation["note"] = notes
                    interpretations, ranges = _readings(fam, value, protocol, condition, self.age_y,
                                                        self.patient_conditions, withheld)
                    if interpretations:
                        observation["interpretation"] = interpretations
                    if ranges:
                        observation["referenceRange"] = ranges
            members = [k for k in keys if k != fam]
            if members:
                observation["component"] = [
                    {"code": _concept(k), **({"valueQuantity": _quantity(k, values[k])} if values[k] is not None
                                             else {"dataAbsentReason": _absent()})}
                    for k in sorted(members)]
            elif fam not in values:
                continue
            self._add(observation)
            added += 1
        return added

    def bundle_json(self) -> str:
        """The Bundle (type ``collection``), validated by ``fhir.resources`` (R4B), as JSON text.

        The text is the validated document written by :func:`json.dumps` (floats as their
        shortest repr, which parses back to the same float); ``fhir.resources``' own serialiser
        gives the same JSON but takes about twice as long as building and validating together.
        Each entry is validated on its own (as the Bundle validates its entries), so that only one
        resource's model is held at a time: the whole Bundle's models took 4 times the memory of
        its entries (a 50-visit history: 43 MB for a 3.8-MB bundle)."""
        from fhir.resources.R4B.bundle import Bundle, BundleEntry

        doc = {
            "resourceType": "Bundle",
            "identifier": {"system": f"{codes.BASE_URL}/NamingSystem/bundle", "value": str(uuid.uuid4())},
            "type": "collection",
            "timestamp": _instant(utc_iso(self.wall_clock())),
        }
        Bundle.model_validate(doc)
        for entry in self.entries:
            BundleEntry.model_validate(entry)
        if self.entries:  # FHIR JSON has no empty arrays: a patient without valid trials has no entry
            doc["entry"] = self.entries
        return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def _instant(iso: str) -> str:
    """A station time (``2026-01-31T09:15:02.123Z``) as a FHIR dateTime (offset ``+00:00``)."""
    text = str(iso)
    if len(text) == 10:
        return text
    return text[:-1] + "+00:00" if text.endswith("Z") else text


def _builder(store, patient_id: int, protocols: dict, wall_clock) -> BundleBuilder:
    patient = store.patients.get(patient_id)
    return BundleBuilder(patient["identifier"], protocols, age_in_year(patient.get("birth_year"), wall_clock), wall_clock,
                         patient.get("conditions") or [])


def _games_by_trial(store, patient_id: int) -> dict[int | None, list[dict]]:
    """The patient's training games (oldest first), by the trial they were played in."""
    games: dict[int | None, list[dict]] = {}
    for game in reversed(store.training.list_for_patient(patient_id, limit=1_000_000)):
        games.setdefault(game["trial_id"], []).append(game)
    return games


def _add_trial_and_games(builder: BundleBuilder, trial: dict, games: dict) -> int:
    added = builder.add_trial(trial)
    for game in games.get(trial["id"], ()):
        added += builder.add_training(game, trial)
    return added


def trial_bundle(store, trial_id: int, protocols: dict, *, actor, wall_clock=time.time) -> str:
    """The Bundle of one trial (with the training game played in it); audited as ``trial.export``
    (format ``fhir``)."""
    trial = store.trials.get(trial_id)
    builder = _builder(store, trial["patient_id"], protocols, wall_clock)
    if not _add_trial_and_games(builder, trial, _games_by_trial(store, trial["patient_id"])):
        why = ("not complete" if trial["status"] != "complete" else "judged invalid" if not trial.get("valid")
               else "without measures")
        raise NothingToExport(f"trial {trial_id} is {why}; only valid, complete trials with measures are exported"
                              " as FHIR Observations")
    text = builder.bundle_json()
    store.audit.record(actor, "trial.export", patient_id=trial["patient_id"], object=f"trial:{trial_id}",
                       detail={"format": "fhir", "observations": builder.observations})
    return text


def session_bundle(store, session_id: int, protocols: dict, *, actor, wall_clock=time.time) -> str:
    """The Bundle of a session's visit (every session of that patient chained by gaps under 3 h,
    as the results page shows it); audited once, as ``patient.export`` (format ``fhir``, the visit's
    sessions in ``visit``): the patient's sessions read to find the visit's are part of the export, not a
    ``patient.view`` beside it (nothing is audited when the visit has nothing to export)."""
    session = store.sessions.get(session_id)
    builder = _builder(store, session["patient_id"], protocols, wall_clock)
    games = _games_by_trial(store, session["patient_id"])
    visit = visit_session_ids(store, session_id, actor=actor, patient=store.patients.with_sessions(session["patient_id"]))
    for sid in visit:
        for line in store.sessions.get(sid)["trials"]:
            _add_trial_and_games(builder, store.trials.get(line["id"]), games)
    if not builder.observations:
        raise NothingToExport(f"session {session_id}'s visit has no valid, complete trial to export")
    text = builder.bundle_json()
    store.audit.record(actor, "patient.export", patient_id=session["patient_id"], object=f"session:{session_id}",
                       detail={"format": "fhir", "observations": builder.observations, "visit": visit})
    return text


def _history_trial_ids(store, patient_id: int) -> list[int]:
    """The ids of the patient's complete trials in the whole bundle's order (the others export nothing)."""
    with store.db.read() as conn:
        return [r["id"] for r in conn.execute(
            "SELECT t.id FROM trials t JOIN sessions s ON s.id = t.session_id WHERE s.patient_id = ?"
            " AND t.status = 'complete' ORDER BY s.started_at, t.id", (patient_id,))]


def _parts(n_trials: int) -> int:
    return max(1, math.ceil(n_trials / HISTORY_BUNDLE_TRIALS))


def history_parts(store, patient_id: int) -> int:
    """How many bundles the patient's whole history takes (1 up to :data:`HISTORY_BUNDLE_TRIALS`
    complete trials): what the patient page offers as parts. Reads ids only, builds nothing."""
    return _parts(len(_history_trial_ids(store, patient_id)))


def patient_bundle(store, patient_id: int, protocols: dict, *, actor, wall_clock=time.time,
                   part: int | None = None) -> str:
    """The Bundle of a patient's whole history (every valid trial and training game, oldest first); audited as
    ``patient.export`` (format ``fhir``). A patient without trials gives an empty collection.

    A history of more than :data:`HISTORY_BUNDLE_TRIALS` complete trials is refused whole
    (:class:`BundleTooLarge`, saying how many parts it takes); ``part`` (1, 2, ...) is one part:
    that many trials in the order of the whole bundle, the games stored without a trial in the
    last part (NothingToExport for a part beyond the last)."""
    builder = _builder(store, patient_id, protocols, wall_clock)
    ids = _history_trial_ids(store, patient_id)
    parts = _parts(len(ids))
    if part is None and parts > 1:
        raise BundleTooLarge(
            f"this patient's history holds {len(ids)} complete trials, more than one FHIR bundle takes "
            f"({HISTORY_BUNDLE_TRIALS}, about {HISTORY_BUNDLE_TRIALS * 48 // 1000} MB); export it in {parts} parts "
            f"(part=1 to part={parts}: the download's ?part=N, or export patient ... --fhir --part N)")
    if part is not None and not 1 <= part <= parts:
        raise NothingToExport(f"this patient's history is exported in {parts} part{'s' if parts > 1 else ''}; "
                              f"there is no part {part}")
    if part is not None:
        ids = ids[(part - 1) * HISTORY_BUNDLE_TRIALS:part * HISTORY_BUNDLE_TRIALS]
    games = _games_by_trial(store, patient_id)
    for trial_id in ids:
        _add_trial_and_games(builder, store.trials.get(trial_id), games)
    if part is None or part == parts:
        for game in games.get(None, ()):  # a game stored without its trial
            builder.add_training(game, None)
    text = builder.bundle_json()
    store.audit.record(actor, "patient.export", patient_id=patient_id, object=f"patient:{patient_id}",
                       detail={"format": "fhir", "observations": builder.observations,
                               **({} if part is None else {"part": part, "parts": parts})})
    return text


def observations_of(bundle_text: str) -> list:
    """The Observations of a bundle's JSON, parsed back with ``fhir.resources`` (R4B)."""
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate_json(bundle_text)
    return [e.resource for e in bundle.entry or [] if e.resource.get_resource_type() == "Observation"]


def bundle_summary(bundle_text: str) -> dict:
    """``{resourceType: count}`` of a bundle's JSON (for messages)."""
    counts: dict[str, int] = {}
    for entry in json.loads(bundle_text).get("entry") or []:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
