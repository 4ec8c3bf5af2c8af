"""Clinic login: the session cookie, brute-force limits, identical failures, revocation on logout and
password change, idle and absolute timeouts (on an injected clock), CSRF, the refusal to bind beyond
loopback without auth, and local mode left as it was. SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import BASE, PASSWORD, SECRET, Clinic, login
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from romcam.server.app import create_app
from romcam.server.auth_router import LoginThrottle
from romcam.server.deps import SESSION_COOKIE
from romcam.server.settings import DEFAULT_SECRET_KEY, Settings
from romcam.store import accounts
from romcam.store.models import DeviceToken, Patient, Session, User
from romcam.store.seed import synthetic_session

GOOD = {"email": "clinician@clinic.test", "password": PASSWORD}


class Monotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _throttle(clinic: Clinic) -> Monotonic:
    clock = Monotonic()
    clinic.app.state.login_throttle = LoginThrottle(clock)
    return clock


def _with_cookie(clinic: Clinic, secret: str, csrf: str | None = None) -> TestClient:
    c = TestClient(clinic.app, base_url=BASE, cookies={SESSION_COOKIE: secret})
    if csrf:
        c.headers["X-CSRF-Token"] = csrf
    return c


# --- the cookie -----------------------------------------------------------------------------------

def test_login_sets_a_host_prefixed_secure_httponly_strict_cookie(clinic: Clinic) -> None:
    c = TestClient(clinic.app, base_url=BASE)
    r = c.post("/api/auth/login", json=GOOD)
    assert r.status_code == 200
    assert r.json()["user"]["role"] == "clinician" and len(r.json()["csrf_token"]) >= 40
    name, _, rest = r.headers["set-cookie"].partition("=")
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in rest.split(";")[1:]}
    assert name == "__Host-romcam_session"
    assert set(attrs) == {"httponly", "max-age", "path", "samesite", "secure"}  # no Domain: __Host- forbids it
    assert attrs["path"] == "Path=/" and attrs["samesite"].lower() == "samesite=strict"
    assert attrs["max-age"] == "Max-Age=43200"
    # the cookie authenticates (it is sent back over https)
    me = c.get("/api/auth/me").json()
    assert me["user"]["id"] == str(clinic.users["clinician"]) and me["mode"] == "clinic"
    # over plain http a client does not send a Secure cookie back, so nothing is authenticated
    plain = TestClient(clinic.app, base_url="http://localhost")
    plain.post("/api/auth/login", json=GOOD).raise_for_status()
    assert plain.get("/api/auth/me").status_code == 401


# --- failures -------------------------------------------------------------------------------------

def test_unknown_user_and_wrong_password_answer_identically(clinic: Clinic) -> None:
    c = TestClient(clinic.app, base_url=BASE)
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    answers = set()
    for _ in range(4):
        for kind, email in (("unknown", "nobody@clinic.test"), ("wrong", "clinician@clinic.test")):
            _throttle(clinic)  # keep the limiter out of this test
            t0 = time.perf_counter()
            r = c.post("/api/auth/login", json={"email": email, "password": "not the password"})
            timings[kind].append(time.perf_counter() - t0)
            answers.add((r.status_code, r.content, r.headers.get("content-type"), "set-cookie" in r.headers))
    assert answers == {(401, b'{"detail":"wrong email or password"}', "application/json", False)}
    # both pay one argon2 verification: medians within a factor of 3 on a busy machine (skipping the
    # hash for an unknown email would make it ~100x faster)
    ratio = statistics.median(timings["unknown"]) / statistics.median(timings["wrong"])
    assert 1 / 3 < ratio < 3.0, timings


def test_sixth_failed_login_from_one_client_is_429(clinic: Clinic) -> None:
    clock = _throttle(clinic)
    c = TestClient(clinic.app, base_url=BASE, client=("10.0.0.7", 5000))
    for i in range(5):  # five different accounts: only the client is common
        r = c.post("/api/auth/login", json={"email": f"guess{i}@clinic.test", "password": "x"})
        assert r.status_code == 401
    r = c.post("/api/auth/login", json=GOOD)  # even the right password: the client is blocked
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    # another client is not blocked
    assert TestClient(clinic.app, base_url=BASE, client=("10.0.0.8", 5000)).post(
        "/api/auth/login", json=GOOD).status_code == 200
    clock.t += 61  # the window has passed
    assert c.post("/api/auth/login", json=GOOD).status_code == 200


def test_sixth_failed_login_for_one_account_is_429_from_any_client(clinic: Clinic) -> None:
    clock = _throttle(clinic)
    for i in range(5):  # five clients, one account
        c = TestClient(clinic.app, base_url=BASE, client=(f"10.0.1.{i}", 5000))
        assert c.post("/api/auth/login", json={**GOOD, "password": "wrong"}).status_code == 401
        clock.t += 10
    fresh = TestClient(clinic.app, base_url=BASE, client=("10.0.2.1", 5000))
    assert fresh.post("/api/auth/login", json=GOOD).status_code == 429
    # the same answer for an account that does not exist (the limiter tells nothing either)
    for _ in range(5):
        fresh.post("/api/auth/login", json={"email": "ghost@clinic.test", "password": "x"})
    r = TestClient(clinic.app, base_url=BASE, client=("10.0.2.2", 5000)).post(
        "/api/auth/login", json={"email": "ghost@clinic.test", "password": "x"})
    assert r.status_code == 429
    clock.t += 61
    assert fresh.post("/api/auth/login", json=GOOD).status_code == 200


def test_failed_logins_sent_all_at_once_are_held_to_five(clinic: Clinic) -> None:
    """20 wrong passwords for one account sent together (each on its own thread, as a script would):
    five are verified (401), the other fifteen answer 429, however the requests interleave — the
    check and the count are one step, made before the (slow) password verification."""
    account = {**GOOD, "password": "wrong"}
    start = threading.Barrier(20)

    def attempt(i: int) -> int:
        client = TestClient(clinic.app, base_url=BASE, client=(f"10.0.3.{i}", 5000))
        start.wait()
        return client.post("/api/auth/login", json=account).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = sorted(pool.map(attempt, range(20)))
    assert codes == [401] * 5 + [429] * 15
    # the right password, from a sixth client, is still refused: the account is blocked
    fresh = TestClient(clinic.app, base_url=BASE, client=("10.0.3.99", 5000))
    assert fresh.post("/api/auth/login", json=GOOD).status_code == 429


def test_a_successful_login_is_not_counted_as_a_failure(clinic: Clinic) -> None:
    _throttle(clinic)
    c = TestClient(clinic.app, base_url=BASE, client=("10.0.4.1", 5000))
    for _ in range(10):  # one office computer, ten good logins in a minute
        assert c.post("/api/auth/login", json=GOOD).status_code == 200
    for i in range(4):
        assert c.post("/api/auth/login", json={"email": f"typo{i}@clinic.test", "password": "x"}).status_code == 401
    assert c.post("/api/auth/login", json=GOOD).status_code == 200


# --- revocation and timeouts ----------------------------------------------------------------------

def _login_raw(clinic: Clinic, email: str = GOOD["email"], password: str = PASSWORD) -> tuple[str, str]:
    r = TestClient(clinic.app, base_url=BASE).post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.cookies[SESSION_COOKIE], r.json()["csrf_token"]


def test_logout_revokes_the_session_server_side(clinic: Clinic) -> None:
    secret, csrf = _login_raw(clinic)
    c = _with_cookie(clinic, secret, csrf)
    assert c.get("/api/patients").status_code == 200
    r = c.post("/api/auth/logout")
    assert r.status_code == 204 and SESSION_COOKIE in r.headers["set-cookie"]  # cleared in the browser too
    # a copy of the old cookie is worthless now
    assert _with_cookie(clinic, secret).get("/api/patients").status_code == 401


def test_password_change_revokes_every_session(clinic: Clinic) -> None:
    laptop, laptop_csrf = _login_raw(clinic)
    phone, _ = _login_raw(clinic)
    c = _with_cookie(clinic, laptop, laptop_csrf)
    r = c.post("/api/auth/password", json={"old_password": "wrong wrong wrong", "new_password": "n" * 16})
    assert r.status_code == 422  # the old password is checked
    assert _with_cookie(clinic, phone).get("/api/patients").status_code == 200
    r = c.post("/api/auth/password", json={"old_password": PASSWORD, "new_password": "a new long passphrase"})
    assert r.status_code == 200
    assert _with_cookie(clinic, phone).get("/api/patients").status_code == 401
    assert _with_cookie(clinic, laptop).get("/api/patients").status_code == 401
    # this browser got a fresh session; the old password no longer logs in, the new one does
    assert _with_cookie(clinic, r.cookies[SESSION_COOKIE]).get("/api/patients").status_code == 200
    _throttle(clinic)
    bad = TestClient(clinic.app, base_url=BASE).post("/api/auth/login", json=GOOD)
    assert bad.status_code == 401
    _login_raw(clinic, password="a new long passphrase")


def test_idle_timeout_is_30_minutes(clinic: Clinic) -> None:
    secret, _ = _login_raw(clinic)
    c = _with_cookie(clinic, secret)
    for _ in range(3):  # activity keeps it alive
        clinic.clock.t += timedelta(minutes=29)
        assert c.get("/api/patients").status_code == 200
    clinic.clock.t += timedelta(minutes=30)
    assert c.get("/api/patients").status_code == 401
    clinic.clock.t -= timedelta(minutes=5)  # and it stays dead (the row is gone)
    assert c.get("/api/patients").status_code == 401


def test_absolute_timeout_is_12_hours_even_when_active(clinic: Clinic) -> None:
    secret, _ = _login_raw(clinic)
    c = _with_cookie(clinic, secret)
    for _ in range(int(12 * 60 / 20) - 1):  # a request every 20 minutes for 11 h 40 min
        clinic.clock.t += timedelta(minutes=20)
        assert c.get("/api/auth/me").status_code == 200
    clinic.clock.t += timedelta(minutes=20)  # 12 h after login
    assert c.get("/api/auth/me").status_code == 401


def test_deactivated_account_cannot_log_in_and_its_sessions_end(clinic: Clinic) -> None:
    secret, _ = _login_raw(clinic, "clinician_b@clinic.test")
    admin = clinic.client("admin")
    r = admin.delete(f"/api/users/{clinic.users['clinician_b']}")
    assert r.status_code == 200 and r.json()["active"] is False
    assert _with_cookie(clinic, secret).get("/api/patients").status_code == 401
    r = TestClient(clinic.app, base_url=BASE).post(
        "/api/auth/login", json={"email": "clinician_b@clinic.test", "password": PASSWORD})
    assert (r.status_code, r.json()) == (401, {"detail": "wrong email or password"})
    # a deactivated clinician takes no patients (only admins would see them)
    r = admin.patch(f"/api/patients/{clinic.own}", json={"clinician_id": str(clinic.users["clinician_b"])})
    assert r.status_code == 422 and "activate it first" in r.text
    # back from leave: the admin activates the account again, and it logs in with its password
    assert clinic.client("clinician").post(f"/api/users/{clinic.users['clinician_b']}/activate").status_code == 403
    for _ in range(2):  # twice: no change the second time
        r = admin.post(f"/api/users/{clinic.users['clinician_b']}/activate")
        assert r.status_code == 200 and r.json()["active"] is True
    assert login(clinic.app, "clinician_b@clinic.test", PASSWORD).get("/api/patients").status_code == 200
    assert admin.post(f"/api/users/{uuid.uuid4()}/activate").status_code == 404
    r = admin.patch(f"/api/patients/{clinic.own}", json={"clinician_id": str(clinic.users["clinician_b"])})
    assert r.status_code == 200 and r.json()["clinician_id"] == str(clinic.users["clinician_b"])


# --- CSRF -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "", "forged-token"])
def test_cookie_writes_without_the_csrf_token_are_403(clinic: Clinic, header: str | None) -> None:
    secret, csrf = _login_raw(clinic)
    c = _with_cookie(clinic, secret)
    headers = {} if header is None else {"X-CSRF-Token": header}
    for method, path, body in (("post", "/api/patients", {"name": "Forged"}),
                               ("patch", f"/api/patients/{clinic.own}", {"notes": "forged"}),
                               ("post", "/api/auth/logout", None)):
        r = c.request(method.upper(), path, json=body, headers=headers)
        assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"], (method, path, r.text)
    assert c.get("/api/patients").status_code == 200  # reads need no token
    # with the session's own token the same write goes through
    r = c.post("/api/patients", json={"name": "Real"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["clinician_id"] == str(clinic.users["clinician"])
    # another session's token does not fit this session
    _, other_csrf = _login_raw(clinic)
    assert c.post("/api/patients", json={"name": "X"}, headers={"X-CSRF-Token": other_csrf}).status_code == 403


# --- anonymous ------------------------------------------------------------------------------------

def test_anonymous_gets_401_from_the_api_and_the_login_page_for_pages(clinic: Clinic) -> None:
    anon = clinic.client("anonymous")
    assert anon.get("/api/patients").json() == {"detail": "log in first (POST /api/auth/login)"}
    r = anon.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = anon.get("/login")
    assert page.status_code == 200 and 'src="/static/dashboard/login.js"' in page.text and "<script>" not in page.text
    with pytest.raises(WebSocketDisconnect) as closed, anon.websocket_connect("/live/ws") as ws:
        ws.receive_json()
    assert closed.value.code == 1008


# --- accounts from the command line ---------------------------------------------------------------

def test_cli_user_create_reads_the_password_from_stdin(clinic: Clinic, db_url: str) -> None:
    cmd = [sys.executable, "-m", "romcam.cli", "user", "create", "--db", db_url, "--email", "New.PT@Clinic.test",
           "--role", "clinician"]
    done = subprocess.run(cmd, input="a long enough password\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    login(clinic.app, "new.pt@clinic.test", "a long enough password")  # email is case-insensitive
    again = subprocess.run(cmd, input="a long enough password\n", capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "exists already" in again.stderr
    short = subprocess.run(cmd[:-4] + ["--email", "x@clinic.test", "--role", "admin"], input="short\n",
                           capture_output=True, text=True, timeout=120)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    caregiver = subprocess.run(cmd[:-4] + ["--email", "c@clinic.test", "--role", "caregiver"],
                               input="a long enough password\n", capture_output=True, text=True, timeout=120)
    assert caregiver.returncode == 2 and "--patient" in caregiver.stderr


@pytest.mark.parametrize("argv, says", [
    (["--email", "not-an-email", "--role", "clinician"], "--email: give an email address"),
    (["--email", "x@clinic.test", "--role", "patient", "--patient", "00000000-0000-4000-8000-000000000000"],
     "--patient 00000000-0000-4000-8000-000000000000: no such patient in this database"),
    (["--email", "y@clinic.test", "--role", "patient"], "--patient: a patient acts for one patient"),
])  # fmt: skip
def test_cli_user_create_names_the_flag_at_fault(clinic: Clinic, db_url: str, argv: list[str], says: str) -> None:
    """A usage error names the command's own flag, not the API's field (body.email) nor a bare 'not found'."""
    cmd = [sys.executable, "-m", "romcam.cli", "user", "create", "--db", db_url, *argv]
    done = subprocess.run(cmd, input="a long enough password\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and says in done.stderr and "body." not in done.stderr, done.stderr


SHORT = "romcam: the password is too short: use at least 12 characters; run the command again\n"
NO_PASSWORD = ("romcam: no password given: run the command in a terminal to be asked for it, or give it as the "
               "first line of standard input\n")


@pytest.mark.parametrize("argv, stdin, says", [
    # a short password named --password (user create), a flag it does not have, or body.password (user password)
    (["create", "--email", "x@clinic.test", "--role", "admin"], "short\n", SHORT),
    (["password", "--email", "clinician@clinic.test"], "short\n", SHORT),
    # nothing on standard input (< /dev/null, a script without a terminal) was "use at least 12 characters"
    (["create", "--email", "x@clinic.test", "--role", "admin"], "", NO_PASSWORD),
    (["password", "--email", "clinician@clinic.test"], "", NO_PASSWORD),
    # the API's patient_id, and "a admin"
    (["create", "--email", "x@clinic.test", "--role", "admin", "--patient", "{own}"], "a long enough password\n",
     "romcam: --patient: an admin is not tied to one patient: leave --patient out\n"),
    (["create", "--email", "x@clinic.test", "--role", "caregiver"], "a long enough password\n",
     "romcam: --patient: a caregiver acts for one patient: give --patient\n"),
])  # fmt: skip
def test_cli_account_problems_name_the_password_and_the_commands_own_flags(clinic: Clinic, db_url: str,
                                                                          argv: list[str], stdin: str,
                                                                          says: str) -> None:
    """What an admin is told names what they gave: the password they typed or piped, the --patient flag;
    never a flag the command does not have (--password), nor the API's fields (body.password, patient_id)."""
    argv = [a.replace("{own}", str(clinic.own)) for a in argv]
    cmd = [sys.executable, "-m", "romcam.cli", "user", *argv, "--db", db_url]
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (2, says)
    login(clinic.app, "clinician@clinic.test")  # the password unchanged


