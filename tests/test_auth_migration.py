"""Migration 0003 on a database made by 0002 with data in it: nothing is lost (SQLite adds
patients.clinician_id in place; rebuilding the table would cascade-delete its children), the new
tables work, and the schema has no cycle of foreign keys (tools that sort tables warn on one)."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime

from db_fixtures import *  # noqa: F403 (db_url, postgres_server)
from db_fixtures import databases_at
from sqlalchemy import MetaData, text

from romcam.store import Store, accounts, service
from romcam.store.seed import synthetic_session


def test_0003_keeps_every_row_of_a_0002_database(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0002"):
        pid, sid = uuid.uuid4(), uuid.uuid4()
        now = datetime(2026, 11, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patients (id, name, notes, is_local, plan_paused, created_at) "
                              "VALUES (:id, 'Old Patient', '', false, false, :t)"),
                         {"id": pid.hex if url.startswith("sqlite") else pid, "t": now})
        engine.dispose()
        store = Store(url)  # runs 0003
        try:
            with store.session() as db:
                doc = synthetic_session(pid, now, [{"exercise": "knee_flexion", "side": "right", "mode": "active",
                                                    "posture": "seated", "peak": 100.0}], session_id=sid)
                service.ingest_session(db, doc)
                patient = service.get_patient(db, pid)
                assert (patient.name, patient.clinician_id) == ("Old Patient", None)
                pt = accounts.create_user(db, email="pt@clinic.test", password="a long enough password",
                                          role="clinician")
                service.update_patient(db, patient, clinician_id=pt.id)
                db.expire_all()
                assert service.get_patient(db, pid).clinician_id == pt.id
                assert [s["id"] for s in service.list_sessions(db, service.get_patient(db, pid))] == [sid]
            metadata = MetaData()
            metadata.reflect(store.engine)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert {"users", "patients", "audit_log"} <= {t.name for t in metadata.sorted_tables}
        finally:
            store.close()
