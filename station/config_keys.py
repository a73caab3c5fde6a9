"""Every key of the station's configuration file: how each value is checked and shown, and the
checks that involve more than one key (used by :mod:`station.config_file` and
:mod:`station.config_show`).

A key's check returns the value to keep or raises :class:`station.tomlschema.Invalid` saying what is
allowed (the mechanism every hand-written TOML file of the station is validated with). A
section's keys must match its dataclass's fields exactly (checked at import), so a field added to
:mod:`station.config` cannot be forgotten here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.config import (
    PLATE_SIZE_RANGE_CM,
    AcquisitionConfig,
    BackupConfig,
    ClinicConfig,
    GateConfig,
    HubConfig,
    ImuConfig,
    PanelConfig,
    PlateConfig,
    StationConfig,
    WebConfig,
)
from station.store.timefmt import time_zone
from station.tomlschema import INVALID, Invalid, Table, choice_check, integer_check, integer_choice_check, number_check

# Every check takes the value found and returns what to keep, or raises Invalid saying what is
# allowed: the checks of station.tomlschema (shared with protocols and programme templates) and
# the station's own below. station.config_file applies them with a collecting tomlschema.Table.
_Invalid = Invalid


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool)


def _int_range(lo: int, hi: int, unit: str = "") -> Callable[[Any], int]:
    return integer_check(lo, hi, unit=unit)


def _int_choice(choices: tuple[int, ...], unit: str = "") -> Callable[[Any], int]:
    return integer_choice_check(choices, unit=unit)


def _float_range(lo: float, hi: float, unit: str, *, lo_open: bool = False) -> Callable[[Any], float]:
    return number_check(lo, hi, unit=unit, lo_open=lo_open)


def _str_choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    return choice_check(choices)


def _address(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if not _is_int(raw) or not lo <= raw <= hi:
            raise _Invalid(f"an I2C address from 0x{lo:02X} to 0x{hi:02X} (write it as hex, e.g. 0x{lo:02X})")
        return raw

    return parse


_MOUNTING_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
_IMU_ADDRESSES = {"lsm6dsox": (0x6A, 0x6B), "mpu6050": (0x68, 0x69)}


def _imu_address(raw: Any) -> int | None:
    allowed = sorted(a for pair in _IMU_ADDRESSES.values() for a in pair)
    if raw == "auto":
        return None
    if not _is_int(raw) or raw not in allowed:
        raise _Invalid(
            '"auto" (probe the chip\'s usual addresses) or one of '
            + ", ".join(f"0x{a:02X}" for a in allowed)
        )
    return raw


def _mux_channels(raw: Any) -> tuple[int, int, int, int]:
    allowed = "four different mux channels 0-7, for the corners FL, FR, BL, BR in that order"
    if not isinstance(raw, list) or len(raw) != 4:
        raise _Invalid(allowed)
    if not all(_is_int(c) and 0 <= c <= 7 for c in raw) or len(set(raw)) != 4:
        raise _Invalid(allowed)
    return (raw[0], raw[1], raw[2], raw[3])


def _gpio_pin(raw: Any) -> int:
    if not _is_int(raw) or not 0 <= raw <= 27:
        raise _Invalid("a BCM GPIO number from 0 to 27 (not a header pin number)")
    if raw in _RESERVED_PINS:
        raise _Invalid(f"a free BCM GPIO: GPIO {raw} is {_RESERVED_PINS[raw]}")
    return raw


MAX_GATES = 16
GATE_POSITION_TOLERANCE_M = 0.005
"""Two gate positions this close or closer are one place, m: a walk finds the gate it needs by
its position within this (station.hw.gates.GateArray.index_at), so the configuration refuses two
gates that close."""


def _read_gates(table: Table, name: str, absent: Any) -> Any:
    """``[[panel.gates]]`` tables, each ``pin`` (BCM GPIO) and ``position_m`` (along the walkway),
    read with the table's accessors so each mistake names the gate's field and line
    (``panel.gates[1].pin``); ``absent`` when the file has none, INVALID when one is wrong."""
    allowed = ("an array of tables [[panel.gates]], each with pin = <BCM GPIO> and position_m = <metres from the "
               f"start line, 0-100>, at most {MAX_GATES} gates, no two at the same position or on the same pin "
               f"(gates {GATE_POSITION_TOLERANCE_M * 1000:g} mm or less apart are at the same position); [] for none")

    def shape(raw: Any) -> list:
        if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw) or len(raw) > MAX_GATES:
            raise Invalid(allowed)
        return raw

    raw = table.value(name, shape, required=False, default=absent)
    if raw is absent or raw is INVALID:
        return raw
    mistakes = len(table.collect) if table.collect is not None else 0
    gates = []
    for gate in table.array_of_tables(name):
        pin = gate.value("pin", _gpio_pin)
        position_m = gate.number("position_m", lo=0.0, hi=100.0, unit="m from the start line")
        gate.finish()
        if pin is not INVALID and position_m is not INVALID:
            gates.append(GateConfig(pin=pin, position_m=position_m))
    if table.collect is not None and len(table.collect) > mistakes:
        return INVALID
    for i, one in enumerate(gates):
        for j in range(i + 1, len(gates)):
            other = gates[j]
            both = f"panel.gates[{i}] (GPIO {one.pin}, {one.position_m:g} m) and panel.gates[{j}] (GPIO {other.pin}, " \
                   f"{other.position_m:g} m)"
            apart_mm = abs(one.position_m - other.position_m) * 1000
            if one.pin == other.pin:
                problem = f"{both} share a pin"
            elif apart_mm <= GATE_POSITION_TOLERANCE_M * 1000:
                problem = (f"{both} are {apart_mm:.3g} mm apart: the station takes gates "
                           f"{GATE_POSITION_TOLERANCE_M * 1000:g} mm or less apart for one place")
            else:
                continue
            return table.record(table.error(name, problem, allowed=allowed, value=raw))
    return tuple(sorted(gates, key=lambda g: g.position_m))


def _dump_gates(gates: tuple[GateConfig, ...]) -> list[dict]:
    return [{"pin": g.pin, "position_m": g.position_m} for g in gates]


_RESERVED_PINS = {
    0: "the HAT EEPROM's I2C data (ID_SD)",
    1: "the HAT EEPROM's I2C clock (ID_SC)",
    2: "I2C1 SDA, used by the plate",
    3: "I2C1 SCL, used by the plate",
}


def _host(raw: Any) -> str:
    allowed = 'an IP address to listen on ("127.0.0.1" behind the HTTPS proxy, "0.0.0.0" for all)'
    if not isinstance(raw, str):
        raise _Invalid(allowed)
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if raw != "localhost":
            raise _Invalid(allowed) from None
    return raw


_HOST_NAME_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*", re.ASCII)


def _host_names(raw: Any) -> tuple[str, ...]:
    allowed = ('a list of the names the station is opened by besides its own (its IP addresses, localhost, '
               'its host name and <host name>.local are always answered), e.g. ["balance-hub.clinic.lan"]: '
               'names only, no "https://", port or path')
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise _Invalid(allowed)
    names = tuple(n.strip().lower().rstrip(".") for n in raw)
    if not all(len(n) <= 253 and _HOST_NAME_RE.fullmatch(n) for n in names):
        raise _Invalid(allowed)
    return names


def _port(raw: Any) -> int:
    if not _is_int(raw) or not 1 <= raw <= 65535:
        raise _Invalid("a TCP port from 1 to 65535")
    return raw


def _path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or "\0" in raw:
        raise _Invalid("a non-empty path (relative paths are relative to this file's directory)")
    return raw


def _optional_path(raw: Any) -> str | None:
    if raw == "":
        return None
    if not isinstance(raw, str) or "\0" in raw:
        raise _Invalid('a path, or "" for none (relative paths are relative to this file\'s directory)')
    return raw


def _hub_url(raw: Any) -> str:
    from station.sync.client import check_hub_url

    allowed = 'the hub\'s https:// URL (http:// only to localhost), or "" for none'
    if raw == "":
        return ""
    if not isinstance(raw, str):
        raise _Invalid(allowed)
    try:
        return check_hub_url(raw)
    except ValueError:
        raise _Invalid(allowed) from None


def _hub_token(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) > 200 or any(ord(c) <= 32 or ord(c) == 127 for c in raw):
        raise _Invalid('the station token printed by `balance-station hub stations add NAME` ("" for none)')
    return raw


CLINIC_NAME_MAX_CHARS = 100
LOGO_MAX_BYTES = 2 * 1024 * 1024
"""Largest clinic logo accepted (a report embeds it in every PDF)."""


def _clinic_name(raw: Any) -> str:
    allowed = f'the clinic\'s name as reports print it: text of at most {CLINIC_NAME_MAX_CHARS} characters, one line ("" for none)'
    if not isinstance(raw, str) or len(raw) > CLINIC_NAME_MAX_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise _Invalid(allowed)
    return raw.strip()


def _time_zone(raw: Any) -> str:
    if raw == "":
        return ""
    allowed = ('an IANA time zone name such as "Australia/Sydney" or "Europe/Berlin" (`timedatectl list-timezones`), '
               'or "" for the system\'s')
    if not isinstance(raw, str):
        raise _Invalid(allowed)
    try:
        time_zone(raw)
    except ValueError:
        raise _Invalid(allowed + "; the system has no zone of this name") from None
    return raw


def logo_problem(path: Path) -> str | None:
    """Why the file at ``path`` cannot be the clinic's logo (None when it can): it must be a
    readable PNG or JPEG of at most :data:`LOGO_MAX_BYTES`."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        return "no such file; give the path of a PNG or JPEG image"
    except IsADirectoryError:
        return "this is a directory; give the path of a PNG or JPEG image"
    except OSError as exc:
        return f"cannot read it ({exc.strerror}); check the path and its permissions"
    if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
        return "not a PNG or JPEG image; save the logo as PNG or JPEG"
    if size > LOGO_MAX_BYTES:
        return f"{size} bytes is too large for a logo (at most {LOGO_MAX_BYTES // (1024 * 1024)} MB); make it smaller"
    return None


