"""The REST API (docs/api.md) on real SQLite and PostgreSQL databases, through FastAPI's TestClient."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.catalog import get_motion
from romcam.server.app import create_app
from romcam.server.settings import Settings
from romcam.store import Store
from romcam.store.exports import CSV_COLUMNS
from romcam.store.models import Prescription, Session
from romcam.store.seed import seed_demo, synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": "slowly"}


def _patient(api: TestClient, name: str = "Ada") -> str:
    r = api.post("/api/patients", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _set(peak: float, mode: str = "active", posture: str = "seated", rx: dict | None = None, **kw) -> dict:
    spec = {"exercise": "knee_flexion", "side": "right", "mode": mode, "posture": posture, "peak": peak} | kw
    return spec


def _post_session(api: TestClient, pid: str, when: datetime, sets: list[dict], rx: dict | None = None,
                  **kw) -> dict:
    doc = synthetic_session(uuid.UUID(pid), when, sets, **kw)
    if rx:
        for s in doc["sets"]:
            s["prescription_id"], s["prescription_version"] = rx["id"], rx["version"]
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text
    return doc


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


# --- patients -------------------------------------------------------------------------------------

def test_patients_crud(api: TestClient) -> None:
    [me] = api.get("/api/patients").json()
    assert (me["name"], me["is_local"], me["last_session_at"], me["adherence_7d"]) == ("Me", True, None, None)
    pid = _patient(api, "Ada")
    assert api.get(f"/api/patients/{pid}").json()["name"] == "Ada"
    r = api.patch(f"/api/patients/{pid}", json={"notes": "hospital until May", "plan_paused": True})
    assert r.status_code == 200 and r.json()["plan_paused"] is True and r.json()["notes"] == "hospital until May"
    assert {p["name"] for p in api.get("/api/patients").json()} == {"Me", "Ada"}


# an id no row has, fixed (not uuid4()): test ids must be the same in every pytest-xdist worker
UNKNOWN = "7d3c1f0e-5b9a-4c2d-8e6f-0a1b2c3d4e5f"


@pytest.mark.parametrize("method, path, body, status, loc", [
    ("post", "/api/patients", {"name": ""}, 422, ["body", "name"]),  # empty name
    ("post", "/api/patients", {"name": "x" * 201}, 422, ["body", "name"]),  # too long
    ("patch", "/api/patients/{pid}", {"plan_paused": "sometimes"}, 422, ["body", "plan_paused"]),
    ("get", "/api/patients/not-a-uuid", None, 422, ["path", "patient_id"]),
    ("get", f"/api/patients/{UNKNOWN}", None, 404, None),  # unknown id
    ("get", f"/api/sessions/{UNKNOWN}", None, 404, None),
    ("put", f"/api/prescriptions/{UNKNOWN}", KNEE, 404, None),
    ("post", f"/api/alerts/{UNKNOWN}/snooze", {"days": 3}, 404, None),
])  # fmt: skip
def test_errors_name_the_field_or_say_not_found(api: TestClient, method, path, body, status, loc) -> None:
    pid = _patient(api)
    r = getattr(api, method)(path.format(pid=pid), **({"json": body} if body is not None else {}))
    assert r.status_code == status, r.text
    if loc:
        assert loc in [d["loc"] for d in r.json()["detail"]]
    else:
        assert r.json()["detail"].endswith("not found")


# --- prescriptions --------------------------------------------------------------------------------

def test_prescription_versions(api: TestClient) -> None:
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE)
    assert r.status_code == 201, r.text
    rx = r.json()
    assert (rx["version"], rx["exercise_name"], rx["active"], rx["max_reps"]) == (1, "Knee flexion", True, None)
    r = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | {"target_min": 80, "target_max": 110})
    assert r.status_code == 200 and (r.json()["id"], r.json()["version"]) == (rx["id"], 2)
    versions = api.get(f"/api/prescriptions/{rx['id']}/versions").json()
    assert [(v["version"], v["target_min"]) for v in versions] == [(1, 90), (2, 80)]
    assert [p["version"] for p in api.get(f"/api/patients/{pid}/prescriptions").json()] == [2]
    assert api.delete(f"/api/prescriptions/{rx['id']}").status_code == 204
    assert api.get(f"/api/patients/{pid}/prescriptions").json() == []
    assert len(api.get(f"/api/prescriptions/{rx['id']}/versions").json()) == 2  # history kept


@pytest.mark.parametrize("change, loc", [
    ({"exercise": "knee_flexon"}, ["body", "exercise"]),  # not a catalog id (did you mean...)
    ({"target_min": 130}, ["body", "target_min"]),  # target_min above target_max: the field to change
    ({"target_min": 120}, ["body", "target_min"]),  # an empty band
    ({"safe_max": 100}, ["body", "safe_max"]),  # target_max beyond safe_max: the limit is on the field
    ({"safe_min": 95}, ["body", "safe_min"]),  # safe_min above target_min
    ({"reps": 0}, ["body", "reps"]),
    ({"sessions_per_week": 50}, ["body", "sessions_per_week"]),
    ({"mode": "vigorous"}, ["body", "mode"]),
    ({"posture": "standing", "exercise": "knee_extension"}, ["body", "posture"]),  # knee extension is seated
])  # fmt: skip
def test_bad_prescriptions_are_422_with_the_field(api: TestClient, change: dict, loc: list) -> None:
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | change)
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]], r.text
    assert api.get(f"/api/patients/{pid}/prescriptions").json() == []


def test_each_problem_of_the_band_is_on_its_own_field(api: TestClient) -> None:
    """A form shows each message next to the field to change: every cross-field problem is on its
    field (never on the whole body), all of them at once, with the values in the message."""
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions",
                 json=KNEE | {"target_min": 125, "target_max": 120, "safe_max": 110, "safe_min": 126})
    assert r.status_code == 422, r.text
    found = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert found == {
        ("body", "target_min"): "target_min (125) must be below target_max (120)",
        ("body", "safe_max"): "target_max (120) must not exceed safe_max (110): the safe maximum is the highest "
                              "angle allowed, at or above the top of the target",
        ("body", "safe_min"): "safe_min (126) must not exceed target_min (125): the safe minimum is the lowest angle "
                              "allowed, at or below the bottom of the target; lower it, or leave it out for no limit "
                              "there",
    }, r.text


# --- sessions -------------------------------------------------------------------------------------

def test_ingest_is_idempotent_and_conflicts_on_other_content(api: TestClient) -> None:
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0)])
    first = api.post("/api/sessions", json=doc)
    assert (first.status_code, first.json()) == (201, {"id": doc["id"], "created": True})
    again = api.post("/api/sessions", json=doc)
    assert (again.status_code, again.json()) == (200, {"id": doc["id"], "created": False})
    other = api.post("/api/sessions", json=doc | {"source": "camera 1"})
    assert other.status_code == 409 and "new id" in other.json()["detail"]
    assert len(api.get(f"/api/patients/{pid}/sessions").json()) == 1


def test_a_database_that_takes_no_writes_is_503_and_stores_nothing(postgres_server) -> None:
    url = postgres_server.new_database()
    name = url.rsplit("/", 1)[1]
    store = Store(url)

    def read_only(on: bool) -> None:
        postgres_server._sql(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
        store.engine.dispose()  # new connections take the setting

    try:
        with TestClient(create_app(Settings(db=url), store=store), base_url="http://localhost") as api:
            pid = _patient(api)
            doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0)])
            read_only(True)
            r = api.post("/api/sessions", json=doc)
            assert r.status_code == 503 and r.headers["retry-after"] == "60", r.text
            assert r.json()["detail"] == ("the database cannot take writes now: the database is read-only; nothing "
                                          "was changed, try again later")
            # a PT's read fails too (every look at patient data is audited first): it says why, not 'writes'
            r = api.get(f"/api/patients/{pid}/sessions")
            assert r.status_code == 503 and r.headers["retry-after"] == "60", r.text
            assert r.json()["detail"] == ("cannot show this now: the database is read-only, and every look at patient "
                                          "data is written to the audit log first — make the database writable, "
                                          "then try again")
            read_only(False)
            again = api.post("/api/sessions", json=doc)
            assert (again.status_code, again.json()["created"]) == (201, True), "the failed request stored nothing"
            assert len(api.get(f"/api/patients/{pid}/sessions").json()) == 1
    finally:
        store.close()


def test_malformed_session_is_422_with_the_field_named(api: TestClient) -> None:
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0), _set(100.0)])
    doc["sets"][1]["side"] = "middle"
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422
    assert ["body", "sets", 1, "side"] in [d["loc"] for d in r.json()["detail"]]


@pytest.mark.parametrize("breakage, loc", [
    (lambda s: s.update(exercise="knee_bend"), ["body", "sets", 1, "exercise"]),  # not in the catalog
    (lambda s: s.update(prescription_id=str(uuid.uuid4()), prescription_version=1),
     ["body", "sets", 1, "prescription_id"]),  # no such prescription (found only in the database)
])  # fmt: skip
def test_a_bad_later_set_stores_nothing(api: TestClient, breakage, loc) -> None:
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0), _set(100.0)])
    breakage(doc["sets"][1])
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]]
    assert api.get(f"/api/sessions/{doc['id']}").status_code == 404
    assert api.get(f"/api/patients/{pid}/sessions").json() == []


def _strip_peak_seen(doc: dict) -> dict:
    """The document as a romcam from before ``peak_seen`` sent it (no such field, in reps or sets)."""
    old = json.loads(json.dumps(doc))
    for s in old["sets"]:
        s.pop("best_seen", None)
        for r in s["reps"]:
            del r["peak_seen"]
    return old


def test_a_rep_whose_furthest_point_was_not_seen_says_so_and_its_set_too(api: TestClient) -> None:
    """The knee straightened under a caregiver's hands: the rep's peak angle is the furthest seen, a bound."""
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0), _set(112.0, unseen_s=0.6)])
    hidden = doc["sets"][1]
    assert [r["peak_seen"] for r in hidden["reps"]] == [False, False, False]
    hidden["reps"][0]["peak_seen"] = True  # one rep seen, two not: the set's best is still a bound
    hidden["best_seen"] = True  # what the document claims for the set is not trusted: its reps decide
    assert api.post("/api/sessions", json=doc).status_code == 201
    [listed] = api.get(f"/api/patients/{pid}/sessions").json()
    assert [s["best_seen"] for s in listed["sets"]] == [True, False]
    seen, unseen = api.get(f"/api/sessions/{doc['id']}").json()["sets"]
    assert [r["peak_seen"] for r in seen["reps"]] == [True, True, True]
    assert [r["peak_seen"] for r in unseen["reps"]] == [True, False, False]
    assert (seen["best_seen"], unseen["best_seen"]) == (True, False)
    assert unseen["best_angle"] < 110  # the furthest point seen, short of the 112° reached


def test_an_old_document_without_peak_seen_reads_as_seen_and_hashes_as_before(api: TestClient) -> None:
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(1), [_set(110.0)])
    old = _strip_peak_seen(doc)
    r = api.post("/api/sessions", json=old)
    assert r.status_code == 201, r.text
    [s] = api.get(f"/api/sessions/{doc['id']}").json()["sets"]
    assert s["best_seen"] is True and [r["peak_seen"] for r in s["reps"]] == [True, True, True]
    # a laptop re-sending the session it sent before peak_seen existed, now with "peak_seen": true on each rep,
    # sends the same document: no conflict (the canonical form leaves a true peak_seen out)
    resent = json.loads(json.dumps(old))
    for rep in resent["sets"][0]["reps"]:
        rep["peak_seen"] = True
    again = api.post("/api/sessions", json=resent)
    assert (again.status_code, again.json()["created"]) == (200, False), again.text
    # while a rep newly marked not seen is other content
    resent["sets"][0]["reps"][0]["peak_seen"] = False
    assert api.post("/api/sessions", json=resent).status_code == 409


def test_session_for_an_unknown_patient_is_404(api: TestClient) -> None:
    doc = synthetic_session(uuid.uuid4(), _days_ago(1), [_set(110.0)])
    r = api.post("/api/sessions", json=doc)
    assert (r.status_code, r.json()) == (404, {"detail": "patient not found"})


def test_session_list_and_detail(api: TestClient) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    old = _post_session(api, pid, _days_ago(3), [_set(105.0)], rx=rx)
    new = _post_session(api, pid, _days_ago(1), [_set(112.0)], rx=rx)
    listed = api.get(f"/api/patients/{pid}/sessions").json()
    assert [s["id"] for s in listed] == [new["id"], old["id"]]  # newest first
    s = listed[0]["sets"][0]
    assert (s["exercise"], s["mode"], s["reps_full"], s["reps_partial"]) == ("knee_flexion", "active", 3, 0)
    assert s["best_angle"] == s["max_angle"] == pytest.approx(112, abs=2)
    assert len(api.get(f"/api/patients/{pid}/sessions?limit=1").json()) == 1
    detail = api.get(f"/api/sessions/{new['id']}").json()
    [d] = detail["sets"]
    assert (d["target_min"], d["target_max"], d["safe_max"], d["prescription_version"]) == (90, 120, 135, 1)
    assert len(d["reps"]) == 3 and set(d["reps"][0]) >= {"start", "peak", "end", "max_angle", "min_angle",
                                                           "hold_s", "partial", "below_target"}
    assert len(d["samples"]["t"]) == len(d["samples"]["angle"]) == len(new["sets"][0]["samples"])
    duration = d["samples"]["t"][-1] - d["samples"]["t"][0]
    assert len(d["samples"]["t"]) / duration >= 10  # at least 10 samples a second


# --- trends, adherence, alerts --------------------------------------------------------------------

def test_trends_keep_active_and_passive_apart_and_old_targets(api: TestClient) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _post_session(api, pid, _days_ago(6), [_set(100.0), _set(130.0, mode="passive", posture="lying")])
    _post_session(api, pid, _days_ago(4), [_set(102.0)], rx=rx)
    rx2 = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | {"target_min": 80, "target_max": 110}).json()
    # the better set counts; the other end is the furthest any set got there (the first set's 3°)
    _post_session(api, pid, _days_ago(2), [_set(104.0, rest=3.0), _set(108.0, rest=12.0)], rx=rx2)
    t = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()
    assert (t["works"], t["normal"]["max"]) == ("max", 135)  # the catalog's normal range
    series = {(s["mode"], s["posture"]): s["points"] for s in t["series"]}
    assert set(series) == {("active", "seated"), ("passive", "lying")}
    active = series[("active", "seated")]
    assert [round(p["best_angle"]) for p in active] == pytest.approx([100, 102, 108], abs=2)
    assert [(p["prescription_version"], p["target_min"]) for p in active] == [(None, None), (1, 90), (2, 80)]
    assert active[-1]["min_angle"] == pytest.approx(12, abs=2)  # the best set's own range
    assert active[-1]["other_end"] == pytest.approx(3, abs=2)
    only = api.get(f"/api/patients/{pid}/trends",
                   params={"exercise": "knee_flexion", "side": "right", "mode": "passive"}).json()
    assert [s["mode"] for s in only["series"]] == ["passive"]
    bad = api.get(f"/api/patients/{pid}/trends", params={"exercise": "kneeflexion", "side": "right"})
    assert bad.status_code == 422 and ["query", "exercise"] in [d["loc"] for d in bad.json()["detail"]]


def _plan_made(store: Store, rx_id: str, days_ago: float) -> datetime:
    """Backdate a prescription (the API makes them now) as if the PT had made it ``days_ago``."""
    at = _days_ago(days_ago)
    with store.session() as db:
        db.get(Prescription, uuid.UUID(rx_id)).created_at = at
        db.commit()
    return at


def _listed(api: TestClient, pid: str) -> dict:
    return {p["id"]: p for p in api.get("/api/patients").json()}[pid]


def test_adherence(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # 3 a week
    started = _plan_made(store, rx["id"], 20)
    for days in (1.2, 3.2, 10.2, 25.0):  # the last before the plan existed: not counted against it
        _post_session(api, pid, _days_ago(days), [_set(100.0)])
    _post_session(api, pid, _days_ago(2.2), [_set(100.0)], demo=True)  # demo sessions do not count
    a = api.get(f"/api/patients/{pid}/adherence?days=14").json()
    assert a["prescribed_per_week"] == 3 and len(a["days"]) == 14
    assert sum(d["sessions"] for d in a["days"]) == 3
    assert datetime.fromisoformat(a["plan_started_at"]) == started
    for p in (api.get(f"/api/patients/{pid}").json(), _listed(api, pid)):  # the detail and the list agree
        assert p["adherence_7d"] == pytest.approx(2 / 3, abs=0.01)
        assert p["adherence_30d"] == pytest.approx(3 / (3 * 20 / 7), abs=0.01)  # 20 days of plan, not 30
        assert datetime.fromisoformat(p["plan_started_at"]) == started


@pytest.mark.parametrize("plan_days, sessions, expected_7d, expected_30d", [
    (0.1, [0.05], 1.0, 1.0),  # a plan made this morning, done once: on track (was 33 % and 8 %)
    (0.1, [], 0.0, 0.0),
    (3.0, [2.5], 1 / (3 * 3 / 7), 1 / (3 * 3 / 7)),  # 1 of the 1.3 asked in 3 days
    (10.0, [9.0, 5.0, 1.0], 2 / 3, 3 / (3 * 10 / 7)),
    (40.0, [35.0, 1.0], 1 / 3, 1 / (3 * 30 / 7)),  # an old plan: the whole 7 and 30 days
])  # fmt: skip
def test_adherence_counts_from_the_plans_start(api: TestClient, store: Store, plan_days, sessions, expected_7d,
                                               expected_30d) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    _plan_made(store, rx["id"], plan_days)
    for days in sessions:
        _post_session(api, pid, _days_ago(days), [_set(100.0)])
    for p in (api.get(f"/api/patients/{pid}").json(), _listed(api, pid)):
        assert (p["adherence_7d"], p["adherence_30d"]) == (pytest.approx(expected_7d, abs=0.002),
                                                           pytest.approx(expected_30d, abs=0.002))


@pytest.mark.parametrize("weekday, per_week, asked", [
    (5, 3, 1),  # started on a Saturday: 3 × 2/7 = 0.86 asked, shown as "0 / 0.9"; now one whole session
    (6, 3, 1),  # on a Sunday: 0.43 of a session, still one (a plan asks for something)
    (3, 3, 2),  # on a Thursday: 1.71 → 2
    (2, 5, 4),  # 5 a week from a Wednesday: 3.57 → 4
    (0, 3, 3),  # on a Monday: the whole week's
])  # fmt: skip
def test_the_calendars_first_week_asks_whole_sessions(api: TestClient, store: Store, weekday: int, per_week: int,
                                                      asked: int) -> None:
    """A plan made mid-week: its first calendar week asked for a prorated fraction, read on the PT's page as
    "0 / 0.9" sessions. Each week now says the whole sessions it asks for and the days the plan held."""
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | {"sessions_per_week": per_week}).json()
    today = datetime.now(UTC).date()
    first_monday = today - timedelta(days=today.weekday() + 7)  # last week's Monday: a past, whole week
    start = datetime.combine(first_monday + timedelta(days=weekday), datetime.min.time(), UTC) + timedelta(hours=12)
    with store.session() as db:
        db.get(Prescription, uuid.UUID(rx["id"])).created_at = start
        db.commit()
    _post_session(api, pid, start + timedelta(hours=2), [_set(100.0)])
    if weekday:  # a session that week before the plan's day: shown on its day, not done against the plan
        _post_session(api, pid, datetime.combine(first_monday, datetime.min.time(), UTC) + timedelta(hours=9),
                      [_set(100.0)])
    a = api.get(f"/api/patients/{pid}/adherence", params={"days": 21, "tz": "UTC"}).json()
    weeks = {w["start"]: w for w in a["weeks"]}
    assert [w["start"] for w in a["weeks"]] == sorted(weeks) and len(weeks) in (3, 4)
    first = weeks[first_monday.isoformat()]
    assert (first["planned"], first["plan_days"], first["sessions"]) == (asked, 7 - weekday, 1)
    before = weeks[(first_monday - timedelta(days=7)).isoformat()]
    assert (before["planned"], before["plan_days"]) == (0, 0)  # before the plan: nothing asked
    this = weeks[(first_monday + timedelta(days=7)).isoformat()]
    assert (this["planned"], this["plan_days"]) == (per_week, 7)
    assert all(isinstance(w["planned"], int) for w in a["weeks"])
    # the adherence percentage keeps its meaning: done / what the days since the plan's start asked
    held = (datetime.now(UTC) - start) / timedelta(days=7)
    assert api.get(f"/api/patients/{pid}").json()["adherence_30d"] == pytest.approx(min(1, 1 / (per_week * held)),
                                                                                   abs=0.002)


def test_the_calendar_without_a_plan_asks_nothing(api: TestClient) -> None:
    pid = _patient(api)
    a = api.get(f"/api/patients/{pid}/adherence", params={"days": 7, "tz": "UTC"}).json()
    assert a["weeks"] and all(w["planned"] is None and w["plan_days"] == 7 for w in a["weeks"])


def test_adherence_counts_only_sessions_of_the_plan(api: TestClient, store: Store) -> None:
    """A session of a motion the plan does not hold (``analyze --save`` of another joint, a live session with
    ``--exercise``) is shown apart, never counted as done against the plan; a session with one set of the
    plan counts once, whatever else it holds; a set filed under an ended prescription was of the plan then."""
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()  # right knee, active, seated, 3 a week
    _plan_made(store, rx["id"], 20)
    elbow = {"exercise": "elbow_flexion", "side": "left"}
    _post_session(api, pid, _days_ago(1.2), [_set(100.0)])  # the plan's motion, not filed: of the plan
    _post_session(api, pid, _days_ago(2.2), [_set(100.0, **elbow)])  # another joint: outside the plan
    _post_session(api, pid, _days_ago(3.2), [_set(100.0, side="left")])  # the other knee: outside
    _post_session(api, pid, _days_ago(4.2), [_set(100.0, posture="standing")])  # standing, not seated: outside
    _post_session(api, pid, _days_ago(5.2), [_set(100.0, **elbow), _set(100.0)])  # one set of the plan: counts
    _post_session(api, pid, _days_ago(10.2), [_set(100.0)], rx=rx)  # filed under the prescription
    a = api.get(f"/api/patients/{pid}/adherence?days=14").json()
    assert sum(d["sessions"] for d in a["days"]) == 3
    assert sum(d["outside_plan"] for d in a["days"]) == 3
    by_day = {d["date"]: (d["sessions"], d["outside_plan"]) for d in a["days"]}
    assert by_day[_days_ago(2.2).date().isoformat()] == (0, 1)
    for p in (api.get(f"/api/patients/{pid}").json(), _listed(api, pid)):  # the detail and the list agree
        assert p["adherence_7d"] == pytest.approx(2 / 3, abs=0.01)  # not 5 of 3 (capped at 100 %)
        assert p["adherence_30d"] == pytest.approx(3 / (3 * 20 / 7), abs=0.01)
    # the plan ends: the filed session stays done (it was of the plan then); the unfiled ones no longer match
    api.delete(f"/api/prescriptions/{rx['id']}")
    a = api.get(f"/api/patients/{pid}/adherence?days=14").json()
    assert (sum(d["sessions"] for d in a["days"]), sum(d["outside_plan"] for d in a["days"])) == (1, 5)


def test_missed_sessions_counts_from_the_last_session_of_the_plan(api: TestClient) -> None:
    """Work outside the plan does not stand in for the plan's sessions: 6 days since the last knee session
    is missed, even with an elbow session yesterday."""
    pid = _patient(api)
    api.post(f"/api/patients/{pid}/prescriptions", json=KNEE)  # 3 a week: more than 4.7 days is missed
    _post_session(api, pid, _days_ago(6), [_set(110.0)])
    _post_session(api, pid, _days_ago(1), [_set(110.0, exercise="elbow_flexion", side="left")])
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert alert["kind"] == "missed_sessions"
    assert "No session of the plan for 6 days" in alert["message"], alert["message"]
    [listed] = [p for p in api.get("/api/patients").json() if p["id"] == pid]
    assert listed["open_alerts"] == 1


def test_sessions_held_answers_only_for_the_patients_own_sessions(api: TestClient) -> None:
    """What a laptop asks after a clinic's restore from a backup: which of the sessions it sent are here."""
    ada, bea = _patient(api, "Ada"), _patient(api, "Bea")
    mine = [uuid.UUID(_post_session(api, ada, _days_ago(d), [_set(100.0)])["id"]) for d in (3, 2)]
    hers = uuid.UUID(_post_session(api, bea, _days_ago(1), [_set(100.0)])["id"])
    lost = uuid.uuid4()
    r = api.post(f"/api/patients/{ada}/sessions/held", json={"ids": [str(i) for i in (lost, mine[1], hers, mine[0],
                                                                                        mine[1])]})
    assert r.status_code == 200, r.text
    assert r.json() == {"held": [str(mine[1]), str(mine[0])]}  # in the order asked, once; never Bea's
    assert api.post(f"/api/patients/{ada}/sessions/held", json={"ids": []}).json() == {"held": []}
    too_many = api.post(f"/api/patients/{ada}/sessions/held", json={"ids": [str(uuid.uuid4())] * 1001})
    assert too_many.status_code == 422 and ["body", "ids"] in [d["loc"] for d in too_many.json()["detail"]]
    assert api.post(f"/api/patients/{uuid.uuid4()}/sessions/held", json={"ids": []}).status_code == 404


