"""The FastAPI app: the REST API (routers per feature), the dashboard pages and static files.

``create_app(settings)`` opens the store (running migrations) and wires everything; ``romcam serve``
runs it under uvicorn. OpenAPI at /docs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError

from .. import __version__
from ..errors import UnknownExerciseError
from ..input_checks import error_message
from ..store import audit, server_lock
from ..store.db import Store
from ..store.errors import (
    STORAGE_FIX,
    AuditKeyChangedError,
    ConflictError,
    InvalidError,
    NotFoundError,
    StoreError,
    storage_cause,
)
from . import (
    accounts_router,
    auth_router,
    catalog_router,
    exports_router,
    link_router,
    live_router,
    patients_router,
    prescriptions_router,
    sessions_router,
    trends_router,
)
from .hardening import harden
from .hostcheck import HostCheckMiddleware, allowed_hosts
from .settings import DEFAULT_SECRET_KEY, Settings

log = logging.getLogger("romcam.server")
STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"


def body_message(error: Any, content_type: str) -> str | None:
    """What is wrong with a body that is no JSON object at all, and how to send one: not JSON (where it
    breaks), JSON sent under another Content-Type (``curl -d`` sends a form), a list or text; None for a
    field's problem."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        why = str((error.get("ctx") or {}).get("error", "")).lower()
        at = f"at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        where = ": ".join(part for part in (at, why) if part)
        return "the body is not valid JSON" + (f" ({where})" if where else "")
    if loc == ("body",) and error.get("type") in ("model_attributes_type", "dict_type"):
        if "json" not in content_type.lower():
            return ("send the body as a JSON object with Content-Type: application/json (this request's is "
                    f"{content_type or 'not given'})")
        return 'the body must be a JSON object ({"field": value, …}), not a list, text or a number'
    return None


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each wrong field and what is wrong with it — never the input itself: it may be a
        NaN that JSON cannot carry back, a password, or a whole uploaded document."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        errors = [{"loc": list(e.get("loc", ())), "msg": body_message(e, content_type) or error_message(e),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(InvalidError)
    async def invalid(_: Request, exc: InvalidError) -> JSONResponse:
        loc = list(exc.loc) if exc.loc and exc.loc[0] in ("body", "query", "path") else ["body", *exc.loc]
        return JSONResponse({"detail": [{"loc": loc, "msg": exc.message, "type": "value_error"}]}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def database_refused(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database failed the request (its transaction is rolled back: nothing was stored). A full
        disk, a read-only or unreachable database is 503 (the sync client tries again later); a read
        fails with it because its audit row cannot be written, and says so."""
        cause = storage_cause(exc)
        if cause is None:
            raise exc  # an internal error: logged with its traceback under an error id (hardening.py)
        if request.method in ("GET", "HEAD"):
            detail = (f"cannot show this now: {cause}, and every look at patient data is written to the audit log "
                      f"first — {STORAGE_FIX[cause]}, then try again")
        else:
            detail = f"the database cannot take writes now: {cause}; nothing was changed, try again later"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "60"})

    @app.exception_handler(AuditKeyChangedError)
    async def audit_key_changed(_: Request, exc: AuditKeyChangedError) -> JSONResponse:
        """The audit log was moved to a new key under this running server (audit.record): it cannot record
        access any more, so it serves no patient data until restarted with the new key."""
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(UnknownExerciseError)
    async def unknown_exercise(_: Request, exc: UnknownExerciseError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": ["body", "exercise"], "msg": str(exc), "type": "value_error"}]},
                            status_code=422)


def _pages_router():  # type: ignore[no-untyped-def]
    """``romcam.server.pages.router`` when the dashboard module is there (it is built separately: the
    API and its tests must not depend on it)."""
    try:
        from . import pages
    except ImportError:
        return None
    return pages.router


def _coach_page_router():  # type: ignore[no-untyped-def]
    """``romcam.server.coach_page.router`` (the coaching page, built separately) when it is there."""
    try:
        from . import coach_page
    except ImportError:
        return None
    return getattr(coach_page, "router", None)


TRIAL_SERVER_RUNNING = ("another romcam server is using this database on romcam's public default key: this one "
                        "would move the audit log to its own ROMCAM_SECRET_KEY under it, and that server would go "
                        "on writing rows the new key cannot find. Stop it, then start this one")


def _check_key(store: Store, settings: Settings) -> None:
    """Refuse a key the audit log was not written with (:func:`audit.check_key`). A trial's log on romcam's
    public default key moves to this server's own key: that is a rekey, so only with no other server on the
    database (:data:`TRIAL_SERVER_RUNNING` otherwise)."""
    key = settings.secret_key.get_secret_value()
    with store.session() as db:
        trial = key != DEFAULT_SECRET_KEY and audit.written_with(db, DEFAULT_SECRET_KEY)
        if not trial:
            audit.check_key(db, key)
            return
    with server_lock.exclusive(store.url, busy=TRIAL_SERVER_RUNNING), store.session() as db:
        moved = audit.check_key(db, key, public_key=DEFAULT_SECRET_KEY)
    if moved is not None:
        log.warning("the audit log was keyed with romcam's public default key: %d rows of %d patients moved "
                    "to this server's ROMCAM_SECRET_KEY", moved.rows, moved.patients)


def _hold_database(store: Store, settings: Settings) -> server_lock.Held:
    """The server's shared lock on its database, held while it runs: `romcam audit rekey` refuses to move the
    audit log under it (store/server_lock.py). The key is checked again under the lock: a rekey that ran since
    :func:`create_app` checked it would otherwise leave this server writing under the previous key."""
    held = server_lock.take(store.url, "shared")
    try:
        with store.session() as db:  # no move here: other servers may hold the lock too
            audit.check_key(db, settings.secret_key.get_secret_value())
    except BaseException:
        held.release()
        raise
    return held


async def _keep_holding(store: Store, settings: Settings, held: list[server_lock.Held]) -> None:
    """Check the server's lock every ``server_lock.CHECK_S`` seconds and take it again when it was lost (on
    PostgreSQL it lives on one connection: a database restart or a network cut drops it). Until it is held again
    a rekey could run, so ``audit.record`` also checks the log's key on every write; if a rekey ran meanwhile this
    server's key is the previous one, and it stays refused (503) until restarted with the new key."""
    import asyncio

    said = False
    while True:
        await asyncio.sleep(server_lock.CHECK_S)
        if await asyncio.to_thread(held[0].alive):
            continue
        if not said:
            log.warning("this server's lock on its database was lost (its connection dropped): taking it again")
        await asyncio.to_thread(held[0].release)
        held[0] = server_lock.LOST
        try:
            again = await asyncio.to_thread(_hold_database, store, settings)
        except AuditKeyChangedError:
            log.error("%s", audit.LOG_MOVED)
            return
        except (StoreError, DBAPIError) as exc:  # the database unreachable, or a rekey running: try again
            if not said:
                log.error("cannot take the database lock again yet (%s); trying every %g s", exc, server_lock.CHECK_S)
            said = True
            continue
        held[0] = again
        said = False
        log.warning("took the database lock again")


def create_app(settings: Settings | None = None, *, store: Store | None = None, live=None,  # type: ignore[no-untyped-def]
               link=None, link_file: Path | None = None) -> FastAPI:
    """The app; ``store`` reuses an opened store (tests), else one is opened from ``settings``.
    ``live`` (``romcam.live.capture.LiveOptions``) runs the capture worker of the live coach;
    ``link`` (``romcam.sync.config.LinkConfig``) links this laptop to a clinic (docs/sync.md): the plan
    is pulled before the coach starts, and the sync worker uploads sessions while the app runs.
    ``link_file``: the link file ``link`` came from (or that makes a plain ``romcam serve`` linked once written):
    while the app runs, a link written there (``romcam link``), changed or removed takes effect within seconds
    (romcam.sync.follow)."""
    settings = settings or Settings()
    own_store = store is None
    store = store or Store(settings.db_url)
    try:  # before anything is served: another key would hide every patient's earlier audit entries
        _check_key(store, settings)
    except Exception:
        if own_store:
            store.close()
        raise
    from ..sync.worker import SyncWorker

    sync = None
    if link is not None:
        sync = SyncWorker(store, link)
        sync.follows_link_file = link_file is not None  # a refused key: `romcam link` a new one, no restart
        sync.pull_plan(timeout=sync.settings.start_pull_timeout_s)  # offline: the last pulled plan is used
    linked: dict[str, Any] = {"link": link, "sync": sync}  # the link in use now (changed by the link file's watcher)
    hub = live_router.Hub()
    live_service = live_router.LiveService(hub, None)
    if live is not None:
        from ..live.service import make_worker

        live_service.worker = make_worker(
            live, store, settings, publish=hub.publish,
            link=(lambda: linked["link"]) if link_file is not None else link,
            clinic_answer=lambda: None if linked["sync"] is None else linked["sync"].clinic_answer)

    def wire(worker: SyncWorker) -> None:
        """The plan romcam follows now; one the clinic changes later goes to the running coach."""
        worker.note_plan_in_use()
        if live_service.worker is not None:
            worker.on_plan_change = live_service.worker.follow_plan
            worker.on_pause_change = live_service.worker.pause_changed
            worker.in_session = live_service.worker.in_session
            worker.on_clinic_answer = live_service.worker.clinic_answer_changed

    if sync is not None:
        wire(sync)
    follower = None
    if link_file is not None:
        from ..sync import outbox
        from ..sync.config import SyncSettings
        from ..sync.follow import LinkFollower

        with store.session() as db:  # as a worker started now would read them: the ones a crash cut off
            orphans = sync.orphans if sync is not None else outbox.unfinished_sessions(db)

        def relink(new: Any) -> None:
            """The link file changed while romcam runs: stop syncing with the old link, start with the new one
            (None: unlinked), as a start with it would; the coach reads the plan of the link in use again."""
            old, old_link = linked["sync"], linked["link"]
            if old is not None:
                old.stop()
            try:
                worker = None
                if new is not None:
                    worker = SyncWorker(store, new, orphans=orphans)
                    worker.follows_link_file = True
                    worker.pull_plan(timeout=worker.settings.start_pull_timeout_s)
                    wire(worker)
            except Exception:
                if old is not None:  # the link in use stays: sync with it again
                    again = SyncWorker(store, old_link, orphans=orphans)
                    again.follows_link_file = True
                    wire(again)
                    linked["sync"] = app.state.sync = again
                    again.start()
                raise
            linked["link"], linked["sync"] = new, worker
            app.state.sync = worker
            if worker is not None:
                worker.start()
            if live_service.worker is not None:
                live_service.worker.follow_plan()  # the new link's plan, or why none is followed yet

        follower = LinkFollower(link_file, link, relink, every_s=SyncSettings().link_check_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import asyncio

        held: list[server_lock.Held] = []
        watch = None
        try:
            held.append(await asyncio.to_thread(_hold_database, store, settings))
            watch = asyncio.create_task(_keep_holding(store, settings, held))
            hub.loop = asyncio.get_running_loop()
            if live_service.worker is not None:
                live_service.worker.start()
            if sync is not None:
                sync.start()
            if follower is not None:
                follower.start()
            yield
            if follower is not None:
                await asyncio.to_thread(follower.stop)
            if linked["sync"] is not None:
                await asyncio.to_thread(linked["sync"].stop)
            if live_service.worker is not None:
                await asyncio.to_thread(live_service.worker.stop)
            hub.loop = None
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            for h in held:
                h.release()
            if own_store:
                store.close()

    app = FastAPI(title="romcam", version=__version__, lifespan=lifespan,
                  description="Range-of-motion coach for people with ALS: patients, prescriptions, sessions, "
                              "trends, alerts and exports (docs/api.md).")
    app.state.settings = settings
    app.state.store = store
    app.state.live = live_service
    app.state.sync = sync
    app.state.link_follower = follower  # None: the link is the command line's (or this is a clinic server)
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts(settings.host))
    _error_handlers(app)
    auth_router.install(app)
    for module in (auth_router, accounts_router, catalog_router, patients_router, prescriptions_router,
                   sessions_router, trends_router, exports_router, live_router, link_router):
        app.include_router(module.router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    pages = _pages_router()
    if pages is not None:
        app.include_router(pages)
    coach = _coach_page_router()
    if coach is not None:
        app.include_router(coach)
    harden(app, settings)  # security headers, origins, body cap, generic 500, /healthz
    return app
