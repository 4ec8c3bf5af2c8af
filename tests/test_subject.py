"""Subject selection and tracking on synthetic two-person pose frames (pure, fast)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from romcam.angles import measure
from romcam.catalog import get_motion
from romcam.landmarks import INDEX, Pose, PoseFrame
from romcam.measure import MotionMeter
from romcam.subject import (
    OCCLUDED_VISIBILITY,
    SelectorError,
    SubjectTracker,
    covered_landmarks,
    occlude_by_hands,
    parse_selector,
    posture_of,
    torso_points,
)
from tests.synthetic_pose import make_pose

W, H = 1280, 720


def shifted(pose: Pose, dx: float, dy: float = 0.0, scale: float = 1.0) -> Pose:
    """The pose moved in the image (pixels) and scaled about its hip centre; world unchanged."""
    img = pose.image.copy()
    hip = 0.5 * (img[INDEX["left_hip"], :2] + img[INDEX["right_hip"], :2])
    img[:, :2] = (img[:, :2] - hip) * scale + hip + np.array([dx, dy])
    return replace(pose, image=img)


def frame(i: int, *poses: Pose, fps: float = 30.0) -> PoseFrame:
    return PoseFrame(index=i, t=i / fps, width=W, height=H, poses=tuple(poses))


def hip_x(pose: Pose) -> float:
    return float(torso_points(pose)[2:, 0].mean())


def standing(angle: float = 30.0) -> Pose:
    return make_pose("shoulder_abduction", "left", angle)


def point_on(pose: Pose) -> str:
    """The ``X,Y`` selector of a click on the pose's chest."""
    c = torso_points(pose).mean(axis=0)
    return f"{c[0] / W:.4f},{c[1] / H:.4f}"


def run(tracker: SubjectTracker, frames: list[PoseFrame]) -> list[Pose | None]:
    return [tracker.update(f) for f in frames]


# ---------------------------------------------------------------------------- selectors


def test_parse_selector():
    assert parse_selector("auto").kind == "auto"
    assert parse_selector("IMAGE-LEFT").kind == "image-left"
    sel = parse_selector("0.25,0.5")
    assert sel.kind == "point" and sel.point == (0.25, 0.5)
    assert str(sel) == "0.25,0.5"
    for bad in ("left", "1,2", "0.5", "a,b", "0.1,0.2,0.3", "", "nan,0.5"):
        with pytest.raises(SelectorError):
            parse_selector(bad)


def test_image_left_and_right_pick_by_image_position():
    a, b = shifted(standing(), -300), shifted(standing(60.0), 300)
    frames = [frame(i, b, a) for i in range(5)]  # MediaPipe's order is not the image order
    left = run(SubjectTracker("image-left"), frames)
    right = run(SubjectTracker("image-right"), frames)
    assert left[-1] is not None and hip_x(left[-1]) < 100
    assert right[-1] is not None and hip_x(right[-1]) > 500


def test_xy_selection_picks_the_person_at_the_point_and_waits_for_one():
    a, b = shifted(standing(), -300), shifted(standing(60.0), 300)
    tracker = SubjectTracker(point_on(b))  # a click on the right-hand person's chest
    out = run(tracker, [frame(i, a) for i in range(4)])  # only the left person yet: wait, do not guess
    assert all(p is None for p in out) and not tracker.locked
    out = run(tracker, [frame(i, a, b) for i in range(4, 10)])
    assert out[-1] is not None and hip_x(out[-1]) > 500
    assert tracker.confirmed


def test_auto_with_one_person_is_confirmed_and_with_two_is_not():
    t1 = SubjectTracker("auto")
    run(t1, [frame(i, standing()) for i in range(4)])
    assert t1.locked and t1.confirmed
    big = shifted(standing(), 250, scale=1.3)
    small = shifted(standing(), -250, scale=0.9)
    t2 = SubjectTracker("auto")
    out = run(t2, [frame(i, small, big) for i in range(4)])
    assert out[-1] is not None and hip_x(out[-1]) > 500  # the largest
    assert t2.locked and not t2.confirmed


def lying_patient() -> Pose:
    return shifted(make_pose("shoulder_flexion", "left", 40.0, posture="lying", view="side"), -100, 250)


