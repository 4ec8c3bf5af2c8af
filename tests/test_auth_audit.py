"""The audit log: who viewed or changed which patient's data, through which route; the patient kept
only as a keyed pseudonym, so after the patient is deleted no row anywhere holds their id or name.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import PASSWORD, SECRET, Clinic
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from sqlalchemy import delete, inspect, select, text

from romcam.store import audit
from romcam.store.models import AuditEntry, Patient
from romcam.store.seed import synthetic_session


def _audit(clinic: Clinic) -> list[dict]:
    r = clinic.client("clinician").get(f"/api/patients/{clinic.own}/audit")
    assert r.status_code == 200, r.text
    return r.json()


def test_views_and_changes_are_recorded_with_who_and_which_route(clinic: Clinic) -> None:
    pt, patient, device = clinic.client("clinician"), clinic.client("patient"), clinic.client("device")
    clinic.clock.t += timedelta(minutes=1)
    assert patient.get(f"/api/patients/{clinic.own}/sessions").status_code == 200
    clinic.clock.t += timedelta(minutes=1)
    doc = synthetic_session(clinic.own, datetime(2026, 11, 20, tzinfo=UTC), [
        {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 95.0}])
    assert device.post("/api/sessions", json=doc).status_code == 201
    clinic.clock.t += timedelta(minutes=1)
    assert pt.patch(f"/api/patients/{clinic.own}", json={"notes": "new notes"}).status_code == 200
    clinic.clock.t += timedelta(minutes=1)
    rows = _audit(clinic)  # newest first; this read is recorded too
    got = [(r["actor_kind"], r["actor_role"], r["actor_id"], r["action"], r["method"], r["route"]) for r in rows[:4]]
    assert got == [
        ("user", "clinician", str(clinic.users["clinician"]), "view", "GET", "/api/patients/{patient_id}/audit"),
        ("user", "clinician", str(clinic.users["clinician"]), "change", "PATCH", "/api/patients/{patient_id}"),
        ("device", "device", str(clinic.token_id), "change", "POST", "/api/sessions"),
        ("user", "patient", str(clinic.users["patient"]), "view", "GET", "/api/patients/{patient_id}/sessions"),
    ]
    assert [r["at"] for r in rows[:4]] == ["2026-11-26T09:04:00Z", "2026-11-26T09:03:00Z", "2026-11-26T09:02:00Z",
                                           "2026-11-26T09:01:00Z"]
    # another clinician's access to their own patient is not in this patient's log
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.other}").status_code == 200
    assert all(r["actor_id"] != str(clinic.users["clinician_b"]) for r in _audit(clinic))
    # a listing records a view of every patient listed
    clinic.client("admin").get("/api/patients").raise_for_status()
    listed = _audit(clinic)[1]  # [0] is the audit read itself
    assert (listed["actor_role"], listed["action"], listed["route"]) == ("admin", "view", "/api/patients")


def test_only_the_patients_staff_read_the_audit_log(clinic: Clinic) -> None:
    assert clinic.client("admin").get(f"/api/patients/{clinic.own}/audit").status_code == 200
    assert clinic.client("patient").get(f"/api/patients/{clinic.own}/audit").status_code == 403
    assert clinic.client("device").get(f"/api/patients/{clinic.own}/audit").status_code == 403
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.own}/audit").status_code == 404


def test_rows_hold_a_keyed_pseudonym_and_survive_the_patient_de_identified(clinic: Clinic) -> None:
    pt = clinic.client("clinician")
    for path in ("", "/sessions", "/prescriptions", "/export.csv"):
        assert pt.get(f"/api/patients/{clinic.own}{path}").status_code == 200
    ref = audit.patient_ref(SECRET, clinic.own)
    assert len(ref) == 64 and ref != audit.patient_ref("another key of the same length.........", clinic.own)
    with clinic.store.session() as db:
        before = db.scalar(select(AuditEntry).where(AuditEntry.patient_ref == ref).limit(1))
        assert before is not None
        # delete the patient (the rows that are theirs go with it: sessions, accounts, tokens...)
        db.execute(delete(Patient).where(Patient.id == clinic.own))
        db.commit()
        left = db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == ref)).all()
    assert len(left) >= 4  # the audit trail stays
    needles = {str(clinic.own), clinic.own.hex, "Ada Own", "patient@clinic.test", "caregiver@clinic.test"}
    with clinic.store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                cells = " ".join(str(v) for v in row)
                assert not any(n in cells for n in needles), (table, row)


NEW_SECRET = "a-new-secret-key-after-the-old-one-leaked-0123"


def test_a_server_started_with_another_key_refuses_and_rekey_moves_the_log(clinic: Clinic, monkeypatch,
                                                                           capsys) -> None:  # type: ignore[no-untyped-def]
    """The audit log is found by a pseudonym keyed with ROMCAM_SECRET_KEY: a server started with another key
    showed every patient a clean audit trail. It now refuses to start, saying what to do; `romcam audit
    rekey` moves the rows of the patients still stored to the new key, and the trail is whole again."""
    from romcam.cli import main
    from romcam.server.app import create_app
    from romcam.server.settings import Settings
    from romcam.store.errors import AuditKeyChangedError

    pt = clinic.client("clinician")
    for path in ("", "/sessions", "/prescriptions"):
        assert pt.get(f"/api/patients/{clinic.own}{path}").status_code == 200
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.other}").status_code == 200
    before = [(r["method"], r["route"]) for r in _audit(clinic)]
    assert len(before) >= 4
    with clinic.store.session() as db:  # a patient deleted since: their rows must stay unlinkable
        db.execute(delete(Patient).where(Patient.id == clinic.other))
        db.commit()
        deleted_ref = audit.patient_ref(SECRET, clinic.other)
        deleted_rows = len(db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == deleted_ref)).all())
        own_rows = len(db.scalars(select(AuditEntry).where(
            AuditEntry.patient_ref == audit.patient_ref(SECRET, clinic.own))).all())
    assert deleted_rows >= 1

    new_settings = Settings(db=clinic.store.url, auth="clinic", secret_key=NEW_SECRET)
    try:
        create_app(new_settings, store=clinic.store)
    except AuditKeyChangedError as exc:
        assert "romcam audit rekey" in str(exc) and "previous key" in str(exc)
    else:
        raise AssertionError("a server with another secret key started, hiding every earlier audit entry")

    # the command takes the keys from the environment only, and checks the old one
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", "not-the-key-the-server-ran-with-0123456789")
    assert main(["audit", "rekey", "--db", clinic.store.url]) == 1
    assert "not the key this database's audit log was written with" in capsys.readouterr().err
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    assert main(["audit", "rekey", "--db", clinic.store.url]) == 0
    said = capsys.readouterr().err
    assert f"{own_rows} rows of 1 patients" in said and f"{deleted_rows} rows of patients deleted since" in said
    # run twice (a retried script): not a failure, and it says the log is already on the new key
    assert main(["audit", "rekey", "--db", clinic.store.url]) == 0
    said = capsys.readouterr().err
    assert "already on this ROMCAM_SECRET_KEY: nothing left to move" in said and "still under" not in said, said
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", "not-the-key-the-server-ran-with-0123456789")
    assert main(["audit", "rekey", "--db", clinic.store.url]) == 0  # whatever the old key: nothing is due
    assert "already on this ROMCAM_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ROMCAM_SECRET_KEY", "yet-another-key-neither-the-old-nor-the-new-0123")
    assert main(["audit", "rekey", "--db", clinic.store.url]) == 1  # a wrong key still fails
    assert "not the key this database's audit log was written with" in capsys.readouterr().err
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)

    app = create_app(new_settings, store=clinic.store)  # starts, and the trail is whole
    app.state.clock = clinic.clock
    from auth_fixtures import login

    rows = login(app, "clinician@clinic.test").get(f"/api/patients/{clinic.own}/audit").json()
    assert [(r["method"], r["route"]) for r in rows[1:]][:len(before)] == before
    with clinic.store.session() as db:
        assert len(db.scalars(select(AuditEntry).where(AuditEntry.patient_ref == deleted_ref)).all()) == deleted_rows
        assert not db.scalars(select(AuditEntry).where(
            AuditEntry.patient_ref == audit.patient_ref(NEW_SECRET, clinic.other))).all()
    try:  # and the old key is now the wrong one
        create_app(Settings(db=clinic.store.url, auth="clinic", secret_key=SECRET), store=clinic.store)
    except AuditKeyChangedError:
        pass
    else:
        raise AssertionError("the previous key still started the server after the rekey")


def test_rekey_takes_keys_from_the_environment_only(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from romcam.cli import main

    monkeypatch.delenv("ROMCAM_OLD_SECRET_KEY", raising=False)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    assert main(["audit", "rekey", "--db", f"sqlite:///{tmp_path / 'r.db'}"]) == 2
    assert "ROMCAM_OLD_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", NEW_SECRET)
    assert main(["audit", "rekey", "--db", f"sqlite:///{tmp_path / 'r.db'}"]) == 2
    assert "the same key" in capsys.readouterr().err


def test_rekey_refuses_a_database_that_is_not_the_clinics(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An admin who mistypes --db, or leaves it out with ROMCAM_DB unset (the default SQLite file), was told
    "audit log moved to the new key: 0 rows of 0 patients. Start the server with the new ROMCAM_SECRET_KEY",
    and a new database was made there; the clinic's log had not moved, and its server then refused the new
    key. The command now says which database it read and that it holds no audit log, and makes none."""
    from romcam.cli import main
    from romcam.store.db import Store
    from romcam.store.models import ServerSetting

    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    missing = tmp_path / "clinc.db"  # a typo
    assert main(["audit", "rekey", "--db", f"sqlite:///{missing}"]) == 1
    said = capsys.readouterr().err
    assert "no such database" in said and str(missing) in said and "moved" not in said, said
    assert not missing.exists()
    monkeypatch.setenv("ROMCAM_DATA", str(tmp_path / "data"))  # --db left out, ROMCAM_DB unset: the default file
    monkeypatch.delenv("ROMCAM_DB", raising=False)
    assert main(["audit", "rekey"]) == 1
    assert "no such database" in capsys.readouterr().err
    empty = tmp_path / "empty.db"  # a database no server ever ran on
    Store(f"sqlite:///{empty}").close()
    assert main(["audit", "rekey", "--db", f"sqlite:///{empty}"]) == 1
    said = capsys.readouterr().err
    assert "holds no audit log" in said and str(empty) in said and "moved" not in said, said
    store = Store(f"sqlite:///{empty}")
    try:
        with store.session() as db:
            assert db.get(ServerSetting, audit.KEY_SETTING) is None  # no key stamped on it either
    finally:
        store.close()


