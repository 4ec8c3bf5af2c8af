"""What the coaching page says to a patient too far from the screen to read it, and what it must never say
beside its own check: in a real browser (Debian's chromium, Playwright) against a real ``romcam serve``.

- Each completed rep's count is spoken ("3 of 10."), with the voice on; only the latest when reps come fast;
  never over a safety message, which is never held back for a count.
- Once the picture has ended, the camera check says so and what to do, not "move the laptop".
- Before Start, "✓ All set" in the camera check and the state line agree ("You're in position: press Start
  or the space bar."), never "Let's get you in position." beside it.
- The end summary says a best far past the target's top went past it, and by how much.

The server (the PT's plan in its database, the rendered demo clip) serves the page, its plan and the picture;
most tests answer the page's /live/ws and /live/status themselves, to send the moments they are about. The
browser's speech is recorded (headless chromium has none), each utterance "speaking" for 0.6 s.

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from helpers import offline_page, require_browser, romcam_serve, serve_plan

from romcam.degrees import whole_degrees  # the page's Math.round (half up), not Python's round
from romcam.live.capture import PACE_PROBLEMS
from romcam.live.recorder import storage_problem
from tests.conftest import DEMO_SPEC

STARTUP_S = 120
PLAN = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
        "target_min": 90, "target_max": 130, "safe_max": 160, "reps": 10, "hold_s": 0, "sessions_per_week": 3,
        "notes": ""}

# the browser's speech, recorded with the page's clock: [{text, at}] and {cancel: true, at} for a cut-short;
# an utterance keeps speechSynthesis.speaking true for 0.6 s (a real voice takes about that for "3 of 10")
SPEECH = """
window.__speech = [];
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
let busyUntil = 0;
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  get speaking() { return performance.now() < busyUntil; },
  cancel() { busyUntil = 0; window.__speech.push({ cancel: true, at: performance.now() }); },
  speak(u) {
    if (!u.text) return;
    window.__speech.push({ text: u.text, at: performance.now() });
    busyUntil = performance.now() + 600;
  } } });
"""
COUNT = re.compile(r"^\d+( of \d+)?\.$")  # a rep's count, as spoken


@pytest.fixture(scope="module")
def server(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    with serve_plan(tmp_path_factory.mktemp("coach-spoken"), demo_clip, [PLAN], "--loop", timeout=STARTUP_S) as url:
        yield url


def _frame(**fields: Any) -> str:
    """A frame event as the live server sends it (romcam/live/events.py), with ``fields`` changed."""
    ev = {"type": "frame", "t": 1.0, "exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active",
          "angle": 60.0, "confidence": 0.9, "view_ok": True, "target_min": 90, "target_max": 130, "safe_max": 160,
          "safe_min": None, "zone": "below", "rep": 0, "reps_target": 10, "hold_s": 0.0, "hold_target_s": 0,
          "cue": None, "cue_id": 0, "state": "exercising", "demo": False, "view_hint": None, "missing": None,
          "effective_fps": 15.0, "angle_raw": 60.0, "started": True, "plan_index": 0, "fatigued": False,
          "rest_remaining_s": None, "auto_paused": False, "auto_start_in_s": None, "frame": 15,
          "session_id": None, "light": 0.5, "recording_problem": None, "subject": None}
    ev |= fields
    ev["angle_raw"] = ev["angle"]
    return json.dumps(ev)


class Coach:
    """The page's /live/ws and /live/status, answered by the test: ``status`` is what the page is told."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.sockets: list[Any] = []

    def status_route(self, route: Any) -> None:
        route.fulfill(json=self.status)

    def send(self, pg: Any, text: str) -> None:
        for _ in range(200):
            if self.sockets:
                break
            pg.wait_for_timeout(100)
        assert self.sockets, "the page opened no /live/ws"
        self.sockets[-1].send(text)
        pg.wait_for_timeout(30)


