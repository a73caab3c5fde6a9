"""The wiring guide and its diagram agree with the configuration defaults and with each other."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

from station.config import ImuConfig, PanelConfig, PlateConfig
from station.config_file import load_station_config

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = (DOCS / "wiring.md").read_text(encoding="utf-8")
SVG = (DOCS / "wiring.svg").read_text(encoding="utf-8")


def test_the_svg_is_what_the_drawing_script_makes(tmp_path):
    out = tmp_path / "wiring.svg"
    subprocess.run([sys.executable, str(DOCS / "wiring-diagram.py"), str(out)], check=True)
    assert out.read_text(encoding="utf-8") == SVG, "docs/wiring.svg is stale: run python3 docs/wiring-diagram.py"
    xml.dom.minidom.parseString(SVG)  # well-formed
    assert "![Wiring diagram](wiring.svg)" in GUIDE


def test_panel_pins_in_the_guide_and_diagram_are_the_defaults():
    panel = PanelConfig()
    installed = load_station_config(DOCS.parent / "systemd" / "station.toml").panel
    for name in ("button_pin", "buzzer_pin", "led_pin"):
        pin = getattr(panel, name)
        assert getattr(installed, name) == pin
        rows = [row for row in GUIDE.splitlines() if f"`panel.{name} = " in row]
        assert len(rows) == 1, name
        assert f"`panel.{name} = {pin}`" in rows[0] and f"| GPIO{pin} |" in rows[0]
        assert re.search(rf"GPIO{pin}\b", SVG), f"GPIO{pin} missing from the diagram"
    assert installed.gates == panel.gates
    for i, gate in enumerate(panel.gates):
        rows = [row for row in GUIDE.splitlines() if f"`panel.gates[{i}] = " in row]
        assert len(rows) == 1, i
        assert f"{{pin = {gate.pin}, position_m = {gate.position_m!r}}}" in rows[0] and f"| GPIO{gate.pin} |" in rows[0]
        assert re.search(rf"GPIO{gate.pin}\b", SVG), f"GPIO{gate.pin} missing from the diagram"


def test_addresses_and_channels_in_the_guide_are_the_defaults():
    plate = PlateConfig()
    assert f"| 0x{plate.mux_address:02X} | TCA9548A" in GUIDE
    assert f"mux at 0x{plate.mux_address:02x}" in SVG
    for corner, channel in zip(("FL", "FR", "BL", "BR"), plate.mux_channels):
        row = next(r for r in GUIDE.splitlines() if f"({corner}) |" in r)
        assert f"mux channel {channel}" in row
        assert f"NAU7802  {corner}" in SVG and f"0x2A, mux channel {channel}" in SVG
    assert ImuConfig().model == "auto" and "0x6A" in GUIDE and "0x68" in GUIDE
