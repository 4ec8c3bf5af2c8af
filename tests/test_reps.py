"""Tests of romcam.reps: one detector for the offline analysis and the live coach."""

from __future__ import annotations

import math

import numpy as np
import pytest

from romcam.filters import OneEuroFilter, estimate_noise, smooth_zero_phase
from romcam.reps import Rep, RepDetector, auto_hysteresis, detect_reps


def reps_signal(
    fps: float,
    amps=(90.0, 90.0, 90.0),
    *,
    dur: float = 3.0,
    hold: float = 0.0,
    rest: float = 1.5,
    base: float = 0.0,
):
    """Raised-cosine reps from ``base`` up by each amp (rise dur/2, hold, fall dur/2), with
    ``rest`` s before, between and after. Returns t, x and the true (start, peak-middle, end)."""
    period = dur + hold + rest
    t = np.arange(0.0, rest + len(amps) * period, 1.0 / fps)
    x = np.full(t.size, base, dtype=float)
    truth = []
    half = dur / 2
    for k, amp in enumerate(amps):
        t0 = rest + k * period
        up = (t >= t0) & (t < t0 + half)
        x[up] = base + amp / 2 * (1 - np.cos(np.pi * (t[up] - t0) / half))
        top = (t >= t0 + half) & (t < t0 + half + hold)
        x[top] = base + amp
        dn = (t >= t0 + half + hold) & (t < t0 + dur + hold)
        x[dn] = base + amp / 2 * (1 + np.cos(np.pi * (t[dn] - t0 - half - hold) / half))
        truth.append((t0, t0 + half + hold / 2, t0 + dur + hold))
    return t, x, truth


def offline_pipeline(t, raw, **kwargs) -> list[Rep]:
    """The offline analysis: hysteresis from the raw noise, reps on the zero-phase signal.

    On raw angles the auto hysteresis (8 noise stds) is crossed by the noise itself every
    minute or so of rest; on smoothed angles the noise estimate collapses. Hence both."""
    h = auto_hysteresis(raw)
    span = np.nanpercentile(raw, 98) - np.nanpercentile(raw, 2)
    assert h == pytest.approx(max(5.0, 8 * estimate_noise(raw), 0.12 * span))
    return detect_reps(t, smooth_zero_phase(t, raw), hysteresis=h, **kwargs)


def stream(det: RepDetector, t, x):
    """Feed sample by sample; return the reps and the ``completed`` count after each sample."""
    reps, counts = [], []
    for ti, xi in zip(t, x, strict=True):
        reps.extend(det.update(float(ti), float(xi)))
        counts.append(det.completed)
    return reps, counts


# ---------------------------------------------------------------- clean reps


@pytest.mark.parametrize(
    "fps",
    [
        30.0,  # webcam
        5.0,  # the squat clip
    ],
)
def test_clean_reps(fps):
    t, x, truth = reps_signal(fps)
    reps = detect_reps(t, x)
    assert len(reps) == 3
    for rep, (t0, tp, t1) in zip(reps, truth, strict=True):
        assert not rep.partial
        assert rep.below_target is None
        assert rep.max_angle == pytest.approx(90.0, abs=1.5)  # 5 fps may miss the top sample
        assert rep.min_angle == pytest.approx(0.0, abs=1e-9)
        assert rep.peak == pytest.approx(tp, abs=1.01 / fps)
        # start/end: where the signal is 10 % of the way out (9°): 0.3 s into a 1.5 s rise
        assert rep.start == pytest.approx(t0 + 0.31, abs=0.21)
        assert rep.end == pytest.approx(t1 - 0.31, abs=0.21)
        assert t0 < rep.start < rep.peak < rep.end < t1


def test_to_dict_keys_and_rounding():
    rep = Rep(1.23456, 2.0, 3.0004, 91.26, -0.04, 0.12345, False, True)
    assert rep.to_dict() == {
        "start": 1.235,
        "peak": 2.0,
        "end": 3.0,
        "max_angle": 91.3,
        "min_angle": -0.0,
        "hold_s": 0.123,
        "partial": False,
        "below_target": True,
        "peak_seen": True,
    }


# ---------------------------------------------------------------- noise


