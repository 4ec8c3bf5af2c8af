"""The plan pulled from the clinic, stored as the local patient's prescriptions.

Each clinic prescription is kept locally under the clinic's own id and version (so a set recorded
against it uploads with ids the clinic knows, and old sessions keep the targets they followed);
local prescriptions the clinic's plan does not hold are deactivated. The live coach reads the local
prescriptions as before; offline, the last pulled plan stays. Once linked the plan is read-only
locally (the prescription routes answer 409). The clinic's pause of the plan (``plan_paused`` and its pauses) comes
with it and replaces the laptop's own (:func:`mirror_pauses`), so the laptop's calendar and adherence leave the paused
days out as the clinic's do; a local pause or resume is refused then too (``PATCH plan_paused``: 409).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session as DB

from ..store.models import LinkState, Patient, Prescription, PrescriptionVersion
from ..store.service import PRESCRIPTION_FIELDS, replace_plan_pauses
from .outbox import adopt_unsent, hold_unsent, release_held

log = logging.getLogger(__name__)

# how the clinic answered the last ``GET /api/device`` (SyncWorker.clinic_answer): it refused this laptop's device
# token (401/403: mistyped, revoked), or it could not be reached (no answer, a timeout, a 5xx); None: it gave the
# plan, or has not been asked yet
ClinicAnswer = Literal["refused", "unreachable"]


def link_state(db: DB, clinic_url: str) -> LinkState:
    """The one link row (made on first use). A new clinic URL keeps the patient the link named before
    until the new clinic's plan is pulled: :func:`apply_plan` compares the two (clinic patient ids are
    UUIDs, the same at a clinic's new address), so the sessions of a patient linked to one clinic never go
    into another clinic's patient's record."""
    state = db.get(LinkState, 1)
    if state is None:
        state = LinkState(id=1, clinic_url=clinic_url, clinic_patient_name="", managed_rx=[], consent_url="",
                          last_error="")
        db.add(state)
        db.flush()
    if state.clinic_url != clinic_url:
        state.clinic_url = clinic_url
    return state


def apply_plan(db: DB, *, local_patient_id: uuid.UUID, clinic_url: str, device: dict[str, Any],
               now: datetime, link_fp: str | None = None) -> LinkState:
    """Store ``GET /api/device``'s answer: the clinic's patient id and name, and its plan. When the token
    now names another patient of the clinic (the laptop passed to someone else), the consent given for
    the first one ends, and the sessions not yet sent are held: they are not the new patient's.
    ``link_fp``: the fingerprint of the token the clinic answered (romcam.sync.config.token_fingerprint);
    its first answer confirms the link (``confirmed_fp``, which then names the token the clinic last answered
    until another is). Each waiting session's outbox row names the token it was recorded under, and a
    session goes only to the patient its own token names: those recorded under the token answered before
    (or before any link) are held when this one names another patient, and become this token's when it
    names the same one (a new token, a clinic at a new address) or the laptop's first; a session the new
    patient recorded while the clinic was out of reach is theirs, across any number of restarts; one
    recorded under a token the clinic never answered is left as it is — never sent under another token, sent
    if its own is linked again and answered — and what was held under this token is released. Without
    ``link_fp``, a change of patient holds every session not sent."""
    state = link_state(db, clinic_url)
    patient_id = uuid.UUID(str(device["patient_id"]))
    name = str(device.get("patient_name", ""))[:200]
    first_answer = link_fp is None or state.confirmed_fp != link_fp
    answered_before = state.confirmed_fp  # the token whose answer named state.clinic_patient_id
    if state.clinic_patient_id is not None and state.clinic_patient_id != patient_id:
        before = state.clinic_patient_name or str(state.clinic_patient_id)
        why = (f"recorded while this laptop was linked to {before} at the clinic: not sent to {name or patient_id} "
               "(ask the PT if it should be)")
        # (the same token naming another patient cannot happen at a clinic: should it, nothing waiting is theirs)
        held = hold_unsent(db, patient_id=local_patient_id, why=why, now=now,
                           link_fp=link_fp if first_answer else None, answered_fp=answered_before)
        state.consent_at, state.consent_withdrawn_at = None, None  # the new patient has not been asked yet
        if held:
            sessions = f"{held} session{'s' if held != 1 else ''}"
            state.last_error = (f"this laptop is now linked to {name or patient_id}: {sessions} recorded for {before} "
                                "stay on this laptop and are not sent")
            state.last_error_at = now
    elif first_answer and link_fp is not None:
        adopt_unsent(db, link_fp, answered_before)
    if first_answer and link_fp is not None:  # recorded under this very token: this patient's, wherever they waited
        release_held(db, link_fp)
    if link_fp is not None:
        state.confirmed_fp = link_fp
    state.clinic_patient_id = patient_id
    state.clinic_patient_name = name
    pulled: list[str] = []
    for item in device.get("plan", []):
        rx_id, version = uuid.UUID(str(item["id"])), int(item["version"])
        rx = db.get(Prescription, rx_id)
        created = min(datetime.fromisoformat(item["created_at"]), now) if item.get("created_at") else now
        if rx is None:  # dated as the version pulled (the clinic does not send its start): adherence counts from then
            rx = Prescription(id=rx_id, patient_id=local_patient_id, active=True, current_version=version,
                              created_at=created)
            db.add(rx)
            db.flush()
        elif rx.patient_id != local_patient_id:
            continue  # an id the laptop already uses for someone else: never mix patients
        if db.get(PrescriptionVersion, (rx_id, version)) is None:
            fields = {k: item.get(k) for k in PRESCRIPTION_FIELDS}
            fields["notes"] = fields["notes"] or ""
            db.add(PrescriptionVersion(prescription_id=rx_id, version=version, created_at=created, **fields))
        rx.current_version = version
        if not rx.active:  # the clinic put it back in the plan: in it from now on
            rx.resumed_at = now
        rx.active, rx.ended_at = True, None
        pulled.append(str(rx_id))
    for rx in db.scalars(select(Prescription).where(Prescription.patient_id == local_patient_id,
                                                    Prescription.active)):
        if str(rx.id) not in pulled:
            rx.active, rx.ended_at = False, now
    state.managed_rx = sorted(set(state.managed_rx or []) | set(pulled))
    mirror_pauses(db, local_patient_id=local_patient_id, device=device)
    state.plan_pulled_at = now
    db.commit()
    return state


def _when(value: Any) -> datetime:
    at = datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        raise ValueError(f"a pause time without a UTC offset: {value!r}")
    return at


def mirror_pauses(db: DB, *, local_patient_id: uuid.UUID, device: dict[str, Any]) -> bool:
    """The clinic's pause of the plan (``GET /api/device``'s ``plan_paused`` and ``pauses``) made the local patient's,
    in place of the laptop's own (not committed: :func:`apply_plan`'s transaction holds it). A clinic too old to send
    them leaves the local state as it is (False); so does an answer whose pauses cannot be read (skipped whole, never
    half-applied, and logged). True when they were mirrored."""
    if "plan_paused" not in device or not isinstance(device.get("pauses"), list):
        return False
    try:
        pauses = [(_when(p["paused_at"]), None if p.get("resumed_at") is None else _when(p["resumed_at"]))
                  for p in device["pauses"]]
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("sync: the clinic's pauses of the plan could not be read (%s): the laptop's are kept", exc)
        return False
    patient = db.get(Patient, local_patient_id)
    if patient is None:
        return False
    replace_plan_pauses(db, patient, paused=bool(device["plan_paused"]), pauses=pauses)
    return True


def plan_withheld(db: DB, link_fp: str | None) -> bool:
    """Whether the plan stored on this laptop is another device token's patient's: it was pulled from the clinic
    for the token it answered last (``confirmed_fp``), and the laptop now runs with ``link_fp``, a token the clinic
    has not answered yet (a re-link, maybe to another patient). Until it answers, the coach measures only and
    ``romcam analyze --save`` files under no prescription: a session filed under the other patient's
    prescriptions would be refused by the clinic for the new one. A plan the laptop made itself before it was ever
    linked (no clinic patient yet) is not withheld; nor is anything when not linked (``link_fp`` None)."""
    if link_fp is None:
        return False
    state = db.get(LinkState, 1)
    return state is not None and state.clinic_patient_id is not None and state.confirmed_fp != link_fp


def plan_signature(db: DB, local_patient_id: uuid.UUID) -> frozenset[tuple[uuid.UUID, int]]:
    """The local patient's active prescriptions and their versions: what the live coach reads when it starts."""
    rows = db.execute(select(Prescription.id, Prescription.current_version)
                      .where(Prescription.patient_id == local_patient_id, Prescription.active))
    return frozenset((rx_id, version) for rx_id, version in rows)  # Result.tuples() is deprecated in SQLAlchemy 2.1
