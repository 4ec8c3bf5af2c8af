"""What every response and connection goes through, whatever the route (issue 7's hardening).

``harden(app, settings)`` adds, outermost first:

- ``ProxyHeadersMiddleware`` (uvicorn's) for the proxies named in ``ROMCAM_TRUSTED_PROXIES``:
  their ``X-Forwarded-Proto``/``-For`` set the scheme and the client (uvicorn itself already
  believes a proxy on 127.0.0.1);
- ``SecurityHeadersMiddleware``: the Content-Security-Policy (no inline script or style),
  nosniff, no referrer, no framing, ``Cache-Control: no-store`` on everything but ``/static/``,
  HSTS when the request came over HTTPS;
- ``ErrorIdMiddleware``: an unhandled error answers a generic 500 ``{"detail": "internal error",
  "error_id": ...}`` while the log keeps the traceback under the same id;
- ``OriginMiddleware``: CORS closed unless ``ROMCAM_CORS_ORIGINS`` lists the origin; a foreign
  ``Origin`` may neither preflight, nor write (POST/PUT/PATCH/DELETE), nor open a WebSocket;
- ``FrameGuardMiddleware``: a response carrying pictures (``image/jpeg``, ``image/png``, ``video/*``,
  ``multipart/x-mixed-replace``: the MJPEG preview) outside ``/static/`` goes only to a loopback
  client that no proxy relayed; anyone else gets 403 instead (video never leaves the machine);
- ``BodyLimitMiddleware``: request bodies over ``ROMCAM_MAX_BODY_BYTES`` answer 413, from the
  ``Content-Length`` before reading anything, or as soon as a chunked body passes the cap;
- ``GET /healthz``: no auth, no patient data; 200 when the database answers, else 503.

All pure ASGI, so they cover every route, page, export and WebSocket without touching the routers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import UsageError
from .hostcheck import is_loopback
from .settings import Settings

log = logging.getLogger("romcam.server")

# The app's one policy: nothing inline, nothing from elsewhere. 'self' covers the same-origin
# WebSocket; the MJPEG preview is an <img> from 'self', the charts draw on canvases (data:/blob:).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from a CDN and start them with an inline script:
# those pages (the API schema, no patient data) allow the CDN and exactly their own inline scripts by hash.
DOCS_CDN = "https://cdn.jsdelivr.net"
HSTS = "max-age=31536000"
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


# --- settings helpers ---------------------------------------------------------------------------

def split_list(value: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (the comma-separated settings)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` lower case, the default port dropped; None when it is no such origin
    (``null``, a path, a query, user info, another scheme)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else "")


def cors_origins(settings: Settings) -> frozenset[str]:
    """The allow-listed origins; a malformed one stops the server with what to write instead."""
    origins = set()
    for item in split_list(settings.cors_origins):
        origin = normalize_origin(item)
        if origin is None:
            raise UsageError(f"ROMCAM_CORS_ORIGINS: {item!r} is not an origin; write scheme://host[:port], "
                             "e.g. https://portal.example.org (comma-separated; no wildcard)")
        origins.add(origin)
    return frozenset(origins)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


def same_origin(origin: str, scope: Scope) -> bool:
    """Whether ``origin`` names this server as the request reached it (its Host header). A Host
    without a port (a reverse proxy passing ``$host``) matches the origin's default port, http or
    https, since the scheme seen here may be the proxy's plain HTTP."""
    normalized = normalize_origin(origin)
    host_header = (_header(scope, b"host") or "").strip().lower()
    if normalized is None or not host_header:
        return False
    parts = urlsplit(normalized)
    origin_host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    origin_port = parts.port or DEFAULT_PORTS[parts.scheme]
    if host_header.startswith("["):
        host, _, rest = host_header.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = host_header.partition(":")
    if host != origin_host:
        return False
    if not port:
        return origin_port in (80, 443)
    return port.isdigit() and int(port) == origin_port


# --- security headers ---------------------------------------------------------------------------

def _inline_script_hashes(html: bytes) -> list[str]:
    scripts = re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts]


def docs_csp(html: bytes) -> str:
    hashes = " ".join(_inline_script_hashes(html))
    return (f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; style-src 'self' {DOCS_CDN} 'unsafe-inline'; "
            f"img-src 'self' data: {DOCS_CDN} https://fastapi.tiangolo.com; worker-src 'self' blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    """Sets the security headers on every HTTP response (replacing a route's own CSP or
    Cache-Control, so there is one policy)."""

    def __init__(self, app: ASGIApp, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(p for p in docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"
        if path in self.docs_paths:
            await self._docs(scope, receive, send, https)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.headers(message.get("headers") or [], path, https, CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send, https: bool) -> None:
        """The docs pages are small and whole: buffer them to hash their inline scripts."""
        start: Message | None = None
        body = bytearray()

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    assert start is not None
                    csp = docs_csp(bytes(body))
                    start["headers"] = self.headers(start.get("headers") or [], scope["path"], https, csp)
                    await send(start)
                    await send({"type": "http.response.body", "body": bytes(body)})
                return
            await send(message)

        await self.app(scope, receive, buffer)

    @staticmethod
    def headers(raw: list[tuple[bytes, bytes]], path: str, https: bool, csp: str) -> list[tuple[bytes, bytes]]:
        replaced = {b"content-security-policy", b"x-content-type-options", b"referrer-policy", b"x-frame-options",
                    b"strict-transport-security", b"cross-origin-opener-policy", b"cross-origin-resource-policy",
                    b"permissions-policy"}
        static = path.startswith("/static/")
        if not static:
            replaced |= {b"cache-control", b"pragma", b"expires"}
        out = [(k, v) for k, v in raw if k.lower() not in replaced]
        out += [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                (b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-resource-policy", b"same-origin"),
                (b"permissions-policy", PERMISSIONS.encode())]
        if not static:
            out.append((b"cache-control", b"no-store"))
        if https:
            out.append((b"strict-transport-security", HSTS.encode()))
        return out


# --- generic 500 --------------------------------------------------------------------------------

class ErrorIdMiddleware:
    """An unhandled exception: the client gets ``{"detail": "internal error", "error_id": ID}``, the
    log (logger ``romcam.server``) the traceback with the same ID, and nothing else leaks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            error_id = uuid.uuid4().hex
            log.exception("internal error %s on %s %s", error_id, scope.get("method", "WEBSOCKET"), scope.get("path"))
            if started:
                return  # the response was under way: the connection ends here
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011})
                return
            body = json.dumps({"detail": "internal error", "error_id": error_id}).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


