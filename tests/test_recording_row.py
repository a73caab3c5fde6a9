"""The files whose tests share the recording station (tests/e2e/conftest.py ``recording_station``) are the files of
handout_order.RECORDING_ROW, which tests/conftest.py hands out to one worker as one unit: a file that asks for the
station but is not in the row would start one of its own wherever it ran (and one not using it would hold the row's
worker for nothing)."""

from __future__ import annotations

from pathlib import Path

from handout_order import RECORDING_ROW, files_asking_for

REPO = Path(__file__).resolve().parents[1]


def test_the_recording_row_is_the_files_that_share_the_recording_station():
    users = files_asking_for(REPO, "recording_station")
    assert users == set(RECORDING_ROW) and len(RECORDING_ROW) == len(users)
