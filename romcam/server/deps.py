"""FastAPI dependencies: the database session, the current user, and the ONE place that decides
whether that user may see a patient and what they may do with the patient's data (issue 7).

Who is asking (``current_user``):

- a ``Authorization: Bearer romcam_dt_...`` header: the **device** of one patient (its token);
- in clinic mode (``ROMCAM_AUTH=clinic``) the ``__Host-romcam_session`` cookie: an **admin**,
  **clinician**, **patient** or **caregiver** account; a cookie-authenticated write must carry the
  session's CSRF token in ``X-CSRF-Token``; without a valid cookie: 401 (pages redirect to /login);
- in local mode (the laptop, loopback only): the single **local** user, no login (today's ``make run``).

Which patients (``authorize``): local sees every patient; admin every patient of the clinic (not a
laptop's own ``is_local`` patient); a clinician the patients whose ``clinician_id`` is theirs; a
patient, caregiver or device the one patient they act for. Anything else is 404, exactly like a
patient that does not exist, so ids cannot be probed.

What they may do (``Access``): staff (local, admin, clinician) everything; a patient or caregiver
reads their data and plan and uploads their own sessions, but changes nothing else (403); a device
reads the plan and uploads sessions, nothing else (403).

Every patient-scoped access is written to the audit log (``romcam.store.audit``) except the live
coach's own routes on the laptop.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, HTTPException, Query, WebSocketException
from sqlalchemy import select
from sqlalchemy.orm import Session as DB
from starlette.requests import HTTPConnection

from ..store import accounts, audit, service, trends
from ..store.db import Store
from ..store.errors import InvalidError, NotFoundError
from ..store.models import Alert, Patient, Prescription, Session
from .settings import Settings

SESSION_COOKIE = "__Host-romcam_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Role = Literal["local", "admin", "clinician", "patient", "caregiver", "device"]
# read: the patient's data; plan: their current prescriptions; ingest: upload their sessions;
# staff: everything else (edits, prescriptions, tokens, the audit log)
Access = Literal["read", "plan", "ingest", "staff"]
STAFF: frozenset[str] = frozenset({"local", "admin", "clinician"})
ALLOWED: dict[str, frozenset[str]] = {
    "local": frozenset({"read", "plan", "ingest", "staff"}),
    "admin": frozenset({"read", "plan", "ingest", "staff"}),
    "clinician": frozenset({"read", "plan", "ingest", "staff"}),
    "patient": frozenset({"read", "plan", "ingest"}),
    "caregiver": frozenset({"read", "plan", "ingest"}),
    "device": frozenset({"plan", "ingest"}),
}


@dataclass(frozen=True, slots=True)
class User:
    """The principal of a request. ``patient_id``: the one patient a patient, caregiver or device acts
    for; ``token_id``: a device's token; ``csrf_token``: the login session's (cookie auth only)."""

    id: str
    name: str
    role: Role = "local"
    patient_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    csrf_token: str | None = None

    @property
    def is_local(self) -> bool:
        return self.role == "local"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def actor(self) -> audit.Actor:
        kind = "local" if self.is_local else "device" if self.role == "device" else "user"
        return audit.Actor(kind=kind, id=str(self.token_id or self.id), role=self.role)


LOCAL_USER = User(id="local", name="local user", role="local")


class LoginRequired(Exception):
    """No valid credentials: 401 for the API, a redirect to /login for pages (see auth_router)."""


def get_store(conn: HTTPConnection) -> Store:
    return conn.app.state.store


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def now(conn: HTTPConnection) -> datetime:
    """The server's clock (``app.state.clock`` when a test injects one)."""
    clock: Callable[[], datetime] = getattr(conn.app.state, "clock", service.now_utc)
    return clock()


def live_coach(conn: HTTPConnection) -> trends.LiveCoach | None:
    """The server's live coach and the session it is recording now (``romcam serve`` on the laptop, with its
    capture worker), which alone is "being recorded" on the dashboard; None on a server with no live coach (the
    clinic's: ``trends.being_recorded``'s rule on the database)."""
    live = getattr(conn.app.state, "live", None)
    worker = getattr(live, "worker", None)
    return None if worker is None else trends.LiveCoach(worker.recording_session_id())


def get_db(conn: HTTPConnection) -> Iterator[DB]:
    with get_store(conn).sessionmaker() as db:
        yield db


def _refuse(conn: HTTPConnection, status: int, detail: str) -> Exception:
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=1008, reason=detail)
    headers = {"WWW-Authenticate": 'Bearer realm="romcam"'} if status == 401 else None
    return HTTPException(status, detail, headers=headers)


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _refuse(conn, 401, "send the device token as `Authorization: Bearer <token>`")
    return value.strip()


