"""Property-based fuzzing of the clinic API from its own OpenAPI schema (Schemathesis + Hypothesis).

For every operation of ``/openapi.json``, generated requests (valid and invalid paths, queries and
bodies):

- authenticated as a clinician (session cookie + CSRF token): never a 5xx;
- anonymous: every operation but the login answers 401, whatever the input (auth is checked before
  the input is even validated, so nothing about the data leaks to strangers).

``make test`` runs a fast pass (ROMCAM_FUZZ_EXAMPLES, default 8 examples per operation); ``make
test-slow`` the long one (300 per operation).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from auth_fixtures import PASSWORD, SECRET
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from romcam.server.app import create_app
from romcam.server.deps import SESSION_COOKIE
from romcam.server.settings import Settings
from romcam.store import Store, accounts, service

EXAMPLES = int(os.environ.get("ROMCAM_FUZZ_EXAMPLES", "8"))
PUBLIC = {("POST", "/api/auth/login"), ("GET", "/healthz")}  # /healthz: no patient data
# logging out would end the session the rest of the run uses; its refusal of anonymous calls is
# still checked below
NOT_AUTHENTICATED_FUZZ = {("POST", "/api/auth/logout")}


@pytest.fixture
def clinic_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'fuzz.db'}")
    with store.session() as db:
        pt = accounts.create_user(db, email="pt@clinic.test", password=PASSWORD, role="clinician")
        service.create_patient(db, name="Ada", clinician_id=pt.id)
    # bound beyond loopback in the settings (no Host check): the fuzzer's client calls itself "localhost"
    # only sometimes; the address is never actually bound here
    app = create_app(Settings(db=store.url, auth="clinic", secret_key=SECRET, host="0.0.0.0"), store=store)
    yield app
    store.close()


def _operations(app):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, call) -> list[str]:  # type: ignore[no-untyped-def]
    """Run ``call(case)`` on generated cases; the first failing example's message, if any."""
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case) -> None:  # type: ignore[no-untyped-def]
        message = call(case)
        if message:
            failures.append(f"{operation.method.upper()} {operation.path}: {message}")
            raise AssertionError(message)

    try:
        run()
    except AssertionError:
        pass
    return failures[:1]


def test_authenticated_clinician_never_gets_a_5xx(clinic_app) -> None:  # type: ignore[no-untyped-def]
    r = TestClient(clinic_app, base_url="https://localhost").post(
        "/api/auth/login", json={"email": "pt@clinic.test", "password": PASSWORD})
    r.raise_for_status()
    headers = {"Cookie": f"{SESSION_COOKIE}={r.cookies[SESSION_COOKIE]}", "X-CSRF-Token": r.json()["csrf_token"]}

    calls: list[int] = []

    def call(case) -> str | None:  # type: ignore[no-untyped-def]
        response = case.call(headers=headers)
        calls.append(response.status_code)
        if response.status_code >= 500:
            return f"{response.status_code} for {case.path_parameters} {case.query} {str(case.body)[:200]}"
        if response.status_code == 401 and (case.method.upper(), case.path) not in PUBLIC:
            return "the clinician's session was refused"
        return None

    failures: list[str] = []
    operations = _operations(clinic_app)
    assert len(operations) >= 25
    for op in operations:
        if (op.method.upper(), op.path) not in NOT_AUTHENTICATED_FUZZ:
            failures += _fuzz(op, call)
    assert failures == []
    assert len(calls) >= 3 * len(operations)  # the generator did run (operations without input run once)
    assert {200, 201, 404, 422} <= set(calls)  # valid and invalid input both reached the routes


def test_anonymous_calls_are_refused_by_every_operation_that_needs_auth(clinic_app) -> None:  # type: ignore[no-untyped-def]
    def call(case) -> str | None:  # type: ignore[no-untyped-def]
        response = case.call()
        if response.status_code != 401:
            return f"anonymous got {response.status_code} for {case.path_parameters} {str(case.body)[:200]}"
        return None

    failures: list[str] = []
    for op in _operations(clinic_app):
        if (op.method.upper(), op.path) not in PUBLIC:
            failures += _fuzz(op, call)
    assert failures == []
