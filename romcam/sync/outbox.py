"""The outbox: what is still to be uploaded to the clinic, kept in the local database.

:func:`enqueue_pending` adds a row for every finished session of the local patient (and every
check-in) that has none yet; it runs in the worker right after sessions commit, and on start-up, and
is idempotent (a unique index on ``(kind, object_id)``), so neither a crash nor a second run loses or
doubles anything; ``romcam analyze --save`` queues its session at once (:func:`enqueue_session`), under the
token of the link file, rather than waiting for the next start to count it as the token's before. A
session still being recorded (``ended_at`` unset) waits, unless it was already
unfinished when this process started (:func:`unfinished_sessions`, read once at start): then it was cut
off by a crash, stays ``interrupted``, and is sent as it is. The orphans are known by id, not by
comparing clocks: a clock stepped back after the start (an NTP correction) made a session being
recorded look older than the process, and it was sent as an empty shell and never again. Demo sessions
(rendered video, not the patient) are never sent. What the clinic refused is offered again once each
time romcam starts and every six hours (:func:`offer_refused_again`): the clinic may have been updated
since, or the day a wrong clock dated a session ahead to may have come. What was
recorded while the device token named another clinic patient is held (:func:`hold_unsent`): each
session's row keeps the token it was recorded under (``link_fp``), so however many times romcam restarts
before the clinic first answers a new token, what was recorded under it stays apart from what came before.
A session goes only to the patient its own token names: one recorded under a token the clinic never
answered (offline all along, or mistyped) is never sent under another (:func:`unanswered`); it waits on the
laptop until that token is linked again and answered (:func:`release_held` does the same for what was held).
What was sent and the clinic no longer holds (restored from a backup made before it arrived) is sent
again (:func:`send_again` for sessions with their check-ins, :func:`send_checkins_again` for a check-in
whose session the clinic still holds; after the worker asked the clinic).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DB

from ..store.models import Checkin, OutboxItem, Session


def unfinished_sessions(db: DB) -> frozenset[uuid.UUID]:
    """The sessions with no end yet: read when the process starts, they are the ones a crash cut off."""
    return frozenset(db.execute(select(Session.id).where(Session.ended_at.is_(None))).scalars())


def _unanswered(link_fp: str, answered_fp: str | None) -> ColumnElement[bool]:
    """The session rows waiting under a device token the clinic never answered: neither ``link_fp`` (the
    token in use) nor ``answered_fp`` (the last one it answered, ``link_state.confirmed_fp``), nor the
    laptop's first link (no token), nor ever sent. Every answer settles what was recorded under the token it
    answered before (:func:`adopt_unsent`, :func:`hold_unsent`), so any other token on a waiting row is one
    the clinic has not answered since it was recorded."""
    other = and_(OutboxItem.link_fp.is_not(None), OutboxItem.link_fp != link_fp)
    if answered_fp is not None:
        other = and_(other, OutboxItem.link_fp != answered_fp)
    return and_(OutboxItem.kind == "session", OutboxItem.state.in_(("pending", "rejected")),
                OutboxItem.sent_to.is_(None), other)


def recorded_since(db: DB, since: datetime | None, *, link_fp: str | None = None,
                   answered_fp: str | None = None) -> int | None:
    """How many sessions waiting to be sent were queued at or after ``since`` (when sharing was stopped: they
    were recorded while it was off, and go once consent is given again); None without a ``since``. Read by
    when they were queued (within ``poll_s`` of being stored), not by their own dates: a session analysed
    from an older video is dated by it. With ``link_fp`` (the token in use), those recorded under a token the
    clinic never answered are not counted: consent does not send them (:func:`unanswered`)."""
    if since is None:
        return None
    query = (select(func.count()).select_from(OutboxItem)
             .where(OutboxItem.kind == "session", OutboxItem.state == "pending", OutboxItem.enqueued_at >= since))
    if link_fp is not None:
        query = query.where(not_(_unanswered(link_fp, answered_fp)))
    return int(db.scalar(query) or 0)


def enqueue_pending(db: DB, *, patient_id: uuid.UUID, orphans: Collection[uuid.UUID], now: datetime,
                    link_fp: str | None = None) -> int:
    """Add outbox rows for what is ready and not yet queued (a finished session, or one of ``orphans``,
    unfinished when this process started); returns how many were added. ``link_fp``: the device token the
    sessions were recorded under (romcam.sync.config.token_fingerprint), kept on their rows."""
    queued_sessions = select(OutboxItem.object_id).where(OutboxItem.kind == "session")
    ready = Session.ended_at.is_not(None)
    if orphans:
        ready = or_(ready, Session.id.in_(list(orphans)))
    sessions = db.execute(
        select(Session.id).where(Session.patient_id == patient_id, Session.demo.is_(False), ready,
                                 Session.id.not_in(queued_sessions))
        .order_by(Session.started_at)).scalars().all()
    queued_checkins = select(OutboxItem.object_id).where(OutboxItem.kind == "checkin")
    checkins = db.execute(
        select(Checkin.id, Checkin.session_id).join(Session, Session.id == Checkin.session_id)
        .where(Session.patient_id == patient_id, Session.demo.is_(False), Checkin.id.not_in(queued_checkins))
        .order_by(Checkin.created_at)).all()
    rows = [OutboxItem(kind="session", object_id=sid, session_id=sid, enqueued_at=now, link_fp=link_fp)
            for sid in sessions]
    rows += [OutboxItem(kind="checkin", object_id=cid, session_id=sid, enqueued_at=now) for cid, sid in checkins]
    if not rows:
        return 0
    db.add_all(rows)
    try:
        db.commit()
    except IntegrityError:  # another writer queued some of them first: queue the rest one by one
        db.rollback()
        added = 0
        for row in rows:
            db.add(OutboxItem(kind=row.kind, object_id=row.object_id, session_id=row.session_id, enqueued_at=now,
                              link_fp=row.link_fp))
            try:
                db.commit()
                added += 1
            except IntegrityError:
                db.rollback()
        return added
    return len(rows)


def enqueue_session(db: DB, session_id: uuid.UUID, *, patient_id: uuid.UUID, link_fp: str, now: datetime) -> bool:
    """Queue one finished session of ``patient_id`` (the local patient) at once, recorded under ``link_fp``:
    ``romcam analyze --save`` stores it outside ``romcam serve``, under the link ``romcam link`` saved last, and
    the worker's next start would otherwise count it as the token's before. Nothing for a demo, another
    patient's session, one not finished, or one queued already; True when added."""
    session = db.get(Session, session_id)
    if session is None or session.patient_id != patient_id or session.demo or session.ended_at is None:
        return False
    if db.scalar(select(OutboxItem.id).where(OutboxItem.kind == "session", OutboxItem.object_id == session_id)):
        return False
    db.add(OutboxItem(kind="session", object_id=session_id, session_id=session_id, enqueued_at=now, link_fp=link_fp))
    try:
        db.commit()
    except IntegrityError:  # the running worker queued it first
        db.rollback()
        return False
    return True