@contextmanager
def coach_page(server: str, problems: list[str], status: dict[str, Any],
               plan: list[dict[str, Any]] | None = None) -> Iterator[tuple[Any, Coach]]:
    """The page on ``server`` with /live/ws and /live/status answered by the test (and /live/plan: ``plan``)."""
    coach = Coach({"type": "status", "demo": False, "source": "0", "plan_index": 0, "session_id": None,
                   "auto_start": False, "recording_problem": None, "source_error": None} | status)
    with offline_page(server, problems, init_script=SPEECH) as pg:
        pg.route(re.compile(r".*/live/status$"), coach.status_route)
        if plan is not None:
            pg.route(re.compile(r".*/live/plan$"), lambda route: route.fulfill(json=plan))
        pg.route_web_socket(re.compile(r".*/live/ws$"), lambda ws: coach.sockets.append(ws))
        pg.goto(server + "/coach", wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        yield pg, coach


def _said(pg: Any, since: float = 0.0) -> list[dict]:
    return [s for s in pg.evaluate("window.__speech") if s["at"] >= since]


def _counts(pg: Any, since: float = 0.0) -> list[str]:
    return [s["text"] for s in _said(pg, since) if COUNT.match(s.get("text", ""))]


def _now(pg: Any) -> float:
    return pg.evaluate("performance.now()")


def test_each_rep_is_counted_aloud_the_latest_only_and_not_with_the_voice_off(
        server: str, problems: list[str]) -> None:
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        coach.send(pg, _frame(rep=0))
        coach.send(pg, _frame(rep=1, t=2.0))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '1 of 10.')", timeout=3_000)
        assert pg.locator("#reps").inner_text() == "1"
        # four reps in half a second (a caregiver moving fast): not "2 of 10", "3 of 10", … late, one after
        # another, but the latest once the voice is free
        start = _now(pg)
        for rep in (2, 3, 4, 5):
            coach.send(pg, _frame(rep=rep, t=2.0 + rep / 10))
            pg.wait_for_timeout(100)
        pg.wait_for_timeout(3_000)
        counts = _counts(pg, start)  # "2 of 10." may come at once, if the voice was free by then
        assert counts and counts[-1] == "5 of 10." and len(counts) <= 2, _said(pg, start)
        assert "3 of 10." not in counts and "4 of 10." not in counts, counts
        # with the voice off nothing is said, the count is still shown; back on, the next rep is said again
        pg.locator("#mute").click()
        assert pg.locator("#mute").get_attribute("aria-pressed") == "true"
        start = _now(pg)
        coach.send(pg, _frame(rep=6, t=3.0))
        pg.wait_for_timeout(2_000)
        assert pg.locator("#reps").inner_text() == "6"
        assert _said(pg, start) == [] or all("text" not in s for s in _said(pg, start)), _said(pg, start)
        pg.locator("#mute").click()
        coach.send(pg, _frame(rep=7, t=4.0))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '7 of 10.')", timeout=3_000)
        # a plan with no count of reps: the number alone
        coach.send(pg, _frame(rep=8, t=5.0, reps_target=None))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '8.')", timeout=4_000)


def test_a_rep_count_never_talks_over_a_stop_nor_holds_it_back(server: str, problems: list[str]) -> None:
    stop = {"zone": "above_safe_max", "angle": 166.0, "cue": "stop, come back down"}
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()
        coach.send(pg, _frame(rep=0, angle=120.0, zone="in_target"))
        # a rep counted, and past the safe maximum a moment later: the stop is said at once, cutting the count
        coach.send(pg, _frame(rep=1, t=2.0))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '1 of 10.')", timeout=3_000)
        sent = _now(pg)
        coach.send(pg, _frame(t=2.2, rep=1, cue_id=1, **stop))
        pg.wait_for_function("() => window.__speech.some(s => /^stop/i.test(s.text || ''))", timeout=3_000)
        said = _said(pg, sent)
        assert said[0].get("cancel") and said[1]["text"] == "stop, come back down", said
        assert said[1]["at"] - sent < 800, said  # not held back for the count (a count waits 1.2 s for it)
        assert pg.locator("#safety").is_visible()
        # a rep that ends in the same moment as a stop: its count waits until the stop has been said and the
        # warning has done its job (back in the band), then is said
        pg.wait_for_timeout(3_000)
        coach.send(pg, _frame(t=5.0, angle=120.0, zone="in_target", rep=1))
        sent = _now(pg)
        coach.send(pg, _frame(t=5.5, rep=2, cue_id=2, **stop))
        pg.wait_for_timeout(800)
        coach.send(pg, _frame(t=6.0, rep=2, angle=120.0, zone="in_target", cue_id=2, cue="stop, come back down"))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '2 of 10.')", timeout=5_000)
        said = [s for s in _said(pg, sent) if "text" in s]
        assert [s["text"] for s in said] == ["stop, come back down", "2 of 10."], said
        cut = [s for s in _said(pg, said[0]["at"] + 1) if s.get("cancel")]
        assert not cut, "nothing may cut the stop short"
        assert said[1]["at"] - said[0]["at"] >= 2_000, said  # after the stop, not over it


def test_once_a_camera_stops_the_check_says_so_not_move_the_laptop(server: str, problems: list[str]) -> None:
    with coach_page(server, problems, {"state": "positioning", "started": False}) as (pg, coach):
        coach.send(pg, _frame(state="positioning", started=False, angle=None, missing="left_wrist not visible"))
        pg.wait_for_selector("#check-inview[data-ok=no]")
        assert "laptop" in pg.locator("#check").inner_text()  # in view, the wrist not: move the laptop
        why = "camera 0 stopped sending frames — check the cable, or close other programs using it"
        coach.status |= {"state": "source_lost", "source_error": why}
        coach.send(pg, json.dumps(coach.status))
        pg.wait_for_selector("body[data-state=source_lost]")
        pg.wait_for_timeout(300)
        check = pg.locator("#check").inner_text()
        assert "laptop" not in check.lower(), check
        assert "Camera 0 stopped sending frames — check the cable" in check, check
        assert "No picture, so nothing is measured now: the camera line above says what to do." in check, check


