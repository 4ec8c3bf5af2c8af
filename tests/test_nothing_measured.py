"""A session with nothing measured (every set without a rep, a best angle or two measured samples: the patient sat
down and stopped, nobody was in view) is not an exercise session: on real SQLite and PostgreSQL databases it counts
as done nowhere — the adherence figures of the patient page and the patient list, the calendar, the missed-sessions
alert — and the calendar shows it apart as started, nothing measured. Recorded as the live coach records: through
romcam.store.live, set by set."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient
from test_plan_start import KNEE, _backdate, _both, _patient, _session

from romcam.store import Store, live


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _live_session(store: Store, pid: str, rx: dict, days_ago: float, *, measured: int = 0) -> None:
    """A live session of one set of the plan that stopped before any rep: ``measured`` samples of the knee
    measured (10 a second), the rest of its frames with nobody in view."""
    sid, at = uuid.uuid4(), _ago(days_ago)
    with store.session() as db:
        live.begin_session(db, session_id=sid, patient_id=uuid.UUID(pid), started_at=at, source="camera 0",
                           demo=False, model="pose_landmarker_full.task", romcam_version="0.1.0")
        set_id = live.begin_set(db, session_id=sid, position=0, started_at=at, exercise=KNEE["exercise"],
                                side=KNEE["side"], mode=KNEE["mode"], posture=KNEE["posture"],
                                prescription_id=uuid.UUID(rx["id"]), prescription_version=rx["version"], fps=10.0)
        t = [i / 10 for i in range(40)]
        angle = [20.0 + i if i < measured else float("nan") for i in range(40)]
        live.put_samples(db, set_id=set_id, t=t, angle=angle, frames=40, view_ok_fraction=0.0)
        live.finish_session(db, session_id=sid, status="interrupted", ended_at=at + timedelta(minutes=2), set_docs=[])


def test_a_session_with_nothing_measured_is_not_done(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # 3 a week
    _backdate(store, knee["id"], made=20)
    _session(api, pid, 8, rx=knee)  # the last session that measured anything
    _live_session(store, pid, knee, 3)
    _live_session(store, pid, knee, 1, measured=1)  # one sample is no movement
    for p in _both(api, pid):
        assert p["adherence_7d"] == 0.0, p  # not 2 of the 3 asked
        assert p["adherence_30d"] == round(1 / (3 * 20 / 7), 3), p
        assert p["open_alerts"] == 1, p
        assert p["last_session_at"] is not None and datetime.fromisoformat(p["last_session_at"]) > _ago(1.01)
    alerts = [a["message"] for a in api.get(f"/api/patients/{pid}/alerts").json() if a["kind"] == "missed_sessions"]
    assert len(alerts) == 1 and alerts[0].startswith("No session of the plan for 8 days since the last one"), alerts
    cal = api.get(f"/api/patients/{pid}/adherence?days=14&tz=UTC").json()
    by_day = {d["date"]: (d["sessions"], d["outside_plan"], d["nothing_measured"]) for d in cal["days"]}
    for days_ago in (1, 3):
        assert by_day[_ago(days_ago).date().isoformat()] == (0, 0, 1), by_day
    assert by_day[_ago(8).date().isoformat()] == (1, 0, 0), by_day
    assert sum(w["sessions"] for w in cal["weeks"]) == 1
    # a live set still recording with the knee measured (samples, no rep yet) is a session done
    _live_session(store, pid, knee, 0.5, measured=30)
    for p in _both(api, pid):
        assert p["adherence_7d"] == round(1 / 3, 3), p
        assert p["open_alerts"] == 0, p
    days = {d["date"]: d for d in api.get(f"/api/patients/{pid}/adherence?days=14&tz=UTC").json()["days"]}
    day = _ago(0.5).date()
    # before noon (UTC) 12 hours ago is yesterday, the day of the empty session a day ago too
    empty_that_day = 1 if _ago(1).date() == day else 0
    assert (days[day.isoformat()]["sessions"], days[day.isoformat()]["nothing_measured"]) == (1, empty_that_day)


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def test_the_last_session_is_the_last_that_measured_something(api: TestClient, store: Store) -> None:
    """The patient page and the patient list give the last session that measured something (the "last session"
    the PT reads beside the missed-sessions alert) and how many begun after it measured nothing."""
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _backdate(store, knee["id"], made=20)
    _session(api, pid, 8, rx=knee)
    for p in _both(api, pid):
        assert (p["unmeasured_since"], _at(p["last_measured_session_at"])) == (0, _at(p["last_session_at"])), p
    measured_at = _at(_both(api, pid)[0]["last_measured_session_at"])
    assert abs(measured_at - _ago(8)) < timedelta(minutes=1), measured_at
    _live_session(store, pid, knee, 3)
    _live_session(store, pid, knee, 1, measured=1)
    for p in _both(api, pid):
        assert _at(p["last_measured_session_at"]) == measured_at, p
        assert p["unmeasured_since"] == 2, p
        assert abs(_at(p["last_session_at"]) - _ago(1)) < timedelta(minutes=1), p  # the field as it was
    _live_session(store, pid, knee, 0.5, measured=30)  # a live set with the knee measured: a session done
    for p in _both(api, pid):
        assert abs(_at(p["last_measured_session_at"]) - _ago(0.5)) < timedelta(minutes=1), p
        assert (p["unmeasured_since"], p["last_measured_session_at"]) == (0, p["last_session_at"]), p
    # a patient who only ever began sessions that measured nothing; a second with none at all
    tried = _patient(api, "Bea")
    rx = api.post(f"/api/patients/{tried}/prescriptions", json=KNEE).json()
    _live_session(store, tried, rx, 2)
    _live_session(store, tried, rx, 1)
    for p in _both(api, tried):
        assert (p["last_measured_session_at"], p["unmeasured_since"]) == (None, 2), p
        assert abs(_at(p["last_session_at"]) - _ago(1)) < timedelta(minutes=1), p
    none = _patient(api, "Cy")
    for p in _both(api, none):
        assert (p["last_session_at"], p["last_measured_session_at"], p["unmeasured_since"]) == (None, None, 0), p


def test_the_patient_lists_queries_do_not_grow_with_its_patients(api: TestClient, store: Store) -> None:
    """The list reads every patient's last session that measured something, and the later ones that measured
    nothing, in the same statements whatever the number of patients (no query per patient)."""
    from test_fhir_queries import _statements

    from romcam.store import service, trends

    def listed() -> tuple[list[dict], int]:
        with store.session() as db:
            patients = service.list_patients(db)
            with _statements(store) as sent:
                out = trends.patient_summaries(db, patients, now=datetime.now(UTC))
        return out, len([s for s in sent if s.lstrip().upper().startswith("SELECT")])

    def add(name: str) -> str:
        pid = _patient(api, name)
        rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
        _session(api, pid, 5, rx=rx)
        _live_session(store, pid, rx, 2)
        return pid

    first = add("Ada")
    few, n_few = listed()
    for name in ("Bea", "Cy", "Dot", "Eve"):
        add(name)
    many, n_many = listed()
    assert (len(many), n_many) == (len(few) + 4, n_few), (n_few, n_many)
    assert all(p["unmeasured_since"] == 1 for p in many if p["name"] != "Me"), many
    [ada] = [p for p in many if p["id"] == uuid.UUID(first)]
    assert abs(ada["last_measured_session_at"] - _ago(5)) < timedelta(minutes=1), ada


def _running_session(store: Store, pid: str, rx: dict, minutes_ago: float, *,
                     set_minutes_ago: float | None = None) -> datetime:
    """A live session as the coach leaves it while it runs — or as a crash leaves it: begun ``minutes_ago``, no end
    time, status ``interrupted``; with a set of the plan begun ``set_minutes_ago`` (nothing measured in it yet: its
    frames so far with nobody in view) or none."""
    sid, at = uuid.uuid4(), datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with store.session() as db:
        live.begin_session(db, session_id=sid, patient_id=uuid.UUID(pid), started_at=at, source="camera 0",
                           demo=False, model="pose_landmarker_full.task", romcam_version="0.1.0")
        if set_minutes_ago is not None:
            set_id = live.begin_set(db, session_id=sid, position=0,
                                    started_at=datetime.now(UTC) - timedelta(minutes=set_minutes_ago),
                                    exercise=KNEE["exercise"], side=KNEE["side"], mode=KNEE["mode"],
                                    posture=KNEE["posture"], prescription_id=uuid.UUID(rx["id"]),
                                    prescription_version=rx["version"], fps=10.0)
            live.put_samples(db, set_id=set_id, t=[i / 10 for i in range(20)], angle=[float("nan")] * 20, frames=20,
                             view_ok_fraction=0.0)
    return at


def test_a_session_still_being_recorded_has_not_measured_nothing(api: TestClient, store: Store) -> None:
    """The PT reading the list while the patient's coach runs a set that has measured nothing yet read "a later
    session, begun today, measured nothing". A session with no end whose start or newest set's start is within the
    hour is being recorded (recording_session_at), not one of those that measured nothing; one with no end and
    nothing begun in it for over an hour (the laptop crashed) measured nothing."""
    pid = _patient(api)
    knee = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _backdate(store, knee["id"], made=20)
    _session(api, pid, 8, rx=knee)  # the last session that measured something
    _live_session(store, pid, knee, 3)  # ended, measured nothing
    measured_at = _at(_both(api, pid)[0]["last_measured_session_at"])
    ended_empty = _at(_both(api, pid)[0]["last_session_at"])
    for p in _both(api, pid):
        assert (p["unmeasured_since"], _at(p["last_unmeasured_session_at"]), p["recording_session_at"]) == (
            1, ended_empty, None), p
    # the coach started a session 5 minutes ago: no set yet
    running = _running_session(store, pid, knee, 5)
    for p in _both(api, pid):
        assert _at(p["last_session_at"]) == running, p  # the newest begun, as before
        assert _at(p["recording_session_at"]) == running, p
        assert (p["unmeasured_since"], _at(p["last_unmeasured_session_at"])) == (1, ended_empty), p
        assert _at(p["last_measured_session_at"]) == measured_at, p
    # a session with no end begun 3 hours ago whose set began 50 minutes ago: still being recorded, the newest
    # being recorded is the one begun 5 minutes ago
    long_one = _running_session(store, pid, knee, 180, set_minutes_ago=50)
    for p in _both(api, pid):
        assert _at(p["recording_session_at"]) == running, p
        assert p["unmeasured_since"] == 1, p
    # a patient whose only session is being recorded, its set begun a minute ago with nothing measured yet
    bea = _patient(api, "Bea")
    bea_rx = api.post(f"/api/patients/{bea}/prescriptions", json=KNEE).json()
    bea_running = _running_session(store, bea, bea_rx, 3, set_minutes_ago=1)
    for p in _both(api, bea):
        assert (p["last_measured_session_at"], p["unmeasured_since"], p["last_unmeasured_session_at"]) == (
            None, 0, None), p
        assert _at(p["recording_session_at"]) == bea_running, p
    # abandoned: no end, begun 2 hours ago, its set 61 minutes ago (the laptop crashed mid-set): measured nothing
    cy = _patient(api, "Cy")
    cy_rx = api.post(f"/api/patients/{cy}/prescriptions", json=KNEE).json()
    crashed = _running_session(store, cy, cy_rx, 120, set_minutes_ago=61)
    no_set = _running_session(store, cy, cy_rx, 90)  # cut off before its first set
    # no end, a set begun 10 minutes ago, but the session begun 13 hours ago: longer than any exercise session
    too_long = _running_session(store, cy, cy_rx, 13 * 60, set_minutes_ago=10)
    for p in _both(api, cy):
        assert (p["last_measured_session_at"], p["unmeasured_since"], p["recording_session_at"]) == (None, 3, None), p
        assert _at(p["last_unmeasured_session_at"]) == no_set > crashed, p
    assert long_one < running
    # the calendar: the session being recorded is not "started, nothing measured" today; the cut-off ones are
    # (one sitting: begun within the hour of each other)

    def nothing_measured(who: str) -> dict[str, int]:
        days = api.get(f"/api/patients/{who}/adherence?days=14&tz=UTC").json()["days"]
        return {d["date"]: d["nothing_measured"] for d in days if d["nothing_measured"]}

    assert nothing_measured(pid) == {ended_empty.date().isoformat(): 1}
    assert nothing_measured(bea) == {}
    cut_off = Counter(at.date().isoformat() for at in (crashed, too_long))  # two sittings, 11 hours apart
    assert nothing_measured(cy) == dict(cut_off)
