"""The Host-header check: a server bound to loopback answers only requests addressed to a loopback
name, so a web page on another site cannot reach it through DNS rebinding."""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host part of a Host header, lower case, IPv6 kept in brackets: ``[::1]:8000`` → ``[::1]``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.split(":", 1)[0]


def allowed_hosts(bind_host: str) -> frozenset[str] | None:
    """The Host names accepted when bound to ``bind_host``; None (no check) when not bound to loopback."""
    if not is_loopback(bind_host):
        return None  # a clinic server: access control comes with issue 7
    name = f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host
    return LOOPBACK_NAMES | {name.lower()}


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        name = host_name(headers.get(b"host", b"").decode("latin-1"))
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (f"Host {name or '(none)'!r} is not accepted: this romcam server is bound to loopback and answers "
                "only http://127.0.0.1 or http://localhost (DNS-rebinding defence); open one of those").encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
