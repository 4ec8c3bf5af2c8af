"""FastAPI dependencies: the database session, the current user, and the ONE place that decides
whether that user may see a patient (issue 7 enforces access here). Missing and not-yours are both
404, so ids cannot be probed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session as DB
from starlette.requests import HTTPConnection

from ..store import service, trends
from ..store.db import Store
from ..store.models import Alert, Patient, Prescription, Session


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    is_local: bool


LOCAL_USER = User(id="local", name="local user", is_local=True)


def get_store(conn: HTTPConnection) -> Store:
    return conn.app.state.store


def get_db(conn: HTTPConnection) -> Iterator[DB]:
    with get_store(conn).sessionmaker() as db:
        yield db


def current_user(conn: HTTPConnection) -> User:
    """A single local user for now; issue 7 authenticates here (HTTP requests and WebSockets alike)."""
    return LOCAL_USER


def authorize(db: DB, user: User, patient_id: uuid.UUID) -> Patient:
    """The patient ``user`` may see, or NotFoundError (404) — the one access check."""
    return service.get_patient(db, patient_id)


def local_patient(conn: HTTPConnection) -> Patient:
    """The patient at this laptop (the live coach's), through the same access check as every route.
    Used by the live endpoints and their WebSocket; holds no database session open afterwards."""
    store = get_store(conn)
    with store.sessionmaker() as db:
        return authorize(db, current_user(conn), store.local_patient_id)


@dataclass(slots=True)
class Scope:
    """What a patient-scoped route works with: the user, the database session and the patient."""

    user: User
    db: DB
    patient: Patient


DBDep = Annotated[DB, Depends(get_db)]
UserDep = Annotated[User, Depends(current_user)]


def patient_scope(patient_id: uuid.UUID, db: DBDep, user: UserDep) -> Scope:
    return Scope(user, db, authorize(db, user, patient_id))


@dataclass(slots=True)
class PrescriptionScope(Scope):
    prescription: Prescription


def prescription_scope(prescription_id: uuid.UUID, db: DBDep, user: UserDep) -> PrescriptionScope:
    rx = service.get_prescription(db, prescription_id)
    return PrescriptionScope(user, db, authorize(db, user, rx.patient_id), rx)


@dataclass(slots=True)
class SessionScope(Scope):
    session: Session


def session_scope(session_id: uuid.UUID, db: DBDep, user: UserDep) -> SessionScope:
    session = service.get_session(db, session_id)
    return SessionScope(user, db, authorize(db, user, session.patient_id), session)


@dataclass(slots=True)
class AlertScope(Scope):
    alert: Alert


def alert_scope(alert_id: uuid.UUID, db: DBDep, user: UserDep) -> AlertScope:
    alert = trends.get_alert(db, alert_id)
    return AlertScope(user, db, authorize(db, user, alert.patient_id), alert)


PatientDep = Annotated[Scope, Depends(patient_scope)]
PrescriptionDep = Annotated[PrescriptionScope, Depends(prescription_scope)]
SessionDep = Annotated[SessionScope, Depends(session_scope)]
AlertDep = Annotated[AlertScope, Depends(alert_scope)]
