"""The clinic's HTTP API as the laptop uses it (stdlib ``urllib``; the device token as a bearer).

Every failure becomes a :class:`ClinicError` with a plain-words message for the patient and a
``kind``: ``offline`` (no answer, a timeout, a 5xx or 429: retry later), ``auth`` (the token is
refused: retry slowly, the patient must ask their PT), ``rejected`` (the clinic refuses this
document: keep it, do not resend). The token never appears in a message.
"""

from __future__ import annotations

import errno
import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from .config import LinkConfig

ErrorKind = Literal["offline", "auth", "rejected"]


class ClinicError(Exception):
    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def _detail(raw: bytes) -> str:
    try:
        detail = json.loads(raw).get("detail", "")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, list) and detail:
        first = detail[0]
        return f"{'.'.join(str(x) for x in first.get('loc', []))}: {first.get('msg', '')}"
    return str(detail)[:300]


def _unreachable(clinic: str, reason: object) -> str:
    """Why the clinic gave no answer, in words a patient (and the PT they call) can act on: an OpenSSL
    reason such as ``WRONG_VERSION_NUMBER`` says nothing to either."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"{clinic}'s HTTPS certificate is not accepted ({reason.verify_message or reason.reason}): "
                "ask the clinic to fix it; trying again later")
    if isinstance(reason, ssl.SSLError):
        return (f"cannot reach {clinic} over HTTPS: it answered, but not with HTTPS ({reason.reason or reason}). "
                "Check the clinic's address with your PT (a clinic server on this same computer without HTTPS "
                "is http://); trying again later")
    return f"cannot reach {clinic}: {_plain_reason(reason)}; trying again later"


def _plain_reason(reason: object) -> str:
    """Why no answer came, without an errno: "[Errno 111] Connection refused" says nothing to a patient."""
    if isinstance(reason, ConnectionRefusedError):
        return "its server is not answering (it may be down or restarting)"
    if isinstance(reason, socket.gaierror):
        return "its address cannot be found (is this computer on the internet? is the address right?)"
    if isinstance(reason, TimeoutError):
        return "it did not answer in time"
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return "there is no network (is this computer on the internet?)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)


def clock_offset_s(date_header: str | None, *, now: datetime) -> float | None:
    """How far this computer's clock is ahead of the server's (seconds; negative: behind), from an HTTP
    ``Date`` header (whole seconds); None without a readable one."""
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None:
        return None
    return (now - theirs).total_seconds()


class ClinicClient:
    def __init__(self, link: LinkConfig, *, timeout: float = 30.0) -> None:
        self.link = link
        self.timeout = timeout
        self.clock_offset_s: float | None = None  # this computer's clock less the clinic's, at the last answer

    def _heard(self, headers: Any) -> None:
        found = clock_offset_s(headers.get("Date") if headers is not None else None, now=datetime.now(UTC))
        if found is not None:
            self.clock_offset_s = found

    def request(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.link.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.link.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        clinic = self.link.clinic
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:  # noqa: S310 (http/https checked)
                self._heard(resp.headers)
                raw = resp.read()
                return Reply(resp.status, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            self._heard(exc.headers)
            status, detail = exc.code, _detail(exc.read())
            if status == 401:  # the clinic says which: unknown (mistyped), revoked on a day, ...
                why = (f": {detail}" if detail else " (it may have been revoked): ask your PT for a new one")
                raise ClinicError("auth", f"{clinic} does not accept this laptop's key{why}", status) from None
            if status in (403, 404) and path.startswith("/api/device"):
                raise ClinicError("auth", f"{clinic} does not know this laptop's key: ask your PT for a new one",
                                  status) from None
            if status == 429 or status >= 500:
                raise ClinicError("offline", f"{clinic} is having trouble (HTTP {status}); trying again later",
                                  status) from None
            raise ClinicError("rejected", f"{clinic} refused it (HTTP {status}{': ' + detail if detail else ''})",
                              status) from None
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClinicError("offline", _unreachable(clinic, reason)) from None
        except ValueError:
            raise ClinicError("offline", f"{clinic} sent an answer that is not JSON; trying again later") from None

    def device(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /api/device``: the token's patient and their current plan."""
        return self.request("GET", "/api/device", timeout=timeout).body

    def sessions_held(self, clinic_patient_id: str, ids: list[str]) -> set[str]:
        """``POST /api/patients/{id}/sessions/held``: which of ``ids`` the clinic holds for the patient."""
        body = self.request("POST", f"/api/patients/{clinic_patient_id}/sessions/held", {"ids": ids}).body
        return {str(i) for i in (body or {}).get("held", [])}

    def checkins_held(self, clinic_patient_id: str, ids: list[str]) -> set[str]:
        """``POST /api/patients/{id}/checkins/held``: which of the check-in ``ids`` the clinic holds."""
        body = self.request("POST", f"/api/patients/{clinic_patient_id}/checkins/held", {"ids": ids}).body
        return {str(i) for i in (body or {}).get("held", [])}

    def upload_session(self, canonical_json: str) -> Reply:
        return self.request("POST", "/api/sessions", canonical_json.encode())

    def upload_checkin(self, session_id: str, checkin_id: str, doc: dict[str, Any]) -> Reply:
        return self.request("PUT", f"/api/sessions/{session_id}/checkins/{checkin_id}", doc)
