"""Words for the references a measure is read against (norms, cut-offs, published norms of a
protocol, change against the MDC), as the PDF reports print them, and the list of citations."""

from __future__ import annotations

import re

from station.protocols.report import BASELINE  # (a first value's words, the pages' too: one place)
from station.protocols.report import not_applied_together as said_together
from station.reports.text import belt_change, change, change_unit, day, held_change, num, ordinal, quantity, time_held, with_unit


_DOI = re.compile(r"10\.\d{4,9}/[^\s;,)]+")


class Citations:
    """The sources a report cites, numbered in the order they first appear; two citations of one
    DOI are one source (the first wording is kept)."""

    def __init__(self) -> None:
        self._order: list[str] = []
        self._by_doi: dict[str, int] = {}

    def cite(self, citation: str | None, doi: str | None = None) -> str:
        """``[n]`` for ``citation`` (added if new); '' for none."""
        if not citation:
            return ""
        text = citation if not doi or doi in citation else f"{citation} doi:{doi}"
        found = _DOI.search(text)
        key = found.group(0).rstrip(".").lower() if found else None
        if key is not None and key in self._by_doi:
            return f"[{self._by_doi[key] + 1}]"
        if text not in self._order:
            self._order.append(text)
            if key is not None:
                self._by_doi[key] = len(self._order) - 1
        return f"[{self._order.index(text) + 1}]"

    def entries(self) -> list[str]:
        return [f"[{i + 1}] {c}" for i, c in enumerate(self._order)]


def reference_words(ref: dict, unit: str, citations: Citations) -> str:
    """One reference of a key measure (``session_results``' ``references`` entry) in words."""
    kind = ref.get("kind")
    if kind == "norm":
        cite = citations.cite(ref.get("source"))
        if not ref.get("comparable"):
            return f"Age-group norm {cite}: {ref.get('note') or 'not comparable'}".strip()
        words = (f"Norm {cite}, {ref.get('group')}: 5th-95th percentile {num(ref.get('p05'), unit)}-"
                 f"{with_unit(ref.get('p95'), unit)}, median {with_unit(ref.get('p50'), unit)}")
        if ref.get("percentile") is not None and not ref.get("flag"):
            words += f"; about the {ordinal(ref['percentile'])} percentile"
        if ref.get("flag_words"):
            words += f". {ref['flag_words']}"
        if ref.get("direction"):
            words += f"; {ref['direction']}"
        if ref.get("misfit"):
            words += f". {ref['misfit']}"
        elif ref.get("note"):
            words += f". {ref['note']}"
        return words
    if kind == "cutoff" and ref.get("verdict") == "class":  # Perry's walking classes (walk_words.py)
        return f"Walking class {citations.cite(ref.get('source'), ref.get('doi'))}: {ref.get('words') or ''}".strip()
    if kind == "cutoff":  # the verdict for this patient first, then the source's cut-off (report.cutoff_reading)
        cite = citations.cite(ref.get("source"), ref.get("doi"))
        verdict = ref.get("verdict")
        if verdict is None or verdict == "not_applied" or not ref.get("finding"):  # not applied: said why, no verdict
            return f"Cut-off {cite}: {ref.get('words') or ''}".strip()
        # a time held as the page gives it (one decimal), other values by their unit's rule
        value = time_held(ref.get("value")) if ref.get("metric") == "time_held_s" else with_unit(ref.get("value"), unit)
        if verdict == "met":  # "4.99 s: not slower than the 5.5 s cut-off (at or below 5.5 s)."
            return f"Cut-off {cite}: {value}: {ref['finding']} ({ref.get('limit_words')})."
        # "10.28 s: high fall risk (slower than 4.5 s). Cut-off: 3-m backward walk slower than 4.5 s: ..."
        return f"Cut-off {cite}: {value}: {ref['finding']} ({ref.get('limit_words')}). The cut-off: {ref.get('words') or ''}".strip()
    if kind == "protocol_norm":
        return protocol_norm_words(ref, unit, citations)
    if kind == "entered":  # a setting the clinician entered (the belt speed): its change is the dose's, no MDC
        previous = ref.get("previous")
        return "" if previous is None else belt_change(ref.get("change"), _since(previous),
                                                       previous.get("settings") or previous.get("value"))
    if kind == "change":
        previous = ref.get("previous")
        if previous is None:
            return f"First visit with this test. {BASELINE}"
        if ref.get("not_compared"):  # a treadmill's previous visit of another plan or belt speed: no change made
            return f"Since {_since(previous)}: {ref['not_compared']}."
        if ref.get("count"):  # a walk's count (report._count_change): as counted, whole; none is called real
            moved = ref.get("change_words")
            return " ".join(filter(None, (f"Since {_since(previous)} ({previous.get('words')}): "
                                          f"{moved if moved == 'no change' else f'change {moved}'}; "
                                          f"{ref.get('better_words')}.", ref.get("compared"), ref.get("mdc_note"))))
        n = previous.get("sessions") or 1  # a visit's value is the mean over its sessions' trials
        # a time held, its change and its MDC in the precision the test is scored in, one decimal, as the pages and
        # the history PDF say them ("+12.5 s", "MDC 24.1 s"; was "MDC 24.10 s"); other values by their unit's rule
        held = ref.get("metric") == "time_held_s"
        amount = time_held if held else (lambda v: quantity(v, change_unit(unit)))
        # always signed; a percentage's in points; none: "no change"
        moved = held_change(ref.get("change")) if held else change(ref.get("change"), unit)
        words = (f"Since {_since(previous)} ({time_held(previous.get('value')) if held else with_unit(previous.get('value'), unit)}"
                 f"{f', mean of {n} sessions' if n > 1 else ''}): "
                 f"{moved if moved == 'no change' else f'change {moved}'}")
        mdc = ref.get("mdc")
        if mdc:
            cite = citations.cite(mdc.get("citation"), mdc.get("doi"))
            if ref.get("mdc_reading"):  # an MDC per phase of stroke, the patient's phase unknown: both
                values = " / ".join(f"{amount(p['value'])} {p['phase']}" for p in mdc.get("phases") or [])
                words += f"; MDC {values} {cite}: {ref['mdc_reading']}"
            else:
                group = f" for {mdc['band_words']}" if mdc.get("band_words") else ""  # published by group of baseline
                words += (f"; MDC {amount(mdc.get('value'))} {cite}{group}: "
                          f"{(ref.get('mdc_verdict') or {}).get('words', '')}")  # report.mdc_verdict
        elif ref.get("mdc_note"):
            words += f"; {ref['mdc_note']}"
        else:
            words += "; no published MDC for this test"
        return words
    return ""


