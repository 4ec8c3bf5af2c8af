"""The stored tables (SQLAlchemy 2.0). UUID ids throughout, so a patient's laptop and a clinic server
agree on them; the schema itself is made by the Alembic migrations in ``alembic/versions``.

Samples are kept per set as one compressed blob (see :mod:`romcam.store.blob`), never a row each.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    Uuid,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps naive UTC text, so order by
    text is order by time; PostgreSQL a ``timestamptz``). Naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a UTC offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)  # the person at this laptop
    plan_paused: Mapped[bool] = mapped_column(Boolean, default=False)  # mutes missed-session alerts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the clinician who owns this patient on a clinic server (None: nobody's, e.g. the laptop's own patient).
    # A users.id, checked by the API; no foreign key, so that users -> patients (a patient's own account)
    # stays the only edge between the two tables (no cycle for tools that sort tables; accounts are
    # deactivated, never deleted)
    clinician_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)


class PlanPause(Base):
    """A time the PT paused the patient's plan (``Patient.plan_paused``): from ``paused_at`` to ``resumed_at`` (null
    while it lasts). Written by the same change that pauses or resumes the plan (romcam.store.service.update_patient);
    the days it covers ask for no session (romcam.store.trends: adherence, the calendar, missed sessions). A patient
    paused before migration 0015 has an open pause from when the migration ran."""

    __tablename__ = "plan_pauses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Prescription(Base):
    """A prescribed motion; its contents live in versions (an edit adds a version row)."""

    __tablename__ = "prescriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # when it was ended (null while active): the plan's start reads each prescription's time in the plan, from
    # resumed_at when set (migration 0012), else created_at, to ended_at (romcam.store.trends.plan_periods and
    # plan_start; migration 0011)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # when an ended prescription was last put back in the plan (an edit): its time in the plan runs from then, not
    # from created_at (migration 0012); null if it never was
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    versions: Mapped[list[PrescriptionVersion]] = relationship(
        back_populates="prescription", order_by="PrescriptionVersion.version", cascade="all, delete-orphan")


class PrescriptionVersion(Base):
    __tablename__ = "prescription_versions"

    prescription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))
    posture: Mapped[str] = mapped_column(String(16))
    target_min: Mapped[float] = mapped_column(Float)
    target_max: Mapped[float] = mapped_column(Float)
    safe_max: Mapped[float] = mapped_column(Float)
    # the lowest angle the coach allows (over-straightening, for the motions that work the low end);
    # null: no limit at the low end (migration 0009)
    safe_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    reps: Mapped[int] = mapped_column(Integer)
    hold_s: Mapped[float] = mapped_column(Float)
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    max_reps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    prescription: Mapped[Prescription] = relationship(back_populates="versions")


class Session(Base):
    """One exercise session; ``id`` is generated by the client, so re-sending it is idempotent."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))  # complete | interrupted
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # one of its sets is filed under a prescription (kept by the store as sets are stored; adherence reads it)
    filed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    model: Mapped[str] = mapped_column(String(200), default="")
    romcam_version: Mapped[str] = mapped_column(String(40), default="")
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the canonical document: idempotency
    # the sending laptop's clock less the clinic's when it sent the session (seconds; null: none said; 0014)
    clock_off_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sets: Mapped[list[ExerciseSet]] = relationship(
        back_populates="session", order_by="ExerciseSet.position", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_sessions_patient_started", "patient_id", "started_at"),
                      Index("ix_sessions_patient_demo_started", "patient_id", "demo", "started_at"),  # 0004p
                      Index("ix_sessions_patient_demo_filed_started", "patient_id", "demo", "filed", "started_at"))


class ExerciseSet(Base):
    """One exercise in a session, with the per-set summary that trends read."""

    __tablename__ = "exercise_sets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # uuid5(session id, position)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    session_started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # copied for the trend index
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exercise: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))
    posture: Mapped[str] = mapped_column(String(16))
    prescription_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    prescription_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    view_ok_fraction: Mapped[float] = mapped_column(Float)
    best_angle: Mapped[float | None] = mapped_column(Float, nullable=True)  # per the catalog's `works`
    min_angle: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_angle: Mapped[float | None] = mapped_column(Float, nullable=True)
    reps_full: Mapped[int] = mapped_column(Integer, default=0)
    reps_partial: Mapped[int] = mapped_column(Integer, default=0)
    # False when any rep's furthest point may have gone unseen (Rep.peak_seen): best_angle is then a
    # bound on the range reached, not a measurement (0006). A server default only, like Rep.peak_seen: a
    # row written without it (an older writer, a bulk insert) reads as seen
    best_seen: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # Frames of the movement measured a second, from the set's own samples (romcam.sample_rate.sample_fps),
    # kept beside them so that trends and alerts read a column, never the samples (0013); None with fewer
    # than two measured samples. Below romcam.sample_rate.MIN_COUNT_FPS the reps and peaks are not trusted
    sample_fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    summary: Mapped[dict] = mapped_column(JSON)  # the analyze document without samples and reps

    session: Mapped[Session] = relationship(back_populates="sets")
    reps: Mapped[list[Rep]] = relationship(order_by="Rep.position", cascade="all, delete-orphan")
    samples: Mapped[SetSamples | None] = relationship(cascade="all, delete-orphan", uselist=False)
    prescription_version_row: Mapped[PrescriptionVersion | None] = relationship(viewonly=True)

    __table_args__ = (
        ForeignKeyConstraint(["prescription_id", "prescription_version"],
                             ["prescription_versions.prescription_id", "prescription_versions.version"]),
        Index("ix_sets_trend", "patient_id", "exercise", "side", "mode", "session_started_at"),
        Index("ix_sets_session", "session_id", "position", unique=True),
    )


