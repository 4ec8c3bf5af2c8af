"""The plan's start, on real SQLite and PostgreSQL databases.

- The plan started when the patient's current, continuous time under a plan began: each prescription is in
  the plan from when it was made to when it was ended (or open while active); merged, the start of the stretch
  that reaches today. Ending the oldest prescription does not move it (a patient 20 days into a plan read
  "the plan started today" and their weeks done "before the plan"); a month with no plan between two plans does.
- Migration 0011 dates the prescriptions ended before it by the last thing known of them in the plan.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from db_fixtures import alembic, databases_at
from fastapi.testclient import TestClient
from sqlalchemy import text

from romcam.store import Store
from romcam.store.models import Prescription
from romcam.store.seed import synthetic_session
from romcam.store.trends import PLAN_GAP_BRIDGED, plan_start

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}
ELBOW = KNEE | {"exercise": "elbow_flexion", "side": "left", "posture": "seated", "target_min": 60,
                "target_max": 130, "safe_max": 145}
T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)


def _day(n: float) -> datetime:
    return T0 + timedelta(days=n)


# --- the rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("periods, expected", [
    ([], None),  # no prescription
    ([(_day(0), _day(20))], None),  # ended, nothing active: no plan now
    ([(_day(0), None)], _day(0)),
    # the oldest ended today while another, made today, stays: the plan started 20 days ago, not today
    ([(_day(0), _day(20)), (_day(20), None)], _day(0)),
    ([(_day(20), None), (_day(0), _day(20, ))], _day(0)),  # in any order
    # a month with no plan between two plans: the later start
    ([(_day(0), _day(10)), (_day(40), None)], _day(40)),
    # ended in the evening, the new one added the next morning (the PT replacing an exercise): one plan
    ([(_day(0), _day(10)), (_day(10) + PLAN_GAP_BRIDGED - timedelta(minutes=1), None)], _day(0)),
    ([(_day(0), _day(10)), (_day(10) + PLAN_GAP_BRIDGED, None)], _day(10) + PLAN_GAP_BRIDGED),
    # a chain: each overlapping the next, the first ended long ago
    ([(_day(0), _day(5)), (_day(4), _day(30)), (_day(29), None)], _day(0)),
    # a short prescription inside a long one ended before the active one: still one stretch
    ([(_day(0), _day(30)), (_day(2), _day(3)), (_day(25), None)], _day(0)),
    # an ended prescription made after the active one changes nothing
    ([(_day(5), None), (_day(10), _day(12))], _day(5)),
    # two stretches, the first with an open-ended one inside, no: the active one is the later stretch
    ([(_day(0), _day(3)), (_day(1), _day(2)), (_day(50), None), (_day(60), _day(70))], _day(50)),
])  # fmt: skip
def test_plan_start_is_the_start_of_the_stretch_that_reaches_today(periods, expected) -> None:
    assert plan_start(periods) == expected


# --- the patient page, its API and the patient list -------------------------------------------------------

def _patient(api: TestClient, name: str = "Ada") -> str:
    r = api.post("/api/patients", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _backdate(store: Store, rx_id: str, *, made: float, ended: float | None = None) -> datetime:
    """As if the PT had made the prescription ``made`` days ago (and ended it ``ended`` days ago)."""
    at = _days_ago(made)
    with store.session() as db:
        rx = db.get(Prescription, uuid.UUID(rx_id))
        rx.created_at = at
        if ended is not None:
            rx.ended_at = _days_ago(ended)
        db.commit()
    return at


def _session(api: TestClient, pid: str, days_ago: float, rx: dict | None = None) -> None:
    spec = {k: (rx or KNEE)[k] for k in ("exercise", "side", "mode", "posture")} | {"peak": 100.0}
    doc = synthetic_session(uuid.UUID(pid), _days_ago(days_ago), [spec])
    if rx is not None:
        doc["sets"][0]["prescription_id"], doc["sets"][0]["prescription_version"] = rx["id"], rx["version"]
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text


def _both(api: TestClient, pid: str) -> list[dict]:
    """The patient as the page reads it and as the patient list does."""
    listed = {p["id"]: p for p in api.get("/api/patients").json()}[pid]
    return [api.get(f"/api/patients/{pid}").json(), listed]


def test_ending_the_oldest_prescription_keeps_the_plans_start(api: TestClient, store: Store) -> None:
    """The QA case: 20 days on a plan, 8 sessions, then the knee ended while an elbow added today stays."""
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # 3 a week
    started = _backdate(store, knee["id"], made=20)
    for days in (19, 17, 15, 12, 10, 8, 5, 3):
        _session(api, pid, days, rx=knee)
    elbow = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW).json()
    assert api.delete(f"/api/prescriptions/{knee['id']}").status_code == 204
    adherence = api.get(f"/api/patients/{pid}/adherence?days=56").json()
    assert datetime.fromisoformat(adherence["plan_started_at"]) == started
    for p in _both(api, pid):
        assert datetime.fromisoformat(p["plan_started_at"]) == started, p
        assert p["adherence_7d"] == pytest.approx(2 / 3, abs=0.01)  # 2 sessions of the 3 asked: not 0 %
        assert p["adherence_30d"] == pytest.approx(8 / (3 * 20 / 7), abs=0.01)  # over the plan's 20 days
    # ending the elbow too: no plan now
    api.delete(f"/api/prescriptions/{elbow['id']}")
    for p in _both(api, pid):
        assert (p["plan_started_at"], p["adherence_7d"], p["adherence_30d"]) == (None, None, None)


def test_a_month_without_a_plan_starts_a_new_one(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    old = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    api.delete(f"/api/prescriptions/{old['id']}")
    _backdate(store, old["id"], made=70, ended=40)
    new = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW).json()
    started = _backdate(store, new["id"], made=10)
    _session(api, pid, 50, rx=old)  # of the old plan: before this one
    _session(api, pid, 2, rx=new)
    assert datetime.fromisoformat(api.get(f"/api/patients/{pid}/adherence").json()["plan_started_at"]) == started
    for p in _both(api, pid):
        assert datetime.fromisoformat(p["plan_started_at"]) == started
        assert p["adherence_30d"] == pytest.approx(1 / (3 * 10 / 7), abs=0.01)


def test_the_list_and_the_page_agree_for_many_patients(api: TestClient, store: Store) -> None:
    """The list reads every patient's prescriptions in one query and merges them as the page does."""
    cases = {}  # patient id -> (made, ended) days ago of each prescription
    shapes = [[(20, 0), (0, None)], [(70, 40), (10, None)], [(5, None)], [(30, 3)], [(9, 2), (3, None), (8, None)]]
    for i, shape in enumerate(shapes):
        pid = _patient(api, f"P{i}")
        cases[pid] = shape
        for j, (made, ended) in enumerate(shape):
            body = KNEE | {"side": "left" if j % 2 else "right", "mode": ["active", "passive", "active"][j]}
            rx = api.post(f"/api/patients/{pid}/prescriptions", json=body).json()
            if ended is not None:
                api.delete(f"/api/prescriptions/{rx['id']}")
            _backdate(store, rx["id"], made=made, ended=ended)
    listed = {p["id"]: p for p in api.get("/api/patients").json()}
    for pid in cases:
        page = api.get(f"/api/patients/{pid}").json()
        assert listed[pid]["plan_started_at"] == page["plan_started_at"], cases[pid]
    starts = [listed[pid]["plan_started_at"] for pid in cases]
    assert [s is None for s in starts] == [False, False, False, True, False]
    expected_days = [20, 10, 5, None, 9]
    for start, days in zip(starts, expected_days, strict=True):
        if days is not None:
            age = (datetime.now(UTC) - datetime.fromisoformat(start)).total_seconds() / 86400
            assert age == pytest.approx(days, abs=0.01)


