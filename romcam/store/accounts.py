"""Accounts (issue 7): users with argon2id passwords, server-side login sessions, device tokens.

Knows nothing of HTTP. Secrets (session cookies, device tokens) are random; only their SHA-256
is stored, so a copy of the database lets nobody in. Functions that write commit once.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB

from .errors import ConflictError, InvalidError, NotFoundError
from .models import AuthSession, DeviceToken, Patient, User

Role = Literal["admin", "clinician", "patient", "caregiver"]
ROLES: tuple[str, ...] = get_args(Role)
PATIENT_ROLES = frozenset({"patient", "caregiver"})  # act for exactly one patient
TOKEN_PREFIX = "romcam_dt_"  # device tokens are recognisable in logs and secret scanners
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often
MIN_PASSWORD = 12

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that answer costs the same time as a wrong password (made
    at the first login, not at import: an argon2 hash takes 0.2 s, and every `romcam serve` imports this module)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """What is wrong with a new account's email address (after :func:`normalize_email`), or None. One rule
    for the API and ``romcam user create``: a name, one ``@`` and a domain, with no space, tab, line break
    or other invisible character inside (one pasted in would make a login nobody can type)."""
    if len(email) > 254:
        return "give an email address of at most 254 characters"
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") for c in email):
        return ("an email address has no spaces, tabs, line breaks or other invisible characters: type it again "
                "rather than pasting it")
    name, at, domain = email.rpartition("@")
    if not at or not name or not domain:
        return "give an email address (name@example.org)"
    return None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidError(("body", "password"), f"use at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


NOT_A_CLINIC_PATIENT = ("that is this server's own patient (the live coach's, \"Me\"), not a clinic patient: add "
                        "the patient on the dashboard (or POST /api/patients) and use their id")
# accounts and device tokens made for that patient before they were refused (NOT_A_CLINIC_PATIENT) no longer work
LOCAL_PATIENT_ACCOUNT = ("this account was made for the clinic server's own patient (\"Me\", the live coach's), "
                         "which no clinic account may act for: ask the clinic's admin for an account tied to your "
                         "own patient record")
LOCAL_PATIENT_TOKEN = ("this device token was made for the clinic server's own patient (\"Me\", the live coach's), "
                       "not a clinic patient, so it is refused: ask your PT for a token made for your own patient "
                       "record")
# what the holder of a refused token is told: no more than the token itself says (never whose it was)
UNKNOWN_TOKEN = ("the clinic does not know this device token: check it was copied whole (it starts with "
                 f"{TOKEN_PREFIX} and is {len(TOKEN_PREFIX) + 43} characters long), or ask your PT for a new one")


def revoked_token_message(revoked_at: datetime) -> str:
    return f"this device token was revoked on {revoked_at:%d %b %Y}: ask your PT for a new one"


class TokenRefused(Exception):
    """A device token the server will not accept, with the words for its holder."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def acts_for_local_patient(db: DB, patient_id: uuid.UUID | None) -> bool:
    """True when ``patient_id`` is the server's own patient ("Me"): an account or token tied to it was made
    before that was refused, and is refused at use."""
    if patient_id is None:
        return False
    patient = db.get(Patient, patient_id)
    return patient is not None and patient.is_local


# --- users ----------------------------------------------------------------------------------------

def create_user(db: DB, *, email: str, password: str, role: str, name: str = "",
                patient_id: uuid.UUID | None = None) -> User:
    """A new active account. Patients and caregivers need ``patient_id``; the other roles refuse one."""
    email = check_new_user(db, email=email, role=role, patient_id=patient_id)
    user = User(email=email, name=name, role=role, patient_id=patient_id, password_hash=hash_password(password),
                active=True)
    db.add(user)
    try:
        db.commit()
    except IntegrityError:  # made by someone else since the check
        db.rollback()
        raise ConflictError(f"an account with email {email} exists already") from None
    return user


