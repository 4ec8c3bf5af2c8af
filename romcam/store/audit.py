"""The audit log (issue 7): who viewed or changed which patient's data, through which route, when.

The patient is recorded as a keyed pseudonym — HMAC-SHA256 of the patient id with the server's
secret key — never as the id or the name: after the patient is deleted the rows remain, and no
row anywhere names them. Whoever holds the key (the server) can still find a live patient's rows.

So the key must not change unnoticed: a server started with another key would find none of a patient's
earlier rows, and show a clean audit trail. The database keeps the key's fingerprint
(``server_settings.audit_key``, an HMAC of a fixed text, which does not reveal the key);
:func:`check_key` refuses another key with what to do, and :func:`rekey` moves the rows of the
patients still stored from the previous key to the new one (``romcam audit rekey``). A deleted
patient's rows stay under the previous key: nobody can tie them to anyone again, as deletion meant.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session as DB

from .errors import AuditKeyChangedError
from .models import AuditEntry, Patient, ServerSetting
from .server_lock import ADVISORY_KEY

Action = Literal["view", "change"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # user | device | local
    id: str  # the user's id, the device token's id, or "local"
    role: str


def patient_ref(secret_key: str, patient_id: uuid.UUID) -> str:
    """The keyed pseudonym stored for a patient (hex HMAC-SHA256 of the id)."""
    return hmac.new(secret_key.encode(), str(patient_id).encode(), hashlib.sha256).hexdigest()


KEY_SETTING = "audit_key"
_FINGERPRINT_TEXT = b"romcam audit key fingerprint v1"


def key_fingerprint(secret_key: str) -> str:
    """What the database keeps of the key: HMAC-SHA256 of a fixed text (reveals nothing of the key)."""
    return hmac.new(secret_key.encode(), _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()


KEY_CHANGED = ("ROMCAM_SECRET_KEY is not the key this database's audit log was written with: every patient's "
               "earlier audit entries would seem to be gone. Start the server with the previous key, or, to change "
               "keys, move the log to the new one: ROMCAM_OLD_SECRET_KEY=<the previous key> ROMCAM_SECRET_KEY=<the "
               "new key> romcam audit rekey --db <this database>")


NO_AUDIT_LOG = ("this database holds no audit log (no server has run on it): nothing to move. Give --db (or "
                "ROMCAM_DB) the clinic server's database")


@dataclass(frozen=True, slots=True)
class Rekeyed:
    rows: int  # audit rows moved to the new key
    patients: int  # stored patients whose rows were moved
    left: int  # rows left under the previous key: patients deleted since (no one can tie them to anyone)
    already: bool = False  # the log was on the new key before this run (a retried rekey): nothing was due


def written_with(db: DB, secret_key: str) -> bool:
    """Whether the database keeps ``secret_key``'s fingerprint: its audit log is written with that key."""
    kept = db.get(ServerSetting, KEY_SETTING)
    return kept is not None and hmac.compare_digest(kept.value, key_fingerprint(secret_key))


def check_key(db: DB, secret_key: str, *, public_key: str | None = None) -> Rekeyed | None:
    """Raise :class:`AuditKeyChangedError` when ``secret_key`` is not the key the audit log was written
    with; a database that has not kept one yet keeps this key's fingerprint (commits). A log written with
    ``public_key`` (romcam's built-in default: a trial on loopback, or a laptop) is moved to ``secret_key``
    at once — a key everyone has protects nothing — and what was moved is returned."""
    kept = db.get(ServerSetting, KEY_SETTING)
    mine = key_fingerprint(secret_key)
    if kept is None:
        db.add(ServerSetting(name=KEY_SETTING, value=mine))
        db.commit()
        return None
    if hmac.compare_digest(kept.value, mine):
        return None
    if public_key is not None and hmac.compare_digest(kept.value, key_fingerprint(public_key)):
        return rekey(db, old_key=public_key, new_key=secret_key)
    raise AuditKeyChangedError(KEY_CHANGED)


