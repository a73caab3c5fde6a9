"""The visit PDF's single-leg stance reads as the page does (R1 item 2, page 2 of the visit report).

Before: "Published values [3] (549 healthy adults (Springer et al. 2007); no meaningful difference between
women and men, so the total values are given., 70-79 y: Mean over subjects of ... 45 s maximum) 21.5 s):
above the mean." (brackets in brackets, ".,"), and "Time held 30.00 s" where the page says 30.0 s. Now
the finding comes first ("Above the mean for ages 70–79 (21.5 s) [n].") and the source's population and
statistic follow, each a sentence; the time held has the page's one decimal."""

from __future__ import annotations

import re

from station.reports.build import make_report

from reports_support import ACTOR, pdf_text
import test_stance_cutoff_populations as stance

store = stance.store  # a store of its own in tmp_path


def test_the_single_leg_norm_reads_finding_first_and_the_time_held_as_on_the_page(store, protocols, clinic, poppler):
    session_id = stance._stance_session(store, 76, "single-leg", "left", 30.0, "PDF-SLS-76")
    text = " ".join(pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic,
                                         actor=ACTOR, paper="a4")).split())
    body = text.partition(" References ")[0]
    found = re.search(r"Above the mean for ages 70–79 \(21\.5 s\) \[(\d+)\]\. 549 healthy adults \(Springer et al\. 2007\); "
                      r"no meaningful difference between women and men, so the total values are given\. Mean over subjects",
                      body)
    assert found, body
    assert "., " not in body and "Published values [" not in body, body
    assert "30.0 s" in body and "30.00 s" not in body, body
