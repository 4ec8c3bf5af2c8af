"""Check-ins uploaded by a patient's machine (issue 7 sync): ``POST
/api/sessions/{session_id}/checkins``, idempotent like the session ingest — the laptop chooses the
check-in's ``id``, the same check-in again is a 200 no-op, the same id with other content a 409.
Who may: whoever may upload the session's patient's sessions (``ingest``: their staff, the patient
or caregiver, the patient's device token)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.requests import HTTPConnection

from ..store import service
from ..store.errors import ConflictError
from ..store.models import Checkin
from .deps import DBDep, UserDep, scoped_patient

router = APIRouter(prefix="/api", tags=["sessions"])


class CheckinUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    pain: int = Field(ge=0, le=10)
    tiredness: int = Field(ge=0, le=10)
    cramps: bool
    note: str = Field("", max_length=2000, pattern=r"^[^\x00]*$")  # PostgreSQL text holds no NUL
    created_at: AwareDatetime


class CheckinStored(BaseModel):
    id: uuid.UUID
    created: bool


@router.post("/sessions/{session_id}/checkins", response_model=CheckinStored, status_code=201,
            responses={200: {"description": "already stored (same content)", "model": CheckinStored},
                       409: {"description": "this id is stored with different content"}})
def upload_checkin(session_id: uuid.UUID, body: CheckinUpload, response: Response,
                conn: HTTPConnection, db: DBDep, user: UserDep) -> dict:
    session = service.get_session(db, session_id)
    scoped_patient(conn, db, user, session.patient_id, "ingest", "session")
    fields = body.model_dump(exclude={"id"})
    checkin_id = body.id
    existing = db.get(Checkin, checkin_id)
    if existing is None:
        db.add(Checkin(id=checkin_id, session_id=session_id, **fields))
        try:
            db.commit()
            return {"id": checkin_id, "created": True}
        except IntegrityError:  # the same check-in arrived twice at once
            db.rollback()
            existing = db.get(Checkin, checkin_id)
    if existing is not None:
        same = existing.session_id == session_id and all(
            getattr(existing, k) == v for k, v in fields.items() if k != "created_at"
        ) and existing.created_at == body.created_at
        if not same:
            raise ConflictError(f"check-in {checkin_id} is already stored with different content")
        response.status_code = 200
        return {"id": checkin_id, "created": False}
    raise ConflictError(f"check-in {checkin_id} could not be stored: send it again")