def _authenticate(conn: HTTPConnection) -> User:
    token = _bearer(conn)
    store = get_store(conn)
    if token is not None:  # a patient's machine, in either mode; a bearer request needs no CSRF token
        with store.sessionmaker() as db:
            try:
                row = accounts.resolve_device_token(db, token, now=now(conn))
            except accounts.TokenRefused as refused:  # unknown, revoked (when), or made for "Me"
                raise _refuse(conn, 401, refused.message) from None
            return User(id=str(row.id), name=row.label or "device", role="device", patient_id=row.patient_id,
                        token_id=row.id)
    if not get_settings(conn).clinic:
        return LOCAL_USER
    secret = conn.cookies.get(SESSION_COOKIE)
    found = None
    if secret:
        with store.sessionmaker() as db:
            found = accounts.resolve_session(db, secret, now=now(conn))
    if found is None:
        if conn.scope["type"] == "websocket":
            raise WebSocketException(code=1008, reason="log in first")
        raise LoginRequired()
    session, account = found
    if conn.scope["type"] == "http" and conn.scope["method"] not in SAFE_METHODS:
        sent = conn.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header: reload the page")
    return User(id=str(account.id), name=account.name or account.email, role=account.role,  # type: ignore[arg-type]
                patient_id=account.patient_id, csrf_token=session.csrf_token)


def current_user(conn: HTTPConnection) -> User:
    """Who is asking (HTTP requests and WebSockets alike); computed once per request."""
    user = getattr(conn.state, "romcam_user", None)
    if user is None:
        user = _authenticate(conn)
        conn.state.romcam_user = user
    return user


def may_see(user: User, patient: Patient) -> bool:
    if user.role == "local":
        return True
    if user.role == "admin":
        return not patient.is_local
    if user.role == "clinician":
        return patient.clinician_id is not None and str(patient.clinician_id) == user.id
    return user.patient_id is not None and patient.id == user.patient_id


def check_access(user: User, access: Access) -> None:
    """403 when the user's role may not do ``access`` (to a patient they may see)."""
    if access not in ALLOWED[user.role]:
        raise HTTPException(403, f"a {user.role} account may not do this")


def authorize(db: DB, user: User, patient_id: uuid.UUID, access: Access = "read") -> Patient:
    """The patient ``user`` may see, or NotFoundError (404) — the one access check — then 403 if the
    user's role may not do ``access``."""
    patient = db.get(Patient, patient_id)
    if patient is None or not may_see(user, patient):
        raise NotFoundError("patient")
    check_access(user, access)
    return patient


def visible_patients(db: DB, user: User) -> list[Patient]:
    """The patients ``user`` may list (403 for a device: it reads its plan through /api/device)."""
    check_access(user, "read")
    patients = service.list_patients(db)
    return [p for p in patients if may_see(user, p)]


def method_access(conn: HTTPConnection) -> Access:
    """A patient route's access from its method: reading is ``read``, any write is ``staff``."""
    return "read" if conn.scope["type"] == "http" and conn.scope["method"] in SAFE_METHODS else "staff"


def record_access(conn: HTTPConnection, user: User, patient_ids: Iterable[uuid.UUID], access: Access) -> None:
    """Write who touched which patients' data through which route to the audit log (own transaction)."""
    route = conn.scope.get("route")
    template = getattr(route, "path", None) or conn.scope.get("path", "")
    method = conn.scope.get("method", "WS")
    with get_store(conn).sessionmaker() as db:
        audit.record(db, secret_key=get_settings(conn).secret_key.get_secret_value(), actor=user.actor,
                     patient_ids=list(patient_ids), action="view" if method in SAFE_METHODS else "change",
                     method=method, route=template, at=now(conn))


def local_patient(conn: HTTPConnection) -> Patient:
    """The patient at this laptop (the live coach's), through the same access check as every route.
    Used by the live endpoints and their WebSocket; holds no database session open afterwards.
    On a clinic server nobody but the local user sees a laptop's own patient: 404."""
    store = get_store(conn)
    with store.sessionmaker() as db:
        try:
            return authorize(db, current_user(conn), store.local_patient_id, method_access(conn))
        except NotFoundError:
            if conn.scope["type"] == "websocket":  # a WebSocket is refused (closed before it opens)
                raise WebSocketException(code=1008, reason="patient not found") from None
            raise


@dataclass(slots=True)
class Scope:
    """What a patient-scoped route works with: the user, the database session and the patient."""

    user: User
    db: DB
    patient: Patient


