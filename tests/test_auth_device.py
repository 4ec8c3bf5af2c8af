"""Device tokens: created by the patient's clinician (shown once, stored hashed), listed and revoked;
a token reads its patient's plan (``GET /api/device``) and uploads that patient's sessions, nothing
else. ``romcam token create`` prints only the token on stdout's last line. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from auth_fixtures import *  # noqa: F403 (clinic, login, ...)
from auth_fixtures import Clinic
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from fastapi.testclient import TestClient
from helpers import free_port
from sqlalchemy import text

from romcam.store import accounts
from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


def _doc(patient_id: uuid.UUID) -> dict:
    return synthetic_session(patient_id, datetime(2026, 11, 20, 10, tzinfo=UTC),
                             [{"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated",
                               "peak": 100.0}])


def _bearer(clinic: Clinic, token: str) -> TestClient:
    c = TestClient(clinic.app, base_url="https://localhost")
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def test_clinician_creates_lists_and_revokes_a_token(clinic: Clinic) -> None:
    pt = clinic.client("clinician")
    pt.post(f"/api/patients/{clinic.own}/prescriptions", json=KNEE).raise_for_status()
    r = pt.post(f"/api/patients/{clinic.own}/tokens", json={"label": "kitchen laptop"})
    assert r.status_code == 201, r.text
    made = r.json()
    token = made["token"]
    assert token.startswith("romcam_dt_") and len(token) >= 50 and made["prefix"] == token[:14]
    # shown once: the list never carries it, and the database holds only its SHA-256
    listed = pt.get(f"/api/patients/{clinic.own}/tokens").json()
    assert made["id"] in [t["id"] for t in listed] and all("token" not in t for t in listed)
    with clinic.store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM device_tokens")) for v in row)
    assert token not in dump and accounts.sha256_hex(token) in dump

    device = _bearer(clinic, token)
    r = device.get("/api/device")
    assert r.status_code == 200
    body = r.json()
    assert (body["patient_id"], body["patient_name"]) == (str(clinic.own), "Ada Own")
    assert [(p["exercise"], p["target_min"], p["target_max"]) for p in body["plan"]] == [("knee_flexion", 90, 120)]

    # the other clinician cannot see or revoke it: 404, as if it did not exist
    assert clinic.client("clinician_b").delete(f"/api/tokens/{made['id']}").status_code == 404
    assert clinic.client("clinician_b").get(f"/api/patients/{clinic.own}/tokens").status_code == 404
    r = pt.delete(f"/api/tokens/{made['id']}")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert device.get("/api/device").status_code == 401


def test_a_token_uploads_its_patients_sessions_idempotently_and_nothing_else(clinic: Clinic) -> None:
    device = clinic.client("device")
    doc = _doc(clinic.own)
    r = device.post("/api/sessions", json=doc)  # a bearer write needs no CSRF token
    assert r.status_code == 201, r.text
    assert device.post("/api/sessions", json=doc).status_code == 200  # re-sent: stored once
    sessions = clinic.client("clinician").get(f"/api/patients/{clinic.own}/sessions").json()
    assert [s["id"] for s in sessions] == [doc["id"]]
    # the check-in after it, under the client's id: idempotent too, and the PT sees it
    checkin = {"pain": 3, "tiredness": 4, "cramps": True, "note": "calf", "created_at": "2026-11-20T10:30:00Z"}
    path = f"/api/sessions/{doc['id']}/checkins/{uuid.uuid4()}"
    assert device.put(path, json=checkin).status_code == 201
    assert device.put(path, json=checkin).status_code == 200
    assert device.put(path, json=checkin | {"pain": 9}).status_code == 409
    detail = clinic.client("clinician").get(f"/api/sessions/{doc['id']}").json()
    assert [(c["pain"], c["tiredness"], c["cramps"], c["note"]) for c in detail["checkins"]] == [(3, 4, True, "calf")]
    # another patient's session: that patient does not exist for this token
    assert device.post("/api/sessions", json=_doc(clinic.other)).status_code == 404
    # its own patient's data beyond the plan, and any change: refused
    assert device.get(f"/api/patients/{clinic.own}/sessions").status_code == 403
    assert device.get(f"/api/patients/{clinic.own}/prescriptions").status_code == 200
    assert device.post(f"/api/patients/{clinic.own}/prescriptions", json=KNEE).status_code == 403
    assert device.get("/api/patients").status_code == 403
    assert device.get(f"/api/patients/{clinic.other}/prescriptions").status_code == 404


def test_revoked_unknown_and_malformed_tokens_are_401_saying_which(clinic: Clinic) -> None:
    """A token cut short or mistyped is unknown here; a revoked one says on which day (the holder of a
    once-valid token learns that much, nobody learns whose it was)."""
    unknown = ("the clinic does not know this device token: check it was copied whole (it starts with romcam_dt_ "
               "and is 53 characters long), or ask your PT for a new one")
    revoked = "this device token was revoked on 26 Nov 2026: ask your PT for a new one"  # the fixture's clock
    for token, says in ((clinic.revoked_token, revoked), (clinic.token[:-1], unknown),
                        ("romcam_dt_" + "x" * 43, unknown), ("not-a-token", unknown)):
        r = _bearer(clinic, token).get("/api/device")
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="romcam"'
        assert r.json() == {"detail": says}
        assert "Ada" not in r.text and "laptop" not in r.text  # neither the patient nor the token's label
    assert len(clinic.token) == 53
    c = TestClient(clinic.app, base_url="https://localhost", headers={"Authorization": "Basic abc"})
    assert c.get("/api/device").status_code == 401


@contextlib.contextmanager
def _serving(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The clinic's app served for real (uvicorn on a free loopback port, in a thread); yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_laptop_says_whether_its_key_is_unknown_or_revoked(clinic: Clinic) -> None:
    """The patient's laptop against a real clinic server: a mistyped token reads as one to check, not as one
    that "may have been revoked"; a revoked one says when."""
    from romcam.sync.client import ClinicClient, ClinicError
    from romcam.sync.config import LinkConfig

    with _serving(clinic.app) as url:
        messages = {}
        for name, token in (("typo", clinic.token[:-1]), ("revoked", clinic.revoked_token), ("ok", clinic.token)):
            client = ClinicClient(LinkConfig(url, token), timeout=10)
            try:
                messages[name] = client.device()["patient_name"]
            except ClinicError as exc:
                assert exc.kind == "auth" and exc.status == 401
                messages[name] = exc.message
    clinic_name = url.removeprefix("http://")
    assert messages["typo"] == (f"{clinic_name} does not accept this laptop's key: the clinic does not know this "
                                "device token: check it was copied whole (it starts with romcam_dt_ and is 53 "
                                "characters long), or ask your PT for a new one")
    assert messages["revoked"] == (f"{clinic_name} does not accept this laptop's key: this device token was revoked "
                                   "on 26 Nov 2026: ask your PT for a new one")
    assert messages["ok"] == "Ada Own"
    assert not any(t in m for m in messages.values() for t in (clinic.token, clinic.revoked_token))


def test_romcam_link_asks_the_clinic_and_says_what_it_answered(clinic: Clinic, tmp_path, capsys,
                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`romcam link` saved any address and token and said "linked to …", exit 0: the clinic admin learned of a
    wrong address or token only from the coach page's "last error". It now asks the clinic once: known → "linked
    to <clinic> as <patient>", 0; a refused token → 13, no answer → 12, each saying what to do; the link file
    is written every time (a laptop may be linked before it is online), and --no-check skips the question."""
    import io

    from romcam.cli import main
    from romcam.sync.config import LinkConfig, read_config

    def link(url: str, token: str, *extra: str) -> tuple[int, str, LinkConfig]:
        path = tmp_path / f"link-{uuid.uuid4().hex[:6]}.toml"
        monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
        rc = main(["link", "--upload-to", url, "--config", str(path), *extra])
        err = capsys.readouterr().err
        assert token not in err
        return rc, " ".join(err.split()), read_config(path)  # the file is written whatever the clinic said

    with _serving(clinic.app) as url:
        ok = link(url, clinic.token)
        revoked = link(url, clinic.revoked_token)
    assert ok[0] == 0 and ok[1].startswith(f"linked to {url.removeprefix('http://')} as Ada Own: saved in "), ok[1]
    assert ok[2] == LinkConfig(url, clinic.token)
    assert revoked[0] == 13, revoked[1]
    assert revoked[1].startswith("romcam: saved in ") and "this device token was revoked on 26 Nov 2026: ask your " \
        "PT for a new one; then run `romcam link` again with the new token" in revoked[1], revoked[1]
    assert revoked[2] == LinkConfig(url, clinic.revoked_token)

    silent = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the clinic is not reached
    offline = link(silent, clinic.token)
    assert offline[0] == 12 and "but the clinic did not answer: cannot reach 127.0.0.1:" in offline[1], offline[1]
    assert "Check the address with the PT" in offline[1] and offline[2] == LinkConfig(silent, clinic.token)
    unchecked = link(silent, clinic.token, "--no-check")
    assert unchecked[0] == 0 and "not checked with the clinic (--no-check)" in unchecked[1], unchecked[1]
    assert unchecked[2] == LinkConfig(silent, clinic.token)


def test_device_route_is_for_devices_only(clinic: Clinic) -> None:
    assert clinic.client("clinician").get("/api/device").status_code == 403
    assert clinic.client("anonymous").get("/api/device").status_code == 401


def test_cli_token_create_prints_only_the_token(clinic: Clinic, db_url: str) -> None:
    done = subprocess.run([sys.executable, "-m", "romcam.cli", "token", "create", "--db", db_url, "--patient",
                           str(clinic.own), "--label", "cli laptop"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[-1].startswith("romcam_dt_")
    r = _bearer(clinic, lines[-1]).get("/api/device")
    assert r.status_code == 200 and r.json()["patient_id"] == str(clinic.own)

    bad = subprocess.run([sys.executable, "-m", "romcam.cli", "token", "create", "--db", db_url, "--patient",
                          str(uuid.uuid4())], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and "no such patient in this database" in bad.stderr
