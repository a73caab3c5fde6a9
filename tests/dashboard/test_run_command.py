"""``balance-station run``: refusals before anything starts (one line each, exit 1)."""

from __future__ import annotations

import pytest

from station.cli import main

from dashboard_support import CHEAP


def test_a_data_directory_in_use_by_another_station_is_refused(tmp_path, capsys):
    from station.store.store import Store

    holder = Store.open_service(tmp_path / "data", password_cost=CHEAP)
    try:
        code = main(["run", "--simulate", "--port", "8999", "--data-dir", str(tmp_path / "data")])
    finally:
        holder.close()
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "Traceback" not in err
    assert "another station process" in err and "use another --data-dir" in err
    assert "starting acquisition" not in err  # refused before the acquisition started


@pytest.mark.parametrize("args", [["--scenario", "patient"], ["--scenario", "patient", "--replay", __file__]])
def test_a_scenario_needs_the_simulated_plate(tmp_path, capsys, args):
    code = main(["run", *args, "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "--scenario chooses who stands on the simulated plate" in err


def test_an_unknown_scenario_lists_the_known_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--simulate", "--scenario", "dancing", "--data-dir", str(tmp_path / "data")])
    assert exit_info.value.code == 2
    assert "mctsib-step-off" in capsys.readouterr().err
