"""The live page while the station's SD card is slow to write (its COMMITs waiting seconds for an fsync),
on a tablet (1180x820) and a phone (390x844): a trial stopped then is said being saved in the slow card's
words (not another program's, not a failed card's), the test goes on, and once the card has written it
the page says it is saved. A page's own write meanwhile (a patient's note) is answered 503 in words within
its bound, not left hanging. Screenshots in the test's shots folder.

The real station (``balance-station run --simulate``) on a slow card: a ``sitecustomize`` put on the
station process's path by this test wraps the store's writer connection once ``station.store.db`` is
imported, so that its COMMIT waits while a flag file exists (at most SLOW_MAX_S), as an SD card's fsync
takes its time. Nothing of it is in the station's code."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from test_dashboard import api, by_id, wait
from test_trial_saving_live import look_at_result_and_saving, recording_on_tablet_and_phone, saving_line

pytestmark = pytest.mark.e2e

SLOW_SAVING = "Saving the trial: the station's storage (its SD card) is slow to write just now."
SLOW_MAX_S = 60.0

SITECUSTOMIZE = textwrap.dedent(
    """
    import importlib.abc
    import importlib.util
    import os
    import sys
    import time

    FLAG = os.environ["SLOW_CARD_FLAG"]


    class SlowCommits:  # the writer connection on a card whose COMMIT waits while FLAG exists
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if sql == "COMMIT":
                deadline = time.monotonic() + %(max_s)r
                while os.path.exists(FLAG) and time.monotonic() < deadline:
                    time.sleep(0.05)
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)


    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "station.store.db":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                init = module.Database.__init__

                def slow_init(self, *a, **k):
                    init(self, *a, **k)
                    self._writer = SlowCommits(self._writer)

                module.Database.__init__ = slow_init

            spec.loader.exec_module = exec_module
            return spec


    sys.meta_path.insert(0, Hook())
    """ % {"max_s": SLOW_MAX_S})


def _message(driver) -> str:
    return by_id(driver, "message").text


def slow_card(tmp_path, monkeypatch) -> Path:
    """A station started after this (``station_for``) writes on a card made slow by SITECUSTOMIZE on its path:
    the flag file returned, touched, holds its COMMITs (at most SLOW_MAX_S); unlinked, they go through."""
    site = tmp_path / "slow-card-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    flag = tmp_path / "card-is-slow"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("SLOW_CARD_FLAG", str(flag))
    return flag


def test_a_trial_stopped_on_a_slow_card_is_said_saving_in_the_cards_words_then_saved(station_for, browsers, shots,
                                                                                   tmp_path, monkeypatch):
    flag = slow_card(tmp_path, monkeypatch)
    station = station_for("patient")
    tablet, phone, patient_id = recording_on_tablet_and_phone(station, browsers, "SLOW-01")
    time.sleep(2.0)  # two seconds recorded on a working card
    flag.touch()  # the card slow from now on: its next COMMIT waits
    try:
        time.sleep(1.0)  # the recorder's next group commit is at the card
        by_id(tablet, "btn-stop").click()
        for driver, name in ((tablet, "tablet"), (phone, "phone")):
            wait(driver, f"'saving' on the {name}", lambda d: saving_line(d).startswith(SLOW_SAVING), timeout_s=15)
            saying = saving_line(driver)
            assert "another program" not in saying and "failed" not in saying, saying
            assert saying.endswith("Do not switch the station off until it says saved."), saying
            assert _message(driver).startswith("Invalid trial: ") and "Saving" not in _message(driver), _message(driver)
            wait(driver, f"the next trial on the {name}",
                 lambda d: by_id(d, "trial-state").get_attribute("data-state") == "instructions", timeout_s=15)
            look_at_result_and_saving(driver)
            driver.save_screenshot(str(shots / f"{name}-slow-card-saving.png"))
        began = time.monotonic()
        note = api(tablet, "PATCH", f"/api/patients/{patient_id}", {"notes": "Uses a stick outdoors."})
        took_s = time.monotonic() - began
        assert note["status"] == 503, note
        assert note["body"]["error"].startswith("the station's storage (its SD card) is slow to write just now"), note
        assert "so this was not saved; what was saved before is kept; try again in a moment" in note["body"]["error"]
        assert took_s < 25.0, f"the note's request took {took_s:.1f} s"  # WRITE_LOCK_WAIT_S and its own commit
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
