"""Versioned schema migrations, tracked in SQLite's ``PRAGMA user_version``.

Each migration is a list of SQL statements applied in one ``BEGIN IMMEDIATE`` transaction together
with the new ``user_version``: a migration is applied completely or not at all, and two processes
opening the database at the same time do not both apply it. Never edit a released migration; add
a new one. A database written by a newer version (``user_version`` above the latest known) is
refused rather than modified.

Times are stored as ISO 8601 UTC text (``2025-01-31T09:15:02.123Z``, sortable as text), except in
``login_sessions`` where they are Unix seconds (REAL), used in arithmetic.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from station.store.db import StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    rebuilds_tables: bool = False
    """The migration drops and re-creates tables that others refer to: it runs with foreign keys
    off (so that dropping a table does not cascade), and is refused unless ``PRAGMA
    foreign_key_check`` finds every reference intact before it commits (SQLite's documented way
    to change a table's definition)."""
    postgres: tuple[str, ...] | None = None
    """The PostgreSQL variant of ``statements`` where the dialects truly differ; ``None``: the
    statements translated by :func:`station.store.dialect.ddl_to_postgres` (:mod:`.pg_schema`)."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, login sessions, patients, sessions, trials with raw frame chunks, audit log, settings",
        (
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                username TEXT NOT NULL UNIQUE COLLATE NOCASE,
                role TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
                password_hash TEXT NOT NULL,
                disabled_at TEXT,
                created_at TEXT NOT NULL,
                password_changed_at TEXT NOT NULL,
                last_login_at TEXT
            )
            """,
            """
            CREATE TABLE login_sessions (
                token_hash BLOB PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                csrf_token TEXT NOT NULL,
                created_s REAL NOT NULL,
                last_seen_s REAL NOT NULL,
                address TEXT
            )
            """,
            "CREATE INDEX login_sessions_user ON login_sessions (user_id)",
            """
            CREATE TABLE patients (
                id INTEGER PRIMARY KEY,
                identifier TEXT NOT NULL UNIQUE COLLATE NOCASE,
                birth_year INTEGER NOT NULL,
                sex TEXT NOT NULL CHECK (sex IN ('F', 'M', 'X')),
                height_cm REAL,
                weight_kg REAL,
                conditions TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(conditions)),
                notes TEXT NOT NULL DEFAULT '',
                archived_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX patients_archived ON patients (archived_at, identifier)",
            """
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                started_at TEXT NOT NULL,
                label TEXT NOT NULL DEFAULT '',
                notes TEXT NOT NULL DEFAULT '',
                created_by TEXT NOT NULL
            )
            """,
            "CREATE INDEX sessions_patient ON sessions (patient_id, started_at)",
            """
            CREATE TABLE trials (
                id INTEGER PRIMARY KEY,
                session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                protocol TEXT NOT NULL,
                condition TEXT NOT NULL,
                status TEXT NOT NULL
                    CHECK (status IN ('recording', 'complete', 'aborted', 'partial')),
                status_reason TEXT,
                started_at TEXT NOT NULL,
                ended_at TEXT,
                last_commit_at TEXT,
                rate_hz REAL NOT NULL CHECK (rate_hz > 0),
                calibration TEXT NOT NULL CHECK (json_valid(calibration)),
                frame_dtype TEXT NOT NULL CHECK (json_valid(frame_dtype)),
                frame_count INTEGER NOT NULL DEFAULT 0,
                frames_lost INTEGER NOT NULL DEFAULT 0,
                first_seq INTEGER,
                last_seq INTEGER,
                metrics TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
                valid INTEGER CHECK (valid IN (0, 1)),
                validity_reason TEXT,
                station_version TEXT NOT NULL,
                recorded_by TEXT NOT NULL
            )
            """,
            "CREATE INDEX trials_session ON trials (session_id, id)",
            "CREATE INDEX trials_recording ON trials (status) WHERE status = 'recording'",
            """
            CREATE TABLE trial_chunks (
                id INTEGER PRIMARY KEY,
                trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
                chunk_no INTEGER NOT NULL,
                first_seq INTEGER NOT NULL,
                n_frames INTEGER NOT NULL CHECK (n_frames > 0),
                data BLOB NOT NULL,
                UNIQUE (trial_id, chunk_no)
            )
            """,
            # The audit log outlives what it refers to (no foreign keys: an erasure is audited
            # after the patient is gone) and is append-only.
            """
            CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                user_id INTEGER,
                username TEXT NOT NULL,
                address TEXT,
                action TEXT NOT NULL,
                patient_id INTEGER,
                object TEXT,
                detail TEXT CHECK (detail IS NULL OR json_valid(detail))
            )
            """,
            "CREATE INDEX audit_patient ON audit_log (patient_id, id)",
            "CREATE INDEX audit_user ON audit_log (username, id)",
            "CREATE INDEX audit_action ON audit_log (action, id)",
            """
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
            """,
            """
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
            """,
            """
            CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL CHECK (json_valid(value)),
                updated_at TEXT NOT NULL,
                updated_by TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        2,
        "training programmes: assignments, planned sessions with their doses, assessment visits, pauses"
        " (ids never reused: AUTOINCREMENT)",
        (
            """
            CREATE TABLE programme_assignments (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                template_name TEXT NOT NULL,
                template TEXT NOT NULL CHECK (json_valid(template)),
                start_date TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'ended')),
                paused_from TEXT,
                ended_on TEXT,
                end_reason TEXT,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX programme_assignments_patient ON programme_assignments (patient_id, id)",
            """
            CREATE TABLE programme_sessions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                assignment_id INTEGER NOT NULL REFERENCES programme_assignments (id) ON DELETE CASCADE,
                number INTEGER NOT NULL CHECK (number > 0),
                week INTEGER NOT NULL CHECK (week > 0),
                planned_date TEXT NOT NULL,
                prescribed_date TEXT NOT NULL,
                minutes_planned REAL NOT NULL CHECK (minutes_planned > 0),
                status TEXT NOT NULL CHECK (status IN ('planned', 'done', 'missed', 'cancelled')),
                missed_reason TEXT,
                dose_source TEXT CHECK (dose_source IS NULL OR dose_source IN ('measured', 'manual')),
                dose TEXT CHECK (dose IS NULL OR json_valid(dose)),
                trial_id INTEGER REFERENCES trials (id) ON DELETE SET NULL,
                recorded_at TEXT,
                recorded_by TEXT,
                UNIQUE (assignment_id, number)
            )
            """,
            """
            CREATE TABLE programme_visits (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                assignment_id INTEGER NOT NULL REFERENCES programme_assignments (id) ON DELETE CASCADE,
                assessment_id TEXT NOT NULL,
                label TEXT NOT NULL,
                week INTEGER NOT NULL CHECK (week >= 0),
                planned_date TEXT NOT NULL,
                prescribed_date TEXT NOT NULL,
                protocols TEXT NOT NULL CHECK (json_valid(protocols)),
                status TEXT NOT NULL CHECK (status IN ('planned', 'done', 'missed', 'cancelled')),
                missed_reason TEXT,
                UNIQUE (assignment_id, assessment_id)
            )
            """,
            """
            CREATE TABLE programme_visit_sessions (
                visit_id INTEGER NOT NULL REFERENCES programme_visits (id) ON DELETE CASCADE,
                protocol TEXT NOT NULL,
                session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                linked_at TEXT NOT NULL,
                linked_by TEXT NOT NULL,
                PRIMARY KEY (visit_id, protocol, session_id)
            )
            """,
            "CREATE INDEX programme_visit_sessions_session ON programme_visit_sessions (session_id)",
            """
            CREATE TABLE programme_pauses (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                assignment_id INTEGER NOT NULL REFERENCES programme_assignments (id) ON DELETE CASCADE,
                paused_from TEXT NOT NULL,
                resumed_on TEXT,
                reason TEXT NOT NULL,
                paused_by TEXT NOT NULL,
                resumed_by TEXT
            )
            """,
        ),
    ),
)


def _rebuild_with_autoincrement(table: str, audit_object: str, audit_column: str | None = None) -> tuple[str, ...]:
    """Statements that re-create ``table`` (as created by migration 1) with ``AUTOINCREMENT`` ids,
    keeping its rows and indexes, and start its id sequence above every id the table or the audit
    log has ever used (so an id erased before this migration is not handed out again either)."""
    create = next(st for st in MIGRATIONS[0].statements if st.strip().startswith(f"CREATE TABLE {table} ("))
    indexes = [st for st in MIGRATIONS[0].statements if st.strip().startswith("CREATE INDEX") and f" ON {table} (" in st]
    new = f"{table}_rebuilt"
    create = create.replace(f"CREATE TABLE {table} (", f"CREATE TABLE {new} (", 1)
    create = create.replace("id INTEGER PRIMARY KEY,", "id INTEGER PRIMARY KEY AUTOINCREMENT,", 1)
    used = [f"(SELECT max(id) FROM {table})",
            f"(SELECT max(CAST(substr(object, {len(audit_object) + 2}) AS INTEGER)) FROM audit_log"
            f" WHERE object LIKE '{audit_object}:%')"]
    if audit_column:
        used.append(f"(SELECT max({audit_column}) FROM audit_log)")
    return (
        create,
        f"INSERT INTO {new} SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {new} RENAME TO {table}",
        *indexes,
        f"DELETE FROM sqlite_sequence WHERE name = '{table}'",
        f"INSERT INTO sqlite_sequence (name, seq) VALUES ('{table}', max(0, {', '.join(f'coalesce({u}, 0)' for u in used)}))",
    )


MIGRATIONS = MIGRATIONS + (
    Migration(
        3,
        "ids of patients, sessions and trials are never reused (AUTOINCREMENT), even after an erasure",
        _rebuild_with_autoincrement("patients", "patient", "patient_id")
        + _rebuild_with_autoincrement("sessions", "session")
        + _rebuild_with_autoincrement("trials", "trial"),
        rebuilds_tables=True,
        postgres=(),  # identity columns (migration 1 on PostgreSQL) never reuse ids: nothing to rebuild
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        4,
        "trials: the clinician's note, and who overrode the station's validity check and when"
        " (the station's own verdict kept beside it)",
        (
            "ALTER TABLE trials ADD COLUMN notes TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE trials ADD COLUMN judged_by TEXT",
            "ALTER TABLE trials ADD COLUMN judged_at TEXT",
            "ALTER TABLE trials ADD COLUMN station_valid INTEGER CHECK (station_valid IN (0, 1))",
            "ALTER TABLE trials ADD COLUMN station_validity_reason TEXT",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        5,
        "sync between stations and the hub: the station's identity, the outbox of changes (queued in the"
        " change's own transaction), which station, plate and calibration recorded each trial; on the hub:"
        " station tokens, id maps, resumable frame uploads, erasure tombstones, per-field edit times and"
        " the versions a last-writer-wins merge replaced",
        (
            """
            CREATE TABLE sync_identity (
                singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                station_id TEXT NOT NULL,
                role TEXT NOT NULL DEFAULT 'station' CHECK (role IN ('station', 'hub')),
                created_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE sync_outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                entity TEXT NOT NULL CHECK (entity IN ('patient', 'session', 'trial', 'programme')),
                local_id INTEGER NOT NULL,
                patient_id INTEGER,
                op TEXT NOT NULL CHECK (op IN ('create', 'update', 'upsert', 'erase', 'link')),
                at TEXT NOT NULL,
                payload TEXT NOT NULL DEFAULT '{}'
            )
            """,
            "CREATE INDEX sync_outbox_patient ON sync_outbox (patient_id)",
            """
            CREATE TABLE sync_state (
                singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                last_attempt_at TEXT,
                last_sync_at TEXT,
                last_error TEXT,
                tombstone_cursor INTEGER NOT NULL DEFAULT 0,
                pushed_total INTEGER NOT NULL DEFAULT 0
            )
            """,
            # identifier -> keyed hash, kept beside each patient so that an erasure (audited after
            # the row is gone) can still say which patient to erase elsewhere, without the identifier
            """
            CREATE TABLE sync_patient_keys (
                patient_id INTEGER PRIMARY KEY,
                identifier_hash TEXT NOT NULL
            )
            """,
            "CREATE INDEX sync_patient_keys_hash ON sync_patient_keys (identifier_hash)",
            "ALTER TABLE trials ADD COLUMN station_id TEXT",
            "ALTER TABLE trials ADD COLUMN calibration_id TEXT",
            """
            CREATE TABLE hub_stations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                token_hash TEXT NOT NULL UNIQUE,
                station_id TEXT,
                created_at TEXT NOT NULL,
                revoked_at TEXT,
                last_seq INTEGER NOT NULL DEFAULT 0,
                last_sync_at TEXT,
                queue_length INTEGER,
                last_error TEXT,
                changes_applied INTEGER NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE hub_id_map (
                station INTEGER NOT NULL REFERENCES hub_stations (id),
                entity TEXT NOT NULL,
                local_id INTEGER NOT NULL,
                hub_id INTEGER NOT NULL,
                patient_id INTEGER NOT NULL,
                PRIMARY KEY (station, entity, local_id)
            )
            """,
            "CREATE INDEX hub_id_map_patient ON hub_id_map (patient_id)",
            """
            CREATE TABLE hub_uploads (
                station INTEGER NOT NULL REFERENCES hub_stations (id),
                trial_local_id INTEGER NOT NULL,
                part_no INTEGER NOT NULL CHECK (part_no >= 0),
                first_seq INTEGER NOT NULL,
                n_frames INTEGER NOT NULL CHECK (n_frames > 0),
                data BLOB NOT NULL,
                PRIMARY KEY (station, trial_local_id, part_no)
            )
            """,
            """
            CREATE TABLE hub_tombstones (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                identifier_hash TEXT NOT NULL,
                erased_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE hub_patient_field_times (
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                field TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                PRIMARY KEY (patient_id, field)
            )
            """,
            """
            CREATE TABLE hub_patient_versions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                at TEXT NOT NULL,
                station TEXT NOT NULL,
                change_at TEXT NOT NULL,
                applied TEXT NOT NULL,
                kept TEXT NOT NULL,
                replaced TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE hub_programmes (
                station INTEGER NOT NULL REFERENCES hub_stations (id),
                local_id INTEGER NOT NULL,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                doc TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (station, local_id)
            )
            """,
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        6,
        "biofeedback training sessions: game, level, settings (the stored schedule), per-target results,"
        " score, minutes, and the programme session they counted for",
        (
            """
            CREATE TABLE training_sessions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
                trial_id INTEGER REFERENCES trials (id) ON DELETE SET NULL,
                game TEXT NOT NULL CHECK (game IN ('reach', 'track', 'shift', 'steady')),
                level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
                settings TEXT NOT NULL CHECK (json_valid(settings)),
                result TEXT NOT NULL CHECK (json_valid(result)),
                score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 100)),
                minutes REAL NOT NULL CHECK (minutes >= 0),
                completed INTEGER NOT NULL CHECK (completed IN (0, 1)),
                day TEXT NOT NULL,
                programme_session_id INTEGER REFERENCES programme_sessions (id) ON DELETE SET NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL
            )
            """,
            "CREATE INDEX training_sessions_patient ON training_sessions (patient_id, id)",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        7,
        "the hub remembers the time of each station change it applied, so that a change sent again is"
        " recognised as a repeat only if it is the same change (a station restored from an older backup"
        " reuses numbers for new changes)",
        (
            """
            CREATE TABLE hub_applied (
                station INTEGER NOT NULL REFERENCES hub_stations (id),
                seq INTEGER NOT NULL,
                at TEXT NOT NULL,
                PRIMARY KEY (station, seq)
            )
            """,
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        8,
        "the sync outbox queues training games (entity 'training') too; on SQLite the outbox is rebuilt"
        " with its AUTOINCREMENT counter carried over, so that no change number is ever given twice",
        (
            """
            CREATE TABLE sync_outbox_v8 (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                entity TEXT NOT NULL CHECK (entity IN ('patient', 'session', 'trial', 'programme', 'training')),
                local_id INTEGER NOT NULL,
                patient_id INTEGER,
                op TEXT NOT NULL CHECK (op IN ('create', 'update', 'upsert', 'erase', 'link')),
                at TEXT NOT NULL,
                payload TEXT NOT NULL DEFAULT '{}'
            )
            """,
            "INSERT INTO sync_outbox_v8 (seq, entity, local_id, patient_id, op, at, payload)"
            " SELECT seq, entity, local_id, patient_id, op, at, payload FROM sync_outbox ORDER BY seq",
            "DELETE FROM sqlite_sequence WHERE name = 'sync_outbox_v8'",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'sync_outbox_v8', seq FROM sqlite_sequence"
            " WHERE name = 'sync_outbox'",
            "DROP TABLE sync_outbox",
            "ALTER TABLE sync_outbox_v8 RENAME TO sync_outbox",
            "CREATE INDEX sync_outbox_patient ON sync_outbox (patient_id)",
        ),
        postgres=(  # a constraint changes in place (identity columns keep their counter)
            "ALTER TABLE sync_outbox DROP CONSTRAINT sync_outbox_entity_check",
            "ALTER TABLE sync_outbox ADD CONSTRAINT sync_outbox_entity_check"
            " CHECK (entity IN ('patient', 'session', 'trial', 'programme', 'training'))",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        9,
        "one programme across stations: each programme field's value, change time and the station that set it"
        " (last writer wins per field on the hub, station.store.programme_fields); on the hub, the versions a"
        " programme merge replaced",
        (
            """
            CREATE TABLE programme_field_times (
                assignment_id INTEGER NOT NULL REFERENCES programme_assignments (id) ON DELETE CASCADE,
                field TEXT NOT NULL,
                value TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                station TEXT,
                PRIMARY KEY (assignment_id, field)
            )
            """,
            """
            CREATE TABLE hub_programme_versions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                assignment_id INTEGER NOT NULL REFERENCES programme_assignments (id) ON DELETE CASCADE,
                at TEXT NOT NULL,
                station TEXT NOT NULL,
                change_at TEXT NOT NULL,
                applied TEXT NOT NULL,
                kept TEXT NOT NULL,
                replaced TEXT NOT NULL
            )
            """,
            "CREATE INDEX hub_programme_versions_assignment ON hub_programme_versions (assignment_id)",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        10,
        "a station's copies of a patient's sessions and trials recorded elsewhere, pulled from the hub"
        " (results only, read-only here): the hub's id, the station that recorded them, the frames left on the hub",
        (
            """
            CREATE TABLE sync_pulled (
                entity TEXT NOT NULL CHECK (entity IN ('session', 'trial')),
                local_id INTEGER NOT NULL,
                patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
                hub_id INTEGER NOT NULL,
                station TEXT,
                frames_on_hub INTEGER,
                pulled_at TEXT NOT NULL,
                PRIMARY KEY (entity, local_id)
            )
            """,
            "CREATE UNIQUE INDEX sync_pulled_hub ON sync_pulled (entity, hub_id)",
            "CREATE INDEX sync_pulled_patient ON sync_pulled (patient_id)",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        11,
        "changes an administrator skipped at a station because the hub refused them every time"
        " (balance-station sync --skip): kept for inspection, erased with their patient",
        (
            """
            CREATE TABLE sync_skipped (
                seq INTEGER NOT NULL,
                entity TEXT NOT NULL,
                local_id INTEGER NOT NULL,
                patient_id INTEGER REFERENCES patients (id) ON DELETE CASCADE,
                op TEXT NOT NULL,
                at TEXT NOT NULL,
                payload TEXT NOT NULL CHECK (json_valid(payload)),
                reason TEXT NOT NULL,
                skipped_at TEXT NOT NULL,
                skipped_by TEXT NOT NULL,
                PRIMARY KEY (seq)
            )
            """,
            "CREATE INDEX sync_skipped_patient ON sync_skipped (patient_id)",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        12,
        "each change of a patient takes a change number (patients.change_seq, from the counter"
        " change_counters, in the change's transaction): stations page the hub's patient updates by it, not"
        " by the hub's clock, which may step back; existing patients numbered in the order of their last"
        " change (updated_at, then id)",
        (
            "CREATE TABLE change_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL CHECK (value >= 0))",
            "ALTER TABLE patients ADD COLUMN change_seq INTEGER",
            "UPDATE patients SET change_seq = numbered.n FROM (SELECT id, row_number() OVER"
            " (ORDER BY updated_at, id) AS n FROM patients) AS numbered WHERE numbered.id = patients.id",
            "CREATE UNIQUE INDEX patients_change_seq ON patients (change_seq)",
            "INSERT INTO change_counters (name, value) SELECT 'patients', coalesce(max(change_seq), 0) FROM patients",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        13,
        "a station's record of each erasure it made (its patient id, the identifier's hash, when, the"
        " trials whose frame parts the hub was asked to drop; never the identifier or other patient data):"
        " offered again to a hub restored from an older backup, which lost it",
        (
            """
            CREATE TABLE sync_erasures (
                patient_id INTEGER PRIMARY KEY,
                identifier_hash TEXT NOT NULL,
                unsent_trials TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(unsent_trials)),
                erased_at TEXT NOT NULL
            )
            """,
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        14,
        "a station's record of each erasure the hub asked of it and it applied, beside its own (sync_erasures."
        "erased_by 'hub'; its patient id, the identifier's hash, when; never the identifier or other patient data):"
        " offered again, like its own, to a hub restored from a backup taken before it, which lost it",
        (
            "ALTER TABLE sync_erasures ADD COLUMN erased_by TEXT NOT NULL DEFAULT 'station'"
            " CHECK (erased_by IN ('station', 'hub'))",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        15,
        "erasures kept keyed: which clinic key (its id, never the key) each hub tombstone and each station's"
        " erasure record is keyed with (NULL: the plain identifier hash of older software, re-keyed where the"
        " key is: the hub at its start, a station at its next sync; station.store.erasure_key)",
        (
            "ALTER TABLE hub_tombstones ADD COLUMN key_id TEXT",
            "ALTER TABLE sync_erasures ADD COLUMN key_id TEXT",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        16,
        "a trial's start slot (trials.start_seq: the seq of its first sample slot, at or after its start signal;"
        " its frames' time_s is (seq - start_seq) / rate_hz, as its trial CSV written live): a trial whose first"
        " slots were lost reads back with the times it was recorded with. NULL: time zero at the first stored frame"
        " (trials stored before, imported, pulled without it, and walks, timed from their go on the clock)",
        (
            "ALTER TABLE trials ADD COLUMN start_seq INTEGER",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        17,
        "a walk's time zero (trials.time_zero_seq: the seq its time_s counts from, its go's place on the sample"
        " grid: its first frame's seq less the whole periods between the go and that frame's wake time, as its"
        " trial CSV written live places it; a walk has no start slot, start_seq): a walk reads back with the"
        " times of its trial CSV and its steps' initial_contacts_s. Kept apart from start_seq, which also counts"
        " the slots lost before the first frame: a walk's lost frames are the gaps between its frames. NULL:"
        " time zero at the first stored frame (walks stored before, trials with a start slot, imported trials)",
        (
            "ALTER TABLE trials ADD COLUMN time_zero_seq INTEGER",
        ),
    ),
)

MIGRATIONS = MIGRATIONS + (
    Migration(
        18,
        "why a login session ended on purpose (login_sessions_ended: its token's SHA-256, the reason, signed_out_others,"
        " password_changed or disabled, and when; no patient data, purged after 12 h and kept to the last 1000:"
        " station.store.logins), so that a page whose session a command-line change or another process ended, or"
        " which comes back after a restart, is told why rather than 'after inactivity'",
        (
            """
            CREATE TABLE login_sessions_ended (
                token_hash BLOB PRIMARY KEY,
                why TEXT NOT NULL CHECK (why IN ('signed_out_others', 'password_changed', 'disabled')),
                ended_s REAL NOT NULL
            )
            """,
            "CREATE INDEX login_sessions_ended_at ON login_sessions_ended (ended_s)",
        ),
    ),
)


REASONS_V19 = "('signed_out_others', 'password_changed', 'disabled', 'inactive', 'clock_set_back', 'max_age')"
"""Migration 19's reasons a login session ended (:mod:`station.store.logins`' ``ENDED_*``)."""

MIGRATIONS = MIGRATIONS + (
    Migration(
        19,
        "login_sessions_ended keeps why a session found ended when used ended (inactive, clock_set_back, max_age) as"
        " well as the reasons of one ended on purpose: a page's other requests in flight and its other tabs, which"
        " carry the same cookie, are told the same reason as the first request to meet it, not 'after inactivity'"
        " (s31); on SQLite the table is rebuilt with its rows, on PostgreSQL its check changes in place",
        (
            f"""
            CREATE TABLE login_sessions_ended_v19 (
                token_hash BLOB PRIMARY KEY,
                why TEXT NOT NULL CHECK (why IN {REASONS_V19}),
                ended_s REAL NOT NULL
            )
            """,
            "INSERT INTO login_sessions_ended_v19 (token_hash, why, ended_s)"
            " SELECT token_hash, why, ended_s FROM login_sessions_ended",
            "DROP TABLE login_sessions_ended",
            "ALTER TABLE login_sessions_ended_v19 RENAME TO login_sessions_ended",
            "CREATE INDEX login_sessions_ended_at ON login_sessions_ended (ended_s)",
        ),
        postgres=(
            "ALTER TABLE login_sessions_ended DROP CONSTRAINT login_sessions_ended_why_check",
            f"ALTER TABLE login_sessions_ended ADD CONSTRAINT login_sessions_ended_why_check CHECK (why IN {REASONS_V19})",
        ),
    ),
)

REASONS_V20 = REASONS_V19[:-1] + ", 'signed_out_tab')"
"""Migration 20's reasons a login session ended: migration 19's and ``signed_out_tab``."""

MIGRATIONS = MIGRATIONS + (
    Migration(
        20,
        "login_sessions_ended keeps that a session was signed out (signed_out_tab) as well: the browser's other tabs and"
        " its requests still under way carry the same cookie, and were told 'after inactivity' (s32); on SQLite"
        " the table is rebuilt with its rows, on PostgreSQL its check changes in place",
        (
            f"""
            CREATE TABLE login_sessions_ended_v20 (
                token_hash BLOB PRIMARY KEY,
                why TEXT NOT NULL CHECK (why IN {REASONS_V20}),
                ended_s REAL NOT NULL
            )
            """,
            "INSERT INTO login_sessions_ended_v20 (token_hash, why, ended_s)"
            " SELECT token_hash, why, ended_s FROM login_sessions_ended",
            "DROP TABLE login_sessions_ended",
            "ALTER TABLE login_sessions_ended_v20 RENAME TO login_sessions_ended",
            "CREATE INDEX login_sessions_ended_at ON login_sessions_ended (ended_s)",
        ),
        postgres=(
            "ALTER TABLE login_sessions_ended DROP CONSTRAINT login_sessions_ended_why_check",
            f"ALTER TABLE login_sessions_ended ADD CONSTRAINT login_sessions_ended_why_check CHECK (why IN {REASONS_V20})",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the database up to the latest schema; return the versions applied (maybe none).

    ``conn`` must be in autocommit mode (``isolation_level=None``) and not inside a transaction.

    Raises
    ------
    StoreError
        The database is newer than this software, or a migration failed (nothing of it applied).
    """
    latest = migrations[-1].version
    applied: list[int] = []
    current = schema_version(conn)
    if current > latest:
        raise StoreError(
            f"the database has schema version {current}, newer than this software knows "
            f"({latest}); install the station version that wrote it or a newer one"
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        foreign_keys = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        if migration.rebuilds_tables:
            conn.execute("PRAGMA foreign_keys = OFF")  # no effect inside a transaction: before BEGIN
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)  # another process may have migrated meanwhile
            if migration.version <= current:
                conn.execute("COMMIT")
                continue
            if migration.version != current + 1:
                raise StoreError(
                    f"schema migration {migration.version} cannot follow version {current}"
                )
            for statement in migration.statements:
                conn.execute(statement)
            if migration.rebuilds_tables:
                broken = conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise StoreError(
                        f"schema migration {migration.version} would leave {len(broken)} broken references "
                        f"(first in table {broken[0][0]}); nothing was changed"
                    )
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"schema migration {migration.version} ({migration.description}) failed: {exc}; "
                    "the database was left at version "
                    f"{current}"
                ) from exc
            raise
        finally:
            if migration.rebuilds_tables:
                conn.execute(f"PRAGMA foreign_keys = {foreign_keys}")
        current = migration.version
        applied.append(migration.version)
    return applied
