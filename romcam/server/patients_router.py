"""Patients: list (with last session, adherence and open alerts), create, read, update, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..store import service, trends
from .deps import DBDep, PatientDep, UserDep
from .schemas import PatientCreate, PatientPublic, PatientUpdate

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("", response_model=list[PatientPublic])
def list_patients(db: DBDep, user: UserDep) -> list[dict]:
    # every patient's figures in a fixed number of queries (not a handful per patient): see trends.patient_summaries
    return trends.patient_summaries(db, service.list_patients(db), now=service.now_utc())


@router.post("", response_model=PatientPublic, status_code=201)
def create_patient(body: PatientCreate, db: DBDep, user: UserDep) -> dict:
    return service.patient_public(db, service.create_patient(db, name=body.name, notes=body.notes))


@router.get("/{patient_id}", response_model=PatientPublic)
def get_patient(scope: PatientDep) -> dict:
    return service.patient_public(scope.db, scope.patient)


@router.patch("/{patient_id}", response_model=PatientPublic)
def update_patient(body: PatientUpdate, scope: PatientDep) -> dict:
    service.update_patient(scope.db, scope.patient, **body.model_dump(exclude_unset=True))
    return service.patient_public(scope.db, scope.patient)


@router.delete("/{patient_id}", status_code=204,
               responses={409: {"description": "the patient at this laptop cannot be deleted"}})
def delete_patient(scope: PatientDep) -> Response:
    """Erase the patient and all their data (sessions, samples, check-ins, alerts, prescriptions)."""
    service.delete_patient(scope.db, scope.patient)
    return Response(status_code=204)