@pytest.mark.parametrize(
    ("sigma", "n_reps", "seed"),
    [
        (2.0, 5, 0),  # typical MediaPipe jitter
        (3.0, 5, 1),  # bad lighting
        (3.0, 8, 2),  # more reps
    ],
)
def test_noisy_reps_exact_count(sigma, n_reps, seed):
    rng = np.random.default_rng(seed)
    t, x, truth = reps_signal(30.0, amps=(70.0,) * n_reps)
    xn = x + rng.normal(0, sigma, t.size)
    reps = detect_reps(t, xn)  # hysteresis from the noise: 8 sigma
    assert len(reps) == n_reps
    assert not any(r.partial for r in reps)
    for rep, (t0, tp, t1) in zip(reps, truth, strict=True):
        assert t0 - 0.3 < rep.start < tp < rep.end < t1 + 0.3
        assert rep.peak == pytest.approx(tp, abs=0.4)


@pytest.mark.parametrize(
    ("sigma", "hold", "seed"),
    [
        (0.0, 2.0, 0),  # clean plateau
        (2.0, 2.0, 3),  # noisy 2 s hold
        (3.0, 3.0, 4),  # noisier, longer hold
        (2.5, 1.0, 5),  # short hold
    ],
)
def test_hold_is_one_rep_with_its_duration(sigma, hold, seed):
    rng = np.random.default_rng(seed)
    amps = (80.0, 80.0, 80.0)
    t, x, _ = reps_signal(30.0, amps, hold=hold)
    reps = offline_pipeline(t, x + rng.normal(0, sigma, t.size))
    assert len(reps) == 3
    # truth: the plateau plus the cosine ends within 5° of 80° (0.455 s in all)
    for rep in reps:
        assert rep.hold_s == pytest.approx(hold + 0.455, abs=0.2)


