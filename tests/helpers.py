"""What several test files share: a free port, a real `romcam serve`, and the real browser (Debian's chromium)."""

from __future__ import annotations

import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# the flags this machine needs: headless, as root, and no background connections (the network is closed)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots to look at (gitignored)


# an init script for a page: the browser's speech, recorded in window.__spoken (headless chromium has no voices)
RECORD_SPEECH = """
window.__spoken = [];
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speaking: false, cancel() {}, speak(u) { if (u.text) window.__spoken.push(u.text); } } });
"""


def video_frames(path: Path, limit: int | None = None) -> list[Any]:
    """The frames of a video file (BGR arrays), all or the first ``limit``."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames: list[Any] = []
    try:
        while limit is None or len(frames) < limit:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return frames


def write_mjpg(path: Path, frames: list[Any], fps: float) -> None:
    """``frames`` as an MJPEG AVI: frames stored one after another, so cutting the file breaks it part-way."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def faketime_env(offset: str) -> dict[str, str]:
    """Environment that runs a process with its clock shifted by ``offset`` (libfaketime, e.g. "-3d"):
    a laptop whose clock is wrong. Skips without Debian's faketime — but fails in CI, which installs it."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        why = "libfaketime is absent (apt-get install faketime)"
        if os.environ.get("CI"):
            pytest.fail(f"cannot run in CI: {why}")
        pytest.skip(f"skipped: {why}")
    return {"LD_PRELOAD": found[0], "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_NO_CACHE": "1"}


def require_browser() -> None:
    """Skip without Debian's chromium or the playwright package — but fail in CI, which installs both."""
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is absent (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "the playwright Python package is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(f"browser test skipped: {why}")


def wait_until_up(url: str, proc: subprocess.Popen | None = None, log: Path | None = None,
                  timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or never answers. Before the server
    listens, a connection to a local port in the ephemeral range can connect to itself and read back its own
    request (http.client's BadStatusLine): that is "not up yet" too."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"romcam serve exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{_tail(log)}") from None
            time.sleep(0.2)


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""


def ws_until(ws: Any, until: Callable[[dict], bool], seconds: float, seen: list[dict]) -> dict:
    """Receive JSON events from the live WebSocket ``ws`` into ``seen`` until ``until(event)``; that event.
    Fails after ``seconds`` with the last events received."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ev = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        seen.append(ev)
        if until(ev):
            return ev
    raise AssertionError(f"timed out; last events: {seen[-3:]}")


@contextmanager
def serve_plan(tmp: Path, source: Path, plan: list[dict[str, Any]], *args: str,
               timeout: float = 120.0) -> Iterator[str]:
    """:func:`romcam_serve` on the video ``source`` (``args`` added, e.g. ``--loop``) with the PT's ``plan``
    (prescriptions of the local patient) in its database — read at start; yields the server's base URL."""
    from romcam.store import service
    from romcam.store.db import Store

    store = Store(f"sqlite:///{tmp / 'romcam.db'}")  # the database romcam_serve opens
    try:
        with store.session() as db:
            patient = service.get_patient(db, store.local_patient_id)
            for rx in plan:
                service.create_prescription(db, patient, dict(rx))
    finally:
        store.close()
    with romcam_serve(tmp, "--source", str(source), *args, timeout=timeout) as (port, _):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def romcam_serve(tmp: Path, *args: str, ready: str = "/live/status", timeout: float = 120.0,
                 env: dict[str, str] | None = None, port: int | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """A real ``romcam serve`` subprocess on a free port (or ``port``: a server started again), a SQLite
    database and data directory in ``tmp`` (``env`` overrides the environment); yields ``(port, process)``
    once ``ready`` answers, and stops it (SIGINT) afterwards."""
    port = port or free_port()
    env = os.environ | {"HOME": str(tmp), "ROMCAM_DATA": str(tmp / "data")} | (env or {})
    log_path = tmp / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "romcam.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--db", f"sqlite:///{tmp / 'romcam.db'}", *args],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            wait_until_up(f"http://127.0.0.1:{port}{ready}", proc, log_path, timeout)
            yield port, proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, wait: float = 15.0, *, group: bool = False) -> None:
    """Stop a server as Ctrl-C does (SIGINT, so it shuts down cleanly); kill it if it has not gone in ``wait`` s.
    ``group``: ``proc`` was started with ``start_new_session=True`` and the signals go to its whole process
    group (a server run under a wrapper such as strace, which on SIGINT would detach and leave it running)."""
    if group:
        for sig, grace in ((signal.SIGINT, wait), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                proc.poll()  # reap the wrapper
                if not _group_alive(proc.pid):
                    # it may have died after that poll, a zombie not yet reaped (Popen would warn "still running")
                    proc.wait(10)
                    return
                time.sleep(0.1)
        proc.poll()
        return
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless chromium (never a downloaded browser), closed afterwards: a module's browser fixture."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def hold_live_ws(page: Any) -> Callable[[], None]:
    """Hold the page's ``/live/ws`` off the server until the returned ``release()`` (call it once Start is
    pressed). A file given to ``romcam serve --source`` plays from when a page first connects there, and a test
    that counts every rep of a clip would miss the first on a machine slow to load the page and press Start;
    Start itself (``POST /live/start``) plays the file from its start. Call before the page is opened."""
    held: list[Any] = []
    page.route_web_socket("**/live/ws", lambda ws: held.append(ws))

    def release() -> None:
        assert held, "the page never opened its WebSocket"
        while held:
            held.pop().connect_to_server()

    return release


@contextmanager
def offline_page(server: str, problems: list[str], *, width: int = 1280, height: int = 800,
                 init_script: str | None = None, timeout_ms: int = 30_000) -> Iterator[Any]:
    """One page of Debian's chromium (Playwright) for pages of ``server`` that must work offline: a script
    error, a console error, a Content-Security-Policy report or any request off the server is appended to
    ``problems``, which the caller asserts empty. The server's own headers reach the page unchanged."""
    from playwright.sync_api import sync_playwright

    origin = urlsplit(server)

    def same_origin_only(route: Any) -> None:
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (origin.scheme, origin.netloc) or url.scheme in ("data", "blob"):
            route.continue_()
        else:
            problems.append(f"request off the server (the pages must work offline): {route.request.url}")
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        if init_script:
            context.add_init_script(init_script)
        pg = context.new_page()
        pg.on("pageerror", lambda err: problems.append(f"script error: {err}"))
        pg.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
              if msg.type == "error" or "Content Security Policy" in msg.text else None)
        pg.route("**/*", same_origin_only)
        pg.set_default_timeout(timeout_ms)
        try:
            yield pg
        finally:
            context.close()
            browser.close()


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not count: an orphan's may linger)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def css_rgb(color: str) -> tuple[float, float, float]:
    """``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` as a browser's computed style gives it → (r, g, b), 0-255."""
    parts = color[color.index("(") + 1: color.index(")")].replace(",", " ").replace("/", " ").split()
    return float(parts[0]), float(parts[1]), float(parts[2])


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two opaque CSS colours (1 to 21): AA asks 4.5 for text, 3 for large text
    and for what shows a control and its state (a focus ring, say)."""
    def luminance(color: str) -> float:
        def channel(v: float) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b_ = (channel(v) for v in css_rgb(color))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def log_in(page: Any, base: str, email: str, password: str) -> None:
    """Log ``email`` in on the dashboard's login page and wait for the patient list to be loaded."""
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")
    page.wait_for_selector("body[data-loaded=true]")


def start_and_finish(pg: Any) -> None:
    """On the coach page, ready: Start, then Finish (pressed twice, as it asks), and wait for the day's end and
    its check-in."""
    pg.locator("#primary").click()
    finish = pg.locator("#finish")
    finish.wait_for(state="visible")
    finish.click()
    pg.wait_for_selector("#finish[data-armed=true]")
    finish.click()
    pg.wait_for_selector("#end:not([hidden])")
