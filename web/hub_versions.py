"""The words of a patient's versions on the hub, and of putting a version's values back.

A station's last-writer-wins merge of a patient keeps the hub's values it replaced as a version
(:meth:`station.sync.hub.Hub.patient_versions`); an administrator puts them back
(:meth:`station.sync.hub.Hub.undo_plan`, :meth:`~station.sync.hub.Hub.undo_patient_version`) from the
page ``/hub/patients/<id>/versions`` (:mod:`web.hub_api`) or the API. This module says, in a
clinician's words with units, what a version changed, what putting it back will change, and what it
changed: the fields put back, and those left because they were changed since, by whom and when when
the audit log says so (:func:`changed_by`).
"""

from __future__ import annotations

from typing import Callable

from station.store.conditions import KNOWN_CONDITIONS

FIELD_WORDS = {"identifier": "identifier", "birth_year": "birth year", "sex": "sex", "height_cm": "height",
               "weight_kg": "weight", "conditions": "conditions", "notes": "notes"}
"""A patient's synced fields (:data:`station.store.patients.PATIENT_FIELDS`) as the words say them."""

SEX_WORDS = {"F": "female", "M": "male", "X": "other / not stated"}
"""The patient form's choices (dashboard/_patient_fields.html)."""


def value_words(field: str, value) -> str:
    """A field's value in words, with its unit.

    >>> value_words("height_cm", 171.0), value_words("weight_kg", 64.5), value_words("sex", "F")
    ('171 cm', '64.5 kg', 'female')
    >>> value_words("conditions", ["parkinsons", "other:gout"]), value_words("notes", None)
    ("Parkinson's disease, other:gout", 'none')
    """
    if value is None or value == "" or value == []:
        return "none"
    if field == "sex":
        return SEX_WORDS.get(value, str(value))
    if field == "height_cm":
        return f"{value:g} cm"
    if field == "weight_kg":
        return f"{value:g} kg"
    if field == "conditions":
        return ", ".join(KNOWN_CONDITIONS.get(tag, tag) for tag in value)
    if field == "notes":
        return f"“{value}”"
    return str(value)


def field_words(field: str) -> str:
    return FIELD_WORDS.get(field, field.replace("_", " "))


def who_words(entry: dict, local_time: Callable[[str], str]) -> str:
    """Who made an audit entry and when, as the page says it.

    >>> at = lambda t: "2026-12-06 13:10 AEDT"
    >>> who_words({"username": "station:ward", "at": "t"}, at), who_words({"username": "ana@gym", "at": "t"}, at)
    ('station ward on 2026-12-06 13:10 AEDT', 'ana at station gym on 2026-12-06 13:10 AEDT')
    >>> who_words({"username": "boss", "at": "t"}, at)
    'boss on the hub on 2026-12-06 13:10 AEDT'
    """
    name = entry["username"]
    if name.startswith("station:"):
        who = f"station {name[len('station:'):]}"
    elif "@" in name:
        user, station = name.rsplit("@", 1)
        who = f"{user} at station {station}"
    else:
        who = f"{name} on the hub"
    return f"{who} on {local_time(entry['at'])}"


def changed_by(entries: list[dict], fields, version_id: int) -> dict[str, dict]:
    """The newest audit entry (``patient.update``, ``entries`` newest first) that changed each of
    ``fields``, other than version ``version_id``'s own merge: who changed it since. A field no entry
    names (the log pruned, or changed by a path the log does not name the field of) is absent.

    >>> log = [{"id": 3, "detail": {"changed": ["notes"]}}, {"id": 2, "detail": {"changed": ["birth_year"], "version": 7}}]
    >>> sorted(changed_by(log, ["notes", "birth_year"], 7))
    ['notes']
    """
    found: dict[str, dict] = {}
    for entry in entries:
        detail = entry.get("detail") or {}
        if detail.get("version") == version_id:
            continue
        for field in detail.get("changed") or ():
            if field in fields and field not in found:
                found[field] = entry
    return found


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def left_words(changed_since: dict, by: dict[str, dict], local_time: Callable[[str], str],
               before: dict | None = None) -> str:
    """The fields left as they are because they were changed since: ``changed_since`` (``{field: its
    value now}``), ``by`` (:func:`changed_by`); ``before``: the version's values before it (a value
    now the same is said so: put back already, or set so again).

    >>> left_words({"birth_year": 1975}, {"birth_year": {"username": "boss", "at": "t"}}, lambda t: "6 Dec 13:10")
    'birth year, now 1975, changed since by boss on the hub on 6 Dec 13:10'
    >>> left_words({"notes": None}, {}, str, before={"notes": None})
    'notes, now none (as before this change), changed since (by whom, the audit log does not say)'
    """
    parts = []
    for field in sorted(changed_since):
        since = (f"changed since by {who_words(by[field], local_time)}" if field in by
                 else "changed since (by whom, the audit log does not say)")
        same = " (as before this change)" if before and field in before and before[field] == changed_since[field] else ""
        parts.append(f"{field_words(field)}, now {value_words(field, changed_since[field])}{same}, {since}")
    return "; ".join(parts)


