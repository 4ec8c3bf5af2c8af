"""The live coach's endpoints (docs/live.md): ``/live/ws`` (events), ``/live/video.mjpg`` (annotated
frames, loopback clients only), the session commands, ``/live/status``, ``/live/plan`` and
``/live/checkin``. The capture worker (``romcam.live.capture``) runs in its own thread; this module
only bridges it to HTTP and the event loop."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field, model_validator

from ..input_checks import CheckedInput, field_errors
from ..live.capture import CaptureWorker
from ..store.errors import InvalidError, NotFoundError
from ..subject import PersonError
from .deps import local_patient
from .hostcheck import allowed_hosts, host_name, is_loopback

# every live route and the WebSocket resolve the user and the patient through deps (issue 7's one check)
router = APIRouter(prefix="/live", tags=["live"], dependencies=[Depends(local_patient)])

CLIENT_QUEUE = 120  # events kept for a slow WebSocket client (the oldest are dropped)
MJPEG_INTERVAL_S = 1.0 / 15.0
BOUNDARY = "romcamframe"


class Hub:
    """Fans the worker's events (published from its thread) out to the WebSocket clients."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._fanout, event)
        except RuntimeError:  # the loop closed meanwhile (shutdown)
            pass

    def _fanout(self, event: dict[str, Any]) -> None:
        for q in list(self.clients):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait(event)


class LiveService:
    """What ``app.state.live`` holds: the hub and the capture worker (None when not capturing)."""

    def __init__(self, hub: Hub, worker: CaptureWorker | None) -> None:
        self.hub = hub
        self.worker = worker


def _live(request: Request | WebSocket) -> LiveService:
    live = getattr(request.app.state, "live", None)
    if live is None:
        live = LiveService(Hub(), None)
        request.app.state.live = live
    return live


def _worker(request: Request) -> CaptureWorker:
    worker = _live(request).worker
    if worker is None:
        raise HTTPException(503, "no capture is running: start the live coach with `romcam serve`")
    return worker


def client_is_loopback(client_host: str | None) -> bool:
    """The MJPEG check: video never leaves the patient's machine."""
    return bool(client_host) and is_loopback(client_host or "")


def origin_allowed(origin: str | None, host_header: str, bind_host: str) -> bool:
    """A WebSocket's Origin must name this server (cross-site pages may not read the events).
    No Origin (a non-browser client) is allowed; the Host header itself is checked by the middleware."""
    if not origin:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    name = host_name(parts.netloc)
    allowed = allowed_hosts(bind_host)
    if allowed is not None:
        return name in allowed
    return name == host_name(host_header)


@router.websocket("/ws")
async def live_ws(ws: WebSocket) -> None:
    settings = ws.app.state.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host", ""), settings.host):
        await ws.close(code=1008)
        return
    live = _live(ws)
    await ws.accept()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=CLIENT_QUEUE)
    live.hub.clients.add(queue)
    try:
        worker = live.worker
        if worker is not None:
            worker.wake()
            await ws.send_json({"type": "status", **worker.status()})
            if worker.latest_event is not None:
                await ws.send_json(worker.latest_event)
        else:
            await ws.send_json({"type": "status", "state": "off", "detail": "no capture is running"})
        receiver = asyncio.create_task(_drain(ws))
        try:
            while not receiver.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await ws.send_json(getter.result())
                else:
                    getter.cancel()
        finally:
            receiver.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        live.hub.clients.discard(queue)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


@router.get("/video.mjpg", response_class=StreamingResponse,
            responses={403: {"description": "not a loopback client: video never leaves this machine"}})
