"""The clinic's erasure key: how an erasure names a patient once they are gone, kept out of the database.

An erasure has to name the erased patient after their record is gone, to other stations, to a hub
restored from an older backup, and to itself (``sync_erasures``, ``hub_tombstones``, the outbox's
``erase`` rows). The plain hash of the identifier (:func:`station.store.outbox.identifier_hash`)
does not hide it: a 7-digit record number is found from its SHA-256 by trying all 10⁷ in seconds.
So what is kept is :func:`keyed_hash`, HMAC-SHA256 of that hash keyed with a 256-bit key made once
on the hub and handed to its registered stations over the authenticated sync
(``GET /api/hub/clinic-key``). The key lives in ``<data_dir>/clinic_key`` (mode 0600), never in
the database, so never in its backups (:mod:`station.store.backup` copies the database only): a
copy of a database, or of its backups, no longer tells who was erased. The hub's file is the
clinic's: restore it with the data directory (a hub without it, whose database was keyed with
it, refuses to start with that said).

A value keyed so is found from the plain hash, never the other way: rows kept unkeyed by older
software (``key_id`` NULL, migration 15) are re-keyed where the key is (:func:`rekey_hub`,
:func:`rekey_station`), the hub at its start and a station at its first sync with a hub that
keys erasures; until then a station that never had the key keeps its erasures unkeyed as before.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from station.store.atomic import atomic_write_text
from station.store.db import StoreError

KEY_FILENAME = "clinic_key"
KEY_ID_SETTING = "sync_clinic_key_id"
"""The ``settings`` row naming (:func:`key_id`, never the key) the key this database's erasures are
keyed with."""
LEGACY_KEY_SETTING = "sync_clinic_key"
"""Where hubs before the key file kept the key: in the database (so in its backups). Dropped at the
hub's start; a new key is made (one that sat in backups hides nothing)."""
_HEX = frozenset("0123456789abcdef")


def keyed_hash(key: str, identifier_hash: str) -> str:
    """HMAC-SHA256, keyed with ``key`` (64 hex digits), of a patient's identifier hash
    (:func:`station.store.outbox.identifier_hash`): how erasures name a patient, kept and sent.
    Without the key it cannot be checked against guessed identifiers (the plain hash can).

    Examples
    --------
    >>> a = keyed_hash("00" * 32, "ab" * 32)
    >>> len(a), a == keyed_hash("01" * 32, "ab" * 32)
    (64, False)
    """
    return hmac.new(bytes.fromhex(key), identifier_hash.encode("ascii"), hashlib.sha256).hexdigest()


def key_id(key: str) -> str:
    """16 hex digits naming a key without revealing it (which key a value was keyed with).

    Examples
    --------
    >>> len(key_id("00" * 32))
    16
    """
    return hashlib.sha256(b"balance-station clinic key id\x00" + bytes.fromhex(key)).hexdigest()[:16]


def is_key(text: object) -> bool:
    """Whether ``text`` is a key: 64 lowercase hex digits."""
    return isinstance(text, str) and len(text) == 64 and set(text) <= _HEX