# --- migration 0011 -----------------------------------------------------------------------------------------

def test_0011_dates_the_prescriptions_ended_before_it(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """An ended prescription is dated by its newest version or the newest session filed under it, whichever is
    later; one with neither by when it was made; an active one stays open."""
    for url, engine in databases_at(tmp_path, postgres_server, "0010"):
        sqlite = url.startswith("sqlite")

        def i(u: uuid.UUID, sqlite: bool = sqlite) -> object:
            return u.hex if sqlite else u

        def t(d: float, sqlite: bool = sqlite) -> object:
            at = _day(d)
            return at.replace(tzinfo=None) if sqlite else at

        pid, filed, edited, bare, active, sid = (uuid.uuid4() for _ in range(6))
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                              "VALUES (:id, 'Old', '', false, false, :t)"), {"id": i(pid), "t": t(0)})
            for rx, on, made, versions in ((filed, False, 0, [0]), (edited, False, 0, [0, 12]), (bare, False, 5, [5]),
                                           (active, True, 1, [1])):
                conn.execute(text("INSERT INTO prescriptions (id, patient_id, active, current_version, created_at) "
                                  "VALUES (:id, :pid, :on, :v, :t)"),
                             {"id": i(rx), "pid": i(pid), "on": on, "v": len(versions), "t": t(made)})
                for n, at in enumerate(versions, start=1):
                    conn.execute(text(
                        "INSERT INTO prescription_versions (prescription_id, version, exercise, side, mode, posture, "
                        "target_min, target_max, safe_max, reps, hold_s, sessions_per_week, notes, created_at) "
                        "VALUES (:rx, :n, 'knee_flexion', 'right', 'active', 'seated', 90, 120, 135, 10, 0, 3, '', "
                        ":t)"), {"rx": i(rx), "n": n, "t": t(at)})
            for session_at, rx in ((9, edited), (20, filed)):  # the filed one's last session after its version
                conn.execute(text(
                    "INSERT INTO sessions (id, patient_id, started_at, ended_at, source, status, demo, model, "
                    "romcam_version, content_sha256, received_at, filed) VALUES (:id, :pid, :t, :t, 'camera 0', "
                    "'complete', false, '', '0.1.0', :sha, :t, true)"),
                    {"id": i(sid), "pid": i(pid), "t": t(session_at), "sha": "0" * 64})
                conn.execute(text(
                    "INSERT INTO exercise_sets (id, session_id, position, patient_id, session_started_at, started_at, "
                    "exercise, side, mode, posture, prescription_id, prescription_version, fps, frames, "
                    "view_ok_fraction, best_angle, min_angle, max_angle, reps_full, reps_partial, summary) VALUES "
                    "(:id, :sid, 0, :pid, :t, :t, 'knee_flexion', 'right', 'active', 'seated', :rx, 1, 15, 150, 1, "
                    "100, 5, 100, 1, 0, '{}')"),
                    {"id": i(uuid.uuid4()), "sid": i(sid), "pid": i(pid), "t": t(session_at), "rx": i(rx)})
                sid = uuid.uuid4()
        engine.dispose()
        store = Store(url)  # runs 0011
        try:
            with store.session() as db:
                ended = {rx: db.get(Prescription, rx).ended_at for rx in (filed, edited, bare, active)}
            assert ended == {filed: _day(20), edited: _day(12), bare: _day(5), active: None}, url
            alembic(store.engine, "downgrade", "0010")
            alembic(store.engine, "upgrade", "head")
        finally:
            store.close()


