"""``balance-station trial --protocol biofeedback-training --simulate --game ...``: the virtual
patient plays the game; the summary and results.json carry its score; bad options are one line."""

from __future__ import annotations

import json

from station.cli import main


def test_a_game_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "game"
    assert main(["trial", "--protocol", "biofeedback-training", "--simulate", "--game", "reach", "--level", "1",
                 "--session-s", "40", "--seed", "2", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Reach and hold, level 1: score" in printed and "held" in printed
    (game,) = json.loads((out / "results.json").read_text())["training"]
    assert game["schedule"]["seed"] == 2 and game["result"]["targets_shown"] >= 3
    assert 0 <= game["result"]["score"] <= 100


def test_game_options_are_checked(tmp_path, capsys):
    assert main(["trial", "--protocol", "biofeedback-training", "--simulate", "--quiet"]) == 1
    assert "--game is required" in capsys.readouterr().err
    assert main(["trial", "--protocol", "biofeedback-training", "--simulate", "--game", "shift", "--quiet"]) == 1
    assert "--paretic-side: choose 'left' or 'right'" in capsys.readouterr().err
    assert main(["trial", "--protocol", "biofeedback-training", "--simulate", "--game", "reach", "--level", "9",
                 "--quiet"]) == 1
    assert "--level: 9 is out of range" in capsys.readouterr().err
    assert main(["trial", "--protocol", "quiet-stance", "--simulate", "--game", "reach", "--quiet"]) == 1
    assert "--game applies to training games" in capsys.readouterr().err