@pytest.mark.parametrize(
    ("sigma", "duration_s", "seed"),
    [
        (2.0, 60.0, 6),  # a minute of rest
        (3.0, 300.0, 7),  # five minutes of noisy rest
    ],
)
def test_long_noisy_rest_makes_no_reps(sigma, duration_s, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(0, duration_s, 1 / 30)
    raw = 20 + rng.normal(0, sigma, t.size)
    assert offline_pipeline(t, raw) == []
    # live: 1€-filtered angles, hysteresis from the raw noise
    f = OneEuroFilter()
    live = np.array([f(ti, xi) for ti, xi in zip(t, raw, strict=True)])
    det = RepDetector(hysteresis=max(5.0, 8 * estimate_noise(raw)))
    reps, counts = stream(det, t, live)
    assert reps == [] and max(counts) == 0 and det.state == "rest"
    assert det.finish() == []


@pytest.mark.parametrize(
    ("amp", "expected"),
    [
        (15.0, 4),  # an ALS patient's 15° rep with 1° noise is a rep
        (3.0, 0),  # 3° wiggles with 1° noise are not
    ],
)
def test_small_reps(amp, expected):
    rng = np.random.default_rng(8)
    t, x, _ = reps_signal(30.0, amps=(amp,) * 4)
    reps = offline_pipeline(t, x + rng.normal(0, 1.0, t.size))
    assert len(reps) == expected
    for rep in reps:
        assert not rep.partial
        assert rep.max_angle - rep.min_angle == pytest.approx(amp, abs=4.0)


def test_varying_amplitude_flags_short_reps_never_drops_them():
    amps = (90.0, 40.0, 95.0, 20.0, 60.0)
    t, x, _ = reps_signal(30.0, amps)
    reps = detect_reps(t, x, target=80.0)
    assert [round(r.max_angle) for r in reps] == [90, 40, 95, 20, 60]
    assert [r.below_target for r in reps] == [False, True, False, True, True]
    assert not any(r.partial for r in reps)


# ---------------------------------------------------------------- partial reps


@pytest.mark.parametrize(
    ("cut", "expected_partial"),
    [
        ("none", [False, False, False]),
        ("start_at_peak", [True, False, False]),  # camera started with the arm up
        ("start_mid_fall", [True, False, False]),  # started on the way down
        ("end_at_peak", [False, False, True]),  # recording stopped at the top
        ("end_mid_fall", [False, False, True]),  # stopped a quarter of the way down
        ("end_past_half", [False, False, False]),  # stopped 3/4 of the way down: a full rep
    ],
)
def test_partial_reps(cut, expected_partial):
    t, x, truth = reps_signal(30.0)
    keep = np.ones(t.size, dtype=bool)
    (_, tp0, _), (_, tp2, _) = truth[0], truth[2]
    if cut == "start_at_peak":
        keep = t >= tp0
    elif cut == "start_mid_fall":
        keep = t >= tp0 + 0.4
    elif cut == "end_at_peak":
        keep = t <= tp2
    elif cut == "end_mid_fall":
        keep = t <= tp2 + 0.5  # 25 % of the 90° fall
    elif cut == "end_past_half":
        keep = t <= tp2 + 1.0  # 75 %
    reps = detect_reps(t[keep], x[keep])
    assert [r.partial for r in reps] == expected_partial
    assert sum(not r.partial for r in reps) == 3 - sum(expected_partial)


# ---------------------------------------------------------------- works="min"


def test_works_min_knee_extension():
    # seated knee extension: rests at 90°, extends toward 10° and back
    t, x, truth = reps_signal(30.0, amps=(80.0, 60.0, 80.0))
    angle = 90.0 - x
    reps = detect_reps(t, angle, works="min", target=20.0)
    assert len(reps) == 3
    assert [round(r.min_angle) for r in reps] == [10, 30, 10]
    assert [round(r.max_angle) for r in reps] == [90, 90, 90]
    assert [r.below_target for r in reps] == [False, True, False]  # 30° > 20°: short of it
    for rep, (_, tp, _) in zip(reps, truth, strict=True):
        assert rep.peak == pytest.approx(tp, abs=0.05)
    # the same angles read as works="max" find nothing worked at the top but the rests
    assert all(r.partial or r.max_angle == 90.0 for r in detect_reps(t, angle))


# ---------------------------------------------------------------- missing data


def test_nan_gap_mid_rep_keeps_rep_open():
    t, x, truth = reps_signal(30.0, amps=(90.0, 90.0), hold=3.0)
    t0, tp, t1 = truth[0]
    x = x.copy()
    gap = (t > tp - 1.2) & (t < tp + 1.2)  # 2.4 s of missing data across the hold
    x[gap] = np.nan
    reps = detect_reps(t, x)
    assert len(reps) == 2
    first = reps[0]
    assert not first.partial
    assert first.max_angle == 90.0
    assert first.start < t[gap][0] and first.end > t[gap][-1]
    # no hold credited across the gap: only the visible 0.3 s of plateau (+ cosine end)
    assert first.hold_s < 0.6
    assert reps[1].hold_s == pytest.approx(3.455, abs=0.1)


def test_spike_outlier_is_not_a_rep():
    rng = np.random.default_rng(9)
    t, x, _ = reps_signal(30.0, amps=(70.0, 70.0))
    raw = x + rng.normal(0, 2.0, t.size)
    rest_i = int(np.argmin(np.abs(t - 5.6)))  # in the rest between the reps
    raw[rest_i] += 60.0
    h = max(5.0, 8 * estimate_noise(raw))
    # one sample out and back is no movement (CONFIRM_S), on the raw angles as after smoothing
    assert len(detect_reps(t, raw, hysteresis=h)) == 2
    reps = detect_reps(t, smooth_zero_phase(t, raw), hysteresis=h)
    assert len(reps) == 2


# ---------------------------------------------------------------- glitches and dips (issues 3, 6)


def _glitch(x: np.ndarray, t: np.ndarray, at: float, deltas: list[float]) -> None:
    """Add ``deltas`` (degrees) to the consecutive samples from time ``at``."""
    i = int(np.searchsorted(t, at))
    x[i:i + len(deltas)] += np.asarray(deltas)


@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_few_frame_glitches_toward_rest_do_not_split_a_hold(fps):
    # rendered seated ankle / knee-extension clips at 15 fps: during the hold the pose model drops
    # the angle most of the way back to rest for 1 to 3 frames, again and again
    rng = np.random.default_rng(11)
    t, x, truth = reps_signal(fps, amps=(60.0, 60.0), hold=2.0, rest=1.0)
    x = x + rng.normal(0, 1.0, t.size)
    dt = 1.0 / fps
    for t0, _, _ in truth:
        hold_start = t0 + 1.5
        _glitch(x, t, hold_start + 0.3, [-50.0])
        _glitch(x, t, hold_start + 0.8, [-45.0, -40.0])
        _glitch(x, t, hold_start + 1.4, [-35.0, -50.0, -30.0][: max(1, round(0.14 / dt))])
    reps = detect_reps(t, x, hysteresis=10.0)
    assert len(reps) == 2  # the detector without CONFIRM_S found 8
    for rep, (t0, tp, t1) in zip(reps, truth, strict=True):
        assert not rep.partial
        assert rep.max_angle == pytest.approx(60.0, abs=4.0)
        assert t0 < rep.start < tp < rep.end < t1
    assert len(offline_pipeline(t, x)) == 2


def test_a_glitch_in_steps_under_the_hysteresis_is_not_a_rep_boundary():
    # 60 % of the way back to rest and out again in 0.23 s, in steps of 9° (under the 10°
    # hysteresis, so no single jump gives it away): back by the hysteresis for only 0.13 s
    t, x, truth = reps_signal(30.0, amps=(60.0,), hold=2.0)
    _glitch(x, t, truth[0][1], [-9.0, -18.0, -27.0, -36.0, -27.0, -18.0, -9.0])
    reps = detect_reps(t, x, hysteresis=10.0)
    assert len(reps) == 1  # the detector without CONFIRM_S found 2
    assert reps[0].max_angle == 60.0 and not reps[0].partial
    # the same dip lasting 0.5 s (in steps of 4.5°) is a movement: the arm went 60 % of the way
    # back and out again, two reps
    t, x, truth = reps_signal(30.0, amps=(60.0,), hold=2.0)
    _glitch(x, t, truth[0][1], list(-4.5 * np.r_[1:9, 8:0:-1]))
    assert len(detect_reps(t, x, hysteresis=10.0)) == 2


@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_a_lone_phantom_reading_between_unmeasured_frames_makes_no_rep(fps):
    # the caregiver kneeling in front of a seated patient's straightened leg: on the way back the
    # frames go unmeasured (the shin drawn off the person's mask), all but one that reads the shin
    # drawn down to the floor, at rest, then the leg is seen again where it was, still coming back;
    # in the hold, two lone readings 0.3 s apart read it at rest and half-way, then the hold again
    t, x, truth = reps_signal(fps, amps=(60.0, 60.0), hold=2.0, rest=1.0)
    x = x.copy()
    (t0, tp, t1), (u0, up, u1) = truth
    fall = np.flatnonzero((t > tp + 1.0) & (x < 45.0) & (t < t1))[0]  # the first rep's way back, at 45°
    x[fall:fall + int(0.3 * fps)] = np.nan
    x[fall + int(0.3 * fps)] = 0.0  # the phantom, at rest
    hold = np.flatnonzero(t >= up - 0.5)[0]
    x[hold:hold + int(0.6 * fps)] = np.nan
    x[hold + int(0.2 * fps)] = 30.0
    x[hold + int(0.5 * fps)] = 0.0
    reps = detect_reps(t, x, hysteresis=10.0)
    assert len(reps) == 2
    assert [r.max_angle for r in reps] == pytest.approx([60.0, 60.0], abs=4.0)


def test_a_jump_across_missing_data_is_not_a_glitch():
    # the patient was not measured from mid-rise (30°) to mid-fall (50°): the first samples after
    # the gap are 20° from the last one before it and fall back toward it, which within 0.2 s
    # would be a glitch; after a gap nothing tells, so they are kept and give the rep's peak
    t, x, truth = reps_signal(15.0, amps=(60.0,))
    x = x.copy()
    t0, tp, _ = truth[0]
    gap = (t > t0 + 0.75) & (t < tp + 0.4)
    x[gap] = np.nan
    first_after = x[np.argmax(t >= tp + 0.4)]
    reps = detect_reps(t, x, hysteresis=15.0)
    assert len(reps) == 1 and not reps[0].partial
    assert reps[0].max_angle == pytest.approx(first_after) and first_after > 45.0


@pytest.mark.parametrize("fps", [5.0, 15.0, 30.0])
@pytest.mark.parametrize("works", ["max", "min"])
def test_a_rep_whose_furthest_point_went_unmeasured_says_so(fps, works):
    # a knee straightened under the caregiver's hands (works="min": 90° → 0°) or an arm raised out
    # of view (works="max"): unmeasured from 45° on the way out until 45° on the way back. The rep
    # is found; its peak is what was seen (45°), flagged as not the furthest point; "short of the
    # target" is then not known. The rep measured throughout is seen.
    t, x, truth = reps_signal(fps, amps=(90.0, 90.0), hold=1.0)
    angle = 90.0 - x if works == "min" else x.copy()
    t0, _, t1 = truth[0]
    angle[(t > t0) & (t < t1) & (x > 45.0)] = np.nan
    target = 10.0 if works == "min" else 80.0
    reps = detect_reps(t, angle, works=works, hysteresis=10.0, target=target)
    assert len(reps) == 2
    first, second = reps
    seen_peak = first.min_angle if works == "min" else first.max_angle
    assert seen_peak == pytest.approx(45.0, abs=6.0)
    assert not first.peak_seen and first.below_target is None
    assert first.to_dict()["peak_seen"] is False
    assert second.peak_seen and second.below_target is False
    assert (second.min_angle if works == "min" else second.max_angle) == pytest.approx(
        0.0 if works == "min" else 90.0, abs=1.5)


@pytest.mark.parametrize(
    ("where", "seen"),
    [
        ("rise", True),  # lost on the way out, far from the peak, and seen again before it
        ("rest", True),  # lost at rest between reps
        ("brief", True),  # lost for 0.1 s in the hold (3 frames at 30 fps): not long enough to hide a rep's end
        ("hold", False),  # lost for 0.5 s at the peak
    ],
)
def test_only_a_gap_next_to_the_furthest_point_leaves_it_unseen(where, seen):
    t, x, truth = reps_signal(30.0, amps=(80.0,), hold=1.0)
    t0, tp, t1 = truth[0]
    lost = {
        "rise": (t > t0 + 0.3) & (t < t0 + 0.6),
        "rest": (t > t1 + 0.2) & (t < t1 + 1.0),
        "brief": (t > tp) & (t < tp + 0.1),
        "hold": (t > tp - 0.25) & (t < tp + 0.25),
    }[where]
    x = x.copy()
    x[lost] = np.nan
    reps = detect_reps(t, x, hysteresis=10.0, target=85.0)
    assert len(reps) == 1
    assert reps[0].peak_seen is seen
    assert reps[0].below_target is (True if seen else None)


@pytest.mark.parametrize(("lost_frames", "seen"), [(0, True), (1, False)])
def test_a_jittery_5fps_camera_loses_the_furthest_point_only_with_a_frame(lost_frames, seen):
    # a webcam at 5 fps whose frames come 0.19-0.21 s apart, two of them in a burst 0.02 s apart: no
    # frame lost is no gap; one frame lost at the peak (0.4 s unmeasured at 5 fps) is
    rng = np.random.default_rng(3)
    t, x, truth = reps_signal(5.0, amps=(80.0,), hold=1.0)
    t = t + rng.uniform(-0.01, 0.01, t.size)
    t[3] = t[2] + 0.02  # at rest, before the rep
    x = x.copy()
    peak = int(np.argmin(np.abs(t - truth[0][1])))
    x[peak:peak + lost_frames] = np.nan
    reps = detect_reps(t, x, hysteresis=10.0)
    assert len(reps) == 1
    assert reps[0].peak_seen is seen


def test_few_frame_glitches_at_rest_are_not_reps():
    # rendered two-person scenes: at rest the angle jumps 20-50° for 2-3 frames (15 fps)
    rng = np.random.default_rng(12)
    t, x, truth = reps_signal(15.0, amps=(70.0, 70.0), rest=3.0)
    x = x + rng.normal(0, 1.0, t.size)
    _glitch(x, t, 0.5, [35.0, 50.0])
    _glitch(x, t, 1.6, [-30.0, -40.0, -25.0])  # away from the worked side
    _glitch(x, t, truth[0][2] + 1.0, [20.0, 45.0, 30.0])
    _glitch(x, t, truth[1][2] + 1.2, [40.0])
    reps = detect_reps(t, x, hysteresis=12.0)
    assert [r.partial for r in reps] == [False, False]  # the detector without CONFIRM_S found 5
    for rep, (t0, tp, t1) in zip(reps, truth, strict=True):
        assert t0 < rep.start < tp < rep.end < t1
        assert rep.peak == pytest.approx(tp, abs=0.3)


@pytest.mark.parametrize(
    ("dip", "expected"),
    [
        (10.0, 1),  # a held peak wobbling 10° back: one rep (seated knee flexion, rendered)
        (27.0, 1),  # 45 % of the way back to rest: still the same rep
        (45.0, 2),  # 75 % of the way back, then out again: a second rep
    ],
)
def test_a_dip_part_way_back_in_a_hold(dip, expected):
    t, x, truth = reps_signal(30.0, amps=(60.0,), hold=3.0, rest=1.5)
    t0, tp, t1 = truth[0]
    x = x.copy()
    dip_s = 0.6  # far longer than a glitch: the signal stays back by the hysteresis for > 0.2 s
    on = (t >= tp - dip_s / 2) & (t < tp + dip_s / 2)
    x[on] -= dip / 2 * (1 - np.cos(2 * np.pi * (t[on] - tp + dip_s / 2) / dip_s))
    reps = detect_reps(t, x, hysteresis=8.0)
    assert len(reps) == expected  # the detector without RETURN_FRACTION found 2 for every dip
    assert not any(r.partial for r in reps)
    assert reps[0].start == pytest.approx(t0 + 0.31, abs=0.21)
    assert reps[-1].end == pytest.approx(t1 - 0.31, abs=0.21)
    if expected == 1:
        assert reps[0].max_angle == pytest.approx(60.0)
        assert reps[0].min_angle == pytest.approx(0.0)
        assert reps[0].peak < tp - dip_s / 2  # the first sample at the extreme: the hold's start
    else:
        # the dip is the rest between them: the first ends, the second starts at its bottom
        assert reps[0].end == pytest.approx(tp, abs=0.15)
        assert reps[1].start == pytest.approx(tp, abs=0.15)


def test_dip_rule_streams_like_offline_and_keeps_the_live_state():
    rng = np.random.default_rng(13)
    t, x, truth = reps_signal(15.0, amps=(60.0, 60.0), hold=2.0, rest=1.0)
    x = x + rng.normal(0, 1.0, t.size)
    for _, tp, _ in truth:
        _glitch(x, t, tp - 0.4, [-20.0, -25.0, -25.0, -25.0, -25.0, -20.0])  # 0.4 s, 40 % back
        _glitch(x, t, tp + 0.5, [-50.0, -55.0])  # a 2-frame glitch nearly to rest
    offline = detect_reps(t, x, hysteresis=8.0)
    det = RepDetector(hysteresis=8.0)
    states = []
    live: list[Rep] = []
    for ti, xi in zip(t, x, strict=True):
        live.extend(det.update(float(ti), float(xi)))
        states.append(det.state)
    live += det.finish()
    assert live == offline and len(offline) == 2
    # after the dip the hold goes on: at the peak again, not a new movement out
    i = int(np.searchsorted(t, truth[0][1] + 0.2))
    assert states[i] == "at_peak"


def test_fatigue_shrinking_fast_small_reps_all_count():
    # the rules against glitches must not eat real reps: 40° shrinking to 15°, 1.2 s each with
    # 0.3 s of rest, 1° noise, at 15 fps (about the fastest a ROM rep is done)
    rng = np.random.default_rng(14)
    amps = (40.0, 30.0, 22.0, 15.0)
    t, x, _ = reps_signal(15.0, amps=amps, dur=1.2, rest=0.3)
    reps = offline_pipeline(t, x + rng.normal(0, 1.0, t.size), target=30.0)
    assert [r.max_angle for r in reps] == pytest.approx(amps, abs=3.0)
    assert [r.below_target for r in reps] == [False, False, True, True]
    assert not any(r.partial for r in reps)


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    ("fps", "sigma", "works"),
    [
        (30.0, 0.0, "max"),
        (30.0, 2.5, "max"),
        (5.0, 1.0, "max"),
        (30.0, 2.0, "min"),
    ],
)
def test_streaming_equals_offline(fps, sigma, works):
    rng = np.random.default_rng(10)
    t, x, _ = reps_signal(fps, amps=(80.0, 30.0, 70.0))
    x = x + rng.normal(0, sigma, t.size)
    x[len(x) // 3 : len(x) // 3 + 4] = np.nan
    angle = x if works == "max" else 100.0 - x
    h = max(5.0, 8 * estimate_noise(angle))
    offline = detect_reps(t, angle, works=works, hysteresis=h, target=60.0)
    det = RepDetector(works=works, hysteresis=h, target=60.0)
    live, _ = stream(det, t, angle)
    live += det.finish()
    assert live == offline
    assert det.completed == sum(not r.partial for r in offline) == 3


def test_completed_goes_up_on_return_to_rest_without_a_next_rep():
    t, x, truth = reps_signal(30.0, amps=(60.0,), rest=5.0)  # one rep, then 5 s of rest
    det = RepDetector(hysteresis=8.0)
    reps, counts = stream(det, t, x)
    assert reps == []  # not final: its rest angle could still change
    counts = np.array(counts)
    first_counted = t[np.argmax(counts == 1)]
    _, _, t_end = truth[0]
    assert t_end - 0.5 < first_counted <= t_end  # counted when back at rest, not later
    assert counts[-1] == 1 and det.state == "rest"
    final = det.finish()
    assert len(final) == 1 and not final[0].partial
    assert det.completed == 1


def test_states_through_a_held_rep():
    t, x, truth = reps_signal(30.0, amps=(60.0,), hold=2.0, rest=2.0)
    det = RepDetector(hysteresis=8.0)
    states = []
    for ti, xi in zip(t, x, strict=True):
        det.update(float(ti), float(xi))
        states.append(det.state)
    t0, tp, t1 = truth[0]

    def at(sec):
        return states[int(np.argmin(np.abs(t - sec)))]

    assert at(t0 - 0.5) == "rest"
    assert at(t0 + 0.9) == "moving_out"
    assert at(tp) == "at_peak"
    assert at(t1 - 0.5) == "returning"
    assert at(t1 + 1.0) == "rest"


def test_update_checks_input():
    det = RepDetector()
    det.update(0.0, 10.0)
    with pytest.raises(ValueError, match="t must increase"):
        det.update(0.0, 11.0)
    assert det.update(0.1, math.nan) == []
    with pytest.raises(ValueError, match="t must increase"):
        det.update(0.05, 11.0)
    with pytest.raises(ValueError, match="angle"):
        det.update(0.2, math.inf)
    det.finish()
    with pytest.raises(RuntimeError):
        det.update(1.0, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"works": "up"}, "works"),  # only "max" or "min"
        ({"hysteresis": 0.0}, "hysteresis"),  # must be positive
        ({"hold_tolerance": -5.0}, "hold_tolerance"),
        ({"target": math.nan}, "target"),
    ],
)
def test_detector_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RepDetector(**kwargs)


def test_detect_reps_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="same length"):
        detect_reps(np.arange(3.0), np.zeros(4))


def test_a_brief_glitch_mid_movement_does_not_split_a_rep():
    # one 110° knee bend at 15 fps; the pose model jumps +15° then back for three frames as the
    # leg starts to move (seen on rendered side views)
    t, x, truth = reps_signal(15.0, amps=(110.0,))
    start = int(np.searchsorted(t, truth[0][0] + 0.2))
    x = x.copy()
    x[start:start + 3] += np.array([15.0, 8.0, -6.0])
    reps = offline_pipeline(t, x)
    assert len(reps) == 1
    assert reps[0].max_angle == pytest.approx(110.0, abs=1.0)