def test_a_trial_on_the_public_default_key_moves_to_the_clinics_key_at_its_first_start(store, db_url) -> None:  # type: ignore[no-untyped-def]
    """A clinic tried romcam on loopback without a key of its own (the public default), then set
    ROMCAM_SECRET_KEY: the server starts, and the trial's audit rows follow the patients to the new key."""
    from romcam.server.app import create_app
    from romcam.server.settings import DEFAULT_SECRET_KEY, Settings
    from romcam.store import accounts, service

    trial = create_app(Settings(db=db_url, auth="clinic"), store=store)
    with store.session() as db:
        pt = accounts.create_user(db, email="pt@clinic.test", password=PASSWORD, role="clinician")
        patient = service.create_patient(db, name="Trial Patient", clinician_id=pt.id)
    from auth_fixtures import login

    assert login(trial, "pt@clinic.test").get(f"/api/patients/{patient.id}").status_code == 200
    with store.session() as db:
        n = len(db.scalars(select(AuditEntry).where(
            AuditEntry.patient_ref == audit.patient_ref(DEFAULT_SECRET_KEY, patient.id))).all())
    assert n >= 1
    app = create_app(Settings(db=db_url, auth="clinic", secret_key=SECRET), store=store)
    rows = login(app, "pt@clinic.test").get(f"/api/patients/{patient.id}/audit").json()
    assert len(rows) == n + 1  # the trial's rows and this read
    with store.session() as db:
        assert not db.scalars(select(AuditEntry).where(
            AuditEntry.patient_ref == audit.patient_ref(DEFAULT_SECRET_KEY, patient.id))).all()