def test_checkins_held_answers_only_for_the_patients_own_checkins(api: TestClient) -> None:
    """A clinic restored from a backup made between a session's upload and its check-in's holds the
    session, not the check-in: the laptop asks which of the check-ins it sent are here."""
    ada, bea = _patient(api, "Ada"), _patient(api, "Bea")
    sessions = {who: _post_session(api, who, _days_ago(1), [_set(100.0)])["id"] for who in (ada, bea)}
    checkins = {}
    for who, sid in sessions.items():
        checkins[who] = str(uuid.uuid4())
        body = {"pain": 2, "tiredness": 3, "cramps": False, "note": "", "created_at": _days_ago(1).isoformat()}
        assert api.put(f"/api/sessions/{sid}/checkins/{checkins[who]}", json=body).status_code == 201
    lost = str(uuid.uuid4())
    r = api.post(f"/api/patients/{ada}/checkins/held", json={"ids": [lost, checkins[bea], checkins[ada],
                                                                     checkins[ada]]})
    assert r.status_code == 200, r.text
    assert r.json() == {"held": [checkins[ada]]}  # once; never Bea's
    assert api.post(f"/api/patients/{ada}/checkins/held", json={"ids": [sessions[ada]]}).json() == {"held": []}
    too_many = api.post(f"/api/patients/{ada}/checkins/held", json={"ids": [lost] * 1001})
    assert too_many.status_code == 422 and ["body", "ids"] in [d["loc"] for d in too_many.json()["detail"]]
    assert api.post(f"/api/patients/{uuid.uuid4()}/checkins/held", json={"ids": []}).status_code == 404


