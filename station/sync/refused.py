"""A station the hub refuses: what ``/healthz`` and ``sync --show-blocked`` say of it.

A sync that fails because the hub cannot be reached (or is busy) is retried and succeeds by itself
once the hub answers: ``/healthz`` stays ``ok`` and shows the station's own words. A sync the hub
*refuses* (4xx: a revoked token, a change it will not take) fails the same way at every try until
someone acts, and nothing recorded here reaches the hub meanwhile: ``/healthz`` is then
``degraded`` with :func:`health_words` as its reason (never the hub's words, which may name a
patient: the signed-in status and ``sync --show-blocked`` show them).

A station whose database went back to an older backup without telling the hub (copied back by
hand, or restored by software before ``restore`` marked it: :mod:`station.sync.station_restore`)
is refused for good, by the hub (``409``) or by the station itself before it pushes: it is named
as such (:func:`went_back`).
"""

from __future__ import annotations

import re

RESTORED_WORDS = "restored from an older backup"
"""In the hub's refusal of a change it applied another under the same number
(:meth:`station.sync.hub.Hub._repeat`), and in the station's own refusal to push when the hub holds
more of its changes than it ever made (:meth:`station.sync.syncer.StationSync._check_not_behind`)."""
RESTORE_WAITING_WORDS = "until the hub's administrator confirms it"
"""In the hub's refusal of a restored station's sync while its restore notice waits for the hub's
administrator (:func:`station.sync.hub_restore.waiting_words`)."""
RESTORE_WAITING_HEALTH = ("the hub holds this station's notice that its database was restored from a backup "
                          + RESTORE_WAITING_WORDS + " (`balance-station hub stations confirm-restore NAME` on the hub): "
                          "nothing recorded here reaches the hub meanwhile; `balance-station sync --show-blocked` "
                          "names the restore")
FOREIGN_RESTORE_WORDS = "a restore notice this station never sent"
"""In the station's words when the hub names a confirmed restore of it that it never sent
(:func:`station.sync.station_restore.foreign_words`)."""
FOREIGN_RESTORE_HEALTH = ("the hub holds " + FOREIGN_RESTORE_WORDS + ", confirmed by its administrator: this "
                          "station's token may have been stolen. This station stopped syncing (nothing recorded here "
                          "is lost: it waits queued) until the hub's administrator withdraws it (`balance-station hub "
                          "stations withdraw-restore NAME` on the hub, which gives this station a new token); "
                          "`balance-station sync --show-blocked` names the restore")
REFUSED_PREFIX = "the hub refused "
"""How the station's words of a hub's 4xx answer begin (:class:`station.sync.client.HubRefused`)."""
WENT_BACK_HEALTH = ("the hub refuses this station's changes for good: the station's database went back to an older "
                    "backup without the hub being told, so nothing recorded here since reaches the hub; "
                    "`balance-station sync --show-blocked` says what to do")
REFUSED_HEALTH = ("the hub refuses this station's sync ({what}): the changes recorded here wait on this station "
                  "until someone acts; `balance-station sync --show-blocked` (or the station's status, signed in) "
                  "says why")


def went_back(error: str | None) -> bool:
    """Whether the sync's last error (the station's words) is the refusal of a station whose
    database went back to an older backup."""
    return bool(error) and RESTORED_WORDS in error


def restore_waiting(error: str | None) -> bool:
    """Whether the sync's last error is the hub holding this station's restore notice for its
    administrator (:mod:`station.sync.hub_restore`)."""
    return bool(error) and RESTORE_WAITING_WORDS in error


def foreign_restore(error: str | None) -> bool:
    """Whether the sync's last error is the hub naming a confirmed restore this station never sent."""
    return bool(error) and FOREIGN_RESTORE_WORDS in error


def health_words(error: str | None) -> str | None:
    """``/healthz``'s reason (no patient data) when the sync's last error ``error`` is a refusal
    that retrying does not end; None for no error or one that passes by itself (the hub cannot be
    reached, is busy or failing).

    >>> health_words("cannot reach the hub at https://hub.example (timed out); will retry") is None
    True
    >>> health_words("the hub refused POST /api/hub/push (HTTP 422): patient X: birth_year ...")[:59]
    "the hub refuses this station's sync (HTTP 422 to a push): t"
    """
    if not error:
        return None
    if foreign_restore(error):
        return FOREIGN_RESTORE_HEALTH
    if went_back(error):
        return WENT_BACK_HEALTH
    if restore_waiting(error):
        return RESTORE_WAITING_HEALTH
    if not error.startswith(REFUSED_PREFIX):
        return None
    request, _, rest = error[len(REFUSED_PREFIX):].partition(" (HTTP ")
    status = rest[:3] if rest[:3].isdigit() else "4xx"
    kind = "a push" if request.endswith("/api/hub/push") else "its request"
    return REFUSED_HEALTH.format(what=f"HTTP {status} to {kind}")


_REFUSAL_WORDS = re.compile(r"(change refused|the hub refused \S+ \S+ \(HTTP \d+\)): (.*)", re.DOTALL)
_QUOTED = re.compile(r"""(?<!\w)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?!\w)""")
QUOTED_LEFT_OUT = ("(a quoted value left out here: it may name a patient; the station's status shows it to a "
                   "signed-in user)")


def shown_error(error: str | None) -> str | None:
    """A station's last error as the hub shows it (its Stations page, ``GET /api/hub/stations`` and
    ``balance-station hub stations list``; X1 finding F7, session 25): in the words of a refusal (the
    hub's own note ``change refused: ...``, or the station's report ``the hub refused POST ... (HTTP
    n): ...``) each quoted value is left out, since it may name a patient (the hub quotes what it
    refuses), and the kind of refusal stays, for the administrator to act on; the station's status
    shows the whole words to a signed-in user. The station's other errors and the hub's notes are
    shown as they are.

    >>> shown_error("change refused: identifier 'P-SECRET-7' is already used by another patient; choose another")
    "change refused: identifier '…' is already used by another patient; choose another (a quoted value left out here: it may name a patient; the station's status shows it to a signed-in user)"
    >>> shown_error("the hub refused POST /api/hub/push (HTTP 409): the station's patient #4 is the hub's")
    "the hub refused POST /api/hub/push (HTTP 409): the station's patient #4 is the hub's"
    >>> shown_error("cannot reach the hub at https://hub:8443 (timed out); will retry")
    'cannot reach the hub at https://hub:8443 (timed out); will retry'
    """
    refused = _REFUSAL_WORDS.fullmatch(error or "")
    if refused is None:
        return error
    words, left_out = _QUOTED.subn("'…'", refused.group(2))
    return f"{refused.group(1)}: {words}" + (f" {QUOTED_LEFT_OUT}" if left_out else "")