def _log_key(url: str) -> str:
    from romcam.store import Store
    from romcam.store.models import ServerSetting

    s = Store(url)
    try:
        with s.session() as db:
            return db.get(ServerSetting, audit.KEY_SETTING).value
    finally:
        s.close()


def test_rekey_refuses_while_a_server_runs_on_the_database(store, db_url, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """`romcam audit rekey` told the admin to stop the server first, but moved the log under a running one all
    the same; that server went on writing rows under the previous key's pseudonyms, hidden again after the move.
    A running server (its lifespan) now holds a lock on its database, shared with other servers on it (a
    clinic's workers), and rekey refuses while any holds it; once they stop, it runs."""
    from fastapi.testclient import TestClient

    from romcam.cli import main
    from romcam.server.app import create_app
    from romcam.server.settings import Settings

    settings = Settings(db=db_url, auth="clinic", secret_key=SECRET)
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    first = TestClient(create_app(settings, store=store), base_url="https://localhost")
    second = TestClient(create_app(settings, store=store), base_url="https://localhost")
    with first:
        with second:  # two servers on one database: both start
            assert second.get("/healthz").status_code == 200
            assert main(["audit", "rekey", "--db", db_url]) == 1
            said = capsys.readouterr().err
            assert "a romcam server is using this database: stop it, then run rekey again" in said, said
        assert first.get("/healthz").status_code == 200
        assert main(["audit", "rekey", "--db", db_url]) == 1  # one still runs
        assert "stop it, then run rekey again" in capsys.readouterr().err
        assert _log_key(db_url) == audit.key_fingerprint(SECRET)  # nothing moved under it
    assert main(["audit", "rekey", "--db", db_url]) == 0  # both stopped
    assert "moved to the new key" in capsys.readouterr().err
    assert _log_key(db_url) == audit.key_fingerprint(NEW_SECRET)

    # an app made before that rekey, started after it, would write under the previous key: it refuses to start
    late = create_app(Settings(db=db_url, auth="clinic", secret_key=NEW_SECRET), store=store)
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", NEW_SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", "a-third-key-for-the-next-change-0123456789")
    assert main(["audit", "rekey", "--db", db_url]) == 0
    from romcam.store.errors import AuditKeyChangedError

    try:
        with TestClient(late, base_url="https://localhost"):
            raise AssertionError("a server started on a key the log was moved away from")
    except AuditKeyChangedError:
        pass
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", "a-third-key-for-the-next-change-0123456789")
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    assert main(["audit", "rekey", "--db", db_url]) == 0  # and that refused start left no lock behind