# --- origins: CORS, cross-site writes, WebSockets -----------------------------------------------

async def _plain(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class OriginMiddleware:
    """The ``Origin`` header decides. Absent (a non-browser client: curl, a patient's romcam
    uploading) or this server itself: allowed. Listed in ``ROMCAM_CORS_ORIGINS``: allowed, with the
    CORS headers. Anything else (another site, ``null``): preflights and writes get 403, WebSocket
    upgrades are refused, and reads carry no ``Access-Control-Allow-Origin`` (the browser hides them)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.allowed = allowed

    def verdict(self, origin: str | None, scope: Scope) -> str:
        """``"none"``, ``"same"``, ``"listed"`` or ``"foreign"``."""
        if origin is None:
            return "none"
        if same_origin(origin, scope):
            return "same"
        normalized = normalize_origin(origin)
        return "listed" if normalized is not None and normalized in self.allowed else "foreign"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        verdict = self.verdict(origin, scope)
        if scope["type"] == "websocket":
            if verdict == "foreign":
                log.warning("WebSocket from foreign origin %r refused on %s", origin, scope.get("path"))
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        preflight = method == "OPTIONS" and _header(scope, b"access-control-request-method") is not None
        if verdict in ("none", "same"):
            await self.app(scope, receive, send)
            return
        if verdict == "foreign":
            if preflight or method in UNSAFE_METHODS:
                await _plain(send, 403, "cross-origin request refused: this server accepts other sites only when "
                             "ROMCAM_CORS_ORIGINS lists them", [(b"vary", b"Origin")])
                return
            await self.app(scope, receive, send)
            return
        assert origin is not None
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if preflight:
            requested = _header(scope, b"access-control-request-headers") or ""
            await send({"type": "http.response.start", "status": 204, "headers": [
                *cors, (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, PATCH, DELETE"),
                (b"access-control-allow-headers", requested.encode("latin-1")),
                (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message.get("headers") or []
                                      if k.lower() not in (b"access-control-allow-origin", b"vary")] + cors
            await send(message)

        await self.app(scope, receive, send_with_cors)


# --- pictures stay on this machine --------------------------------------------------------------

FRAME_TYPES = (b"image/jpeg", b"image/png", b"image/webp", b"video/", b"multipart/x-mixed-replace")
FORWARDING_HEADERS = frozenset({b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-real-ip", b"via"})


class FrameRefused(Exception):
    pass


def local_unrelayed(scope: Scope) -> bool:
    """A loopback client that no proxy relayed (no forwarding header)."""
    client = scope.get("client")
    if not client or not is_loopback(str(client[0])):
        return False
    return not any(key.lower() in FORWARDING_HEADERS for key, _ in scope.get("headers") or [])


class FrameGuardMiddleware:
    """Whatever the route, a response whose content type is a picture or a video stream is sent only
    to :func:`local_unrelayed` clients; for anyone else it is replaced by a 403 and the app is stopped
    before a frame is sent. (``/live/video.mjpg`` checks this itself; this holds for any route.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/") or local_unrelayed(scope):
            await self.app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                kind = dict((k.lower(), v) for k, v in message.get("headers") or []).get(b"content-type", b"")
                if kind.lower().startswith(FRAME_TYPES):
                    log.warning("refused pictures (%s) on %s to a non-local client", kind.decode("latin-1"),
                                scope.get("path"))
                    await _plain(send, 403, "pictures are served to this machine only (loopback clients)")
                    raise FrameRefused
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except FrameRefused:
            return


# --- body cap -----------------------------------------------------------------------------------

class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Caps request bodies at ``max_bytes``: a larger ``Content-Length`` is refused before a byte is
    read; a body without one (chunked) is counted as it arrives and refused once over the cap — the
    rest is never read (the connection closes)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        await _plain(send, 413, f"request body over the {self.max_bytes} byte limit (ROMCAM_MAX_BODY_BYTES)",
                     [(b"connection", b"close")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a body it never got whole: ours replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(send)


# --- health -------------------------------------------------------------------------------------

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", responses={503: {"description": "the database does not answer"}})
def healthz(request: Request) -> JSONResponse:
    """For load balancers and the container's HEALTHCHECK: no auth, no patient data. 200 when the
    database answers a query, else 503."""
    try:
        with request.app.state.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure is "unhealthy", never a 500
        log.warning("health check: the database does not answer: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


# --- wiring -------------------------------------------------------------------------------------

def harden(app: FastAPI, settings: Settings) -> None:
    """Register everything above on ``app`` (call after the app's other middleware: these wrap them)."""
    app.include_router(health_router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(OriginMiddleware, allowed=cors_origins(settings))
    app.add_middleware(FrameGuardMiddleware)
    app.add_middleware(ErrorIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware,
                       docs_paths=(app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url))
    proxies = split_list(settings.trusted_proxies)
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
