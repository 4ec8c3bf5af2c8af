"""Sessions: ingest a ``romcam.session/1`` document (idempotent), list a patient's, read one in full."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from ..input_checks import CheckedInput, PastTime, Uuid
from ..session_doc import SessionDoc
from ..store import live, service
from .deps import DBDep, PatientDep, SessionDep, SessionUploadDep, UserDep, authorize, record_access, scoped_patient
from .schemas import CheckinOut, SessionBrief, SessionCreated, SessionDetail

router = APIRouter(prefix="/api", tags=["sessions"])

HELD_QUERY_MAX = 1000  # ids per POST /patients/{id}/sessions/held or /checkins/held


@router.post("/sessions", response_model=SessionCreated, status_code=201,
             responses={200: {"description": "already stored (same content)", "model": SessionCreated},
                        409: {"description": "this id is stored with different content"}})
def ingest_session(doc: SessionDoc, response: Response, conn: HTTPConnection, db: DBDep, user: UserDep) -> dict:
    """Store a session of a patient the caller may upload for (staff, the patient or caregiver, or the
    patient's device token)."""
    authorize(db, user, doc.patient_id, "ingest")
    record_access(conn, user, [doc.patient_id], "ingest")
    session_id, created = service.ingest_session(db, doc)
    if not created:
        response.status_code = 200
    return {"id": session_id, "created": created}


@router.get("/patients/{patient_id}/sessions", response_model=list[SessionBrief])
def list_sessions(scope: PatientDep, limit: int = Query(50, ge=1, le=1000),
                  after: Annotated[uuid.UUID | None, Query(description="the id of the last session of the "
                                                           "previous page: the page that follows it")] = None,
                  ) -> list[dict]:
    """Newest first; page through a long history with ``after`` (an empty list: no more)."""
    return service.list_sessions(scope.db, scope.patient, limit=limit, after=after)


class HeldQuery(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    ids: list[Uuid] = Field(max_length=HELD_QUERY_MAX, description=f"at most {HELD_QUERY_MAX} ids")


class HeldOut(BaseModel):
    held: list[uuid.UUID] = Field(description="the ids asked about that this server holds for the patient")


@router.post("/patients/{patient_id}/sessions/held", response_model=HeldOut)
def sessions_held(patient_id: uuid.UUID, body: HeldQuery, conn: HTTPConnection, db: DBDep, user: UserDep) -> dict:
    """Which of ``ids`` this server holds for the patient, for the patient's uploaders (staff, the patient
    or caregiver, their device): a laptop asks about the sessions it sent, and sends again the ones a
    clinic restored from a backup no longer has. Ids of other patients' sessions are never held here."""
    patient = scoped_patient(conn, db, user, patient_id, "ingest")
    return {"held": service.sessions_held(db, patient, body.ids)}


@router.post("/patients/{patient_id}/checkins/held", response_model=HeldOut)
def checkins_held(patient_id: uuid.UUID, body: HeldQuery, conn: HTTPConnection, db: DBDep, user: UserDep) -> dict:
    """Which of the check-in ``ids`` this server holds for the patient (the same callers as
    ``sessions/held``): a clinic restored from a backup made after a session arrived and before its
    check-in did holds the session but not the check-in, and the laptop sends the check-in again."""
    patient = scoped_patient(conn, db, user, patient_id, "ingest")
    return {"held": service.checkins_held(db, patient, body.ids)}


@router.get("/sessions/{session_id}", response_model=SessionDetail)
def get_session(scope: SessionDep) -> dict:
    return service.session_detail(scope.db, scope.session)


class CheckinUpload(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    pain: int = Field(ge=0, le=10)
    tiredness: int = Field(ge=0, le=10)
    cramps: bool
    note: str = Field("", max_length=2000)
    created_at: PastTime = Field(description="when the patient answered (with a UTC offset)")


@router.put("/sessions/{session_id}/checkins/{checkin_id}", response_model=CheckinOut, status_code=201,
            responses={200: {"description": "already stored (same content)", "model": CheckinOut},
                       409: {"description": "this id is stored with different content"}})
def put_checkin(checkin_id: uuid.UUID, body: CheckinUpload, response: Response, scope: SessionUploadDep) -> dict:
    """Upload the patient's check-in after a session under the client's id (idempotent, like the session
    ingest): what a patient's machine syncs with its device token."""
    out, created = live.put_checkin(scope.db, checkin_id=checkin_id, session_id=scope.session.id, pain=body.pain,
                                    tiredness=body.tiredness, cramps=body.cramps, note=body.note, at=body.created_at)
    if not created:
        response.status_code = 200
    return out
