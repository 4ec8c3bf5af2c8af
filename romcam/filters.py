"""Filters for joint-angle signals (degrees, sampled at video frame times in seconds).

Two filters for two jobs:

- :class:`OneEuroFilter` is **causal** (no look-ahead): what the live coach shows while the
  patient moves. Casiez, Roussel & Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter for
  Noisy Input in Interactive Systems", CHI 2012, https://gery.casiez.net/1euro/
- :func:`smooth_zero_phase` is **offline**: the signal stored peaks are measured on. Hampel
  outlier rejection, then a zero-phase (forward-backward) Butterworth low-pass, so a peak is
  neither delayed nor blunted. Missing samples (``NaN``) are never invented.

:func:`estimate_noise` measures the white-noise level of a raw signal; ``romcam.reps`` uses it to
choose the rep hysteresis. Apply it to the *raw* angles: a low-passed signal has almost no
sample-to-sample noise left, so its estimate says little about the wobble that remains.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OneEuroFilter", "estimate_noise", "preload", "smooth_zero_phase"]

def preload() -> None:
    """Import what :func:`smooth_zero_phase` needs (scipy.signal, 2 s: it brings scipy.stats) now. It is imported on
    first use, not with this module, so that ``romcam serve`` starts without it; the live coach calls this on a
    thread of its own as it starts, so that the first set's end does not stall the capture loop for it."""
    from scipy import signal  # noqa: F401


# Gaussian consistency constant: std = MAD_SCALE * median absolute deviation, for normal noise.
MAD_SCALE = 1.482602218505602

# Hampel filter (Pearson et al. 2016, "Generalized Hampel filters", EURASIP J. Adv. Signal
# Process.): a sample further than HAMPEL_N_SIGMAS robust standard deviations from the running
# median of a ~HAMPEL_WINDOW_S window is an outlier.
HAMPEL_WINDOW_S = 0.5
HAMPEL_N_SIGMAS = 3.0
# At least this many samples each side of the centre. Three (a 7-sample window) keeps the
# median of a window equal to its centre on any monotonic stretch, so the onset of a fast
# movement at 5 fps is not mistaken for an outlier (a 5-sample window would reject it).
HAMPEL_MIN_HALF_WIDTH = 3
# Degrees. A deviation this small is never an outlier, even where the window is perfectly flat
# (MAD = 0, e.g. clean synthetic or quantised angles).
HAMPEL_MIN_DEVIATION_DEG = 3.0
# Fewest valid samples in a window for the Hampel test to judge its centre.
HAMPEL_MIN_VALID = 3

# Missing stretches of at most this many samples inside a run are bridged by linear
# interpolation *for filtering only*; they are NaN again in the output.
MAX_BRIDGED_GAP = 3
# The Butterworth cutoff is clamped to at most this fraction of the frame rate (0.8 × Nyquist).
MAX_CUTOFF_FRACTION_OF_FPS = 0.4