def test_cli_user_password_sets_a_forgotten_password_and_ends_the_sessions(clinic: Clinic, db_url: str) -> None:
    """The API's password change needs the old password; an account whose owner forgot it gets a new
    one from the server's command line, and whoever held a session of it is logged out."""
    secret, csrf = _login_raw(clinic)
    held = _with_cookie(clinic, secret, csrf)
    assert held.get("/api/auth/me").status_code == 200
    cmd = [sys.executable, "-m", "romcam.cli", "user", "password", "--db", db_url, "--email", "Clinician@Clinic.test"]
    done = subprocess.run(cmd, input="a brand new passphrase\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "password of clinician clinician@clinic.test set, its login sessions ended\n"
    assert held.get("/api/auth/me").status_code == 401
    anon = TestClient(clinic.app, base_url=BASE)
    assert anon.post("/api/auth/login", json=GOOD).status_code == 401  # the old password
    login(clinic.app, "clinician@clinic.test", "a brand new passphrase")
    short = subprocess.run(cmd, input="short\n", capture_output=True, text=True, timeout=120)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    unknown = subprocess.run(cmd[:-1] + ["nobody@clinic.test"], input="a brand new passphrase\n",
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "--email nobody@clinic.test: no account has this email" in unknown.stderr, \
        unknown.stderr
    login(clinic.app, "clinician@clinic.test", "a brand new passphrase")  # neither changed it


# --- binding beyond loopback ----------------------------------------------------------------------

@pytest.mark.parametrize("env, says", [
    ({}, ["ROMCAM_AUTH=clinic", "ROMCAM_SECRET_KEY="]),  # nothing configured
    ({"ROMCAM_AUTH": "clinic"}, ["ROMCAM_SECRET_KEY="]),  # auth but the default secret
    ({"ROMCAM_AUTH": "clinic", "ROMCAM_SECRET_KEY": "short"}, ["ROMCAM_SECRET_KEY="]),  # a weak secret
    ({"ROMCAM_SECRET_KEY": SECRET}, ["ROMCAM_AUTH=clinic"]),  # a secret but no auth
])  # fmt: skip
def test_serve_refuses_a_public_address_without_auth_and_secret(tmp_path: Path, env: dict, says: list[str]) -> None:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ROMCAM_")} | env
    done = subprocess.run([sys.executable, "-m", "romcam.cli", "serve", "--host", "0.0.0.0", "--no-live", "--db",
                           f"sqlite:///{tmp_path / 'r.db'}"], capture_output=True, text=True, timeout=120, env=full_env)
    assert done.returncode == 11, done.stderr
    assert done.stderr.startswith("romcam: refusing to serve on 0.0.0.0")
    for text in says:
        assert text in done.stderr
    for text in {"ROMCAM_AUTH=clinic", "ROMCAM_SECRET_KEY="} - set(says):
        assert text not in done.stderr


@pytest.mark.parametrize("secret, warned", [(None, True), (SECRET, False)])
def test_a_clinic_server_on_loopback_without_its_own_key_says_so(tmp_path: Path, secret: str | None,
                                                                 warned: bool) -> None:
    """Loopback may run clinic mode on the public default key (a trial); it says what that costs."""
    from helpers import romcam_serve

    env = {"ROMCAM_AUTH": "clinic", "ROMCAM_SECRET_KEY": secret or ""}
    with romcam_serve(tmp_path, "--no-live", ready="/login", env=env) as (port, _):
        pass
    log = next(tmp_path.glob("serve-*.log")).read_text()
    assert ("warning: no ROMCAM_SECRET_KEY of this server's own" in log) is warned, log


def test_two_password_changes_at_once_the_first_wins_and_the_other_is_told(clinic: Clinic) -> None:
    """Both requests read the account before either wrote (a double submit): the second must not
    silently replace the password the first one set."""
    from romcam.store import accounts as acc
    from romcam.store.errors import ConflictError

    uid = clinic.users["clinician"]
    with clinic.store.session() as first, clinic.store.session() as second:
        a, b = first.get(acc.User, uid), second.get(acc.User, uid)
        assert a.password_hash == b.password_hash  # both read before either wrote
        acc.change_password(first, a, PASSWORD, "the first new passphrase", now=clinic.clock())
        with pytest.raises(ConflictError, match="changed meanwhile"):
            acc.change_password(second, b, PASSWORD, "the second new passphrase", now=clinic.clock())
    login(clinic.app, "clinician@clinic.test", "the first new passphrase")
    r = TestClient(clinic.app, base_url=BASE).post("/api/auth/login", json={"email": "clinician@clinic.test",
                                                                           "password": "the second new passphrase"})
    assert r.status_code == 401


@pytest.mark.parametrize("role", ["patient", "caregiver"])
def test_no_account_or_device_token_acts_for_the_servers_own_patient(clinic: Clinic, db_url: str, role: str) -> None:
    """The server's own "Me" patient (the live coach's) is nobody's at a clinic: no staff sees it, so an
    account or a laptop token for it would file a patient's sessions where no PT ever reads them. The
    API and the CLI refuse it, naming what to do; the patient's own id still works."""
    me = clinic.store.local_patient_id
    admin = clinic.client("admin")
    r = admin.post("/api/users", json={"email": f"me-{role}@clinic.test", "password": PASSWORD, "role": role,
                                       "patient_id": str(me)})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "patient_id"] and "not a clinic patient" in r.text
    ok = admin.post("/api/users", json={"email": f"ada-{role}@clinic.test", "password": PASSWORD, "role": role,
                                        "patient_id": str(clinic.own)})
    assert ok.status_code == 201, ok.text
    for argv in (["user", "create", "--email", f"cli-{role}@clinic.test", "--role", role, "--patient", str(me)],
                 ["token", "create", "--patient", str(me)]):
        done = subprocess.run([sys.executable, "-m", "romcam.cli", *argv, "--db", db_url],
                              input="a long enough password\n", capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "not a clinic patient" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""  # no token printed
    with clinic.store.session() as db:
        assert accounts.list_device_tokens(db, db.get(Patient, me)) == []
        assert not any(u.patient_id == me for u in accounts.list_users(db))


def test_accounts_and_tokens_made_for_the_servers_own_patient_before_the_refusal_no_longer_work(
        clinic: Clinic) -> None:
    """An account and a device token for "Me" made before they were refused (rows written as the old code
    wrote them): the login is refused with what to do (the password was right: no 'wrong password'), a login
    session made before ends, and the token is refused with its own words, not 'unknown or revoked'."""
    me = clinic.store.local_patient_id
    with clinic.store.session() as db:
        account = User(email="old-me@clinic.test", name="", role="patient", patient_id=me, active=True,
                       password_hash=accounts.hash_password(PASSWORD))
        db.add(account)
        db.commit()
        earlier = accounts.start_session(db, account, now=clinic.clock())  # logged in before the upgrade
        token = accounts.TOKEN_PREFIX + "old-token-for-me-" + "x" * 26
        db.add(DeviceToken(patient_id=me, label="old laptop", token_sha256=accounts.sha256_hex(token),
                           prefix=token[:14], created_at=clinic.clock()))
        db.commit()
    r = TestClient(clinic.app, base_url=BASE).post("/api/auth/login", json={"email": "old-me@clinic.test",
                                                                           "password": PASSWORD})
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies, r.text
    assert r.json()["detail"] == accounts.LOCAL_PATIENT_ACCOUNT and "ask the clinic's admin" in r.json()["detail"]
    assert _with_cookie(clinic, earlier.secret).get("/api/auth/me").status_code == 401
    assert _with_cookie(clinic, earlier.secret).get(f"/api/patients/{me}").status_code == 401
    for path in ("/api/device", f"/api/patients/{me}/prescriptions"):
        r = TestClient(clinic.app, base_url=BASE, headers={"Authorization": f"Bearer {token}"}).get(path)
        assert r.status_code == 401 and r.json() == {"detail": accounts.LOCAL_PATIENT_TOKEN}, r.text
    r = TestClient(clinic.app, base_url=BASE, headers={"Authorization": f"Bearer {token}"}).post(
        "/api/sessions", json=synthetic_session(me, clinic.clock(), [{"exercise": "knee_flexion", "side": "right",
                                                                      "mode": "active", "posture": "seated",
                                                                      "peak": 100.0}]))
    assert r.status_code == 401
    with clinic.store.session() as db:
        assert db.scalar(select(func.count()).select_from(Session).where(Session.patient_id == me)) == 0
    # the clinic's own patient accounts and tokens are untouched
    assert clinic.client("patient").get(f"/api/patients/{clinic.own}").status_code == 200
    assert clinic.client("device").get("/api/device").status_code == 200


def test_bind_rules() -> None:
    assert Settings(host="127.0.0.1").bind_problem() is None  # make run: unchanged
    assert Settings(host="::1").bind_problem() is None
    assert Settings(host="0.0.0.0", auth="clinic", secret_key=SECRET).bind_problem() is None
    assert Settings(host="192.168.1.5", auth="clinic", secret_key=DEFAULT_SECRET_KEY).bind_problem() is not None


# --- local mode is unchanged ----------------------------------------------------------------------

def test_local_mode_needs_no_login_and_ignores_accounts(store, db_url: str) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings(db=db_url), store=store)
    c = TestClient(app, base_url="http://localhost")
    assert c.get("/api/auth/me").json()["user"]["role"] == "local"
    assert c.post("/api/patients", json={"name": "Ada"}).status_code == 201  # no CSRF token, no cookie
    assert c.get("/", follow_redirects=False).status_code == 200
    assert c.post("/api/auth/login", json=GOOD).status_code == 404  # no accounts on a laptop


@pytest.mark.parametrize("argv, flag", [
    (["user", "create", "--email", "long@clinic.test", "--role", "clinician", "--name", "N" * 201], "--name"),
    (["token", "create", "--patient", "{patient}", "--label", "L" * 101], "--label"),
])  # fmt: skip
def test_cli_text_too_long_for_the_database_is_a_usage_error(clinic: Clinic, db_url: str, argv, flag) -> None:
    """PostgreSQL refuses text longer than its column (SQLite stores it): a message naming the flag and its
    limit, as the API's 422 does, on both — not a traceback after the password was typed."""
    cmd = [sys.executable, "-m", "romcam.cli", *[a.format(patient=clinic.own) for a in argv], "--db", db_url]
    done = subprocess.run(cmd, input="a long enough password\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert flag in done.stderr and "at most" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("argv, code, says", [
    (["--email", "not-an-email", "--role", "clinician"], 2, "romcam: --email: give an email address"),
    (["--email", "a\tb@clinic.test", "--role", "clinician"], 2, "romcam: --email: an email address has no spaces"),
    (["--email", "y@clinic.test", "--role", "caregiver"], 2, "romcam: --patient: a caregiver acts for one patient"),
    (["--email", "y@clinic.test", "--role", "admin", "--patient", "{own}"], 2,
     "romcam: --patient: an admin is not tied to one patient"),
    (["--email", "y@clinic.test", "--role", "patient", "--patient", "00000000-0000-4000-8000-000000000000"], 2,
     "romcam: --patient 00000000-0000-4000-8000-000000000000: no such patient in this database"),
    (["--email", "Clinician@Clinic.test", "--role", "clinician"], 1,
     "romcam: an account with email clinician@clinic.test exists already: give another --email, or set its "
     "password with `romcam user password --email clinician@clinic.test`"),
])  # fmt: skip
def test_cli_user_create_checks_everything_before_asking_for_the_password(clinic: Clinic, db_url: str,
                                                                          argv: list[str], code: int,
                                                                          says: str) -> None:
    """An admin who typed a password (twice) was only then told the role needs --patient or the email is
    wrong. Nothing on standard input: the mistake is said, not "no password given"."""
    argv = [a.replace("{own}", str(clinic.own)) for a in argv]
    cmd = [sys.executable, "-m", "romcam.cli", "user", "create", "--db", db_url, *argv]
    done = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(says) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("email", ["a\tb@clinic.test", "a b@clinic.test", "ab@clinic\n.test", "ab@cli\x07nic.test",
                                   "ab\u200b@clinic.test", "@clinic.test", "ab@"])
def test_an_email_with_whitespace_or_control_characters_is_refused_by_the_api(clinic: Clinic, email: str) -> None:
    """A tab pasted into an address made an account whose login nobody can type; the API and `romcam user
    create` share one rule (accounts.email_problem)."""
    r = clinic.client("admin").post("/api/users", json={"email": email, "password": PASSWORD, "role": "clinician"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "email"], r.text
    with clinic.store.session() as db:
        assert not any(u.email == accounts.normalize_email(email) for u in accounts.list_users(db))
