"""Migration 0009 (``prescription_versions.safe_min``) on a database made by 0008 with a versioned
prescription and a session that followed it, on SQLite and PostgreSQL: nothing is lost (the column is
added in place), the old versions read as having no safe minimum, a new version can carry one, and it
downgrades."""

from __future__ import annotations

import uuid

from db_fixtures import *  # noqa: F403 (postgres_server)
from db_fixtures import alembic, databases_at
from sqlalchemy import inspect, text
from test_peak_seen_migration import NOW, _old_session

from romcam.store import Store, service


def test_0009_keeps_every_version_with_no_safe_min_and_downgrades(tmp_path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    for url, engine in databases_at(tmp_path, postgres_server, "0008"):
        sqlite = url.startswith("sqlite")
        pid, sid = _old_session(engine, sqlite)
        at = NOW.replace(tzinfo=None) if sqlite else NOW
        rx = uuid.uuid4()

        def i(u: uuid.UUID, sqlite: bool = sqlite) -> object:
            return u.hex if sqlite else u

        with engine.begin() as conn:  # a knee prescription edited once, and the old session filed under v1
            conn.execute(text("INSERT INTO prescriptions (id, patient_id, active, current_version, created_at) "
                              "VALUES (:id, :pid, true, 2, :t)"), {"id": i(rx), "pid": i(pid), "t": at})
            for version, target_min in ((1, 90), (2, 80)):
                conn.execute(text("INSERT INTO prescription_versions (prescription_id, version, exercise, side, mode, "
                                  "posture, target_min, target_max, safe_max, reps, hold_s, sessions_per_week, "
                                  "max_reps, max_minutes, notes, created_at) VALUES (:id, :v, 'knee_flexion', "
                                  "'right', 'active', 'seated', :tmin, 120, 135, 10, 2, 3, null, null, '', :t)"),
                             {"id": i(rx), "v": version, "tmin": target_min, "t": at})
            conn.execute(text("UPDATE exercise_sets SET prescription_id = :id, prescription_version = 1"),
                         {"id": i(rx)})
        engine.dispose()
        store = Store(url)  # runs 0009
        try:
            with store.session() as db:
                rx_row = service.get_prescription(db, rx)
                versions = [service.prescription_public(rx_row, v)
                            for v in service.prescription_versions(db, rx_row)]
                assert [(v["version"], v["target_min"], v["safe_max"], v["safe_min"]) for v in versions] == [
                    (1, 90, 135, None), (2, 80, 135, None)], url
                [s] = service.session_detail(db, service.get_session(db, sid))["sets"]
                assert (s["prescription_version"], s["target_min"], s["safe_min"], s["best_angle"]) == (
                    1, 90, None, 112), url
                fields = {k: versions[-1][k] for k in service.PRESCRIPTION_FIELDS} | {"safe_min": -5}
                service.update_prescription(db, rx_row, fields)  # the PT adds a limit: version 3
                assert service.current_version(db, rx_row).safe_min == -5, url
            alembic(store.engine, "downgrade", "0008")
            assert "safe_min" not in {c["name"] for c in inspect(store.engine).get_columns("prescription_versions")}
            with store.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM prescription_versions")).scalar() == 3, url
            alembic(store.engine, "upgrade", "head")  # and up again, the versions still there
            with store.session() as db:
                assert [v.safe_min for v in service.prescription_versions(db, service.get_prescription(db, rx))] == [
                    None, None, None], url
        finally:
            store.close()
