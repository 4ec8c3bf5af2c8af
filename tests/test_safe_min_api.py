"""A prescription's safe minimum (``safe_min``) through the API, on SQLite and PostgreSQL: stored and
versioned like ``safe_max``, refused with the field named when it is above the target or beyond what the
joint can do, given to the session page with the version a set followed, and carried to a linked laptop
by the plan it pulls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, postgres_server, store)
from fastapi.testclient import TestClient

from romcam.catalog import default_catalog
from romcam.store import Store, service
from romcam.store.seed import synthetic_session

# seated knee extension works the low end: 0 is straight, below it the knee over-straightens
KNEE_EXT = {"exercise": "knee_extension", "side": "left", "mode": "active", "posture": "seated", "target_min": 5,
            "target_max": 40, "safe_max": 90, "safe_min": 0, "reps": 8, "hold_s": 2, "sessions_per_week": 3}


def _patient(api: TestClient) -> str:
    r = api.post("/api/patients", json={"name": "Ada"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_safe_min_is_stored_and_versioned_like_safe_max(api: TestClient) -> None:
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE_EXT)
    assert r.status_code == 201, r.text
    rx = r.json()
    assert (rx["version"], rx["safe_min"], rx["safe_max"]) == (1, 0, 90)
    r = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE_EXT | {"safe_min": -5, "target_min": -2})
    assert r.status_code == 200 and (r.json()["version"], r.json()["safe_min"]) == (2, -5), r.text
    left_out = {k: v for k, v in KNEE_EXT.items() if k != "safe_min"}  # no limit at the low end any more
    r = api.put(f"/api/prescriptions/{rx['id']}", json=left_out)
    assert r.status_code == 200 and (r.json()["version"], r.json()["safe_min"]) == (3, None), r.text
    versions = api.get(f"/api/prescriptions/{rx['id']}/versions").json()
    assert [(v["version"], v["target_min"], v["safe_min"]) for v in versions] == [(1, 5, 0), (2, -2, -5), (3, 5, None)]
    [current] = api.get(f"/api/patients/{pid}/prescriptions").json()
    assert (current["version"], current["safe_min"]) == (3, None)


def test_a_prescription_without_safe_min_reads_null(api: TestClient) -> None:
    """A body from before the field (a client that does not know it) is still valid: no limit at the low end."""
    pid = _patient(api)
    body = {k: v for k, v in KNEE_EXT.items() if k != "safe_min"} | {"exercise": "elbow_flexion", "posture": "standing",
                                                                   "target_min": 30, "target_max": 130, "safe_max": 140}
    r = api.post(f"/api/patients/{pid}/prescriptions", json=body)
    assert r.status_code == 201 and r.json()["safe_min"] is None, r.text


@pytest.mark.parametrize("change, words", [
    ({"safe_min": 6}, "safe_min (6) must not exceed target_min (5)"),  # above the bottom of the target
    ({"safe_min": 30, "target_min": 20}, "safe_min (30) must not exceed target_min (20)"),
    ({"safe_min": -30}, "-30.0° is beyond what the knee can do (-25 to 165°"),  # possible
    ({"safe_min": -400}, "greater than or equal to -360"),  # not an angle at all
    ({"safe_min": "straight"}, "must be a number"),
    ({"safe_min": "10"}, "must be a number (a JSON number such as 110 or 72.5, not text)"),  # no text for a number
])  # fmt: skip
def test_a_bad_safe_min_is_422_naming_it(api: TestClient, change: dict, words: str) -> None:
    pid = _patient(api)
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE_EXT | change)
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "safe_min"] and words in problem["msg"], r.text
    assert api.get(f"/api/patients/{pid}/prescriptions").json() == []
    # an edit is refused the same way, and makes no version
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE_EXT).json()
    r = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE_EXT | change)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "safe_min"], r.text
    assert len(api.get(f"/api/prescriptions/{rx['id']}/versions").json()) == 1


@pytest.mark.parametrize("motion", [m for m in default_catalog() if m.works == "min"], ids=lambda m: m.id)
def test_safe_min_may_sit_at_either_end_of_what_the_joint_can_do(api: TestClient, motion) -> None:  # type: ignore[no-untyped-def]
    """Every motion that works the low end: a safe minimum at the bottom of its possible range is taken, one
    degree below it is 422."""
    pid = _patient(api)
    low = motion.possible.min
    body = KNEE_EXT | {"exercise": motion.id, "posture": motion.postures[0] if motion.postures else "standing",
                       "target_min": low + 10, "target_max": low + 40, "safe_max": low + 60}
    assert api.post(f"/api/patients/{pid}/prescriptions", json=body | {"safe_min": low}).status_code == 201
    r = api.post(f"/api/patients/{pid}/prescriptions", json=body | {"safe_min": low - 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "safe_min"], r.text


def test_the_session_page_gets_the_safe_min_of_the_version_a_set_followed(api: TestClient) -> None:
    pid = _patient(api)
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE_EXT).json()
    when = datetime.now(UTC) - timedelta(days=1)
    doc = synthetic_session(uuid.UUID(pid), when, [{"exercise": "knee_extension", "side": "left", "mode": "active",
                                                    "posture": "seated", "peak": 10.0}])
    doc["sets"][0]["prescription_id"], doc["sets"][0]["prescription_version"] = rx["id"], 1
    assert api.post("/api/sessions", json=doc).status_code == 201
    api.put(f"/api/prescriptions/{rx['id']}", json=KNEE_EXT | {"safe_min": -10})  # later: version 2
    [s] = api.get(f"/api/sessions/{doc['id']}").json()["sets"]
    assert (s["target_min"], s["safe_min"], s["safe_max"], s["prescription_version"]) == (5, 0, 90, 1)


def test_a_linked_laptop_pulls_the_safe_min_with_the_plan(store: Store) -> None:
    """The plan comes from the clinic as prescription data (romcam/sync/plan.py): the limit comes with it, and
    a clinic that does not send one (older than the field) gives none."""
    from romcam.live.plan import todays_plan
    from romcam.sync.plan import apply_plan

    me, clinic_patient = store.local_patient_id, str(uuid.uuid4())
    rx = uuid.uuid4()
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    item = {"id": str(rx), "version": 1, "created_at": now.isoformat(), **KNEE_EXT, "safe_min": -3}
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url="https://c",
                   device={"patient_id": clinic_patient, "patient_name": "Ada", "plan": [item]}, now=now)
        [(_, v)] = service.active_prescriptions(db, service.get_patient(db, me))
        assert (v.version, v.safe_min) == (1, -3)
    [plan] = todays_plan(store)
    assert (plan.exercise, plan.safe_min, plan.safe_max) == ("knee_extension", -3, 90)
    older = {k: v for k, v in item.items() if k != "safe_min"} | {"version": 2}
    with store.session() as db:
        apply_plan(db, local_patient_id=me, clinic_url="https://c",
                   device={"patient_id": clinic_patient, "patient_name": "Ada", "plan": [older]}, now=now)
    [plan] = todays_plan(store)
    assert (plan.version, plan.safe_min) == (2, None)
