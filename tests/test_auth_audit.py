"""The audit log: who viewed or changed which patient's data, through which route; the patient kept
only as a keyed pseudonym, so after the patient is deleted no row anywhere holds their id or name.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import SECRET, Clinic
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from sqlalchemy import delete, inspect, select, text

from romcam.store import audit
from romcam.store.models import AuditEntry, Patient
from romcam.store.seed import synthetic_session


def _audit(clinic: Clinic) -> list[dict]:
    r = clinic.client("clinician").get(f"/api/patients/{clinic.own}/audit")
    assert r.status_code == 200, r.text
    return r.json()


def test_views_and_changes_are_recorded_with_who_and_which_route(clinic: Clinic) -> None:
    pt, patient, device = clinic.client("clinician"), clinic.client("patient"), clinic.client("device")
    clinic.clock.t += timedelta(minutes=1)
    assert patient.get(f"/api/patients/{clinic.own}/sessions").status_code == 200
    clinic.clock.t += timedelta(minutes=1)
    doc = synthetic_session(clinic.own, datetime(2026, 11, 20, tzinfo=UTC), [
        {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 95.0}])
    assert device.post("/api/sessions", json=doc).status_code == 201
    clinic.clock.t += timedelta(minutes=1)
    assert pt.patch(f"/api/patients/{clinic.own}", json={"notes": "new notes"}).status_code == 200
    clinic.clock.t += timedelta(minutes=1)
    rows = _audit(clinic)  # newest first; this read is recorded too
    got = [(r["actor_kind"], r["actor_role"], r["actor_id"], r["action"], r["method"], r["route"]) for r in rows[:4]]
    assert got == [
        ("user", "clinician", str(clinic.users["clinician"]), "view", "GET", "/api/patients/{patient_id}/audit"),
        ("user", "clinician", str(clinic.users["clinician"]), "change", "PATCH", "/api/patients/{patient_id}"),
        ("device", "device", str(clinic.token_id), "change", "POST", "/api/sessions"),
        ("user", "patient", str(clinic.users["patient"]), "view", "GET", "/api/patients/{patient_id}/sessions"),
    ]
    assert [r["at"] for r in rows[:4]] == ["2026-11-26T09:04:00Z", "2026-11-26T09:03:00Z", "2026-11-26T09:02:00Z",
                                           "2026-11-26T09:01:00Z"]
    # another clinician's access to their own patient is not in this patient's log
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.other}").status_code == 200
    assert all(r["actor_id"] != str(clinic.users["clinician_b"]) for r in _audit(clinic))
    # a listing records a view of every patient listed
    clinic.client("admin").get("/api/patients").raise_for_status()
    listed = _audit(clinic)[1]  # [0] is the audit read itself
    assert (listed["actor_role"], listed["action"], listed["route"]) == ("admin", "view", "/api/patients")


def test_only_the_patients_staff_read_the_audit_log(clinic: Clinic) -> None:
    assert clinic.client("admin").get(f"/api/patients/{clinic.own}/audit").status_code == 200
    assert clinic.client("patient").get(f"/api/patients/{clinic.own}/audit").status_code == 403
    assert clinic.client("device").get(f"/api/patients/{clinic.own}/audit").status_code == 403
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.own}/audit").status_code == 404


def test_rows_hold_a_keyed_pseudonym_and_survive_the_patient_de_identified(clinic: Clinic) -> None:
    pt = clinic.client("clinician")
    for path in ("", "/sessions", "/prescriptions", "/export.csv"):
        assert pt.get(f"/api/patients/{clinic.own}{path}").status_code == 200
    ref = audit.patient_ref(SECRET, clinic.own)
    assert len(ref) == 64 and ref != audit.patient_ref("another key of the same length.........", clinic.own)
    with clinic.store.session() as db:
        before = db.scalar(select(AuditEntry).where(AuditEntry.patient_ref == ref).limit(1))
        assert before is not None
        # delete the patient (the rows that are theirs go with it: sessions, accounts, tokens...)
        db.execute(delete(Patient).where(Patient.id == clinic.own))
        db.commit()
        left = db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == ref)).all()
    assert len(left) >= 4  # the audit trail stays
    needles = {str(clinic.own), clinic.own.hex, "Ada Own", "patient@clinic.test", "caregiver@clinic.test"}
    with clinic.store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                cells = " ".join(str(v) for v in row)
                assert not any(n in cells for n in needles), (table, row)