def test_sessions_page_through_a_long_history(api: TestClient) -> None:
    pid = _patient(api)
    same = _days_ago(5)
    posted = [_post_session(api, pid, _days_ago(d), [_set(100.0)])["id"] for d in (9, 8, 7, 6)]
    posted += [_post_session(api, pid, same, [_set(100.0)])["id"] for _ in range(3)]  # at the same second: by id
    newest_first = [s["id"] for s in api.get(f"/api/patients/{pid}/sessions", params={"limit": 100}).json()]
    assert len(newest_first) == 7 and set(newest_first) == set(posted)
    pages, after = [], None
    for _ in range(10):  # 4 pages and an empty one; more would be a cursor that does not move
        page = api.get(f"/api/patients/{pid}/sessions", params={"limit": 2} | ({"after": after} if after else {}))
        assert page.status_code == 200, page.text
        ids = [s["id"] for s in page.json()]
        if not ids:
            break
        pages.append(ids)
        after = ids[-1]
    assert [i for p in pages for i in p] == newest_first and [len(p) for p in pages] == [2, 2, 2, 1]
    other = _post_session(api, _patient(api, "Bea"), _days_ago(1), [_set(100.0)])["id"]
    for bad in (other, str(uuid.uuid4())):  # another patient's session, or none: a 422 naming the field
        r = api.get(f"/api/patients/{pid}/sessions", params={"after": bad})
        assert r.status_code == 422 and ["query", "after"] in [d["loc"] for d in r.json()["detail"]], r.text


