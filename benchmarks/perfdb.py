"""The clinic-scale database of `make bench` (benchmarks/perf.py, part 5): seeding and HTTP timing.

A clinic: ``patients`` patients x ``years`` years x ``per_week`` sessions a week (weekdays) x one
set per motion of :data:`MOTIONS` (4), each set 3 synthetic reps with their samples (10 fps).
Seeding 100,000 sessions through ``ingest_session`` would take an hour, so:

- :func:`session_specs` describes each session (times, peaks; a slow loss of range over the
  years, and a sharp loss over the last 3 sessions for one patient in 10, which raises a decline
  alert);
- :func:`set_values` makes a set's samples and reps with numpy;
- :func:`session_document` turns a spec into a real ``romcam.session/1`` document (the ingest path),
  :func:`session_rows` into the rows ``ingest_session`` would write (the bulk path).

The two paths give the same stored rows (tests/test_perf_parts.py checks it on both databases);
only ``content_sha256`` differs (the bulk rows hash the spec, not the canonical document, so
re-sending a bulk session's document would be a 409). :func:`seed_clinic` ingests the first sessions
through the real path and bulk-inserts the rest.
"""

from __future__ import annotations

import functools
import hashlib
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy import insert

from romcam import __version__
from romcam.catalog import default_catalog
from romcam.sample_rate import sample_fps
from romcam.session_doc import SetDoc, set_from_analysis
from romcam.session_doc import session_document as make_session_document
from romcam.store import Store, service
from romcam.store.blob import pack_samples
from romcam.store.models import ExerciseSet, Patient, Rep, Session, SetSamples
from romcam.store.trends import refresh_alerts

# (exercise, side, mode, posture, target_min, target_max, safe_max, baseline best angle)
MOTIONS = [
    ("knee_flexion", "right", "active", "seated", 90, 120, 135, 110.0),
    ("shoulder_abduction", "left", "active", "standing", 100, 150, 165, 135.0),
    ("shoulder_flexion", "right", "active", "standing", 100, 150, 170, 140.0),
    ("elbow_flexion", "left", "passive", "seated", 110, 140, 150, 130.0),
]
FPS = 10.0
REPS = 3
REP_S = 3.0
NOISE_DEG = 0.5
LOSS_PER_YEAR = 4.0  # slow loss of range (degrees a year): ALS is progressive
DECLINE_DEG = 25.0  # one patient in 10: the knee loses this much over the last 3 sessions
SOURCE = "synthetic (bench seed)"
SEED_VERSION = 2  # bump when what is seeded changes: benchmarks/perf.py caches the seeded clinic by it
_DATETIME = TypeAdapter(AwareDatetime)


@dataclass(frozen=True, slots=True)
class SetSpec:
    motion: int  # index in MOTIONS
    peak: float  # degrees, to 0.1


@dataclass(frozen=True, slots=True)
class SessionSpec:
    id: uuid.UUID
    patient_id: uuid.UUID
    started_at: datetime
    sets: tuple[SetSpec, ...]


@dataclass(slots=True)
class SetValues:
    """One set's measured values, from which both paths build what they store."""

    t: np.ndarray  # seconds, rounded as the analyze document rounds them
    angle: np.ndarray  # degrees, rounded to 0.1
    reps: list[dict[str, Any]]
    max_angle: float
    min_angle: float


_T = np.round(np.arange(0.0, REPS * REP_S + 1.0, 1.0 / FPS), 3)
_SHAPE = (1 - np.cos(2 * np.pi * np.clip((_T - 0.5) / REP_S, 0, REPS))) / 2
_REP_SLICES = [np.flatnonzero((_T >= 0.5 + i * REP_S) & (_T <= 0.5 + (i + 1) * REP_S)) for i in range(REPS)]