def back_words(put_back: dict, incoming: dict) -> str:
    """The fields put back: ``put_back`` (``{field: the hub's value before}``), ``incoming`` (the
    station's values they replace).

    >>> back_words({"birth_year": 1950, "sex": "F"}, {"birth_year": 1999, "sex": "M"})
    'birth year 1999 → 1950 and sex male → female'
    """
    return _listed([f"{field_words(f)} {value_words(f, incoming.get(f))} → {value_words(f, put_back[f])}"
                    for f in sorted(put_back)])


REACHES_STATIONS = "every station holding the patient takes it at its next sync"


def confirm_words(plan: dict, by: dict[str, dict], local_time: Callable[[str], str]) -> str:
    """What putting back the version of ``plan`` (:meth:`station.sync.hub.Hub.undo_plan`) will
    change, asked before it is done.

    >>> plan = {"version": {"station": "thief", "incoming": {"birth_year": 1999, "notes": "x"}},
    ...         "put_back": {"birth_year": 1950}, "changed_since": {"notes": "y"}}
    >>> print(confirm_words(plan, {}, str))
    Put back birth year 1999 → 1950 (the values before station thief's change)? It is saved as your edit on the hub, and every station holding the patient takes it at its next sync. Left as it is: notes, now “y”, changed since (by whom, the audit log does not say).
    """
    version = plan["version"]
    said = (f"Put back {back_words(plan['put_back'], version['incoming'])} (the values before station "
            f"{version['station']}'s change)? It is saved as your edit on the hub, and {REACHES_STATIONS}.")
    if plan["changed_since"]:
        said += f" Left as it is: {left_words(plan['changed_since'], by, local_time, version.get('before'))}."
    return said


def undo_words(plan: dict, by: dict[str, dict], local_time: Callable[[str], str]) -> str:
    """What putting a version back did, from the ``plan`` it carried out
    (:meth:`station.sync.hub.Hub.undo_patient_version`'s, as :meth:`~station.sync.hub.Hub.undo_plan` gives it:
    the version's values, ``put_back`` ``{field: the value put back}``, ``changed_since`` ``{field: the value
    left}``) and ``by`` (:func:`changed_by`).

    >>> plan = {"version": {"station": "thief", "incoming": {"birth_year": 1999}, "before": {"birth_year": 1950}},
    ...         "put_back": {"birth_year": 1950}, "changed_since": {}}
    >>> undo_words(plan, {}, str)
    "Put back birth year 1999 → 1950 (as before station thief's change); every station holding the patient takes it at its next sync."
    >>> undo_words({**plan, "put_back": {}, "changed_since": {"birth_year": 1975}},
    ...            {"birth_year": {"username": "boss", "at": "t"}}, lambda t: "6 Dec 13:10")
    'Nothing put back. Left as it is: birth year, now 1975, changed since by boss on the hub on 6 Dec 13:10.'
    """
    version = plan["version"]
    back = plan["put_back"]
    said = (f"Put back {back_words(back, version['incoming'])} (as before station {version['station']}'s change); "
            f"{REACHES_STATIONS}." if back else "Nothing put back.")
    if plan["changed_since"]:
        said += f" Left as it is: {left_words(plan['changed_since'], by, local_time, version['before'])}."
    return said
