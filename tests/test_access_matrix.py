"""The access matrix of a clinic server: every role x every route of the app (API, pages, exports,
the WebSocket) x the role's own patient and another clinician's, with the exact status expected.

The routes are enumerated FROM ``app.routes``: a route that is not in ROUTES below fails the test,
and so does an entry in ROUTES the app no longer has. Each route names its access kind; KINDS
spells out, per kind, the status for every role and target. Own/other: ``own`` is the patient of
clinician A, for whom the patient and caregiver accounts and the device tokens act; ``other`` is
clinician B's patient. "Not yours" answers 404, exactly like a patient that does not exist.

Full matrix on SQLite; a smoke of it (one route of each kind) on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth_fixtures import PASSWORD, Clinic, login, make_clinic
from db_fixtures import *  # noqa: F403 (store, db_url, postgres_server)
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from romcam.store import Store, accounts, service
from romcam.store.models import Alert
from romcam.store.seed import synthetic_session

ROLES = ("anonymous", "admin", "clinician", "patient", "caregiver", "device", "revoked")
TARGETS = ("own", "other")


def _row(anonymous: int, admin: int, clinician: int, patient: int, caregiver: int, device: int,
         revoked: int) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, admin, clinician, patient, caregiver, device, revoked), strict=True))


def _same(row: dict[str, int]) -> dict[str, dict[str, int]]:
    return {"own": row, "other": row}


# per access kind: target -> role -> status; S = the route's success status
S = 0
KINDS: dict[str, dict[str, dict[str, int]]] = {
    #                              anon admin clin  pat  care  dev  revoked
    "public":            _same(_row(S,   S,    S,    S,   S,    S,   S)),
    "any_principal":     _same(_row(401, S,    S,    S,   S,    S,   401)),
    "human_page":        _same(_row(303, S,    S,    S,   S,    403, 401)),
    "admin_page":        _same(_row(303, S,    403,  403, 403,  403, 401)),
    "admin":             _same(_row(401, S,    403,  403, 403,  403, 401)),
    "device_only":       _same(_row(401, 403,  403,  403, 403,  S,   401)),
    "list_patients":     _same(_row(401, S,    S,    S,   S,    403, 401)),
    "create_patient":    _same(_row(401, S,    S,    403, 403,  403, 401)),
    "logout":            _same(_row(401, S,    S,    S,   S,    S,   401)),
    "password":          _same(_row(401, S,    S,    S,   S,    403, 401)),
    "live":              _same(_row(401, 404,  404,  404, 404,  404, 401)),  # a laptop's own patient: nobody's here
    "read": {"own":      _row(401, S,    S,    S,   S,    403, 401),
             "other":    _row(401, S,    404,  404, 404,  404, 401)},
    "read_page": {"own": _row(303, S,    S,    S,   S,    403, 401),
                  "other": _row(303, S,  404,  404, 404,  404, 401)},
    "plan": {"own":      _row(401, S,    S,    S,   S,    S,   401),
             "other":    _row(401, S,    404,  404, 404,  404, 401)},
    "ingest": {"own":    _row(401, S,    S,    S,   S,    S,   401),
               "other":  _row(401, S,    404,  404, 404,  404, 401)},
    "staff": {"own":     _row(401, S,    S,    403, 403,  403, 401),
              "other":   _row(401, S,    404,  404, 404,  404, 401)},
}  # fmt: skip

KNEE = {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "target_min": 90,
        "target_max": 120, "safe_max": 135, "reps": 10, "hold_s": 2, "sessions_per_week": 3}


@dataclass
class Ctx:
    """Objects of both targets, and factories for the routes that consume what they touch."""

    clinic: Clinic
    objects: dict[str, dict[str, uuid.UUID]]
    role: str = ""  # the role of the call being built

    def patient(self, target: str) -> uuid.UUID:
        return self.clinic.own if target == "own" else self.clinic.other

    def plan_cleared(self, target: str, keep: uuid.UUID | None = None) -> None:
        """End the target's active prescriptions but ``keep``: a new one of KNEE (or an edit to it) is then
        no duplicate of one a call before made (the store refuses those, 409)."""
        with self.clinic.store.session() as db:
            patient = service.get_patient(db, self.patient(target))
            for rx, _ in service.active_prescriptions(db, patient):
                if rx.id != keep:
                    service.deactivate_prescription(db, rx)

    def fresh_prescription(self, target: str) -> uuid.UUID:
        self.plan_cleared(target)
        with self.clinic.store.session() as db:
            return service.create_prescription(db, service.get_patient(db, self.patient(target)), dict(KNEE)).id

    def fresh_token(self, target: str) -> uuid.UUID:
        with self.clinic.store.session() as db:
            row, _ = accounts.create_device_token(db, service.get_patient(db, self.patient(target)),
                                                  now=self.clinic.clock())
            return row.id

    def fresh_alert(self, target: str) -> uuid.UUID:
        """An open alert (made just before the call: reading a patient re-computes and resolves alerts)."""
        with self.clinic.store.session() as db:
            alert = Alert(patient_id=self.patient(target), kind="decline", exercise="knee_flexion", side="right",
                          mode="active", posture="seated", message="range fell")
            db.add(alert)
            db.commit()
            return alert.id

    def fresh_user(self) -> uuid.UUID:
        with self.clinic.store.session() as db:
            return accounts.create_user(db, email=f"{uuid.uuid4().hex}@clinic.test", password=PASSWORD,
                                        role="clinician").id

    def session_doc(self, target: str) -> dict:
        return synthetic_session(self.patient(target), datetime(2026, 11, 20, 10, tzinfo=UTC),
                                 [{"exercise": "knee_flexion", "side": "right", "mode": "active",
                                   "posture": "seated", "peak": 100.0}])


def _objects(store: Store, clinic: Clinic) -> dict[str, dict[str, uuid.UUID]]:
    out: dict[str, dict[str, uuid.UUID]] = {}
    for target, pid in (("own", clinic.own), ("other", clinic.other)):
        with store.session() as db:
            patient = service.get_patient(db, pid)
            rx = service.create_prescription(db, patient, dict(KNEE))
            doc = synthetic_session(pid, datetime.now(UTC) - timedelta(days=1),
                                    [{"exercise": "knee_flexion", "side": "right", "mode": "active",
                                      "posture": "seated", "peak": 100.0}])
            session_id, _ = service.ingest_session(db, doc)
            out[target] = {"patient_id": pid, "prescription_id": rx.id, "session_id": session_id}
    return out


Request = Callable[[Ctx, str], tuple[str, dict[str, Any]]]


def _p(template: str, **kw: Any) -> Request:
    """A request on ``template`` with the target's ids filled in."""

    def build(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
        return template.format(**ctx.objects[target]), dict(kw)

    return build


def _fresh(template: str, key: str, make: str, **kw: Any) -> Request:
    """A request on a new object of the target (the route consumes it: delete, revoke)."""

    def build(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
        obj = ctx.fresh_user() if make == "user" else getattr(ctx, f"fresh_{make}")(target)
        return template.format(**{key: obj}), dict(kw)

    return build


def _new_prescription(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    """KNEE for the target, whose earlier KNEE prescriptions are ended first (else a duplicate: 409)."""
    ctx.plan_cleared(target)
    return f"/api/patients/{ctx.objects[target]['patient_id']}/prescriptions", {"json": KNEE}


def _edit_prescription(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    """An edit of the target's prescription to KNEE, the others it has ended first (else a duplicate: 409)."""
    rx_id = ctx.objects[target]["prescription_id"]
    ctx.plan_cleared(target, keep=rx_id)
    return f"/api/prescriptions/{rx_id}", {"json": KNEE}


def _ingest(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    return "/api/sessions", {"json": ctx.session_doc(target)}


def _checkin(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    """A new check-in id each call (the same id again would answer 200: stored already)."""
    path = f"/api/sessions/{ctx.objects[target]['session_id']}/checkins/{uuid.uuid4()}"
    return path, {"json": {"pain": 2, "tiredness": 3, "cramps": False, "created_at": "2026-11-20T11:00:00Z"}}


def _delete_patient(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    """Those who may delete (admin, the owning clinician) delete a new patient of the target's clinician,
    not the shared one; everyone else tries the target itself."""
    pid = ctx.patient(target)
    if ctx.role in ("admin", "clinician"):
        with ctx.clinic.store.session() as db:
            owner = service.get_patient(db, pid).clinician_id
            pid = service.create_patient(db, name="To delete", clinician_id=owner).id
    return f"/api/patients/{pid}", {}


def _new_patient(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    """An admin names the clinician the new patient belongs to (the target's; without one: 422,
    test_admin_assign); anyone else sends the name alone."""
    body: dict[str, Any] = {"name": "New"}
    if ctx.role == "admin":
        body["clinician_id"] = str(ctx.clinic.users["clinician" if target == "own" else "clinician_b"])
    return "/api/patients", {"json": body}


def _new_user(ctx: Ctx, target: str) -> tuple[str, dict[str, Any]]:
    return "/api/users", {"json": {"email": f"{uuid.uuid4().hex}@clinic.test", "role": "clinician",
                                   "password": PASSWORD}}


WRONG_OLD = {"old_password": "not my password", "new_password": "a brand new passphrase"}

# (method, path template) -> (access kind, success status, request)
ROUTES: dict[tuple[str, str], tuple[str, int, Request]] = {
    ("GET", "/openapi.json"): ("public", 200, _p("/openapi.json")),
    ("GET", "/docs"): ("public", 200, _p("/docs")),
    ("GET", "/docs/oauth2-redirect"): ("public", 200, _p("/docs/oauth2-redirect")),
    ("GET", "/redoc"): ("public", 200, _p("/redoc")),
    ("GET", "/login"): ("public", 200, _p("/login")),
    ("POST", "/api/auth/login"): ("public", 200, _p("/api/auth/login", json={"email": "clinician@clinic.test",
                                                                              "password": PASSWORD})),
    ("POST", "/api/auth/logout"): ("logout", 204, _p("/api/auth/logout")),
    ("GET", "/api/auth/me"): ("any_principal", 200, _p("/api/auth/me")),
    ("POST", "/api/auth/password"): ("password", 422, _p("/api/auth/password", json=WRONG_OLD)),
    ("GET", "/api/users"): ("admin", 200, _p("/api/users")),
    ("POST", "/api/users"): ("admin", 201, _new_user),
    ("DELETE", "/api/users/{user_id}"): ("admin", 200, _fresh("/api/users/{user_id}", "user_id", "user")),
    ("POST", "/api/users/{user_id}/activate"): ("admin", 200, _fresh("/api/users/{user_id}/activate", "user_id",
                                                                      "user")),
    ("GET", "/api/patients/{patient_id}/tokens"): ("staff", 200, _p("/api/patients/{patient_id}/tokens")),
    ("POST", "/api/patients/{patient_id}/tokens"): ("staff", 201, _p("/api/patients/{patient_id}/tokens",
                                                                     json={"label": "x"})),
    ("DELETE", "/api/tokens/{token_id}"): ("staff", 200, _fresh("/api/tokens/{token_id}", "token_id", "token")),
    ("GET", "/api/patients/{patient_id}/audit"): ("staff", 200, _p("/api/patients/{patient_id}/audit")),
    ("GET", "/api/device"): ("device_only", 200, _p("/api/device")),
    ("GET", "/api/exercises"): ("any_principal", 200, _p("/api/exercises")),
    ("GET", "/api/patients"): ("list_patients", 200, _p("/api/patients")),
    ("POST", "/api/patients"): ("create_patient", 201, _new_patient),
    ("GET", "/api/patients/{patient_id}"): ("read", 200, _p("/api/patients/{patient_id}")),
    ("DELETE", "/api/patients/{patient_id}"): ("staff", 204, _delete_patient),
    ("GET", "/healthz"): ("public", 200, _p("/healthz")),
    ("PATCH", "/api/patients/{patient_id}"): ("staff", 200, _p("/api/patients/{patient_id}", json={"notes": "n"})),
    ("GET", "/api/patients/{patient_id}/prescriptions"): ("plan", 200, _p("/api/patients/{patient_id}/prescriptions")),
    ("POST", "/api/patients/{patient_id}/prescriptions"): ("staff", 201, _new_prescription),
    ("PUT", "/api/prescriptions/{prescription_id}"): ("staff", 200, _edit_prescription),
    ("GET", "/api/prescriptions/{prescription_id}/versions"): ("read", 200, _p(
        "/api/prescriptions/{prescription_id}/versions")),
    ("DELETE", "/api/prescriptions/{prescription_id}"): ("staff", 204, _fresh(
        "/api/prescriptions/{prescription_id}", "prescription_id", "prescription")),
    ("POST", "/api/sessions"): ("ingest", 201, _ingest),
    ("PUT", "/api/sessions/{session_id}/checkins/{checkin_id}"): ("ingest", 201, _checkin),
    ("POST", "/api/patients/{patient_id}/sessions/held"): ("ingest", 200, _p(
        "/api/patients/{patient_id}/sessions/held", json={"ids": [str(uuid.uuid4())]})),
    ("POST", "/api/patients/{patient_id}/checkins/held"): ("ingest", 200, _p(
        "/api/patients/{patient_id}/checkins/held", json={"ids": [str(uuid.uuid4())]})),
    ("GET", "/api/patients/{patient_id}/sessions"): ("read", 200, _p("/api/patients/{patient_id}/sessions")),
    ("GET", "/api/sessions/{session_id}"): ("read", 200, _p("/api/sessions/{session_id}")),
    ("GET", "/api/patients/{patient_id}/trends"): ("read", 200, _p("/api/patients/{patient_id}/trends",
                                                                   params={"exercise": "knee_flexion",
                                                                           "side": "right"})),
    ("GET", "/api/patients/{patient_id}/adherence"): ("read", 200, _p("/api/patients/{patient_id}/adherence")),
    ("GET", "/api/patients/{patient_id}/alerts"): ("read", 200, _p("/api/patients/{patient_id}/alerts")),
    ("POST", "/api/alerts/{alert_id}/snooze"): ("staff", 200, _fresh("/api/alerts/{alert_id}/snooze", "alert_id",
                                                                      "alert", json={"days": 3})),
    ("GET", "/api/patients/{patient_id}/export.csv"): ("read", 200, _p("/api/patients/{patient_id}/export.csv")),
    ("GET", "/api/patients/{patient_id}/export.fhir.json"): ("read", 200, _p(
        "/api/patients/{patient_id}/export.fhir.json")),
    ("WS", "/live/ws"): ("live", 0, _p("/live/ws")),
    ("GET", "/live/video.mjpg"): ("live", 200, _p("/live/video.mjpg")),
    ("GET", "/live/status"): ("live", 200, _p("/live/status")),
    ("GET", "/live/plan"): ("live", 200, _p("/live/plan")),
    ("GET", "/live/setup"): ("live", 200, _p("/live/setup")),
    **{("POST", f"/live/{c}"): ("live", 200, _p(f"/live/{c}")) for c in ("start", "pause", "resume", "stop", "next",
                                                                         "rest")},
    ("POST", "/live/checkin"): ("live", 201, _p("/live/checkin", json={"pain": 1, "tiredness": 2, "cramps": False})),
    ("POST", "/live/subject"): ("live", 200, _p("/live/subject", json={"x": 0.5, "y": 0.5})),
    ("POST", "/live/auto_start"): ("live", 200, _p("/live/auto_start", json={"on": True})),
    ("GET", "/api/link/status"): ("live", 200, _p("/api/link/status")),
    ("POST", "/api/link/consent"): ("live", 200, _p("/api/link/consent", json={"consent": True})),
    ("DELETE", "/api/link/consent"): ("live", 200, _p("/api/link/consent")),
    ("GET", "/"): ("human_page", 200, _p("/")),
    ("GET", "/accounts"): ("admin_page", 200, _p("/accounts")),
    ("GET", "/coach"): ("human_page", 200, _p("/coach")),
    ("GET", "/patients/{patient_id}"): ("read_page", 200, _p("/patients/{patient_id}")),
    ("GET", "/patients/{patient_id}/report"): ("read_page", 200, _p("/patients/{patient_id}/report")),
    ("GET", "/sessions/{session_id}"): ("read_page", 200, _p("/sessions/{session_id}")),
}  # fmt: skip

# one route of each kind, for the PostgreSQL smoke
SMOKE = {kind: key for key, (kind, _, _) in reversed(ROUTES.items())}


def app_routes(routes: list) -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
    """(method, path) of every route of the app, through included routers; static files excluded."""
    for r in routes:
        if hasattr(r, "original_router"):
            yield from app_routes(r.original_router.routes)
        elif type(r).__name__ == "Mount":
            assert r.path == "/static", f"an unexpected mount {r.path}: add it to the matrix"
        elif type(r).__name__.endswith("WebSocketRoute"):
            yield "WS", r.path
        else:
            for method in sorted(set(r.methods) - {"HEAD"}):
                yield method, r.path


def expected(kind: str, success: int, role: str, target: str) -> int:
    status = KINDS[kind][target][role]
    return success if status == S else status


def _client(clinic: Clinic, role: str, fresh: bool) -> TestClient:
    """A throwaway copy of the role's client (headers and cookies), so that what a route sets (the
    login's cookie) stays out of the next call; logout gets a session of its own to end."""
    if fresh and role not in ("anonymous", "device", "revoked"):
        return login(clinic.app, f"{role}@clinic.test")
    base = clinic.client(role)
    return TestClient(clinic.app, base_url=str(base.base_url), headers=dict(base.headers), cookies=base.cookies)


def call(ctx: Ctx, key: tuple[str, str], role: str, target: str) -> int:
    """The status the route answers ``role`` on ``target``; for the WebSocket, 101 if it opens, else
    its close code."""
    kind, success, build = ROUTES[key]
    method, _ = key
    ctx.role = role
    path, kwargs = build(ctx, target)
    client = _client(ctx.clinic, role, fresh=kind == "logout")
    if method == "WS":
        try:
            with client.websocket_connect(path, headers={"origin": "https://localhost"}) as ws:
                ws.receive_json()
                return 101
        except WebSocketDisconnect as closed:
            return closed.code
    if key == ("GET", "/live/video.mjpg"):  # a stream: read the status only
        with client.stream("GET", path) as r:
            return r.status_code
    return client.request(method, path, follow_redirects=False, **kwargs).status_code


@pytest.fixture
def ctx(store: Store, db_url: str) -> Ctx:
    clinic = make_clinic(store, db_url)
    return Ctx(clinic, _objects(store, clinic))


def test_every_app_route_is_in_the_matrix(ctx: Ctx) -> None:
    found = set(app_routes(ctx.clinic.app.routes))
    assert found - ROUTES.keys() == set(), "routes missing from the access matrix"
    assert ROUTES.keys() - found == set(), "matrix entries for routes the app does not have"


def _run(ctx: Ctx, keys: list[tuple[str, str]], role: str) -> list[str]:
    wrong = []
    for key in keys:
        kind, success, _ = ROUTES[key]
        for target in TARGETS:
            want = 1008 if key[0] == "WS" else expected(kind, success, role, target)
            got = call(ctx, key, role, target)
            if got != want:
                wrong.append(f"{role:9} {target:5} {key[0]:6} {key[1]}: expected {want}, got {got}")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(ctx: Ctx, db_url: str, role: str) -> None:
    full = db_url.startswith("sqlite")
    keys = list(ROUTES) if full else list(SMOKE.values())
    wrong = _run(ctx, keys, role)
    assert wrong == [], "\n" + "\n".join(wrong)


def test_not_yours_answers_exactly_like_does_not_exist(ctx: Ctx) -> None:
    """Clinician A on clinician B's objects and on ids that exist nowhere: the same status and body."""
    client = ctx.clinic.client("clinician")
    missing = {k: uuid.uuid4() for k in ("patient_id", "prescription_id", "session_id", "alert_id", "token_id",
                                         "checkin_id")}
    checked = 0
    for (method, template), (_, _, build) in ROUTES.items():
        if "{" not in template or method == "WS" or template.startswith("/api/users"):
            continue
        path, kwargs = build(ctx, "other")
        theirs = client.request(method, path, follow_redirects=False, **kwargs)
        nowhere = client.request(method, template.format(**missing), follow_redirects=False, **kwargs)
        assert (theirs.status_code, theirs.content) == (nowhere.status_code, nowhere.content) == (
            404, nowhere.content), (method, template)
        checked += 1
    assert checked >= 20
