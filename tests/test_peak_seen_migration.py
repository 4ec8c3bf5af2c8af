"""Migration 0006 (``reps.peak_seen``, ``exercise_sets.best_seen``) on a database made by 0005s with a
session in it, on SQLite and PostgreSQL: nothing is lost (the columns are added in place; rebuilding
``exercise_sets`` would cascade-delete its reps), the old rows read as seen, and it downgrades."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from db_fixtures import *  # noqa: F403 (postgres_server)
from db_fixtures import alembic, databases_at
from sqlalchemy import inspect, text

from romcam.store import Store, service, trends

NOW = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _old_session(engine, sqlite: bool) -> tuple[uuid.UUID, uuid.UUID]:  # type: ignore[no-untyped-def]
    """A patient with one session, one knee set and one rep, written as 0005s stored them."""
    pid, sid, set_id, rep_id = (uuid.uuid4() for _ in range(4))

    def i(u: uuid.UUID) -> object:
        return u.hex if sqlite else u

    at = NOW.replace(tzinfo=None) if sqlite else NOW  # SQLite keeps naive UTC text (models.UTCDateTime)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                          "VALUES (:id, 'Old Patient', '', false, false, :t)"), {"id": i(pid), "t": at})
        conn.execute(text("INSERT INTO sessions (id, patient_id, started_at, ended_at, source, status, demo, model, "
                          "romcam_version, content_sha256, received_at) VALUES (:id, :pid, :t, :t, 'camera 0', "
                          "'complete', false, '', '0.1.0', :sha, :t)"),
                     {"id": i(sid), "pid": i(pid), "t": at, "sha": "0" * 64})
        conn.execute(text("INSERT INTO exercise_sets (id, session_id, position, patient_id, session_started_at, "
                          "started_at, exercise, side, mode, posture, fps, frames, view_ok_fraction, best_angle, "
                          "min_angle, max_angle, reps_full, reps_partial, summary) VALUES (:id, :sid, 0, :pid, :t, "
                          ":t, 'knee_flexion', 'right', 'active', 'seated', 15, 150, 1, 112, 5, 112, 1, 0, :summary)"),
                     {"id": i(set_id), "sid": i(sid), "pid": i(pid), "t": at,
                      "summary": json.dumps({"schema": "romcam.analysis/1", "warnings": []})})
        conn.execute(text('INSERT INTO reps (id, set_id, position, start, peak, "end", max_angle, min_angle, hold_s, '
                          "partial, below_target) VALUES (:id, :set_id, 0, 0.5, 2.0, 3.5, 112, 5, 0.4, false, "
                          "null)"), {"id": i(rep_id), "set_id": i(set_id)})
    return pid, sid


def test_0006_reads_the_rows_of_a_0005_database_as_seen_and_downgrades(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0005s"):
        pid, sid = _old_session(engine, url.startswith("sqlite"))
        engine.dispose()
        store = Store(url)  # runs 0006
        try:
            with store.session() as db:
                detail = service.session_detail(db, service.get_session(db, sid))
                [s] = detail["sets"]
                assert (s["best_angle"], s["best_seen"]) == (112, True), url
                assert [(r["max_angle"], r["peak_seen"]) for r in s["reps"]] == [(112, True)], url
                [series] = trends.trends(db, service.get_patient(db, pid), exercise="knee_flexion",
                                         side="right")["series"]
                assert [(p["best_angle"], p["best_seen"]) for p in series["points"]] == [(112, True)], url
            alembic(store.engine, "downgrade", "0005s")
            columns = inspect(store.engine)
            assert "peak_seen" not in {c["name"] for c in columns.get_columns("reps")}, url
            assert "best_seen" not in {c["name"] for c in columns.get_columns("exercise_sets")}, url
            alembic(store.engine, "upgrade", "head")  # and up again, the rep still there
            with store.session() as db:
                [s] = service.session_detail(db, service.get_session(db, sid))["sets"]
                assert [r["peak_seen"] for r in s["reps"]] == [True], url
        finally:
            store.close()
