"""The visit PDF names each centre-of-pressure trace as the visit results name its trial, with its number
(s28 P12): a tandem stance the patient stepped off at 6.1 s and held for 30 s at the repeat drew two traces
both titled "Tandem stance, eyes open, trial 1", beside the time-held chart's "#22 6.1 s" and "#23 30.0 s",
so whoever read it could not tell which trace was the 6-second one."""

from __future__ import annotations

from station.reports.build import make_report

from reports_support import ACTOR, layout_problems, pdf_text, report_timing
import test_cutoff_populations as walk_populations

store = walk_populations.store  # a store of its own in tmp_path


def _tandem_visit(store) -> tuple[int, list[int]]:
    """A tandem stance, trial 1 twice: the patient stepped off at 6.1 s, then held 30 s at the repeat."""
    import numpy as np

    timing = report_timing()
    rng = np.random.default_rng(5)
    patient = store.patients.create({"identifier": "TRACE-1", "birth_year": 1948, "sex": "F", "conditions": []},
                                    actor=ACTOR)
    session = store.sessions.create(patient["id"], {"label": "tandem"}, actor=ACTOR)
    ids = []
    for attempt, held in ((1, 6.1), (2, 30.0)):
        frames, metrics = timing._recording(rng, 0.8)
        frames = frames[: int(held * timing.RATE_HZ)]
        doc = timing._trial_doc("tandem", "tandem", metrics, held=held)
        doc["trial"].update(attempt=attempt, completed=held >= 30.0, duration_s=held,
                            end_reason="duration" if held >= 30.0 else "stepped_off")
        ids.append(store.trials.import_trial(session["id"], "tandem", "tandem", timing.CALIBRATIONS[1], timing.RATE_HZ,
                                             frames, doc, True, None, actor=ACTOR))
    return session["id"], ids


def test_two_attempts_of_one_trial_are_two_named_traces(store, protocols, clinic, poppler):
    session_id, (first, repeat) = _tandem_visit(store)
    pdf = make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    text = pdf_text(pdf)
    assert "Tandem stance, eyes open, trial 1" not in text, text
    # the title may wrap in its drawing: its words in order, the trial's number as its lines and chart say it
    for attempt, trial_id in ((1, first), (2, repeat)):
        assert f"Tandem stance, eyes open, attempt {attempt} · #{trial_id}" in text, text
        assert f"#{trial_id} " in text  # the time-held chart's bar, the same number
    assert layout_problems(pdf) == []  # a longer title stays in its drawing, over no other word


def test_traces_side_by_side_keep_one_plot_size_when_one_title_takes_two_lines():
    """A title wrapped on two lines ("Firm surface, eyes closed, attempt 1 · / #45") made its plot smaller and
    lower than its neighbours'; each drawing of a grid keeps room for the longest title's lines."""
    import numpy as np
    from reportlab.graphics.shapes import Rect

    from station.reports.charts import STATOKINESIGRAM_MARGINS_PT, statokinesigram, title_lines

    rng = np.random.default_rng(1)
    ml, ap = rng.normal(0, 0.5, 300), rng.normal(0, 0.5, 300)
    size = 150.0
    long, short = "Firm surface, eyes closed, attempt 1 · #45", "Foam, eyes open, attempt 1 · #46"
    assert [len(title_lines(t, size - STATOKINESIGRAM_MARGINS_PT)) for t in (long, short)] == [2, 1]

    def frame(title: str) -> tuple:
        drawing = statokinesigram(ml, ap, None, size=size, half_cm=2.0, title=title, title_rows=2)
        rects = [(r.x, r.y, r.width, r.height) for r in drawing.contents if isinstance(r, Rect)]
        return max(rects, key=lambda r: r[2] * r[3])

    assert frame(long) == frame(short)


def test_a_hold_too_short_for_sway_measures_is_said_why_it_is_in_no_mean(store, protocols, clinic, poppler):
    """A single-leg stance held 2.2 s, then 30 s twice: the sway rows read "mean of 2 trials" beside "3 trials, 3
    valid" and two traces were drawn of three, with no why; the trial's page said it (its result's metrics_note)."""
    import numpy as np

    timing = report_timing()
    rng = np.random.default_rng(7)
    patient = store.patients.create({"identifier": "TRACE-2", "birth_year": 1948, "sex": "F", "conditions": []},
                                    actor=ACTOR)
    session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=ACTOR)
    note = "Held too briefly for sway measures (2.2 s of steady stance; at least 5 s is needed)."
    ids = []
    for trial, held in ((1, 2.2), (2, 30.0), (3, 30.0)):
        frames, metrics = timing._recording(rng, 1.5)
        frames = frames[: int(max(held, 5.0) * timing.RATE_HZ)]
        doc = timing._trial_doc("single-leg", "left", metrics if held >= 30.0 else {}, held=held)
        if held < 30.0:
            doc = {"kind": "stance", "fs_hz": timing.RATE_HZ, "samples": len(frames), "profile": "station",
                   "version": "test", "metrics": {}, "note": note, "trial": {**doc["trial"], "metrics_note": note}}
        doc["trial"].update(trial=trial, completed=held >= 30.0, duration_s=held,
                            end_reason="duration" if held >= 30.0 else "balance_lost")
        ids.append(store.trials.import_trial(session["id"], "single-leg", "left", timing.CALIBRATIONS[1], timing.RATE_HZ,
                                             frames, doc, True, None, actor=ACTOR))
    pdf = make_report("session", store, session["id"], protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    text = pdf_text(pdf)
    assert "3 trials, 3 valid; time held 2.2 s, 30.0 s, 30.0 s" in text, text
    assert (f"Trial 1 · #{ids[0]}: Held too briefly for sway measures (2.2 s of steady stance; at least 5 s is needed): "
            "not in the sway measures' means, no trace drawn; its time held counts.") in text, text
    assert "(mean of 2 trials:" in text and f"· #{ids[0]}" not in text.split("Centre-of-pressure traces")[1]
    assert layout_problems(pdf) == []