def rekey(db: DB, *, old_key: str, new_key: str) -> Rekeyed:
    """Move the audit rows of every stored patient from ``old_key``'s pseudonym to ``new_key``'s and keep
    the new key's fingerprint (commits). ``old_key`` must be the key the log was written with — or the log
    is on ``new_key`` already (a rekey run again after it succeeded, a retried script): that is no error, the
    result says ``already``. Run with no server on the database (:func:`romcam.store.server_lock.exclusive`):
    a server on the previous key would go on writing rows that the new key cannot find."""
    kept = db.get(ServerSetting, KEY_SETTING)
    if kept is None and not db.scalar(select(func.count()).select_from(AuditEntry)):
        # no server ever ran on it: not the clinic's database (a --db mistyped, or left out for the default)
        raise AuditKeyChangedError(NO_AUDIT_LOG)
    already = kept is not None and hmac.compare_digest(kept.value, key_fingerprint(new_key))
    if kept is not None and not already and not hmac.compare_digest(kept.value, key_fingerprint(old_key)):
        raise AuditKeyChangedError("ROMCAM_OLD_SECRET_KEY is not the key this database's audit log was written "
                                   "with either: give the key the server ran with before")
    moved = patients = 0
    for pid in list(db.scalars(select(Patient.id))):
        n = db.execute(update(AuditEntry).where(AuditEntry.patient_ref == patient_ref(old_key, pid))
                       .values(patient_ref=patient_ref(new_key, pid))).rowcount
        moved += n
        patients += 1 if n else 0
    if already:  # moved before; any row still under ``old_key`` (nothing, unless ``old_key`` is right and a
        # server kept writing on it during that move) has just followed its patient
        db.commit()
        return Rekeyed(rows=moved, patients=patients, left=0, already=True)
    # the log was all under the previous key (check_key lets no server write under another): the rest is the
    # rows of patients deleted since
    left = (db.scalar(select(func.count()).select_from(AuditEntry)) or 0) - moved
    if kept is None:
        db.add(ServerSetting(name=KEY_SETTING, value=key_fingerprint(new_key)))
    else:
        kept.value = key_fingerprint(new_key)
    db.commit()
    return Rekeyed(rows=moved, patients=patients, left=left)


LOG_MOVING = ("`romcam audit rekey` is moving this database's audit log to a new key right now, under this running "
              "server: it records no access until it is restarted. When the rekey has finished, restart the server "
              "with the new ROMCAM_SECRET_KEY")
LOG_MOVED = ("this database's audit log was moved to a new key (`romcam audit rekey`) while this server ran: it can no "
             "longer record who sees patient data, so it refuses patient data until it is restarted with the new "
             "ROMCAM_SECRET_KEY")


def _check_still_written_with(db: DB, secret_key: str) -> None:
    """Refuse to write a row the log's key cannot find: a rekey running now or done since this server checked its
    key. The server's own lock normally keeps rekey out (store/server_lock.py), but on PostgreSQL it lives on one
    connection, and a dropped connection loses it; so every write also takes the same lock for its own transaction
    (shared: servers do not wait on each other; refused while a rekey holds it) and reads the key's fingerprint
    under it."""
    if db.get_bind().dialect.name == "postgresql":
        if not db.scalar(text("SELECT pg_try_advisory_xact_lock_shared(:key)"), {"key": ADVISORY_KEY}):
            raise AuditKeyChangedError(LOG_MOVING)
    if not written_with(db, secret_key):
        raise AuditKeyChangedError(LOG_MOVED)


def record(db: DB, *, secret_key: str, actor: Actor, patient_ids: Iterable[uuid.UUID], action: Action, method: str,
           route: str, at: datetime) -> None:
    """One row per patient; commits. :class:`AuditKeyChangedError` (nothing written) when the log is no longer on
    ``secret_key``: moved, or being moved, by a rekey since the server started."""
    rows = [AuditEntry(at=at, actor_kind=actor.kind, actor_id=actor.id, actor_role=actor.role,
                       patient_ref=patient_ref(secret_key, pid), action=action, method=method[:10], route=route[:200])
            for pid in patient_ids]
    if rows:
        _check_still_written_with(db, secret_key)
        db.add_all(rows)
        db.commit()


def entries(db: DB, *, secret_key: str, patient_id: uuid.UUID, limit: int = 500) -> list[dict]:
    """A patient's audit rows, newest first."""
    ref = patient_ref(secret_key, patient_id)
    rows = db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == ref)
                      .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return [{"at": r.at, "actor_kind": r.actor_kind, "actor_id": r.actor_id, "actor_role": r.actor_role,
             "action": r.action, "method": r.method, "route": r.route} for r in rows]
