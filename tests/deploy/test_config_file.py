"""The TOML configuration: loading, every key validated with file and line, check/show commands."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import pytest

from station import config_file
from station.cli import main
from station.config import StationConfig
from station.config_file import (
    ConfigError,
    effective_values,
    key_lines,
    load_config,
    load_station_config,
    resolve_config_path,
    to_toml,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TOML = REPO / "systemd" / "station.toml"


def write(tmp_path: Path, text: str, name: str = "station.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[config_file.ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_station_config(path)
    return info.value.problems


# -- the shipped default file ---------------------------------------------------------------------


def test_installed_default_file_is_valid_and_sets_every_key():
    loaded = load_config(DEFAULT_TOML)
    schema_keys = {
        f"{section}.{k}" if isinstance(v, dict) else section
        for section, v in effective_values(StationConfig()).items()
        for k in (v if isinstance(v, dict) else [None])
    }
    assert loaded.keys_in_file == schema_keys
    assert loaded.config.data_dir == Path("/var/lib/balance-station")
    assert loaded.config.web.tls_cert == Path("/etc/balance-station/tls/server.crt")
    assert loaded.config.web.host == "127.0.0.1"


def test_installed_default_file_comments_every_key():
    lines = DEFAULT_TOML.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[number - 1].startswith("#"), f"line {number + 1} ({line!r}) has no comment above it"


def test_defaults_of_the_file_match_the_dataclasses_where_they_should():
    """The installed file differs from the development defaults only in deployment settings."""
    installed = effective_values(load_station_config(DEFAULT_TOML))
    development = effective_values(StationConfig())
    differing = {
        f"{s}.{k}" if isinstance(v, dict) else s
        for s, v in installed.items()
        for k in (v if isinstance(v, dict) else [None])
        if (v[k] if isinstance(v, dict) else v) != (development[s][k] if isinstance(v, dict) else development[s])
    }
    assert differing == {"data_dir", "web.tls_cert", "web.tls_key"}


# -- resolution -----------------------------------------------------------------------------------


def test_resolution_order(tmp_path, monkeypatch):
    given = write(tmp_path, "", "given.toml")
    from_env = write(tmp_path, "", "env.toml")
    assert resolve_config_path(given, env={"BALANCE_STATION_CONFIG": str(from_env)}) == given
    assert resolve_config_path(None, env={"BALANCE_STATION_CONFIG": str(from_env)}) == from_env
    monkeypatch.setattr(config_file, "INSTALLED_PATH", tmp_path / "absent.toml")
    assert resolve_config_path(None, env={}) is None
    monkeypatch.setattr(config_file, "INSTALLED_PATH", given)
    assert resolve_config_path(None, env={}) == given


def test_no_file_gives_the_development_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("BALANCE_STATION_CONFIG", raising=False)
    monkeypatch.setattr(config_file, "INSTALLED_PATH", tmp_path / "absent.toml")
    assert load_station_config(None) == StationConfig()


def test_empty_file_gives_defaults_and_relative_paths_follow_the_file(tmp_path):
    assert load_station_config(write(tmp_path, "")) == StationConfig()
    sub = tmp_path / "etc"
    sub.mkdir()
    path = write(sub, 'data_dir = "../var"\n[web]\ntls_cert = "tls/c.pem"\ntls_key = "/abs/k.pem"\n')
    config = load_station_config(path)
    assert config.data_dir == sub / "../var"
    assert config.web.tls_cert == sub / "tls/c.pem"
    assert config.web.tls_key == Path("/abs/k.pem")


def test_values_are_converted_to_the_dataclass_types(tmp_path):
    path = write(
        tmp_path,
        "[plate]\nwidth_cm = 45\nmux_address = 0x71\nmux_channels = [3, 2, 1, 0]\n"
        '[imu]\nmodel = "lsm6dsox"\naddress = 0x6B\n[web]\ntls_cert = ""\ntls_key = ""\n',
    )
    config = load_station_config(path)
    assert config.plate.width_cm == 45.0 and isinstance(config.plate.width_cm, float)
    assert config.plate.mux_address == 0x71
    assert config.plate.mux_channels == (3, 2, 1, 0)
    assert config.imu.address == 0x6B
    assert config.web.tls_cert is None and config.web.tls_key is None
    assert config.plate.depth_cm == 40.0  # untouched default


# -- errors: key, value, allowed, file and line ---------------------------------------------------


@pytest.mark.parametrize(
    ("line_text", "key", "fragment"),
    [
        ("adc_rate_sps = 300", "plate.adc_rate_sps", "10, 20, 40, 80, 320"),
        ("adc_gain = 100", "plate.adc_gain", "128"),
        ("width_cm = -4", "plate.width_cm", "cm"),
        ("width_cm = nan", "plate.width_cm", "cm"),
        ('width_cm = "40"', "plate.width_cm", "a number"),
        ("mux_address = 0x2A", "plate.mux_address", "0x70 to 0x77"),
        ("mux_channels = [0, 1, 1, 3]", "plate.mux_channels", "four different"),
        ("mux_channels = [0, 1, 2]", "plate.mux_channels", "four different"),
        ('front_end = "hx711"', "plate.front_end", "'nau7802'"),
        ("load_cell_capacity_kg = 0", "plate.load_cell_capacity_kg", "above 0"),
        ("width_cm = true", "plate.width_cm", "a number"),
    ],
)
def test_each_plate_error_names_key_value_allowed_file_and_line(tmp_path, line_text, key, fragment):
    path = write(tmp_path, f"# comment\n\n[plate]\n{line_text}\n")
    (problem,) = problems_of(path)
    assert problem.key == key
    assert problem.file == path and problem.line == 4
    assert fragment in problem.allowed
    text = str(problem)
    assert text.startswith(f"{path}:4: {key} = ")
    assert fragment in text


@pytest.mark.parametrize(
    ("section", "line_text", "key", "fragment"),
    [
        ("imu", 'model = "bmi160"', "imu.model", "'lsm6dsox'"),
        ("imu", "address = 0x50", "imu.address", "0x6A"),
        ("imu", "accel_range_g = 3", "imu.accel_range_g", "16"),
        ("acquisition", "bus = -1", "acquisition.bus", "0 to 255"),
        ("acquisition", "bus_clock_hz = 1000000", "acquisition.bus_clock_hz", "400000"),
        ("acquisition", "rate_hz = 0", "acquisition.rate_hz", "Hz"),
        ("acquisition", "ring_frames = 1", "acquisition.ring_frames", "frames"),
        ("panel", "button_pin = 40", "panel.button_pin", "BCM"),
        ("panel", "buzzer_pin = 3", "panel.buzzer_pin", "I2C1 SCL"),
        ("panel", "led_pin = 1.5", "panel.led_pin", "BCM"),
        ("web", 'host = "station.local"', "web.host", "IP address"),
        ("web", "port = 70000", "web.port", "65535"),
        ("web", "https_port = 0", "web.https_port", "65535"),
        ("web", "tls_cert = 3", "web.tls_cert", "path"),
        ("web", "session_timeout_min = 0", "web.session_timeout_min", "min"),
        ("backup", "interval_h = 0", "backup.interval_h", "h"),
        ("backup", "keep = 0", "backup.keep", "1 to"),
    ],
)
def test_errors_in_every_section(tmp_path, section, line_text, key, fragment):
    path = write(tmp_path, f"[{section}]\n{line_text}\n")
    (problem,) = problems_of(path)
    assert (problem.key, problem.line) == (key, 2)
    assert fragment in problem.allowed


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    path = write(
        tmp_path,
        "data_dir = 3\n[plate]\nadc_gain = 3\nadc_rate_sps = 7\n[web]\nport = 0\n[backup]\nkeep = -1\n",
    )
    problems = problems_of(path)
    assert [(p.key, p.line) for p in problems] == [
        ("data_dir", 1),
        ("plate.adc_gain", 3),
        ("plate.adc_rate_sps", 4),
        ("web.port", 6),
        ("backup.keep", 8),
    ]


def test_unknown_keys_and_sections_suggest_the_right_name(tmp_path):
    path = write(tmp_path, "[plate]\nwidht_cm = 40\n[pannel]\nled_pin = 4\n")
    first, second = problems_of(path)
    assert (first.key, first.line) == ("plate.widht_cm", 2)
    assert "did you mean 'width_cm'" in first.allowed
    assert (second.key, second.line) == ("pannel", 3)
    assert "did you mean 'panel'" in second.allowed


def test_every_unknown_key_of_a_section_is_reported(tmp_path):
    problems = problems_of(write(tmp_path, "[backup]\nkeeep = 3\nevery_h = 2\ncolour = 1\n"))
    assert [(p.key, p.line) for p in problems] == [("backup.keeep", 2), ("backup.every_h", 3), ("backup.colour", 4)]
    assert "did you mean 'keep'" in problems[0].allowed and "allowed: 'interval_h', 'keep'" in problems[2].allowed


def test_a_gate_mistake_names_the_gate_field_and_its_line(tmp_path):
    text = ("[panel]\n[[panel.gates]]\npin = 5\nposition_m = 0\n[[panel.gates]]\npin = 99\nposition_m = 3\n"
            "[[panel.gates]]\npin = 6\nposition_m = 101\nwidth_cm = 2\n")
    problems = problems_of(write(tmp_path, text))
    assert [(p.key, p.line) for p in problems] == [
        ("panel.gates[1].pin", 6), ("panel.gates[2].position_m", 10), ("panel.gates[2].width_cm", 11)]
    assert str(problems[0]).endswith("panel.gates[1].pin = 99: allowed: a BCM GPIO number from 0 to 27 (not a header pin number)")
    assert "a number from 0 to 100 m from the start line" in problems[1].allowed
    assert problems[2].allowed == "unknown field; allowed: 'pin', 'position_m'"


def test_the_configuration_uses_the_checks_protocols_and_programmes_use(tmp_path):
    """One mechanism: the same range check words a programme's and the configuration's mistake."""
    from station.tomlschema import Table, number_check

    (problem,) = problems_of(write(tmp_path, "[plate]\nwidth_cm = 300\n"))
    with pytest.raises(Exception) as info:
        Table("p.toml", "schedule", {"width_cm": 300}).number("width_cm", lo=5.0, hi=200.0, unit="cm")
    assert problem.allowed == "allowed: a number from 5 to 200 cm"
    assert str(info.value).endswith("300 is out of range; " + problem.allowed)
    with pytest.raises(Exception, match="a number from 5 to 200 cm"):
        number_check(5.0, 200.0, unit="cm")(300)


def test_a_section_that_is_not_a_table(tmp_path):
    (problem,) = problems_of(write(tmp_path, 'plate = "big"\n'))
    assert (problem.key, problem.line) == ("plate", 1)
    assert "[plate]" in problem.allowed


def test_dotted_keys_and_inline_tables_get_lines(tmp_path):
    text = 'data_dir = "x"\nplate.adc_gain = 3\nweb = { port = 0 }\n'
    problems = problems_of(write(tmp_path, text))
    assert [(p.key, p.line) for p in problems] == [("plate.adc_gain", 2), ("web.port", 3)]


def test_lines_are_found_after_multiline_strings_and_arrays():
    text = '''a = """
