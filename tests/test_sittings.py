"""Adherence counts sittings, not stored sessions, on real SQLite and PostgreSQL databases.

- ``romcam analyze --save`` of the knee, the elbow and the shoulder clip one morning stores three sessions;
  the live coach stores the same work as one session with a set per exercise. Both are one sitting: the
  calendar (days and weeks), the patient's adherence figures and the patient list count it once (they read
  "3 / 3" and 100 % for one morning's work).
- A twice-daily plan's morning and evening sessions are two sittings.
- The missed-sessions alert says the time elapsed in days and hours, so it cannot be read against the
  list's calendar days ("7 days ago" for last Monday evening, read on Monday morning, beside "6 days").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.store import Store
from romcam.store.models import Prescription
from romcam.store.seed import synthetic_session
from romcam.store.trends import SITTING_GAP, _times_from_text, elapsed_text, sitting_starts

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}
ELBOW = KNEE | {"exercise": "elbow_flexion", "side": "left", "target_min": 60, "target_max": 130, "safe_max": 145}
SHOULDER = KNEE | {"exercise": "shoulder_abduction", "side": "left", "posture": "standing", "target_min": 100,
                   "target_max": 150, "safe_max": 165}
PLAN = (KNEE, ELBOW, SHOULDER)
T0 = datetime(2026, 10, 5, 9, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("starts, expected", [
    ([], []),
    ([0], [0]),
    ([0, 10, 20], [0]),  # three clips saved ten minutes apart: one sitting
    ([20, 0, 10], [0]),  # in any order
    ([0, 0], [0]),  # two sessions begun the same second
    ([0, 59], [0]),  # less than an hour after the previous began
    ([0, 60], [0, 60]),  # an hour: a new sitting
    ([0, 50, 100], [0]),  # each less than an hour after the previous one: still the same sitting
    ([0, 10 * 60], [0, 600]),  # a twice-daily plan: morning and evening, two sittings
    ([0, 5 * 60, 10 * 60], [0, 300, 600]),  # thrice daily (21 a week): three
    ([0, 10, 10 * 60, 10 * 60 + 10], [0, 600]),  # morning and evening, each saved in two pieces
])  # fmt: skip
def test_sittings_group_sessions_begun_within_an_hour_of_the_previous(starts: list[int],
                                                                      expected: list[int]) -> None:
    assert sitting_starts([_at(m) for m in starts]) == [_at(m) for m in expected]
    assert SITTING_GAP == timedelta(hours=1)


@pytest.mark.parametrize("gap, text", [
    (timedelta(days=6, hours=10, minutes=59), "6 days and 10 hours"),  # rounded down, never up to "7 days"
    (timedelta(days=6, minutes=3), "6 days"),
    (timedelta(days=1, hours=1), "1 day and 1 hour"),
    (timedelta(hours=17, minutes=30), "17 hours"),  # a thrice-daily plan's alert comes after 16 hours
    (timedelta(minutes=5), "0 hours"),
])  # fmt: skip
def test_elapsed_text_says_days_and_hours(gap: timedelta, text: str) -> None:
    assert elapsed_text(gap) == text


@pytest.mark.parametrize("text, expected", [
    ("2026-10-05 09:00:00.000000", [T0]),  # SQLite's stored naive UTC text
    ("2026-10-05 11:00:00+02,2026-10-05 09:10:00.5+00", [T0, _at(10 + 0.5 / 60)]),  # PostgreSQL's, in its zone
])  # fmt: skip
def test_the_patient_lists_start_times_read_back_as_utc(text: str, expected: list[datetime]) -> None:
    assert _times_from_text(text) == expected


# --- every road adherence is read -----------------------------------------------------------------------

def _patient_with_plan(api: TestClient, store: Store, *, per_week: int = 3, days_ago: float = 20) -> tuple[str, dict]:
    """A patient with the three-motion plan, made ``days_ago`` (the API makes it now); its prescriptions by
    exercise."""
    pid = api.post("/api/patients", json={"name": "Ada"}).json()["id"]
    made = datetime.now(UTC) - timedelta(days=days_ago)
    rxs = {}
    for rx in PLAN:
        r = api.post(f"/api/patients/{pid}/prescriptions", json=rx | {"sessions_per_week": per_week})
        assert r.status_code == 201, r.text
        rxs[rx["exercise"]] = r.json()
    with store.session() as db:
        for rx in rxs.values():
            db.get(Prescription, uuid.UUID(rx["id"])).created_at = made
        db.commit()
    return pid, rxs


def _save(api: TestClient, pid: str, when: datetime, rx: dict | None, spec: dict) -> None:
    """One session of one set, as ``romcam analyze --save`` stores a clip (filed under ``rx`` when given)."""
    doc = synthetic_session(uuid.UUID(pid), when, [{k: spec[k] for k in ("exercise", "side", "mode", "posture")}
                                                   | {"peak": 100.0}])
    if rx:
        for s in doc["sets"]:
            s["prescription_id"], s["prescription_version"] = rx["id"], rx["version"]
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text


def _morning(days_ago: int, hour: int = 9) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago) + timedelta(hours=hour)


def _figures(api: TestClient, pid: str) -> dict:
    """What each road says: the calendar's days and weeks, the patient's figures, the patient list's."""
    cal = api.get(f"/api/patients/{pid}/adherence", params={"days": 14, "tz": "UTC"}).json()
    detail = api.get(f"/api/patients/{pid}").json()
    [listed] = [p for p in api.get("/api/patients").json() if p["id"] == pid]
    return {"days": {d["date"]: (d["sessions"], d["outside_plan"]) for d in cal["days"] if d["sessions"]
                     or d["outside_plan"]},
            "weeks": sum(w["sessions"] for w in cal["weeks"]),
            "outside": sum(w["outside_plan"] for w in cal["weeks"]),
            "detail": (detail["adherence_7d"], detail["adherence_30d"]),
            "list": (listed["adherence_7d"], listed["adherence_30d"])}


