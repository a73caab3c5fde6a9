"""A protocol's published values that were not checked in their source say so wherever they are read (s27 R1).

Springer et al. (2007)'s eyes-open best-of-three single-leg means by age (44.7 s at 18-39 y ... 9.4 s at 80 y and
over) were carried "as two reproductions of their Table 1" give them; the paper's own table was never read (only
its abstract: 549 healthy subjects aged 18 and older, mean and best of 3 trials by age group, performance
age-specific and not related to gender). The results page and the visit PDF read a patient's time against the
age group's mean with nothing to say so. A ``[[norms]]`` table now carries ``not_verified``, a sentence the
results add to the note beside the values (page and PDF), and the built-in single-leg protocol says it."""

from __future__ import annotations

import pytest

from station.protocols.loader import load_protocol_text
from station.protocols.schema import ProtocolError
from station.reports.build import make_report

from reports_support import ACTOR, pdf_text
import test_stance_cutoff_populations as stance

store = stance.store  # a store of its own in tmp_path

NOT_CHECKED = "These age means were not checked against the paper's own table (only its abstract was read)."


def test_the_single_leg_protocol_says_its_age_means_were_not_checked_in_the_paper(protocols):
    (norm,) = protocols["single-leg"].norms
    assert norm.reference == "springer2007" and norm.metric == "time_held_s"
    assert "Springer BA" in protocols["single-leg"].reference("springer2007").citation
    assert [(r.age_min_y, r.age_max_y, r.mean) for r in norm.rows] == [
        (18, 39, 44.7), (40, 49, 41.9), (50, 59, 41.2), (60, 69, 32.1), (70, 79, 21.5), (80, 99, 9.4)]
    assert norm.not_verified == NOT_CHECKED and norm.to_dict()["not_verified"] == NOT_CHECKED
    # the sway norms were computed for this station from the published data set: nothing to say
    assert all(not n.not_verified for name in ("quiet-stance", "romberg", "mctsib") for n in protocols[name].norms)


def test_the_results_and_the_visit_pdf_say_it_beside_the_age_mean(store, protocols, clinic, poppler):
    session_id = stance._stance_session(store, 76, "single-leg", "left", 12.0, "NV-SLS-76")
    (norm,) = [r for r in stance._held_references(store, protocols, session_id) if r["kind"] == "protocol_norm"]
    assert norm["row"]["mean"] == 21.5 and norm["position"] == "below the mean"
    assert norm["note"] == "The reference trials lasted 45 s, this one 30 s. " + NOT_CHECKED
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                         actor=ACTOR, paper="a4")).split())
    assert text.partition(" References ")[0].count(NOT_CHECKED) == 1, text  # the left leg, the one stored


CLINIC_SLS = """
[protocol]
name = "clinic-sls"
title = "One leg"
summary = "One leg."
outcome = "time_held"
duration_s = 30
instructions = "Stand on one leg."
[stance]
feet = "single_left"
arms = "crossed"
surface = "firm"
eyes = "open"
[[conditions]]
id = "left"
label = "Left"
[[references]]
id = "s"
citation = "Someone 2020."
[[norms]]
metric = "time_held_s"
statistic = "Mean"
population = "Adults"
reference = "s"
not_verified = NOT_VERIFIED
rows = [ { age_min_y = 18, age_max_y = 99, mean = 20.0 } ]
"""


def test_a_clinic_protocols_not_verified_is_text():
    protocol = load_protocol_text(CLINIC_SLS.replace("NOT_VERIFIED", '"Read in a review, not the paper."'), "clinic-sls.toml")
    assert protocol.norms[0].not_verified == "Read in a review, not the paper."
    assert load_protocol_text(CLINIC_SLS.replace("not_verified = NOT_VERIFIED\n", ""), "c.toml").norms[0].not_verified == ""
    with pytest.raises(ProtocolError) as refused:
        load_protocol_text(CLINIC_SLS.replace("NOT_VERIFIED", "5"), "clinic-sls.toml")
    assert "norms[0].not_verified" in str(refused.value)
