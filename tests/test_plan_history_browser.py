"""The PT's view of a plan's history, in a real browser (Debian's chromium, Playwright) on a real ``romcam serve``:

- ending the oldest prescription while another stays does not rewrite the weeks done as "before the plan";
- the calendar's week total counts done and planned over the same days (the plan's first week);
- a duplicate prescription is refused in the form, with what to do;
- the session list pages back through the whole history with a "Show older sessions" button a keyboard reaches.

The prescriptions are made through the API, then dated back in the server's SQLite file (the API makes them now).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import chromium, require_browser, romcam_serve
from test_dashboard_browser import PRESCRIPTIONS, Api, _session_document, _set_document, checked_page

from romcam.store import Store
from romcam.store.models import Prescription

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 8, "hold_s": 2, "sessions_per_week": 3}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(the server's base URL, its database file)."""
    require_browser()
    tmp = tmp_path_factory.mktemp("plan-history")
    with romcam_serve(tmp, ready="/api/patients") as (port, _):
        yield f"http://127.0.0.1:{port}", tmp / "romcam.db"


@pytest.fixture(scope="module")
def browser(served) -> Iterator[object]:
    with chromium() as b:
        yield b


def _elbow(api: Api, pid: str) -> dict:
    exercise, side, mode, posture, lo, hi, safe, per_week = PRESCRIPTIONS["elbow_active"]
    status, rx = api("POST", f"/api/patients/{pid}/prescriptions", {
        "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": lo, "target_max": hi,
        "safe_max": safe, "reps": 8, "hold_s": 2, "sessions_per_week": per_week})
    assert status == 201
    return rx


def _date_back(db_file: Path, rx_id: str, made: datetime) -> None:
    store = Store(f"sqlite:///{db_file}")
    try:
        with store.session() as db:
            db.get(Prescription, uuid.UUID(rx_id)).created_at = made
            db.commit()
    finally:
        store.close()


def _elbow_session(api: Api, pid: str, rx: dict, at: datetime) -> str:
    doc = _session_document(pid, at, [_set_document("elbow_active", 128.0, rx, 1, at)])
    assert api("POST", "/api/sessions", doc)[0] == 201
    return doc["id"]


def _open(page, server: str, pid: str) -> None:
    page.goto(f"{server}/patients/{pid}")
    page.wait_for_selector("body[data-loaded=true]")


def test_ending_the_oldest_prescription_keeps_the_weeks_done(browser, served) -> None:
    """20 days on the elbow, 8 sessions; the PT adds a knee today and ends the elbow: the plan still started 20
    days ago, on the list and the page, and the weeks done are not "before the plan"."""
    server, db_file = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Ended Oldest {uuid.uuid4().hex[:4]}"})
    pid = patient["id"]
    elbow = _elbow(api, pid)
    now = datetime.now(UTC)
    _date_back(db_file, elbow["id"], now - timedelta(days=20))
    for days in (19, 17, 15, 12, 10, 8, 5, 3):
        _elbow_session(api, pid, elbow, now - timedelta(days=days))
    assert api("POST", f"/api/patients/{pid}/prescriptions", KNEE)[0] == 201
    with checked_page(browser, server, timezone_id="UTC") as page:
        _open(page, server, pid)
        page.once("dialog", lambda d: d.accept())  # "End …?"
        page.locator("table.prescriptions tr[data-prescription-id]", has_text="Elbow").locator(
            "button", has_text="End").click()
        page.wait_for_selector("table.prescriptions tr[data-prescription-id]:has-text('Elbow')", state="detached")
        _open(page, server, pid)  # as the PT finds it next time
        summary = page.locator("#patient-summary").inner_text()
        assert "0% over 7 days" not in summary and "started today" not in summary, summary
        assert "The plan started 20 days ago" in summary, summary
        weeks = page.locator("table.calendar td.week-total").all_inner_texts()
        first_day = (now - timedelta(days=20)).date().isoformat()
        before = page.locator("#adherence td.day-before").evaluate_all("cells => cells.map(c => c.dataset.date)")
        assert before and max(before) < first_day  # only the days before the elbow was prescribed
        done = sum(int(t.split(" ")[0]) for t in weeks if "before the plan" not in t)
        assert done == 8, weeks  # every session of those 20 days counted as done
        page.goto(server + "/")
        page.wait_for_selector("body[data-loaded=true]")
        row = page.locator(f"tr[data-patient-id='{pid}']")
        assert "plan made today" not in row.inner_text(), row.inner_text()
        assert row.locator(".pct").all_inner_texts() != ["0%", "0%"]