DBDep = Annotated[DB, Depends(get_db)]
CoachDep = Annotated[trends.LiveCoach | None, Depends(live_coach)]
UserDep = Annotated[User, Depends(current_user)]


def scoped_patient(conn: HTTPConnection, db: DB, user: User, patient_id: uuid.UUID, access: Access,
                   what: str = "patient") -> Patient:
    """``authorize``, recorded in the audit log. ``what``: the object the path named (a session, an
    alert...): a not-yours object answers exactly as a missing one, "<what> not found"."""
    try:
        patient = authorize(db, user, patient_id, access)
    except NotFoundError:
        raise NotFoundError(what) from None
    record_access(conn, user, [patient.id], access)
    return patient


def patient_scope(patient_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> Scope:
    return Scope(user, db, scoped_patient(conn, db, user, patient_id, method_access(conn)))


def plan_scope(patient_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> Scope:
    """A patient's current plan: readable by their device too."""
    return Scope(user, db, scoped_patient(conn, db, user, patient_id, "plan"))


def staff_scope(patient_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> Scope:
    """Reads that only the patient's staff may do (device tokens, the audit log)."""
    return Scope(user, db, scoped_patient(conn, db, user, patient_id, "staff"))


@dataclass(slots=True)
class PrescriptionScope(Scope):
    prescription: Prescription


def prescription_scope(prescription_id: uuid.UUID, conn: HTTPConnection, db: DBDep,
                       user: UserDep) -> PrescriptionScope:
    rx = service.get_prescription(db, prescription_id)
    patient = scoped_patient(conn, db, user, rx.patient_id, method_access(conn), "prescription")
    return PrescriptionScope(user, db, patient, rx)


@dataclass(slots=True)
class SessionScope(Scope):
    session: Session


def session_scope(session_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> SessionScope:
    session = service.get_session(db, session_id)
    patient = scoped_patient(conn, db, user, session.patient_id, method_access(conn), "session")
    return SessionScope(user, db, patient, session)


def session_upload_scope(session_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> SessionScope:
    """A session the user may add to (its check-ins): the patient's uploaders — staff, the patient or
    caregiver, the patient's device."""
    session = service.get_session(db, session_id)
    patient = scoped_patient(conn, db, user, session.patient_id, "ingest", "session")
    return SessionScope(user, db, patient, session)


@dataclass(slots=True)
class AlertScope(Scope):
    alert: Alert


def alert_scope(alert_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> AlertScope:
    alert = trends.get_alert(db, alert_id)
    return AlertScope(user, db, scoped_patient(conn, db, user, alert.patient_id, method_access(conn), "alert"), alert)


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency: the current user when their role is one of ``roles``, else 403."""

    def dependency(user: UserDep) -> User:
        if user.role not in roles:
            raise HTTPException(403, f"a {user.role} account may not do this")
        return user

    return dependency


def reader_zone(tz: str = Query("UTC", max_length=64, description="an IANA time zone (Europe/Paris): days and "
                                 "times in that zone, as the dashboard's reader lives them")) -> ZoneInfo:
    """The ``tz`` query parameter as a zone (unknown: 422 naming it)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path-like name such as ../x
        raise InvalidError(("query", "tz"), f"unknown time zone {tz!r}: give an IANA name such as "
                           "Europe/Paris or UTC") from None


PatientDep = Annotated[Scope, Depends(patient_scope)]
ZoneDep = Annotated[ZoneInfo, Depends(reader_zone)]
PlanDep = Annotated[Scope, Depends(plan_scope)]
StaffPatientDep = Annotated[Scope, Depends(staff_scope)]
PrescriptionDep = Annotated[PrescriptionScope, Depends(prescription_scope)]
SessionDep = Annotated[SessionScope, Depends(session_scope)]
SessionUploadDep = Annotated[SessionScope, Depends(session_upload_scope)]
AlertDep = Annotated[AlertScope, Depends(alert_scope)]
StaffDep = Annotated[User, Depends(require_roles("local", "admin", "clinician"))]
AdminDep = Annotated[User, Depends(require_roles("admin"))]
HumanDep = Annotated[User, Depends(require_roles("local", "admin", "clinician", "patient", "caregiver"))]
DeviceDep = Annotated[User, Depends(require_roles("device"))]


def clinician_exists(db: DB, clinician_id: uuid.UUID) -> bool:
    """An active clinician account has this id (a deactivated one would leave its patients seen by admins only)."""
    from ..store.models import User as Account

    return db.scalar(select(Account.id).where(Account.id == clinician_id, Account.role == "clinician",
                                              Account.active)) is not None
