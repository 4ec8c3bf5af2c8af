"""Every JSON body takes exactly the types it says: a number is a JSON number, a flag a JSON boolean,
text is text, an id a UUID string, a time ISO 8601 text. A malformed client's ``"5"``, ``1`` for true,
``5.0`` for a count or a bare number of seconds for a time is a 422 naming the field and what it must
be, never a value silently converted and stored where the PT reads it as a measurement.

One table over every body model of the app (a test checks it names them all), on a real app and a
real SQLite database: a clinic server (accounts, patients, prescriptions, sessions) and a laptop's
(the live coach's commands, the clinic link's consent). Each case sends a good body with one value of
the wrong type, then the good body, which must not be refused for its input.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from auth_fixtures import PASSWORD, SECRET, login
from fastapi.testclient import TestClient
from pydantic import BaseModel

from romcam.input_checks import CheckedInput
from romcam.server.app import create_app
from romcam.server.settings import Settings
from romcam.store import Store, accounts, service
from romcam.store.seed import seed_demo, synthetic_session

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3, "notes": "slowly"}
NOW = datetime.now(UTC)
SESSION_ID = uuid.UUID("5e55102d-0000-4000-8000-000000000001")  # the stored session a check-in goes to


def _session(pid: uuid.UUID, session_id: uuid.UUID | None = None) -> dict[str, Any]:
    spec = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 110.0}
    return synthetic_session(pid, NOW - timedelta(days=1), [spec], session_id=session_id)


@dataclass
class Server:
    """One app with a logged-in client, the ids the paths need, and a good body per route."""

    client: TestClient
    pid: uuid.UUID
    store: Store
    rx_id: str = ""
    clinician_id: str | None = None  # a clinic's new patient names the clinician they belong to

    def alert_id(self) -> str:
        """An open alert's id: a second patient with eight weeks of sessions and a decline."""
        with self.store.session() as db:
            seed_demo(db, service.create_patient(db, name="Bo"), weeks=4)
        alerts = [a for p in self.client.get("/api/patients").json() for a in
                  self.client.get(f"/api/patients/{p['id']}/alerts").json()]
        assert alerts, "the demo patient has an open alert"
        return alerts[0]["id"]

    def body(self, name: str) -> dict[str, Any]:
        pid = str(self.pid)
        return {
            "user": {"email": "new@clinic.test", "name": "New", "role": "caregiver", "patient_id": pid,
                     "password": PASSWORD},
            "login": {"email": "admin@clinic.test", "password": PASSWORD},
            "password": {"old_password": PASSWORD, "new_password": PASSWORD + " again"},
            "token": {"label": "kitchen laptop"},
            "patient": {"name": "Ada", "notes": "", "clinician_id": self.clinician_id},
            "patient_update": {"name": "Ada B", "notes": "in hospital", "plan_paused": True},
            "prescription": KNEE,
            "session": _session(self.pid),
            "held": {"ids": [str(SESSION_ID), str(uuid.uuid4())]},
            "checkin_upload": {"pain": 2, "tiredness": 3, "cramps": False, "note": "ok",
                               "created_at": (NOW - timedelta(hours=1)).isoformat()},
            "snooze": {"days": 7},
            "auto_start": {"on": True},
            "checkin": {"pain": 2, "tiredness": 3, "cramps": False, "note": "ok"},
            "subject": {"x": 0.5, "y": 0.25},
            "person": {"person": 1},
            "consent": {"consent": True},
        }[name]


@pytest.fixture
def clinic_server(tmp_path: Path) -> Iterator[Server]:
    """A clinic's server with an admin signed in, a patient, a prescription and a stored session."""
    store = Store(f"sqlite:///{tmp_path / 'clinic.db'}")
    with store.session() as db:
        accounts.create_user(db, email="admin@clinic.test", password=PASSWORD, role="admin")
        clinician = accounts.create_user(db, email="pt@clinic.test", password=PASSWORD, role="clinician")
        pid = service.create_patient(db, name="Ada").id
        clinician_id = str(clinician.id)
    admin = login(create_app(Settings(db=store.url, auth="clinic", secret_key=SECRET), store=store),
                  "admin@clinic.test")
    server = Server(admin, pid, store, clinician_id=clinician_id)
    r = admin.post(f"/api/patients/{pid}/prescriptions", json=KNEE)
    assert r.status_code == 201, r.text
    server.rx_id = r.json()["id"]
    r = admin.post("/api/sessions", json=_session(pid, SESSION_ID))
    assert r.status_code == 201, r.text
    yield server
    store.close()


@pytest.fixture
def laptop_server(tmp_path: Path) -> Iterator[Server]:
    """A laptop's server (no sign-in, the local patient), addressed as localhost: no capture runs and
    no clinic is linked, so a good body reaches the route and gets its 503 or 409."""
    store = Store(f"sqlite:///{tmp_path / 'laptop.db'}")
    with TestClient(create_app(Settings(db=store.url), store=store), base_url="http://localhost") as client:
        yield Server(client, store.local_patient_id, store)
    store.close()


