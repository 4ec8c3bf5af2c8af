"""Patients: list (with last session, adherence and open alerts), create, read, update, delete.

Each user lists only the patients deps.authorize lets them see; only staff create or edit, and only
an admin hands a patient to a clinician (``clinician_id``). A clinician's new patient is theirs; an
admin's must name its clinician, or no PT would ever see it (the admin's list shows each patient's)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response
from starlette.requests import HTTPConnection

from ..store import service, trends
from ..store.errors import ConflictError, InvalidError
from .deps import CoachDep, DBDep, PatientDep, StaffDep, UserDep, clinician_exists, record_access, visible_patients
from .schemas import PatientCreate, PatientDetail, PatientPublic, PatientUpdate

router = APIRouter(prefix="/api/patients", tags=["patients"])

NO_OWNER = ("name the clinician this patient belongs to (clinician_id, an active clinician account's id): "
            "without one no clinician sees the patient. No clinician account yet? Create one first: "
            "romcam user create --email E --role clinician (or POST /api/users)")


def _check_owner(db: DBDep, user: UserDep, clinician_id: object) -> None:
    if user.role != "admin":
        raise HTTPException(403, "only an admin assigns a patient's clinician")
    if clinician_id is not None and not clinician_exists(db, clinician_id):  # type: ignore[arg-type]
        raise InvalidError(("body", "clinician_id"), "no active clinician account has this id (a deactivated one "
                           "takes no patients: activate it first)")


@router.get("", response_model=list[PatientPublic])
def list_patients(conn: HTTPConnection, db: DBDep, user: UserDep, coach: CoachDep) -> list[dict]:
    patients = visible_patients(db, user)
    record_access(conn, user, [p.id for p in patients], "read")
    # every patient's figures in a fixed number of queries (not a handful per patient): see trends.patient_summaries
    return trends.patient_summaries(db, patients, now=service.now_utc(), coach=coach)


@router.post("", response_model=PatientPublic, status_code=201)
def create_patient(body: PatientCreate, conn: HTTPConnection, db: DBDep, user: StaffDep) -> dict:
    owner = body.clinician_id
    if owner is not None:
        _check_owner(db, user, owner)
    elif user.role == "clinician":
        owner = uuid.UUID(user.id)
    elif user.role == "admin":
        raise InvalidError(("body", "clinician_id"), NO_OWNER)
    patient = service.create_patient(db, name=body.name, notes=body.notes, clinician_id=owner)
    record_access(conn, user, [patient.id], "staff")
    return service.patient_public(db, patient)


def _detail(conn: HTTPConnection, scope: PatientDep, coach: CoachDep) -> dict:
    """The patient as the list shows it, plus when the pause began and, on a linked laptop's own patient, the clinic
    that manages the plan (the dashboard shows its pause read-only then: docs/sync.md)."""
    sync = getattr(conn.app.state, "sync", None)
    return service.patient_public(scope.db, scope.patient, coach=coach) | {
        "plan_paused_since": service.open_pause_since(scope.db, scope.patient.id),
        "plan_managed_by": sync.link.clinic if sync is not None and scope.patient.is_local else None}


@router.get("/{patient_id}", response_model=PatientDetail)
def get_patient(scope: PatientDep, coach: CoachDep, conn: HTTPConnection) -> dict:
    return _detail(conn, scope, coach)


@router.patch("/{patient_id}", response_model=PatientDetail,
              responses={409: {"description": "plan_paused on a laptop linked to a clinic: the PT there pauses it"}})
def update_patient(body: PatientUpdate, scope: PatientDep, coach: CoachDep, conn: HTTPConnection) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "clinician_id" in changes:
        _check_owner(scope.db, scope.user, changes["clinician_id"])
    sync = getattr(conn.app.state, "sync", None)
    if "plan_paused" in changes and sync is not None and scope.patient.is_local:
        # a linked laptop's pause is the clinic's, as its plan is (docs/sync.md): as the prescription routes say
        raise ConflictError(f"this plan is managed by your PT at {sync.link.clinic}: ask them to pause or resume it")
    service.update_patient(scope.db, scope.patient, **changes)
    live = getattr(conn.app.state, "live", None)
    worker = getattr(live, "worker", None)
    if "plan_paused" in changes and worker is not None and scope.patient.is_local:
        worker.pause_changed()  # after the commit: the coaching page says it is paused, or no longer
    return _detail(conn, scope, coach)


@router.delete("/{patient_id}", status_code=204,
               responses={409: {"description": "the patient at this laptop cannot be deleted"}})
def delete_patient(scope: PatientDep) -> Response:
    """Erase the patient and all their data (sessions, samples, check-ins, alerts, prescriptions)."""
    service.delete_patient(scope.db, scope.patient)
    return Response(status_code=204)
