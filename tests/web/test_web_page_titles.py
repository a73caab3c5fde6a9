"""The visit's and the programme's titles come with the page (web/pages.py, web/programme_pages.py):
filled in by script later, a title that wraps on a phone pushed the buttons under it down while a
finger was on its way (the programme page's report button 80 px). Only the server words them now
(results.js and programme.js no longer set them), and the words are the patient's pseudonymous
identifier only."""

from __future__ import annotations

from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.store.programmes import today_of


def test_the_visit_page_comes_with_its_title_and_the_way_back_to_its_patient(clinician, records):
    page = clinician.get(f"/sessions/{records['session']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<h1 id="results-title">Visit results · PT-100</h1>' in html
    assert f'<a id="back-link" href="/patients/{records["patient"]}">← PT-100</a>' in html
    assert "PT-200" not in html  # another patient's identifier is not on the page


def test_the_programme_page_comes_with_its_title(clinician, records, store, wall):
    template = builtin_programmes(builtin_protocols())["balance-training"]
    assignment = store.programmes.assign(records["patient"], template, today_of(wall),
                                         actor=Actor(records["user"], "ana"))
    page = clinician.get(f"/assignments/{assignment['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    title = store.programmes.get(assignment["id"])["template"]["programme"]["title"]
    assert title and f"<h1 id=\"programme-title\">{title} · PT-100</h1>" in html
    assert f'href="/patients/{records["patient"]}" id="back-link">← PT-100</a>' in html
    assert '<span id="programme-status" class="tag">active</span>' in html
    store.programmes.pause(assignment["id"], {"from_date": str(today_of(wall)), "reason": "flu"},
                           actor=Actor(records["user"], "ana"))
    html = clinician.get(f"/assignments/{assignment['id']}").get_data(as_text=True)
    assert f'<span id="programme-status" class="tag">paused since {today_of(wall)}</span>' in html


def test_a_missing_visit_or_programme_is_a_page_in_words_not_an_error(clinician, records):
    for path in ("/sessions/99999", "/assignments/99999"):
        page = clinician.get(path)
        assert page.status_code == 404 and "Traceback" not in page.get_data(as_text=True)


def test_the_pages_need_a_signed_in_user(anon, records):
    page = anon.get(f"/sessions/{records['session']}")
    assert page.status_code in (302, 303) and "PT-100" not in page.get_data(as_text=True)