def test_an_angle_is_not_left_on_screen_once_the_pictures_stop(server: str, problems: list[str]) -> None:
    """A camera that froze sends no frame, and the server says it is lost only after 5 s: meanwhile the
    last angle must not stay on screen as if it were live."""
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        coach.send(pg, _frame(angle=120.0, zone="in_target"))
        pg.wait_for_function("() => document.getElementById('angle').textContent === '120°'")
        pg.wait_for_timeout(1_500)
        assert pg.locator("#angle").inner_text() == "120°", "a second without a frame is not a frozen camera"
        pg.wait_for_function("() => document.getElementById('angle').textContent === '—'", timeout=3_000)
        assert pg.locator("#angle-note").inner_text() == "Not measured"
        assert pg.evaluate("document.getElementById('angle').dataset.angle") is None
        assert "none" in pg.locator("#gauge-needle").get_attribute("class").split()
        coach.send(pg, _frame(t=9.0, angle=110.0, zone="in_target"))   # the pictures come again
        pg.wait_for_function("() => document.getElementById('angle').textContent === '110°'", timeout=3_000)


def test_a_network_cameras_address_is_shown_as_written(server: str, problems: list[str]) -> None:
    """The server's words start with the stream's address: the page's capital letter made it "Http://…"."""
    url = "http://192.168.1.20:8080/video"
    with coach_page(server, problems, {"state": "exercising", "started": True, "source": url}) as (pg, coach):
        why = f"{url} stopped sending frames — check that the camera is on and still on the network"
        coach.status |= {"state": "source_lost", "source_error": why}
        coach.send(pg, json.dumps(coach.status))
        pg.wait_for_selector("body[data-state=source_lost]")
        pg.wait_for_timeout(300)
        assert pg.locator("#check-camera .check-detail").inner_text() == why


def test_once_the_video_has_ended_the_check_says_so_and_what_to_do(demo_clip: Path, tmp_path: Path,
                                                                    problems: list[str]) -> None:
    """A real ``romcam serve`` on a video file that plays once: it ends before Start."""
    require_browser()
    with romcam_serve(tmp_path, "--source", str(demo_clip), timeout=STARTUP_S) as (port, _):
        url = f"http://127.0.0.1:{port}"
        with offline_page(url, problems) as pg:
            pg.goto(url + "/coach", wait_until="domcontentloaded")
            pg.wait_for_selector("body[data-ready=true]")
            pg.wait_for_selector("#check-inview[data-ok=yes]", timeout=60_000)
            # while the picture plays (the advice is folded away once all is set: its text, not what shows)
            assert "Move the laptop" in pg.locator("#check-advice").text_content()
            pg.wait_for_selector("body[data-state=source_lost]", timeout=60_000)
            pg.wait_for_timeout(300)
            check = pg.locator("#check").inner_text()
            state = pg.locator("#state-msg").inner_text()
    assert "laptop" not in check.lower(), check
    assert "The video has ended, so there is nothing to measure. To exercise, start romcam again with the camera." \
        in check, check
    assert state == "The video has ended. Nothing was recorded.", state  # before Start: no session to save


def _check(pg: Any) -> tuple[str, str]:
    return tuple(pg.evaluate("""() => [document.getElementById('state-msg').textContent,
                                       document.getElementById('check-summary').textContent]"""))


def test_before_start_all_set_and_the_state_line_agree(server: str, problems: list[str]) -> None:
    before = {"state": "positioning", "started": False, "cue": None}
    with coach_page(server, problems, {"state": "positioning", "started": False}) as (pg, coach):
        seen = []
        # in place and seen clearly; then a frame whose view is not judged yet (back in view after a moment
        # out of it, the frame without anyone not received); then in place again
        views = [True] * 6 + [None] * 2 + [True] * 3
        for i, view_ok in enumerate(views):
            coach.send(pg, _frame(t=1.0 + i / 10, view_ok=view_ok, **before))
            pg.wait_for_timeout(120)
            seen.append(_check(pg))
        # never two contradicting messages at once
        assert not [(m, a) for m, a in seen if a == "✓ All set" and "Let's get you in position" in m], seen
        for msg, summary in seen:
            if summary:
                assert msg == "You're in position: press Start or the space bar.", seen
            else:
                assert "in position: press Start" not in msg, seen
        assert seen[5] == ("You're in position: press Start or the space bar.", "✓ All set"), seen
        assert seen[-1] == seen[5], seen
        assert seen[6][1] == "", seen  # the view not judged: not all set
        # a screen reader hears it too, not only "Let's get you in position." from the state's first frame
        assert pg.locator("#announce").text_content() == "You're in position: press Start or the space bar."


def _seated_plan(server: str) -> list[dict[str, Any]]:
    """The server's plan item, done in a chair: with the camera setup the server gives for it."""
    with urlopen(f"{server}/live/plan") as plan, urlopen(
            f"{server}/live/setup?exercise={DEMO_SPEC.exercise}&posture=seated&side={DEMO_SPEC.side}") as setup:
        item = json.load(plan)[0]
        return [item | {"posture": "seated", "setup": json.load(setup)}]