def test_a_trial_log_moves_to_the_clinics_key_only_with_no_other_server_on_it(store, db_url) -> None:  # type: ignore[no-untyped-def]
    """The first start with a key of the clinic's own moves a trial's log off the public default key: a rekey
    too. With the trial server still running on the default key, it would keep writing rows under that key's
    pseudonyms, hidden after the move: the new server refuses to start until the trial one stops."""
    from fastapi.testclient import TestClient

    from romcam.server.app import create_app
    from romcam.server.settings import DEFAULT_SECRET_KEY, Settings
    from romcam.store.server_lock import DatabaseInUseError

    trial = TestClient(create_app(Settings(db=db_url, auth="clinic"), store=store), base_url="https://localhost")
    with trial:
        try:
            create_app(Settings(db=db_url, auth="clinic", secret_key=SECRET), store=store)
        except DatabaseInUseError as exc:
            assert "another romcam server is using this database on romcam's public default key" in str(exc)
        else:
            raise AssertionError("the log moved off the default key under a server still writing with it")
        assert _log_key(db_url) == audit.key_fingerprint(DEFAULT_SECRET_KEY)
    with TestClient(create_app(Settings(db=db_url, auth="clinic", secret_key=SECRET), store=store),
                    base_url="https://localhost") as clinic:
        assert clinic.get("/healthz").status_code == 200
    assert _log_key(db_url) == audit.key_fingerprint(SECRET)