def seated_patient() -> Pose:
    """Both hips and knees flexed about 90°: one side from each of two knee-flexion poses."""
    lft = make_pose("knee_flexion", "left", 90.0, posture="seated", view="front", hip_flexion=90.0)
    rgt = make_pose("knee_flexion", "right", 90.0, posture="seated", view="front", hip_flexion=90.0)
    img, world = lft.image.copy(), lft.world.copy()
    for name in ("right_knee", "right_ankle", "right_heel", "right_foot_index"):
        img[INDEX[name]] = rgt.image[INDEX[name]]
        world[INDEX[name]] = rgt.world[INDEX[name]]
    return shifted(replace(lft, image=img, world=world), -250, 100, scale=0.8)


def test_posture_classification():
    assert posture_of(standing()) == "standing"
    assert posture_of(lying_patient()) == "lying"
    assert posture_of(seated_patient()) == "seated"


@pytest.mark.parametrize("patient_fn, posture", [(lying_patient, "lying"), (seated_patient, "seated")])
def test_auto_picks_the_patient_by_posture_even_when_the_caregiver_is_larger(patient_fn, posture):
    patient = patient_fn()
    caregiver = shifted(standing(), 350, scale=1.4)
    for sel, hint in (("auto", posture), (posture, None)):
        tracker = SubjectTracker(sel, posture=hint)
        out = run(tracker, [frame(i, caregiver, patient) for i in range(5)])
        assert out[-1] is not None
        assert abs(hip_x(out[-1]) - hip_x(patient)) < 1e-6
        assert tracker.confirmed, tracker.reason
    # a standing prescription gives no posture cue: the largest, not confirmed
    tracker = SubjectTracker("auto", posture="standing")
    out = run(tracker, [frame(i, caregiver, patient) for i in range(5)])
    assert out[-1] is not None and abs(hip_x(out[-1]) - hip_x(caregiver)) < 1e-6 and not tracker.confirmed


# ---------------------------------------------------------------------------- tracking


def crossing_frames(n: int = 90) -> tuple[list[PoseFrame], list[float]]:
    """The patient stands at x≈440 (small jitter); a caregiver walks from the far right to the far
    left through the patient, slightly larger (nearer the camera), hiding the patient for a few
    frames in the middle (only the caregiver is found there)."""
    rng = np.random.default_rng(0)
    frames, truth = [], []
    for i in range(n):
        patient = shifted(standing(30.0 + 40.0 * np.sin(i / 8.0)), -200 + rng.normal(0, 2), rng.normal(0, 2))
        cx = 500 - 14.0 * i  # walks right → left, 14 px a frame
        caregiver = shifted(standing(10.0), cx, 10, scale=1.25)
        hidden = abs(cx + 200) < 60  # caregiver right in front of the patient
        poses = (caregiver,) if hidden else ((caregiver, patient) if i % 2 else (patient, caregiver))
        frames.append(frame(i, *poses))
        truth.append(hip_x(patient))
    return frames, truth


def test_crossing_keeps_the_subject_and_never_takes_the_caregiver():
    frames, truth = crossing_frames()
    tracker = SubjectTracker("image-left")  # at the start the patient is on the left
    out = run(tracker, frames)
    missing = 0
    for i, (p, x) in enumerate(zip(out, truth, strict=True)):
        if p is None:
            missing += 1
            continue
        assert abs(hip_x(p) - x) < 10, f"frame {i}: tracked the caregiver"
    assert missing <= 15  # the lock's first frames and the frames the patient is hidden
    assert out[-1] is not None  # and the patient is found again after the crossing
    assert tracker.switches == 0


def test_two_people_swap_sides_and_identity_holds():
    """Both walk: the patient left→right, the caregiver right→left, crossing mid-way."""
    out_x, truth = [], []
    tracker = SubjectTracker("image-left")
    for i in range(60):
        patient = shifted(standing(), -400 + 14 * i, 0)
        caregiver = shifted(standing(), 400 - 14 * i, 30, scale=1.1)
        poses = (caregiver, patient) if i % 3 else (patient, caregiver)
        p = tracker.update(frame(i, *poses))
        out_x.append(None if p is None else hip_x(p))
        truth.append(hip_x(patient))
    assert out_x[-1] is not None and out_x[-1] > 600  # the patient ended on the right
    for x, tx in zip(out_x, truth, strict=True):
        assert x is None or abs(x - tx) < 5


def test_subject_missing_for_a_while_keeps_identity():
    patient, other = shifted(standing(), -250), shifted(standing(), 250)
    tracker = SubjectTracker("image-left")
    run(tracker, [frame(i, patient, other) for i in range(5)])
    gap = run(tracker, [frame(i, other) for i in range(5, 35)])  # a second with the patient hidden
    assert all(p is None for p in gap)  # never the other person instead
    back = tracker.update(frame(35, other, shifted(patient, 15)))
    assert back is not None and hip_x(back) < 300