def _last_evening(zone: str, hour: int = 20) -> datetime:
    """The latest ``hour`` o'clock in ``zone`` at least an hour ago (a session whose day differs by zone)."""
    from zoneinfo import ZoneInfo

    local = datetime.now(ZoneInfo(zone)) - timedelta(hours=1)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at <= local else at - timedelta(days=1)


def test_adherence_calendar_days_are_the_readers(api: TestClient) -> None:
    pid = _patient(api)
    api.post(f"/api/patients/{pid}/prescriptions", json=KNEE)
    evening = _last_evening("America/Denver")  # 8 pm in Denver is 2 or 3 am the next day in UTC
    _post_session(api, pid, evening, [_set(100.0)])

    def day_of_session(tz: str) -> str:
        a = api.get(f"/api/patients/{pid}/adherence", params={"days": 5, "tz": tz})
        assert a.status_code == 200, a.text
        [day] = [d["date"] for d in a.json()["days"] if d["sessions"]]
        return day

    from zoneinfo import ZoneInfo

    assert day_of_session("America/Denver") == evening.astimezone(ZoneInfo("America/Denver")).date().isoformat()
    assert day_of_session("UTC") == evening.astimezone(UTC).date().isoformat() != day_of_session("America/Denver")
    assert day_of_session("Asia/Tokyo") == evening.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 65])
def test_adherence_unknown_time_zone_is_a_422(api: TestClient, tz: str) -> None:
    pid = _patient(api)
    r = api.get(f"/api/patients/{pid}/adherence", params={"tz": tz})
    assert r.status_code == 422 and ["query", "tz"] in [d["loc"] for d in r.json()["detail"]], r.text


