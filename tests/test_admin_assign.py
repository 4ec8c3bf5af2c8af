"""The clinic admin hands each patient to a clinician: a patient the admin adds names the clinician it
belongs to (else no PT would ever see it), the admin lists the clinician accounts to choose from and
moves a patient from one clinician to another; clinicians keep their own flow and cannot hand their
patients on; local mode (no accounts) is as it was. Every change is in the patient's audit log.
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import Clinic
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from fastapi.testclient import TestClient


def _names(client: TestClient) -> set[str]:
    r = client.get("/api/patients")
    assert r.status_code == 200, r.text
    return {p["name"] for p in r.json()}


def _changes(clinic: Clinic, patient_id: str) -> list[tuple[str, str, str]]:
    """The patient's audit log as (who's role, method, route) for the changes, oldest first."""
    r = clinic.client("admin").get(f"/api/patients/{patient_id}/audit")
    assert r.status_code == 200, r.text
    return [(e["actor_role"], e["method"], e["route"]) for e in reversed(r.json()) if e["action"] == "change"]


def test_an_admins_new_patient_must_name_its_clinician(clinic: Clinic) -> None:
    admin = clinic.client("admin")
    before = _names(admin)
    r = admin.post("/api/patients", json={"name": "Cy Unowned"})
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "clinician_id"]
    assert "romcam user create --email E --role clinician" in problem["msg"]
    assert _names(admin) == before  # nothing was stored

    r = admin.post("/api/patients", json={"name": "Cy New", "clinician_id": str(clinic.users["clinician"])})
    assert r.status_code == 201 and r.json()["clinician_id"] == str(clinic.users["clinician"]), r.text
    created = r.json()["id"]
    # the PT it was made for sees it (list and page), the other PT does not
    assert "Cy New" in _names(clinic.client("clinician"))
    assert clinic.client("clinician").get(f"/patients/{created}").status_code == 200
    assert "Cy New" not in _names(clinic.client("clinician_b"))
    assert clinic.client("clinician_b").get(f"/api/patients/{created}").status_code == 404
    assert _changes(clinic, created) == [("admin", "POST", "/api/patients")]


def test_an_admin_may_only_name_an_active_clinician(clinic: Clinic) -> None:
    admin = clinic.client("admin")
    assert admin.delete(f"/api/users/{clinic.users['clinician_b']}").status_code == 200
    cases = {  # clinician_id -> what the 422 says
        str(clinic.users["clinician_b"]): "activate it first",  # deactivated
        str(clinic.users["patient"]): "no active clinician account has this id",  # not a clinician
        str(clinic.users["admin"]): "no active clinician account has this id",
        str(uuid.uuid4()): "no active clinician account has this id",  # nobody
    }
    for owner, says in cases.items():
        r = admin.post("/api/patients", json={"name": "Refused", "clinician_id": owner})
        assert r.status_code == 422 and says in r.text, (owner, r.text)
    assert "Refused" not in _names(admin)


def test_a_clinicians_new_patient_is_theirs_and_they_cannot_name_another(clinic: Clinic) -> None:
    pt = clinic.client("clinician")
    r = pt.post("/api/patients", json={"name": "Mine"})
    assert r.status_code == 201 and r.json()["clinician_id"] == str(clinic.users["clinician"]), r.text
    for owner in (clinic.users["clinician_b"], clinic.users["clinician"]):
        r = pt.post("/api/patients", json={"name": "Handed on", "clinician_id": str(owner)})
        assert r.status_code == 403 and "only an admin" in r.text, r.text
    r = pt.patch(f"/api/patients/{clinic.own}", json={"clinician_id": str(clinic.users["clinician_b"])})
    assert r.status_code == 403, r.text
    assert "Ada Own" in _names(pt) and "Ada Own" not in _names(clinic.client("clinician_b"))


def test_the_admin_moves_a_patient_to_another_clinician_and_it_is_audited(clinic: Clinic) -> None:
    admin = clinic.client("admin")
    r = admin.patch(f"/api/patients/{clinic.own}", json={"clinician_id": str(clinic.users["clinician_b"])})
    assert r.status_code == 200 and r.json()["clinician_id"] == str(clinic.users["clinician_b"]), r.text
    assert "Ada Own" in _names(clinic.client("clinician_b"))
    assert "Ada Own" not in _names(clinic.client("clinician"))
    assert clinic.client("clinician").get(f"/api/patients/{clinic.own}").status_code == 404
    assert _changes(clinic, str(clinic.own))[-1] == ("admin", "PATCH", "/api/patients/{patient_id}")


def test_the_admin_lists_the_clinician_accounts_to_choose_from(clinic: Clinic) -> None:
    admin = clinic.client("admin")
    assert admin.delete(f"/api/users/{clinic.users['clinician_b']}").status_code == 200
    r = admin.get("/api/users", params={"role": "clinician"})
    assert r.status_code == 200, r.text
    got = {u["id"]: (u["role"], u["active"]) for u in r.json()}
    assert got == {str(clinic.users["clinician"]): ("clinician", True),
                   str(clinic.users["clinician_b"]): ("clinician", False)}
    assert {u["role"] for u in admin.get("/api/users").json()} == {"admin", "clinician", "patient", "caregiver"}
    r = admin.get("/api/users", params={"role": "physio"})
    assert r.status_code == 422 and "role" in r.text, r.text
    for who in ("clinician", "patient", "caregiver"):
        assert clinic.client(who).get("/api/users", params={"role": "clinician"}).status_code == 403, who


def test_local_mode_adds_patients_without_a_clinician(api: TestClient) -> None:
    r = api.post("/api/patients", json={"name": "Ada"})
    assert r.status_code == 201 and r.json()["clinician_id"] is None, r.text
    r = api.post("/api/patients", json={"name": "Bo", "clinician_id": str(uuid.uuid4())})
    assert r.status_code == 403, r.text