def test_relock_follows_the_click():
    a, b = shifted(standing(), -300), shifted(standing(), 300)
    tracker = SubjectTracker("image-left")
    run(tracker, [frame(i, a, b) for i in range(4)])
    tracker.relock(point_on(b))
    out = run(tracker, [frame(i, a, b) for i in range(4, 8)])
    assert out[-1] is not None and hip_x(out[-1]) > 500 and tracker.confirmed


def test_duplicate_detection_of_one_person_is_one_person():
    p = standing()
    dup = shifted(p, 8, 5, scale=1.1)
    tracker = SubjectTracker("auto")
    out = run(tracker, [frame(i, p, dup) if i % 2 else frame(i, p) for i in range(8)])
    assert tracker.confirmed and out[-1] is not None


# ---------------------------------------------------------------------------- occlusion


def test_caregiver_hand_on_the_wrist_hides_the_wrist_only():
    sure = shifted(make_pose("elbow_flexion", "left", 60.0), -100)
    vis = sure.visibility.copy()
    vis[INDEX["left_wrist"]] = 0.7  # the model is unsure it sees the wrist under the hand
    patient = replace(sure, visibility=vis)
    caregiver = shifted(standing(), 250)
    wrist = patient.image[INDEX["left_wrist"], :2]
    img = caregiver.image.copy()  # the model put the patient's left wrist on the caregiver's right hand
    for name in ("right_wrist", "right_index", "right_pinky", "right_thumb"):
        img[INDEX[name], :2] = wrist + np.array([1.6, 1.2])
    beside = caregiver.image.copy()  # the hand holds the wrist from beside it (about 7 cm away): still seen
    for name in ("right_wrist", "right_index", "right_pinky", "right_thumb"):
        beside[INDEX[name], :2] = wrist + np.array([8.0, 6.0])
    assert occlude_by_hands(patient, [replace(caregiver, image=beside)]) is patient
    caregiver = replace(caregiver, image=img)
    out = occlude_by_hands(patient, [caregiver])
    names = covered_landmarks(patient, out)
    assert "left_wrist" in names and "left_elbow" not in names and "right_wrist" not in names
    assert out.visibility[INDEX["left_wrist"]] <= OCCLUDED_VISIBILITY
    motion = get_motion("elbow_flexion")
    assert np.isfinite(measure(patient, motion, "left").angle)
    assert np.isnan(measure(out, motion, "left").angle)  # no angle rather than a wrong one
    # nobody near: the pose comes back untouched
    assert occlude_by_hands(patient, [shifted(standing(), 400)]) is patient
    # a hand the model itself does not trust does not occlude
    unsure = replace(caregiver, visibility=np.full(33, 0.1))
    assert occlude_by_hands(patient, [unsure]) is patient
    # a wrist the model sees plainly (0.99) is not hidden by a hand on it: held from behind, seen past
    assert occlude_by_hands(sure, [caregiver]) is sure


def test_motion_meter_uses_the_tracker():
    motion = get_motion("shoulder_abduction")
    patient = shifted(make_pose("shoulder_abduction", "left", 70.0), -250)
    caregiver = shifted(make_pose("shoulder_abduction", "left", 10.0), 250, scale=1.3)
    meter = MotionMeter(motion, "left", subject=SubjectTracker("image-left"))
    samples = [meter.update(frame(i, caregiver, patient)) for i in range(6)]
    assert abs(samples[-1].angle - 70.0) < 1.0
    legacy = MotionMeter(motion, "left")  # no tracker: the most visible person (here a tie: the first)
    assert legacy.update(frame(0, caregiver, patient)).has_subject


# ---------------------------------------------------------------------------- appearance, still patients