def _series(api: TestClient, pid: str, peaks: list[float], rx: dict | None = None, every_days: float = 2.3) -> None:
    n = len(peaks)
    for i, peak in enumerate(peaks):
        _post_session(api, pid, _days_ago(0.5 + every_days * (n - 1 - i)), [_set(peak)], rx=rx)


KNEE_NOISE = get_motion("knee_flexion").measurement_noise_deg
DECLINE = [110, 112, 109, 111, 110] + [110 - KNEE_NOISE - 8 + d for d in (1, -1, 0)]  # 8° beyond the noise


def test_a_decline_beyond_the_noise_fires_an_alert_worded_for_the_pt(api: TestClient) -> None:
    pid = _patient(api)
    _series(api, pid, DECLINE)
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert (alert["kind"], alert["exercise"], alert["side"], alert["mode"], alert["posture"], alert["status"]) == \
        ("decline", "knee_flexion", "right", "active", "seated", "open")
    assert alert["message"].startswith("Right knee flexion (active, seated): median of the last 3 sessions")
    assert "below the 4 weeks before" in alert["message"]
    assert f"measurement noise ±{KNEE_NOISE:g}°" in alert["message"]
    assert api.get(f"/api/patients/{pid}").json()["open_alerts"] == 1


def test_a_noisy_but_stable_series_does_not_alert(api: TestClient) -> None:
    pid = _patient(api)
    a = 0.9 * KNEE_NOISE  # wobbles by almost the noise, no trend: the last 3's median is a below the baseline
    _series(api, pid, [110, 110 - a, 110 + a, 110 - a, 110 + a, 110 - a, 110 + a, 110 - a])
    assert api.get(f"/api/patients/{pid}/alerts").json() == []


@pytest.mark.parametrize(("unseen_s", "alerts"), [
    (0.0, ["decline"]),  # the last 3 sessions' worse best angles were measured: a decline
    # the same sessions with the bent knee out of view at each peak: the worse angles are the furthest points
    # seen, bounds, not measurements, and raise no alert
    (0.6, []),
])
def test_a_decline_counts_only_sessions_whose_furthest_point_was_seen(api: TestClient, unseen_s: float,
                                                                       alerts: list[str]) -> None:
    pid = _patient(api)
    n = len(DECLINE)
    for i, peak in enumerate(DECLINE):
        hidden = {"unseen_s": unseen_s} if i >= n - 3 else {}
        _post_session(api, pid, _days_ago(0.5 + 2.3 * (n - 1 - i)), [_set(peak, **hidden)])
    got = api.get(f"/api/patients/{pid}/alerts").json()
    assert [a["kind"] for a in got] == alerts, got
    t = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()
    [series] = t["series"]
    assert [p["best_seen"] for p in series["points"]] == [True] * (n - 3) + [not unseen_s] * 3
    # the unseen best angles are no better than the seen ones (the alert is not spared by the numbers)
    assert max(p["best_angle"] for p in series["points"][-3:]) < 110 - KNEE_NOISE


def test_a_decline_leaves_out_the_unseen_sessions_and_says_so(api: TestClient) -> None:
    """Sessions not seen between seen ones are skipped: the last 3 seen sessions still show the decline."""
    pid = _patient(api)
    peaks = DECLINE[:5] + [DECLINE[5], 60.0, DECLINE[6], DECLINE[7]]
    n = len(peaks)
    for i, peak in enumerate(peaks):
        hidden = {"unseen_s": 0.6} if i == 6 else {}
        _post_session(api, pid, _days_ago(0.5 + 2.3 * (n - 1 - i)), [_set(peak, **hidden)])
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert alert["kind"] == "decline"
    assert alert["message"].endswith("; 1 session left out: its furthest point was not seen)"), alert["message"]


ELBOW_RETURN_NOISE = get_motion("elbow_flexion").return_noise_deg
KNEE_EXT = get_motion("knee_extension")


@pytest.mark.parametrize(("exercise", "rests", "alerts"), [
    # an elbow whose peaks hold but which straightens less and less: its low end rises beyond that end's noise
    ("elbow_flexion", [5, 6, 4, 5, 5] + [5 + ELBOW_RETURN_NOISE + 6 + d for d in (1, -1, 0)], ["other_end"]),
    # the same, within the noise: nothing
    ("elbow_flexion", [5, 6, 4, 5, 5] + [5 + 0.8 * ELBOW_RETURN_NOISE + d for d in (1, -1, 0)], []),
    # a straightening better than before is no alert either
    ("elbow_flexion", [25, 24, 26, 25, 25, 5, 6, 4], []),
    # seated knee extension works the low end: its other end is the bend back, which falls as it is lost
    ("knee_extension", [90, 92, 89, 91, 90] + [90 - KNEE_EXT.return_noise_deg - 6 + d for d in (1, -1, 0)],
     ["other_end"]),
])
def test_the_other_end_of_the_range_narrowing_beyond_its_noise_alerts(api: TestClient, exercise: str,
                                                                       rests: list[float], alerts: list[str]) -> None:
    """The end where each rep starts and returns (an elbow's straightening) is where a contracture shows;
    its peaks hold, so only the other-end rule can see it, against that end's own noise."""
    pid = _patient(api)
    peak = 130.0 if exercise == "elbow_flexion" else 5.0
    n = len(rests)
    for i, rest in enumerate(rests):
        _post_session(api, pid, _days_ago(0.5 + 2.3 * (n - 1 - i)),
                      [_set(peak, exercise=exercise, posture="seated", rest=float(rest))])
    got = api.get(f"/api/patients/{pid}/alerts").json()
    assert [a["kind"] for a in got] == alerts, got
    if alerts:
        [alert] = got
        end, where = ("low", "above") if exercise == "elbow_flexion" else ("high", "below")
        assert alert["exercise"] == exercise and alert["mode"] == "active"
        assert f"the {end} end of the range (where each rep starts and returns)" in alert["message"]
        assert f"{where} the 4 weeks before" in alert["message"]
        noise = get_motion(exercise).return_noise_deg
        assert f"measurement noise ±{noise:g}°" in alert["message"]


def test_a_decline_is_compared_within_mode_only(api: TestClient) -> None:
    pid = _patient(api)
    n = 8
    for i in range(n):  # active stays put; passive is done in one session... passive only at the end
        sets = [_set(110.0)] if i < n - 3 else [_set(110.0), _set(95.0, mode="passive", posture="lying")]
        _post_session(api, pid, _days_ago(0.5 + 2.3 * (n - 1 - i)), sets)
    assert api.get(f"/api/patients/{pid}/alerts").json() == []  # passive 95° is not a drop from active 110°


def test_a_snoozed_alert_stays_quiet(api: TestClient) -> None:
    pid = _patient(api)
    _series(api, pid, DECLINE)
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    r = api.post(f"/api/alerts/{alert['id']}/snooze", json={"days": 7})
    assert r.status_code == 200 and r.json()["status"] == "snoozed"
    assert api.post(f"/api/alerts/{alert['id']}/snooze", json={"days": 0}).status_code == 422
    _post_session(api, pid, _days_ago(0.2), [_set(min(DECLINE))])  # another low session: still the same alert
    [after] = api.get(f"/api/patients/{pid}/alerts").json()
    assert (after["id"], after["status"]) == (alert["id"], "snoozed")
    assert after["snoozed_until"] is not None
    assert api.get(f"/api/patients/{pid}").json()["open_alerts"] == 0


