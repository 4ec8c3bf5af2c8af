"""Deleting a patient removes every row of theirs, on SQLite and PostgreSQL.

A full patient (a versioned prescription, sessions with sets, reps and samples, check-ins, a decline
alert) and a second one are made through the API and the live recorder's store calls; the first is
deleted; then EVERY table the database holds (reflected, so tables added later are scanned too) and
every column of every row is searched for any id of the deleted patient's rows, in every string and
binary form, and for their name and notes. The scan is first shown to find them before the delete.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from db_fixtures import *  # noqa: F403 (api, db_url, store, postgres_server)
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Engine

from romcam.catalog import get_motion
from romcam.store import Store
from romcam.store.live import add_checkin
from romcam.store.seed import synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": "slowly"}
NOISE = get_motion("knee_flexion").measurement_noise_deg
DECLINE = [110, 112, 109, 111, 110] + [110 - NOISE - 8 + d for d in (1, -1, 0)]  # fires a decline alert


def _make_patient(api: TestClient, store: Store, name: str, notes: str) -> dict[str, Any]:
    """A patient with everything a patient can have; returns their name, notes and every row id."""
    r = api.post("/api/patients", json={"name": name, "notes": notes})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    rx = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE).json()
    rx = api.put(f"/api/prescriptions/{rx['id']}", json=KNEE | {"target_min": 85}).json()  # version 2
    now = datetime.now(UTC)
    for i, peak in enumerate(DECLINE):
        doc = synthetic_session(uuid.UUID(pid), now - timedelta(days=0.5 + 2.3 * (len(DECLINE) - 1 - i)),
                                [{"exercise": "knee_flexion", "side": "right", "mode": "active",
                                  "posture": "seated", "peak": peak}])
        for s in doc["sets"]:
            s["prescription_id"], s["prescription_version"] = rx["id"], rx["version"]
        assert api.post("/api/sessions", json=doc).status_code == 201
    sessions = api.get(f"/api/patients/{pid}/sessions").json()
    with store.session() as db:
        for s in sessions[:2]:
            add_checkin(db, session_id=uuid.UUID(s["id"]), pain=3, tiredness=5, cramps=True,
                        note=f"{name} had cramps after the session", at=now)
    alerts = api.get(f"/api/patients/{pid}/alerts").json()
    assert [a["kind"] for a in alerts] == ["decline"]
    ids = {pid, rx["id"], *(a["id"] for a in alerts)}
    for s in sessions:
        detail = api.get(f"/api/sessions/{s['id']}").json()
        ids |= {s["id"], *(st["id"] for st in detail["sets"])}
        assert all(len(st["samples"]["t"]) > 0 and len(st["reps"]) == 3 for st in detail["sets"])
    with store.engine.connect() as conn:  # the ids the API does not show: reps and check-ins
        for table, key, parent in (("reps", "set_id", ids), ("checkins", "session_id", ids)):
            rows = conn.execute(text(f"SELECT id, {key} FROM {table}")).all()
            ids |= {str(_as_uuid(row_id)) for row_id, ref in rows if str(_as_uuid(ref)) in parent}
    return {"id": pid, "name": name, "notes": notes, "ids": {uuid.UUID(i) for i in ids}}


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _needles(patient: dict[str, Any]) -> tuple[list[str], list[bytes]]:
    """Every form an id, the name or the notes could be stored in: text (lower case) and raw bytes."""
    words = [patient["name"], patient["notes"]]
    for u in patient["ids"]:
        words += [str(u), u.hex, u.urn]
    words = [w.lower() for w in words]
    return words, [w.encode() for w in words] + [u.bytes for u in patient["ids"]]


def _holds(value: Any, ids: set[uuid.UUID], words: list[str], raw: list[bytes]) -> bool:
    if value is None:
        return False
    if isinstance(value, uuid.UUID):
        return value in ids
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return any(n in data or n in data.lower() for n in raw)
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    haystack = str(value).lower()
    return any(w in haystack for w in words)


def scan(engine: Engine, patient: dict[str, Any]) -> Counter[str]:
    """``table.column`` → how many rows hold something of ``patient``; every table in the database."""
    words, raw = _needles(patient)
    metadata = MetaData()
    metadata.reflect(engine)
    hits: Counter[str] = Counter()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if _holds(value, patient["ids"], words, raw):
                        hits[f"{table.name}.{column}"] += 1
    return hits


EVERY_TABLE_OF_A_PATIENT = {"patients", "prescriptions", "prescription_versions", "sessions", "exercise_sets",
                            "reps", "set_samples", "alerts", "checkins"}


def test_deleting_a_patient_leaves_nothing_of_theirs(api: TestClient, store: Store, db_url: str) -> None:
    gone = _make_patient(api, store, "Zebulon Quartermaine", "lives at 12 Wisteria Lane, likes tea")
    kept = _make_patient(api, store, "Ophelia Brightwater", "prefers mornings")
    before_gone, before_kept = scan(store.engine, gone), scan(store.engine, kept)
    # the scan sees the patient everywhere they are (else it could pass by seeing nothing)
    assert {key.split(".")[0] for key in before_gone} >= EVERY_TABLE_OF_A_PATIENT, before_gone
    assert before_gone["patients.name"] == 1 and before_gone["checkins.note"] == 2
    kept_pages = {path: api.get(path).json() for path in (
        f"/api/patients/{kept['id']}/sessions", f"/api/patients/{kept['id']}/prescriptions",
        f"/api/patients/{kept['id']}/trends?exercise=knee_flexion&side=right",
        f"/api/patients/{kept['id']}/alerts")}

    r = api.delete(f"/api/patients/{gone['id']}")
    assert r.status_code == 204, r.text

    assert scan(store.engine, gone) == Counter(), "rows of the deleted patient remain"
    assert scan(store.engine, kept) == before_kept  # the other patient is whole
    for path, body in kept_pages.items():
        assert api.get(path).json() == body
    assert api.get(f"/api/patients/{gone['id']}").status_code == 404
    assert api.delete(f"/api/patients/{gone['id']}").status_code == 404
    some_session = next(iter(gone["ids"] - {uuid.UUID(gone["id"])}))
    assert api.get(f"/api/sessions/{some_session}").status_code == 404
    assert gone["id"] not in {p["id"] for p in api.get("/api/patients").json()}

    if db_url.startswith("sqlite"):  # and the file keeps no trace (secure_delete, WAL checkpointed)
        path = Path(db_url.removeprefix("sqlite:///"))
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for needle in (gone["name"].encode(), b"Wisteria Lane", uuid.UUID(gone["id"]).hex.encode()):
            assert needle not in data, f"{needle!r} is still in the SQLite file"
        assert kept["name"].encode() in data


def test_the_patient_at_this_laptop_cannot_be_deleted(api: TestClient, store: Store) -> None:
    r = api.delete(f"/api/patients/{store.local_patient_id}")
    assert r.status_code == 409 and "cannot be deleted" in r.json()["detail"]
    assert api.get(f"/api/patients/{store.local_patient_id}").status_code == 200


# a fixed unknown id (not uuid4()): test ids must be the same in every pytest-xdist worker
@pytest.mark.parametrize("bad", ["not-a-uuid", "7d3c1f0e-5b9a-4c2d-8e6f-0a1b2c3d4e5f"])
def test_deleting_an_unknown_patient_is_422_or_404(api: TestClient, bad: str) -> None:
    assert api.delete(f"/api/patients/{bad}").status_code == (422 if bad == "not-a-uuid" else 404)