@pytest.mark.parametrize("view_ok", [None, False], ids=["in-place-view-not-judged-yet", "camera-in-the-wrong-place"])
def test_a_seated_patient_in_place_is_asked_to_start_and_hears_the_camera_setup_only_when_it_is_wrong(
        server: str, problems: list[str], view_ok: bool | None) -> None:
    """In a chair, the arm at rest: the camera's view of it is judged once it moves (after Start), so before
    Start it reads "Checking…". The state line said "Let's get you in position." there — with nothing to put
    right — and Start read the whole camera setup out (40 words) to a patient already in place. Now it asks
    for Start, and the setup is said with "Let's begin." when the camera is judged in the wrong place."""
    plan = _seated_plan(server)
    setup = plan[0]["setup"]
    hint = setup["fix"] if view_ok is False else None
    with coach_page(server, problems, {"state": "positioning", "started": False}, plan=plan) as (pg, coach):
        # Start is answered here too: the module's server must not begin a session
        pg.route(re.compile(r".*/live/start$"), lambda route: route.fulfill(
            json=coach.status | {"state": "positioning", "started": True}))
        pg.wait_for_selector("#current-setup:not([hidden])")
        for i in range(4):
            coach.send(pg, _frame(t=1.0 + i / 10, state="positioning", started=False, angle=5.0, zone="below",
                                  view_ok=view_ok, view_hint=hint))
        pg.wait_for_timeout(300)
        state_line = pg.locator("#state-msg").inner_text()
        if view_ok is None:
            assert pg.locator("#check-view").inner_text().endswith("Checking…")
            assert state_line == "Ready when you are: press Start.", state_line
        else:
            assert state_line == "Put the camera straight in front of the patient, at shoulder height.", state_line
        pg.locator("#primary").click()
        pg.wait_for_function("() => window.__speech.some((s) => s.text)", timeout=3_000)
        said = [s["text"] for s in _said(pg) if "text" in s]
        assert said[0] == ("Let's begin." if view_ok is None else f"Let's begin. {setup['text']}"), said


@pytest.mark.parametrize("peak, safe_max, praise, limit", [
    # far past the target's top, within the safe maximum: fine, and said as it is
    (165.0, 170, "You went 35° past the top of your target range (90°–130°).", None),
    # a best that rounds to the top reached it
    (130.4, 170, "You reached the top of your target range (90°–130°).", None),
    # past the safe maximum too: that line says it (as before)
    (175.0, 170, "You reached the top of your target range (90°–130°).",
     "Once you went past your safe limit of 170°: next time, stop at the top of the target."),
])  # fmt: skip
def test_the_summary_says_how_far_past_the_target_top_a_best_went(
        server: str, problems: list[str], peak: float, safe_max: int, praise: str, limit: str | None) -> None:
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        for i, angle in enumerate([60.0, 110.0, peak, 110.0, 60.0]):
            zone = "below" if angle < 90 else "in_target" if angle <= 130 else "above_target"
            coach.send(pg, _frame(t=1.0 + i, angle=angle, zone=zone, safe_max=safe_max, rep=1 if i == 4 else 0))
        coach.status |= {"state": "done"}
        coach.send(pg, json.dumps(coach.status))
        pg.wait_for_selector("#end:not([hidden])")
        pg.wait_for_selector("#summary li")
        shown = pg.locator("#summary li .sum-praise").inner_text()
        lines = pg.locator("#summary li .sum-line").all_inner_texts()
    assert praise in shown, lines
    assert f"Your best: {whole_degrees(peak)}°." in lines, lines
    assert [x for x in lines if "safe" in x] == ([limit] if limit else []), lines


# every text written into one of the page's live regions, with the region's id: [{id, text}]
HEARD = """() => {
  window.__heard = [];
  const LIVE = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]";
  new MutationObserver((records) => {
    const seen = new Set();
    for (const r of records) {
      const node = r.target.nodeType === Node.TEXT_NODE ? r.target.parentNode : r.target;
      const region = node && node.closest && node.closest(LIVE);
      if (!region || seen.has(region)) continue;
      seen.add(region);
      window.__heard.push({id: region.id, text: region.textContent});
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _heard_count(pg: Any, rep: int) -> list[str]:
    """What told the patient of rep ``rep`` of 10: the voice's words and each live region's, once each."""
    said = [s["text"] for s in pg.evaluate("window.__speech") if s.get("text") == f"{rep} of 10."]
    shown = [f"{h['id']}: {h['text']}" for h in pg.evaluate("window.__heard")
             if re.search(rf"\b{rep} of 10\b", h["text"])]
    return said + shown


def test_a_rep_count_is_heard_once_with_the_voice_on_or_off(server: str, problems: list[str]) -> None:
    """A screen reader's user with the voice on heard "3 of 10." from the voice and "Rep 3 of 10." from
    #announce. Now the count comes from one of them: the voice when it is on, #announce when it is off."""
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        assert pg.locator("#announce").get_attribute("aria-live") == "polite"
        assert pg.locator("#reps").evaluate(
            "(n) => !n.closest('[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]')")
        pg.evaluate(HEARD)
        pg.locator("#now-title").click()  # a tap: the browser lets the page speak
        coach.send(pg, _frame(rep=0))
        # the voice on: said aloud, and #announce leaves it out
        coach.send(pg, _frame(rep=1, t=2.0))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '1 of 10.')", timeout=3_000)
        pg.wait_for_timeout(500)
        assert _heard_count(pg, 1) == ["1 of 10."], _heard_count(pg, 1)
        # the voice off (a screen reader's user): #announce says it, the voice nothing
        pg.locator("#mute").click()
        assert pg.locator("#mute").get_attribute("aria-pressed") == "true"
        coach.send(pg, _frame(rep=2, t=3.0))
        pg.wait_for_function("() => /Rep 2 of 10/.test(document.getElementById('announce').textContent)",
                             timeout=3_000)
        pg.wait_for_timeout(2_000)  # the voice would have said it by now
        assert _heard_count(pg, 2) == ["announce: Rep 2 of 10."], _heard_count(pg, 2)
        # on again: the voice alone once more
        pg.locator("#mute").click()
        coach.send(pg, _frame(rep=3, t=4.0))
        pg.wait_for_function("() => window.__speech.some(s => s.text === '3 of 10.')", timeout=3_000)
        pg.wait_for_timeout(500)
        assert _heard_count(pg, 3) == ["3 of 10."], _heard_count(pg, 3)


