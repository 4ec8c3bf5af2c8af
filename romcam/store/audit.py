"""The audit log (issue 7): who viewed or changed which patient's data, through which route, when.

The patient is recorded as a keyed pseudonym — HMAC-SHA256 of the patient id with the server's
secret key — never as the id or the name: after the patient is deleted the rows remain, and no
row anywhere names them. Whoever holds the key (the server) can still find a live patient's rows.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session as DB

from .models import AuditEntry

Action = Literal["view", "change"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # user | device | local
    id: str  # the user's id, the device token's id, or "local"
    role: str


def patient_ref(secret_key: str, patient_id: uuid.UUID) -> str:
    """The keyed pseudonym stored for a patient (hex HMAC-SHA256 of the id)."""
    return hmac.new(secret_key.encode(), str(patient_id).encode(), hashlib.sha256).hexdigest()


def record(db: DB, *, secret_key: str, actor: Actor, patient_ids: Iterable[uuid.UUID], action: Action, method: str,
           route: str, at: datetime) -> None:
    """One row per patient; commits."""
    rows = [AuditEntry(at=at, actor_kind=actor.kind, actor_id=actor.id, actor_role=actor.role,
                       patient_ref=patient_ref(secret_key, pid), action=action, method=method[:10], route=route[:200])
            for pid in patient_ids]
    if rows:
        db.add_all(rows)
        db.commit()


def entries(db: DB, *, secret_key: str, patient_id: uuid.UUID, limit: int = 500) -> list[dict]:
    """A patient's audit rows, newest first."""
    ref = patient_ref(secret_key, patient_id)
    rows = db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == ref)
                      .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return [{"at": r.at, "actor_kind": r.actor_kind, "actor_id": r.actor_id, "actor_role": r.actor_role,
             "action": r.action, "method": r.method, "route": r.route} for r in rows]
