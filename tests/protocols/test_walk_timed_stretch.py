"""A flying-start walk's timed stretch must span two gates: ``timed_from_m`` and ``timed_to_m``
closer than a gate's position tolerance (5 mm) are one gate (``GateArray.index_at``), so every trial
read 'The gate at 2.004 m was passed before the gate at 2 m: check the gates' positions in the
configuration' with no walk time, whatever the patient did. Found by an attack review."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.protocols.loader import load_protocol_text
from station.protocols.schema import ProtocolError

TEN_METRE = Path(__file__).resolve().parents[2] / "station" / "protocols" / "builtin" / "ten-metre-walk.toml"


def _with_stretch(from_m: float, to_m: float) -> str:
    text = TEN_METRE.read_text()
    assert "timed_from_m = 2.0\ntimed_to_m = 8.0\n" in text
    return text.replace("timed_from_m = 2.0\ntimed_to_m = 8.0\n", f"timed_from_m = {from_m!r}\ntimed_to_m = {to_m!r}\n")


@pytest.mark.parametrize("to_m", [2.004, 2.005, 2.3])
def test_a_stretch_shorter_than_half_a_metre_is_refused_naming_both_ends(to_m):
    with pytest.raises(ProtocolError) as err:
        load_protocol_text(_with_stretch(2.0, to_m), "clinic.toml")
    message = str(err.value)
    assert "timed_to_m" in message and f"{to_m:g} m" in message and "2 m" in message
    assert "at least 0.5 m" in message, message


def test_half_a_metre_and_more_is_a_stretch():
    protocol = load_protocol_text(_with_stretch(2.0, 2.5), "clinic.toml")
    assert protocol.walk.timed_distance_m == pytest.approx(0.5)