class Rep(Base):
    __tablename__ = "reps"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # uuid5(set id, position)
    set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exercise_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    peak: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    max_angle: Mapped[float] = mapped_column(Float)
    min_angle: Mapped[float] = mapped_column(Float)
    hold_s: Mapped[float] = mapped_column(Float)
    partial: Mapped[bool] = mapped_column(Boolean)
    below_target: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # False: the furthest point may have fallen in unmeasured frames, the peak angle is the furthest
    # seen, a bound (romcam.reps.Rep.peak_seen); rows from before 0006 read as seen
    peak_seen: Mapped[bool] = mapped_column(Boolean, server_default=true())


class SetSamples(Base):
    """The angle signal of a set as one blob (:mod:`romcam.store.blob`)."""

    __tablename__ = "set_samples"

    set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exercise_sets.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Alert(Base):
    """Information for the PT, recomputed from the stored sets; a cleared condition is resolved."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # decline | other_end | missed_sessions
    exercise: Mapped[str | None] = mapped_column(String(64), nullable=True)
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    posture: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_alerts_patient", "patient_id", "resolved_at"),)


class Checkin(Base):
    """The patient's short check-in after a live session (pain, tiredness, cramps), for the PT."""

    __tablename__ = "checkins"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    pain: Mapped[int] = mapped_column(Integer)  # 0-10
    tiredness: Mapped[int] = mapped_column(Integer)  # 0-10
    cramps: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- accounts (issue 7): users, their server-side sessions, device tokens, the audit log ---------------

class User(Base):
    """An account on a clinic server. ``role``: admin | clinician | patient | caregiver; a patient or a
    caregiver acts for exactly one patient (``patient_id``)."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower case
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthSession(Base):
    """A login: the cookie carries a random secret, the table only its SHA-256 (``id``)."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's secret
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceToken(Base):
    """A patient machine's bearer token, scoped to one patient; only its SHA-256 is stored."""

    __tablename__ = "device_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(24))  # the first characters, to recognise it in a list
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Who viewed or changed which patient's data. The patient is a keyed pseudonym (HMAC of the id
    with the server's secret key), never the id or the name, so the rows outlive a deleted patient
    de-identified. ``route`` is the path template (``/api/patients/{patient_id}``), never the path."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | device | local
    actor_id: Mapped[str] = mapped_column(String(64))  # user id, device token id, or "local"
    actor_role: Mapped[str] = mapped_column(String(16))
    patient_ref: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))  # view | change
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))


class ServerSetting(Base):
    """A named value this database keeps about the server that writes it: ``audit_key`` is the
    fingerprint of the secret key the audit log's pseudonyms were made with (romcam/store/audit.py)."""

    __tablename__ = "server_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# --- sync (issue 7): this laptop's link to a clinic server and the outbox of its uploads -------------

class LinkState(Base):
    """What this laptop knows of the clinic it uploads to (one row, ``id`` 1): the clinic's patient id
    (from ``GET /api/device``), the prescriptions pulled from it, the patient's consent and the last
    upload. The URL and token live in the link configuration, never here."""

    __tablename__ = "link_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_url: Mapped[str] = mapped_column(String(500), default="")
    clinic_patient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    clinic_patient_name: Mapped[str] = mapped_column(String(200), default="")
    managed_rx: Mapped[list] = mapped_column(JSON, default=list)  # ids of the prescriptions pulled from it
    plan_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_url: Mapped[str] = mapped_column(String(500), default="")  # the clinic the consent was given for
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_upload_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # fingerprints of device tokens (romcam.sync.config.token_fingerprint; 0014): the one romcam last started
    # with, and the one whose clinic answer named clinic_patient_id (another's: the link is not confirmed yet)
    started_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutboxItem(Base):
    """One thing to upload to the clinic: a session or a check-in (``kind``, ``object_id``). The
    document is built from the stored rows when it is sent, so a retry sends the same bytes.
    ``state``: pending | sent | rejected (the clinic refused the document itself: kept, offered again when
    romcam next starts and every ``audit_every_s``) | held (recorded while the device token named another clinic
    patient: never sent). ``sent_to``: the clinic patient it was sent for (the audit asks only about the
    current one's)."""

    __tablename__ = "sync_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))  # session | checkin
    object_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of the document the clinic took
    sent_to: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # the clinic patient it was sent for
    link_fp: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the token it was recorded under (0014)
    # the laptop's clock less the clinic's when first sent, fixed for every retry (0: within 5 minutes; 0014)
    clock_off_s: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index("ix_outbox_object", "kind", "object_id", unique=True),
        Index("ix_outbox_state", "state", "enqueued_at"),
    )