async def video(request: Request) -> StreamingResponse:
    if not client_is_loopback(request.client.host if request.client else None):
        raise HTTPException(403, "the video is served to this machine only (loopback clients)")
    worker = _worker(request)

    async def frames():  # type: ignore[no-untyped-def]
        seq = -1
        while True:
            if await request.is_disconnected():
                return
            if worker.jpeg_seq != seq and worker.latest_jpeg is not None:
                seq, jpeg = worker.jpeg_seq, worker.latest_jpeg
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode()
                yield jpeg + b"\r\n"
            await asyncio.sleep(MJPEG_INTERVAL_S)

    return StreamingResponse(frames(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    return _worker(request).status()


@router.get("/plan")
def plan(request: Request) -> list[dict[str, Any]]:
    return [p.to_dict() for p in _worker(request).plan]


def _command(request: Request, name: str) -> dict[str, Any]:
    return _worker(request).command(name)


@router.post("/start")
def start(request: Request) -> dict[str, Any]:
    return _command(request, "start")


@router.post("/pause")
def pause(request: Request) -> dict[str, Any]:
    return _command(request, "pause")


@router.post("/resume")
def resume(request: Request) -> dict[str, Any]:
    return _command(request, "resume")


@router.post("/stop")
def stop(request: Request) -> dict[str, Any]:
    return _command(request, "stop")


@router.post("/next")
def next_exercise(request: Request) -> dict[str, Any]:
    return _command(request, "next")


@router.post("/rest")
def rest(request: Request) -> dict[str, Any]:
    return _command(request, "rest")


class AutoStartIn(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    on: bool


@router.post("/auto_start")
def auto_start(body: AutoStartIn, request: Request) -> dict[str, Any]:
    """Hands-free start on or off: once the patient is in place the session starts by itself after a
    spoken 5-second countdown (the page's "Start by itself" switch). Returns the status."""
    return _worker(request).set_auto_start(body.on)


class CheckinIn(CheckedInput):
    model_config = ConfigDict(extra="forbid")

    pain: int = Field(ge=0, le=10)
    tiredness: int = Field(ge=0, le=10)
    cramps: bool
    note: str = Field("", max_length=2000)


@router.post("/checkin", status_code=201)
def checkin(body: CheckinIn, request: Request) -> dict[str, Any]:
    worker = _worker(request)
    rec = worker.recorder
    session_id: uuid.UUID | None = (rec.session_id if rec is not None else None) or worker.last_session_id
    if rec is None or session_id is None:
        raise HTTPException(409, "no session to attach the check-in to: press Start first")
    try:
        checkin_id = rec.checkin(session_id, pain=body.pain, tiredness=body.tiredness, cramps=body.cramps,
                                 note=body.note)
    except NotFoundError:
        raise HTTPException(409, "the session is not stored yet") from None
    return {"id": str(checkin_id), "session_id": str(session_id)}


class SubjectIn(CheckedInput):
    """Who the patient is: ``person`` (a button for one person: their ``subject.persons[].id``), or ``x``
    and ``y`` (a tap on the video), never both."""

    model_config = ConfigDict(extra="forbid")

    person: int | None = Field(None, ge=0, description="a person's id from the events' subject.persons")
    x: float | None = Field(None, ge=0.0, le=1.0)  # normalized image coordinates of the click, from the top-left
    y: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def one_way(self) -> SubjectIn:
        point = self.x is not None or self.y is not None
        if self.person is None and point and (self.x is None or self.y is None):
            missing = "x" if self.x is None else "y"
            raise field_errors([(missing, "send person (the id of someone in subject.persons), or both x and y (a "
                                 "tap on the picture, 0 to 1 from the top-left)", None)])
        if self.person is not None and point:
            raise ValueError("send either person (the id of someone in subject.persons) or x and y (a tap on "
                             "the picture), not both")
        if self.person is None and (self.x is None or self.y is None):
            raise ValueError("send person (the id of someone in subject.persons), or both x and y (a tap on "
                             "the picture, 0 to 1 from the top-left)")
        return self


@router.post("/subject", responses={422: {"description": "neither or both of person and x, y; or a person id "
                                                         "nobody in view has"}})
def subject(body: SubjectIn, request: Request) -> dict[str, Any]:
    """Who the patient is: the person with that id (a button on the page) from now on, or the person at
    (x, y) (a tap on the video) from the next frame where someone's outline holds the point."""
    worker = _worker(request)
    if body.person is not None:
        try:
            return worker.choose(body.person)
        except PersonError as exc:
            raise InvalidError(("body", "person"), str(exc)) from None
    assert body.x is not None and body.y is not None
    return worker.relock(body.x, body.y)


@router.get("/setup", responses={404: {"description": "no camera setup for that exercise and posture"}})
def setup(exercise: str | None = None, posture: Literal["standing", "seated", "lying"] | None = None,
          side: Literal["left", "right"] = "left") -> Any:
    """Where the camera goes for a seated or lying patient (romcam/data/setup.toml): every entry, or
    with ``exercise`` and ``posture`` the one for that motion, posture and ``side``, filled in. An
    exercise the catalog does not have, or a posture that is none, is a 422."""
    from ..catalog import get_motion
    from ..errors import UnknownExerciseError
    from ..setup_guide import all_setups, setup_for

    if exercise is not None:
        try:
            get_motion(exercise)
        except UnknownExerciseError as exc:  # 422 naming the closest id
            raise InvalidError(("query", "exercise"), str(exc)) from None
    if exercise is None and posture is None:
        return [s.to_dict() for s in all_setups()]
    found = setup_for(exercise or "", posture, side)
    if found is None:
        raise HTTPException(404, f"no camera setup for {exercise} {posture}: the setup covers seated and lying "
                                 "patients (a standing patient turns to the camera as the exercise says)")
    return found.to_dict()