def test_missed_sessions_alert_and_a_paused_plan_mutes_it(api: TestClient) -> None:
    pid = _patient(api)
    api.post(f"/api/patients/{pid}/prescriptions", json=KNEE)  # 3 a week: more than 4.7 days is missed
    _post_session(api, pid, _days_ago(6), [_set(110.0)])
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert alert["kind"] == "missed_sessions" and alert["exercise"] is None
    assert "No session of the plan for 6 days" in alert["message"] and "3 a week" in alert["message"]
    api.patch(f"/api/patients/{pid}", json={"plan_paused": True})
    assert api.get(f"/api/patients/{pid}/alerts").json() == []
    api.patch(f"/api/patients/{pid}", json={"plan_paused": False})
    _post_session(api, pid, _days_ago(1), [_set(110.0)])  # back on track: the condition clears
    assert api.get(f"/api/patients/{pid}/alerts").json() == []


def test_seeded_demo_patient(api: TestClient, store: Store) -> None:
    with store.session() as db:
        patient = seed_demo(db)
    pid = str(patient.id)
    listed = {p["id"]: p for p in api.get("/api/patients").json()}[pid]
    assert listed["open_alerts"] == 1 and listed["adherence_7d"] == 1.0
    [alert] = api.get(f"/api/patients/{pid}/alerts").json()
    assert (alert["exercise"], alert["side"]) == ("knee_flexion", "right")
    rxs = api.get(f"/api/patients/{pid}/prescriptions").json()
    assert len(rxs) == 3
    t = api.get(f"/api/patients/{pid}/trends", params={"exercise": "shoulder_abduction", "side": "left"}).json()
    assert sorted((s["mode"], len(s["points"])) for s in t["series"]) == [("active", 24), ("passive", 24)]


# --- exports --------------------------------------------------------------------------------------

def test_csv_export_has_a_row_per_rep(api: TestClient) -> None:
    pid = _patient(api)
    _post_session(api, pid, _days_ago(2), [_set(100.0), _set(130.0, mode="passive", posture="lying")])
    r = api.get(f"/api/patients/{pid}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 6
    assert {"session_id", "set_id", "exercise", "side", "mode", "posture", "prescription_version", "rep",
            "start_s", "peak_s", "end_s", "max_angle_deg", "min_angle_deg", "hold_s", "partial",
            "below_target"} <= set(rows[0])
    assert {r["mode"] for r in rows} == {"active", "passive"}
    assert {r["peak_seen"] for r in rows} == {"true"}


def test_csv_export_gives_times_a_spreadsheet_reads_in_the_readers_zone(api: TestClient) -> None:
    """ISO 8601 with a T and an offset is text to a spreadsheet: the CSV also gives each time as
    "YYYY-MM-DD HH:MM:SS" in the reader's zone (the dashboard's link sends it), named in ``time_zone``."""
    pid = _patient(api)
    at = datetime(2026, 11, 20, 2, 30, 15, tzinfo=UTC)  # 19:30 the evening before in Denver
    _post_session(api, pid, at, [_set(100.0)])
    [utc] = {(r["session_started_at"], r["session_started_local"], r["time_zone"])
             for r in csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text))}
    assert datetime.fromisoformat(utc[0]) == at and utc[1:] == ("2026-11-20 02:30:15", "UTC")
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv",
                                                   params={"tz": "America/Denver"}).text)))
    assert {(r["session_started_local"], r["time_zone"]) for r in rows} == {("2026-11-19 19:30:15", "America/Denver")}
    set_at = datetime.fromisoformat(rows[0]["set_started_at"]).astimezone(ZoneInfo("America/Denver"))
    assert rows[0]["set_started_local"] == set_at.strftime("%Y-%m-%d %H:%M:%S")
    assert datetime.fromisoformat(rows[0]["session_started_at"]) == at  # the UTC column unchanged
    bad = api.get(f"/api/patients/{pid}/export.csv", params={"tz": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "tz"]


def test_csv_export_says_the_utc_offset_of_each_local_time_across_a_clock_change(api: TestClient) -> None:
    """Europe/London's clocks go back at 02:00 BST on 26 October 2025: 01:30 happens twice. The local columns
    stay as a spreadsheet reads them; ``session_utc_offset`` and ``set_utc_offset`` say which 01:30 it was,
    as text a spreadsheet leaves alone ("UTC+01:00": a bare "+01:00" would be read as a formula or a time)."""
    pid = _patient(api)
    first, second = datetime(2025, 10, 26, 0, 30, tzinfo=UTC), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    straddling = datetime(2025, 10, 26, 0, 58, tzinfo=UTC)  # 01:58 BST; its second set 3 minutes on, 01:01 GMT
    for at, sets in ((first, [_set(100.0)]), (second, [_set(100.0)]), (straddling, [_set(100.0), _set(101.0)])):
        _post_session(api, pid, at, sets)
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv",
                                                   params={"tz": "Europe/London"}).text)))
    by_session = {}
    for r in rows:
        by_session.setdefault(datetime.fromisoformat(r["session_started_at"]), []).append(r)
    assert {(r["session_started_local"], r["session_utc_offset"]) for at in (first, second)
            for r in by_session[at]} == {("2025-10-26 01:30:00", "UTC+01:00"), ("2025-10-26 01:30:00", "UTC+00:00")}
    assert [r["session_utc_offset"] for r in by_session[first]] == ["UTC+01:00"] * len(by_session[first])
    assert [r["session_utc_offset"] for r in by_session[second]] == ["UTC+00:00"] * len(by_session[second])
    sets = sorted({(r["set_started_local"], r["set_utc_offset"]) for r in by_session[straddling]}, reverse=True)
    assert sets == [("2025-10-26 01:58:00", "UTC+01:00"), ("2025-10-26 01:01:00", "UTC+00:00")]
    assert {r["session_utc_offset"] for r in by_session[straddling]} == {"UTC+01:00"}
    for r in rows:  # the local time and its offset give back the UTC instant, every row
        for what in ("session", "set"):
            local = datetime.fromisoformat(r[f"{what}_started_local"] + r[f"{what}_utc_offset"].removeprefix("UTC"))
            assert local == datetime.fromisoformat(r[f"{what}_started_at"])
    in_utc = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    assert {(r["session_utc_offset"], r["set_utc_offset"]) for r in in_utc} == {("UTC+00:00", "UTC+00:00")}


def test_csv_export_says_when_each_session_ended_and_how_long_it_lasted(api: TestClient, store: Store) -> None:
    """Each row says its session's end, as the start (ISO 8601 with its offset, and in the reader's zone as a
    spreadsheet reads it, with the zone's offset then) and its length in seconds; empty when it has no end (a live
    session the laptop stopped before it could say when)."""
    pid = _patient(api)
    at = datetime(2026, 11, 20, 2, 30, 15, tzinfo=UTC)  # 19:30:15 the evening before in Denver
    _post_session(api, pid, at, [_set(100.0), _set(110.0)])  # synthetic_session: 3 min a set, and 2 more
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv",
                                                   params={"tz": "America/Denver"}).text)))
    assert len(rows) == 6
    assert {(r["session_ended_at"], r["session_ended_local"], r["session_ended_utc_offset"], r["session_duration_s"])
            for r in rows} == {("2026-11-20T02:38:15+00:00", "2026-11-19 19:38:15", "UTC-07:00", "480")}
    unended = _post_session(api, pid, at + timedelta(days=1), [_set(100.0)])
    with store.session() as db:
        db.get(Session, uuid.UUID(unended["id"])).ended_at = None
        db.commit()
    rows = [r for r in csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text))
            if r["session_id"] == unended["id"]]
    assert rows and {(r["session_ended_at"], r["session_ended_local"], r["session_ended_utc_offset"],
                      r["session_duration_s"]) for r in rows} == {("", "", "", "")}