NUMBER = "must be a number"
WHOLE = "must be a whole number"
BOOLEAN = "must be true or false"
TEXT = "must be text"
ID = "must be an id as text"
TIME = "must be a date and time as ISO 8601 text"

# (server, method, path, body, field path in the body, wrong value, what the answer says it must be)
CASES = [
    ("clinic", "POST", "/api/users", "user", ("email",), 5, TEXT),
    ("clinic", "POST", "/api/users", "user", ("patient_id",), 5, ID),
    ("clinic", "POST", "/api/auth/login", "login", ("password",), 12345678, TEXT),
    ("clinic", "POST", "/api/auth/password", "password", ("new_password",), 1234567890123, TEXT),
    ("clinic", "POST", "/api/patients/{pid}/tokens", "token", ("label",), 7, TEXT),
    ("clinic", "POST", "/api/patients", "patient", ("name",), 5, TEXT),
    ("clinic", "POST", "/api/patients", "patient", ("clinician_id",), 1, ID),
    ("clinic", "PATCH", "/api/patients/{pid}", "patient_update", ("plan_paused",), "true", BOOLEAN),
    ("clinic", "PATCH", "/api/patients/{pid}", "patient_update", ("plan_paused",), 1, BOOLEAN),
    ("clinic", "PATCH", "/api/patients/{pid}", "patient_update", ("notes",), 0, TEXT),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("target_max",), "120", NUMBER),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("safe_max",), True, NUMBER),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("safe_min",), "80", NUMBER),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("reps",), 10.0, WHOLE),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("reps",), "10", WHOLE),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("hold_s",), "2", NUMBER),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("sessions_per_week",), True, WHOLE),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("max_minutes",), 20.0, WHOLE),
    ("clinic", "POST", "/api/patients/{pid}/prescriptions", "prescription", ("notes",), 5, TEXT),
    ("clinic", "PUT", "/api/prescriptions/{rx}", "prescription", ("target_min",), "90", NUMBER),
    ("clinic", "POST", "/api/sessions", "session", ("id",), 12345, ID),
    ("clinic", "POST", "/api/sessions", "session", ("started_at",), 1_700_000_000, TIME),
    ("clinic", "POST", "/api/sessions", "session", ("ended_at",), "1700000000", TIME),
    ("clinic", "POST", "/api/sessions", "session", ("demo",), "false", BOOLEAN),
    ("clinic", "POST", "/api/sessions", "session", ("demo",), 0, BOOLEAN),
    ("clinic", "POST", "/api/sessions", "session", ("source",), 0, TEXT),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "fps"), "30", NUMBER),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "frames"), 300.0, WHOLE),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "max_angle"), "112.5", NUMBER),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "started_at"), 1_700_000_000.5, TIME),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "prescription_id"), 5, ID),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "reps", 0, "max_angle"), "110", NUMBER),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "reps", 0, "partial"), 0, BOOLEAN),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "samples", 3, "angle"), "12.5", NUMBER),
    ("clinic", "POST", "/api/sessions", "session", ("sets", 0, "samples", 3, "t"), False, NUMBER),
    ("clinic", "POST", "/api/patients/{pid}/sessions/held", "held", ("ids", 1), 7, ID),
    ("clinic", "POST", "/api/patients/{pid}/checkins/held", "held", ("ids", 0), 7.5, ID),
    ("clinic", "PUT", "/api/sessions/{session}/checkins/{new}", "checkin_upload", ("pain",), "2", WHOLE),
    ("clinic", "PUT", "/api/sessions/{session}/checkins/{new}", "checkin_upload", ("tiredness",), 3.0, WHOLE),
    ("clinic", "PUT", "/api/sessions/{session}/checkins/{new}", "checkin_upload", ("cramps",), "no", BOOLEAN),
    ("clinic", "PUT", "/api/sessions/{session}/checkins/{new}", "checkin_upload", ("created_at",), 1_700_000_000,
     TIME),
    ("clinic", "POST", "/api/alerts/{alert}/snooze", "snooze", ("days",), "7", WHOLE),
    ("clinic", "POST", "/api/alerts/{alert}/snooze", "snooze", ("days",), 7.0, WHOLE),
    ("laptop", "POST", "/live/auto_start", "auto_start", ("on",), 1, BOOLEAN),
    ("laptop", "POST", "/live/auto_start", "auto_start", ("on",), "true", BOOLEAN),
    ("laptop", "POST", "/live/checkin", "checkin", ("pain",), "2", WHOLE),
    ("laptop", "POST", "/live/checkin", "checkin", ("cramps",), 1, BOOLEAN),
    ("laptop", "POST", "/live/checkin", "checkin", ("note",), 3, TEXT),
    ("laptop", "POST", "/live/subject", "subject", ("x",), "0.5", NUMBER),
    ("laptop", "POST", "/live/subject", "person", ("person",), 1.0, WHOLE),
    ("laptop", "POST", "/api/link/consent", "consent", ("consent",), 1, BOOLEAN),
    ("laptop", "POST", "/api/link/consent", "consent", ("consent",), "true", BOOLEAN),
    ("laptop", "POST", "/api/link/consent", "consent", ("clinic_url",), 3, TEXT),
]  # fmt: skip


