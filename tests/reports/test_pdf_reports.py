"""The three PDF reports: what they say (text), that nothing is cut or overprinted (word boxes),
page counts, and that every page renders to an image with something on it (poppler-utils)."""

from __future__ import annotations

import re

import pytest

from station import __version__
from station.reports.build import make_report

from reports_support import ACTOR, LONG_IDENTIFIER, ink_fraction, layout_problems, page_count, pdf_info, pdf_text, render_pages

pytestmark = pytest.mark.usefixtures("poppler")

PAGE_SIZES = {"a4": (595, 842), "letter": (612, 792)}


def _report(store, protocols, clinic, kind, object_id, paper="a4"):
    return make_report(kind, store, object_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper=paper)


def _check_pages(pdf: bytes, paper: str, tmp_path, stem: str) -> str:
    size = pdf_info(pdf)["Page size"]
    width, height = (float(v) for v in re.findall(r"[\d.]+", size)[:2])
    assert (round(width), round(height)) == PAGE_SIZES[paper]
    assert layout_problems(pdf) == []
    pages = render_pages(pdf, tmp_path, stem)
    assert len(pages) == page_count(pdf)
    for page in pages:
        assert 0.002 < ink_fraction(page) < 0.5, f"{page.name} looks blank or black"
    return pdf_text(pdf)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_session_report_shows_every_test_of_the_visit_against_norms_with_plots(store, protocols, clinic, clinic_dir,
                                                                                    paper, tmp_path):
    fifty = clinic_dir["fifty"]
    pdf = _report(store, protocols, clinic, "session", fifty["last_visit_session_id"], paper)
    text = _check_pages(pdf, paper, tmp_path, f"session-{paper}")
    # the visit is the three sessions of the last programme visit
    for title in ("Quiet stance", "Romberg test", "Weight-bearing symmetry"):
        assert title in text
    for words in ("Visit report", "Patient R-0050", "Clinique du Lac, service de rééducation",
                  "95 % ellipse area", "cm²", "Mean sway velocity", "cm/s", "Romberg quotient",
                  "Santos DA, Duarte M. A public data set of human balance evaluations",
                  f"Balance station {__version__}", "calibration 2026-05-11", "Centre-of-pressure traces"):
        assert words in text, words
    assert re.search(r"about the \d+(st|nd|rd|th) percentile", text)
    assert re.search(r"page 1 of \d", text)
    # the trace plots are vector drawings: no raster image in the file
    assert b"/Subtype /Image" not in pdf


def test_the_history_report_of_fifty_sessions_charts_each_key_measure_with_its_mdc(store, protocols, clinic, clinic_dir,
                                                                                    tmp_path):
    fifty = clinic_dir["fifty"]
    pdf = _report(store, protocols, clinic, "patient", fifty["patient_id"])
    text = _check_pages(pdf, "a4", tmp_path, "history")
    assert "44 visits (50 tests with trials)" in text  # a visit's tests are counted as tests, not as visits
    assert "Romberg test (feet together, eyes open then closed): Eyes open: Mean sway velocity (cm/s)" in text
    assert "10-metre walk" in text or "10 m" in text or "Walk" in text
    # a stroke patient: the published MDC of sway velocity (eyes open, firm) is drawn and cited
    assert "MDC 0.61 cm/s" in text and "Gasq D" in text  # m/s and cm/s to 2 decimals (was 0.6100)
    assert "the change is within the MDC: may be noise" in text or "the change is beyond the MDC: a real" in text
    # where none is published, the report says so
    assert "No minimal detectable change is published for this measure in this test." in text
    assert "Backward treadmill walking after stroke" in text
    assert "Done 317 min (88 % of due) 11 (11 full), 92 % of due" in " ".join(text.split()), text  # the dose leads
    assert "calibration 2 calibrations, 2025-11-03 to 2026-05-11" in text
    assert page_count(pdf) >= 2


def test_the_programme_report_goes_from_baseline_to_end_against_the_mdc(store, protocols, clinic, clinic_dir, tmp_path):
    pdf = _report(store, protocols, clinic, "programme", clinic_dir["fifty"]["assignment_id"], "letter")
    text = _check_pages(pdf, "letter", tmp_path, "programme")
    for words in ("Programme report", "Backward treadmill walking after stroke (4 weeks)",
                  "Sway velocity, feet apart, eyes open (cm/s), lower is better", "Baseline (week 0",
                  "End (after week 4)", "within measurement error", "no MDC published", "Adherence",
                  "Dose per session", "Chang KW", "Gasq D"):
        assert words in text, words
    # 11 of the 12 sessions done (number 5 missed), minutes as entered
    assert "Done 317 min (88 % of due) 11 (11 full), 92 % of due" in " ".join(text.split()), text  # the dose leads
    # the dose's belt speed as the clinician types it on the treadmill (km/h), m/s beside it; week 4: 0.5 m/s
    flat = " ".join(text.split())
    assert "1.8 km/h (0.50 m/s)" in flat and "0.500 m/s" not in flat


def test_a_long_identifier_is_printed_whole_and_nothing_personal_is(store, protocols, clinic, clinic_dir, tmp_path):
    long = clinic_dir["long"]
    for kind, object_id in (("session", long["last_visit_session_id"]), ("patient", long["patient_id"]),
                            ("programme", long["assignment_id"])):
        pdf = _report(store, protocols, clinic, kind, object_id)
        assert layout_problems(pdf) == []
        assert f"Patient {LONG_IDENTIFIER}" in pdf_text(pdf)
    for kind, object_id in (("session", clinic_dir["fifty"]["last_visit_session_id"]),
                            ("patient", clinic_dir["fifty"]["patient_id"])):
        text = pdf_text(_report(store, protocols, clinic, kind, object_id))
        for personal in ("1950", "Maria", "Dupont", "daughter", "stroke:left"):  # as words: a DOI may hold the digits
            assert not re.search(rf"(?<![\w.:/]){re.escape(personal)}(?![\w])", text), personal
        assert not re.search(r"\b(female|Sex|born)\b", text)