def test_an_ended_prescription_put_back_in_the_plan_counts_from_then(api: TestClient, store: Store) -> None:
    """A knee made 60 days ago, ended 40 days ago (an illness), edited back into the plan 5 days ago: the plan
    started 5 days ago, not 60 — the weeks it was ended asked for nothing, and the patient did not miss them."""
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    api.delete(f"/api/prescriptions/{knee['id']}")
    _backdate(store, knee["id"], made=60, ended=40)
    with store.session() as db:  # the edit, made 5 days ago
        from romcam.store import service

        rx = db.get(Prescription, uuid.UUID(knee["id"]))
        service.update_prescription(db, rx, KNEE | {"target_max": 115}, created_at=_days_ago(5))
    _session(api, pid, 3, rx=api.get(f"/api/patients/{pid}/prescriptions").json()[0])
    for p in _both(api, pid):
        age = (datetime.now(UTC) - datetime.fromisoformat(p["plan_started_at"])).total_seconds() / 86400
        assert age == pytest.approx(5, abs=0.01), p
        assert p["adherence_30d"] == pytest.approx(1 / (3 * 5 / 7), abs=0.01)  # over its 5 days back in the plan
    weeks = api.get(f"/api/patients/{pid}/adherence?days=56").json()["weeks"]
    assert sum(w["planned"] or 0 for w in weeks) <= 3, weeks  # not the 8 weeks since it was first made
    # ended again and put back through the API: from that edit on
    api.delete(f"/api/prescriptions/{knee['id']}")
    r = api.put(f"/api/prescriptions/{knee['id']}", json=KNEE)
    assert r.status_code == 200, r.text
    age = (datetime.now(UTC) - datetime.fromisoformat(_both(api, pid)[0]["plan_started_at"])).total_seconds()
    assert age < 60


