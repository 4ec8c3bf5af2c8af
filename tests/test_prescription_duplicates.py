"""A patient has at most one active prescription of an exercise, side, mode and posture (on real SQLite and
PostgreSQL databases): a second is refused (409, saying what to do), whether added or made by an edit — the
coach would ask for the exercise twice and file its sessions under either; duplicates stored before stay
readable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient

from romcam.store import Store, service
from romcam.store.errors import ConflictError
from romcam.store.models import Prescription, PrescriptionVersion

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}
ELBOW = KNEE | {"exercise": "elbow_flexion", "side": "left", "posture": "seated", "target_min": 60,
                "target_max": 130, "safe_max": 145}


def _patient(api: TestClient, name: str = "Ada") -> str:
    r = api.post("/api/patients", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_a_duplicate_prescription_is_refused_with_what_to_do(api: TestClient) -> None:
    pid = _patient(api)
    first = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW)
    assert first.status_code == 201
    again = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW | {"target_max": 120, "reps": 5})
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == ("this patient already has an active prescription of Elbow flexion, left, "
                                      "active, seated: edit it instead")
    assert len(api.get(f"/api/patients/{pid}/prescriptions").json()) == 1
    # another mode, posture or side is another prescription; another patient has a plan of their own
    for other in ({"mode": "passive"}, {"mode": "active_assisted"}, {"side": "right"}, {"posture": "standing"}):
        assert api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW | other).status_code == 201, other
    assert api.post(f"/api/patients/{_patient(api, 'Bea')}/prescriptions", json=ELBOW).status_code == 201
    # once ended, it can be prescribed again
    api.delete(f"/api/prescriptions/{first.json()['id']}")
    assert api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW).status_code == 201


def test_an_edit_that_makes_a_duplicate_is_refused(api: TestClient) -> None:
    pid = _patient(api)
    seated = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW).json()
    standing = api.post(f"/api/patients/{pid}/prescriptions", json=ELBOW | {"posture": "standing"}).json()
    r = api.put(f"/api/prescriptions/{standing['id']}", json=ELBOW | {"mode": "active_assisted"})
    assert r.status_code == 200 and r.json()["version"] == 2  # not a duplicate: fine
    r = api.put(f"/api/prescriptions/{standing['id']}", json=ELBOW)  # standing → seated, as the other one
    assert r.status_code == 409 and "already has an active prescription of Elbow flexion, left, active, " \
        "seated: edit it instead" in r.json()["detail"]
    assert api.put(f"/api/prescriptions/{seated['id']}", json=ELBOW | {"reps": 4}).status_code == 200  # itself
    assert [v["version"] for v in api.get(f"/api/prescriptions/{standing['id']}/versions").json()] == [1, 2]


def test_duplicates_stored_before_stay_readable(api: TestClient, store: Store) -> None:
    pid = _patient(api)
    with store.session() as db:  # as an older romcam stored them: two rows of the same motion
        for _ in range(2):
            rx = Prescription(id=uuid.uuid4(), patient_id=uuid.UUID(pid), active=True, current_version=1,
                              created_at=_days_ago(3))
            db.add(rx)
            db.add(PrescriptionVersion(prescription_id=rx.id, version=1, created_at=_days_ago(3), **{
                k: ELBOW.get(k) for k in service.PRESCRIPTION_FIELDS} | {"notes": ""}))
        db.commit()
    rows = api.get(f"/api/patients/{pid}/prescriptions").json()
    assert len(rows) == 2
    assert api.get(f"/api/patients/{pid}").status_code == 200
    # each can be edited (not into the other: the same motion) and ended
    assert api.put(f"/api/prescriptions/{rows[0]['id']}", json=ELBOW | {"posture": "standing"}).status_code == 200
    assert api.delete(f"/api/prescriptions/{rows[1]['id']}").status_code == 204


def test_the_service_refuses_a_duplicate(store: Store) -> None:
    with store.session() as db:
        patient = service.create_patient(db, name="Cy")
        service.create_prescription(db, patient, dict(KNEE))
        with pytest.raises(ConflictError, match="Knee flexion, right, active, seated: edit it instead"):
            service.create_prescription(db, patient, dict(KNEE))
        assert len(service.active_prescriptions(db, patient)) == 1
