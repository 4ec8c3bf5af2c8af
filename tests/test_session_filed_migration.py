"""Migration 0010 (``sessions.filed``: one of the session's sets is filed under a prescription) on a database
made by 0009 with sessions in it, on SQLite and PostgreSQL: the old rows are set from their sets, nothing
is lost (the column is added in place), and it downgrades. And the store keeps the flag as sets are
stored: an ingested document, a live set (romcam/store/live.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from db_fixtures import *  # noqa: F403 (postgres_server, store)
from db_fixtures import alembic, databases_at
from sqlalchemy import inspect, text

from romcam.store import Store, live, service
from romcam.store.models import Session
from romcam.store.seed import synthetic_session

NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 130, "reps": 10, "hold_s": 0, "sessions_per_week": 3}


def _old_sessions(engine, sqlite: bool) -> tuple[uuid.UUID, uuid.UUID]:  # type: ignore[no-untyped-def]
    """A patient with a prescription and two sessions as 0009 stored them: one whose set is filed under the
    prescription, one whose set is not. Returns (filed, unfiled) session ids."""
    pid, rx, filed, unfiled = (uuid.uuid4() for _ in range(4))

    def i(u: uuid.UUID) -> object:
        return u.hex if sqlite else u

    at = NOW.replace(tzinfo=None) if sqlite else NOW
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                          "VALUES (:id, 'Old Patient', '', false, false, :t)"), {"id": i(pid), "t": at})
        conn.execute(text("INSERT INTO prescriptions (id, patient_id, active, current_version, created_at) "
                          "VALUES (:id, :pid, true, 1, :t)"), {"id": i(rx), "pid": i(pid), "t": at})
        for sid, rx_id in ((filed, rx), (unfiled, None)):
            conn.execute(text("INSERT INTO sessions (id, patient_id, started_at, ended_at, source, status, demo, "
                              "model, romcam_version, content_sha256, received_at) VALUES (:id, :pid, :t, :t, "
                              "'camera 0', 'complete', false, '', '0.1.0', :sha, :t)"),
                         {"id": i(sid), "pid": i(pid), "t": at, "sha": "0" * 64})
            conn.execute(text("INSERT INTO exercise_sets (id, session_id, position, patient_id, session_started_at, "
                              "started_at, exercise, side, mode, posture, prescription_id, fps, frames, "
                              "view_ok_fraction, best_angle, min_angle, max_angle, reps_full, reps_partial, summary) "
                              "VALUES (:id, :sid, 0, :pid, :t, :t, 'knee_flexion', 'right', 'active', 'seated', :rx, "
                              "15, 150, 1, 112, 5, 112, 1, 0, :summary)"),
                         {"id": i(uuid.uuid4()), "sid": i(sid), "pid": i(pid), "t": at,
                          "rx": None if rx_id is None else i(rx_id),
                          "summary": json.dumps({"schema": "romcam.analysis/1", "warnings": []})})
    return filed, unfiled


def test_0010_sets_the_old_sessions_from_their_sets_and_downgrades(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0009"):
        filed, unfiled = _old_sessions(engine, url.startswith("sqlite"))
        engine.dispose()
        store = Store(url)  # runs 0010
        try:
            with store.session() as db:
                assert (db.get(Session, filed).filed, db.get(Session, unfiled).filed) == (True, False), url
                assert len(db.get(Session, filed).sets) == 1, url  # added in place: its set is still there
            alembic(store.engine, "downgrade", "0009")
            assert "filed" not in {c["name"] for c in inspect(store.engine).get_columns("sessions")}, url
            alembic(store.engine, "upgrade", "head")
            with store.session() as db:
                assert db.get(Session, filed).filed, url
        finally:
            store.close()


def test_the_store_keeps_the_flag_as_sets_are_stored(store: Store) -> None:
    with store.session() as db:
        patient = service.create_patient(db, name="Filed")
        rx = service.create_prescription(db, patient, KNEE)
        knee = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 100.0}
        doc = synthetic_session(patient.id, NOW, [knee])
        doc["sets"][0]["prescription_id"], doc["sets"][0]["prescription_version"] = str(rx.id), 1
        filed_id, _ = service.ingest_session(db, doc, now=NOW + timedelta(hours=1))
        unfiled_id, _ = service.ingest_session(db, synthetic_session(patient.id, NOW + timedelta(days=1), [knee]),
                                               now=NOW + timedelta(days=2))
        assert (db.get(Session, filed_id).filed, db.get(Session, unfiled_id).filed) == (True, False)
        # a live session: unfiled until a set filed under a prescription begins
        sid = uuid.uuid4()
        live.begin_session(db, session_id=sid, patient_id=patient.id, started_at=NOW + timedelta(days=3),
                           source="camera 0", demo=False, model="", romcam_version="test")
        live.begin_set(db, session_id=sid, position=0, started_at=NOW + timedelta(days=3), exercise="elbow_flexion",
                       side="left", mode="active", posture="standing", prescription_id=None,
                       prescription_version=None, fps=15.0)
        assert not db.get(Session, sid).filed
        live.begin_set(db, session_id=sid, position=1, started_at=NOW + timedelta(days=3, minutes=2),
                       exercise="knee_flexion", side="right", mode="active", posture="seated", prescription_id=rx.id,
                       prescription_version=1, fps=15.0)
        db.expire_all()
        assert db.get(Session, sid).filed