def _answered_before(link_fp: str, answered_fp: str | None) -> ColumnElement[bool]:
    """The session rows waiting (pending or refused) that were recorded under ``answered_fp``, the token the
    clinic answered before ``link_fp``'s first answer (so they are the patient ``link_state`` names), or
    before the laptop was first linked (no token: also rows queued before migration 0014)."""
    return and_(OutboxItem.kind == "session", OutboxItem.state.in_(("pending", "rejected")),
                OutboxItem.link_fp.is_(None) if answered_fp is None
                else or_(OutboxItem.link_fp.is_(None), OutboxItem.link_fp == answered_fp),
                or_(OutboxItem.link_fp.is_(None), OutboxItem.link_fp != link_fp))


def hold_unsent(db: DB, *, patient_id: uuid.UUID, why: str, now: datetime, link_fp: str | None = None,
                answered_fp: str | None = None) -> int:
    """Keep sessions of ``patient_id`` not yet sent off the queue (``held``, with ``why``): the device token
    now names another clinic patient, and what was recorded for the one before is not theirs. ``link_fp``:
    the token the clinic answered for (when given, only the sessions recorded under ``answered_fp`` — the
    token it answered before, which named the patient before — or before any link are held; one recorded
    since the new token was first started, however many restarts later, is the new patient's, and one
    recorded under a token the clinic never answered is no one's yet: it waits, see :func:`unanswered`). A
    held session is released if its own token is answered again (:func:`release_held`). Without ``link_fp``,
    every session not sent is held. Returns how many sessions are held."""
    if link_fp is not None:
        rows = list(db.scalars(select(OutboxItem).where(_answered_before(link_fp, answered_fp))))
        for row in rows:
            row.state, row.last_error = "held", why[:1000]
        return len(rows)
    sent = select(OutboxItem.object_id).where(OutboxItem.kind == "session", OutboxItem.state == "sent")
    ids = db.execute(select(Session.id).where(Session.patient_id == patient_id, Session.demo.is_(False),
                                              Session.id.not_in(sent))).scalars().all()
    found = {r.object_id: r for r in db.scalars(select(OutboxItem).where(OutboxItem.kind == "session",
                                                                          OutboxItem.object_id.in_(ids)))}
    for sid in ids:
        row = found.get(sid)
        if row is None:
            db.add(OutboxItem(kind="session", object_id=sid, session_id=sid, enqueued_at=now, state="held",
                              last_error=why[:1000]))
        else:
            row.state, row.last_error = "held", why[:1000]
    return len(ids)