def test_three_clips_saved_ten_minutes_apart_are_one_sitting_everywhere(api: TestClient, store: Store) -> None:
    """The knee, elbow and shoulder clips of one morning, each saved with ``analyze --save``: one sitting of
    the plan (was 3, and 100 % of a 3-a-week plan's week); filed or not, it is the plan's work."""
    pid, rxs = _patient_with_plan(api, store)
    day = _morning(2)
    _save(api, pid, day, rxs["knee_flexion"], KNEE)
    _save(api, pid, day + timedelta(minutes=10), None, ELBOW)  # not filed: of the plan's motion all the same
    _save(api, pid, day + timedelta(minutes=20), rxs["shoulder_abduction"], SHOULDER)
    f = _figures(api, pid)
    assert f["days"] == {day.date().isoformat(): (1, 0)}
    assert f["weeks"] == 1
    asked_30 = 3 * 20 / 7  # the plan is 20 days old: the 30-day figure counts from its start
    assert f["detail"] == f["list"] == (pytest.approx(1 / 3, abs=0.002), pytest.approx(1 / asked_30, abs=0.002))


def test_a_morning_and_an_evening_session_are_two_sittings(api: TestClient, store: Store) -> None:
    """A twice-daily plan (14 a week): the morning's and the evening's sessions count apart, even when each
    was saved in pieces."""
    pid, rxs = _patient_with_plan(api, store, per_week=14)
    day = _morning(3)
    for start in (day, day + timedelta(hours=9)):
        _save(api, pid, start, rxs["knee_flexion"], KNEE)
        _save(api, pid, start + timedelta(minutes=12), rxs["elbow_flexion"], ELBOW)
    f = _figures(api, pid)
    assert f["days"] == {day.date().isoformat(): (2, 0)}
    assert f["weeks"] == 2
    assert f["detail"] == f["list"] == (pytest.approx(2 / 14, abs=0.002), pytest.approx(2 / (14 * 20 / 7), abs=0.002))


def test_a_week_of_sittings_reads_the_right_adherence(api: TestClient, store: Store) -> None:
    """In the last 7 days of a 3-a-week plan: one morning saved in three pieces, and one day with a morning
    and an evening session: 3 sittings of the 3 asked, 100 %. Work outside the plan groups the same way and
    never counts as done. A day with one morning in three pieces only: 2 of 3 (the old count, 4 sessions, read
    100 %)."""
    pid, rxs = _patient_with_plan(api, store)
    first, second = _morning(5), _morning(2, hour=8)
    for i, spec in enumerate(PLAN):
        _save(api, pid, first + timedelta(minutes=10 * i), rxs[spec["exercise"]], spec)
    _save(api, pid, second, rxs["knee_flexion"], KNEE)
    other_elbow = ELBOW | {"side": "right"}  # not in the plan: outside it, twice in one sitting
    _save(api, pid, second + timedelta(minutes=30), None, other_elbow)
    _save(api, pid, second + timedelta(minutes=40), None, other_elbow)
    f = _figures(api, pid)
    assert f["days"] == {first.date().isoformat(): (1, 0), second.date().isoformat(): (1, 1)}
    assert f["detail"] == f["list"] and f["detail"][0] == pytest.approx(2 / 3, abs=0.002)
    _save(api, pid, second + timedelta(hours=10), rxs["elbow_flexion"], ELBOW)  # the evening's session
    f = _figures(api, pid)
    assert f["days"] == {first.date().isoformat(): (1, 0), second.date().isoformat(): (2, 1)}
    assert (f["weeks"], f["outside"]) == (3, 1)
    assert f["detail"] == f["list"] == (1.0, pytest.approx(3 / (3 * 20 / 7), abs=0.002))


def test_a_sitting_begun_before_the_window_is_not_counted_in_it(api: TestClient, store: Store) -> None:
    """A sitting counts where it began: its pieces saved just after the 7 days' start are not a new one."""
    pid, rxs = _patient_with_plan(api, store)
    begun = datetime.now(UTC) - timedelta(days=7, minutes=20)
    _save(api, pid, begun, rxs["knee_flexion"], KNEE)
    _save(api, pid, begun + timedelta(minutes=40), rxs["elbow_flexion"], ELBOW)  # 7 days less 20 minutes ago
    f = _figures(api, pid)
    assert f["detail"] == f["list"]
    assert f["detail"][0] == 0.0 and f["detail"][1] == pytest.approx(1 / (3 * 20 / 7), abs=0.002)


def test_the_missed_sessions_alert_cannot_be_read_against_the_lists_days(api: TestClient, store: Store) -> None:
    """The list says "7 days ago" (the reader's calendar days) for a session last Monday evening read on
    Monday morning, 6.4 days later; the alert said "for 6 days" beside it. It now says the time elapsed."""
    pid, rxs = _patient_with_plan(api, store)
    last = datetime.now(UTC) - timedelta(days=6, hours=10, minutes=5)
    _save(api, pid, last, rxs["knee_flexion"], KNEE)
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert alert["kind"] == "missed_sessions"
    assert "No session of the plan for 6 days and 10 hours since the last one" in alert["message"], alert["message"]
    [listed] = [p for p in api.get("/api/patients").json() if p["id"] == pid]
    assert listed["open_alerts"] == 1
