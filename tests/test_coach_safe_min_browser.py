"""The coaching page past the PT's safe minimum, in a real browser (Debian's chromium, Playwright) against a
real ``romcam serve`` on the rendered demo clip (``--loop``): the clip's arm rests at about 10° between
reps, under a prescription whose safe minimum is 40° (target 90°-130°, safe maximum 160°, which the arm's
140° peaks never pass). The same red banner as past the safe maximum says stop, in words for the low end;
the gauge marks the limit (docs/live.md).

Without /usr/bin/chromium or the playwright package the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import RECORD_SPEECH, offline_page, require_browser, serve_plan

from tests.conftest import DEMO_SPEC

STARTUP_S = 120
PLAN = {"exercise": DEMO_SPEC.exercise, "side": DEMO_SPEC.side, "mode": "active", "posture": "standing",
        "target_min": 90, "target_max": 130, "safe_max": 160, "safe_min": 40, "reps": 30, "hold_s": 0,
        "sessions_per_week": 3, "notes": ""}

# every time the red banner is shown: its words, the limit it is about and the angle readout's zone then
WATCH = RECORD_SPEECH + """
window.__banners = [];
new MutationObserver(() => {
  const banner = document.getElementById("safety");
  if (!banner) return;
  if (banner.hidden) { banner.dataset.seen = ""; return; }
  if (banner.dataset.seen === "1") return;
  banner.dataset.seen = "1";
  window.__banners.push({text: document.getElementById("safety-text").textContent, limit: banner.dataset.limit,
                         zone: document.getElementById("angle").dataset.zone,
                         note: document.getElementById("angle-note").textContent});
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["hidden", "data-zone"]});
"""


@pytest.fixture(scope="module")
def server(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    with serve_plan(tmp_path_factory.mktemp("coach-safe-min"), demo_clip, [PLAN], "--loop", timeout=STARTUP_S) as url:
        yield url


def test_below_the_safe_minimum_the_red_banner_says_ease_it_back(server: str, problems: list[str]) -> None:
    with offline_page(server, problems, init_script=WATCH) as pg:
        pg.goto(server + "/coach", wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        pg.wait_for_selector("#angle[data-angle]")
        # the gauge shows the limit before anything is passed: a red stretch below it and its tick
        legend = pg.locator("#gauge-legend").inner_text()
        # both limits named for their end: "Safe limit 160°" beside "Safe minimum 40°" read as if only the
        # top one were a limit
        assert "Safe minimum 40°" in legend and "Safe maximum 160°" in legend, legend
        assert pg.locator("#gauge-under").get_attribute("d").startswith("M ")
        tick = [float(pg.locator("#gauge-safe-min").get_attribute(a)) for a in ("x1", "y1", "x2", "y2")]
        assert any(abs(v) > 1 for v in tick), tick
        title = pg.locator("#gauge-title").text_content()
        assert "safe minimum 40" in title and "safe maximum 160" in title, title
        pg.locator("#primary").click()
        pg.wait_for_selector("body[data-started=true]")
        pg.wait_for_selector("#safety[data-limit=min]", state="visible", timeout=30_000)
        assert pg.locator("#safety-text").inner_text() == "Stop — ease it back"
        # the arm goes back up into the target: the warning has done its job, and goes
        pg.wait_for_selector("#safety", state="hidden", timeout=30_000)
        pg.wait_for_selector("#safety[data-limit=min]", state="visible", timeout=30_000)  # and the next rest
        banners = pg.evaluate("window.__banners")
        spoken = pg.evaluate("window.__spoken")
    assert len(banners) >= 2, banners
    assert {(b["text"], b["limit"]) for b in banners} == {("Stop — ease it back", "min")}, banners
    assert any(b["zone"] == "below_safe_min" and b["note"] == "Past your safe limit" for b in banners), banners
    assert "stop, ease it back" in [s.lower().rstrip(".") for s in spoken], spoken
    assert not any("come back down" in s for s in spoken), spoken


def _wait_for_socket(pg, routes: list) -> None:  # type: ignore[no-untyped-def]
    """Until the page's /live/ws has reached the test's handler (``routes``)."""
    for _ in range(200):
        if routes:
            return
        pg.wait_for_timeout(100)
    raise AssertionError("the page opened no /live/ws")


def _frame(exercise: str, angle: float, zone: str, band: tuple[float, float], t: float) -> dict:
    """A frame event as the live server sends it (romcam/live/events.py), for the page's readout."""
    return {"type": "frame", "t": t, "exercise": exercise, "side": "left", "mode": "active", "angle": angle,
            "confidence": 0.9, "view_ok": True, "target_min": band[0], "target_max": band[1], "safe_max": None,
            "safe_min": None, "zone": zone, "rep": 0, "reps_target": 10, "hold_s": 0.0, "hold_target_s": 0,
            "cue": None, "cue_id": 0, "state": "exercising", "demo": False, "view_hint": None, "missing": None,
            "effective_fps": 15.0, "angle_raw": angle, "started": True, "plan_index": 0, "fatigued": False,
            "rest_remaining_s": None, "auto_paused": False, "auto_start_in_s": None, "frame": int(t * 15),
            "session_id": None, "light": 0.5, "recording_problem": None, "subject": None}


