"""The FHIR export reads the prescription versions its sets followed in one query, not one per set: its number of
SQL statements does not grow with the number of sets (a patient with years of sessions, each after a plan edit,
exported at once), and each Observation still says how many reps went past the safe limit of the version its set
followed. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from sqlalchemy import event

from romcam.store import Store, service
from romcam.store.exports import export_fhir
from romcam.store.models import ExerciseSet, Patient, PrescriptionVersion, Rep
from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 125, "reps": 10, "hold_s": 2, "sessions_per_week": 3}
SET = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated"}


def _patient(store: Store, sessions: int) -> uuid.UUID:
    """A patient whose PT edits the safe maximum before each session (125°, 126°, …: each set follows its own
    version; the reps peak at 128°, past some versions' limit and not others'), plus a set followed no plan and a
    demo session (left out of the export)."""
    start = datetime(2026, 1, 5, 10, tzinfo=UTC)
    with store.session() as db:
        patient = service.create_patient(db, name=f"Patient of {sessions} sessions")
        rx = service.create_prescription(db, patient, dict(KNEE), created_at=start - timedelta(days=1))
        for k in range(sessions):
            if k:
                service.update_prescription(db, rx, KNEE | {"safe_max": 125 + k},
                                            created_at=start + timedelta(days=2 * k, hours=-1))
            sets = [SET | {"peak": 128.0, "prescription": rx}] + ([SET | {"peak": 100.0}] if k == 0 else [])
            service.ingest_session(db, synthetic_session(patient.id, start + timedelta(days=2 * k), sets))
        service.ingest_session(db, synthetic_session(patient.id, start + timedelta(days=1), [SET | {"peak": 90.0}],
                                                     demo=True))
        return patient.id


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def _export(store: Store, patient_id: uuid.UUID) -> tuple[dict, list[str]]:
    """The patient's FHIR export from a fresh database session (nothing already loaded), and its statements."""
    with store.session() as db:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        with _statements(store) as sent:
            bundle = export_fhir(db, patient)
    return bundle, sent


def test_the_fhir_exports_queries_do_not_grow_with_its_sets(store: Store) -> None:
    few, many = _patient(store, 2), _patient(store, 8)
    small, small_sql = _export(store, few)
    large, large_sql = _export(store, many)
    assert len(small["entry"]) == 3 and len(large["entry"]) == 9  # each session's set and the unplanned one
    assert len(large_sql) == len(small_sql), (len(small_sql), len(large_sql), large_sql)


def test_each_observation_names_the_safe_limit_of_the_version_its_set_followed(store: Store) -> None:
    patient_id = _patient(store, 6)
    bundle, _ = _export(store, patient_id)
    notes = {uuid.UUID(e["fullUrl"].removeprefix("urn:uuid:")): [n["text"] for n in e["resource"]["note"]]
             for e in bundle["entry"]}
    with store.session() as db:
        for set_id, texts in notes.items():
            s = db.get(ExerciseSet, set_id)
            assert s is not None
            past = [t for t in texts if "past the PT's safe maximum" in t]
            if s.prescription_id is None:
                assert past == [], texts
                continue
            v = db.get(PrescriptionVersion, (s.prescription_id, s.prescription_version))
            assert v is not None
            over = sum(1 for r in db.query(Rep).filter(Rep.set_id == s.id) if r.max_angle > v.safe_max)
            said = [f"{over} of {len(s.reps)} reps went past the PT's safe maximum of {v.safe_max:g} deg"]
            assert past == (said if over else []), (v.version, v.safe_max, texts)
    versions = {t.rsplit(" of ", 1)[1] for texts in notes.values() for t in texts if "safe maximum" in t}
    assert len(versions) >= 2, versions  # the notes name several versions' limits, not one for all