def test_a_loop_that_cannot_keep_up_is_said_not_counted_quietly_wrong(server: str, problems: list[str]) -> None:
    """docs/live.md "Keeping up": too few pictures measured to count reps is shown and said once; a video
    playing slower than its speed (its count right) is shown only; both go when the loop keeps up again."""
    too_few, slow = PACE_PROBLEMS["too_few_frames"], PACE_PROBLEMS["slow_video"]
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        note = pg.locator("#pace-problem")
        coach.send(pg, _frame(pace=None, pace_problem=None))
        assert note.is_hidden()
        start = _now(pg)
        coach.send(pg, _frame(t=2.0, pace="too_few_frames", pace_problem=too_few))
        coach.send(pg, _frame(t=2.5, pace="too_few_frames", pace_problem=too_few))
        pg.wait_for_function("() => window.__speech.some(s => s.text && s.text.startsWith('Too few pictures'))",
                             timeout=3_000)
        assert note.is_visible() and note.inner_text() == too_few
        # the voice says it whole: its region shows it without announcing it too (docs/live.md)
        assert (note.get_attribute("role"), note.get_attribute("aria-live")) == (None, "off")
        pg.wait_for_timeout(1_500)
        said = [s["text"] for s in _said(pg, start) if "text" in s]
        assert said.count(too_few) == 1, said  # the whole note, once
        # a loop near the line flips between keeping up and not: the note stays through a short spell of keeping
        # up (a screen reader heard it each time it came back) and goes once the loop has kept up for 5 s
        pg.evaluate("""() => { window.__paceShown = 0; new MutationObserver(() => {
            if (!document.getElementById('pace-problem').hidden) window.__paceShown += 1; })
            .observe(document.getElementById('pace-problem'), {attributes: true, childList: true}); }""")
        for t in (2.6, 2.8, 3.0):
            coach.send(pg, _frame(t=t, pace=None, pace_problem=None))
            pg.wait_for_timeout(300)
            coach.send(pg, _frame(t=t + 0.1, pace="too_few_frames", pace_problem=too_few))
            pg.wait_for_timeout(300)
        assert note.is_visible() and pg.evaluate("window.__paceShown") == 0, "the note flickered"
        coach.send(pg, _frame(t=3.2, pace=None, pace_problem=None))
        pg.wait_for_timeout(1_000)
        assert note.is_visible()
        pg.wait_for_function("() => document.getElementById('pace-problem').hidden", timeout=8_000)
        start = _now(pg)
        coach.send(pg, _frame(t=3.5, pace="slow_video", pace_problem=slow))
        pg.wait_for_function("() => !document.getElementById('pace-problem').hidden")
        assert note.inner_text() == slow
        assert (note.get_attribute("role"), note.get_attribute("aria-live")) == ("status", None)  # not said: read
        pg.wait_for_timeout(1_000)
        assert not any(s.get("text", "").startswith("The video plays") for s in _said(pg, start)), _said(pg, start)


@pytest.mark.parametrize("expected, asked", [(2, True), (1, False)])
def test_one_person_found_when_a_helper_is_expected_is_not_taken_for_the_patient_silently(
        server: str, problems: list[str], expected: int, asked: bool) -> None:
    """Passive or assisted ROM standing: the model found one person, perhaps the helper while it missed the
    patient, and the page said nothing of whom it measured. Now it asks as it does for two people (the
    subject tracker leaves that pick unconfirmed, romcam/subject.py); with nobody else expected, nothing."""
    subject = {"selector": "auto", "locked": True, "confirmed": expected < 2, "people": 1, "expected": expected,
               "reason": "the only person in view", "box": [0.3, 0.1, 0.6, 0.9],
               "persons": [{"id": 0, "at": [0.45, 0.4], "box": [0.3, 0.1, 0.6, 0.9], "measured": True}]}
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        coach.send(pg, _frame(mode="passive" if expected > 1 else "active", subject=subject))
        pg.wait_for_function("() => document.getElementById('reps').textContent.trim() !== ''")
        pg.wait_for_timeout(300)
        line = pg.locator("#subject-line")
        if asked:
            assert line.is_visible()
            assert line.inner_text() == "Measuring the person in the green frame. Not the patient? Tap the patient."
            assert pg.locator("#subject-box").is_visible()
        else:
            assert line.is_hidden()