def _alpha(cutoff_hz: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass with the given cutoff, for a step of ``dt``
    seconds (Casiez et al. 2012, eq. 2: alpha = 1 / (1 + tau / dt), tau = 1 / (2 pi fc))."""
    r = 2.0 * math.pi * cutoff_hz * dt
    return r / (r + 1.0)


def check_positive(name: str, value: float, unit: str = "") -> float:
    """``value`` as a float, or ValueError naming ``name`` when it is not a finite number > 0."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        what = f"a finite number of {unit} > 0" if unit else "a finite number > 0"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return v


class OneEuroFilter:
    """Causal 1€ filter for one angle signal (degrees) sampled at times in seconds.

    A first-order low-pass whose cutoff rises with the signal's speed: at rest it smooths hard
    (``min_cutoff``), in fast movement it follows with little lag (``beta`` × speed). Casiez,
    Roussel & Vogel, CHI 2012.

    Parameters (keyword-only)
    -------------------------
    min_cutoff:
        Hz. Cutoff at rest: lower = less jitter, more lag on slow movement.
    beta:
        Hz per (degree/second). Speed coefficient; 0.02 suits angles in degrees (a 90°/s
        movement raises the cutoff by 1.8 Hz).
    d_cutoff:
        Hz. Cutoff of the low-pass on the speed estimate.
    max_gap_s:
        Seconds. If more than this passed since the last valid sample (missing samples in
        between), the filter restarts from the next value instead of dragging from the old one.

    Calling ``f(t, x)`` returns the filtered value. ``t`` must increase strictly from call to
    call (including calls with a missing value); ``x = NaN`` (not measured) returns ``NaN`` and
    leaves the state untouched.
    """

    def __init__(
        self,
        *,
        min_cutoff: float = 1.0,
        beta: float = 0.02,
        d_cutoff: float = 1.0,
        max_gap_s: float = 0.5,
    ) -> None:
        self.min_cutoff = check_positive("min_cutoff", min_cutoff)
        b = float(beta)
        if not math.isfinite(b) or b < 0:
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        self.beta = b
        self.d_cutoff = check_positive("d_cutoff", d_cutoff)
        self.max_gap_s = check_positive("max_gap_s", max_gap_s)
        self.reset()

    def reset(self) -> None:
        """Forget all history: the next call starts a new signal (any time is accepted)."""
        self._t_last: float | None = None  # last time seen, valid value or not
        self._t_prev: float | None = None  # time of the last valid value
        self._x_hat = 0.0
        self._dx_hat = 0.0

    def __call__(self, t: float, x: float) -> float:
        t = float(t)
        if not math.isfinite(t):
            raise ValueError(f"t must be a finite time in seconds, got {t!r}")
        if self._t_last is not None and t <= self._t_last:
            raise ValueError(
                f"t must increase strictly from call to call, got t={t!r} after t={self._t_last!r}"
            )
        self._t_last = t
        x = float(x)
        if math.isnan(x):
            return math.nan
        if math.isinf(x):
            raise ValueError(f"x must be a finite angle in degrees or NaN (missing), got {x!r}")
        if self._t_prev is None or t - self._t_prev > self.max_gap_s:
            self._t_prev, self._x_hat, self._dx_hat = t, x, 0.0
            return x
        dt = t - self._t_prev
        dx = (x - self._x_hat) / dt
        self._dx_hat += _alpha(self.d_cutoff, dt) * (dx - self._dx_hat)
        cutoff = self.min_cutoff + self.beta * abs(self._dx_hat)
        self._x_hat += _alpha(cutoff, dt) * (x - self._x_hat)
        self._t_prev = t
        return self._x_hat


def _as_signal(name: str, a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def _check_times(t: np.ndarray) -> None:
    if not np.all(np.isfinite(t)):
        raise ValueError("t must hold finite times in seconds, got NaN or inf")
    if t.size > 1 and not np.all(np.diff(t) > 0):
        i = int(np.argmin(np.diff(t)))
        raise ValueError(
            f"t must increase strictly, got t[{i}]={t[i]!r} then t[{i + 1}]={t[i + 1]!r}"
        )


def estimate_noise(x: np.ndarray) -> float:
    """Robust standard deviation (same units as ``x``, degrees for angles) of the white noise on
    a sampled signal.

    Uses second differences ``x[i-1] - 2 x[i] + x[i+1]`` of consecutive valid samples: they
    cancel any locally linear movement, and for white noise of std σ their std is σ·√6. The std
    is taken as ``MAD_SCALE × MAD`` (median absolute deviation about the median), so movement
    bursts and outliers barely count. Triples touching a ``NaN`` are ignored. Returns ``0.0``
    when there is no valid triple.
    """
    arr = _as_signal("x", x)
    if arr.size < 3:
        return 0.0
    d2 = arr[:-2] - 2.0 * arr[1:-1] + arr[2:]
    d2 = d2[np.isfinite(d2)]
    if d2.size == 0:
        return 0.0
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return MAD_SCALE * mad / math.sqrt(6.0)


def _hampel_outliers(x: np.ndarray, half_width: int) -> np.ndarray:
    """Boolean mask of the valid samples of ``x`` the Hampel test rejects (see module
    constants). Windows are in samples, NaN-aware, and shrink at the ends of the array.

    The window is first detrended by its median sample-to-sample slope, so the MAD measures
    noise rather than movement: on a steep stretch of a rep the plain Hampel MAD grows with the
    slope (a +60° spike in the middle of a fast rise would pass).
    """
    n = x.size
    out = np.zeros(n, dtype=bool)
    centres = np.flatnonzero(np.isfinite(x))
    if centres.size == 0:
        return out
    pad = np.full(half_width, np.nan)
    padded = np.concatenate([pad, x, pad])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)[centres]
    judged = np.count_nonzero(np.isfinite(windows), axis=1) >= HAMPEL_MIN_VALID
    if not np.any(judged):
        return out
    windows, centres = windows[judged], centres[judged]
    steps = np.diff(windows, axis=1)
    steps[~np.isfinite(steps).any(axis=1)] = 0.0  # no adjacent valid pair: no trend
    slope = np.nanmedian(steps, axis=1)
    residual = windows - slope[:, None] * np.arange(-half_width, half_width + 1)
    med = np.nanmedian(residual, axis=1)
    mad = np.nanmedian(np.abs(residual - med[:, None]), axis=1)
    limit = np.maximum(HAMPEL_N_SIGMAS * MAD_SCALE * mad, HAMPEL_MIN_DEVIATION_DEG)
    out[centres[np.abs(x[centres] - med) > limit]] = True
    return out


def _segments(valid: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Half-open index ranges [a, b) that start and end on valid samples, joining runs of valid
    samples separated by at most ``max_gap`` invalid ones."""
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def smooth_zero_phase(
    t: np.ndarray, x: np.ndarray, *, cutoff_hz: float = 6.0, order: int = 4
) -> np.ndarray:
    """Outlier-free, zero-phase low-passed copy of ``x`` (degrees) sampled at times ``t`` (s).

    1. **Outliers**: Hampel filter, on the window detrended by its median step (see
       ``_hampel_outliers``). A sample further than 3 robust standard deviations
       (1.4826 × MAD) from the median of its window (``HAMPEL_WINDOW_S`` = 0.5 s, at least 3
       samples each side: 7 samples = 1.4 s at 5 fps) is rejected, but never for a deviation
       under ``HAMPEL_MIN_DEVIATION_DEG`` (3°). Rejected samples are ``NaN`` in the output.
    2. **Low-pass**: Butterworth of ``order`` (second-order sections), run forward and backward
       (``scipy.signal.sosfiltfilt``): no delay, magnitude response squared. The frame rate is
       estimated as 1 / median(dt); ``cutoff_hz`` is clamped to at most 0.4 × that rate.
    3. **Missing data**: each run of valid samples is filtered on its own. Inside a run, gaps of
       at most ``MAX_BRIDGED_GAP`` (3) samples are bridged by linear interpolation for filtering
       only; the output is ``NaN`` at every input ``NaN`` and every rejected outlier. A run not
       longer than the filter's padding (``3 × (2 × sections + 1)`` samples: 15 for order 4,
       0.5 s at 30 fps, 3 s at 5 fps) is returned **unfiltered** (outlier-rejected only):
       smoothing so few samples would mostly be edge effects, and unfiltered keeps its peak.

    A default 6 Hz cutoff passes human range-of-motion movement untouched (a 0→150° rep of 3 s
    keeps its peak within 0.5° at 30 fps) while removing ~40 % of white-noise std at 30 fps
    (the removed share grows as the cutoff falls or the frame rate rises).
    """
    tt = _as_signal("t", t)
    xx = _as_signal("x", x)
    if tt.shape != xx.shape:
        raise ValueError(f"t and x must have the same length, got {tt.size} and {xx.size}")
    _check_times(tt)
    cutoff = check_positive("cutoff_hz", cutoff_hz)
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    if np.any(np.isinf(xx)):
        raise ValueError("x must hold finite angles in degrees or NaN (missing), got inf")

    out = xx.copy()
    if tt.size < 2:
        return out
    fps = 1.0 / float(np.median(np.diff(tt)))

    half_width = max(HAMPEL_MIN_HALF_WIDTH, round(HAMPEL_WINDOW_S * fps / 2.0))
    out[_hampel_outliers(xx, half_width)] = np.nan

    # imported here, not at the top: scipy.signal takes 2 s to import, and every `romcam serve` imports this
    # module (see preload)
    from scipy import signal as sps

    fc = min(cutoff, MAX_CUTOFF_FRACTION_OF_FPS * fps)
    sos = sps.butter(int(order), fc, btype="lowpass", fs=fps, output="sos")
    padlen = 3 * (2 * len(sos) + 1)  # sosfiltfilt's default padding
    valid = np.isfinite(out)
    for a, b in _segments(valid, MAX_BRIDGED_GAP):
        if b - a <= padlen:
            continue  # too short to filter: left as is (see docstring)
        seg_t, seg_x, seg_ok = tt[a:b], out[a:b], valid[a:b]
        bridged = np.interp(seg_t, seg_t[seg_ok], seg_x[seg_ok])
        smoothed = sps.sosfiltfilt(sos, bridged)
        out[a:b] = np.where(seg_ok, smoothed, np.nan)
    return out
