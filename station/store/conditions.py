"""Condition tags of a patient: a fixed vocabulary plus ``other:<word>`` for anything else.

Tags are short machine-readable strings, so that search and comparisons with norms do not depend
on spelling. Conditions with a side carry it after a colon (``stroke:left``: the affected side).
A patient holds at most :data:`MAX_CONDITIONS` distinct tags.
"""

from __future__ import annotations

import re

KNOWN_CONDITIONS: dict[str, str] = {
    "stroke:left": "Stroke, left side affected",
    "stroke:right": "Stroke, right side affected",
    "stroke:bilateral": "Stroke, both sides affected",
    "parkinsons": "Parkinson's disease",
    "multiple_sclerosis": "Multiple sclerosis",
    "fall_12m": "Fall in the last 12 months",
    "fear_of_falling": "Fear of falling",
    "vestibular": "Vestibular disorder",
    "peripheral_neuropathy": "Peripheral neuropathy",
    "diabetes": "Diabetes",
    "hip_fracture": "Hip fracture",
    "knee_osteoarthritis": "Knee osteoarthritis",
    "joint_replacement:left": "Hip or knee replacement, left",
    "joint_replacement:right": "Hip or knee replacement, right",
    "amputation:left": "Lower-limb amputation, left",
    "amputation:right": "Lower-limb amputation, right",
    "concussion": "Concussion",
    "visual_impairment": "Visual impairment",
    "cognitive_impairment": "Cognitive impairment",
    "walking_aid": "Uses a walking aid",
}
"""Known tags and their labels (what the dashboard shows)."""

MAX_CONDITIONS = 20
_OTHER_RE = re.compile(r"^other:[a-z0-9][a-z0-9_-]{0,39}$")


def condition_problem(tag: object) -> str | None:
    """Why ``tag`` is not an acceptable condition tag, or None."""
    if not isinstance(tag, str):
        return "each condition must be a string"
    if tag in KNOWN_CONDITIONS or _OTHER_RE.fullmatch(tag):  # (match lets "other:x\n" through)
        return None
    if tag == "stroke":
        return "'stroke' needs the affected side: stroke:left, stroke:right or stroke:bilateral"
    return (
        f"unknown condition {tag[:40]!r}; use a known tag (GET /api/conditions) or "
        "other:<word> (lowercase letters, digits, _ or -, up to 40)"
    )


def normalise_conditions(value: object) -> list[str]:
    """The list of tags, deduplicated in order; raises ValueError with a one-line message."""
    if not isinstance(value, list):
        raise ValueError("must be a list of condition tags")
    tags: list[str] = []
    for tag in value:
        problem = condition_problem(tag)
        if problem:
            raise ValueError(problem)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_CONDITIONS:
        raise ValueError(f"at most {MAX_CONDITIONS} conditions")
    return tags
