"""Migration 0007 (``sync_outbox.sent_to``) on a database made by 0006 with a linked laptop's outbox in it,
on SQLite and PostgreSQL: what was sent is taken as sent to the clinic patient the link names, what waits
stays unassigned, and it downgrades."""

from __future__ import annotations

import uuid

from db_fixtures import *  # noqa: F403 (postgres_server)
from db_fixtures import alembic, databases_at
from sqlalchemy import inspect, select, text
from test_peak_seen_migration import NOW, _old_session

from romcam.store import Store
from romcam.store.models import OutboxItem

CLINIC_PATIENT = uuid.UUID("00000000-0000-4000-8000-00000000c11c")


def test_0007_takes_what_was_sent_as_sent_to_the_linked_patient_and_downgrades(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0006"):
        sqlite = url.startswith("sqlite")
        _, sid = _old_session(engine, sqlite)
        at = NOW.replace(tzinfo=None) if sqlite else NOW

        def i(u: uuid.UUID, sqlite: bool = sqlite) -> object:
            return u.hex if sqlite else u

        sent, waiting = uuid.uuid4(), uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO link_state (id, clinic_url, clinic_patient_id, clinic_patient_name, "
                              "managed_rx, consent_url, last_error) VALUES (1, 'https://c', :cp, 'Ada', '[]', "
                              "'https://c', '')"), {"cp": i(CLINIC_PATIENT)})
            for row_id, kind, state in ((sent, "session", "sent"), (waiting, "checkin", "pending")):
                conn.execute(text("INSERT INTO sync_outbox (id, kind, object_id, session_id, state, enqueued_at, "
                                  "attempts, last_error) VALUES (:id, :kind, :oid, :sid, :state, :t, 0, '')"),
                             {"id": i(row_id), "kind": kind, "oid": i(sid if kind == "session" else uuid.uuid4()),
                              "sid": i(sid), "state": state, "t": at})
        engine.dispose()
        store = Store(url)  # runs 0007
        try:
            with store.session() as db:
                rows = {r.id: r.sent_to for r in db.scalars(select(OutboxItem))}
            assert rows == {sent: CLINIC_PATIENT, waiting: None}, url
            alembic(store.engine, "downgrade", "0006")
            assert "sent_to" not in {c["name"] for c in inspect(store.engine).get_columns("sync_outbox")}, url
            alembic(store.engine, "upgrade", "head")
        finally:
            store.close()