def test_the_voice_button_tells_a_screen_readers_user_how_to_hear_each_thing_once(
        server: str, problems: list[str]) -> None:
    """Each cue and count is said by the voice or by a screen reader, never both: the button's description says
    which, and how to hear them from the other (tests/test_coach_live_browser.py has what is heard)."""
    def described() -> str:
        return " ".join(pg.locator("#mute").evaluate(
            "(b) => (b.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)"
            ".map((id) => document.getElementById(id).textContent).join(' ')").split())

    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        on = described()
        pg.locator("#mute").click()
        assert pg.locator("#mute").get_attribute("aria-pressed") == "true"
        off = described()
        assert pg.locator("#cue").get_attribute("aria-live") == "polite"  # what the description rests on
    assert on == ("The voice says each cue and count, so your screen reader leaves them out. Turn the voice off "
                  "to have your screen reader read them instead."), on
    assert off == ("Your screen reader reads each cue and count. Turn the voice on to hear them from the page's "
                   "voice instead, without your screen reader."), off


def test_a_cue_the_voice_does_not_say_after_all_is_read_by_the_screen_reader(
        server: str, problems: list[str]) -> None:
    """With the voice on, a cue the voice says is hidden from a screen reader (#cue, aria-hidden), heard once. One
    still waiting for the voice when the voice is turned off, or one the browser's voice fails to say, would then
    be heard by nobody: it is written again in #cue, for the screen reader. A browser with no voice installed says
    nothing and no error: the cues and counts are the screen reader's from the start."""
    def cue() -> dict[str, Any]:
        return pg.evaluate("""() => { const span = document.querySelector('#cue > span');
            return {text: span.textContent, hidden: span.getAttribute('aria-hidden') === 'true'}; }""")

    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        coach.send(pg, _frame(cue="a little higher", cue_id=1))
        pg.wait_for_function("() => window.__speech.some(s => s.text === 'a little higher')", timeout=3_000)
        assert cue() == {"text": "A little higher", "hidden": True}  # said by the voice alone
        # the next cue within 2.5 s waits for the voice; the voice turned off (key M) meanwhile: never said
        coach.send(pg, _frame(cue="good, lower slowly", cue_id=2, t=1.5))
        pg.wait_for_function("() => document.querySelector('#cue').textContent === 'Good, lower slowly'")
        assert cue() == {"text": "Good, lower slowly", "hidden": True}
        pg.keyboard.press("m")
        assert cue() == {"text": "Good, lower slowly", "hidden": False}, "the screen reader has it now"
        assert not any(s.get("text") == "good, lower slowly" for s in _said(pg))
        # the voice on again, and the browser's voice fails (no voice installed, say): the cue is read instead
        pg.keyboard.press("m")
        pg.evaluate("""() => { window.speechSynthesis.speak = (u) => {
            if (u.text) setTimeout(() => u.onerror({error: "synthesis-failed"}), 50); }; }""")
        coach.send(pg, _frame(cue="hold", cue_id=3, t=9.0))
        pg.wait_for_function("""() => document.querySelector('#cue').textContent === 'Hold'
                                      && document.querySelector('#cue > span:not([aria-hidden])')""", timeout=6_000)
        assert cue() == {"text": "Hold", "hidden": False}
        # a browser with no voice installed (headless chromium): it says nothing and reports no error, so the
        # screen reader reads each cue at once, and each count (#announce)
        pg.evaluate("() => { window.speechSynthesis.speak = () => {}; window.speechSynthesis.getVoices = () => []; }")
        coach.send(pg, _frame(cue="a little higher", cue_id=4, t=12.0))
        pg.wait_for_function("() => document.querySelector('#cue').textContent === 'A little higher'")
        assert cue() == {"text": "A little higher", "hidden": False}
        coach.send(pg, _frame(cue="a little higher", cue_id=4, t=12.5, rep=1))
        pg.wait_for_function("() => /Rep 1 of 10/.test(document.getElementById('announce').textContent)",
                             timeout=3_000)


def test_the_camera_checks_label_speaks_to_the_caregiver_before_the_plan_arrives(
        server: str, problems: list[str]) -> None:
    """Frames can come before the plan (a loaded machine; CI saw it): the check's detail spoke to the caregiver
    ("…until the camera sees the patient") under the page's default label "All of you in the picture"."""
    with coach_page(server, problems, {"state": "waiting_for_patient", "started": False}) as (pg, coach):
        pg.route(re.compile(r".*/live/plan$"), lambda route: route.fulfill(json=[]))  # no item to say the mode
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        coach.send(pg, _frame(mode="passive", state="waiting_for_patient", started=False, angle=None))
        pg.wait_for_function("() => document.getElementById('check-inview').dataset.ok !== 'pending'")
        label = pg.locator("#check-inview .check-label").inner_text()
        detail = pg.locator("#check-inview .check-detail").inner_text()
        assert "the patient" in detail, detail
        assert label == "All of the patient in the picture", label


