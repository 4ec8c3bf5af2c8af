"""The adherence calendar in a real browser (Debian's chromium, Playwright) against a real ``romcam serve``: the
days the PT paused the plan and a session with nothing measured, as the PT sees them and a screen reader says them;
and a session still being recorded, said as such on the patient list, the patient page and the report.

The patient is made through the API; the plan is dated 30 days back, the pause 20 to 5 days back, and a live session
that measured nothing recorded 2 days ago through romcam.store.live on the server's own SQLite file (as the live
coach records it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import chromium, require_browser, romcam_serve
from sqlalchemy import select
from test_dashboard_browser import Api, checked_page
from test_plan_start import KNEE

from romcam.store import Store, live
from romcam.store.models import PlanPause, Prescription


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    require_browser()
    tmp = tmp_path_factory.mktemp("calendar")
    # the clinic's server (no live coach: the sessions are a laptop's, "being recorded" is trends.being_recorded's
    # rule on the database); its patient list's /live/status answers 503 (patients.js), allowed below
    with romcam_serve(tmp, "--no-live", ready="/api/patients") as (port, _):
        yield f"http://127.0.0.1:{port}", f"sqlite:///{tmp / 'romcam.db'}"


NO_COACH = ("status of 503",)  # GET /live/status on a server with no live coach


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_paused_days_and_a_session_with_nothing_measured_on_the_calendar(served) -> None:  # type: ignore[no-untyped-def]
    server, db_url = served
    api = Api(server)
    _, patient = api("POST", "/api/patients", {"name": f"Pause Calendar {uuid.uuid4().hex[:4]}"})
    pid = patient["id"]
    _, rx = api("POST", f"/api/patients/{pid}/prescriptions", KNEE)
    assert api("PATCH", f"/api/patients/{pid}", {"plan_paused": True})[0] == 200
    assert api("PATCH", f"/api/patients/{pid}", {"plan_paused": False})[0] == 200
    store = Store(db_url)
    try:
        with store.session() as db:
            db.get(Prescription, uuid.UUID(rx["id"])).created_at = _ago(30)
            pause = db.scalars(select(PlanPause).where(PlanPause.patient_id == uuid.UUID(pid))).one()
            pause.paused_at, pause.resumed_at = _ago(20), _ago(5)
            db.commit()
            sid, at = uuid.uuid4(), _ago(2)
            live.begin_session(db, session_id=sid, patient_id=uuid.UUID(pid), started_at=at, source="camera 0",
                               demo=False, model="pose_landmarker_full.task", romcam_version="0.1.0")
            live.begin_set(db, session_id=sid, position=0, started_at=at, exercise=KNEE["exercise"], side=KNEE["side"],
                           mode=KNEE["mode"], posture=KNEE["posture"], prescription_id=uuid.UUID(rx["id"]),
                           prescription_version=1, fps=10.0)
            live.finish_session(db, session_id=sid, status="interrupted", ended_at=at + timedelta(minutes=1),
                                set_docs=[])
    finally:
        store.close()
    _, cal = api("GET", f"/api/patients/{pid}/adherence?days=63&tz=UTC")
    paused = {d["date"] for d in cal["days"] if d["paused"]}
    today = datetime.now(UTC).date()
    assert {(today - timedelta(days=n)).isoformat() for n in range(6, 20)} <= paused and len(paused) == 15
    whole_weeks = [w["start"] for w in cal["weeks"] if w["paused_days"] == 7]
    assert whole_weeks

    with chromium() as browser, checked_page(browser, server, allow=NO_COACH, timezone_id="UTC") as page:
        page.goto(f"{server}/patients/{pid}")
        page.wait_for_selector("body[data-loaded=true]")
        cells = page.locator("#adherence td.day-paused")
        assert sorted(cells.evaluate_all("els => els.map((e) => e.dataset.date)")) == sorted(paused)
        day = (today - timedelta(days=10)).isoformat()
        label = page.locator(f"#adherence td[data-date='{day}']").get_attribute("aria-label")
        assert label.endswith("no session (plan paused: no session asked)"), label
        hint = page.locator("#adherence p.plan-paused-days").inner_text()
        assert hint.startswith("Days with a dotted border: the plan was paused (15 days here)"), hint
        # a week paused throughout asks for nothing, and says why
        row = page.locator("#adherence tbody tr", has=page.locator(f"td[data-date='{whole_weeks[0]}']"))
        assert row.locator("td.week-total").inner_text() == "0 (plan paused)"
        # the session that measured nothing: on its day, apart, not counted
        tried = (today - timedelta(days=2)).isoformat()
        cell = page.locator(f"#adherence td[data-date='{tried}']")
        assert cell.get_attribute("data-nothing-measured") == "1" and cell.get_attribute("data-sessions") == "0"
        assert "1 started, nothing measured, not counted" in cell.get_attribute("aria-label")
        assert cell.locator(".day-count").inner_text() == "◌"
        note = page.locator("#adherence p.nothing-measured").inner_text()
        assert note.startswith("Also started: 1 session with nothing measured"), note
    assert date.fromisoformat(tried) < today


def _live(store: Store, pid: str, rx: dict, at: datetime, *, measured: bool, ended: bool) -> None:
    """A live session of one knee set begun ``at``, recorded through romcam.store.live as the coach records it:
    ``measured`` (2 seconds of the knee measured, no rep) or nobody in view; ``ended`` two minutes later, or still
    running (no end time)."""
    sid = uuid.uuid4()
    with store.session() as db:
        live.begin_session(db, session_id=sid, patient_id=uuid.UUID(pid), started_at=at, source="camera 0",
                           demo=False, model="pose_landmarker_full.task", romcam_version="0.1.0")
        set_id = live.begin_set(db, session_id=sid, position=0, started_at=at, exercise=KNEE["exercise"],
                                side=KNEE["side"], mode=KNEE["mode"], posture=KNEE["posture"],
                                prescription_id=uuid.UUID(rx["id"]), prescription_version=1, fps=10.0)
        angle = [20.0 + i if measured else float("nan") for i in range(20)]
        live.put_samples(db, set_id=set_id, t=[i / 10 for i in range(20)], angle=angle, frames=20,
                         view_ok_fraction=1.0 if measured else 0.0)
        if ended:
            live.finish_session(db, session_id=sid, status="interrupted", ended_at=at + timedelta(minutes=2),
                                set_docs=[])


def test_a_session_being_recorded_is_said_as_such_not_as_measured_nothing(served) -> None:  # type: ignore[no-untyped-def]
    """The PT opening the list while the patient's coach ran its first set, nobody in view yet, read "a later
    session, begun today, measured nothing". Now the list, the patient page and the printed report say the session
    is being recorded, with when it began, and count only the ended one as having measured nothing."""
    server, db_url = served
    api = Api(server)
    people = {}
    for name in ("Recording Now", "Recording First"):
        _, patient = api("POST", "/api/patients", {"name": f"{name} {uuid.uuid4().hex[:4]}"})
        _, rx = api("POST", f"/api/patients/{patient['id']}/prescriptions", KNEE)
        people[name] = (patient["id"], rx)
    (pid, rx), (first, first_rx) = people["Recording Now"], people["Recording First"]
    done, empty, running = _ago(8), _ago(1), _ago(3 / (24 * 60))  # the session begun 3 minutes ago
    store = Store(db_url)
    try:
        _live(store, pid, rx, done, measured=True, ended=True)
        _live(store, pid, rx, empty, measured=False, ended=True)
        _live(store, pid, rx, running, measured=False, ended=False)
        _live(store, first, first_rx, running, measured=False, ended=False)
    finally:
        store.close()

    def day(at: datetime) -> str:
        return f"{at:%a}, {at.day} {at:%b %Y}"

    # begun today (UTC, the page's zone): the time; just before midnight, the day too
    begun = f"{running:%H:%M}" if running.date() == datetime.now(UTC).date() else f"{day(running)}, {running:%H:%M}"
    now_note = f"a session is being recorded now, begun {begun}"
    with chromium() as browser, checked_page(browser, server, allow=NO_COACH, timezone_id="UTC") as page:
        page.goto(f"{server}/")
        page.wait_for_selector("body[data-loaded=true]")
        cell = page.locator(f"tr[data-patient-id='{pid}'] td").first.inner_text()
        later = f"a later session, begun {day(empty)}, measured nothing"
        assert cell == f"{day(done)}\n8 days ago\n{later}\n{now_note}", cell
        cell = page.locator(f"tr[data-patient-id='{first}'] td").first.inner_text()
        assert cell == f"Nothing measured yet\n{now_note}", cell
        page.goto(f"{server}/patients/{pid}")
        page.wait_for_selector("body[data-loaded=true]")
        summary = page.locator("#patient-summary").inner_text()
        assert summary.startswith(f"Last session {day(done)} (8 days ago); a later session, begun {day(empty)}, "
                                  f"measured nothing; {now_note}. "), summary
        page.goto(f"{server}/patients/{first}")
        page.wait_for_selector("body[data-loaded=true]")
        summary = page.locator("#patient-summary").inner_text()
        assert summary.startswith(f"No session has measured anything yet: {now_note}. "), summary
        page.goto(f"{server}/patients/{pid}/report")
        page.wait_for_selector("body[data-loaded=true]")
        report = page.locator("#report-summary").inner_text()
        assert report.startswith(f"Last session {day(done)}; a later session, begun {day(empty)}, measured nothing; "
                                 f"{now_note}. "), report