def test_0012_adds_resumed_at_and_old_prescriptions_count_as_before(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """A database an older romcam made: its prescriptions keep their times in the plan (no resumed_at)."""
    for url, engine in databases_at(tmp_path, postgres_server, "0011"):
        pid, rx = uuid.uuid4(), uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                              "VALUES (:id, 'Ada', '', false, false, :at)"),
                         {"id": pid.hex if url.startswith("sqlite") else pid, "at": T0})
            conn.execute(text("INSERT INTO prescriptions (id, patient_id, active, current_version, created_at) "
                              "VALUES (:id, :pid, true, 1, :at)"),
                         {"id": rx.hex if url.startswith("sqlite") else rx,
                          "pid": pid.hex if url.startswith("sqlite") else pid, "at": T0})
        store = Store(url)  # runs 0012
        try:
            with store.session() as db:
                got = db.get(Prescription, rx)
                assert got is not None and got.resumed_at is None
                from romcam.store.models import Patient
                from romcam.store.trends import plan_started_at

                assert plan_started_at(db, db.get(Patient, pid)) == T0
        finally:
            store.close()


# --- the plan's first day: the figure and the calendar -------------------------------------------------------

def test_a_session_begun_before_the_plan_on_its_first_day_counts_nowhere(api: TestClient, store: Store) -> None:
    """The PT measures the patient (a session of the knee, not filed: there is no plan yet), then makes the plan an
    hour later, the same day. The adherence figure counts from the plan's start, so that session is not done; the
    calendar's week said "1 / 1" all the same (it counted the whole first day). Both count from the start now."""
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # 3 a week
    made = _backdate(store, knee["id"], made=1 / 24)  # an hour ago
    _session(api, pid, 2 / 24)  # two hours ago: before the plan, of its motion (unfiled)
    # a zone where both fall on one day, whatever the hour in UTC
    offset = 14 - made.hour
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"

    def calendar() -> tuple[dict, dict]:
        cal = api.get(f"/api/patients/{pid}/adherence", params={"days": 14, "tz": zone}).json()
        return cal["days"][-1], cal["weeks"][-1]

    day, week = calendar()
    for p in _both(api, pid):
        assert p["adherence_7d"] == 0.0, p
    assert week["sessions"] == 0 and week["planned"] >= 1, week  # as the figure: none done yet
    assert (day["sessions"], day["before_plan"]) == (1, 1), day  # shown on the day, begun before the plan
    _session(api, pid, 0.25 / 24, rx=knee)  # 15 minutes ago, under the plan
    day, week = calendar()
    assert (day["sessions"], day["before_plan"]) == (2, 1), day
    assert week["sessions"] == 1, week
    for p in _both(api, pid):
        assert p["adherence_7d"] == 1.0, p  # 1 done of the 3/7 asked in the plan's first day