def not_applied_together(refs: list[dict], citations: Citations) -> str:
    """The visit PDF's words for several sources a measure is not read against
    (:func:`station.protocols.report.not_applied_together`: one rule), each cited by its number.

    >>> why = "the source's population is not known to include people with stroke"
    >>> print(not_applied_together([
    ...     {"kind": "cutoff", "source": "Vellas 1997", "limit": "5 s", "not_applied_why": why,
    ...      "population": {"group": "healthy volunteers older than 60"}},
    ...     {"kind": "protocol_norm", "source": "Springer 2007", "group": "549 healthy adults", "not_applied_why": why}],
    ...     Citations()))
    Not applied to this patient: the cut-off (5 s) [1], set in healthy volunteers older than 60, and the reference values [2], set in 549 healthy adults; for both: the source's population is not known to include people with stroke.
    """
    return said_together(refs, citations.cite)


def _sentence(text: str | None) -> str:
    """``text`` as a sentence: capitalised, one full stop at its end ('' for none)."""
    text = (text or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def protocol_norm_words(ref: dict, unit: str, citations: Citations) -> str:
    """A protocol's published values (``[[norms]]``, ``kind = "protocol_norm"``) in words: where the
    patient stands against the age group first, then the source's population and statistic, each a
    sentence of its own (never one inside the other's brackets).

    >>> ref = {"source": "Springer BA ... 2007", "row": {"age_min_y": 70, "age_max_y": 79, "mean": 21.5},
    ...        "position": "above the mean", "population": "549 healthy adults (Springer et al. 2007); women and men alike.",
    ...        "statistic": "Mean over subjects of each subject's best of three trials (45 s maximum)",
    ...        "note": "The reference trials lasted 45 s, this one 30 s."}
    >>> protocol_norm_words(ref, "s", Citations())
    "Above the mean for ages 70–79 (21.5 s) [1]. 549 healthy adults (Springer et al. 2007); women and men alike. Mean over subjects of each subject's best of three trials (45 s maximum). The reference trials lasted 45 s, this one 30 s."
    >>> protocol_norm_words({"source": "S", "population": "Adults", "statistic": "Mean",
    ...                      "note": "Give the patient's age to compare with these reference values."}, "s", Citations())
    "Published values [1]. Adults. Mean. Give the patient's age to compare with these reference values."
    >>> protocol_norm_words({"source": "S", "not_applied_why": "why", "note": "Set in healthy adults; not applied (why)."},
    ...                     "s", Citations())
    'Published values [1]: not applied. Set in healthy adults; not applied (why).'
    """
    cite = citations.cite(ref.get("source"), ref.get("doi"))
    row = ref.get("row") or {}
    mean = row.get("mean")
    centre = mean if mean is not None else row.get("p50")
    position = ref.get("position") or ""
    population = (ref.get("population") or "").strip()
    if ref.get("not_applied_why"):  # values of other people: not read for this patient, said why (results._norm_entry)
        return f"Published values {cite}: not applied. {_sentence(ref.get('note') or '')}".strip()
    if row and position:
        what = "" if ("mean" in position and mean is not None) or ("median" in position and mean is None) \
            else ("mean " if mean is not None else "median ")
        # a time held's published mean as the page says a time held, one decimal ("9.4 s", not "9.40 s")
        shown = time_held(centre) if ref.get("metric") == "time_held_s" else with_unit(centre, unit, 3)
        ages = f"ages {row.get('age_min_y')}–{row.get('age_max_y')} ({what}{shown})"
        lead = (f"Not compared with the values for {ages} {cite}." if position == "not comparable"
                else f"{_sentence(position)[:-1]} for {ages} {cite}.")
    else:
        lead = f"Published values {cite}."
    parts = [lead, population, ref.get("statistic"), ref.get("note")]
    return " ".join(_sentence(part) for part in parts if part and part.strip())


def _since(previous: dict) -> str:
    """The earlier visit (or session) a change is counted from: ``the visit of 2026-11-02``
    (report.add_walk_changes' ``previous``)."""
    on = day(previous.get("started_at"))
    return f"the visit of {on}" if previous.get("visit") else on