@functools.lru_cache(maxsize=20_000)
def set_values(spec: SetSpec) -> SetValues:
    """The set's signal: 3 reps up to ``peak`` and measurement noise. A pure function of the spec
    (the noise is seeded by it), so the 400,000 sets of a clinic are made from a few thousand."""
    motion = default_catalog().get(MOTIONS[spec.motion][0])
    rest = max(motion.normal.min, 0.0)
    rng = np.random.default_rng([spec.motion, int(round(spec.peak * 10)) % 2**31])
    angle = np.round(rest + (spec.peak - rest) * _SHAPE + rng.normal(0, NOISE_DEG, _T.size), 1)
    reps = []
    for i, idx in enumerate(_REP_SLICES):
        start, end = 0.5 + i * REP_S, 0.5 + (i + 1) * REP_S
        reps.append({"start": round(start, 3), "peak": round(start + REP_S / 2, 3), "end": round(end, 3),
                     "max_angle": float(angle[idx].max()), "min_angle": float(angle[idx].min()), "hold_s": 0.3,
                     "partial": False, "below_target": None})
    return SetValues(_T, angle, reps, float(angle.max()), float(angle.min()))


@functools.lru_cache(maxsize=20_000)
def _packed(spec: SetSpec) -> bytes:
    v = set_values(spec)
    return pack_samples(v.t, v.angle)


def _analysis(spec: SetSpec, v: SetValues, *, samples: bool) -> dict[str, Any]:
    exercise, side = MOTIONS[spec.motion][:2]
    motion = default_catalog().get(exercise)
    doc = {
        "schema": "romcam.analysis/1", "exercise": exercise, "exercise_name": motion.display_name,
        "experimental": motion.experimental, "side": side, "video": "synthetic (no video)", "fps": FPS,
        "frames": int(v.t.size), "frames_with_subject": int(v.t.size), "frames_measured": int(v.t.size),
        "view_ok_fraction": 1.0, "required_view": motion.view, "method": motion.method, "works": motion.works,
        "target": None,
        "normal_range": {"min": motion.normal.min, "max": motion.normal.max, "source": motion.normal.citation},
        "max_angle": v.max_angle, "min_angle": v.min_angle, "warnings": [], "error": None, "model": "synthetic",
        "romcam_version": __version__,
    }  # fmt: skip
    if samples:
        doc["samples"] = [{"t": float(a), "angle": float(b), "angle_raw": float(b), "confidence": 0.9,
                           "view_ok": True} for a, b in zip(v.t, v.angle, strict=True)]
        doc["reps"] = v.reps
    return doc


def _set_started(s: SessionSpec, i: int) -> datetime:
    return s.started_at + timedelta(minutes=3 * i)


def session_document(s: SessionSpec, rx: dict[tuple[uuid.UUID, int], tuple[uuid.UUID, int]]) -> dict[str, Any]:
    """The ``romcam.session/1`` document of a spec (``rx``: (patient, motion) → (prescription id, version))."""
    sets = []
    for i, spec in enumerate(s.sets):
        mode, posture = MOTIONS[spec.motion][2:4]
        rx_id, rx_version = rx[(s.patient_id, spec.motion)]
        sets.append(set_from_analysis(_analysis(spec, set_values(spec), samples=True), mode=mode, posture=posture,
                                      prescription_id=rx_id, prescription_version=rx_version,
                                      started_at=_set_started(s, i)))
    return make_session_document(sets, patient_id=s.patient_id, started_at=s.started_at,
                                 ended_at=s.started_at + timedelta(minutes=3 * len(s.sets) + 2), source=SOURCE,
                                 status="complete", demo=False, model="synthetic", session_id=s.id)


@dataclass
class Rows:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    sets: list[dict[str, Any]] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sessions)


_SUMMARY_TEMPLATE: dict[int, dict[str, Any]] = {}


def _summary(spec: SetSpec, v: SetValues, started: datetime, rx_id: uuid.UUID, rx_version: int) -> dict[str, Any]:
    """``SetDoc.summary()`` of the set's document, from a per-motion template (validating every set's
    document with pydantic would be most of the seeding time)."""
    template = _SUMMARY_TEMPLATE.get(spec.motion)
    if template is None:
        mode, posture = MOTIONS[spec.motion][2:4]
        doc = set_from_analysis(_analysis(spec, v, samples=False), mode=mode, posture=posture,
                                prescription_id=rx_id, prescription_version=rx_version, started_at=started)
        template = _SUMMARY_TEMPLATE[spec.motion] = SetDoc.model_validate(doc).summary()
    return template | {"started_at": _DATETIME.dump_python(started, mode="json"), "max_angle": v.max_angle,
                       "min_angle": v.min_angle, "prescription_id": str(rx_id), "prescription_version": rx_version}


