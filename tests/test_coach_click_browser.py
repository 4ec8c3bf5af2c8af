"""Click-to-select on the coaching page, in a real browser (Debian's chromium via Playwright), against
a real ``romcam serve`` on a rendered two-person clip: a seated patient whose left arm a standing
caregiver moves (passive shoulder abduction, front view).

The subject is left on ``auto`` with a standing posture, so romcam cannot tell who the patient is by
posture: the click decides. Clicking the caregiver locks onto the caregiver (the green box is on
them); clicking the patient locks onto the patient, the page says so in large text, and the measured
angles follow the patient's rendered truth. Any script error, console error (CSP included) or request
off the server fails the test. Screenshot: tests/artifacts/coach_click.png (gitignored).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import ARTIFACTS, RECORD_SPEECH, offline_page, require_browser, romcam_serve

from romcam.render import RenderSpec, render_clip
from romcam.render.clip import Truth, people_torsos, truth_path

SPEC = RenderSpec(exercise="shoulder_abduction", side="left", view="front", posture="seated", reps=5, fps=10,
                  width=480, height=360, seed=11, caregiver=True, caregiver_posture="standing")
STARTUP_S = 120


def _status(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/live/status", timeout=5) as r:
        return json.loads(r.read())


def _wait(pg, base: str, check, timeout: float = 30.0) -> dict:  # type: ignore[no-untyped-def]
    """Poll GET /live/status until ``check``; waits through the page (its requests are routed through
    this test's handler, which only runs while Playwright is called)."""
    deadline = time.monotonic() + timeout
    while True:
        s = _status(base)
        if check(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last status subject: {s.get('subject')}, t={s.get('t')}")
        pg.wait_for_timeout(100)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    require_browser()
    out = tmp_path_factory.mktemp("click") / "two_people.mp4"
    render_clip(SPEC, out)
    patient, carer = people_torsos(SPEC)
    return out, patient, carer


@pytest.fixture
def served(clip, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with romcam_serve(tmp_path, "--source", str(clip[0]), "--exercise", SPEC.exercise, "--side", SPEC.side,
                      "--mode", "passive", timeout=STARTUP_S) as (port, _):
        yield f"http://127.0.0.1:{port}"


def _centre(torsos: np.ndarray, t: float) -> np.ndarray:
    """The person's torso centre (normalized 0..1) at time ``t`` of the clip."""
    i = int(np.clip(round(t * SPEC.fps), 0, len(torsos) - 1))
    return torsos[i].mean(axis=0) / [SPEC.width, SPEC.height]


def _box_centre(subject: dict) -> np.ndarray:
    x0, y0, x1, y1 = subject["box"]
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def _click(pg, point: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Click the picture at a normalized image point (the <img> letterboxes it: object-fit contain). The
    picture is brought into view first, as a person would scroll back to it: Tab to the buttons below it may
    have scrolled it partly out of the window."""
    pg.locator("#video").evaluate("(v) => v.scrollIntoView({block: 'center'})")
    box = pg.locator("#video").bounding_box()
    scale = min(box["width"] / SPEC.width, box["height"] / SPEC.height)
    w, h = SPEC.width * scale, SPEC.height * scale
    x = box["x"] + (box["width"] - w) / 2 + point[0] * w
    y = box["y"] + (box["height"] - h) / 2 + point[1] * h
    assert pg.evaluate("([x, y]) => document.elementFromPoint(x, y).id", [x, y]) == "video"
    pg.mouse.click(x, y)


# the page's lines that speak to the patient ("you" in passive mode is the caregiver, who presses Start)
TO_THE_PATIENT = ("Let's get you in position", "Waiting for you", "at your own pace", "I can't see your",
                  "In your target range", "Past your safe limit", "Rest. Take your time")

COLLECT_JS = """(ms) => new Promise((resolve) => {
  const out = [];
  const ws = new WebSocket(`ws://${location.host}/live/ws`);
  ws.onmessage = (e) => { const ev = JSON.parse(e.data);
    if (ev.type === "frame") out.push([ev.t, ev.angle, ev.subject ? ev.subject.selector : null]); };
  setTimeout(() => { ws.close(); resolve(out); }, ms);
})"""


def test_clicking_decides_who_is_measured(served: str, clip) -> None:  # type: ignore[no-untyped-def]
    path, patient, carer = clip
    truth = Truth.from_json(truth_path(path).read_text())
    problems: list[str] = []
    with offline_page(served, problems, init_script=RECORD_SPEECH) as pg:
        pg.goto(f"{served}/coach")
        deadline = time.monotonic() + 60
        while pg.evaluate("() => document.getElementById('video').naturalWidth") == 0:  # the MJPEG plays
            assert time.monotonic() < deadline, "the video never showed"
            pg.wait_for_timeout(200)
        s = _wait(pg, served, lambda s: s["subject"] and s["subject"]["people"] == 2 and s["subject"]["locked"])
        # two people in view: the page says who is measured and that a tap changes it
        pg.wait_for_selector("#subject-line[data-kind=choose], #subject-line[data-kind=locked]")
        assert "tap" in pg.locator("#subject-line").inner_text().lower()

        # 1. click the caregiver: the caregiver is measured (so the click really decides)
        _click(pg, _centre(carer, s["t"]))
        s = _wait(pg, served, lambda s: s["subject"]["locked"] and "," in s["subject"]["selector"]
                  and s["subject"]["box"] is not None)
        c = _box_centre(s["subject"])
        assert np.linalg.norm(c - _centre(carer, s["t"])) < np.linalg.norm(c - _centre(patient, s["t"]))

        # 2. click the patient: the patient is measured, the page says so, the angles follow the truth
        _click(pg, _centre(patient, s["t"]))
        first = s["subject"]["selector"]
        s = _wait(pg, served, lambda s: s["subject"]["locked"] and s["subject"]["selector"] != first
                  and s["subject"]["box"] is not None)
        c = _box_centre(s["subject"])
        assert np.linalg.norm(c - _centre(patient, s["t"])) < np.linalg.norm(c - _centre(carer, s["t"]))
        assert s["subject"]["confirmed"] is True
        pg.wait_for_selector("#subject-line[data-kind=locked]")
        line = pg.locator("#subject-line")
        assert "measuring the person you tapped" in line.inner_text()
        assert float(line.evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)")) >= 20  # large text
        assert pg.locator("#subject-box").is_visible()
        events = pg.evaluate(COLLECT_JS, 4000)
        # each tap's lock is announced once (events still naming the first tap do not announce it again)
        said = [u for u in pg.evaluate("window.__spoken") if u.startswith("Got it")]
        assert len(said) == 2, said
        # passive: the page's own lines speak to the caregiver about the patient, not to the patient
        for _ in range(10):
            shown = pg.locator("#state-msg").inner_text() + " " + pg.locator("#angle-note").inner_text()
            assert not any(p in shown for p in TO_THE_PATIENT), shown
            pg.wait_for_timeout(150)
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "coach_click.png"))
    assert not problems, "\n".join(problems)
    chosen = s["subject"]["selector"]
    measured = [(t, a) for t, a, sel in events if a is not None and sel == chosen]
    assert len(measured) >= 5, events[-5:]
    errors = [abs(a - float(np.interp(t, truth.times, truth.angles[SPEC.exercise]))) for t, a in measured]
    assert float(np.mean(errors)) <= 12.0, (np.mean(errors), measured[:10])


@pytest.fixture
def served_looping(clip, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with romcam_serve(tmp_path, "--source", str(clip[0]), "--loop", "--exercise", SPEC.exercise, "--side", SPEC.side,
                      "--mode", "passive", timeout=STARTUP_S) as (port, _):
        yield f"http://127.0.0.1:{port}"


def _nearer(s: dict, one: np.ndarray, other: np.ndarray) -> bool:
    """The box of the person measured is nearer ``one``'s torso than ``other``'s (at the frame's time)."""
    c = _box_centre(s["subject"])
    return bool(np.linalg.norm(c - one) < np.linalg.norm(c - other))


# how often the element's text is written in the next ``ms`` milliseconds
COUNT_WRITES_JS = """([id, ms]) => new Promise((resolve) => {
  let n = 0;
  const watch = new MutationObserver((records) => { n += records.length; });
  watch.observe(document.getElementById(id), {childList: true, characterData: true, subtree: true});
  setTimeout(() => { watch.disconnect(); resolve(n); }, ms);
})"""


def _press(pg, base: str, button, key: str, first: str) -> dict:  # type: ignore[no-untyped-def]
    """Focus ``button`` and press ``key`` (a keyboard's Enter, a switch's space); the status once a new
    lock (a selector other than ``first``) has found its person."""
    button.focus()
    pg.keyboard.press(key)
    return _wait(pg, base, lambda s: s["subject"]["locked"] and s["subject"]["selector"] != first
                 and s["subject"]["box"] is not None)


def _measured_id(s: dict) -> int:
    """The id of the person measured, from the status's ``subject.persons``."""
    (measured,) = [p for p in s["subject"]["persons"] if p["measured"]]
    return int(measured["id"])


def test_a_keyboard_or_a_switch_chooses_the_patient_as_a_tap_does(served_looping: str,
                                                                  clip) -> None:  # type: ignore[no-untyped-def]
    """With two people in view the page offers a large button a person, left to right in the picture
    ("Patient is on the left" / "on the right"), reached with Tab; Enter (or a switch's space) on one
    locks onto that person, as a tap on them does — and the space does not start the session. A button
    posts the person's id (``persons[].id``), not a point: the server follows that person, wherever
    they have moved by the frame the choice applies in; a tap posts its point."""
    base = served_looping
    _, patient, carer = clip
    problems: list[str] = []
    with offline_page(base, problems, init_script=RECORD_SPEECH) as pg:
        posted: list[dict] = []  # the bodies the page posts to /live/subject
        pg.on("request", lambda r: posted.append(json.loads(r.post_data or "null"))
              if r.url.endswith("/live/subject") and r.method == "POST" else None)
        pg.goto(f"{base}/coach")
        s = _wait(pg, base, lambda s: s["subject"] and s["subject"]["people"] == 2 and s["subject"]["locked"], 60)
        pick = pg.locator("#subject-pick")
        pick.wait_for(state="visible")
        buttons = pick.locator("button")
        assert buttons.all_inner_texts() == ["Patient is on the left", "Patient is on the right"]
        sizes = buttons.evaluate_all("(bs) => bs.map((b) => [b.offsetWidth, b.offsetHeight])")
        assert all(w >= 44 and h >= 44 for w, h in sizes), sizes
        # reached from the page's first control with Tab alone
        pg.locator("#mute").focus()
        for _ in range(20):
            pg.keyboard.press("Tab")
            if pg.evaluate("() => Boolean(document.activeElement.closest('#subject-pick'))"):
                break
        else:
            raise AssertionError("Tab never reaches the buttons that choose the patient")
        patient_left = _centre(patient, s["t"])[0] < _centre(carer, s["t"])[0]
        to_patient, to_carer = (buttons.nth(0), buttons.nth(1)) if patient_left else (buttons.nth(1), buttons.nth(0))

        # a tap on the patient: what the buttons must match
        _click(pg, _centre(patient, s["t"]))
        first = s["subject"]["selector"]
        s = _wait(pg, base, lambda s: s["subject"]["locked"] and s["subject"]["selector"] != first
                  and s["subject"]["box"] is not None)
        assert _nearer(s, _centre(patient, s["t"]), _centre(carer, s["t"]))
        tapped = s["subject"]
        assert set(posted[-1]) == {"x", "y"}  # a tap posts its point
        patient_id = _measured_id(s)

        # a switch's space on the caregiver's button: the caregiver is measured (the button decides), and
        # the space presses the button, it does not start the session
        s = _press(pg, base, to_carer, "Space", s["subject"]["selector"])
        assert _nearer(s, _centre(carer, s["t"]), _centre(patient, s["t"]))
        carer_id = _measured_id(s)
        assert carer_id != patient_id and posted[-1] == {"person": carer_id}  # the button posts the person's id
        assert s["subject"]["selector"] == f"person {carer_id}"
        pg.wait_for_function("(b) => b.getAttribute('aria-pressed') === 'true'", arg=to_carer.element_handle())
        assert pg.locator("body").get_attribute("data-started") == "false"

        # Enter on the patient's button: the patient, as the tap chose — the same person (id) the tap found
        s = _press(pg, base, to_patient, "Enter", s["subject"]["selector"])
        assert _nearer(s, _centre(patient, s["t"]), _centre(carer, s["t"]))
        assert posted[-1] == {"person": patient_id} and _measured_id(s) == patient_id
        assert s["subject"]["selector"] == f"person {patient_id}"
        assert s["subject"]["confirmed"] is tapped["confirmed"] is True
        pg.wait_for_function("(b) => b.getAttribute('aria-pressed') === 'true'", arg=to_patient.element_handle())
        assert to_carer.get_attribute("aria-pressed") == "false"
        where = "on the left" if patient_left else "on the right"
        pg.wait_for_selector("#subject-line[data-kind=locked]")
        assert f"measuring the person {where}" in pg.locator("#subject-line").inner_text()
        said = [u for u in pg.evaluate("window.__spoken") if u.startswith("Got it")]
        assert said[-1] == f"Got it. I'm measuring the person {where}.", said
        # the line is an assertive live region: written when what it says changes, not with every frame
        assert pg.evaluate(COUNT_WRITES_JS, ["subject-line", 3000]) <= 1
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "coach_pick.png"))
    assert not problems, "\n".join(problems)



def _mjpeg_frame(base: str) -> np.ndarray:
    """The newest annotated frame of /live/video.mjpg (BGR), as the page's <img> shows it."""
    import cv2

    with urllib.request.urlopen(f"{base}/live/video.mjpg", timeout=10) as r:
        length = None
        while length is None:
            line = r.readline().strip()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        r.readline()  # the blank line before the JPEG
        image = cv2.imdecode(np.frombuffer(r.read(length), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _green_frame(image: np.ndarray) -> np.ndarray:
    """The centre lines ``[x0, y0, x1, y1]`` (pixels) of the green "PATIENT" rectangle drawn in ``image``:
    the columns and the rows that are mostly that green (the label above it is text, sparse)."""
    from romcam.live.annotate import PATIENT_COLOUR

    green = (np.abs(image.astype(int) - PATIENT_COLOUR).max(axis=2) < 60).astype(int)
    cols = green.sum(axis=0)
    xs = np.flatnonzero(cols >= 0.5 * cols.max())
    left, right = xs[xs < xs.min() + 6], xs[xs > xs.max() - 6]
    rows = green[:, int(left.max()) + 1: int(right.min())].sum(axis=1)
    ys = np.flatnonzero(rows >= 0.7 * (right.min() - left.max() - 1))
    top, bottom = ys[ys < ys.min() + 6], ys[ys > ys.max() - 6]
    return np.array([left.mean(), top.mean(), right.mean(), bottom.mean()])


# the page's frame and the picture as the page shows them: the frame's border centre line, the <img>'s box,
# and the picture's own size (object-fit: contain letterboxes it in the <img>)
PAGE_BOXES_JS = """() => {
  const frame = document.getElementById("subject-box"), img = document.getElementById("video");
  const f = frame.getBoundingClientRect(), i = img.getBoundingClientRect();
  const half = parseFloat(getComputedStyle(frame).borderTopWidth) / 2;
  return {hidden: frame.hidden, frame: [f.left + half, f.top + half, f.right - half, f.bottom - half],
          img: [i.left, i.top, i.width, i.height], natural: [img.naturalWidth, img.naturalHeight]};
}"""


def test_the_pages_patient_frame_is_the_one_drawn_in_the_video(served: str) -> None:
    """The green "Patient" frame the page lays over the picture and the one drawn into the video are one box:
    the event's ``subject.box`` is the rectangle the video draws, and the page draws it scaled to the picture
    as shown, letterboxed, in a wide short window (1366×650: bars left and right) and on a phone — placed
    again when the window changes, with no new frame (the file has ended, the last frame stays)."""
    problems: list[str] = []
    with offline_page(served, problems, width=1280, height=800, init_script=RECORD_SPEECH) as pg:
        pg.goto(f"{served}/coach")
        pg.wait_for_selector("body[data-state=source_lost]", timeout=120_000)  # the clip played to its end
        subject = _status(served)["subject"]
        assert subject["people"] == 2 and subject["locked"] and subject["box"], subject
        box = np.array(subject["box"])
        # the event's box is the frame drawn in the video (its last frame, which the page shows)
        image = _mjpeg_frame(served)
        h, w = image.shape[:2]
        drawn = _green_frame(image) / [w, h, w, h]
        assert np.abs(drawn - box).max() * w <= 2.0, (drawn * [w, h, w, h], box * [w, h, w, h])
        pg.wait_for_function("() => document.getElementById('video').naturalWidth > 0")
        for width, height in ((1366, 650), (390, 844)):
            pg.set_viewport_size({"width": width, "height": height})
            pg.wait_for_timeout(500)  # the layout, then the page's resize handling
            seen = pg.evaluate(PAGE_BOXES_JS)
            assert not seen["hidden"], f"no patient frame on the page at {width}×{height}"
            left, top, iw, ih = seen["img"]
            nw, nh = seen["natural"]
            scale = min(iw / nw, ih / nh)
            x, y = left + (iw - nw * scale) / 2, top + (ih - nh * scale) / 2
            want = np.array([x + box[0] * nw * scale, y + box[1] * nh * scale,
                             x + box[2] * nw * scale, y + box[3] * nh * scale])
            off = np.abs(np.array(seen["frame"]) - want).max()
            assert off <= 1.5, f"at {width}×{height} the page's frame is {off:.1f} px off the video's: " \
                               f"{seen['frame']} vs {want.tolist()}"
            if width == 1366:
                assert iw - nw * scale > 20, "the picture should be letterboxed in this window"
    assert not [p for p in problems if "video.mjpg" not in p], "\n".join(problems)