def check_new_user(db: DB, *, email: str, role: str, patient_id: uuid.UUID | None = None) -> str:
    """Everything about a new account but its password, checked as :func:`create_user` checks it (so that
    ``romcam user create`` says what is wrong before asking for a password); returns the normalized email.
    Raises InvalidError, NotFoundError (no such patient) or ConflictError (the email is taken)."""
    if role not in ROLES:
        raise InvalidError(("body", "role"), f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    email = normalize_email(email)
    problem = email_problem(email)
    if problem:
        raise InvalidError(("body", "email"), problem)
    if role in PATIENT_ROLES:
        if patient_id is None:
            raise InvalidError(("body", "patient_id"), f"a {role} acts for one patient: give --patient / patient_id")
        patient = db.get(Patient, patient_id)
        if patient is None:
            raise NotFoundError("patient")
        if patient.is_local:
            raise InvalidError(("body", "patient_id"), NOT_A_CLINIC_PATIENT)
    elif patient_id is not None:
        article = "an" if role[0] in "aeiou" else "a"  # an admin
        raise InvalidError(("body", "patient_id"), f"{article} {role} is not tied to one patient: leave patient_id out")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"an account with email {email} exists already")
    return email


def get_user(db: DB, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError("user")
    return user


def list_users(db: DB, *, role: Role | None = None) -> list[User]:
    """Every account (deactivated ones too), or those of one ``role``, by role then email."""
    query = select(User).order_by(User.role, User.email)
    if role is not None:
        query = query.where(User.role == role)
    return list(db.scalars(query))


def authenticate(db: DB, email: str, password: str) -> User | None:
    """The active user with this email and password, else None. An unknown email costs one argon2
    verification all the same (against a dummy hash), so timing does not tell the two apart."""
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.commit()
    return user


def change_password(db: DB, user: User, old_password: str, new_password: str, *, now: datetime) -> None:
    """Set a new password after checking the old one; every login session of the user is revoked. Two
    changes at once (a double submit, two tabs) both knowing the old password: the first one wins, the
    other is a ConflictError (it would otherwise have silently replaced the first one's password)."""
    read = user.password_hash
    if not _verify(read, old_password):
        raise InvalidError(("body", "old_password"), "the current password is wrong")
    changed = db.execute(update(User).where(User.id == user.id, User.password_hash == read)
                         .values(password_hash=hash_password(new_password), password_changed_at=now)).rowcount
    if changed != 1:
        db.rollback()
        raise ConflictError("the password was changed meanwhile (another tab, or a second click): log in with "
                            "the new one")
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.commit()
    db.refresh(user)


def get_user_by_email(db: DB, email: str) -> User:
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFoundError("user")
    return user


def set_password(db: DB, user: User, new_password: str, *, now: datetime) -> None:
    """Set a password without the old one (the server's operator, for a forgotten password); every
    login session of the user is revoked, as with a change."""
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.commit()


def deactivate_user(db: DB, user: User) -> None:
    """The account can no longer log in; its sessions end now."""
    user.active = False
    db.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    db.commit()


def activate_user(db: DB, user: User) -> None:
    """A deactivated account may log in again (a PT back from leave), with the password it had."""
    user.active = True
    db.commit()


def patients_of(db: DB, user: User) -> int:
    """How many patients a clinician account owns (``Patient.clinician_id``). Deactivating the account leaves
    them its own, so no PT sees them until the admin hands each to another clinician; activating it again
    gives them back their PT. 0 for the other roles."""
    if user.role != "clinician":
        return 0
    return db.scalar(select(func.count()).select_from(Patient).where(Patient.clinician_id == user.id)) or 0


# --- login sessions -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str  # goes into the cookie, never stored
    csrf_token: str


def start_session(db: DB, user: User, *, now: datetime) -> NewSession:
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.add(AuthSession(id=sha256_hex(secret), user_id=user.id, csrf_token=csrf, created_at=now, last_seen_at=now))
    db.commit()
    return NewSession(secret, csrf)


def resolve_session(db: DB, secret: str, *, now: datetime) -> tuple[AuthSession, User] | None:
    """The live session and its (active) user for a cookie's secret; None when unknown, revoked, idle
    for longer than IDLE_TIMEOUT or older than ABSOLUTE_TIMEOUT, or its user acts for the server's own
    patient (:data:`LOCAL_PATIENT_ACCOUNT`; such a row is deleted, as an expired one)."""
    row = db.get(AuthSession, sha256_hex(secret))
    if row is None:
        return None
    user = db.get(User, row.user_id)
    expired = now - row.last_seen_at >= IDLE_TIMEOUT or now - row.created_at >= ABSOLUTE_TIMEOUT
    if expired or user is None or not user.active or acts_for_local_patient(db, user.patient_id):
        db.delete(row)
        db.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row, user


def end_session(db: DB, secret: str) -> None:
    db.execute(delete(AuthSession).where(AuthSession.id == sha256_hex(secret)))
    db.commit()


# --- device tokens --------------------------------------------------------------------------------

def create_device_token(db: DB, patient: Patient, *, label: str = "", created_by: uuid.UUID | None = None,
                        now: datetime) -> tuple[DeviceToken, str]:
    """A new token for ``patient``'s machine: the row and the plaintext (shown once, never stored). The
    server's own patient (the live coach's) has none: nobody at a clinic sees what it would upload."""
    if patient.is_local:
        raise InvalidError(("path", "patient_id"), NOT_A_CLINIC_PATIENT)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = DeviceToken(patient_id=patient.id, label=label, token_sha256=sha256_hex(plaintext),
                      prefix=plaintext[: len(TOKEN_PREFIX) + 4], created_by=created_by, created_at=now)
    db.add(row)
    db.commit()
    return row, plaintext


def resolve_device_token(db: DB, plaintext: str, *, now: datetime) -> DeviceToken:
    """The live token row for a presented token, else :class:`TokenRefused` saying which: unknown here
    (mistyped, cut short: :data:`UNKNOWN_TOKEN`), revoked (and on which day), or made for the server's own
    patient before that was refused (:data:`LOCAL_PATIENT_TOKEN`). Only the holder of a token that was
    valid learns more than "unknown": the day it was revoked."""
    if not plaintext.startswith(TOKEN_PREFIX):
        raise TokenRefused(UNKNOWN_TOKEN)
    row = db.scalar(select(DeviceToken).where(DeviceToken.token_sha256 == sha256_hex(plaintext)))
    if row is None:
        raise TokenRefused(UNKNOWN_TOKEN)
    if row.revoked_at is not None:
        raise TokenRefused(revoked_token_message(row.revoked_at))
    if acts_for_local_patient(db, row.patient_id):
        raise TokenRefused(LOCAL_PATIENT_TOKEN)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
        db.commit()
    return row


def list_device_tokens(db: DB, patient: Patient) -> list[DeviceToken]:
    return list(db.scalars(select(DeviceToken).where(DeviceToken.patient_id == patient.id)
                           .order_by(DeviceToken.created_at)))


def get_device_token(db: DB, token_id: uuid.UUID) -> DeviceToken:
    row = db.get(DeviceToken, token_id)
    if row is None:
        raise NotFoundError("device token")
    return row


def revoke_device_token(db: DB, row: DeviceToken, *, now: datetime) -> DeviceToken:
    if row.revoked_at is None:
        row.revoked_at = now
        db.commit()
    return row


def device_token_public(row: DeviceToken) -> dict:
    return {"id": row.id, "patient_id": row.patient_id, "label": row.label, "prefix": row.prefix,
            "created_at": row.created_at, "last_used_at": row.last_used_at, "revoked_at": row.revoked_at}


def user_public(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "patient_id": user.patient_id,
            "active": user.active, "created_at": user.created_at}