def session_rows(s: SessionSpec, rx: dict[tuple[uuid.UUID, int], tuple[uuid.UUID, int]], rows: Rows, *,
                 received_at: datetime) -> None:
    """Append the rows ``ingest_session`` would store for the spec's document (see the module docstring)."""
    rows.sessions.append({
        "id": s.id, "patient_id": s.patient_id, "started_at": s.started_at,
        "ended_at": s.started_at + timedelta(minutes=3 * len(s.sets) + 2), "source": SOURCE, "status": "complete",
        "demo": False, "filed": True, "model": "synthetic", "romcam_version": __version__,
        "content_sha256": hashlib.sha256(f"bench-seed:{s.id}".encode()).hexdigest(), "received_at": received_at,
    })  # fmt: skip
    for i, spec in enumerate(s.sets):
        exercise, side, mode, posture = MOTIONS[spec.motion][:4]
        works = default_catalog().get(exercise).works
        rx_id, rx_version = rx[(s.patient_id, spec.motion)]
        v = set_values(spec)
        set_id = uuid.uuid5(s.id, f"set/{i}")
        started = _set_started(s, i)
        rows.sets.append({
            "id": set_id, "session_id": s.id, "position": i, "patient_id": s.patient_id,
            "session_started_at": s.started_at, "started_at": started, "exercise": exercise, "side": side,
            "mode": mode, "posture": posture, "prescription_id": rx_id, "prescription_version": rx_version,
            "fps": FPS, "frames": int(v.t.size), "view_ok_fraction": 1.0, "sample_fps": sample_fps(v.t, v.angle),
            "best_angle": v.max_angle if works == "max" else v.min_angle, "min_angle": v.min_angle,
            "max_angle": v.max_angle, "reps_full": len(v.reps), "reps_partial": 0,
            "summary": _summary(spec, v, started, rx_id, rx_version),
        })  # fmt: skip
        for j, r in enumerate(v.reps):
            rows.reps.append({"id": uuid.uuid5(set_id, f"rep/{j}"), "set_id": set_id, "position": j, **r})
        rows.samples.append({"set_id": set_id, "count": int(v.t.size), "data": _packed(spec)})


def insert_rows(db: Any, rows: Rows) -> None:
    """Bulk insert (one executemany a table, in the order the foreign keys need); the caller commits.

    The values go through each column type's own bind processor (so they are stored exactly as the
    ORM stores them: tests/test_perf_parts.py compares), but the executemany is the driver's own:
    SQLAlchemy's per-row parameter handling was most of the seeding time."""
    conn = db.connection()
    for table, values in ((Session.__table__, rows.sessions), (ExerciseSet.__table__, rows.sets),
                          (Rep.__table__, rows.reps), (SetSamples.__table__, rows.samples)):
        if values:
            _executemany(conn, table, values)


