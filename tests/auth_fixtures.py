"""A clinic-mode server for the auth tests: accounts of every role, logged-in clients, device tokens.

``clinic`` builds on db_fixtures' ``store`` (real SQLite and PostgreSQL). Clients are addressed as
https://localhost: the ``__Host-`` session cookie is Secure, so a client only sends it back over
https (as a browser would).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from romcam.server.app import create_app
from romcam.server.settings import Settings
from romcam.store import Store, accounts, service

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
BASE = "https://localhost"

__all__ = ["BASE", "PASSWORD", "SECRET", "Clinic", "clinic", "login"]


class Clock:
    """An injected server clock (app.state.clock): tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def login(app: FastAPI, email: str, password: str = PASSWORD) -> TestClient:
    """A client logged in as ``email``; its CSRF token is sent on every request, as common.js does."""
    client = TestClient(app, base_url=BASE)
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


@dataclass
class Clinic:
    """Two clinicians (A owns patient ``own``, B owns ``other``), an admin, a patient and a caregiver
    account for ``own``, and a live and a revoked device token for ``own``."""

    app: FastAPI
    store: Store
    clock: Clock
    own: uuid.UUID
    other: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    token: str = ""
    revoked_token: str = ""
    token_id: uuid.UUID | None = None
    _clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, who: str) -> TestClient:
        """``anonymous``, ``device``, ``revoked`` or an account name (admin, clinician, clinician_b,
        patient, caregiver), logged in once and reused."""
        if who not in self._clients:
            if who == "anonymous":
                c = TestClient(self.app, base_url=BASE)
            elif who in ("device", "revoked"):
                c = TestClient(self.app, base_url=BASE)
                c.headers["Authorization"] = f"Bearer {self.token if who == 'device' else self.revoked_token}"
            else:
                c = login(self.app, f"{who}@clinic.test")
            self._clients[who] = c
        return self._clients[who]


def make_clinic(store: Store, db_url: str) -> Clinic:
    clock = Clock()
    app = create_app(Settings(db=db_url, auth="clinic", secret_key=SECRET), store=store)
    app.state.clock = clock
    with store.session() as db:
        users = {}
        for name, role in (("admin", "admin"), ("clinician", "clinician"), ("clinician_b", "clinician")):
            users[name] = accounts.create_user(db, email=f"{name}@clinic.test", password=PASSWORD, role=role).id
        own = service.create_patient(db, name="Ada Own", clinician_id=users["clinician"])
        other = service.create_patient(db, name="Bo Other", clinician_id=users["clinician_b"])
        for role in ("patient", "caregiver"):
            users[role] = accounts.create_user(db, email=f"{role}@clinic.test", password=PASSWORD, role=role,
                                               patient_id=own.id).id
        row, token = accounts.create_device_token(db, own, label="laptop", now=clock())
        old, revoked = accounts.create_device_token(db, own, label="old laptop", now=clock())
        accounts.revoke_device_token(db, old, now=clock())
        return Clinic(app, store, clock, own.id, other.id, users, token, revoked, row.id)


@pytest.fixture
def clinic(store: Store, db_url: str) -> Clinic:
    return make_clinic(store, db_url)