[plate]
width_cm = 1
"""
b = [
  1, # ] not the end
  "]",
]
[plate] # comment
width_cm = 2
'''
    lines = key_lines(text)
    assert lines[("a",)] == 1
    assert lines[("b",)] == 5
    assert lines[("plate",)] == 9
    assert lines[("plate", "width_cm")] == 10


def test_cross_checks_point_at_the_key_the_file_sets(tmp_path):
    path = write(
        tmp_path,
        "[plate]\nadc_rate_sps = 80\n[acquisition]\nrate_hz = 100\n"
        '[imu]\nmodel = "mpu6050"\naddress = 0x6A\n'
        "[panel]\nled_pin = 17\n[web]\nport = 443\ntls_cert = \"c.pem\"\n",
    )
    problems = {p.key: p for p in problems_of(path)}
    assert problems["acquisition.rate_hz"].line == 4
    assert "plate.adc_rate_sps = 80" in problems["acquisition.rate_hz"].allowed
    assert problems["imu.address"].line == 7 and "0x68, 0x69" in problems["imu.address"].allowed
    assert str(problems["imu.address"]).endswith('allowed for imu.model = "mpu6050": 0x68, 0x69 or "auto"')
    assert "= 0x6A:" in str(problems["imu.address"])
    assert problems["panel.led_pin"].line == 9 and "panel.button_pin uses GPIO 17" in problems["panel.led_pin"].allowed
    assert problems["web.port"].line == 11 and "web.https_port" in problems["web.port"].allowed
    # the missing key is reported at the line of the key that needs it
    assert problems["web.tls_key"].line == 12 and problems["web.tls_key"].value is None
    assert set(problems) == {"acquisition.rate_hz", "imu.address", "panel.led_pin", "web.port", "web.tls_key"}


def test_ring_must_hold_ten_seconds(tmp_path):
    (problem,) = problems_of(write(tmp_path, "[acquisition]\nrate_hz = 100\nring_frames = 999\n"))
    assert (problem.key, problem.line) == ("acquisition.ring_frames", 3)
    assert "at least 1000 frames" in problem.allowed


def test_an_invalid_key_does_not_cause_follow_up_errors(tmp_path):
    # button_pin = 2 is refused; its default (17) must not then "collide" with led_pin = 17
    (problem,) = problems_of(write(tmp_path, "[panel]\nbutton_pin = 2\nled_pin = 17\n"))
    assert problem.key == "panel.button_pin"


def test_syntax_error_gives_the_line(tmp_path):
    path = write(tmp_path, "[plate]\nwidth_cm = 40\ndepth_cm = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_station_config(path)
    (problem,) = info.value.problems
    assert problem.line == 3 and "not valid TOML" in problem.allowed
    assert str(info.value).startswith(f"{path}:3: not valid TOML")


def test_missing_unreadable_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_station_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_station_config(tmp_path)
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"a = 1\n\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_station_config(binary)
    assert info.value.problems[0].line == 2


# -- show -----------------------------------------------------------------------------------------


def test_show_output_is_toml_that_loads_back_to_the_same_config(tmp_path):
    path = write(tmp_path, '[plate]\nwidth_cm = 52.5\nmux_address = 0x72\n[imu]\nmodel = "none"\n')
    loaded = load_config(path)
    text = to_toml(effective_values(loaded.config), loaded.keys_in_file)
    assert "mux_address = 0x72\n" in text
    assert "width_cm = 52.5\n" in text
    assert "depth_cm = 40.0  # default\n" in text
    again = write(tmp_path, text, "again.toml")
    assert load_station_config(again) == dataclasses.replace(loaded.config, data_dir=again.parent / "data")


def test_secrets_are_hidden_by_show(monkeypatch):
    spec = config_file._SCHEMA["web"][1]["tls_key"]
    monkeypatch.setitem(config_file._SCHEMA["web"][1], "tls_key", dataclasses.replace(spec, secret=True))
    config = StationConfig()
    config = dataclasses.replace(config, web=dataclasses.replace(config.web, tls_cert=Path("/c"), tls_key=Path("/k")))
    assert effective_values(config)["web"]["tls_key"] == config_file.HIDDEN
    assert effective_values(config, hide_secrets=False)["web"]["tls_key"] == "/k"
    assert "web.tls_key" in config_file.secret_keys()


def test_schema_must_cover_every_dataclass_field(monkeypatch):
    keys = dict(config_file._SCHEMA["backup"][1])
    del keys["keep"]
    monkeypatch.setitem(config_file._SCHEMA, "backup", (config_file._SCHEMA["backup"][0], keys))
    with pytest.raises(RuntimeError, match="keep"):
        config_file._check_schema_covers_dataclasses()


# -- the commands ---------------------------------------------------------------------------------


def test_config_check_exit_status_and_messages(tmp_path, capsys):
    good = write(tmp_path, "[plate]\nwidth_cm = 41\n", "good.toml")
    assert main(["config", "check", "--config", str(good)]) == 0
    assert f"{good}: valid" in capsys.readouterr().out
    bad = write(tmp_path, "[plate]\nwidth_cm = 41\nadc_gain = 3\n", "bad.toml")
    assert main(["config", "check", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: plate.adc_gain = 3: allowed: one of 1, 2, 4" in err
    assert "Traceback" not in err


def test_config_check_refuses_a_token_other_users_may_read(tmp_path, capsys):
    path = write(tmp_path, '[hub]\nurl = "https://hub.example:8443"\ntoken = "bst_0123456789abcdef"\n', "hub.toml")
    path.chmod(0o644)
    assert main(["config", "check", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "holds [hub] token but is readable by every user (mode 0644)" in err and f"chmod 600 {path}" in err
    assert "bst_0123456789abcdef" not in err and "Traceback" not in err
    path.chmod(0o600)
    assert main(["config", "check", "--config", str(path)]) == 0
    assert f"{path}: valid" in capsys.readouterr().out


def test_config_option_before_or_after_the_command(tmp_path, capsys):
    path = write(tmp_path, "[plate]\nwidth_cm = 41.5\n")
    for argv in (["--config", str(path), "config", "show", "--json"], ["config", "show", "--json", "--config", str(path)],
                 ["config", "--config", str(path), "show", "--json"]):
        assert main(argv) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["file"] == str(path)
        assert doc["config"]["plate"]["width_cm"] == 41.5


def test_config_from_environment(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "[backup]\nkeep = 3\n")
    monkeypatch.setenv("BALANCE_STATION_CONFIG", str(path))
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert f"from {path}" in out
    assert "keep = 3\n" in out
    tomllib.loads(out)  # the whole output is valid TOML


def test_every_command_accepts_config():
    from station.cli import build_parser

    parser = build_parser()

    def leaves(p, path=()):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            yield path, p
        for action in subs:
            for name, sub in action.choices.items():
                yield from leaves(sub, path + (name,))

    found = list(leaves(parser))
    assert len(found) >= 4
    for path, sub in found:
        assert "--config" in sub._option_string_actions, path


def test_the_imu_must_give_each_frame_two_samples_or_more(tmp_path):
    # 104 Hz into 100-Hz frames jittered the frames' times and the steps' (outside review, 2026-12-05)
    (problem,) = problems_of(write(tmp_path, "[imu]\nrate_hz = 104\n"))
    assert (problem.key, problem.line) == ("imu.rate_hz", 2)
    assert problem.allowed.startswith("allowed: at least twice acquisition.rate_hz = 100 Hz")
    # a faster frame rate set in the file is what is blamed, with what to do
    (problem,) = problems_of(write(tmp_path, "[plate]\nadc_rate_sps = 320\n[acquisition]\nrate_hz = 200\n"))
    assert (problem.key, problem.line) == ("acquisition.rate_hz", 4)
    assert problem.allowed.startswith("allowed: at most half imu.rate_hz = 208 Hz") and "raise imu.rate_hz" in problem.allowed
    assert load_station_config(write(tmp_path, "[imu]\nrate_hz = 208\n")).imu.rate_hz == 208.0
    assert load_station_config(write(tmp_path, '[imu]\nmodel = "none"\nrate_hz = 104\n')).imu.model == "none"  # no IMU