def adopt_unsent(db: DB, link_fp: str, answered_fp: str | None = None) -> int:
    """The sessions waiting (pending or refused) under ``answered_fp``, the token the clinic answered before,
    or recorded before any link, are ``link_fp``'s: it names the same clinic patient (a new token, a clinic at
    a new address) or the laptop's first clinic patient. Those recorded under a token the clinic never
    answered are not: they stay that token's (:func:`unanswered`). Returns how many."""
    n = db.execute(update(OutboxItem).where(_answered_before(link_fp, answered_fp))
                   .values(link_fp=link_fp)).rowcount
    return int(n or 0)


def release_held(db: DB, link_fp: str) -> int:
    """The sessions held that were recorded under ``link_fp`` go back in the queue: the clinic has just
    answered that token again, and they are the patient it names (held while another patient's token was
    in use, or recorded under it while the clinic had never answered it). Returns how many."""
    n = db.execute(update(OutboxItem).where(OutboxItem.kind == "session", OutboxItem.state == "held",
                                            OutboxItem.link_fp == link_fp)
                   .values(state="pending", last_error="")).rowcount
    return int(n or 0)


def unanswered(db: DB, *, link_fp: str, answered_fp: str | None) -> int:
    """How many sessions wait under a device token the clinic never answered (see :func:`_unanswered`):
    kept on this laptop, never sent under ``link_fp`` (the token in use); they go if their own token is
    linked again and the clinic answers it."""
    return int(db.scalar(select(func.count()).select_from(OutboxItem)
                         .where(_unanswered(link_fp, answered_fp))) or 0)


def due(db: DB, clinic_patient_id: uuid.UUID | None = None, limit: int = 50,
        link_fp: str | None = None) -> list[OutboxItem]:
    """Pending items, sessions before check-ins, oldest first. A check-in waits for its session to be sent
    for ``clinic_patient_id`` (when given: the patient the link names now; one sent for a patient the
    token named before is theirs, and the new patient's clinic would refuse its check-in). ``link_fp``
    (when given): only the sessions recorded under that device token (the clinic confirmed it), or sent for
    ``clinic_patient_id`` before and queued again."""
    sent_sessions = select(OutboxItem.object_id).where(OutboxItem.kind == "session", OutboxItem.state == "sent")
    if clinic_patient_id is not None:
        sent_sessions = sent_sessions.where(OutboxItem.sent_to == clinic_patient_id)
    session_ok = OutboxItem.kind == "session"
    if link_fp is not None:  # or sent for this patient before (queued again: a clinic restored from a backup)
        mine = OutboxItem.link_fp == link_fp
        if clinic_patient_id is not None:
            mine = or_(mine, OutboxItem.sent_to == clinic_patient_id)
        session_ok = and_(session_ok, mine)
    return list(db.scalars(
        select(OutboxItem).where(OutboxItem.state == "pending",
                                 or_(session_ok, and_(OutboxItem.kind == "checkin",
                                                      OutboxItem.session_id.in_(sent_sessions))))
        .order_by(OutboxItem.kind.desc(), OutboxItem.enqueued_at, OutboxItem.id).limit(limit)))


def counts(db: DB, *, link_fp: str | None = None, answered_fp: str | None = None) -> dict[str, int]:
    """Sessions per state (check-ins are counted with nothing: the patient thinks in sessions). With
    ``link_fp`` (the token in use), those recorded under a token the clinic never answered are left out of
    pending and refused: they are not waiting to be sent (:func:`unanswered` counts them)."""
    query = select(OutboxItem.state, func.count()).where(OutboxItem.kind == "session")
    if link_fp is not None:
        query = query.where(not_(_unanswered(link_fp, answered_fp)))
    rows = db.execute(query.group_by(OutboxItem.state)).all()
    found = {state: n for state, n in rows}
    return {"pending": found.get("pending", 0), "sent": found.get("sent", 0), "rejected": found.get("rejected", 0),
            "held": found.get("held", 0)}