def test_csv_export_keeps_a_set_without_reps(api: TestClient) -> None:
    """A set in which no rep was counted (a patient who could barely move the knee that day) is in the
    CSV as one row, the rep's columns empty and the set's own range in max/min, as in the FHIR export."""
    pid = _patient(api)
    doc = _post_session(api, pid, _days_ago(1), [_set(100.0), _set(0.0, reps=0)])
    [session] = api.get(f"/api/patients/{pid}/sessions").json()
    counted, empty = session["sets"]
    assert (counted["reps_full"], empty["reps_full"], empty["reps_partial"]) == (3, 0, 0)
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    assert [r["set_id"] for r in rows] == [counted["id"]] * 3 + [empty["id"]]
    last = rows[-1]
    assert (last["session_id"], last["exercise"], last["side"], last["mode"]) == (doc["id"], "knee_flexion", "right",
                                                                                  "active")
    assert {k: last[k] for k in ("rep", "start_s", "peak_s", "end_s", "hold_s", "partial", "below_target",
                                 "peak_seen")} == dict.fromkeys(("rep", "start_s", "peak_s", "end_s", "hold_s",
                                                                 "partial", "below_target", "peak_seen"), "")
    assert (float(last["max_angle_deg"]), float(last["min_angle_deg"])) == (empty["max_angle"], empty["min_angle"])
    fhir = api.get(f"/api/patients/{pid}/export.fhir.json").json()
    assert [e["resource"]["id"] for e in fhir["entry"]] == [counted["id"], empty["id"]]


def test_csv_and_fhir_mark_a_furthest_point_not_seen(api: TestClient) -> None:
    pid = _patient(api)
    _post_session(api, pid, _days_ago(2), [_set(100.0), _set(100.0, unseen_s=0.6),
                                           _set(5.0, exercise="knee_extension", unseen_s=0.6)])
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    assert [r["peak_seen"] for r in rows] == ["true"] * 3 + ["false"] * 6
    assert {r["below_target"] for r in rows} == {""}  # no target; never "false" for an unseen peak either
    bundle = api.get(f"/api/patients/{pid}/export.fhir.json").json()
    seen, flexion, extension = (e["resource"] for e in bundle["entry"])
    assert "comparator" not in seen["valueQuantity"]
    assert seen["note"][0]["text"].startswith("best angle of the set (maximum reached); 3 full")
    # the value is kept, marked as the bound it is: the knee bent at least this far, straightened at least this far
    assert (flexion["valueQuantity"]["comparator"], extension["valueQuantity"]["comparator"]) == (">=", "<=")
    for obs, beyond in ((flexion, "or more"), (extension, "or less")):
        value = obs["valueQuantity"]["value"]
        shown = math.floor(value + 0.5)  # as the dashboard shows it (Math.round: 88.5 → 89): test_whole_degrees.py
        assert obs["note"][0]["text"].startswith(
            "furthest point not seen (the limb was out of view at the end of a repetition): the best angle of the "
            f"set is at least as far as {shown} deg ({shown} deg {beyond}), a bound"), obs["note"][0]
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)  # still valid FHIR


def test_reps_past_the_pts_safe_limits_are_flagged_in_the_session_and_the_csv(api: TestClient) -> None:
    """A rep that went past the safe limit of the prescription version its set followed is flagged to the PT
    (the session's reps, the CSV), as ``romcam analyze`` flags it to the patient: judged on the rep's
    angles against that version's limits, so a later edit of the limit does not change an old session."""
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | {"target_max": 105, "safe_max": 110}).json()
    doc = _post_session(api, pid, _days_ago(2), [_set(115.0), _set(100.0)], rx=rx)
    # the PT raises the limit afterwards: the session stays judged by the limit it was done under
    assert api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | {"safe_max": 130}).status_code == 200
    unfiled = _post_session(api, pid, _days_ago(1), [_set(115.0)])  # no prescription: no limit to judge by
    detail = api.get(f"/api/sessions/{doc['id']}").json()
    over, under = detail["sets"]
    assert over["safe_max"] == 110 and all(r["max_angle"] > 110 for r in over["reps"])
    assert [r["past_safe"] for r in over["reps"]] == ["max"] * 3
    assert [r["past_safe"] for r in under["reps"]] == [None] * 3
    assert [r["past_safe"] for r in api.get(f"/api/sessions/{unfiled['id']}").json()["sets"][0]["reps"]] == [None] * 3
    listed = {s["id"]: s["sets"] for s in api.get(f"/api/patients/{pid}/sessions").json()}
    assert [(x["reps_past_safe_max"], x["reps_past_safe_min"]) for x in listed[doc["id"]]] == [(3, 0), (0, 0)]
    assert [(x["reps_past_safe_max"], x["reps_past_safe_min"]) for x in listed[unfiled["id"]]] == [(0, 0)]
    assert [(x["reps_past_safe_max"], x["reps_past_safe_min"]) for x in detail["sets"]] == [(3, 0), (0, 0)]
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    assert [r["past_safe"] for r in rows] == ["max"] * 3 + [""] * 6
    assert all(float(r["max_angle_deg"]) > 110 for r in rows[:3])
    notes = [[n["text"] for n in e["resource"]["note"]]
             for e in api.get(f"/api/patients/{pid}/export.fhir.json").json()["entry"]]
    assert "3 of 3 reps went past the PT's safe maximum of 110 deg" in notes[0], notes[0]
    assert not any("safe maximum" in text for text in notes[1] + notes[2]), notes


def test_fhir_export_validates_as_r4b(api: TestClient) -> None:
    from fhir.resources.R4B.bundle import Bundle

    pid = _patient(api)
    _post_session(api, pid, _days_ago(2), [_set(100.0), _set(130.0, mode="passive", posture="lying"),
                                           _set(30.0, exercise="neck_lateral_flexion", side="left",
                                                posture="standing")])
    r = api.get(f"/api/patients/{pid}/export.fhir.json")
    assert r.status_code == 200
    bundle = Bundle.model_validate(r.json())  # raises when the document is not valid FHIR
    assert bundle.type == "collection" and len(bundle.entry) == 3
    knee, passive, neck = (e.resource for e in bundle.entry)
    assert knee.get_resource_type() == "Observation"
    codes = [(c.system, c.code) for c in knee.code.coding]
    assert ("http://snomed.info/sct", "364564000") in codes and len(codes) == 2
    [site] = knee.bodySite.coding  # one concept: the joint refined by its laterality
    assert site.code == "49076000:272741003=24028007"
    assert (knee.valueQuantity.code, knee.valueQuantity.system) == ("deg", "http://unitsofmeasure.org")
    assert knee.valueQuantity.value == pytest.approx(100, abs=2)
    assert knee.effectiveDateTime is not None
    assert (knee.method.coding[0].code, passive.method.coding[0].code) == ("active", "passive")
    assert neck.bodySite.coding[0].code == "122494005"
    # both ends of the range, each with its noise (the elbow's and knee's ends differ: docs/angles.md)
    k = get_motion("knee_flexion")
    assert knee.note[1].text.startswith("range reached ")
    assert knee.note[1].text.endswith(f"measurement noise about ±{k.measurement_noise_deg:g} deg at the high end of "
                                      f"the range, ±{k.return_noise_deg:g} deg at the low end")


def test_fhir_export_leaves_demo_sessions_out(api: TestClient) -> None:
    """A demo session (romcam demo: a rendered figure) is no Observation of the patient; the CSV keeps it,
    marked in its demo column."""
    pid = _patient(api)
    real = _post_session(api, pid, _days_ago(2), [_set(100.0)])
    demo = _post_session(api, pid, _days_ago(1), [_set(120.0)], demo=True)
    bundle = api.get(f"/api/patients/{pid}/export.fhir.json").json()
    [entry] = bundle["entry"]
    [real_set] = [x["id"] for s in api.get(f"/api/patients/{pid}/sessions").json() if s["id"] == real["id"]
                  for x in s["sets"]]
    assert entry["resource"]["id"] == real_set
    assert entry["resource"]["valueQuantity"]["value"] == pytest.approx(100, abs=2)
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    assert [(r["session_id"], r["demo"]) for r in rows] == [(real["id"], "false")] * 3 + [(demo["id"], "true")] * 3