def dressed(pose: Pose, rgb: tuple[int, int, int]) -> Pose:
    """The pose with the colour signature of a plain shirt of colour ``rgb`` (what romcam.pose attaches)."""
    import cv2

    from romcam.appearance import histogram

    hsv = cv2.cvtColor(np.full((1, 64, 3), rgb, np.uint8), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    return replace(pose, signature=histogram(hsv))


@pytest.mark.parametrize("with_clothes", [True, False])
def test_clothes_keep_the_subject_when_the_caregiver_steps_in_front(with_clothes):
    """The patient alone; then the caregiver, the patient's size, steps in from outside the picture
    right in front of them (the model finds only her, where the patient was) and later moves aside.
    Landmarks alone hand her the patient's track; the colour of her clothes does not."""
    tracker = SubjectTracker("auto")
    took_caregiver = 0
    p = None
    for i in range(60):
        patient = shifted(standing(30.0), -200)
        caregiver = shifted(standing(10.0), -200 + max(0, i - 40) * 15.0)  # in front from frame 20, aside after 40
        if with_clothes:
            patient, caregiver = dressed(patient, (40, 60, 200)), dressed(caregiver, (40, 160, 60))
        poses = (patient,) if i < 20 else ((caregiver,) if i < 42 else (patient, caregiver))
        p = tracker.update(frame(i, *poses))
        if p is not None and np.allclose(p.image, caregiver.image):  # her arms, wherever she is
            took_caregiver += 1
    if with_clothes:
        assert took_caregiver == 0
        assert p is not None and np.allclose(p.image, patient.image)  # and the patient again afterwards
    else:
        assert took_caregiver > 0  # what the clothes prevent


def test_clothes_alike_leave_it_to_the_landmarks():
    """Two people dressed alike: appearance says nothing, tracking works as without it."""
    frames, truth = crossing_frames()
    tracker = SubjectTracker("image-left")
    out = run(tracker, [replace(f, poses=tuple(dressed(p, (128, 128, 128)) for p in f.poses)) for f in frames])
    assert all(p is None or abs(hip_x(p) - x) < 10 for p, x in zip(out, truth, strict=True))
    assert out[-1] is not None and tracker.switches == 0


@pytest.mark.parametrize("posture, chosen, kept", [
    ("seated", "auto", False),
    ("seated", "button", False),  # the caregiver confirmed the patient on the page: the hold stays
    ("seated", "tap", False),
    ("standing", "image-left", True),
])  # fmt: skip
def test_a_still_patient_is_not_led_away_by_mixed_detections(posture, chosen, kept):
    """A seated patient: a detection that mixes the caregiver's shoulders (higher) with the patient's
    hips, in the patient's colours (the patient hides the caregiver's trunk), is not the patient —
    for a patient known to sit, whose trunk stays put, whether chosen by posture or confirmed on the
    page (by the person's button or a tap on them); a standing prescription gives no such cue."""
    patient = dressed(seated_patient(), (40, 60, 200))
    caregiver = dressed(shifted(standing(), 350, scale=1.2), (40, 160, 60))
    tracker = SubjectTracker("auto", posture=posture, people=2) if posture == "seated" else SubjectTracker(
        "image-left", people=2)
    run(tracker, [frame(i, patient, caregiver) for i in range(10)])
    assert tracker.locked
    if chosen == "button":
        tracker.choose(tracker.last_track_ids[0])  # type: ignore[arg-type]
    elif chosen == "tap":
        tracker.relock(point_on(patient))
        run(tracker, [frame(i, patient, caregiver) for i in range(10, 10 + 20)])
        assert tracker.confirmed and str(tracker.selector) == point_on(patient)
    assert tracker.locked and np.allclose(tracker.last_poses[tracker.last_subject_index].image, patient.image)
    mixed = patient.image.copy()
    size = float(np.linalg.norm(mixed[INDEX["left_shoulder"], :2] - mixed[INDEX["left_hip"], :2]))
    for name in ("left_shoulder", "right_shoulder", "nose"):
        mixed[INDEX[name], 1] -= 0.7 * size
    t0 = 30 if chosen == "tap" else 10
    out = run(tracker, [frame(i, replace(patient, image=mixed)) for i in range(t0, t0 + 4)])
    assert all(p is not None for p in out) if kept else all(p is None for p in out)
    back = tracker.update(frame(t0 + 4, patient, caregiver))
    assert back is not None and abs(hip_x(back) - hip_x(patient)) < 1e-6


def test_auto_waits_for_both_people_when_a_caregiver_is_expected():
    """Passive ROM: the caregiver, kneeling and read as seated, is found first; with two people
    expected the choice waits to see both rather than lock onto the only one in view."""
    kneeler = shifted(seated_patient(), 600)
    tracker = SubjectTracker("auto", posture="seated", people=2)
    early = run(tracker, [frame(i, kneeler) for i in range(10)])  # a third of a second: wait
    assert all(p is None for p in early) and not tracker.locked
    late = run(tracker, [frame(i, kneeler) for i in range(10, 40)])  # nobody else for over a second: take her
    assert late[-1] is not None and tracker.locked
    lone = SubjectTracker("auto", posture="seated", people=1)
    assert run(lone, [frame(i, kneeler) for i in range(10)])[-1] is not None  # alone expected: take her


@pytest.mark.parametrize("posture, people, confirmed", [
    ("standing", 2, False),  # a helper expected, both may stand: the one found may be the helper
    (None, 2, False),        # no posture given: the same
    ("standing", 1, True),   # nobody else expected: the one in view is the patient
])
def test_a_lone_standing_person_is_not_confirmed_when_a_helper_is_expected(posture, people, confirmed):
    """Active-assisted or passive ROM standing: the pose model found only the caregiver (the patient beside
    her missed) and romcam measured her as "the only person in view", confirmed — the page never asked
    whom to measure and analyze never said to check. Now such a pick is not confirmed (the page asks for a
    tap, analyze says to check it); a lying or seated patient alone in view is still confirmed."""
    tracker = SubjectTracker("auto", posture=posture, people=people)
    out = run(tracker, [frame(i, standing()) for i in range(60)])  # two seconds: past the wait for the helper
    assert out[-1] is not None and tracker.locked
    assert tracker.confirmed is confirmed, tracker.reason
    assert tracker.status()["expected"] == people


def test_a_lone_lying_patient_is_confirmed_with_a_helper_expected():
    tracker = SubjectTracker("auto", posture="lying", people=2)
    out = run(tracker, [frame(i, lying_patient()) for i in range(60)])
    assert out[-1] is not None and tracker.confirmed


@pytest.mark.parametrize("thigh, shin, expected", [
    ((0.3, 0.85), (-0.8, 0.1), "kneeling"),   # thighs straight down, shins on the floor
    ((0.55, 0.6), (-0.8, 0.1), "kneeling"),   # leaning forward: thighs 45° from down, shins on the floor
    ((0.9, 0.05), (0.0, 0.85), "seated"),     # thighs level, shins hanging
    ((0.9, 0.05), (0.85, 0.0), "seated"),     # a knee extension: the shin comes level, the thigh stays level
])
def test_kneeling_is_told_from_sitting(thigh, shin, expected):
    pose = seated_patient()
    img = pose.image.copy()
    size = float(np.linalg.norm(img[INDEX["left_shoulder"], :2] - img[INDEX["left_hip"], :2]))
    for s in ("left", "right"):
        hip = img[INDEX[f"{s}_hip"], :2]
        img[INDEX[f"{s}_knee"], :2] = hip + size * np.array(thigh)
        img[INDEX[f"{s}_ankle"], :2] = img[INDEX[f"{s}_knee"], :2] + size * np.array(shin)
    assert posture_of(replace(pose, image=img)) == expected


def test_a_tap_waits_for_the_person_the_model_missed_in_that_frame():
    """A tap on the caregiver standing close beside the patient lands in the patient's outline too. In
    the frame after the tap the model misses the caregiver: with two people expected the tap waits
    for her rather than fall on the patient; with one expected it takes the person at the point."""
    from romcam.landmarks import torso_length
    from romcam.subject import bbox

    patient = standing(60.0)  # arms out: a wide outline
    carer = shifted(standing(10.0), 90)
    # on her belly: the patient's raised hand lies on her chest, and a tap there is on the patient's hand
    c = torso_points(carer).mean(axis=0) + [0.0, 0.35 * torso_length(carer)]
    b = bbox(patient)
    assert b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3]  # the tap point lies in the patient's box too
    tap = (float(c[0] / W), float(c[1] / H))
    for people, expected in ((2, carer), (1, patient)):
        tracker = SubjectTracker("image-left", people=people)
        run(tracker, [frame(i, patient, carer) for i in range(5)])
        tracker.relock(tap)
        first = tracker.update(frame(5, patient))  # the model missed the caregiver here
        if people == 2:
            assert first is None and not tracker.locked
            after = tracker.update(frame(6, patient, carer))
        else:
            after = first
        assert after is not None and np.allclose(after.image, expected.image)