def test_a_killed_server_does_not_block_rekey(db_url, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """A real `romcam serve` holds the lock while it runs; killed with SIGKILL (a crash, a power cut) it cannot
    release it itself: the operating system (SQLite's lock file) or PostgreSQL (the lock's connection) does,
    so a crashed server never blocks a rekey."""
    import time

    from helpers import romcam_serve

    from romcam.cli import main

    env = {"ROMCAM_AUTH": "clinic", "ROMCAM_SECRET_KEY": SECRET}
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    with romcam_serve(tmp_path, "--no-live", "--db", db_url, ready="/healthz", env=env) as (_, proc):
        assert main(["audit", "rekey", "--db", db_url]) == 1
        assert "a romcam server is using this database" in capsys.readouterr().err
        proc.kill()
        proc.wait(10)
    deadline = time.monotonic() + 10  # PostgreSQL ends the session when it reads the dead socket's end
    while main(["audit", "rekey", "--db", db_url]) != 0:
        assert time.monotonic() < deadline, capsys.readouterr().err
        time.sleep(0.2)
    assert "moved to the new key" in capsys.readouterr().err
    assert _log_key(db_url) == audit.key_fingerprint(NEW_SECRET)


@pytest.mark.parametrize(("url", "locked"), [
    ("sqlite:////srv/romcam/clinic.db", "/srv/romcam/clinic.db.lock"),  # a file: the lock beside it
    ("sqlite://", None),  # in memory: this process's own, nothing to lock
    ("sqlite:///:memory:", None),
    ("sqlite:///file:romcam?mode=memory&uri=true", None),  # an in-memory URI
    ("postgresql://romcam@db/romcam", None),  # an advisory lock in the database instead
])
def test_which_databases_have_a_lock_file(url: str, locked: str | None) -> None:
    from romcam.store.server_lock import lock_file

    assert lock_file(url) == (None if locked is None else Path(locked))


def test_a_server_started_while_rekey_runs_says_so_in_one_line(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`romcam serve` while `romcam audit rekey` holds the database: before, uvicorn's start-up failed with a
    40-line traceback and the command exited; now one line says what is happening and what to do, exit 1."""
    import os
    import subprocess
    import sys

    from helpers import free_port

    from romcam.store import Store, server_lock

    Store(db_url).close()  # the database exists, on its current schema
    env = os.environ | {"ROMCAM_AUTH": "clinic", "ROMCAM_SECRET_KEY": SECRET, "ROMCAM_DATA": str(tmp_path)}
    held = server_lock.take(db_url, "exclusive")
    try:
        done = subprocess.run([sys.executable, "-c", "import sys; from romcam.cli import main; sys.exit(main())",
                               "serve", "--no-live", "--db", db_url,
                               "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=120)
    finally:
        held.release()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "`romcam audit rekey` is moving this database's audit log" in done.stderr, done.stderr


def _drop_the_servers_lock_connection(store) -> int:  # type: ignore[no-untyped-def]
    """What a database restart or a network cut does to the server's lock (PostgreSQL): its connection ends."""
    with store.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = 'romcam server lock' "
                                 "AND datname = current_database()")).scalars().all()
        assert len(pids) == 1, pids
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]}).scalar()
        conn.commit()
    return pids[0]