def _with(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    where: Any = out
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return out


@pytest.mark.parametrize("server, method, path, body, field, wrong, must", CASES,
                         ids=[f"{c[1]} {c[2]} {'.'.join(map(str, c[4]))}={c[5]!r}" for c in CASES])
def test_a_value_of_the_wrong_json_type_is_422_naming_the_field(
        request: pytest.FixtureRequest, server: str, method: str, path: str, body: str, field: tuple,
        wrong: Any, must: str) -> None:
    s: Server = request.getfixturevalue(f"{server}_server")
    url = path.format(pid=s.pid, rx=s.rx_id, session=SESSION_ID, new=uuid.uuid4(),
                      alert=s.alert_id() if "{alert}" in path else "")
    good = s.body(body)
    r = s.client.request(method, url, json=_with(good, field, wrong))
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert [d["loc"] for d in problems] == [["body", *field]], r.text
    assert problems[0]["msg"].startswith(must), r.text
    r = s.client.request(method, url, json=good)  # the same body with the right type is taken
    # (on the laptop, no capture runs: the route answers 503 to a body it took)
    assert r.status_code not in (422, 500), r.text


def test_the_table_covers_every_body_model(clinic_server: Server) -> None:
    """A body model added later gets its row here (its name from the app's own OpenAPI schema)."""
    schema = clinic_server.client.get("/openapi.json").json()
    bodies = {(method.upper(), path): op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for path, ops in schema["paths"].items() for method, op in ops.items() if "requestBody" in op}
    covered = {(c[1], c[2].replace("{rx}", "{prescription_id}").replace("{pid}", "{patient_id}")
                .replace("/api/sessions/{session}/checkins/{new}", "/api/sessions/{session_id}/checkins/{checkin_id}")
                .replace("/api/alerts/{alert}", "/api/alerts/{alert_id}")) for c in CASES}
    laptop_only = {("POST", "/live/auto_start"), ("POST", "/live/checkin"), ("POST", "/live/subject"),
                   ("POST", "/api/link/consent")}
    assert set(bodies) - laptop_only <= covered, sorted(set(bodies) - covered)
    assert laptop_only <= covered


def test_what_real_clients_send_is_taken(clinic_server: Server) -> None:
    """A JSON integer where a number is expected (an angle of 110), times with "Z" or an offset, ids in
    capitals: all valid JSON for those fields, as the dashboard, `analyze --save` and the sync client
    send them."""
    api, pid = clinic_server.client, clinic_server.pid
    doc = _session(pid)
    doc["id"] = doc["id"].upper()
    doc["started_at"] = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["ended_at"] = (NOW - timedelta(days=2) + timedelta(minutes=5)).astimezone().isoformat()
    s = doc["sets"][0]
    s["max_angle"], s["reps"][0]["max_angle"] = 112, 112  # whole numbers, as JSON writes 112.0
    s["started_at"] = (NOW - timedelta(days=2) + timedelta(minutes=1)).isoformat()  # within its session
    r0 = s["reps"][0]  # its peak one of its own samples (an upload's rep reaches its peak in them)
    max((x for x in s["samples"] if r0["start"] <= x["t"] <= r0["end"] and x["angle"] is not None),
        key=lambda x: x["angle"])["angle"] = 112
    s["fps"] = 30
    s["samples"][0]["t"] = 0
    r = api.post("/api/sessions", json=doc)
    assert r.status_code == 201, r.text
    stored = api.get(f"/api/sessions/{doc['id'].lower()}").json()
    assert stored["sets"][0]["max_angle"] == 112.0 and stored["sets"][0]["fps"] == 30.0
    r = api.post(f"/api/patients/{pid}/prescriptions", json=KNEE | {"exercise": "elbow_flexion", "hold_s": 0,
                                                                    "target_min": 90.5})
    assert r.status_code == 201, r.text


def test_query_and_path_parameters_are_still_read_from_text(clinic_server: Server) -> None:
    """A URL carries only text: its numbers and ids are parsed as before."""
    api, pid = clinic_server.client, clinic_server.pid
    r = api.get(f"/api/patients/{pid}/sessions?limit=1")
    assert r.status_code == 200 and [s["id"] for s in r.json()] == [str(SESSION_ID)], r.text
    r = api.get(f"/api/patients/{pid}/adherence?days=14")
    assert r.status_code == 200 and len(r.json()["days"]) == 14, r.text
    r = api.get(f"/api/patients/{pid}/sessions?limit=many")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"], r.text


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models an annotation holds (``list[SetDoc]``, ``RepDoc | None``, ...), however deep."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_body_model_and_the_models_inside_it_are_strict() -> None:
    """A model's strictness does not reach the models inside it: each must say so itself (a set or a rep
    of the session document added later too)."""
    models = {m for body in _subclasses(CheckedInput) for m in _models_in(body)}  # the app imports every router
    names = {m.__name__ for m in models}
    assert {"SessionDoc", "SetDoc", "RepDoc", "SampleDoc", "PrescriptionIn", "ConsentIn"} <= names, names
    assert [m.__name__ for m in models if not m.model_config.get("strict")] == []
