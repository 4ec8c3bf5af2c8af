"""Login, logout, "who am I" and password change for clinic accounts (``ROMCAM_AUTH=clinic``), and the
login page.

The session lives in the database (``auth_sessions``); the browser holds only its random secret in
the ``__Host-romcam_session`` cookie (HttpOnly, Secure, SameSite=Strict, Path=/). Pages get the
session's CSRF token from ``GET /api/auth/me`` and send it back in ``X-CSRF-Token`` on every write
(``web/static/dashboard/common.js``). After 5 failed logins in 60 s from one client or for one
account, further attempts answer 429 until the window has passed; an attempt counts from the moment
it arrives, so logins sent all at once are held to the same 5. An unknown email and a wrong password
get the same answer, in comparable time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from ..input_checks import CheckedInput
from ..store import accounts
from ..store.accounts import ABSOLUTE_TIMEOUT
from .deps import SESSION_COOKIE, DBDep, LoginRequired, UserDep, get_settings, now

LOGIN_TEMPLATE = Path(__file__).resolve().parents[2] / "web" / "templates" / "login.html"
MAX_FAILURES = 5
WINDOW_S = 60.0
WRONG = "wrong email or password"

router = APIRouter(tags=["auth"])


class LoginThrottle:
    """Failed logins per client address and per account over a sliding window (in memory: one
    server process). ``blocked`` is true once MAX_FAILURES failures fall within WINDOW_S.

    ``attempt`` checks and counts an attempt in one step (under a lock: logins run on many threads),
    before its password is verified, so that logins sent all at once cannot each pass the check
    before any has failed; ``succeeded`` takes a successful attempt's count back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def attempt(self, *keys: str) -> tuple[float, bool]:
        """Count an attempt for ``keys`` unless they are blocked: (its time, whether it may go on)."""
        with self.lock:
            if self.blocked(*keys):
                return self.clock(), False
            return self.fail(*keys), True

    def succeeded(self, at: float, *keys: str) -> None:
        """The attempt counted at ``at`` logged in: it is no failure."""
        with self.lock:
            for k in keys:
                q = self.failures.get(k)
                if q is not None and at in q:
                    q.remove(at)
                    if not q:
                        del self.failures[k]

    def _recent(self, key: str) -> deque[float]:
        q = self.failures.get(key)
        if q is None:
            return deque()
        cutoff = self.clock() - WINDOW_S
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self.failures[key]
        return q

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= MAX_FAILURES for k in keys)

    def fail(self, *keys: str) -> float:
        if len(self.failures) >= self.max_keys:  # a flood of new keys: forget the stalest half
            for k in sorted(self.failures, key=lambda k: self.failures[k][-1])[: self.max_keys // 2]:
                del self.failures[k]
        t = self.clock()
        for k in keys:
            self.failures.setdefault(k, deque(maxlen=MAX_FAILURES * 2)).append(t)
        return t

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


_THROTTLE_LOCK = threading.Lock()


def throttle(request: Request) -> LoginThrottle:
    """The app's one throttle (made by the first login; a test may set ``app.state.login_throttle``)."""
    with _THROTTLE_LOCK:  # the first logins may arrive together: they must share one throttle
        t = getattr(request.app.state, "login_throttle", None)
        if t is None:
            t = request.app.state.login_throttle = LoginThrottle()
        return t


class LoginIn(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class PasswordIn(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=1024)


class AccountOut(BaseModel):
    id: str
    name: str
    role: str
    patient_id: str | None = None


class MeOut(BaseModel):
    user: AccountOut
    csrf_token: str | None = Field(description="send it as X-CSRF-Token on every cookie-authenticated write; "
                                               "null when no login session is involved")
    mode: str


def _set_cookie(response: Response, secret: str) -> None:
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(ABSOLUTE_TIMEOUT.total_seconds()), path="/",
                        secure=True, httponly=True, samesite="strict")


def _me(user, mode: str, csrf: str | None) -> dict:  # type: ignore[no-untyped-def]
    return {"user": {"id": user.id, "name": user.name, "role": user.role,
                     "patient_id": str(user.patient_id) if user.patient_id else None},
            "csrf_token": csrf, "mode": mode}


@router.post("/api/auth/login", response_model=MeOut,
             responses={401: {"description": WRONG}, 429: {"description": "too many failed logins: wait a minute"},
                        403: {"description": "an account made for the server's own patient (\"Me\"): refused"},
                        404: {"description": "this server runs in local mode: no accounts"}})
def login(body: LoginIn, request: Request, response: Response, db: DBDep) -> dict:
    settings = get_settings(request)
    if not settings.clinic:
        raise HTTPException(404, "this server runs in local mode (no accounts): set ROMCAM_AUTH=clinic")
    limiter = throttle(request)
    client_key = "client:" + (request.client.host if request.client else "?")
    account_key = "account:" + accounts.normalize_email(body.email)
    at, allowed = limiter.attempt(client_key, account_key)  # counted as a failure until it succeeds
    if not allowed:
        raise HTTPException(429, "too many failed logins: wait a minute and try again",
                            headers={"Retry-After": str(int(WINDOW_S))})
    user = accounts.authenticate(db, body.email, body.password)
    if user is None:
        raise HTTPException(401, WRONG)
    limiter.succeeded(at, client_key)
    limiter.clear(account_key)
    if accounts.acts_for_local_patient(db, user.patient_id):  # made before such accounts were refused
        raise HTTPException(403, accounts.LOCAL_PATIENT_ACCOUNT)
    new = accounts.start_session(db, user, now=now(request))
    _set_cookie(response, new.secret)
    from .deps import User

    principal = User(id=str(user.id), name=user.name or user.email, role=user.role,  # type: ignore[arg-type]
                     patient_id=user.patient_id)
    return _me(principal, settings.auth, new.csrf_token)


@router.post("/api/auth/logout", status_code=204)
def logout(request: Request, user: UserDep, db: DBDep) -> Response:
    """End this login session (the cookie's); a device token or the local user has none to end."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and user.csrf_token is not None:
        accounts.end_session(db, secret)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/api/auth/me", response_model=MeOut)
def me(request: Request, user: UserDep) -> dict:
    return _me(user, get_settings(request).auth, user.csrf_token)


@router.post("/api/auth/password", response_model=MeOut,
             responses={422: {"description": "the current password is wrong, or the new one too short"},
                        409: {"description": "the password was changed meanwhile (another tab, a second click)"}})
def change_password(body: PasswordIn, request: Request, response: Response, user: UserDep, db: DBDep) -> dict:
    """Change your own password: every login session of yours ends, this browser gets a new one."""
    if user.csrf_token is None:
        raise HTTPException(403, "log in with your account to change its password")
    import uuid

    account = accounts.get_user(db, uuid.UUID(user.id))
    accounts.change_password(db, account, body.old_password, body.new_password, now=now(request))
    new = accounts.start_session(db, account, now=now(request))
    _set_cookie(response, new.secret)
    return _me(user, get_settings(request).auth, new.csrf_token)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page() -> HTMLResponse:
    """The login form (web/templates/login.html, script web/static/dashboard/login.js)."""
    return HTMLResponse(LOGIN_TEMPLATE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})


def install(app: FastAPI) -> None:
    """Answer LoginRequired: 401 for the API and the live routes, a redirect to /login for pages."""

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        path = request.url.path
        if path.startswith(("/api/", "/live/")) or request.method != "GET":
            return JSONResponse({"detail": "log in first (POST /api/auth/login)"}, status_code=401)
        back = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': back})}" if path != "/" else "/login", status_code=303)