@pytest.mark.parametrize("scale, taken", [(1.0, True), (0.6, False)])
def test_a_lost_seated_patient_is_found_again_only_at_their_own_size(scale, taken):
    """Lost for a moment (the model's landmarks jumped), a patient chosen by posture is re-found in
    the one new seated person in view — not in a fragment of half their size (a hand and a knee)."""
    patient = seated_patient()
    caregiver = shifted(standing(), 350, scale=1.2)
    tracker = SubjectTracker("auto", posture="seated", people=2)
    run(tracker, [frame(i, patient, caregiver) for i in range(10)])
    assert tracker.locked and tracker.confirmed
    run(tracker, [frame(i, caregiver) for i in range(10, 16)])  # 0.2 s without the patient
    again = shifted(patient, 80, scale=scale)  # found again a little further off: a new track
    out = run(tracker, [frame(i, caregiver, again) for i in range(16, 22)])
    assert (out[-1] is not None) == taken


@pytest.mark.parametrize("first_sightings, taken", [(3, True), (12, False)])
def test_a_patient_whose_size_is_not_known_yet_is_found_again_at_another_size(first_sightings, taken):
    """The first detections of a lying or seated patient are often partial (on the rendered hip-flexion
    scene a torso two thirds its length). Locked on a few of those and lost at once, the patient has
    no known size yet: they are re-found in the one new person with their posture, at full size. Seen
    often enough at one size, they are not re-found at another (as above)."""
    patient = seated_patient()
    caregiver = shifted(standing(), 350, scale=1.2)
    partial = shifted(patient, 0, scale=0.65)
    tracker = SubjectTracker("auto", posture="seated", people=2)
    run(tracker, [frame(i, partial, caregiver) for i in range(first_sightings)])
    assert tracker.locked and tracker.confirmed
    n = first_sightings
    run(tracker, [frame(i, caregiver) for i in range(n, n + 6)])  # 0.2 s without the patient
    whole = shifted(patient, 80)  # the whole patient, a little further off: a new track
    out = run(tracker, [frame(i, caregiver, whole) for i in range(n + 6, n + 12)])
    assert (out[-1] is not None) == taken
    if taken:
        assert np.allclose(out[-1].image, whole.image)


