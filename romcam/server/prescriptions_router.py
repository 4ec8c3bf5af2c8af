"""Prescriptions, versioned: an edit (PUT) makes a new version; DELETE deactivates (history kept)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.requests import HTTPConnection

from ..store import service
from ..store.errors import ConflictError
from .deps import PatientDep, PlanDep, PrescriptionDep, Scope
from .schemas import PrescriptionIn, PrescriptionPublic

router = APIRouter(prefix="/api", tags=["prescriptions"])


def _not_linked(conn: HTTPConnection, scope: Scope) -> None:
    """A laptop linked to a clinic takes its plan from there (docs/sync.md): local edits are refused."""
    sync = getattr(conn.app.state, "sync", None)
    if sync is not None and scope.patient.is_local:
        raise ConflictError(f"this plan is managed by your PT at {sync.link.clinic}: ask them to change it")


def _coach_follows(conn: HTTPConnection, scope: Scope) -> None:
    """After the commit: the running live coach takes the local patient's new plan (between sets; a safer limit
    at once: docs/live.md "The PT changes the plan"). Event-driven, not polled."""
    live = getattr(conn.app.state, "live", None)
    worker = getattr(live, "worker", None)
    if worker is not None and scope.patient.is_local:
        worker.follow_plan()


@router.get("/patients/{patient_id}/prescriptions", response_model=list[PrescriptionPublic])
def list_prescriptions(scope: PlanDep) -> list[dict]:
    return [service.prescription_public(rx, v) for rx, v in service.active_prescriptions(scope.db, scope.patient)]


@router.post("/patients/{patient_id}/prescriptions", response_model=PrescriptionPublic, status_code=201)
def create_prescription(body: PrescriptionIn, scope: PatientDep, conn: HTTPConnection) -> dict:
    _not_linked(conn, scope)
    rx = service.create_prescription(scope.db, scope.patient, body.model_dump())
    _coach_follows(conn, scope)
    return service.prescription_public(rx, service.current_version(scope.db, rx))


@router.put("/prescriptions/{prescription_id}", response_model=PrescriptionPublic)
def update_prescription(body: PrescriptionIn, scope: PrescriptionDep, conn: HTTPConnection) -> dict:
    _not_linked(conn, scope)
    rx = service.update_prescription(scope.db, scope.prescription, body.model_dump())
    _coach_follows(conn, scope)
    return service.prescription_public(rx, service.current_version(scope.db, rx))


@router.get("/prescriptions/{prescription_id}/versions", response_model=list[PrescriptionPublic])
def prescription_versions(scope: PrescriptionDep) -> list[dict]:
    rx = scope.prescription
    return [service.prescription_public(rx, v) for v in service.prescription_versions(scope.db, rx)]


@router.delete("/prescriptions/{prescription_id}", status_code=204)
def delete_prescription(scope: PrescriptionDep, conn: HTTPConnection) -> Response:
    _not_linked(conn, scope)
    service.deactivate_prescription(scope.db, scope.prescription)
    _coach_follows(conn, scope)
    return Response(status_code=204)