@dataclass(frozen=True)
class _Key:
    """One key: its check (a :class:`~station.tomlschema.Table` applies it), or ``read`` taking the
    key out of its section's table itself (``read(table, name, absent)``: a key made of tables);
    how ``config show`` writes it; whether it is a path (relative to the file) or a secret."""

    parse: Callable[[Any], Any] | None
    dump: Callable[[Any], Any] = lambda value: value
    path: bool = False
    secret: bool = False
    read: Callable[[Table, str, Any], Any] | None = None


def _dump_optional_path(value: Path | None) -> str:
    return "" if value is None else str(value)


def _dump_imu_address(value: int | None) -> Any:
    return "auto" if value is None else value


# Every key of the file. A section's keys must match its dataclass's fields exactly (checked at
# import below), so a field added to station.config cannot be forgotten here.
_SCHEMA: dict[str, tuple[type, dict[str, _Key]]] = {
    "plate": (
        PlateConfig,
        {
            "front_end": _Key(_str_choice(("nau7802", "rp2040"))),
            "rp2040_address": _Key(_address(0x08, 0x77)),
            "width_cm": _Key(_float_range(*PLATE_SIZE_RANGE_CM, "cm")),
            "depth_cm": _Key(_float_range(*PLATE_SIZE_RANGE_CM, "cm")),
            "mux_address": _Key(_address(0x70, 0x77)),
            "mux_channels": _Key(_mux_channels, dump=list),
            "adc_rate_sps": _Key(_int_choice((10, 20, 40, 80, 320), "samples/s (NAU7802 rates)")),
            "adc_gain": _Key(_int_choice((1, 2, 4, 8, 16, 32, 64, 128), "(NAU7802 PGA gains)")),
            "load_cell_capacity_kg": _Key(_float_range(0.0, 2000.0, "kg", lo_open=True)),
            "load_cell_rated_output_mv_v": _Key(_float_range(0.0, 10.0, "mV/V", lo_open=True)),
            "cop_min_force_n": _Key(_float_range(0.0, 5000.0, "N")),
        },
    ),
    "imu": (
        ImuConfig,
        {
            "model": _Key(_str_choice(("auto", "lsm6dsox", "mpu6050", "none"))),
            "address": _Key(_imu_address, dump=_dump_imu_address),
            "rate_hz": _Key(_float_range(1.0, 1000.0, "Hz")),
            "accel_range_g": _Key(_int_choice((2, 4, 8, 16), "g")),
            "gyro_range_dps": _Key(_int_choice((125, 250, 500, 1000, 2000), "deg/s")),
            "mounting_up": _Key(_str_choice(_MOUNTING_AXES)),
            "mounting_toes": _Key(_str_choice(_MOUNTING_AXES)),
        },
    ),
    "acquisition": (
        AcquisitionConfig,
        {
            "bus": _Key(_int_range(0, 255, "(the N of /dev/i2c-N; 1 on a Raspberry Pi)")),
            "bus_clock_hz": _Key(_int_range(10_000, 400_000, "Hz (400000 is the chips' fast mode)")),
            "rate_hz": _Key(_float_range(1.0, 1000.0, "Hz")),
            "ring_frames": _Key(_int_range(2, 1_048_576, "frames")),
        },
    ),
    "panel": (
        PanelConfig,
        {
            "button_pin": _Key(_gpio_pin),
            "buzzer_pin": _Key(_gpio_pin),
            "led_pin": _Key(_gpio_pin),
            "gates": _Key(None, dump=_dump_gates, read=_read_gates),
        },
    ),
    "web": (
        WebConfig,
        {
            "host": _Key(_host),
            "port": _Key(_port),
            "tls_cert": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "tls_key": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "https_port": _Key(_port),
            "http_redirect_port": _Key(_port),
            "host_names": _Key(_host_names, dump=list),
            "session_timeout_min": _Key(_float_range(1.0, 24 * 60.0, "min")),
        },
    ),
    "backup": (
        BackupConfig,
        {
            "interval_h": _Key(_float_range(0.25, 24 * 31.0, "h")),
            "keep": _Key(_int_range(1, 10_000, "backups")),
        },
    ),
    "clinic": (
        ClinicConfig,
        {
            "name": _Key(_clinic_name),
            "logo": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "paper": _Key(_str_choice(("a4", "letter"))),
            "time_zone": _Key(_time_zone),
        },
    ),
    "hub": (
        HubConfig,
        {
            "url": _Key(_hub_url),
            "token": _Key(_hub_token, secret=True),
            "ca_file": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "interval_s": _Key(_float_range(1.0, 24 * 3600.0, "s")),
        },
    ),
}
_TOP_LEVEL: dict[str, _Key] = {"data_dir": _Key(_path, path=True)}


