"""Migration 0014 (device-token fingerprints on ``link_state`` and ``sync_outbox``, the laptop's clock offset on
``sync_outbox`` and ``sessions``) on a database made by 0013 with a linked laptop's outbox in it, on SQLite and
PostgreSQL: what was sent, or tried, keeps the bytes it was sent with (offset 0: nothing said), what was never
tried gets the offset measured when it is first sent, the link is unconfirmed until the clinic answers, and it
downgrades. Then the first answer after the upgrade: the same patient takes what waited, another holds it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from db_fixtures import *  # noqa: F403 (postgres_server)
from db_fixtures import alembic, databases_at
from sqlalchemy import inspect, select, text
from test_peak_seen_migration import NOW, _old_session

from romcam.store import Store
from romcam.store.models import LinkState, OutboxItem
from romcam.store.models import Session as SessionRow
from romcam.sync import outbox
from romcam.sync.config import token_fingerprint
from romcam.sync.plan import apply_plan

CLINIC_PATIENT = uuid.UUID("00000000-0000-4000-8000-00000000c11c")
OTHER_PATIENT = uuid.UUID("00000000-0000-4000-8000-0000000000b0")


def test_0014_adds_fingerprints_and_offsets_keeping_what_was_sent_and_downgrades(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    fp = token_fingerprint("romcam_dt_" + "x" * 30)
    for url, engine in databases_at(tmp_path, postgres_server, "0013"):
        sqlite = url.startswith("sqlite")
        _, sid = _old_session(engine, sqlite)
        at = NOW.replace(tzinfo=None) if sqlite else NOW

        def i(u: uuid.UUID, sqlite: bool = sqlite) -> object:
            return u.hex if sqlite else u

        sent, tried, fresh = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO link_state (id, clinic_url, clinic_patient_id, clinic_patient_name, "
                              "managed_rx, consent_url, last_error) VALUES (1, 'https://c', :cp, 'Ada', '[]', "
                              "'https://c', '')"), {"cp": i(CLINIC_PATIENT)})
            for row_id, kind, state, attempts in ((sent, "checkin", "sent", 1), (tried, "checkin", "pending", 2),
                                                  (fresh, "session", "pending", 0)):
                conn.execute(text("INSERT INTO sync_outbox (id, kind, object_id, session_id, state, enqueued_at, "
                                  "attempts, last_error) VALUES (:id, :kind, :oid, :sid, :state, :t, :n, '')"),
                             {"id": i(row_id), "kind": kind, "oid": i(sid if kind == "session" else uuid.uuid4()),
                              "sid": i(sid), "state": state, "t": at, "n": attempts})
        engine.dispose()
        store = Store(url)  # runs 0014
        try:
            with store.session() as db:
                rows = {r.id: (r.clock_off_s, r.link_fp) for r in db.scalars(select(OutboxItem))}
                assert rows == {sent: (0.0, None), tried: (0.0, None), fresh: (None, None)}, url
                state = db.get(LinkState, 1)
                assert (state.started_fp, state.confirmed_fp, state.clinic_patient_id) == (None, None, CLINIC_PATIENT)
                assert db.get(SessionRow, sid).clock_off_s is None
            alembic(store.engine, "downgrade", "0013")
            assert "link_fp" not in {c["name"] for c in inspect(store.engine).get_columns("sync_outbox")}, url
            assert "clock_off_s" not in {c["name"] for c in inspect(store.engine).get_columns("sessions")}, url
            assert "confirmed_fp" not in {c["name"] for c in inspect(store.engine).get_columns("link_state")}, url
            alembic(store.engine, "upgrade", "head")
            # the first answer after the upgrade: the same patient takes what waited (queued before 0014)
            with store.session() as db:
                device = {"patient_id": str(CLINIC_PATIENT), "patient_name": "Ada", "plan": []}
                apply_plan(db, local_patient_id=store.local_patient_id, clinic_url="https://c", device=device,
                           now=datetime.now(UTC), link_fp=fp)
                assert [r.object_id for r in outbox.due(db, CLINIC_PATIENT, link_fp=fp) if r.kind == "session"] == [sid]
                assert db.get(LinkState, 1).confirmed_fp == fp
        finally:
            store.close()


def test_after_0014_a_first_answer_for_another_patient_holds_what_was_queued_before(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """A laptop upgraded and re-linked at once (another patient's token): its rows from before 0014 name no
    token, and were recorded under the link before: held, not sent to the new patient."""
    fp = token_fingerprint("romcam_dt_" + "y" * 30)
    for url, engine in databases_at(tmp_path, postgres_server, "0013"):
        sqlite = url.startswith("sqlite")
        _, sid = _old_session(engine, sqlite)

        def i(u: uuid.UUID, sqlite: bool = sqlite) -> object:
            return u.hex if sqlite else u

        with engine.begin() as conn:
            conn.execute(text("INSERT INTO link_state (id, clinic_url, clinic_patient_id, clinic_patient_name, "
                              "managed_rx, consent_url, last_error) VALUES (1, 'https://c', :cp, 'Ada', '[]', "
                              "'https://c', '')"), {"cp": i(CLINIC_PATIENT)})
            conn.execute(text("INSERT INTO sync_outbox (id, kind, object_id, session_id, state, enqueued_at, "
                              "attempts, last_error) VALUES (:id, 'session', :sid, :sid, 'pending', :t, 0, '')"),
                         {"id": i(uuid.uuid4()), "sid": i(sid), "t": NOW.replace(tzinfo=None) if sqlite else NOW})
        engine.dispose()
        store = Store(url)
        try:
            with store.session() as db:
                device = {"patient_id": str(OTHER_PATIENT), "patient_name": "Bob", "plan": []}
                apply_plan(db, local_patient_id=store.local_patient_id, clinic_url="https://c", device=device,
                           now=datetime.now(UTC), link_fp=fp)
                assert outbox.counts(db)["held"] == 1, url
                assert outbox.due(db, OTHER_PATIENT, link_fp=fp) == []
        finally:
            store.close()