def test_the_plans_first_week_counts_done_over_its_own_days(browser, served) -> None:
    """The plan began on a Thursday; the patient also did the elbow on the Tuesday before (and in the week
    before that): that week reads 1 done of Thursday to Sunday's share, not 2; the week before, 1 "before the
    plan"."""
    server, db_file = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"First Week {uuid.uuid4().hex[:4]}"})
    pid = patient["id"]
    elbow = _elbow(api, pid)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday() + 14)  # the Monday two weeks back
    _date_back(db_file, elbow["id"], monday + timedelta(days=3, hours=-4))  # Thursday, 8:00
    for at in (monday - timedelta(days=6), monday + timedelta(days=1), monday + timedelta(days=4)):  # Tue, Tue, Fri
        _elbow_session(api, pid, elbow, at)
    with checked_page(browser, server, timezone_id="UTC") as page:
        _open(page, server, pid)
        rows = page.locator("table.calendar tbody tr")
        by_monday = {}
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td[data-date]").evaluate_all("cs => cs.map(c => c.dataset.date)")
            total = rows.nth(i).locator("td.week-total")
            if cells:
                by_monday[min(cells)] = (total.inner_text(), total.get_attribute("data-planned"))
        text, planned = by_monday[monday.date().isoformat()]
        assert int(planned) == 2  # Thursday to Sunday of 3 a week, 1.7, in whole sessions
        assert text.startswith("1 / "), text  # the Friday; the Tuesday before the plan is not done against it
        text, _ = by_monday[(monday - timedelta(days=7)).date().isoformat()]
        assert text == "1 (before the plan)", text


def test_a_duplicate_prescription_is_refused_in_the_form(browser, served) -> None:
    server, _ = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Duplicate {uuid.uuid4().hex[:4]}"})
    _elbow(api, patient["id"])
    with checked_page(browser, server, allow=("409",)) as page:
        _open(page, server, patient["id"])
        page.locator("#new-prescription").click()
        form = page.locator("#prescription-form")
        exercise, side, mode, posture, lo, hi, safe, _ = PRESCRIPTIONS["elbow_active"]
        form.locator("select[name=exercise]").select_option(exercise)
        form.locator("select[name=side]").select_option(side)
        form.locator("select[name=mode]").select_option(mode)
        form.locator("select[name=posture]").select_option(posture)
        for name, value in (("target_min", lo), ("target_max", hi), ("safe_max", safe)):
            form.locator(f"input[name={name}]").fill(str(value))
        form.locator("#prescription-save").click()
        error = form.locator(".form-error")
        error.wait_for(state="visible")
        assert error.inner_text() == ("This patient already has an active prescription of Elbow flexion, left, "
                                      "active, seated: edit it instead.")
        assert page.locator("#prescription-dialog").is_visible()  # still open, the PT's entries kept
        assert page.locator("table.prescriptions tr[data-prescription-id]").count() == 1


def test_older_sessions_load_page_by_page_from_the_keyboard(browser, served) -> None:
    from playwright.sync_api import expect

    server, _ = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Long History {uuid.uuid4().hex[:4]}"})
    pid = patient["id"]
    elbow = _elbow(api, pid)
    now = datetime.now(UTC)
    posted = [_elbow_session(api, pid, elbow, now - timedelta(days=d, hours=1)) for d in range(45)]  # newest first
    with checked_page(browser, server) as page:
        _open(page, server, pid)
        shown = lambda: page.locator("#sessions li[data-session-id]").evaluate_all(  # noqa: E731
            "items => items.map(i => i.dataset.sessionId)")
        assert shown() == posted[:20]
        assert page.locator("#sessions-shown").inner_text() == "Showing the latest 20 sessions."
        button = page.get_by_role("button", name="Show older sessions")
        page.locator("#sessions li a").last.focus()
        page.keyboard.press("Tab")  # the next stop after the list
        assert page.evaluate("document.activeElement.id") == "older-sessions"
        page.keyboard.press("Enter")
        expect(page.locator("#sessions li[data-session-id]")).to_have_count(40)
        assert page.evaluate("document.activeElement.id") == "older-sessions"  # ready for the next page
        page.keyboard.press("Enter")
        expect(page.locator("#sessions li[data-session-id]")).to_have_count(45)
        assert shown() == posted  # every session once, newest first
        assert button.is_hidden()  # the end: no button to press in vain
        assert page.locator("#sessions-shown").inner_text() == "Showing all 45 sessions."
        focused = page.evaluate("document.activeElement.getAttribute('href')")
        assert focused == f"/sessions/{posted[40]}"  # the keyboard goes on from the first session it brought


def test_a_short_history_has_no_button(browser, served) -> None:
    server, _ = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Short History {uuid.uuid4().hex[:4]}"})
    elbow = _elbow(api, patient["id"])
    now = datetime.now(UTC)
    for d in range(20):  # exactly one page: nothing older to load
        _elbow_session(api, patient["id"], elbow, now - timedelta(days=d, hours=1))
    with checked_page(browser, server) as page:
        _open(page, server, patient["id"])
        assert page.locator("#sessions li[data-session-id]").count() == 20
        assert page.locator("#older-sessions").is_hidden()
        assert page.locator("#sessions-shown").inner_text() == "Showing all 20 sessions."