def failing(db: DB, *, link_fp: str | None = None, answered_fp: str | None = None) -> tuple[int, str]:
    """The sessions waiting to be sent whose last try failed (no answer in time, a 5xx: not refused, which
    marks them ``rejected``), and the reason of the latest such try ("" when none). One the clinic's server fails
    on every round stays queued while those behind it go, and the link's own error is cleared by each upload
    that goes through: this is how the patient hears of it. With ``link_fp``, those recorded under a token the
    clinic never answered are left out (they are not tried: :func:`unanswered`)."""
    where = [OutboxItem.kind == "session", OutboxItem.state == "pending", OutboxItem.attempts > 0,
             OutboxItem.last_error != ""]
    if link_fp is not None:
        where.append(not_(_unanswered(link_fp, answered_fp)))
    n = int(db.scalar(select(func.count()).select_from(OutboxItem).where(*where)) or 0)
    if not n:
        return 0, ""
    why = db.scalar(select(OutboxItem.last_error).where(*where)
                    .order_by(OutboxItem.last_attempt_at.desc(), OutboxItem.id).limit(1))
    return n, why or ""


def sent_sessions(db: DB, clinic_patient_id: uuid.UUID) -> list[uuid.UUID]:
    """The sessions marked sent for ``clinic_patient_id``, oldest first (those sent for a patient the
    device token named before are not that patient's to ask about, nor to send again)."""
    return list(db.scalars(select(OutboxItem.object_id).join(Session, Session.id == OutboxItem.object_id)
                           .where(OutboxItem.kind == "session", OutboxItem.state == "sent",
                                  OutboxItem.sent_to == clinic_patient_id)
                           .order_by(Session.started_at, Session.id)))


def sent_checkins(db: DB, clinic_patient_id: uuid.UUID) -> list[uuid.UUID]:
    """The check-ins marked sent for ``clinic_patient_id`` whose session is marked sent for them too (the
    others wait for theirs), oldest first."""
    sent = select(OutboxItem.object_id).where(OutboxItem.kind == "session", OutboxItem.state == "sent",
                                              OutboxItem.sent_to == clinic_patient_id)
    return list(db.scalars(select(OutboxItem.object_id).join(Checkin, Checkin.id == OutboxItem.object_id)
                           .where(OutboxItem.kind == "checkin", OutboxItem.state == "sent",
                                  OutboxItem.sent_to == clinic_patient_id, OutboxItem.session_id.in_(sent))
                           .order_by(Checkin.created_at, Checkin.id)))


def send_checkins_again(db: DB, checkin_ids: Collection[uuid.UUID]) -> int:
    """Put sent check-ins back in the queue (the clinic holds their session but not them: restored from a
    backup made between the two uploads); returns how many."""
    if not checkin_ids:
        return 0
    n = db.execute(update(OutboxItem).where(OutboxItem.kind == "checkin", OutboxItem.state == "sent",
                                            OutboxItem.object_id.in_(list(checkin_ids)))
                   .values(state="pending", sent_at=None)).rowcount
    db.commit()
    return int(n or 0)


def send_again(db: DB, session_ids: Collection[uuid.UUID]) -> int:
    """Put sent sessions, and their check-ins, back in the queue (the clinic no longer holds them: it was
    restored from a backup made before they arrived); returns how many sessions."""
    if not session_ids:
        return 0
    ids = list(session_ids)
    n = db.execute(update(OutboxItem).where(OutboxItem.kind == "session", OutboxItem.state == "sent",
                                            OutboxItem.object_id.in_(ids))
                   .values(state="pending", sent_at=None, sent_sha256=None)).rowcount
    db.execute(update(OutboxItem).where(OutboxItem.kind == "checkin", OutboxItem.state == "sent",
                                        OutboxItem.session_id.in_(ids))
               .values(state="pending", sent_at=None))
    db.commit()
    return int(n or 0)


def offer_refused_again(db: DB) -> int:
    """Put every item the clinic refused back in the queue; returns how many. The worker does this when
    it starts: a clinic server updated since may take what an older one refused (a rep whose
    furthest point was not seen, for one), and one that still refuses just refuses again. The worker does
    it again every ``audit_every_s`` too: a session dated days ahead by a wrong clock is refused until
    that day has come. Their refusal is cleared with it: until the clinic answers the new try, none of them is
    "failing" (:func:`failing`), and the next refusal says why again."""
    n = db.execute(update(OutboxItem).where(OutboxItem.state == "rejected")
                   .values(state="pending", last_error="")).rowcount
    db.commit()
    return int(n or 0)
