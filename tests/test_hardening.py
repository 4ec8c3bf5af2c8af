"""The hardening every response and connection goes through (romcam/server/hardening.py): security
headers, CORS and Origin checks (HTTP and WebSocket), the body cap, generic 500s with the detail in
the log, the picture guard and /healthz — on the app (TestClient) and on a real `romcam serve`."""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.responses import Response
from fastapi.testclient import TestClient
from helpers import free_port, wait_until_up
from sqlalchemy import create_engine
from starlette.websockets import WebSocketDisconnect

from romcam.errors import UsageError
from romcam.server.app import create_app
from romcam.server.hardening import normalize_origin, same_origin
from romcam.server.settings import Settings
from romcam.store.seed import synthetic_session

LOCAL = "http://localhost"  # the Host check of a loopback-bound server accepts it
FOREIGN = "https://evil.example"


def _app(tmp_path: Path, **settings: object) -> FastAPI:
    return create_app(Settings(db=f"sqlite:///{tmp_path / 'romcam.db'}", data=tmp_path, **settings))


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return _app(tmp_path)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def _csp(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def _patient(client: TestClient) -> str:
    r = client.post("/api/patients", json={"name": "Ada"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- headers ------------------------------------------------------------------------------------

PATIENT_PATHS = [  # {pid} is a real patient; every one of these carries patient data (or is a page of it)
    "/", "/coach", "/patients/{pid}", "/patients/{pid}/report", "/api/patients", "/api/patients/{pid}",
    "/api/patients/{pid}/sessions", "/api/patients/{pid}/export.csv", "/api/patients/{pid}/export.fhir.json",
    "/api/patients/{pid}/alerts", "/api/patients/" + str(uuid.UUID(int=7)),  # a 404 is covered too
    "/api/patients/not-a-uuid",  # and a 422
    "/healthz", "/openapi.json",
]


@pytest.mark.parametrize("path", PATIENT_PATHS)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path.format(pid=_patient(client)))
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no other origin
    assert csp["style-src"] == ["'self'"]  # no inline style either
    assert set(csp["img-src"]) == {"'self'", "data:", "blob:"}
    assert csp["connect-src"] == ["'self'"]  # the same-origin WebSocket included
    assert (csp["frame-ancestors"], csp["base-uri"], csp["form-action"], csp["object-src"]) == \
        (["'none'"], ["'none'"], ["'self'"], ["'none'"])
    assert r.headers.get_list("content-security-policy") == [r.headers["content-security-policy"]]  # one policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"  # patient data stays out of every cache
    assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS


def test_static_files_may_be_cached_but_keep_nosniff(client: TestClient) -> None:
    r = client.get("/static/dashboard/common.js")
    assert r.status_code == 200 and r.headers.get("cache-control") != "no-store"
    assert r.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in r.headers


def test_api_docs_allow_exactly_their_own_inline_script(client: TestClient) -> None:
    r = client.get("/docs")
    csp = _csp(r.headers["content-security-policy"])
    hashes = [s for s in csp["script-src"] if s.startswith("'sha256-")]
    assert r.status_code == 200 and len(hashes) == r.text.count("<script>") >= 1
    assert "'unsafe-inline'" not in csp["script-src"] and csp["frame-ancestors"] == ["'none'"]


def test_hsts_only_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://localhost") as c:
        assert c.get("/api/patients").headers["strict-transport-security"] == "max-age=31536000"
        assert c.get("/static/dashboard/common.js").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(app, base_url=LOCAL) as c:
        assert "strict-transport-security" not in c.get("/api/patients").headers


@pytest.mark.parametrize("client_ip, hsts", [
    ("10.1.2.3", True),  # the configured proxy says the client came over HTTPS
    ("192.0.2.50", False),  # anyone else saying so is not believed
])  # fmt: skip
def test_hsts_behind_a_trusted_proxy(tmp_path: Path, client_ip: str, hsts: bool) -> None:
    app = _app(tmp_path, host="0.0.0.0", trusted_proxies="10.0.0.0/8, 172.16.0.1")
    with TestClient(app, base_url="http://clinic.example", client=(client_ip, 4000)) as c:
        r = c.get("/api/patients", headers={"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.7"})
    assert r.status_code == 200 and ("strict-transport-security" in r.headers) is hsts


# --- origins ------------------------------------------------------------------------------------

@pytest.mark.parametrize("origin, host, same", [
    ("http://localhost:8000", "localhost:8000", True),
    ("http://localhost:8001", "localhost:8000", False),  # another port is another site
    ("http://127.0.0.1:8000", "localhost:8000", False),
    ("https://clinic.example", "clinic.example", True),  # a proxy passing $host (no port): default ports
    ("http://clinic.example", "clinic.example", True),
    ("https://clinic.example:8443", "clinic.example", False),
    ("https://clinic.example:8443", "clinic.example:8443", True),
    ("https://CLINIC.example", "clinic.EXAMPLE", True),
    ("http://[::1]:8000", "[::1]:8000", True),
    ("https://clinic.example.evil.example", "clinic.example", False),
    ("null", "localhost:8000", False),  # sandboxed frames, file:// pages
    ("file://", "localhost:8000", False),
    ("https://user@clinic.example", "clinic.example", False),
])  # fmt: skip
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, {"type": "http", "headers": [(b"host", host.encode())]}) is same


def test_origins_are_normalized() -> None:
    assert normalize_origin("HTTPS://Portal.Example.org:443/") == "https://portal.example.org"
    assert normalize_origin("http://portal.example.org:8080") == "http://portal.example.org:8080"
    assert normalize_origin("https://portal.example.org/path") is None
    assert normalize_origin("*") is None


def _patient_count(c: TestClient) -> int:
    return len(c.get("/api/patients").json())


def test_cors_is_closed_by_default(client: TestClient) -> None:
    pre = client.options("/api/patients", headers={"origin": FOREIGN, "access-control-request-method": "POST",
                                                   "access-control-request-headers": "content-type"})
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    read = client.get("/api/patients", headers={"origin": FOREIGN})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers  # the browser hides it
    before = _patient_count(client)
    for method, path, body in (("post", "/api/patients", {"name": "x"}), ("post", "/live/stop", None),
                               ("patch", "/api/patients/" + _patient(client), {"notes": "x"}),
                               ("delete", "/api/patients/" + str(uuid.UUID(int=1)), None)):
        r = client.request(method.upper(), path, json=body, headers={"origin": FOREIGN})
        assert r.status_code == 403, (method, path)  # a cross-site write is refused before it runs
    assert _patient_count(client) == before + 1  # only our own _patient() was created
    assert client.post("/api/patients", json={"name": "y"}, headers={"origin": "null"}).status_code == 403
    assert client.post("/api/patients", json={"name": "y"}, headers={"origin": LOCAL}).status_code == 201
    assert client.post("/api/patients", json={"name": "z"}).status_code == 201  # no Origin: not a browser


def test_cors_allow_list(tmp_path: Path) -> None:
    portal = "https://portal.example.org"
    app = _app(tmp_path, cors_origins=f"{portal}, https://other.example.org:8443")
    with TestClient(app, base_url=LOCAL) as c:
        pre = c.options("/api/patients", headers={"origin": portal, "access-control-request-method": "POST",
                                                  "access-control-request-headers": "content-type, authorization"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == portal
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert pre.headers["access-control-allow-headers"] == "content-type, authorization"
        r = c.post("/api/patients", json={"name": "x"}, headers={"origin": portal})
        assert r.status_code == 201 and r.headers["access-control-allow-origin"] == portal
        assert "Origin" in r.headers["vary"]
        assert c.get("/api/patients", headers={"origin": portal}).headers["access-control-allow-origin"] == portal
        assert c.post("/api/patients", json={"name": "x"}, headers={"origin": FOREIGN}).status_code == 403
        assert c.options("/api/patients", headers={"origin": "https://portal.example.org:444",
                                                   "access-control-request-method": "GET"}).status_code == 403


def test_a_malformed_allow_list_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"ROMCAM_CORS_ORIGINS: '\*' is not an origin; write scheme://host"):
        _app(tmp_path, cors_origins="*")


def _ws_app(tmp_path: Path, **settings: object) -> FastAPI:
    """The app with one more WebSocket route, added here: the Origin check needs no router's help."""
    app = _app(tmp_path, **settings)

    @app.websocket("/test/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())
        await ws.close()

    return app


@pytest.mark.parametrize("path", ["/live/ws", "/test/echo"])
@pytest.mark.parametrize("origin, opens", [
    (None, True),  # a non-browser client (no Origin): browsers always send one on a WebSocket
    (LOCAL, True),  # this server's own page
    ("http://localhost:3000", False),  # another site on this machine
    (FOREIGN, False),
    ("null", False),
    ("https://portal.example.org", True),  # listed in ROMCAM_CORS_ORIGINS (but see below)
])  # fmt: skip
def test_websocket_origin(tmp_path: Path, path: str, origin: str | None, opens: bool) -> None:
    if path == "/live/ws" and origin == "https://portal.example.org":
        opens = False  # the live coach's own check is stricter: only this server's pages follow the live coach
    app = _ws_app(tmp_path, cors_origins="https://portal.example.org")
    headers = {"host": "localhost"} | ({"origin": origin} if origin else {})  # the test client says testserver
    with TestClient(app, base_url=LOCAL) as c:
        if opens:
            with c.websocket_connect(path, headers=headers) as ws:
                if path == "/test/echo":
                    ws.send_text("hi")
                    assert ws.receive_text() == "hi"
                else:
                    assert ws.receive_json()["state"] == "off"
        else:
            with pytest.raises(WebSocketDisconnect) as refused, c.websocket_connect(path, headers=headers):
                pass
            assert refused.value.code == 1008


# --- body cap -----------------------------------------------------------------------------------

def test_a_20_minute_session_at_30_fps_fits_the_default_cap_twice(client: TestClient) -> None:
    """The largest legitimate body: a 20-minute session at 30 fps, with every sample field the
    analyze document carries. It is accepted, and the default cap leaves at least twice its size."""
    pid = _patient(client)
    doc = synthetic_session(uuid.UUID(pid), datetime.now(UTC), [
        {"exercise": "knee_flexion", "side": "right", "mode": "active", "posture": "seated", "peak": 110,
         "reps": 400, "rep_s": 3.0, "fps": 30.0}])
    assert len(doc["sets"][0]["samples"]) >= 20 * 60 * 30
    compact = json.dumps(doc).encode()
    pretty = json.dumps(doc, indent=2).encode()
    cap = Settings().max_body_bytes
    assert len(pretty) * 2 <= cap, f"a 20-minute session is {len(pretty) / 1e6:.1f} MB pretty-printed"
    r = client.post("/api/sessions", content=pretty, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text[:300]
    assert len(compact) < len(pretty)


def test_over_the_cap_is_413_with_or_without_content_length(tmp_path: Path) -> None:
    app = _app(tmp_path, max_body_bytes=64 * 1024)
    chunks_read = []

    def chunks() -> Iterator[bytes]:
        for i in range(64):  # 64 × 4 KiB = 256 KiB, no Content-Length (chunked)
            chunks_read.append(i)
            yield b"[" + b" " * 4094 + b"]" if i == 0 else b" " * 4096

    with TestClient(app, base_url=LOCAL) as c:
        r = c.post("/api/sessions", content=b"x" * (64 * 1024 + 1), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "ROMCAM_MAX_BODY_BYTES" in r.json()["detail"]
        r = c.post("/api/sessions", content=chunks(), headers={"content-type": "application/json"})
        assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.headers["x-content-type-options"] == "nosniff"  # a refusal is a response like any other
        ok = c.post("/api/patients", json={"name": "fits"})
        assert ok.status_code == 201


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real `romcam serve --no-live` (uvicorn) with a 64 KiB body cap; yields (port, log)."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {"HOME": str(tmp_path), "ROMCAM_DATA": str(tmp_path / "data"), "ROMCAM_MAX_BODY_BYTES": "65536",
           "PATH": "/usr/bin:/bin"}
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--no-live", "--port", str(port),
                                 "--db", f"sqlite:///{tmp_path / 'romcam.db'}"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, log_path)
            yield port, log_path
        finally:
            proc.terminate()
            proc.wait(15)


def _raw(port: int, head: bytes, body_parts: list[bytes]) -> tuple[bytes, float]:
    """Send ``head`` and ``body_parts`` on a socket, then read the answer WITHOUT sending the rest of
    the body; returns the answer and the seconds it took after the last part."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        for part in body_parts:
            s.sendall(part)
        t0 = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - t0


def test_a_real_server_refuses_big_bodies_without_reading_them(served: tuple[int, Path]) -> None:
    port, _ = served
    # announces 10 GB, sends nothing: refused at once from the header
    head = (f"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 ** 3}\r\n\r\n").encode()
    answer, took = _raw(port, head, [])
    assert answer.startswith(b"HTTP/1.1 413") and took < 5, answer[:200]
    # chunked: 80 KiB sent of an endless body, never the final chunk; refused once past 64 KiB
    head = (f"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n%s\r\n" % (8192, b" " * 8192)
    answer, took = _raw(port, head, [chunk] * 10)
    assert answer.startswith(b"HTTP/1.1 413") and took < 5, answer[:200]
    assert b"connection: close" in answer.lower()
    # under the cap is fine
    body = json.dumps({"name": "small"}).encode()
    head = (f"POST /api/patients HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    answer, _ = _raw(port, head, [body])
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]


# --- 500s ---------------------------------------------------------------------------------------

def test_a_500_is_generic_and_the_log_keeps_the_detail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = _app(tmp_path)

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret detail: /srv/romcam/patients.db row 42")

    with TestClient(app, base_url=LOCAL) as c, caplog.at_level(logging.ERROR, logger="romcam.server"):
        r = c.get("/api/boom")
    assert r.status_code == 500
    body = r.json()
    assert set(body) == {"detail", "error_id"} and body["detail"] == "internal error"
    assert re.fullmatch(r"[0-9a-f]{32}", body["error_id"])
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.headers["cache-control"] == "no-store" and "content-security-policy" in r.headers
    [record] = [rec for rec in caplog.records if body["error_id"] in rec.getMessage()]
    assert record.exc_info is not None and "secret detail" in str(record.exc_info[1])


def test_a_real_server_logs_the_traceback_under_the_error_id(served: tuple[int, Path], tmp_path: Path) -> None:
    port, log_path = served
    with sqlite3.connect(tmp_path / "romcam.db") as db:  # break the database under the running server
        db.execute("DROP TABLE alerts")
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/patients", timeout=30)
    assert failed.value.code == 500
    body = failed.value.read().decode()
    answer = json.loads(body)
    assert answer["detail"] == "internal error" and "alerts" not in body
    deadline = time.monotonic() + 10
    while answer["error_id"] not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = log_path.read_text()
    assert answer["error_id"] in log
    after = log[log.index(answer["error_id"]):]
    assert "Traceback (most recent call last)" in after and "no such table: alerts" in after


# --- pictures and health ------------------------------------------------------------------------

@pytest.mark.parametrize("client_ip, headers, allowed", [
    ("127.0.0.1", {}, True),
    ("::1", {}, True),
    ("192.0.2.7", {}, False),  # another machine
    ("127.0.0.1", {"x-forwarded-for": "198.51.100.7"}, False),  # relayed by a proxy on this machine
    ("127.0.0.1", {"forwarded": "for=198.51.100.7"}, False),
    ("127.0.0.1", {"via": "1.1 nginx"}, False),
])  # fmt: skip
def test_pictures_go_only_to_this_machine(tmp_path: Path, client_ip: str, headers: dict, allowed: bool) -> None:
    app = _app(tmp_path)

    @app.get("/test/picture.jpg")
    def picture() -> Response:  # any route: the guard looks at what is sent, not at the path
        return Response(b"\xff\xd8\xff\xe0 a frame", media_type="image/jpeg")

    with TestClient(app, base_url=LOCAL, client=(client_ip, 5000)) as c:
        r = c.get("/test/picture.jpg", headers=headers)
        assert (r.status_code == 200) is allowed
        assert (b"\xff\xd8\xff" in r.content) is allowed
        video = c.get("/live/video.mjpg", headers=headers)  # no capture runs here: never a picture, and
        assert video.status_code == 503 if allowed else video.status_code in (403, 503)  # (test_no_frames)
        if client_ip == "192.0.2.7":
            assert video.status_code == 403
        assert c.get("/static/dashboard/favicon.svg", headers=headers).status_code == 200


def test_healthz(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, base_url=LOCAL) as c:
        r = c.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}
        store = app.state.store
        healthy = store.engine
        store.engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
        try:
            r = c.get("/healthz")
        finally:
            store.engine.dispose()
            store.engine = healthy
        assert r.status_code == 503 and r.json() == {"status": "unavailable", "database": "unreachable"}
        assert "nobody" not in r.text