@pytest.mark.parametrize("exercise, band, readings", [
    # a knee extension works toward its band's low end: resting bent above the band it has not got there
    # yet (the readout said "Top of the target reached"); straighter than the band, it has passed its end
    ("knee_extension", (0, 10), [(60.0, "above_target", ""), (5.0, "in_target", "In your target range"),
                                 (-3.0, "below", "End of the target reached")]),
    ("shoulder_abduction", (90, 130), [(40.0, "below", ""), (140.0, "above_target", "Top of the target reached")]),
])  # fmt: skip
def test_the_readout_says_the_end_of_the_target_the_exercise_works_toward(
        server: str, problems: list[str], exercise: str, band: tuple, readings: list) -> None:
    import json
    import re

    routes: list = []  # the page's /live/ws, answered here instead of by the server

    with offline_page(server, problems) as pg:
        pg.route_web_socket(re.compile(r".*/live/ws$"), lambda ws: routes.append(ws))
        pg.goto(server + "/coach", wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        _wait_for_socket(pg, routes)
        for i, (angle, zone, note) in enumerate(readings):
            routes[-1].send(json.dumps(_frame(exercise, angle, zone, band, 1.0 + i)))
            pg.wait_for_selector(f"#angle[data-zone={zone}]")
            assert pg.locator("#angle-note").inner_text() == note, (angle, zone)


@pytest.mark.parametrize("zone, limit, said", [
    ("above_safe_max", "max", "Stop — bring it back: this is the PT's safe maximum"),
    ("below_safe_min", "min", "Stop — ease it back: this is the PT's safe minimum"),
])  # fmt: skip
def test_to_a_caregiver_the_stop_alert_says_why(server: str, problems: list[str], zone: str, limit: str,
                                                said: str) -> None:
    """In passive mode a screen reader hears a stop from the banner (an alert; the cue is hidden from it
    then, so it is not heard twice): the banner tells the caregiver why, as the spoken cue does."""
    import json
    import re

    routes: list = []

    def passive_plan(route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()
        plan = [item | {"mode": "passive"} for item in response.json()]  # the caregiver moves the limb
        route.fulfill(response=response, json=plan)

    def passive_status(route) -> None:  # type: ignore[no-untyped-def]
        # the status carries the plan as the coach follows it (the PT's changes come in that way): the same one
        response = route.fetch()
        status = response.json()
        status["plan"] = [item | {"mode": "passive"} for item in status.get("plan") or []]
        route.fulfill(response=response, json=status)

    with offline_page(server, problems) as pg:
        pg.route(re.compile(r".*/live/plan$"), passive_plan)
        pg.route(re.compile(r".*/live/status$"), passive_status)
        pg.route_web_socket(re.compile(r".*/live/ws$"), lambda ws: routes.append(ws))
        pg.goto(server + "/coach", wait_until="domcontentloaded")
        pg.wait_for_selector("body[data-ready=true]")
        _wait_for_socket(pg, routes)
        ev = _frame(DEMO_SPEC.exercise, 170.0 if limit == "max" else 20.0, zone, (90, 130), 1.0)
        ev |= {"mode": "passive", "safe_max": 160, "safe_min": 40, "cue_id": 1,
               "cue": f"stop: this is the PT's safe {'maximum' if limit == 'max' else 'minimum'}"}
        routes[-1].send(json.dumps(ev))
        pg.wait_for_selector(f"#safety[data-limit={limit}]", state="visible")
        assert pg.locator("#safety-text").inner_text() == said.split(": ")[0]  # the words seen stay short
        heard = pg.evaluate("""() => [...document.querySelectorAll('#safety-text, #safety-why')]
                                       .map(n => n.textContent).join('')""")
        assert heard == said


def test_the_page_is_ready_only_with_its_plan_and_a_first_stop_speaks_to_the_caregiver(
        server: str, problems: list[str]) -> None:
    """``body[data-ready=true]`` means the page has today's plan, each item with its mode: with the plan's
    answer held back it is not set. A passive stop in the first moment after Start, before the plan has
    arrived, is already worded for the caregiver (the frame says its mode); and once the plan is there, so
    is everything else the page says."""
    import json
    import re

    sockets: list = []
    held: list = []  # the page's GET /live/plan, answered when the test says

    with offline_page(server, problems) as pg:
        pg.route(re.compile(r".*/live/plan$"), lambda route: held.append(route))
        pg.route_web_socket(re.compile(r".*/live/ws$"), lambda ws: sockets.append(ws))
        pg.goto(server + "/coach", wait_until="domcontentloaded")
        _wait_for_socket(pg, sockets)
        for _ in range(100):
            if held:
                break
            pg.wait_for_timeout(100)
        assert held, "the page asked for no plan"
        pg.wait_for_timeout(500)
        assert pg.locator("body").get_attribute("data-ready") != "true", "ready without its plan"
        # nor does it say there is no plan while it waits for one
        assert "No plan" not in pg.locator("#current-line").inner_text()

        # Start has just been pressed (elsewhere) and the caregiver lifts the arm past the safe maximum
        ev = _frame(DEMO_SPEC.exercise, 170.0, "above_safe_max", (90, 130), 1.0)
        ev |= {"mode": "passive", "safe_max": 160, "safe_min": 40, "cue_id": 1,
               "cue": "stop: this is the PT's safe maximum"}
        sockets[-1].send(json.dumps(ev))
        pg.wait_for_selector("#safety[data-limit=max]", state="visible")
        heard = pg.evaluate("""() => [...document.querySelectorAll('#safety-text, #safety-why')]
                                       .map(n => n.textContent).join('')""")
        assert heard == "Stop — bring it back: this is the PT's safe maximum"
        assert pg.locator("#angle-note").inner_text() == "Past the PT's safe maximum"
        assert pg.locator("#state-msg").inner_text() == "Move the limb slowly, within the patient's comfort."
        assert pg.locator("body").get_attribute("data-ready") != "true"

        route = held[0]
        response = route.fetch()
        route.fulfill(response=response, json=[item | {"mode": "passive"} for item in response.json()])
        pg.wait_for_selector("body[data-ready=true]")
        # ready means the plan is shown, and the page's own words are the caregiver's
        assert pg.locator("#plan-list li").count() == 1
        assert "passive" in pg.locator("#current-line").inner_text()
        assert pg.locator("#check-inview .check-label").inner_text() == "All of the patient in the picture"
        assert pg.locator("#safety-text").inner_text() == "Stop — bring it back"
