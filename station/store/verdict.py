"""Whether the station's own check counts a stored trial as a result although it is stored invalid:
single-leg stance "unable" (0 s), the one place this is decided for every reader of a trial.

A trial the protocol engine judged invalid only because the patient could not take the test
position (:data:`UNABLE_CODES`) is a result of 0 s, not a failed recording. :meth:`Trials.get
<station.store.trials.Trials.get>` carries it as ``station_check.unable`` (:func:`station_unable`),
so the trial API, the trial export's sidecar and the pages read the same answer; the results
pages and the FHIR export read :func:`unable_trial` (the station's verdict as it stands now,
a clinician's judgement included). Plain dicts in, words out: no I/O.
"""

from __future__ import annotations

UNABLE_CODES = ("no_liftoff", "scored_unable")
"""Quality issues that mean the patient could not take the test position (single-leg stance: the
foot never left the plate, measured; or scored so by the clinician without a measurement). Such a
trial is a result, not a failed recording: 0 s, "unable", one of the protocol's attempts."""


def _issues(trial: dict) -> list:
    return ((trial.get("metrics") or {}).get("trial") or {}).get("issues") or []


def unable_trial(trial: dict) -> bool:
    """True for a stored trial the engine judged invalid only because the patient could not take
    the position (:data:`UNABLE_CODES`), unless a clinician has since judged it otherwise.

    >>> issue = {"code": "no_liftoff", "message": "The foot never left the plate."}
    >>> unable_trial({"valid": False, "validity_reason": issue["message"], "metrics": {"trial": {"issues": [issue]}}})
    True
    >>> unable_trial({"valid": False, "validity_reason": "patient talked", "judged_by": "ana",
    ...               "metrics": {"trial": {"issues": [issue]}}})
    False
    """
    issues = _issues(trial)
    codes = [str(i.get("code", "")) for i in issues if isinstance(i, dict)]
    if trial.get("valid") or not codes or not all(c in UNABLE_CODES for c in codes):
        return False
    if trial.get("judged_by"):  # a clinician judged it invalid for a reason of their own
        return False
    reasons = [str(i.get("message", "")) for i in issues]
    return (trial.get("validity_reason") or "") in ("", " ".join(reasons), "; ".join(reasons)) or \
        any(r and r in (trial.get("validity_reason") or "") for r in reasons)


def station_unable(trial: dict) -> str | None:
    """How the station's own check scored a stored trial (with its ``station_check``) that it counts
    as unable (:func:`unable_trial` read on the station's verdict, whatever a clinician has judged
    since): ``"scored"`` (the clinician scored it unable, nothing was measured), ``"measured"`` (the
    foot was never lifted), else None.

    >>> issue = {"code": "scored_unable", "message": "Scored unable by the clinician (ana), not measured."}
    >>> station_unable({"valid": False, "validity_reason": issue["message"], "judged_by": None,
    ...                 "metrics": {"trial": {"issues": [issue]}}})
    'scored'
    >>> station_unable({"valid": True, "validity_reason": None, "judged_by": "ana", "station_check":
    ...                 {"valid": False, "reason": "The foot never left the plate."},
    ...                 "metrics": {"trial": {"issues": [{"code": "no_liftoff", "message": "The foot never left the plate."}]}}})
    'measured'
    """
    check = trial.get("station_check") or {"valid": trial.get("valid"), "reason": trial.get("validity_reason")}
    if check.get("valid") is not False:
        return None
    return unable_kind({**trial, "valid": check.get("valid"), "validity_reason": check.get("reason"), "judged_by": None})


def unable_kind(trial: dict) -> str | None:
    """How a stored trial counts as unable as it stands now (:func:`unable_trial`, a clinician's
    judgement included): ``"scored"`` (scored unable by the clinician, nothing measured),
    ``"measured"`` (the foot was never lifted), else None. The patient page's trial list reads it.

    >>> unable_kind({"valid": False, "validity_reason": "", "metrics": {"trial": {"issues": [{"code": "no_liftoff"}]}}})
    'measured'
    >>> unable_kind({"valid": True, "metrics": {"trial": {"issues": []}}}) is None
    True
    """
    if not unable_trial(trial):
        return None
    return "scored" if {str(i.get("code", "")) for i in _issues(trial) if isinstance(i, dict)} == {"scored_unable"} \
        else "measured"


def scored_by(trial: dict) -> str | None:
    """Who scored a stored trial unable without measuring it (the user name in its ``scored_unable``
    issue, written by :meth:`station.protocols.runner.ProtocolRunner._score_unable` as "Scored
    unable by the clinician (<name>), ..."), or None for any other trial.

    >>> scored_by({"metrics": {"trial": {"issues": [{"code": "scored_unable",
    ...            "message": "Scored unable by the clinician (physio.ben), not measured: ..."}]}}})
    'physio.ben'
    >>> scored_by({"metrics": {"trial": {"issues": [{"code": "no_liftoff", "message": "The foot never left the plate."}]}}})
    """
    for issue in _issues(trial):
        if not isinstance(issue, dict) or issue.get("code") != "scored_unable":
            continue
        head, sep, rest = str(issue.get("message") or "").partition(SCORED_BY_PREFIX)
        name, closed, _ = rest.partition(")")
        if not head and sep and closed and name:
            return name
    return None


SCORED_BY_PREFIX = "Scored unable by the clinician ("
"""How the runner's ``scored_unable`` message begins, before the scorer's user name and ``)``
(user names hold no parenthesis: :data:`station.store.users.USERNAME_RE`)."""
