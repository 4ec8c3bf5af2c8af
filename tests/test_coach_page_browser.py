"""The coaching page's words and controls in a real browser (Debian's chromium, Playwright) against a
real ``romcam serve``: what it says when Start is tapped, when the server restarts under an open page,
and when the video file breaks part-way (docs/live.md).

Speech is recorded by a stand-in for the browser's speechSynthesis (headless chromium has no voices).
Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import RECORD_SPEECH, offline_page, require_browser, romcam_serve, video_frames, write_mjpg

from tests.conftest import DEMO_SPEC

STARTUP_S = 120

def _status(server: str) -> dict:
    with urllib.request.urlopen(server + "/live/status", timeout=5) as r:
        return json.loads(r.read())


def _open(pg, server: str) -> None:
    pg.goto(server + "/coach", wait_until="domcontentloaded")
    pg.wait_for_selector("body[data-ready=true]")


@contextmanager
def _looping_demo_page(demo_clip: Path, tmp_path: Path, problems: list[str]) -> Iterator[tuple[str, object]]:
    """A server playing the demo clip over and over, and the coaching page open on it (speech recorded)."""
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--loop", "--exercise", DEMO_SPEC.exercise, "--side",
                      DEMO_SPEC.side, timeout=STARTUP_S) as (port, _):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, init_script=RECORD_SPEECH) as pg:
            _open(pg, server)
            yield server, pg


def test_tapping_start_says_lets_begin_and_no_stop_banner_before_it(demo_clip: Path, tmp_path: Path) -> None:
    """A tap reaches the page before the Start button's click: the greeting must still be said. Before
    Start nothing is coached, so no red stop banner either, however high the arm is."""
    require_browser()
    problems: list[str] = []
    with _looping_demo_page(demo_clip, tmp_path, problems) as (server, pg):
        assert pg.evaluate("window.scrollY") == 0, "the page opens at its top"
        pg.wait_for_selector("#angle[data-angle]")
        pg.wait_for_timeout(3000)  # the clip's arm rises before Start: nothing may sound the alarm
        assert pg.locator("#safety").is_hidden()
        # in view and measured, before Start: the page says what to do next
        deadline = time.monotonic() + 20
        while "press Start" not in pg.locator("#state-msg").inner_text():
            assert time.monotonic() < deadline, pg.locator("#state-msg").inner_text()
            time.sleep(0.2)
        # an old "stop" cue fades like any other (in red it would be a false alarm once back down)
        colors = pg.evaluate("""() => { const cue = document.getElementById("cue");
            const color = (kind) => { cue.dataset.kind = kind; return getComputedStyle(cue).color; };
            cue.classList.add("stale");
            return [color("normal"), color("stop"), color("slow")]; }""")
        assert colors[0] == colors[1] == colors[2], colors
        pg.locator("#primary").click()
        pg.wait_for_selector("body[data-started=true]")
        spoken = pg.evaluate("window.__spoken")
        assert spoken and spoken[0].startswith("Let's begin."), spoken
        # a long cue takes no more room than a short one: the readout below does not jump
        tops = pg.evaluate("""() => ["hold",
                                     "Move the camera beside the bed, on the left side, level with the knee"]
            .map((text) => { const cue = document.getElementById("cue");
                             cue.textContent = text; cue.classList.toggle("long", text.length > 22);
                             return document.getElementById("angle").getBoundingClientRect().top; })""")
        assert tops[0] == tops[1], tops
    assert not problems, "\n".join(problems)


def test_an_old_cue_from_another_state_goes_once_faded(demo_clip: Path, tmp_path: Path) -> None:
    """'Rest a moment' stayed under the readout, faded, long after the rest was over and the state line
    said 'go ahead': a cue faded and said in another state is cleared."""
    require_browser()
    problems: list[str] = []
    with _looping_demo_page(demo_clip, tmp_path, problems) as (server, pg):
        pg.locator("#primary").click()
        pg.wait_for_selector("body[data-started=true]")
        pg.locator("#rest").click()
        pg.wait_for_function("() => document.getElementById('cue').textContent === 'Rest a moment'")
        req = urllib.request.Request(server + "/live/resume", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).close()  # the rest ends (as Resume on the page)
        pg.wait_for_function("() => document.body.dataset.state !== 'resting'")
        assert pg.locator("#cue").inner_text() == "Rest a moment"  # still bright for a while: it was just said
        pg.wait_for_function("() => document.getElementById('cue').textContent !== 'Rest a moment'",
                             timeout=15_000)
    assert not problems, "\n".join(problems)


def _wait_for_button(pg, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pg.locator("#primary").inner_text().strip() != text:
        assert time.monotonic() < deadline, f"the big button says {pg.locator('#primary').inner_text()!r}, not {text!r}"
        time.sleep(0.2)


def test_a_restarted_server_gets_start_again(demo_clip: Path, tmp_path: Path) -> None:
    """The page outlives the server: once it is back (no session running), the page offers Start again
    instead of showing Pause for a session that no longer exists."""
    require_browser()
    problems: list[str] = []
    args = ("--source", str(demo_clip), "--loop", "--exercise", DEMO_SPEC.exercise, "--side", DEMO_SPEC.side)
    first = romcam_serve(tmp_path, *args, timeout=STARTUP_S)
    port, _ = first.__enter__()
    server = f"http://127.0.0.1:{port}"
    try:
        with offline_page(server, problems, init_script=RECORD_SPEECH) as pg:
            _open(pg, server)
            pg.locator("#primary").click()
            _wait_for_button(pg, "Pause")
            first.__exit__(None, None, None)  # the server stops (Ctrl-C) ...
            first = None
            with romcam_serve(tmp_path, *args, timeout=STARTUP_S, port=port):  # ... and starts again
                assert _status(server)["started"] is False
                _wait_for_button(pg, "Start")
                assert pg.locator("body").get_attribute("data-started") == "false"
                pg.locator("#primary").click()
                _wait_for_button(pg, "Pause")
                assert _status(server)["started"] is True
    finally:
        if first is not None:
            first.__exit__(None, None, None)
    # while the server was away the page's reconnection attempts fail, as they should
    unexpected = [p for p in problems if "WebSocket" not in p and "ERR_CONNECTION_REFUSED" not in p
                  and "video.mjpg" not in p and "Failed to load resource" not in p]
    assert not unexpected, "\n".join(unexpected)


@pytest.fixture
def broken_clip(demo_clip: Path, tmp_path: Path) -> Path:
    """The demo clip as MJPEG frames cut in the middle: a file that breaks part-way."""
    full = tmp_path / "full.avi"
    write_mjpg(full, video_frames(demo_clip), DEMO_SPEC.fps)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return cut


def test_a_file_that_breaks_is_not_shown_as_a_normal_end(broken_clip: Path, tmp_path: Path) -> None:
    require_browser()
    problems: list[str] = []
    with romcam_serve(tmp_path, "--source", str(broken_clip), "--exercise", DEMO_SPEC.exercise, "--side",
                      DEMO_SPEC.side, timeout=STARTUP_S) as (port, _):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, init_script=RECORD_SPEECH) as pg:
            _open(pg, server)
            pg.locator("#primary").click()
            pg.wait_for_selector("body[data-state=source_lost]", timeout=90_000)
            message = pg.locator("#state-msg").inner_text()
            assert "The video stopped:" in message and "broke after frame" in message, message
            assert "has ended" not in message
            check = pg.locator("#check-camera .check-detail").inner_text()
            assert "broke after frame" in check, check
    assert not [p for p in problems if "video.mjpg" not in p], "\n".join(problems)
