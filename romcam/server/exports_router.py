"""Exports: CSV (one row per rep, one per set without a rep) and a FHIR R4 Bundle of Observations (one per set)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..store import exports
from .deps import PatientDep, ZoneDep

router = APIRouter(prefix="/api", tags=["exports"])


@router.get("/patients/{patient_id}/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(scope: PatientDep, zone: ZoneDep) -> Response:
    """Times as ISO 8601 UTC, and again in ``tz`` as a spreadsheet reads a date and time."""
    name = f"romcam-{scope.patient.id}.csv"
    return Response(exports.export_csv(scope.db, scope.patient, zone=zone), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/patients/{patient_id}/export.fhir.json")
def export_fhir(scope: PatientDep) -> Response:
    import json

    body = json.dumps(exports.export_fhir(scope.db, scope.patient), indent=1)
    return Response(body, media_type="application/fhir+json",
                    headers={"Content-Disposition": f'attachment; filename="romcam-{scope.patient.id}.fhir.json"'})
