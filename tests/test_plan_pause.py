"""Pausing and resuming a patient's plan, on real SQLite and PostgreSQL databases (``plan_pauses``, migration 0015).

The days the plan was paused ask for no session: the adherence figures (the patient page's and the patient list's)
count the unpaused time only, the calendar shows those days as paused and its weeks ask for nothing on them, and the
missed-sessions gap counts from the last session of the plan or the last resume, whichever is later. Sittings done
while paused still count as done.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from db_fixtures import alembic, databases_at
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from test_plan_start import KNEE, _backdate, _both, _patient, _session

from romcam.store import Store
from romcam.store.models import PlanPause


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _pause(api: TestClient, store: Store, pid: str, *, paused: float, resumed: float | None) -> None:
    """Pause the plan through the API, then resume it (unless ``resumed`` is None), and date both as if the PT had
    done it ``paused`` and ``resumed`` days ago."""
    r = api.patch(f"/api/patients/{pid}", json={"plan_paused": True})
    assert r.status_code == 200 and r.json()["plan_paused"] is True, r.text
    if resumed is not None:
        r = api.patch(f"/api/patients/{pid}", json={"plan_paused": False})
        assert r.status_code == 200 and r.json()["plan_paused"] is False, r.text
    with store.session() as db:
        row = db.scalars(select(PlanPause).where(PlanPause.patient_id == uuid.UUID(pid))
                         .order_by(PlanPause.paused_at.desc())).first()
        assert row is not None and (row.resumed_at is None) == (resumed is None)
        row.paused_at = _ago(paused)
        if resumed is not None:
            row.resumed_at = _ago(resumed)
        db.commit()


def _missed(api: TestClient, pid: str) -> list[str]:
    return [a["message"] for a in api.get(f"/api/patients/{pid}/alerts").json() if a["kind"] == "missed_sessions"]


def test_a_three_week_pause_resumed_yesterday_is_not_missed(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # 3 a week
    _backdate(store, knee["id"], made=40)
    for days in (38, 35, 33, 29):
        _session(api, pid, days, rx=knee)
    _pause(api, store, pid, paused=22, resumed=1)
    # the last session 29 days ago, but the plan was paused from 22 days ago to yesterday: not missed
    assert _missed(api, pid) == []
    listed = api.get("/api/patients").json()
    assert [p["open_alerts"] for p in listed if p["id"] == pid] == [0]
    for p in _both(api, pid):
        # 7 days: 1 unpaused day asks 3/7 of a session, none done
        assert p["adherence_7d"] == 0.0, p
        # 30 days: 9 unpaused days ask 3 * 9 / 7 sessions; one done (29 days ago)
        assert p["adherence_30d"] == pytest.approx(1 / (3 * 9 / 7), abs=0.002), p
    _session(api, pid, 0.5, rx=knee)
    for p in _both(api, pid):
        assert p["adherence_7d"] == 1.0, p  # 1 done of the 3/7 asked: all of it
        assert p["adherence_30d"] == pytest.approx(2 / (3 * 9 / 7), abs=0.002), p
    cal = api.get(f"/api/patients/{pid}/adherence?days=56&tz=UTC").json()
    today = datetime.now(UTC).date()
    paused = {date.fromisoformat(d["date"]) for d in cal["days"] if d["paused"]}
    # every day wholly inside the pause is paused; of its first and last day, the one it covered most of
    whole = {today - timedelta(days=n) for n in range(2, 22)}
    assert whole <= paused and len(paused - whole) == 1 and (paused - whole) <= {today - timedelta(days=22),
                                                                                today - timedelta(days=1)}
    assert len(cal["pauses"]) == 1 and cal["pauses"][0]["resumed_at"] is not None
    weeks = cal["weeks"]
    # the calendar asks for nothing on the paused days: whole weeks of pause ask 0, and its total asks what the
    # unpaused days do
    all_paused = [w for w in weeks if w["paused_days"] == 7]
    assert len(all_paused) >= 2 and all(w["planned"] == 0 and w["plan_days"] == 0 for w in all_paused)
    for w in weeks:
        assert w["plan_days"] + w["paused_days"] == sum(
            1 for i in range(7) if date.fromisoformat(w["start"]) + timedelta(days=i) >= today - timedelta(days=40))


def test_paused_twice_counts_from_the_last_resume_and_sessions_done_while_paused_count(
        api: TestClient, store: Store) -> None:
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _backdate(store, knee["id"], made=28)
    _pause(api, store, pid, paused=20, resumed=15)
    _pause(api, store, pid, paused=10, resumed=5)
    _session(api, pid, 17, rx=knee)  # done while paused: still done
    _session(api, pid, 12, rx=knee)
    for p in _both(api, pid):
        # 28 days of plan less 10 paused: 18 days ask 3 * 18 / 7
        assert p["adherence_30d"] == pytest.approx(2 / (3 * 18 / 7), abs=0.002), p
        assert p["adherence_7d"] == 0.0, p  # 5 unpaused days, none done
    # the last session 12 days ago, the last resume 5 days ago: 5 days, more than the 4.7 allowed
    (message,) = _missed(api, pid)
    assert message.startswith("No session of the plan for 5 days since the plan was resumed; the plan asks for 3 "
                              "a week"), message
    listed = {p["id"]: p for p in api.get("/api/patients").json()}[pid]
    assert listed["open_alerts"] == 1
    assert _missed(api, pid) == [message]  # the list wrote the same text


def test_a_pause_across_the_windows_start(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _backdate(store, knee["id"], made=40)
    _pause(api, store, pid, paused=10, resumed=3)
    _session(api, pid, 1, rx=knee)
    for p in _both(api, pid):
        assert p["adherence_7d"] == pytest.approx(1 / (3 * 3 / 7), abs=0.002), p  # 3 unpaused days of the 7
        assert p["adherence_30d"] == pytest.approx(1 / (3 * 23 / 7), abs=0.002), p  # 23 of the 30
    assert _missed(api, pid) == []


def test_paused_all_week_asks_for_nothing(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _backdate(store, knee["id"], made=40)
    _pause(api, store, pid, paused=10, resumed=None)
    _session(api, pid, 2, rx=knee)
    for p in _both(api, pid):
        assert p["plan_paused"] is True
        assert p["adherence_7d"] is None, p  # nothing was asked in the 7 days
        assert p["adherence_30d"] == pytest.approx(1 / (3 * 20 / 7), abs=0.002), p
    # pausing again while paused records nothing new; resuming closes the open pause
    api.patch(f"/api/patients/{pid}", json={"plan_paused": True})
    api.patch(f"/api/patients/{pid}", json={"plan_paused": False})
    with store.session() as db:
        rows = db.execute(select(PlanPause.paused_at, PlanPause.resumed_at)
                          .where(PlanPause.patient_id == uuid.UUID(pid))).all()
    assert len(rows) == 1 and rows[0][1] is not None and rows[0][1] - rows[0][0] > timedelta(days=9)


def test_0015_gives_a_patient_paused_before_it_an_open_pause_from_then(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0014"):
        sqlite = url.startswith("sqlite")
        paused, running = uuid.uuid4(), uuid.uuid4()
        with engine.begin() as conn:
            for pid, is_paused in ((paused, True), (running, False)):
                conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                                  "VALUES (:id, 'Ada', '', false, :p, :at)"),
                             {"id": pid.hex if sqlite else pid, "p": is_paused, "at": datetime(2026, 1, 1, tzinfo=UTC)})
        engine.dispose()
        before = datetime.now(UTC)
        store = Store(url)  # runs 0015
        try:
            with store.session() as db:
                rows = db.execute(select(PlanPause.patient_id, PlanPause.paused_at, PlanPause.resumed_at)).all()
                assert len(rows) == 1, url
                (pid, at, resumed), = rows
                assert pid == paused and resumed is None and before - timedelta(seconds=1) <= at <= datetime.now(UTC)
            alembic(store.engine, "downgrade", "0014")
            with store.engine.connect() as conn:
                assert "plan_pauses" not in {r[0] for r in conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type='table'" if sqlite else
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
            alembic(store.engine, "upgrade", "head")
        finally:
            store.close()