def test_two_people_whose_boxes_coincide_are_not_taken_for_one() -> None:
    """A lying patient's raised arm can fill the box of a caregiver standing behind the bed: the model's
    other detection there has the same box but a torso elsewhere. Both stay; a second detection of the
    same person (same torso, jittered) is dropped, the more visible one kept."""
    from romcam.subject import TORSO, _dedupe, bbox, iou, torso_length

    patient = standing(60.0)
    length = torso_length(patient)
    img = patient.image.copy()
    img[TORSO, 1] -= 0.4 * length  # shoulders and hips 0.4 torso lengths higher, inside the same box
    img[TORSO, 0] += 0.6 * length  # ... and to the side
    other = replace(patient, image=img)
    assert iou(bbox(patient), bbox(other)) > 0.8  # the boxes alone would call them one person
    assert len(_dedupe([patient, other])) == 2

    again = replace(shifted(patient, 0.1 * length, 0.05 * length), visibility=patient.visibility * 0.9)
    kept = _dedupe([again, patient])
    assert len(kept) == 1 and kept[0] is patient


def test_a_button_chooses_the_person_not_the_place():
    """The page's button for a person posts their id (``persons[].id``), not a point: a point is matched
    in a later frame, where the person may have moved. A lying patient (torso 43 px) and a caregiver
    leaning over them (torso 93 px, her torso centre 8 px from the patient's); the page takes the
    patient's torso centre from one event, and the patient has moved 6 px by the frame the choice applies
    in. Matched by torso centres in each person's own torso length, the point was nearer the caregiver
    (8/93) than the patient (6/43) and picked her; matched to the drawn bodies (romcam.tap) it still lies
    on the patient's trunk and picks the patient. The id picks the patient wherever they have moved, and
    they stay measured as they move."""
    from romcam.subject import PersonError, torso_length

    patient = shifted(lying_patient(), 300, -50, scale=43 / 71.4286)
    centre = torso_points(patient).mean(axis=0)
    carer = standing(20.0)
    carer = shifted(carer, 0, 0, scale=93 / 71.4286)
    carer = shifted(carer, *(centre + [8.0, 0.0] - torso_points(carer).mean(axis=0)))
    assert torso_length(patient) == pytest.approx(43, abs=0.5) and torso_length(carer) == pytest.approx(93, abs=0.5)
    assert np.linalg.norm(torso_points(carer).mean(axis=0) - centre) == pytest.approx(8.0)
    moved = shifted(patient, -6.0)  # the patient, 6 px on, when the choice applies

    def scene(choice) -> tuple[SubjectTracker, list[Pose | None]]:  # type: ignore[no-untyped-def]
        tracker = SubjectTracker("auto", people=2)
        run(tracker, [frame(i, carer, patient) for i in range(6)])
        assert tracker.last_subject_index == 0  # auto: the larger person, the caregiver (not confirmed)
        event_ids = tracker.last_track_ids  # the event the page drew its buttons from
        choice(tracker, event_ids[1])
        return tracker, run(tracker, [frame(i, carer, moved) for i in range(6, 10)])

    # the old way: the button posts the patient's torso centre from the event, as a tap there would; the
    # point lies inside the caregiver's torso and on the patient's drawn trunk: the patient's
    tracker, out = scene(lambda tr, _: tr.relock((float(centre[0] / W), float(centre[1] / H))))
    assert out[-1] is not None and np.allclose(out[-1].image, moved.image) and tracker.confirmed  # the patient

    # the button posts the patient's id: the patient, confirmed, at once (the status says so before the
    # next frame) and from the next frame on
    def choose(tracker: SubjectTracker, pid: int) -> None:
        tracker.choose(pid)
        assert tracker.last_subject_index == 1 and tracker.confirmed

    tracker, out = scene(choose)
    assert all(p is not None and np.allclose(p.image, moved.image) for p in out)
    assert tracker.confirmed and str(tracker.selector) == f"person {tracker.subject_id}"
    assert tracker.reason == "the person chosen on the page"

    # an id nobody has had, and a person gone from view for over a second, are refused with what to do
    with pytest.raises(PersonError, match="not anyone romcam has seen.*tap the patient on the picture"):
        tracker.choose(99)
    carer_id = tracker.last_track_ids[0]
    run(tracker, [frame(i, moved) for i in range(10, 50)])  # the caregiver out of view for 1.3 s
    with pytest.raises(PersonError, match="no longer in view: choose again"):
        tracker.choose(carer_id)  # type: ignore[arg-type]
    assert str(tracker.selector) == f"person {tracker.subject_id}"  # the choice stands


