"""Tests of romcam.filters: the live 1€ filter, the offline zero-phase filter, the noise estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from romcam.filters import OneEuroFilter, estimate_noise, smooth_zero_phase


def raised_cosine(fps: float, *, amp: float = 150.0, dur: float = 3.0, rest: float = 1.0):
    """One clean 0 → amp → 0 raised-cosine rep of ``dur`` s between rests of ``rest`` s."""
    t = np.arange(0.0, 2 * rest + dur, 1.0 / fps)
    phase = np.clip((t - rest) / dur, 0.0, 1.0)
    return t, amp / 2 * (1 - np.cos(2 * np.pi * phase))


def run_one_euro(f: OneEuroFilter, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.array([f(ti, xi) for ti, xi in zip(t, x, strict=True)])


# ---------------------------------------------------------------- One Euro


def test_one_euro_reduces_jitter_on_constant_plus_noise():
    rng = np.random.default_rng(0)
    t = np.arange(0, 10, 1 / 30)
    x = 90 + rng.normal(0, 2.0, t.size)
    y = run_one_euro(OneEuroFilter(), t, x)
    settled = slice(60, None)  # after 2 s
    assert np.std(y[settled]) < 0.5 * np.std(x[settled])
    assert abs(np.mean(y[settled]) - 90) < 0.5


@pytest.mark.parametrize(
    ("speed", "max_lag_s"),
    [
        (30.0, 0.12),  # slow ALS-paced movement: cutoff ~1.6 Hz, lag ~0.1 s
        (90.0, 0.07),  # fast movement: beta raises the cutoff, lag shrinks
    ],
)
def test_one_euro_follows_a_ramp(speed, max_lag_s):
    t = np.arange(0, 3, 1 / 30)
    x = speed * t
    y = run_one_euro(OneEuroFilter(), t, x)
    lag_s = (x[-1] - y[-1]) / speed
    assert 0 < lag_s < max_lag_s


def test_one_euro_beta_reduces_lag():
    t = np.arange(0, 3, 1 / 30)
    x = 90.0 * t
    lag_beta = x[-1] - run_one_euro(OneEuroFilter(), t, x)[-1]
    lag_plain = x[-1] - run_one_euro(OneEuroFilter(beta=0.0), t, x)[-1]
    assert lag_beta < 0.6 * lag_plain


@pytest.mark.parametrize(
    "t2",
    [
        1.0,  # same time twice
        0.5,  # time going back
        math.nan,  # not a time
    ],
)
def test_one_euro_refuses_non_monotonic_time(t2):
    f = OneEuroFilter()
    f(1.0, 10.0)
    with pytest.raises(ValueError, match="t must"):
        f(t2, 11.0)


def test_one_euro_reset_forgets_time_and_state():
    f = OneEuroFilter()
    f(5.0, 10.0)
    f(5.1, 20.0)
    f.reset()
    assert f(0.0, 42.0) == 42.0


def test_one_euro_nan_returns_nan_and_keeps_state():
    f = OneEuroFilter()
    ref = OneEuroFilter()
    for k in range(30):
        f(k / 30, 50.0)
        ref(k / 30, 50.0)
    assert math.isnan(f(30 / 30, math.nan))
    with pytest.raises(ValueError, match="t must"):
        f(30 / 30, 50.0)  # the NaN sample's time still counts
    # After a short gap the filter continues from its state, like one that saw no NaN.
    assert f(31 / 30, 60.0) == pytest.approx(ref(31 / 30, 60.0))


def test_one_euro_restarts_after_a_long_gap():
    f = OneEuroFilter(max_gap_s=0.5)
    for k in range(30):
        f(k / 30, 50.0)
    assert math.isnan(f(1.2, math.nan))
    assert f(1.7, 120.0) == 120.0  # 0.73 s since the last value: restart, no drag from 50°
    assert f(1.7 + 1 / 30, 120.0) == pytest.approx(120.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_cutoff": 0.0}, "min_cutoff"),  # a cutoff must be positive
        ({"beta": -1.0}, "beta"),  # negative speed coefficient
        ({"d_cutoff": math.inf}, "d_cutoff"),  # infinite cutoff
        ({"max_gap_s": 0.0}, "max_gap_s"),  # no gap allowed at all
    ],
)
def test_one_euro_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OneEuroFilter(**kwargs)


# ---------------------------------------------------------------- zero-phase


@pytest.mark.parametrize(
    ("fps", "tol_deg"),
    [
        (30.0, 0.5),  # the webcam rate: peak kept within 0.5°
        (5.0, 0.5),  # the squat clip's rate: cutoff clamped to 2 Hz, still no blunting
    ],
)
def test_zero_phase_keeps_the_peak(fps, tol_deg):
    t, x = raised_cosine(fps)
    y = smooth_zero_phase(t, x)
    assert not np.any(np.isnan(y))
    assert abs(np.max(y) - np.max(x)) <= tol_deg
    assert t[np.argmax(y)] == pytest.approx(t[np.argmax(x)], abs=1.01 / fps)  # no delay
    assert np.max(np.abs(y - x)) < 1.0


@pytest.mark.parametrize(
    ("fps", "cutoff_hz", "min_ratio"),
    [
        (30.0, 6.0, 1.4),  # default cutoff at 30 fps passes 40 % of the band: ~1.6x
        (30.0, 3.0, 2.0),  # slower exercises: 3 Hz halves the noise std
        (60.0, 6.0, 2.0),  # 6 Hz at 60 fps
    ],
)
def test_zero_phase_removes_noise(fps, cutoff_hz, min_ratio):
    rng = np.random.default_rng(1)
    t = np.arange(0, 20, 1 / fps)
    x = 90 + rng.normal(0, 2.5, t.size)
    y = smooth_zero_phase(t, x, cutoff_hz=cutoff_hz)
    assert np.std(x) / np.nanstd(y) >= min_ratio
    assert np.count_nonzero(np.isnan(y)) <= 0.025 * t.size  # few false outliers (~1 %)


def test_zero_phase_keeps_nan_gaps_nan():
    t, x = raised_cosine(30.0)
    x[40:70] = np.nan  # a 1 s gap: not bridged
    x[100:102] = np.nan  # a 2-sample gap: bridged for filtering only
    y = smooth_zero_phase(t, x)
    assert np.array_equal(np.isnan(y), np.isnan(x))
    ok = ~np.isnan(x)
    assert np.max(np.abs(y[ok] - x[ok])) < 1.0


def test_zero_phase_short_runs_pass_unfiltered():
    t = np.arange(0, 3, 1 / 30)
    x = 10 + (np.arange(t.size) % 2) * 1.0  # 1° zig-zag the filter would flatten
    x[10:20] = np.nan
    x[25:40] = np.nan  # leaves a 5-sample run 20..24
    y = smooth_zero_phase(t, x)
    assert np.array_equal(y[20:25], x[20:25])
    assert np.std(y[40:]) < 0.5 * np.std(x[40:])


@pytest.mark.parametrize(
    ("fps", "i", "where"),
    [
        (30.0, 15, "rest"),
        (30.0, 60, "steep rise"),
        (30.0, 75, "peak"),
        (5.0, 10, "rise at 5 fps"),
    ],
)
def test_zero_phase_rejects_a_spike(fps, i, where):
    t, x = raised_cosine(fps)
    clean = smooth_zero_phase(t, x)
    x = x.copy()
    x[i] += 60.0
    y = smooth_zero_phase(t, x)
    assert np.isnan(y[i]), where
    assert np.count_nonzero(np.isnan(y)) == 1
    others = np.arange(t.size) != i
    assert np.max(np.abs(y[others] - clean[others])) < 1.0


@pytest.mark.parametrize(
    ("t", "x", "kwargs", "match"),
    [
        ([0.0, 0.1, 0.1], [1.0, 2.0, 3.0], {}, "t must increase"),  # repeated time
        ([0.0, 0.1], [1.0, 2.0, 3.0], {}, "same length"),  # mismatched lengths
        ([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], {"cutoff_hz": -1.0}, "cutoff_hz"),
        ([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], {"order": 0}, "order"),
        ([[0.0, 0.1]], [[1.0, 2.0]], {}, "1-D"),
    ],
)
def test_zero_phase_rejects_bad_input(t, x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        smooth_zero_phase(np.array(t), np.array(x), **kwargs)


# ---------------------------------------------------------------- noise estimate


@pytest.mark.parametrize(
    ("sigma", "with_reps"),
    [
        (1.0, False),  # plain noise
        (3.0, False),
        (2.0, True),  # reps at 30 fps barely move the second differences
    ],
)
def test_estimate_noise(sigma, with_reps):
    rng = np.random.default_rng(2)
    t = np.arange(0, 20, 1 / 30)
    base = 60 * (1 - np.cos(2 * np.pi * t / 4)) if with_reps else np.zeros_like(t)
    x = base + rng.normal(0, sigma, t.size)
    x[100:130] = np.nan
    assert estimate_noise(x) == pytest.approx(sigma, rel=0.1)


def test_estimate_noise_edge_cases():
    assert estimate_noise(np.array([1.0, 2.0])) == 0.0
    assert estimate_noise(np.array([1.0, np.nan, 2.0, np.nan])) == 0.0
    assert estimate_noise(np.linspace(0, 90, 50)) == pytest.approx(0.0, abs=1e-9)
