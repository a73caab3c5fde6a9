"""The live page while the station's SD card is slow to write (its COMMITs waiting seconds for an fsync),
on a tablet (1180x820) and a phone (390x844): a trial stopped then is said being saved in the slow card's
words (not another program's, not a failed card's), the test goes on, and once the card has written it
the page says it is saved. A page's own write meanwhile (a patient's note) is answered 503 in words within
its bound, not left hanging. Screenshots in the test's shots folder.

The real station (``balance-station run --simulate``) on a slow card: the shared recording station
(tests/e2e/conftest.py ``recording_station``) runs with e2e_support.SLOW_CARD_SITECUSTOMIZE on its path, which wraps
the store's writer connection once ``station.store.db`` is imported, so that its COMMIT waits while the test's flag
file exists (at most SLOW_CARD_MAX_S), as an SD card's fsync takes its time. Nothing of it is in the station's code."""

from __future__ import annotations

import time

import pytest

from test_dashboard import api, by_id, wait
from test_trial_saving_live import (look_at_result_and_saving, next_trial_offered, recording_on_tablet_and_phone,
                                    said_saving, saving_line)

pytestmark = pytest.mark.e2e

SLOW_SAVING = "Saving the trial: the station's storage (its SD card) is slow to write just now."
def _message(driver) -> str:
    return by_id(driver, "message").text


def test_a_trial_stopped_on_a_slow_card_is_said_saving_in_the_cards_words_then_saved(recording_station, browsers, shots):
    flag = recording_station.slow_card
    station = recording_station.station
    tablet, phone, patient_id = recording_on_tablet_and_phone(station, browsers, "SLOW-01")
    time.sleep(2.0)  # two seconds recorded on a working card
    flag.touch()  # the card slow from now on: its next COMMIT waits
    try:
        time.sleep(1.0)  # the recorder's next group commit is at the card
        by_id(tablet, "btn-stop").click()
        # Each page's words read first, the note's refusal next, then the next trial awaited and the screenshots: the
        # card held past MAX_UNCOMMITTED_S (30 s from the commit's start, station.store.trials) ends the trial partial,
        # rightly in other words; page by page (each page's wait, then its screenshot) and the note's ~10 s after
        # them, that bound came near on a loaded machine (the lock's twin, test_trial_saving_live, failed so at load 17).
        pages = ((tablet, "tablet"), (phone, "phone"))
        said_saving(pages, SLOW_SAVING)
        for driver, _name in pages:
            saying = saving_line(driver)
            assert "another program" not in saying and "failed" not in saying, saying
        began = time.monotonic()
        note = api(tablet, "PATCH", f"/api/patients/{patient_id}", {"notes": "Uses a stick outdoors."})
        took_s = time.monotonic() - began
        assert note["status"] == 503, note
        assert note["body"]["error"].startswith("the station's storage (its SD card) is slow to write just now"), note
        assert "so this was not saved; what was saved before is kept; try again in a moment" in note["body"]["error"]
        assert took_s < 25.0, f"the note's request took {took_s:.1f} s"  # WRITE_LOCK_WAIT_S and its own commit
        next_trial_offered(pages)
        for driver, name in pages:
            look_at_result_and_saving(driver)
            driver.save_screenshot(str(shots / f"{name}-slow-card-saving.png"))
    finally:
        flag.unlink(missing_ok=True)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        wait(driver, f"'saved' on the {name}", lambda d: saving_line(d) == "Saved: Eyes open, trial 1.", timeout_s=30)
        assert _message(driver).startswith("Invalid trial: ") and "Saved" not in _message(driver), _message(driver)
        look_at_result_and_saving(driver)
        driver.save_screenshot(str(shots / f"{name}-slow-card-saved.png"))
    run = api(tablet, "GET", "/api/station")["body"]["service"]["run"]
    (trial_id,) = run["trial_ids"]
    trial = api(tablet, "GET", f"/api/trials/{trial_id}")["body"]
    assert trial["status"] == "complete" and trial["frame_count"] > 0 and trial["frames_lost"] == 0
    note = api(tablet, "PATCH", f"/api/patients/{patient_id}", {"notes": "Uses a stick outdoors."})
    assert note["status"] == 200, note
    recording_station.left_free(tablet)