def test_the_next_sets_tracker_gives_no_id_twice():
    """The page's buttons may carry ids from the last set's tracker (their list is up to 3 s old): a new
    tracker continues the numbering, so an old id never names someone else."""
    a, b = shifted(standing(), -300), shifted(standing(), 300)
    first = SubjectTracker("auto")
    run(first, [frame(i, a, b) for i in range(3)])
    second = SubjectTracker("auto", first_id=first.next_id)
    run(second, [frame(i, a, b) for i in range(3, 6)])
    assert set(first.last_track_ids) == {0, 1} and set(second.last_track_ids) == {2, 3}


# ---------------------------------------------------------------------------- a tap among overlapping people


def turned(pose: Pose, deg: float, scale: float = 1.0) -> Pose:
    """The pose turned in the image by ``deg`` (clockwise on screen) and scaled, about its hip centre."""
    img = pose.image.copy()
    hip = 0.5 * (img[INDEX["left_hip"], :2] + img[INDEX["right_hip"], :2])
    a = np.radians(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    img[:, :2] = (img[:, :2] - hip) @ rot.T * scale + hip
    return replace(pose, image=img)


def mid_shoulder(pose: Pose) -> np.ndarray:
    return pose.image[[INDEX["left_shoulder"], INDEX["right_shoulder"]], :2].mean(axis=0)


def tap_on(patient: Pose, carer: Pose, at: np.ndarray) -> Pose | None:
    """Whom a tap at ``at`` (pixels) picks, the two in view and a caregiver expected."""
    from romcam.subject import bbox

    for pose in (patient, carer):  # the tap lies in both boxes: the choice is the tap's, not the box's
        b = bbox(pose)
        mx, my = 0.1 * (b[2] - b[0]), 0.1 * (b[3] - b[1])
        assert b[0] - mx <= at[0] <= b[2] + mx and b[1] - my <= at[1] <= b[3] + my
    tracker = SubjectTracker("auto", people=2)
    run(tracker, [frame(i, carer, patient) for i in range(5)])
    tracker.relock((float(at[0] / W), float(at[1] / H)))
    out = run(tracker, [frame(i, carer, patient) for i in range(5, 10)])
    assert tracker.confirmed
    return out[-1]


def torso_centre_rule(patient: Pose, carer: Pose, at: np.ndarray) -> Pose:
    """The person a tap picked before: the nearest torso centre, in each one's torso lengths."""
    from romcam.landmarks import torso_length

    return min((patient, carer), key=lambda p: np.linalg.norm(torso_points(p).mean(axis=0) - at) / torso_length(p))


def leaning_carer(patient: Pose, below_knee: float) -> Pose:
    """A caregiver (torso 93 px beside the patient's 71) leaning over the bed, turned 120° so that her
    shoulders come down by the patient's knee, ``below_knee`` px below it (negative: above)."""
    carer = turned(standing(20.0), 120, scale=1.3)
    knee = patient.image[INDEX["left_knee"], :2]
    return shifted(carer, *(knee + [0.0, below_knee] - mid_shoulder(carer)))


@pytest.mark.parametrize("below_knee", [
    -35.0,  # her shoulders just above the knee: her torso centre is nearer (in torso lengths) than the patient's
    10.0,   # her torso drawn over the knee: the patient's leg, drawn across it, is what the finger is on
])  # fmt: skip
def test_a_tap_on_the_patients_knee_under_a_leaning_caregiver_picks_the_patient(below_knee: float) -> None:
    patient = lying_patient()
    carer = leaning_carer(patient, below_knee)
    knee = patient.image[INDEX["left_knee"], :2]
    assert torso_centre_rule(patient, carer, knee) is carer  # what a tap there did before
    out = tap_on(patient, carer, knee)
    assert out is not None and np.allclose(out.image, patient.image)


def test_a_tap_on_the_caregivers_torso_picks_her() -> None:
    """Her torso over the patient's legs: a tap on it, off the patient's leg (13 px above its line), is hers."""
    patient = lying_patient()
    carer = leaning_carer(patient, 10.0)
    centre = torso_points(carer).mean(axis=0)
    assert 10 < abs(centre[1] - patient.image[INDEX["left_knee"], 1]) < 20
    out = tap_on(patient, carer, centre)
    assert out is not None and np.allclose(out.image, carer.image)


@pytest.mark.parametrize("gap", [3.0, 6.0])
def test_a_tap_on_the_patients_forearm_by_the_caregivers_hand_picks_the_patient(gap: float) -> None:
    """The caregiver holds the patient's raised forearm, her elbow bent, her fingertip ``gap`` px short of
    the tap (within her hand's width of it: the tap is on both limbs as drawn); her torso centre is nearer
    the tap, in her torso lengths, than the patient's. The line the finger is on, the patient's, wins."""
    from romcam.tap import tap_hit

    patient = lying_patient()
    elbow, wrist = patient.image[INDEX["left_elbow"], :2], patient.image[INDEX["left_wrist"], :2]
    at = elbow + 0.75 * (wrist - elbow)
    carer = shifted(make_pose("elbow_flexion", "left", 90.0), 0, 0, scale=1.3)
    hand = carer.image[INDEX["left_index"], :2]
    toward = (hand - torso_points(carer).mean(axis=0)) / np.linalg.norm(hand - torso_points(carer).mean(axis=0))
    carer = shifted(carer, *(at - gap * toward - hand))
    hit = tap_hit(carer, *at)
    assert hit.line == pytest.approx(gap) and hit.on_limb  # her hand is the nearest of her, and on the tap
    assert torso_centre_rule(patient, carer, at) is carer  # what a tap there did before
    out = tap_on(patient, carer, at)
    assert out is not None and np.allclose(out.image, patient.image)


def test_a_tap_off_everyones_box_is_refused() -> None:
    """A tap beside both people: nobody is measured (the tracker waits for a tap on someone)."""
    patient = lying_patient()
    carer = leaning_carer(patient, 10.0)
    tracker = SubjectTracker("auto", people=2)
    run(tracker, [frame(i, carer, patient) for i in range(5)])
    tracker.relock((0.95, 0.05))
    assert run(tracker, [frame(i, carer, patient) for i in range(5, 10)])[-1] is None and not tracker.locked


@pytest.mark.parametrize("scale", [1.0, 2.0, 3.0])
def test_beside_two_limbs_the_nearer_in_pixels_wins_whatever_their_size(scale: float) -> None:
    """A tap beside the patient's forearm (10 px from its line) and the caregiver's hand (14 px): the
    patient's, however large the caregiver is drawn — at 2 and 3 times the size her hand is as wide as
    the gap, and still the finger is nearer the patient's forearm (a tap is a place on the picture)."""
    from romcam.tap import tap_hit, tapped

    patient = lying_patient()
    elbow, wrist = patient.image[INDEX["left_elbow"], :2], patient.image[INDEX["left_wrist"], :2]
    along = (wrist - elbow) / np.linalg.norm(wrist - elbow)
    at = elbow + 0.5 * (wrist - elbow) + 10.0 * np.array([along[1], -along[0]])
    carer = shifted(make_pose("elbow_flexion", "left", 90.0), 0, 0, scale=scale)
    hand = carer.image[INDEX["left_index"], :2]
    toward = (hand - torso_points(carer).mean(axis=0)) / np.linalg.norm(hand - torso_points(carer).mean(axis=0))
    carer = shifted(carer, *(at - 14.0 * toward - hand))
    near, far = tap_hit(patient, *at), tap_hit(carer, *at)
    assert near.line == pytest.approx(10.0) and far.line == pytest.approx(14.0)
    assert far.on_limb == (scale > 1)  # her hand's half-width reaches the tap
    assert tapped([far, near]) == 1
