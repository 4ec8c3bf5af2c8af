"""A clinic admin's accounts from the server's command line: `romcam user deactivate`, `user activate` and
`user list` (a caregiver who left, a PT who moved clinics, a lost phone's login), run as real processes on a
real clinic database (SQLite and PostgreSQL), checked through the real API: the login sessions end, the login
is refused, and comes back with the password it had."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import BASE, PASSWORD, Clinic, login
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from fastapi.testclient import TestClient


def _user(db_url: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "romcam.cli", "user", *argv, "--db", db_url],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _can_log_in(clinic: Clinic, email: str) -> bool:
    r = TestClient(clinic.app, base_url=BASE).post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def test_deactivate_ends_the_sessions_and_says_what_becomes_of_a_pts_patients(clinic: Clinic, db_url: str) -> None:
    held = login(clinic.app, "clinician_b@clinic.test")  # the PT who moved clinics, still logged in somewhere
    assert held.get("/api/auth/me").status_code == 200

    done = _user(db_url, "deactivate", "--email", "Clinician_B@Clinic.test")  # any case, as the login
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert done.stderr == (
        "deactivated clinician clinician_b@clinic.test: it can no longer log in, its login sessions ended; its "
        "patient stays its own, so no PT sees them now: hand each to another clinician on the patient's dashboard "
        "page (the admin's patient list flags them) (`romcam user activate --email clinician_b@clinic.test` undoes "
        "it)\n")
    assert held.get("/api/auth/me").status_code == 401
    assert not _can_log_in(clinic, "clinician_b@clinic.test")
    # as the API's DELETE /api/users/{id}: the patient stays the deactivated PT's, seen by the admin only
    admin = clinic.client("admin")
    assert admin.get(f"/api/patients/{clinic.other}").json()["clinician_id"] == str(clinic.users["clinician_b"])
    users = {u["email"]: u for u in admin.get("/api/users").json()}
    assert users["clinician_b@clinic.test"]["active"] is False
    assert users["clinician@clinic.test"]["active"] is True  # nobody else

    again = _user(db_url, "deactivate", "--email", "clinician_b@clinic.test")
    assert (again.returncode, again.stderr) == (0, "clinician clinician_b@clinic.test was deactivated already: "
                                                   "no change\n")

    back = _user(db_url, "activate", "--email", "clinician_b@clinic.test")
    assert back.returncode == 0, back.stderr
    assert back.stderr == ("activated clinician clinician_b@clinic.test: it may log in again with the password it "
                           "had (`romcam user password --email clinician_b@clinic.test` sets a new one); it sees its "
                           "patient again\n")
    pt = login(clinic.app, "clinician_b@clinic.test")
    assert [p["id"] for p in pt.get("/api/patients").json()] == [str(clinic.other)]
    again = _user(db_url, "activate", "--email", "clinician_b@clinic.test")
    assert (again.returncode, again.stderr) == (0, "clinician clinician_b@clinic.test is active already: no change\n")


def test_a_caregiver_who_left_is_deactivated_without_a_word_on_patients(clinic: Clinic, db_url: str) -> None:
    held = login(clinic.app, "caregiver@clinic.test")
    done = _user(db_url, "deactivate", "--email", "caregiver@clinic.test")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ("deactivated caregiver caregiver@clinic.test: it can no longer log in, its login sessions "
                           "ended (`romcam user activate --email caregiver@clinic.test` undoes it)\n")
    assert held.get(f"/api/patients/{clinic.own}").status_code == 401
    assert _can_log_in(clinic, "patient@clinic.test")  # the patient's own account is untouched


@pytest.mark.parametrize("action", ["deactivate", "activate"])
def test_an_unknown_email_is_said_with_exit_code_2(clinic: Clinic, db_url: str, action: str) -> None:
    done = _user(db_url, action, "--email", "nobody@clinic.test")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("romcam: --email nobody@clinic.test: no account has this email in this database (check "
                           "the spelling, and --db / ROMCAM_DB; `romcam user list` shows every account)\n")
    assert _can_log_in(clinic, "clinician@clinic.test")


def test_list_shows_every_account_its_role_state_and_patient(clinic: Clinic, db_url: str) -> None:
    admin = clinic.client("admin")
    assert admin.delete(f"/api/users/{clinic.users['clinician_b']}").status_code == 200
    done = _user(db_url, "list", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    api = admin.get("/api/users").json()  # the same accounts, in the same order (role, then email)
    assert [(u["id"], u["email"], u["role"], u["active"], u["patient_id"]) for u in listed] == \
        [(u["id"], u["email"], u["role"], u["active"], u["patient_id"]) for u in api]
    by_email = {u["email"]: u for u in listed}
    assert by_email["clinician_b@clinic.test"]["active"] is False
    for role in ("patient", "caregiver"):
        assert by_email[f"{role}@clinic.test"]["patient_id"] == str(clinic.own)
        assert by_email[f"{role}@clinic.test"]["patient_name"] == "Ada Own"
    assert by_email["admin@clinic.test"]["patient_name"] is None

    table = _user(db_url, "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "ROLE", "ACTIVE", "PATIENT"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == [u["email"] for u in api]
    assert rows["clinician_b@clinic.test"].split()[1:] == ["clinician", "no,", "deactivated"]
    assert rows["caregiver@clinic.test"].split()[1:] == ["caregiver", "yes", "Ada", "Own", f"({clinic.own})"]
    assert rows["admin@clinic.test"].split()[1:] == ["admin", "yes"]
