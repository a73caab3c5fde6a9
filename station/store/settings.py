"""Clinic settings that administrators change from the dashboard, stored in the database.

The configuration file (:class:`station.config.StationConfig`) gives the defaults; a value saved
here overrides it until it is reset (set to ``null``). Known settings:

``session_timeout_min``
    Inactivity logout, minutes (1-240; default ``web.session_timeout_min``, 15).
``clinic_name``
    Shown in page headers and exports (up to 100 characters; default empty).
"""

from __future__ import annotations

import json
import time
from typing import Callable

from station.store import fields
from station.store.audit import Actor, AuditLog
from station.store.db import Database, ValidationError
from station.store.timefmt import utc_iso

_CHECKS: dict[str, Callable[[object], object]] = {
    "session_timeout_min": lambda v: fields.number(v, low=1, high=240, unit="min"),
    "clinic_name": lambda v: fields.text(v, max_chars=100),
}
SETTING_NAMES = tuple(_CHECKS)


def check_setting(name: str, value: object) -> object:
    """``value`` as stored for the setting ``name``, by the rules of ``PATCH /api/settings``;
    KeyError for an unknown name, ValueError (in words) for a value out of its range."""
    return _CHECKS[name](value)


def stored_settings_problems(rows) -> list[str]:
    """What is wrong with the settings table's ``(key, value)`` rows (``value``: JSON text) by the
    same rules as :meth:`Settings.update` (restore and the database check refuse a value the
    dashboard would never have saved); other keys (the sync's own) are not settings and are left out.

    >>> stored_settings_problems([("session_timeout_min", "1e300"), ("clinic_name", '"Gait lab"')])
    ['setting session_timeout_min = 1e300: must be between 1 and 240 min (got 1e+300)']
    """
    problems = []
    for key, text in rows:
        if key not in _CHECKS:
            continue
        try:
            check_setting(key, json.loads(text))
        except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            problem = str(exc) if not isinstance(exc, json.JSONDecodeError) else "not a JSON value"
            problems.append(f"setting {key} = {str(text)[:40]}: {problem}")
    return problems


class Settings:
    def __init__(
        self, db: Database, audit: AuditLog, defaults: dict, wall_clock: Callable[[], float] = time.time
    ):
        missing = [k for k in SETTING_NAMES if k not in defaults]
        if missing:
            raise ValueError(f"no default for setting(s) {', '.join(missing)}")
        self._db = db
        self._audit = audit
        self._defaults = {k: defaults[k] for k in SETTING_NAMES}
        self._now = wall_clock

    def get(self, name: str):
        """The effective value of one setting."""
        if name not in self._defaults:
            raise KeyError(name)
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (name,)).fetchone()
        return self._defaults[name] if row is None else json.loads(row["value"])

    def all(self) -> dict:
        """``{name: {"value", "default", "overridden"}}`` for every setting."""
        with self._db.read() as conn:
            saved = {r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM settings")}
        return {
            name: {
                "value": saved.get(name, default),
                "default": default,
                "overridden": name in saved,
            }
            for name, default in self._defaults.items()
        }

    def update(self, changes: object, *, actor: Actor) -> dict:
        """Save the given settings (``null`` resets one to its default); all or nothing."""
        if not isinstance(changes, dict) or not changes:
            raise ValidationError({"body": f"must be a JSON object with one or more of {', '.join(SETTING_NAMES)}"})
        problems, clean = {}, {}
        for key, value in changes.items():
            if key not in _CHECKS:
                problems[str(key)[:40]] = f"unknown setting; known: {', '.join(SETTING_NAMES)}"
                continue
            if value is None:
                clean[key] = None
                continue
            try:
                clean[key] = check_setting(key, value)
            except ValueError as exc:
                problems[key] = str(exc)
        if problems:
            raise ValidationError(problems)
        now = utc_iso(self._now())
        with self._db.write() as conn:
            for key, value in clean.items():
                if value is None:
                    conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                else:
                    conn.execute(
                        "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
                        " updated_by = excluded.updated_by",
                        (key, json.dumps(value), now, actor.username),
                    )
            self._audit.record(actor, "settings.update", detail={"changed": sorted(clean)})
        return self.all()