def _executemany(conn: Any, table: Any, values: list[dict[str, Any]]) -> None:
    dialect = conn.dialect
    keys = list(values[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    procs = [(k, table.columns[k].type._cached_bind_processor(dialect)) for k in keys]
    if compiled.positional:
        order = [k for k in compiled.positiontup]
        index = {k: i for i, (k, _) in enumerate(procs)}
        params: list[Any] = []
        for row in values:
            converted = [proc(row[k]) if proc else row[k] for k, proc in procs]
            params.append(tuple(converted[index[k]] for k in order))
    else:
        params = [{k: proc(row[k]) if proc else row[k] for k, proc in procs} for row in values]
    conn.exec_driver_sql(str(compiled), params)


def session_specs(patient_ids: list[uuid.UUID], *, years: float, per_week: int, now: datetime,
                  seed: int = 0) -> Iterator[SessionSpec]:
    """Every patient's sessions, oldest first: ``per_week`` weekdays a week (Monday first) up to
    yesterday, one set per motion."""
    rng = np.random.default_rng(seed)
    end = (now - timedelta(days=1)).date()
    start = end - timedelta(days=round(365.25 * years))
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    days = [d for d in days if d.weekday() < per_week]
    for p, patient_id in enumerate(patient_ids):
        base = [m[7] + rng.normal(0, 5.0) for m in MOTIONS]
        declines = p % 10 == 0
        n = len(days)
        for k, day in enumerate(days):
            at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC) + timedelta(minutes=int(rng.integers(0, 180)))
            years_done = k / max(n - 1, 1) * years
            sets = []
            for m in range(len(MOTIONS)):
                peak = base[m] - LOSS_PER_YEAR * years_done + rng.normal(0, 1.5)
                if declines and m == 0 and k >= n - 3:
                    peak -= DECLINE_DEG
                sets.append(SetSpec(m, round(float(peak), 1)))
            yield SessionSpec(uuid.uuid5(patient_id, f"bench/{k}"), patient_id, at, tuple(sets))


@dataclass
class SeedResult:
    patient_ids: list[uuid.UUID]
    rx: dict[tuple[uuid.UUID, int], tuple[uuid.UUID, int]]
    sessions: int
    ingested: int  # through ingest_session (the validation sample)
    seconds: float


def make_patients(store: Store, n: int, *, plan_made: datetime | None = None,
                  ) -> tuple[list[uuid.UUID], dict[tuple[uuid.UUID, int], tuple[uuid.UUID, int]]]:
    """``n`` patients with one prescription per motion, made at ``plan_made`` (default now), through the
    service layer."""
    ids, rx = [], {}
    with store.session() as db:
        for i in range(n):
            patient = service.create_patient(db, name=f"Bench patient {i + 1:03d} (synthetic)",
                                             notes="made by benchmarks/perfdb.py")
            for m, (exercise, side, mode, posture, tmin, tmax, safe, _) in enumerate(MOTIONS):
                row = service.create_prescription(db, patient, {
                    "exercise": exercise, "side": side, "mode": mode, "posture": posture, "target_min": tmin,
                    "target_max": tmax, "safe_max": safe, "reps": 10, "hold_s": 2.0, "sessions_per_week": 5},
                    created_at=plan_made)
                rx[(patient.id, m)] = (row.id, row.current_version)
            ids.append(patient.id)
    return ids, rx


def seed_clinic(store: Store, *, patients: int = 200, years: float = 2.0, per_week: int = 5, ingest_first: int = 20,
                now: datetime | None = None, batch: int = 2000,
                progress: Callable[[int], None] | None = None) -> SeedResult:
    """Seed the clinic: the first ``ingest_first`` sessions through ``ingest_session`` (documents validated
    as the API does), the rest bulk-inserted; then every patient's alerts computed once."""
    now = now or datetime.now(UTC)
    t0 = time.perf_counter()
    ids, rx = make_patients(store, patients, plan_made=now - timedelta(days=365.25 * years + 1))
    rows, count, ingested = Rows(), 0, 0
    with store.session() as db:
        sqlite = store.engine.dialect.name == "sqlite"
        if sqlite:  # a bulk load: no fsync per commit (set back below)
            db.connection().exec_driver_sql("PRAGMA synchronous=OFF")
        for spec in session_specs(ids, years=years, per_week=per_week, now=now):
            if ingested < ingest_first:
                service.ingest_session(db, session_document(spec, rx), now=now)
                ingested += 1
            else:
                session_rows(spec, rx, rows, received_at=now)
                if len(rows) >= batch:
                    insert_rows(db, rows)
                    db.commit()
                    rows = Rows()
            count += 1
            if progress and count % 10_000 == 0:
                progress(count)
        insert_rows(db, rows)
        db.commit()
        if sqlite:
            db.connection().exec_driver_sql("PRAGMA synchronous=FULL")
        for pid in ids:
            refresh_alerts(db, db.get(Patient, pid), now=now)
    return SeedResult(ids, rx, count, ingested, time.perf_counter() - t0)


# --- timing over HTTP ------------------------------------------------------------------------------

class ServerThread:
    """The real FastAPI app under uvicorn on loopback, in a thread (what `romcam serve --no-live` runs)."""

    def __init__(self, store: Store, port: int) -> None:
        import uvicorn

        from romcam.server.app import create_app
        from romcam.server.settings import Settings

        app = create_app(Settings(db=store.url, host="127.0.0.1", port=port), store=store)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="bench-uvicorn", daemon=True)
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def time_requests(client: Any, urls: list[str], *, repeat: int) -> dict[str, float]:
    """Median and p95 (ms) of GET requests over ``urls`` x ``repeat`` (each must answer 200)."""
    times = []
    for _ in range(repeat):
        for url in urls:
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000.0)
            if r.status_code != 200:
                raise RuntimeError(f"GET {url} → {r.status_code}: {r.text[:300]}")
    return {"n": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(float(np.percentile(times, 95)), 1)}
