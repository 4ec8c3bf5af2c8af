"""The coaching page when measuring stops mid-session (a real browser, a real ``romcam serve``).

A patient whose screen is out of reach, or a caregiver who watches the patient and not the screen, must
hear it: the server stopping must not leave the last angle on screen as if live ("In your target range")
with nothing said, the picture ending (a camera unplugged, the video over) is said aloud too, and a page
reloaded mid-session (no gesture yet, so the browser allows no speech) must say that its voice waits for
one tap or key. Screenshots: tests/artifacts/coach_connection*.png (gitignored).
"""

from __future__ import annotations

from pathlib import Path

from helpers import ARTIFACTS, RECORD_SPEECH, offline_page, require_browser, romcam_serve, stop

ANGLE_SHOWN = "() => document.getElementById('angle').dataset.angle !== undefined"


def _start(pg, server: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(server + "/coach")
    pg.wait_for_selector("body[data-ready=true]")
    pg.wait_for_function(ANGLE_SHOWN, timeout=60_000)
    pg.keyboard.press("Space")   # Start, and the gesture that lets the page speak
    pg.wait_for_function("() => document.body.dataset.started === 'true'")
    pg.wait_for_function(ANGLE_SHOWN, timeout=30_000)


def test_the_page_says_aloud_that_nothing_is_measured_when_the_server_stops(demo_clip: Path, tmp_path: Path) -> None:
    require_browser()
    problems: list[str] = []
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--loop", "--exercise", "shoulder_abduction",
                      timeout=120) as (port, proc):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, width=1366, height=768, init_script=RECORD_SPEECH) as pg:
            _start(pg, server)
            assert pg.locator("#primary").inner_text() == "Pause"
            assert not problems, problems
            stop(proc)   # the server is gone mid-session (stopped, crashed, the laptop asleep)
            pg.wait_for_function("() => /Lost contact/.test(document.getElementById('state-msg').textContent)",
                                 timeout=15_000)
            pg.screenshot(path=str(ARTIFACTS / "coach_connection_lost.png"))
            msg = pg.locator("#state-msg").inner_text()
            assert "nothing is measured now" in msg and "reconnects by itself" in msg, msg
            # the last angle is not left on screen as if it were live
            assert pg.locator("#angle").inner_text() == "—"
            assert pg.evaluate("document.getElementById('angle').dataset.angle") is None
            assert pg.locator("#angle-note").inner_text() == "Not measured"
            assert "none" in pg.locator("#gauge-needle").get_attribute("class").split()   # nor its needle
            spoken = pg.evaluate("window.__spoken")
            assert any(s.startswith("Lost contact with the coach") for s in spoken), spoken
            # no stale cue under it, no button that could only fail, and the picture says it is not live
            assert pg.locator("#cue").inner_text() == ""
            for button in ("#primary", "#rest", "#next", "#finish"):
                assert pg.locator(button).is_disabled(), button
            assert pg.locator("#video-msg").inner_text() == "No contact with the coach"
            # the server back on its port (a restart has no session): the page says so and shows the live angle
            with romcam_serve(tmp_path, "--source", str(demo_clip), "--loop", "--exercise", "shoulder_abduction",
                              timeout=120, port=port):
                pg.wait_for_function("() => !/Lost contact/.test(document.getElementById('state-msg').textContent)",
                                     timeout=30_000)
                pg.wait_for_function(ANGLE_SHOWN, timeout=30_000)
                assert "Connected to the coach again." in pg.evaluate("window.__spoken")
                assert pg.locator("#primary").is_enabled()


def test_a_page_reloaded_mid_session_says_its_voice_waits_for_a_key(demo_clip: Path, tmp_path: Path) -> None:
    require_browser()
    problems: list[str] = []
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--loop", "--exercise", "shoulder_abduction",
                      timeout=120) as (port, _):
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, width=1024, height=600, init_script=RECORD_SPEECH) as pg:
            _start(pg, server)
            assert pg.locator("#voice-locked").is_hidden()   # Start was the gesture: the voice is on
            pg.reload()
            pg.wait_for_selector("body[data-ready=true]")
            pg.wait_for_function("() => document.body.dataset.started === 'true'")
            pg.wait_for_function(ANGLE_SHOWN, timeout=30_000)
            # the session runs on, and the browser lets the page speak only after a gesture: say so
            pg.wait_for_selector("#voice-locked", state="visible", timeout=10_000)
            assert "one tap or key press" in pg.locator("#voice-locked").inner_text()
            pg.screenshot(path=str(ARTIFACTS / "coach_connection_reloaded.png"))
            # the first tap, the gesture that lets it speak, presses the button it lands on (the note above
            # the buttons does not vanish under the finger)
            pg.locator("#rest").click()
            pg.wait_for_selector("body[data-state=resting]", timeout=5_000)
            pg.wait_for_selector("#voice-locked", state="hidden", timeout=5_000)
        assert not [p for p in problems if "video.mjpg" not in p], problems


def test_the_page_says_aloud_when_the_picture_ends_mid_session(demo_clip: Path, tmp_path: Path) -> None:
    require_browser()
    problems: list[str] = []
    with romcam_serve(tmp_path, "--source", str(demo_clip), "--exercise", "shoulder_abduction",
                      timeout=120) as (port, _):   # no --loop: the video ends mid-session
        server = f"http://127.0.0.1:{port}"
        with offline_page(server, problems, width=1366, height=768, init_script=RECORD_SPEECH) as pg:
            _start(pg, server)
            pg.wait_for_function("() => document.body.dataset.state === 'source_lost'", timeout=60_000)
            assert "The video has ended." in pg.locator("#state-msg").inner_text()
            pg.wait_for_function("() => window.__spoken.includes('The video has ended.')", timeout=5_000)
        assert not [p for p in problems if "video.mjpg" not in p], problems