def _live(pg: Any, selector: str) -> tuple[str | None, str | None, str]:
    """A note's role, aria-live and text: ("alert", None, ...) is announced, (None, "off", ...) only shown."""
    node = pg.locator(selector)
    return node.get_attribute("role"), node.get_attribute("aria-live"), node.inner_text()


def test_with_the_voice_on_the_saving_and_pace_notes_are_said_by_it_alone(server: str, problems: list[str]) -> None:
    """The saving problem (an alert) and the pace note (a status) were said by the voice (their first sentence)
    and announced by their regions, heard twice over each other by a screen reader's user. Now the voice says
    each whole and its region only shows it; with the voice off, or when the voice fails, the region says it."""
    saving = storage_problem(OSError(28, "No space left on device"))
    too_few = PACE_PROBLEMS["too_few_frames"]
    assert saving.startswith("The disk is full")
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        coach.status["recording_problem"] = saving  # the status polled says it too
        coach.send(pg, _frame(recording_problem=saving))
        pg.wait_for_function("w => window.__speech.some(s => s.text === w)", arg=saving, timeout=3_000)
        assert _live(pg, "#save-problem") == (None, "off", saving)
        coach.send(pg, _frame(t=2.0, recording_problem=saving, pace="too_few_frames", pace_problem=too_few))
        pg.wait_for_function("w => window.__speech.some(s => s.text === w)", arg=too_few, timeout=6_000)
        assert _live(pg, "#pace-problem") == (None, "off", too_few)
        assert _live(pg, "#save-problem") == (None, "off", saving)  # still shown, still not announced
        # saved after all; then the problem again, and the browser's voice fails to say it
        coach.status["recording_problem"] = None
        coach.send(pg, _frame(t=3.0, recording_problem=None))
        pg.wait_for_function("() => document.getElementById('save-problem').hidden")
        pg.evaluate("""() => { window.speechSynthesis.speak = (u) => {
            if (u.text) setTimeout(() => u.onerror({error: "synthesis-failed"}), 50); }; }""")
        coach.status["recording_problem"] = saving
        coach.send(pg, _frame(t=9.0, recording_problem=saving))
        # the browser's voice fails: the region is an alert again, and writes the note again to be announced
        pg.wait_for_function("""() => { const n = document.getElementById('save-problem');
            return !n.hidden && n.getAttribute('role') === 'alert' && n.textContent !== ''; }""", timeout=8_000)
        assert _live(pg, "#save-problem") == ("alert", None, saving)

    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#mute").click()  # the voice off, as a screen reader's user has it
        assert pg.locator("#mute").get_attribute("aria-pressed") == "true"
        coach.status["recording_problem"] = saving
        coach.send(pg, _frame(recording_problem=saving, pace="too_few_frames", pace_problem=too_few))
        pg.wait_for_function("() => !document.getElementById('pace-problem').hidden")
        pg.wait_for_timeout(1_000)
        assert _live(pg, "#save-problem") == ("alert", None, saving)
        assert _live(pg, "#pace-problem") == ("status", None, too_few)
        assert not [s for s in _said(pg) if s.get("text") in (saving, too_few)]


# the page's next connections refused (window.__refuse), as by a server that is gone, until the test lets them
REFUSE = """() => { const W = window.WebSocket; window.__refuse = true;
    window.WebSocket = class extends W {
        constructor(...a) { if (window.__refuse) throw new Error("refused"); super(...a); } }; }"""


@pytest.mark.parametrize("voice", [True, False])
def test_lost_and_back_in_contact_is_heard_once_with_the_voice_on_or_off(
        server: str, problems: list[str], voice: bool) -> None:
    """Contact with the coach lost: the voice said it, and a screen reader's user with the voice off never heard
    "stop and rest" (only #conn's "Reconnecting"); back, #conn's "Connected" was announced as the voice said
    "Connected to the coach again.". Now each is heard once: from the voice when it is on, else the screen reader."""
    lost = ("Lost contact with the coach: nothing is measured now. Stop and rest; the page reconnects by itself.")
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        if not voice:
            pg.locator("#mute").click()
        coach.send(pg, _frame())
        pg.wait_for_function("() => document.getElementById('conn').textContent === 'Connected'")
        pg.evaluate(REFUSE)
        coach.sockets[-1].close()
        pg.wait_for_function("() => /Lost contact/.test(document.getElementById('state-msg').textContent)",
                             timeout=10_000)
        pg.wait_for_timeout(300)
        said = [s.get("text") for s in _said(pg)]
        announced = pg.locator("#announce").inner_text()
        assert (said.count(lost), announced == lost) == ((1, False) if voice else (0, True)), (said, announced)
        pg.evaluate("() => { window.__refuse = false; }")
        pg.wait_for_function("() => !/Lost contact/.test(document.getElementById('state-msg').textContent)",
                             timeout=15_000)
        pg.wait_for_timeout(300)
        said = [s.get("text") for s in _said(pg)]
        assert said.count("Connected to the coach again.") == (1 if voice else 0), said
        assert "Connected to the coach again." not in pg.locator("#announce").inner_text()
        assert _live(pg, "#conn") == ((None, "off", "Connected") if voice else ("status", None, "Connected"))