def _check_schema_covers_dataclasses() -> None:
    for section, (cls, keys) in _SCHEMA.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        if fields != set(keys):
            raise RuntimeError(
                f"station.config_file: [{section}] keys {sorted(keys)} do not match "
                f"{cls.__name__} fields {sorted(fields)}"
            )
    top = {f.name for f in dataclasses.fields(StationConfig)} - set(_SCHEMA)
    if top != set(_TOP_LEVEL):
        raise RuntimeError(f"station.config_file: top-level keys {sorted(_TOP_LEVEL)} != {sorted(top)}")


_check_schema_covers_dataclasses()


def secret_keys() -> frozenset[str]:
    """Dotted names of the keys whose values ``config show`` hides."""
    names = {k for k, spec in _TOP_LEVEL.items() if spec.secret}
    for section, (_cls, keys) in _SCHEMA.items():
        names.update(f"{section}.{k}" for k, spec in keys.items() if spec.secret)
    return frozenset(names)


_HEX_KEYS = {"plate.mux_address", "plate.rp2040_address", "imu.address"}


_Key2 = tuple[str, ...]


def _cross_checks(config: StationConfig, keys_in_file: set[str]) -> list[tuple[_Key2, Any, str, _Key2 | None]]:
    """Checks that involve more than one key: (key, value, what is allowed, the related key)."""
    out: list[tuple[_Key2, Any, str, _Key2 | None]] = []

    def file_last(section: str, names: list[str]) -> list[str]:
        # Among keys that collide, blame the one the file sets: defaults claim values first.
        return sorted(names, key=lambda n: f"{section}.{n}" in keys_in_file)
    plate, imu, acq, panel, web = config.plate, config.imu, config.acquisition, config.panel, config.web

    if acq.rate_hz > plate.adc_rate_sps:
        out.append(
            (
                ("acquisition", "rate_hz"),
                acq.rate_hz,
                f"allowed: at most plate.adc_rate_sps = {plate.adc_rate_sps} (a faster frame rate "
                "only repeats stale corner values); raise the ADC rate or lower the frame rate",
                ("plate", "adc_rate_sps"),
            )
        )
    if imu.model != "none" and imu.rate_hz < 2 * acq.rate_hz:
        why = ("each frame averages the IMU samples of its period; at fewer than two a frame holds one, "
               "sometimes none or two, and the frames' times jitter by up to a sample period: step times "
               "moved by 40-60 ms")
        if "acquisition.rate_hz" in keys_in_file and "imu.rate_hz" not in keys_in_file:
            out.append((("acquisition", "rate_hz"), acq.rate_hz,
                        f"allowed: at most half imu.rate_hz = {imu.rate_hz:g} Hz ({why}); raise imu.rate_hz",
                        ("imu", "rate_hz")))
        else:
            out.append((("imu", "rate_hz"), imu.rate_hz,
                        f"allowed: at least twice acquisition.rate_hz = {acq.rate_hz:g} Hz ({why}); 208 Hz at "
                        "100-Hz frames", ("acquisition", "rate_hz")))
    if plate.front_end == "rp2040" and plate.adc_rate_sps not in (10, 20, 80, 320):
        out.append((("plate", "adc_rate_sps"), plate.adc_rate_sps,
                    'allowed with plate.front_end = "rp2040": 10 or 80 (HX711), 10, 20, 80 or 320 (HX717)',
                    ("plate", "front_end")))
    if plate.front_end == "rp2040" and plate.adc_gain not in (64, 128):
        out.append((("plate", "adc_gain"), plate.adc_gain,
                    'allowed with plate.front_end = "rp2040": 128 or 64 (HX711 channel A)', ("plate", "front_end")))
    min_ring = int(10 * acq.rate_hz)
    if acq.ring_frames < min_ring:
        out.append(
            (
                ("acquisition", "ring_frames"),
                acq.ring_frames,
                f"allowed: at least {min_ring} frames (10 s at acquisition.rate_hz = {acq.rate_hz:g}), "
                "so a reader that pauses does not lose frames",
                ("acquisition", "rate_hz"),
            )
        )
    if imu.model in _IMU_ADDRESSES and imu.address is not None and imu.address not in _IMU_ADDRESSES[imu.model]:
        addresses = ", ".join(f"0x{a:02X}" for a in _IMU_ADDRESSES[imu.model])
        out.append(
            (("imu", "address"), imu.address, f'allowed for imu.model = "{imu.model}": {addresses} or "auto"', ("imu", "model"))
        )
    if imu.mounting_up[1] == imu.mounting_toes[1]:
        first, second = file_last("imu", ["mounting_up", "mounting_toes"])
        out.append(
            (
                ("imu", second),
                getattr(imu, second),
                f"allowed: a sensor axis other than imu.{first}'s ({getattr(imu, first)}): up and toes are "
                "perpendicular",
                ("imu", first),
            )
        )
    if imu.model == "mpu6050" and imu.gyro_range_dps == 125:
        out.append(
            (
                ("imu", "gyro_range_dps"),
                imu.gyro_range_dps,
                'allowed for imu.model = "mpu6050": 250, 500, 1000, 2000 deg/s',
                ("imu", "model"),
            )
        )
    pins: dict[int, str] = {}
    panel_pins = [(name, getattr(panel, name)) for name in ("button_pin", "buzzer_pin", "led_pin")]
    panel_pins += [(f"gates[{i}].pin", gate.pin) for i, gate in enumerate(panel.gates)]
    for name in file_last("panel", [name for name, _ in panel_pins]):
        pin = dict(panel_pins)[name]
        if pin in pins:
            key = "gates" if name.startswith("gates[") else name
            other = "gates" if pins[pin].startswith("gates[") else pins[pin]
            out.append(
                (
                    ("panel", key),
                    pin,
                    f"allowed: a GPIO not used by another panel device (panel.{pins[pin]} uses GPIO {pin})",
                    ("panel", other),
                )
            )
        else:
            pins[pin] = name
    ports: dict[int, str] = {}
    for name in file_last("web", ["port", "https_port", "http_redirect_port"]):
        port = getattr(web, name)
        if port in ports:
            out.append(
                (
                    ("web", name),
                    port,
                    f"allowed: a port not used by web.{ports[port]} (both would listen on {port})",
                    ("web", ports[port]),
                )
            )
        else:
            ports[port] = name
    if config.clinic.logo is not None:
        problem = logo_problem(Path(config.clinic.logo))
        if problem is not None:
            out.append((("clinic", "logo"), str(config.clinic.logo), f"allowed: a PNG or JPEG file: {problem}", None))
    if (web.tls_cert is None) != (web.tls_key is None):
        missing = "tls_key" if web.tls_key is None else "tls_cert"
        present = "tls_cert" if missing == "tls_key" else "tls_key"
        out.append(
            (
                ("web", missing),
                None,
                f"allowed: a path whenever web.{present} is set (a certificate needs its key and the "
                "key its certificate); set both or neither",
                ("web", present),
            )
        )
    return out
