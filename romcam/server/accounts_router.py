"""Accounts (admin), device tokens (a patient's staff), the audit log (a patient's staff) and
``GET /api/device`` (what a patient's machine reads with its token)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from ..input_checks import CheckedInput, Uuid
from ..store import accounts, audit, service
from ..store.accounts import Role
from .deps import AdminDep, DBDep, DeviceDep, StaffPatientDep, UserDep, get_settings, now, scoped_patient
from .schemas import PlanPauseOut, PrescriptionPublic

router = APIRouter(prefix="/api", tags=["accounts"])


class UserCreate(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    name: str = Field("", max_length=200)
    role: Role
    patient_id: Uuid | None = Field(None, description="the patient a patient or caregiver account acts for")
    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=1024)


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: str
    patient_id: uuid.UUID | None
    active: bool
    created_at: datetime


class TokenCreate(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=100, description="which machine, e.g. 'living-room laptop'")


class TokenPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    label: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the token itself: shown this once, never stored (only its SHA-256)")


class AuditOut(BaseModel):
    at: datetime
    actor_kind: str
    actor_id: str
    actor_role: str
    action: str
    method: str
    route: str


class DeviceOut(BaseModel):
    patient_id: uuid.UUID
    patient_name: str
    plan: list[PrescriptionPublic]
    plan_paused: bool = Field(description="the PT paused the patient's plan (a hospital stay): it asks for no session "
                              "until resumed")
    pauses: list[PlanPauseOut] = Field(description="every time the plan was paused, oldest first (resumed_at null "
                                       "while it lasts): a linked laptop keeps the same, for its calendar and "
                                       "adherence")


# --- users (admin) --------------------------------------------------------------------------------

@router.get("/users", response_model=list[UserPublic])
def list_users(db: DBDep, user: AdminDep,
               role: Annotated[Role | None, Query(description="only this role's accounts (the dashboard asks for "
                                                  "the clinicians a patient can belong to)")] = None) -> list[dict]:
    """Every account, deactivated ones too (``active``), by role then email."""
    return [accounts.user_public(u) for u in accounts.list_users(db, role=role)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, db: DBDep, user: AdminDep) -> dict:
    created = accounts.create_user(db, email=body.email, password=body.password, role=body.role, name=body.name,
                                   patient_id=body.patient_id)
    return accounts.user_public(created)


@router.delete("/users/{user_id}", response_model=UserPublic)
def deactivate_user(user_id: uuid.UUID, db: DBDep, user: AdminDep) -> dict:
    """The account can no longer log in and its sessions end (its rows stay, for the audit log)."""
    if str(user_id) == user.id:
        raise HTTPException(409, "you cannot deactivate your own account: ask another admin")
    account = accounts.get_user(db, user_id)
    accounts.deactivate_user(db, account)
    return accounts.user_public(account)


@router.post("/users/{user_id}/activate", response_model=UserPublic)
def activate_user(user_id: uuid.UUID, db: DBDep, user: AdminDep) -> dict:
    """A deactivated account may log in again, with its old password (``romcam user password`` sets a
    new one); its email was never freed, so this is the only way back for it. Active already: no change."""
    account = accounts.get_user(db, user_id)
    accounts.activate_user(db, account)
    return accounts.user_public(account)


# --- device tokens (the patient's staff) ----------------------------------------------------------

@router.get("/patients/{patient_id}/tokens", response_model=list[TokenPublic])
def list_tokens(scope: StaffPatientDep) -> list[dict]:
    return [accounts.device_token_public(t) for t in accounts.list_device_tokens(scope.db, scope.patient)]


@router.post("/patients/{patient_id}/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, conn: HTTPConnection, scope: StaffPatientDep) -> dict:
    created_by = None if scope.user.is_local else uuid.UUID(scope.user.id)
    row, plaintext = accounts.create_device_token(scope.db, scope.patient, label=body.label, created_by=created_by,
                                                  now=now(conn))
    return accounts.device_token_public(row) | {"token": plaintext}


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: uuid.UUID, conn: HTTPConnection, db: DBDep, user: UserDep) -> dict:
    row = accounts.get_device_token(db, token_id)
    scoped_patient(conn, db, user, row.patient_id, "staff", "device token")
    return accounts.device_token_public(accounts.revoke_device_token(db, row, now=now(conn)))


# --- the audit log (the patient's staff) ----------------------------------------------------------

@router.get("/patients/{patient_id}/audit", response_model=list[AuditOut])
def patient_audit(conn: HTTPConnection, scope: StaffPatientDep, limit: int = Query(500, ge=1, le=5000)) -> list[dict]:
    """Who viewed or changed this patient's data, newest first (this read is itself recorded)."""
    key = get_settings(conn).secret_key.get_secret_value()
    return audit.entries(scope.db, secret_key=key, patient_id=scope.patient.id, limit=limit)


# --- a patient's machine --------------------------------------------------------------------------

@router.get("/device", response_model=DeviceOut)
def device(conn: HTTPConnection, db: DBDep, user: DeviceDep) -> dict:
    """The device token's patient and their current plan (the sync client pulls this, and uploads
    sessions with ``POST /api/sessions``)."""
    assert user.patient_id is not None
    patient = scoped_patient(conn, db, user, user.patient_id, "plan")
    plan = [service.prescription_public(rx, v) for rx, v in service.active_prescriptions(db, patient)]
    pauses = [{"paused_at": p.paused_at, "resumed_at": p.resumed_at} for p in service.plan_pauses(db, patient.id)]
    return {"patient_id": patient.id, "patient_name": patient.name, "plan": plan,
            "plan_paused": bool(patient.plan_paused), "pauses": pauses}