def _lock_holders(store) -> list[int]:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = 'romcam server "
                                      "lock' AND datname = current_database()")).scalars())


def test_a_server_whose_lock_connection_dropped_takes_the_lock_again(clinic: Clinic, db_url, monkeypatch,
                                                                     capsys) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the server's lock lives on one connection; a database restart or a network cut dropped it
    and the server ran on unlocked: a rekey then moved the log under it. The server checks its lock and takes it
    again, so rekey refuses again."""
    import time

    from fastapi.testclient import TestClient

    from romcam.cli import main
    from romcam.store import server_lock

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's lock is a flock on a file the server keeps open: it cannot be dropped under it")
    monkeypatch.setattr(server_lock, "CHECK_S", 0.1)
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    with TestClient(clinic.app, base_url="https://localhost"):
        dropped = _drop_the_servers_lock_connection(clinic.store)
        deadline = time.monotonic() + 15
        while _lock_holders(clinic.store) in ([], [dropped]):
            assert time.monotonic() < deadline, "the server did not take its lock again"
            time.sleep(0.1)
        assert main(["audit", "rekey", "--db", db_url]) == 1
        assert "a romcam server is using this database" in capsys.readouterr().err
        assert clinic.client("clinician").get(f"/api/patients/{clinic.own}").status_code == 200
    assert _log_key(db_url) == audit.key_fingerprint(SECRET)


def test_a_rekey_run_while_the_lock_was_lost_leaves_the_server_refusing_not_writing_hidden_rows(
        clinic: Clinic, db_url, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """In the moments between the lock's connection dropping and the server noticing, a rekey can run. The
    server must then not go on writing audit rows under the previous key (hidden from the new one): every
    write checks the log's key (under the same lock, per transaction), and patient data is refused with what
    to do (503) until the server is restarted with the new key."""
    from fastapi.testclient import TestClient

    from romcam.cli import main
    from romcam.store import server_lock

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's lock is a flock on a file the server keeps open: it cannot be dropped under it")
    monkeypatch.setattr(server_lock, "CHECK_S", 3600.0)  # the server has not noticed yet
    monkeypatch.setenv("ROMCAM_OLD_SECRET_KEY", SECRET)
    monkeypatch.setenv("ROMCAM_SECRET_KEY", NEW_SECRET)
    pt = clinic.client("clinician")
    with TestClient(clinic.app, base_url="https://localhost"):
        assert pt.get(f"/api/patients/{clinic.own}").status_code == 200
        _drop_the_servers_lock_connection(clinic.store)
        moving = server_lock.take(db_url, "exclusive")  # a rekey under way: nothing is written meanwhile
        try:
            r = pt.get(f"/api/patients/{clinic.own}")
            assert r.status_code == 503, r.text
            assert "is moving this database's audit log to a new key right now" in r.json()["detail"], r.text
        finally:
            moving.release()
        assert main(["audit", "rekey", "--db", db_url]) == 0
        capsys.readouterr()
        with clinic.store.session() as db:
            old_rows = len(db.scalars(select(AuditEntry).where(
                AuditEntry.patient_ref == audit.patient_ref(SECRET, clinic.own))).all())
        r = pt.get(f"/api/patients/{clinic.own}/sessions")
        assert r.status_code == 503, r.text
        assert "restarted with the new ROMCAM_SECRET_KEY" in r.json()["detail"], r.text
        with clinic.store.session() as db:
            assert len(db.scalars(select(AuditEntry).where(
                AuditEntry.patient_ref == audit.patient_ref(SECRET, clinic.own))).all()) == old_rows
