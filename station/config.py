"""The station's configuration as typed, frozen dataclasses.

Every part of the station reads its settings from a :class:`StationConfig`; the defaults here are
the development defaults (a laptop with simulated hardware). Loading and validating the TOML file
(``/etc/balance-station/station.toml`` when installed) lives in :mod:`station.config_file`.
Units are in the names (DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CORNERS = ("fl", "fr", "bl", "br")
"""Corner order used everywhere: front-left, front-right, back-left, back-right."""


PLATE_SIZE_RANGE_CM = (5.0, 200.0)
"""The plate sizes (``width_cm``, ``depth_cm``) the configuration accepts, cm."""


@dataclass(frozen=True)
class PlateConfig:
    """Force plate geometry and front end.

    ``width_cm``: distance between left and right load-cell centres; ``depth_cm``: between front
    and back ones (DESIGN.md §4). Four NAU7802 ADCs (fixed address 0x2A) sit behind a TCA9548A
    mux; ``mux_channels`` gives the mux channel of FL, FR, BL, BR.
    """

    width_cm: float = 40.0
    depth_cm: float = 40.0
    mux_address: int = 0x70
    mux_channels: tuple[int, int, int, int] = (0, 1, 2, 3)
    adc_rate_sps: int = 320
    adc_gain: int = 128
    # Nominal load cells, used until a calibration exists (e.g. 50 kg half-bridge pairs, 1.0 mV/V).
    load_cell_capacity_kg: float = 50.0
    load_cell_rated_output_mv_v: float = 1.0
    # COP is undefined (NaN) below this total force; COP from a lightly loaded plate is unreliable.
    cop_min_force_n: float = 200.0
    # Load-cell front end: "nau7802" = four NAU7802 ADCs behind the TCA9548A on the Pi's I2C bus;
    # "rp2040" = four HX711/HX717 boards read at once by an RP2040 (firmware/rp2040), an I2C
    # target at rp2040_address (then adc_rate_sps is the boards' RATE pin setting, adc_gain 128 or 64).
    front_end: str = "nau7802"
    rp2040_address: int = 0x42


@dataclass(frozen=True)
class ImuConfig:
    """IMU worn at the lower back. ``model``: ``auto`` (detect by WHO_AM_I), ``lsm6dsox``,
    ``mpu6050`` or ``none``; ``address`` ``None`` means probe the chip's usual addresses.
    ``mounting_up`` / ``mounting_toes``: the sensor axes (``"+x"``, ``"-z"``, ...) that point up and
    toward the toes when the sensor is worn (DESIGN.md §8); checked against gravity at every trial.
    ``rate_hz``: at least twice ``acquisition.rate_hz``: a frame's IMU value is the mean of the samples
    in its period (station.acquire.loop), and at 104 Hz into 100-Hz frames a frame held one sample,
    now and then none or two, so the frames' times jittered by up to a sample period and the
    heel impacts' steepest rise moved: a fast walk's step-time CV read 9 % for a true 2 %."""

    model: str = "auto"
    address: int | None = None
    rate_hz: float = 208.0
    accel_range_g: int = 4
    gyro_range_dps: int = 500
    mounting_up: str = "+x"
    mounting_toes: str = "+z"


@dataclass(frozen=True)
class AcquisitionConfig:
    """The acquisition process: I2C bus number and clock, frame rate, shared-memory ring size."""

    bus: int = 1
    bus_clock_hz: int = 400_000
    rate_hz: float = 100.0
    ring_frames: int = 16_384
    """Frames kept in the shared-memory ring (140 B each): 164 s at 100 Hz, 51 s at 320 Hz. Readers
    poll every few tens of ms; a larger ring only costs the acquisition process memory."""


@dataclass(frozen=True)
class GateConfig:
    """One light gate of the walkway: the BCM GPIO of its receiver's output (low while the beam
    is broken) and its position along the walkway, m from the start line."""

    pin: int
    position_m: float


@dataclass(frozen=True)
class PanelConfig:
    """Station panel on GPIO (BCM numbering): start button / foot switch, buzzer, status LED,
    and the light gates of walk tests (any number, each with its pin and position; a walk
    protocol uses the gates at the positions it needs)."""

    button_pin: int = 17
    buzzer_pin: int = 27
    led_pin: int = 22
    gates: tuple[GateConfig, ...] = (GateConfig(pin=5, position_m=0.0), GateConfig(pin=6, position_m=3.0))


@dataclass(frozen=True)
class WebConfig:
    """Web server bind address, TLS files and session policy."""

    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: Path | None = None
    tls_key: Path | None = None
    session_timeout_min: float = 15.0
    # Ports of the TLS-terminating proxy in front of the web server (nginx, set up by
    # systemd/install.sh): HTTPS for the tablet, and plain HTTP that only redirects to HTTPS.
    https_port: int = 443
    http_redirect_port: int = 80
    # Names the station (or hub) is opened by besides its own, which it always answers: IP
    # addresses, localhost, its host name and <host name>.local (web.security.own_host).
    host_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackupConfig:
    """Online SQLite backups into the data directory."""

    interval_h: float = 24.0
    keep: int = 14


@dataclass(frozen=True)
class ClinicConfig:
    """The clinic, as its reports show it: ``name`` (the dashboard's clinic-name setting, when an
    administrator saves one, takes precedence), ``logo``, a PNG or JPEG file printed in the
    header of PDF reports (``None``: no logo), ``paper``, the reports' paper size unless one
    is asked for (``a4`` or ``letter``), and ``time_zone``, the IANA zone reports and pages date in
    (``Australia/Sydney``; "" for the system's, :func:`station.store.timefmt.use_time_zone`)."""

    name: str = ""
    logo: Path | None = None
    paper: str = "a4"
    time_zone: str = ""


@dataclass(frozen=True)
class HubConfig:
    """The clinic network's hub this station syncs to (:mod:`station.sync`): ``url`` ("" for none:
    the station works alone), ``token`` (from ``balance-station hub stations add NAME`` on the hub),
    ``ca_file`` (the CA that signed the hub's certificate, when not a public one), ``interval_s``
    between syncs while the hub answers."""

    url: str = ""
    token: str = ""
    ca_file: Path | None = None
    interval_s: float = 30.0


@dataclass(frozen=True)
class StationConfig:
    """Everything the station needs to start."""

    data_dir: Path = Path("./data")
    plate: PlateConfig = field(default_factory=PlateConfig)
    imu: ImuConfig = field(default_factory=ImuConfig)
    acquisition: AcquisitionConfig = field(default_factory=AcquisitionConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)
    web: WebConfig = field(default_factory=WebConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    clinic: ClinicConfig = field(default_factory=ClinicConfig)
    hub: HubConfig = field(default_factory=HubConfig)
