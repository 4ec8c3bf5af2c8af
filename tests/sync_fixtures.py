"""A clinic and a patient's laptop as real ``romcam serve`` processes on loopback, for the sync tests.

- ``ClinicSite``: a PostgreSQL database (db_fixtures' throwaway server) with a clinician made by
  ``romcam user create``, their patient with a plan, and a device token made by ``romcam token
  create``; ``start()`` runs ``romcam serve --auth clinic --no-live`` on it, ``kill()`` is SIGKILL.
- ``Laptop``: a SQLite database and ``romcam serve --no-live --upload-to ... --token ...`` with short
  sync timings (``ROMCAM_SYNC_*``); sessions are recorded into its database as ``romcam analyze
  --save`` or the live recorder would (the same service), ``kill()`` is SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import free_port, stop, wait_until_up
from sqlalchemy import select

from romcam.store import Store, service
from romcam.store.models import OutboxItem, Patient
from romcam.store.models import Session as SessionRow
from romcam.store.seed import synthetic_session

SECRET = "sync-test-secret-key-0123456789-abcdefghijk"
PASSWORD = "correct horse battery staple"
FAST_SYNC = {"ROMCAM_SYNC_POLL_S": "0.2", "ROMCAM_SYNC_BACKOFF_BASE_S": "0.2", "ROMCAM_SYNC_BACKOFF_CAP_S": "1.0",
             "ROMCAM_SYNC_PLAN_EVERY_S": "1.0", "ROMCAM_SYNC_TIMEOUT_S": "10", "ROMCAM_SYNC_START_PULL_TIMEOUT_S": "2"}
KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def romcam(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "romcam.cli", *args], input=stdin, capture_output=True, text=True,
                          env=os.environ | (env or {}), timeout=300)
    assert done.returncode == 0, f"romcam {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                         **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Server:
    """One ``romcam serve`` subprocess; ``start`` waits until ``ready`` answers."""

    def __init__(self, tmp: Path, name: str, args: list[str], env: dict[str, str], ready: str) -> None:
        self.tmp, self.name, self.args, self.env, self.ready = tmp, name, args, env, ready
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tmp / f"{name}.log"
        self.starts = 0
        self.live = False  # True: the live coach runs too (give it a --source in args)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--host", "127.0.0.1", "--port",
                                          str(self.port), *([] if self.live else ["--no-live"]), *self.args],
                                         env=os.environ | self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        wait_until_up(self.url + self.ready, self.proc, self.log, timeout=120)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
        self.proc = None


class ClinicSite(Server):
    def __init__(self, tmp: Path, db_url: str) -> None:
        super().__init__(tmp, "clinic", ["--auth", "clinic", "--db", db_url],
                         {"ROMCAM_SECRET_KEY": SECRET, "HOME": str(tmp), "ROMCAM_DATA": str(tmp / "clinic-data")},
                         "/login")
        self.db_url = db_url
        out = romcam("user", "create", "--db", db_url, "--email", "pt@clinic.test", "--role", "clinician",
                     "--name", "Dr Physio", stdin=PASSWORD + "\n")
        self.clinician_id = uuid.UUID(out.strip().splitlines()[-1])
        self.store = Store(db_url)
        with self.store.session() as db:
            patient = service.create_patient(db, name="Ada Clinic", clinician_id=self.clinician_id)
            self.patient_id = patient.id
            self.rx_id = service.create_prescription(db, patient, KNEE).id
        self.token = romcam("token", "create", "--db", db_url, "--patient", str(self.patient_id),
                            "--label", "test laptop").strip().splitlines()[-1]

    def sessions(self) -> dict[uuid.UUID, str]:
        """Session id -> content sha256 of every session the clinic holds for its patient."""
        with self.store.session() as db:
            rows = db.execute(select(SessionRow.id, SessionRow.content_sha256, SessionRow.patient_id))
            found = {}
            for sid, sha, pid in rows:
                assert pid == self.patient_id, f"session {sid} is stored for another patient"
                found[sid] = sha
            return found

    def close(self) -> None:
        self.stop()
        self.store.close()


class Laptop(Server):
    def __init__(self, tmp: Path, clinic: ClinicSite, extra_env: dict[str, str] | None = None) -> None:
        self.db_url = f"sqlite:///{tmp / 'laptop.db'}"
        super().__init__(tmp, "laptop", ["--db", self.db_url, "--upload-to", clinic.url, "--token", clinic.token],
                         FAST_SYNC | {"HOME": str(tmp), "ROMCAM_DATA": str(tmp / "laptop-data")} | (extra_env or {}),
                         "/api/link/status")
        self.store = Store(self.db_url)
        self.clock = datetime(2026, 11, 1, 9, tzinfo=UTC)

    def status(self) -> dict[str, Any]:
        code, body = http("GET", self.url + "/api/link/status")
        assert code == 200, body
        return body

    def consent(self, given: bool = True) -> dict[str, Any]:
        if given:
            code, body = http("POST", self.url + "/api/link/consent", {"consent": True})
        else:
            code, body = http("DELETE", self.url + "/api/link/consent")
        assert code == 200, body
        return body

    def record(self, n: int = 1, *, sets: int = 1, reps: int = 3) -> list[uuid.UUID]:
        """Store ``n`` finished sessions of the local patient, as ``romcam analyze --save`` does."""
        ids = []
        with self.store.session() as db:
            for _ in range(n):
                self.clock += timedelta(hours=5)
                spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated",
                        "peak": 100.0 + len(ids), "reps": reps, "fps": 30.0}
                doc = synthetic_session(self.store.local_patient_id, self.clock, [spec] * sets)
                ids.append(service.ingest_session(db, doc)[0])
        return ids

    def local_sessions(self) -> set[uuid.UUID]:
        with self.store.session() as db:
            return set(db.scalars(select(SessionRow.id).where(SessionRow.patient_id == self.store.local_patient_id,
                                                              SessionRow.demo.is_(False))))

    def outbox(self) -> dict[str, int]:
        with self.store.session() as db:
            out: dict[str, int] = {}
            for item in db.scalars(select(OutboxItem).where(OutboxItem.kind == "session")):
                out[item.state] = out.get(item.state, 0) + 1
            return out

    def local_patient(self) -> Patient:
        with self.store.session() as db:
            return service.get_patient(db, self.store.local_patient_id)

    def close(self) -> None:
        self.stop()
        self.store.close()