def test_a_report_is_audited_as_an_export(store, protocols, clinic, clinic_dir):
    fifty = clinic_dir["fifty"]
    before = len(store.audit.query(action="patient.export", limit=1000))
    _report(store, protocols, clinic, "programme", fifty["assignment_id"])
    entries = store.audit.query(action="patient.export", limit=1000)
    assert len(entries) == before + 1
    entry = entries[0]
    assert entry["patient_id"] == fifty["patient_id"] and entry["username"] == "ana"
    assert entry["object"] == f"assignment:{fifty['assignment_id']}"
    assert entry["detail"]["format"] == "pdf" and entry["detail"]["report"] == "programme"
    assert "R-0050" not in str(entry)


def test_the_clinic_logo_from_the_configuration_is_printed(store, protocols, clinic_dir, tmp_path):
    from PIL import Image

    from station.config_file import load_station_config
    from station.reports.context import clinic_of
    import subprocess

    Image.new("RGB", (240, 80), (20, 60, 120)).save(tmp_path / "logo.png")
    name = "Clinique du Lac " + "et centre de rééducation fonctionnelle " * 2  # long, under 100 characters
    (tmp_path / "station.toml").write_text(f'[clinic]\nname = "{name.strip()}"\nlogo = "logo.png"\n')
    config = load_station_config(tmp_path / "station.toml")
    assert config.clinic.logo == tmp_path / "logo.png"
    pdf = make_report("patient", store, clinic_dir["long"]["patient_id"], protocols=protocols,
                      clinic=clinic_of(store, config), actor=ACTOR)
    assert layout_problems(pdf) == []  # logo, a long name and the longest identifier side by side
    (tmp_path / "with-logo.pdf").write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "with-logo.pdf")], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) == page_count(pdf)  # the logo on every page, and no other image
    assert "Clinique du Lac" in pdf_text(pdf)


@pytest.mark.parametrize("content, problem", [
    (b"not an image", "not a PNG or JPEG image"),
    (None, "no such file"),
])
def test_a_logo_that_is_not_an_image_is_refused_when_the_configuration_is_loaded(tmp_path, content, problem):
    from station.config_file import ConfigError, load_station_config

    if content is not None:
        (tmp_path / "logo.png").write_bytes(content)
    (tmp_path / "station.toml").write_text('[clinic]\nlogo = "logo.png"\n')
    with pytest.raises(ConfigError) as info:
        load_station_config(tmp_path / "station.toml")
    message = str(info.value)
    assert "clinic.logo" in message and problem in message and "station.toml:2" in message


def test_the_layout_check_finds_cut_and_overprinted_words():
    """The check above can fail: a word past the edge and two words on top of each other."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(595, 842))
    c.drawString(560, 400, "cut-off-at-the-edge")
    c.drawString(100, 300, "first")
    c.drawString(102, 300, "second")
    c.drawString(100, 200, "alone")
    c.save()
    problems = layout_problems(buffer.getvalue())
    assert any("cut-off-" in p and "outside" in p for p in problems)  # pdftotext keeps what is on the page
    assert any("'first' overlaps 'second'" in p for p in problems)
    assert not any("alone" in p for p in problems)


def test_a_walk_test_in_the_session_report_has_time_speed_cadence_and_their_change(store, protocols, clinic, tmp_path,
                                                                                     clinic_dir):
    walks = [sid for sid in clinic_dir["fifty"]["session_ids"] if store.sessions.get(sid)["label"] == "walk"]
    pdf = _report(store, protocols, clinic, "session", walks[1])
    text = _check_pages(pdf, "a4", tmp_path, "walk")
    assert "10-metre walk test" in text and "Comfortable pace" in text
    for words in ("Time", " s ", "Speed", "m/s", "Cadence", "steps/min", "Steps (whole recording) 16 "):
        assert words in text, words
    assert re.search(r"Since the visit of \d{4}-\d\d-\d\d \(\d\.\d+ m/s\): change ", text)  # against the previous visit
    assert "Walking class [1]: " in text and "Perry J" in text  # Perry's classes by name (walk_words.py)
    assert "Santos DA" not in text  # no norm was used: not cited


def test_a_trial_with_corrupt_frames_is_said_and_the_session_report_goes_on(protocols, clinic, clinic_dir, tmp_path):
    """A stance trial's stored frames corrupt (a chunk's first_seq no longer its frames' first): the
    old code stopped the whole PDF (StoreError from the trace's frames); now its trace alone is left
    out, said under the plots with the trial and what to do, and the other traces are drawn."""
    import shutil

    from station.store.store import Store

    data_dir = shutil.copytree(clinic_dir["data_dir"], tmp_path / "data")
    session_id = clinic_dir["fifty"]["last_visit_session_id"]
    with Store.open(data_dir) as store:
        with store.db.write() as conn:
            (trial_id,) = conn.execute("SELECT min(id) FROM trials WHERE session_id = ? AND valid = 1 AND status = 'complete'",
                                       (session_id,)).fetchone()
            conn.execute("UPDATE trial_chunks SET first_seq = first_seq + 1 WHERE trial_id = ? AND chunk_no = 0", (trial_id,))
        text = " ".join(pdf_text(_report(store, protocols, clinic, "session", session_id)).split())
    assert f"Trial #{trial_id}: its centre-of-pressure trace is not drawn: its stored frames are corrupt (chunk 0 starts" \
        in text
    assert "its results above are kept" in text and "Centre-of-pressure traces" in text