def _hold_box(pg: Any) -> tuple[str, str, str]:
    """The hold box as the patient reads it: its label, its number with the unit, the bar's fill."""
    return tuple(pg.evaluate("""() => [document.querySelector('#hold-box .label').textContent,
        document.querySelector('#hold-box .value').textContent,
        document.getElementById('hold-fill').style.width]"""))


def test_the_hold_box_says_the_goal_between_holds_and_the_time_left_while_holding(
        server: str, problems: list[str]) -> None:
    """Between holds the box showed "HOLD 2.0 s", and still 2.0 beside an empty bar as a hold began: it read as
    two seconds already held. It says the goal between holds ("Hold for 2 s"), the time left while holding,
    counting down as the bar fills, and "Held" once done."""
    with coach_page(server, problems, {"state": "exercising", "started": True}) as (pg, coach):
        steps = [  # (the event's state, hold_s, hold_target_s) → what the box says
            (("exercising", 0.0, 2), ("Hold for", "2 s", "0%")),
            (("holding", 0.0, 2), ("Time left", "2.0 s", "0%")),
            (("holding", 0.5, 2), ("Time left", "1.5 s", "25%")),
            (("holding", 2.0, 2), ("Held", "2 s", "100%")),
            (("exercising", 0.0, 2), ("Hold for", "2 s", "0%")),
            (("exercising", 0.0, 1.5), ("Hold for", "1.5 s", "0%")),
            (("holding", 0.3, 12), ("Time left", "12 s", "2.5%")),
        ]
        for i, ((state, held, goal), want) in enumerate(steps):
            angle = 100.0 + i  # each frame's own angle: the page has drawn this frame once it shows it
            coach.send(pg, _frame(t=2.0 + i, state=state, hold_s=held, hold_target_s=goal, zone="in_target",
                                  angle=angle))
            pg.wait_for_function("(a) => document.getElementById('angle').dataset.angle === a",
                                 arg=f"{angle:.1f}", timeout=3_000)
            assert _hold_box(pg) == want, (state, held, goal)
        assert pg.locator("#hold-box").is_visible()


def test_the_hands_free_countdown_is_shown_once_on_the_state_line_and_still_heard(
        server: str, problems: list[str]) -> None:
    """With "Start by itself" on, the state line "All set: starting by itself in 5 s." and the cue "All set:
    starting in 5 seconds" stood one above the other. The state line alone shows it (and counts down); the
    cue is still said by the voice, and is in #cue for a screen reader, visually hidden. After Start the cues
    are shown again."""
    def cue_box() -> dict[str, Any]:
        return pg.evaluate("""() => { const span = document.querySelector('#cue > span');
            const r = span.getBoundingClientRect();
            return {text: span.textContent, width: r.width, height: r.height}; }""")

    with coach_page(server, problems, {"state": "positioning", "started": False, "auto_start": True}) as (pg, coach):
        pg.locator("#now-title").click()  # a tap on the page: the browser lets it speak from now on
        before = {"state": "positioning", "started": False, "view_ok": True}
        coach.send(pg, _frame(t=1.0, cue="all set: starting in 5 seconds", cue_id=7, auto_start_in_s=5.0, **before))
        pg.wait_for_function("() => document.querySelector('#cue > span')", timeout=3_000)
        assert pg.locator("#state-msg").text_content() == "All set: starting by itself in 5 s."
        box = cue_box()
        assert box["text"] == "All set: starting in 5 seconds"  # for the screen reader
        assert box["width"] <= 1 and box["height"] <= 1, box  # not shown a second time
        pg.wait_for_function("() => window.__speech.some(s => s.text === 'all set: starting in 5 seconds')",
                             timeout=3_000)
        coach.send(pg, _frame(t=2.1, cue="all set: starting in 5 seconds", cue_id=7, auto_start_in_s=3.9, **before))
        pg.wait_for_function("""() => document.getElementById('state-msg').textContent
                                      === 'All set: starting by itself in 4 s.'""", timeout=3_000)
        assert cue_box()["width"] <= 1
        assert [s["text"] for s in _said(pg) if "starting" in s.get("text", "")] == ["all set: starting in 5 seconds"]
        # started: the next cue is on screen, large
        coach.send(pg, _frame(t=3.0, cue="a little higher", cue_id=8, state="exercising", started=True))
        pg.wait_for_function("() => document.querySelector('#cue').textContent === 'A little higher'", timeout=3_000)
        assert cue_box()["width"] > 20