def test_exports_of_a_patient_without_sessions(api: TestClient) -> None:
    """The CSV is its header alone; the FHIR Bundle has no ``entry`` (FHIR's JSON never has an empty array)."""
    from fhir.resources.R4B.bundle import Bundle

    pid = _patient(api)
    assert api.get(f"/api/patients/{pid}/export.csv").text == ",".join(CSV_COLUMNS) + "\n"
    bundle = api.get(f"/api/patients/{pid}/export.fhir.json").json()
    assert bundle == {"resourceType": "Bundle", "type": "collection"}
    Bundle.model_validate(bundle)


# --- the server ------------------------------------------------------------------------------------

@pytest.mark.parametrize("host, ok", [
    ("localhost", True),
    ("localhost:8000", True),
    ("127.0.0.1:8000", True),
    ("[::1]:8000", True),
    ("evil.example", False),  # a DNS-rebinding page names its own host
    ("evil.example:8000", False),
    ("127.0.0.1.evil.example", False),
    ("", False),
])  # fmt: skip
def test_host_header_check_on_loopback(api: TestClient, host: str, ok: bool) -> None:
    r = api.get("/api/patients", headers={"host": host})
    assert r.status_code == (200 if ok else 400), r.text
    if not ok:
        assert "127.0.0.1" in r.text


def test_a_server_bound_beyond_loopback_does_not_check_host(store: Store, db_url: str) -> None:
    app = create_app(Settings(db=db_url, host="0.0.0.0"), store=store)
    with TestClient(app, base_url="http://clinic.example") as client:
        assert client.get("/api/patients").status_code == 200


def test_openapi_lists_every_route(api: TestClient) -> None:
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    for p in ("/api/patients", "/api/patients/{patient_id}", "/api/patients/{patient_id}/prescriptions",
              "/api/prescriptions/{prescription_id}", "/api/prescriptions/{prescription_id}/versions",
              "/api/sessions", "/api/patients/{patient_id}/sessions", "/api/sessions/{session_id}",
              "/api/patients/{patient_id}/trends", "/api/patients/{patient_id}/adherence",
              "/api/patients/{patient_id}/alerts", "/api/alerts/{alert_id}/snooze",
              "/api/patients/{patient_id}/export.csv", "/api/patients/{patient_id}/export.fhir.json"):
        assert p in paths, p


def test_the_catalog_is_served_with_experimental_motions_marked(api: TestClient) -> None:
    from romcam.catalog import default_catalog

    body = api.get("/api/exercises").json()
    assert [m["id"] for m in body] == default_catalog().ids()
    rotation = next(m for m in body if m["id"] == "neck_rotation")
    assert rotation["experimental"] and "experimental" in rotation["display_name"] and rotation["experimental_reason"]
    knee = next(m for m in body if m["id"] == "knee_flexion")
    assert (knee["view"], knee["works"], knee["normal"]["max"]) == ("side", "max", 135)


def test_demo_sessions_never_enter_trends(api: TestClient) -> None:
    pid = _patient(api)
    _post_session(api, pid, _days_ago(3), [_set(100.0)])
    _post_session(api, pid, _days_ago(2), [_set(60.0)], demo=True)  # the rendered demo video
    t = api.get(f"/api/patients/{pid}/trends", params={"exercise": "knee_flexion", "side": "right"}).json()
    [series] = t["series"]
    assert [round(p["best_angle"]) for p in series["points"]] == pytest.approx([100], abs=2)
    assert len(api.get(f"/api/patients/{pid}/sessions").json()) == 2  # still listed, marked demo


def test_the_last_session_is_the_patients_not_the_demo_videos(api: TestClient) -> None:
    """The coach plays a rendered demo when no camera opens ("not saved to your progress"): the patient list
    and page said "Last session: today" of a patient who last exercised three days ago."""
    pid = _patient(api)
    real = _days_ago(3)
    _post_session(api, pid, real, [_set(100.0)])
    _post_session(api, pid, _days_ago(0.1), [_set(60.0)], demo=True)
    for p in (api.get(f"/api/patients/{pid}").json(), _listed(api, pid)):
        assert datetime.fromisoformat(p["last_session_at"]) == pytest.approx(real, abs=timedelta(seconds=1))
    only_demo = _patient(api)
    _post_session(api, only_demo, _days_ago(0.1), [_set(60.0)], demo=True)
    assert api.get(f"/api/patients/{only_demo}").json()["last_session_at"] is None
    assert _listed(api, only_demo)["last_session_at"] is None


def test_fhir_says_a_session_was_dated_by_a_laptop_clock_that_was_off(api: TestClient) -> None:
    """A laptop 26 hours behind the clinic dates its session a day early. The session page and the CSV say so
    beside its times; the FHIR Observation, whose effectiveDateTime lands in a health record on the wrong day,
    said nothing. It has the same words as a note; a session with no clock said has no such note."""
    pid = _patient(api)
    when = _days_ago(3)
    doc = synthetic_session(uuid.UUID(pid), when, [_set(100.0)])
    doc["clock_off_s"] = -26 * 3600
    assert api.post("/api/sessions", json=doc).status_code == 201
    _post_session(api, pid, _days_ago(1), [_set(101.0)])
    said = ("This laptop's clock was 26 hours behind the clinic's when it sent this session: its times are the "
            "laptop's.")
    [brief, _] = sorted(api.get(f"/api/patients/{pid}/sessions").json(), key=lambda s: s["started_at"])
    assert f"{brief['clock_note'][0].upper()}{brief['clock_note'][1:]}." == said  # as the session page shows it
    bundle = api.get(f"/api/patients/{pid}/export.fhir.json").json()
    off, right = (e["resource"] for e in bundle["entry"])
    assert off["effectiveDateTime"] == when.isoformat()  # the laptop's time, as stored: not corrected
    assert [n["text"] for n in off["note"] if "clock" in n["text"]] == [said]
    assert not [n for n in right["note"] if "clock" in n["text"]]


def test_csv_gives_the_target_a_set_unfiled_under_a_plan_was_judged_against(api: TestClient) -> None:
    """A knee video saved with ``romcam analyze --target 110`` and no plan of it: the CSV's reps said
    below_target true with target_min and target_max empty — short of what? Its target_judged column says 110,
    as the session API (and page) do; a set with no target kept has it empty."""
    pid = _patient(api)
    doc = synthetic_session(uuid.UUID(pid), _days_ago(2), [_set(100.0), _set(100.0)])
    judged = doc["sets"][0]
    judged["target"] = 110.0
    for r in judged["reps"]:
        r["below_target"] = r["max_angle"] < 110.0
    assert api.post("/api/sessions", json=doc).status_code == 201
    detail = api.get(f"/api/sessions/{doc['id']}").json()
    assert [(s["target_min"], s["target_judged"]) for s in detail["sets"]] == [(None, 110.0), (None, None)]
    rows = list(csv.DictReader(io.StringIO(api.get(f"/api/patients/{pid}/export.csv").text)))
    first, second = (s["id"] for s in detail["sets"])
    assert [(r["target_min"], r["below_target"], r["target_judged"]) for r in rows if r["set_id"] == first] == \
        [("", "true", "110.0")] * len(judged["reps"])
    assert {r["target_judged"] for r in rows if r["set_id"] == second} == {""}
