"""Hands-free start on the coaching page, in Debian's chromium against a real ``romcam serve`` on the
looping demo clip (docs/live.md ``POST /live/auto_start``).

A patient with weak hands and the laptop out of reach turns "Start by itself" on once; from then on,
in place in front of the camera, the page counts down and the session starts without a key. The
page remembers the choice in this browser and asks the server again after a restart. Before Start
the rep counter stays at 0, though the clip's figure is already moving (the detector runs).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import offline_page, require_browser, romcam_serve

from tests.conftest import DEMO_SPEC

WATCH = """() => {
  window.__reps = [];
  window.__states = [];
  new MutationObserver(() => window.__reps.push(document.getElementById('reps').textContent))
    .observe(document.getElementById('reps'), {childList: true, characterData: true, subtree: true});
  new MutationObserver(() => window.__states.push(document.getElementById('state-msg').textContent))
    .observe(document.getElementById('state-msg'), {childList: true, characterData: true, subtree: true});
}"""


def _status(server: str) -> dict:
    with urllib.request.urlopen(server + "/live/status", timeout=5) as r:
        return json.loads(r.read())


def _post(server: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(server + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def live_server(demo_clip: Path, tmp_path: Path) -> Iterator[str]:
    require_browser()
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--exercise", DEMO_SPEC.exercise, "--side",
                      DEMO_SPEC.side, "--loop", timeout=120) as (port, _):
        yield f"http://127.0.0.1:{port}"


def test_start_by_itself_counts_down_and_starts_with_no_key_and_is_remembered(live_server: str) -> None:
    problems: list[str] = []
    with offline_page(live_server, problems, timeout_ms=30_000) as page:
        page.goto(live_server + "/coach")
        page.wait_for_selector("body[data-ready=true]")
        toggle = page.locator("#auto-start")
        assert toggle.get_attribute("aria-pressed") == "false" and "off" in toggle.inner_text()
        box = toggle.bounding_box()
        assert box is not None and box["height"] >= 44
        page.evaluate(WATCH)
        # the clip's figure does its reps before anyone pressed Start: nothing counts yet
        page.wait_for_function("() => document.getElementById('state-msg').textContent.includes('press Start')")
        page.wait_for_timeout(4000)
        toggle.focus()
        page.keyboard.press("Enter")  # a keyboard or a switch reaches it as a click does
        page.wait_for_selector("#auto-start[aria-pressed=true]")
        assert "on" in toggle.inner_text()
        assert page.evaluate("() => localStorage.getItem('romcam.coach.autostart')") == "1"
        page.wait_for_selector("body[data-started=true]", timeout=45_000)  # no Start pressed
        states = page.evaluate("() => window.__states")
        countdown = [s for s in states if "starting by itself in" in s]
        assert countdown, states
        assert any("5 s" in s for s in countdown) and any("1 s" in s for s in countdown), countdown
        assert set(page.evaluate("() => window.__reps")) <= {"0"}  # 0 before Start, whatever the clip did
        assert page.locator("#primary").inner_text() == "Pause"

        # the server forgets (restarted), twice: the page asks for it again from what this browser remembers
        for _ in range(2):
            assert _post(live_server, "/live/auto_start", {"on": False})["auto_start"] is False
            deadline = time.monotonic() + 15
            while not _status(live_server)["auto_start"]:
                assert time.monotonic() < deadline, "the page did not ask the server again"
                page.wait_for_timeout(200)  # not time.sleep: the page's requests pass through this process
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#auto-start[aria-pressed=true]")
        assert _status(live_server)["auto_start"] is True
        # reloaded, no gesture yet: the browser allows no speech, and the page says what gives it its voice
        assert page.locator("#voice-locked").is_visible()
        assert "one tap or key press" in page.locator("#voice-locked").inner_text()
        page.keyboard.press("Shift")
        page.wait_for_selector("#voice-locked", state="hidden")
    assert not problems, "\n".join(problems)
