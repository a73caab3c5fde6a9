"""Training games in the session report: per game played, its level, score with its definition,
minutes, the game's measures and the per-target table (time to reach, time held, path efficiency,
held or missed). Built from the results document's ``training`` section
(:func:`station.protocols.report.session_results`)."""

from __future__ import annotations

from station.reports.layout import p, table

def number(value, decimals: int) -> str:
    """``value`` with ``decimals`` decimals (``–`` when there is none)."""
    return "–" if value is None else f"{float(value):.{decimals}f}"


DIRECTIONS = {"f": "forward", "fr": "forward-right", "r": "right", "br": "back-right", "b": "back",
              "bl": "back-left", "l": "left", "fl": "forward-left"}


def game_flowables(section: dict, width: float) -> list:
    """The flowables of the games of one section (``section["training"]``)."""
    story: list = []
    games = section.get("training") or []
    if not games:
        return [p("No game was played to its end in this session.", "small")]
    for g in games:
        s, r = g["schedule"], g["result"]
        score = "–" if r.get("score") is None else number(r["score"], 0)
        story.append(p(f"{g.get('title', s['game'])}, level {s['level']}: score {score} of 100", "h3"))
        story.append(p(f"Score: {r['score_definition']}", "small"))
        words = [f"{number(g['minutes'], 1)} min played{'' if g.get('completed') else ' (ended early)'}."]
        if r.get("inside_pct") is not None:
            words.append(f"Inside {number(r['inside_pct'], 0)} % of the time.")
        if r.get("mean_distance_cm") is not None:
            words.append(f"Mean distance to the target {number(r['mean_distance_cm'], 1)} cm "
                         f"(RMS {number(r['rms_distance_cm'], 1)} cm).")
        if r.get("smallest_radius_held_cm") is not None:
            words.append(f"Smallest circle held {number(r['smallest_radius_held_cm'], 1)} cm.")
        if r.get("in_band_pct") is not None:
            words.append(f"Weight on the {s['paretic_side']} side in the band {number(r['in_band_pct'], 0)} % "
                         "of the shift time.")
        if r.get("targets") is not None:
            words.append(f"{r['hits']} of {r['targets_shown']} held.")
        story.append(p(" ".join(words)))
        targets = r.get("targets") or []
        if targets:
            rows = [["Target", "Reach (s)", "Held (s)", "Path efficiency (%)", ""]]
            for t in targets:
                rows.append([f"Cycle {t['index'] + 1}" if s["game"] == "shift" else DIRECTIONS.get(t["direction"], t["direction"]),
                             "–" if t["time_to_reach_s"] is None else number(t["time_to_reach_s"], 1),
                             number(t["time_held_s"], 1),
                             "–" if t["path_efficiency"] is None else number(100 * t["path_efficiency"], 0),
                             "held" if t["hit"] else "missed"])
            story.append(table(rows, [0.3 * width, 0.17 * width, 0.17 * width, 0.22 * width, 0.14 * width]))
    return story