class KeyFile:
    """``<data_dir>/clinic_key``: the key, 64 hex digits, mode 0600."""

    def __init__(self, data_dir: str | os.PathLike):
        self.path = Path(data_dir) / KEY_FILENAME

    def read(self) -> str | None:
        """The key; None if there is no file. StoreError (what to do) if it cannot be read or is not a key."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot read the clinic key file {self.path} ({getattr(exc, 'strerror', None) or exc}); "
                             "it must be readable by the station's user, mode 0600") from None
        if not is_key(text):
            raise StoreError(f"the clinic key file {self.path} does not hold a key (64 hex digits); restore it from "
                             "where you keep it")
        return text

    def read_or_none(self) -> str | None:
        """The key, or None if it is missing or unreadable (an erasure is then kept unkeyed, and the
        next sync says what is wrong: never refused for it)."""
        try:
            return self.read()
        except StoreError:
            return None

    def replaced(self, kid: str) -> Path:
        """Where a key this file held before another replaced it is kept: ``clinic_key.<its id>``."""
        return self.path.with_name(f"{KEY_FILENAME}.{kid}")

    def write(self, key: str) -> None:
        """Replace the file with ``key`` (mode 0600, atomically). StoreError if it cannot be written.

        A different key the file held is kept first in :meth:`replaced` (mode 0600): a station that
        takes a rebuilt hub's new key still holds the old one, which a database backup keyed with it
        needs to start (the hub's refusal names that file)."""
        old = self.read_or_none()
        try:
            if old is not None and old != key and not self.replaced(key_id(old)).exists():
                atomic_write_text(self.replaced(key_id(old)), old + "\n")
            atomic_write_text(self.path, key + "\n")
            os.chmod(self.path, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot write the clinic key file {self.path} ({exc.strerror}); check the data "
                             "directory's owner and free space") from None

    def create(self) -> str:
        """Make a new key in a new file (never over one): the hub's first start."""
        key = secrets.token_hex(32)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return self.read()
        except OSError as exc:
            raise StoreError(f"cannot create the clinic key file {self.path} ({exc.strerror}); check the data "
                             "directory's owner") from None
        try:
            try:
                if os.write(fd, key.encode("ascii") + b"\n") != len(key) + 1:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # (a short write: the disk filled)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # a full or failing card: no file left that the next start would take for a key
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise StoreError(f"cannot write the new clinic key file {self.path} ({exc.strerror or exc}); free space "
                             "on the data directory's disk (or replace its SD card if it fails to write), then start "
                             "the hub again; no key was kept") from None
        return key


def recorded_key_id(conn) -> str | None:
    """The id of the key this database's erasures are keyed with (:data:`KEY_ID_SETTING`), or None."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (KEY_ID_SETTING,)).fetchone()
    return None if row is None else json.loads(row[0])


def record_key_id(conn, key: str, now_iso: str, by: str) -> None:
    conn.execute("DELETE FROM settings WHERE key = ?", (KEY_ID_SETTING,))
    conn.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                 (KEY_ID_SETTING, json.dumps(key_id(key)), now_iso, by))


def hub_key(conn, key_file: KeyFile, now_iso: str) -> str:
    """The hub's key (made at its first start on this software), its tombstones re-keyed with it
    (:func:`rekey_hub`), in ``conn``'s transaction. StoreError, with what to do, if this database's
    erasures were keyed with a key whose file is missing or another."""
    recorded = recorded_key_id(conn)
    key = key_file.read()
    if key is None:
        if recorded is not None:
            raise StoreError(
                f"the clinic key file {key_file.path} is missing: this hub's erasures are kept keyed with key "
                f"{recorded} (ids only: the key itself is never in the database nor its backups); restore that file "
                "from where you keep the data directory's secrets, or copy it from the data directory of any station "
                f"that synced with this hub (its {KEY_FILENAME} file holds the same key, or {KEY_FILENAME}.{recorded} "
                "once it took another hub's key), mode 0600, the hub's user; "
                "then start the hub again")
        key = key_file.create()
    elif recorded is not None and recorded != key_id(key):
        raise StoreError(
            f"the clinic key file {key_file.path} holds key {key_id(key)}, but this hub's erasures are kept keyed "
            f"with key {recorded}: restore the file that goes with this database (a station that synced with this "
            f"hub keeps it as {KEY_FILENAME}, or {KEY_FILENAME}.{recorded} once it took another hub's key) and start "
            "the hub again")
    conn.execute("DELETE FROM settings WHERE key = ?", (LEGACY_KEY_SETTING,))
    rekey_hub(conn, key)
    record_key_id(conn, key, now_iso, "hub")
    return key


def rekey_hub(conn, key: str) -> int:
    """Key the hub's tombstones kept unkeyed (by older software, or a restored older backup), and the
    erasures a restore left to make again (:data:`station.store.hub_epoch.REDO_SETTING`); how many."""
    rows = conn.execute("SELECT id, identifier_hash FROM hub_tombstones WHERE key_id IS NULL").fetchall()
    kid = key_id(key)
    for row in rows:
        conn.execute("UPDATE hub_tombstones SET identifier_hash = ?, key_id = ? WHERE id = ?",
                     (keyed_hash(key, row["identifier_hash"]), kid, row["id"]))
    return len(rows)


def rekey_station(conn, key: str) -> int:
    """Key what a station kept unkeyed (before it had the key, or by older software): its erasures
    (``sync_erasures``), queued erasures and erasures the hub took without erasing
    (``sync_skipped``); how many rows. What is keyed with another key is left."""
    kid = key_id(key)
    rows = conn.execute("SELECT patient_id, identifier_hash FROM sync_erasures WHERE key_id IS NULL").fetchall()
    for row in rows:
        conn.execute("UPDATE sync_erasures SET identifier_hash = ?, key_id = ? WHERE patient_id = ?",
                     (keyed_hash(key, row["identifier_hash"]), kid, row["patient_id"]))
    done = len(rows)
    for table in ("sync_outbox", "sync_skipped"):
        for row in conn.execute(f"SELECT seq, payload FROM {table} WHERE entity = 'patient' AND op = 'erase'").fetchall():
            payload = json.loads(row["payload"])
            if "identifier_hash" not in payload:
                continue
            conn.execute(f"UPDATE {table} SET payload = ? WHERE seq = ?",
                         (json.dumps(erase_payload(key, payload.pop("identifier_hash"), payload)), row["seq"]))
            done += 1
    return done


def erase_payload(key: str | None, identifier_hash: str, rest: dict) -> dict:
    """An ``erase`` change's payload: the patient named keyed (``identifier_key``, ``key_id``) when
    there is a key, else by the plain hash (``identifier_hash``, as before keyed erasures), with ``rest``."""
    if key is None:
        return {"identifier_hash": identifier_hash, **rest}
    return {"identifier_key": keyed_hash(key, identifier_hash), "key_id": key_id(key), **rest}
