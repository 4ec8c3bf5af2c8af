"""Repetition detection on a joint-angle signal (degrees over seconds), live or offline.

One detector serves both: :class:`RepDetector` takes one sample at a time (the live coach) and
:func:`detect_reps` feeds it a whole recording (the offline analysis), so both see the same reps.

Method
------
A zig-zag (Billauer "peakdet") turning-point detector with hysteresis, run on
``y = +angle`` (``works="max"``) or ``y = -angle`` (``works="min"``), so the worked extreme is
always a maximum of ``y`` and rest is a minimum ("valley"). A candidate peak is confirmed once
the signal has come back from it by at least ``hysteresis`` degrees, a valley once the signal has
left it by at least ``hysteresis``. Noise smaller than the hysteresis can neither split a rep
(a noisy hold stays one rep) nor create one (a noisy rest stays rest); any cycle larger than it
is a rep, however small (an ALS patient's 15° rep counts). A rep is valley → peak → valley;
consecutive reps share the valley between them.

Three rules keep pose-model glitches (issues 3 and 6: the angle jumping 20-60° for 1-3 frames,
over and over in a hold, or at rest) from splitting reps or making new ones. Each is a
statement about movement, not a tuned filter, and none looks at a rep's size: small and
shrinking reps are found as before, short ones flagged, never dropped.

1. *Glitch gate* (before the zig-zag): a sample more than ``hysteresis`` away from the last
   accepted one, and less than ``CONFIRM_S`` (0.2 s) after it, is a jump: it and the samples
   after it that are still that far away are held back. They are accepted once a sample at
   least 0.2 s after the jump is still away, and dropped (as missing data) if a sample comes
   back within ``hysteresis`` of the last accepted one less than 0.2 s after the last held one
   (later, after missing data, nothing tells a glitch from a movement: they are accepted). A
   limb that moves keeps going; a landmark that jumps and jumps back within 0.2 s did not
   move. Samples 0.2 s apart or more with nothing missing between (5 fps and slower) are never
   a jump. Missing data (samples not measured) is no excuse: a sample seen again after it, more than
   ``hysteresis`` from the last accepted one, is held the same way — but if what comes next is
   back within ``hysteresis`` of that held sample (the limb seen again mid-movement, gliding on),
   everything held is accepted. And a held jump lasts only where it stays: a sample that jumps
   again from the last held one (more than ``hysteresis``, within 0.2 s or across missing data)
   drops what was held and is held as a jump of its own. (With the caregiver kneeling in front
   of a seated patient's straightened leg, lone readings of the shin drawn down to the floor,
   60-80° off, came between unmeasured frames, passed for jumps that lasted, and made reps.)
2. *Confirmation time*: a turning point is confirmed only once the signal has stayed back from
   it by at least ``hysteresis`` on every valid sample for ``CONFIRM_S`` (the samples between
   may be missing). This catches the glitches that build up in steps under the hysteresis. The
   valley (or peak) a turning point leads to is searched from the first sample of that
   confirming run on, so a glitch that did not last, before it, never becomes a rep's extreme.
3. *Return rule*: a valley ends a rep only if the signal came back from the peak at least
   ``RETURN_FRACTION`` (one half, the same fraction that tells a full rep from one cut off by the
   end of the recording) of the rep's rise, or to within the rest tolerance of the valley before
   it. A dip part of the way back in a hold followed by a new push out is the same rep (its peak
   stays the first sample reaching the extreme); a return past half-way and out again is a new
   rep.

At 15 fps a glitch is at most 3 samples (a 4th sample still away confirms a movement), at 30
fps 6; at 5 fps the gate does nothing and the confirmation time needs 2 samples.

Definitions (all times are sample times of valid samples — measured, and not dropped by the
glitch gate; nothing is interpolated except the edges of ``hold_s``)
---------------------------------------------------------------------------------------------
- *rest tolerance* of a rep side: ``max(2°, 10 % of that side's excursion, hysteresis / 2)``.
  The hysteresis term keeps the start and end on the rest level when the rest is noisy (the
  valley is the lowest noise sample, a couple of noise stds under the mean rest level).
- ``start``: the last sample before the peak within the rest tolerance of the valley before.
- ``end``: the first sample after the peak within the rest tolerance of the valley after.
- ``peak`` (plateau rule): the middle sample of the contiguous samples within 1°
  (``PLATEAU_TOL_DEG``) of the extreme that contain the first sample reaching the extreme.
- ``max_angle`` / ``min_angle``: the extremes of the rep's samples from the valley before to
  the valley after, glitches left out (samples dropped by the gate; a valley is the extreme of
  the run that confirmed it and the samples after, see rule 2): one is the peak, the other the
  lower (for ``works="max"``) of the two rest valleys. For ``works="min"`` the peak is
  ``min_angle``.
- ``hold_s``: duration of the contiguous stretch around the peak within ``hold_tolerance`` of the
  *peak level*, limited to [start, end]. The peak level is the median of the samples of that
  stretch taken within ``hold_tolerance`` of the extreme sample: on a clean plateau it is the
  plateau, on a noisy one the top of the plateau rather than its highest noise sample (which
  would leave half the hold outside the band); on a sharp peak it sits ~1/4 of the tolerance
  under the extreme, so a clean raised-cosine peak reads ~12 % longer than the band of the bare
  extreme. Dips out of the band lasting at most 0.2 s (``HOLD_MAX_DIP_S``, counted in frame
  intervals) are noise and do not break the stretch; missing data longer than that does. The
  band crossings at both edges are linearly interpolated between the samples around them.
- ``partial``: cut off by the start of the signal — the first rep, whose valley before is the
  very first valid sample, with a rise less than half its fall — or by the end — the signal ended
  before the rep came back to rest, with a fall less than half its rise.
- ``peak_seen``: ``False`` when the furthest point may have fallen in unmeasured frames: between
  ``start`` and ``end`` the limb went unmeasured for longer than ``UNSEEN_GAP_S`` (0.2 s, and at
  least 1.5 frame intervals, the median of the last 63: one lost frame at 5 fps, not a jittery
  camera) — missing samples, or samples the glitch gate dropped — next to a sample within
  ``hysteresis`` of the rep's extreme. The limb was near its
  furthest point when it was lost from view, so it may have gone further unseen: the peak angle is
  what was seen, a bound on the range reached (a knee straightened under a caregiver's hands reads
  45° where it reached 0°), not a measurement of it. ``below_target`` is then ``None`` (not known)
  where the seen angle falls short of the target.
- ``below_target``: ``max_angle < target`` (``works="max"``) or ``min_angle > target``
  (``works="min"``); ``None`` without a target. A short rep is never dropped, only flagged.

Streaming
---------
``update`` is O(1) amortized. Its only look-ahead is the glitch gate and the confirmation time:
a sample reaches the zig-zag at most ``CONFIRM_S`` (0.2 s) late (only while a jump is held; at
once otherwise), and a turning point is known ``CONFIRM_S`` after the signal came back from it
by the hysteresis. A rep becomes *final* (returned) when the valley after it is confirmed (the
next movement left it by ``hysteresis`` for ``CONFIRM_S``, and the rep had come back at least
half-way) or at ``finish``, because only then are its end and rest angle known. It is
*completed* (``completed`` goes up) earlier, as soon as the signal is back within the rest
tolerance of the valley before it: a patient who does one rep and rests sees the count go up,
at most 0.2 s later than without the confirmation time (and only for a rep that comes back
within 0.2 s of leaving its peak by the hysteresis). Memory: the samples since the start of the
rep in progress (including the rest after the last rep, until the next one starts), plus the
samples held by the gate (at most 0.2 s).

Missing samples (``NaN``) are skipped. A gap, however long (even > 2 s), neither ends nor splits a
rep: the rep stays open and continues with the next valid sample; no angle is invented across
the gap, and no hold is credited across more than 0.2 s of missing data. At ``finish`` the
samples still held by the gate (a jump that neither lasted 0.2 s nor came back) are dropped.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from romcam.filters import check_positive, estimate_noise

__all__ = ["Rep", "RepDetector", "auto_hysteresis", "below_target", "detect_reps"]

REST_TOL_MIN_DEG = 2.0
REST_TOL_FRACTION = 0.10
REST_TOL_HYSTERESIS_FRACTION = 0.5
PLATEAU_TOL_DEG = 1.0
HOLD_MAX_DIP_S = 0.2
# Live state only: "at_peak" once the furthest point has not advanced by more than
# hold_tolerance for this long (a movement slower than hold_tolerance per 0.5 s reads as a hold).
AT_PEAK_DWELL_S = 0.5
# A rep side shorter than this fraction of the other side marks a rep cut off by the signal.
PARTIAL_FRACTION = 0.5
# A turning point is confirmed only once the signal has stayed back from it by the hysteresis for
# this long: a pose-model glitch of 1-3 frames at 15 fps (<= 0.2 s) is not a movement.
CONFIRM_S = 0.2
# A dip ends a rep only if it came back at least this fraction of the rep's rise toward the rest
# it started from (or to that rest's tolerance): a dip part of the way back in a hold is the hold.
RETURN_FRACTION = 0.5
# Unmeasured for longer than this (and than 1.5 frame intervals) next to a rep's extreme: the rep's
# furthest point may not have been seen (Rep.peak_seen).
UNSEEN_GAP_S = 0.2
UNSEEN_GAP_FRAMES = 1.5
FRAME_DT_WINDOW = 63  # the frame interval is the median of the last this many intervals (jitter-proof)
# Automatic hysteresis (auto_hysteresis): max(AUTO_HYSTERESIS_MIN_DEG, factor × noise std, fraction × range)
# (see detect_reps for why 8).
AUTO_HYSTERESIS_RANGE_FRACTION = 0.12
AUTO_HYSTERESIS_MIN_DEG = 5.0
AUTO_HYSTERESIS_NOISE_FACTOR = 8.0

STATES = ("rest", "moving_out", "at_peak", "returning")


@dataclass(frozen=True)
class Rep:
    """One repetition. Times in seconds, angles in degrees (see the module docstring)."""

    start: float
    peak: float
    end: float
    max_angle: float
    min_angle: float
    hold_s: float
    partial: bool
    below_target: bool | None
    # False when the rep's worked end may lie in frames where the limb was not measured: the peak
    # angle is then the furthest point *seen*, a bound, not the furthest reached (module docstring)
    peak_seen: bool = True

    def to_dict(self) -> dict:
        """Plain JSON-ready dict: times (and ``hold_s``) to 3 decimals, angles to 1."""
        return {
            "start": round(float(self.start), 3),
            "peak": round(float(self.peak), 3),
            "end": round(float(self.end), 3),
            "max_angle": round(float(self.max_angle), 1),
            "min_angle": round(float(self.min_angle), 1),
            "hold_s": round(float(self.hold_s), 3),
            "partial": bool(self.partial),
            "below_target": None if self.below_target is None else bool(self.below_target),
            "peak_seen": bool(self.peak_seen),
        }


class RepDetector:
    """Streaming repetition detector (see the module docstring for every definition).

    Parameters (keyword-only)
    -------------------------
    works:
        ``"max"`` if the exercise aims at the largest angle (a rep rises from rest to a peak and
        returns), ``"min"`` if it aims at the smallest (e.g. seated knee extension, 90° → 0°).
    hysteresis:
        Degrees. A turning point is confirmed once the signal moved back by this much; cycles
        smaller than it are noise. Set it above the noise (``detect_reps`` uses 8 noise stds).
    target:
        Degrees, the therapist's target for the worked extreme, or ``None``.
    hold_tolerance:
        Degrees. Band around the peak angle counted as holding (``Rep.hold_s``).

    ``state`` is one of:

    - ``"rest"``: no rep in progress — before the first movement of at least ``hysteresis``,
      or once the last rep came back to its rest tolerance.
    - ``"moving_out"``: a movement away from rest by at least ``hysteresis`` is in progress and
      its furthest point advanced by more than ``hold_tolerance`` within the last 0.5 s.
    - ``"at_peak"``: within ``hold_tolerance`` of the furthest point, which has not advanced by
      more than ``hold_tolerance`` for 0.5 s.
    - ``"returning"``: more than ``hold_tolerance`` back from the furthest point, not yet at
      rest.
    """

    def __init__(
        self,
        *,
        works: str = "max",
        hysteresis: float = 8.0,
        target: float | None = None,
        hold_tolerance: float = 5.0,
    ) -> None:
        if works not in ("max", "min"):
            raise ValueError(f"works must be 'max' or 'min', got {works!r}")
        self.works = works
        self.hysteresis = check_positive("hysteresis", hysteresis, "degrees")
        if target is not None:
            target = float(target)
            if not math.isfinite(target):
                raise ValueError(f"target must be a finite angle in degrees or None, got {target}")
        self.target = target
        self.hold_tolerance = check_positive("hold_tolerance", hold_tolerance, "degrees")
        self._sign = 1.0 if works == "max" else -1.0

        # Valid samples since global index _base (y = sign × angle).
        self._ts: list[float] = []
        self._ys: list[float] = []
        self._base = 0
        self._n = 0  # valid samples seen
        self._t_last: float | None = None  # last time seen, valid sample or not
        self._dts: deque[float] = deque(maxlen=FRAME_DT_WINDOW)  # the last intervals between samples fed
        self._finished = False
        self._n_final = 0  # reps returned so far
        self._n_full = 0  # reps returned so far that are not partial

        # "init": no turning point yet; "up": after a valley, seeking the peak;
        # "down": after a peak, seeking the valley (the pending rep is v0 → peak → ...).
        self._mode = "init"
        self._hi = self._lo = 0.0  # running extremes (meaning depends on the mode)
        self._ihi = self._ilo = 0
        self._lo_before_hi = (0.0, 0)  # init mode: lowest sample before the running max
        self._v0 = 0.0  # valley before the rep in progress, and its index
        self._iv0 = 0
        self._istart = 0  # down mode: start index of the pending rep
        self._anchor_t = 0.0  # up mode: when the furthest point last advanced by hold_tolerance
        self._anchor_y = 0.0
        self._returned = False  # down mode: back within the rest tolerance of v0
        self._countable = False  # down mode: the return counts live (see _enter_down)
        # Index of the first sample of the current run beyond a confirmation threshold
        # (CONFIRM_S), or None: _pend_out in every mode for leaving the running extreme by the
        # hysteresis, _pend_back in init mode for coming down from the running max.
        self._pend_out: int | None = None
        self._pend_back: int | None = None
        self._run_from = 0  # first sample of the run that confirmed the last turning point
        # The glitch gate: samples held since a jump from the last accepted one (see update).
        self._gate: list[tuple[float, float]] = []
        self._gate_t = self._gate_y = 0.0  # the last accepted sample
        self._missed = False  # a sample was missing (NaN) since the last valid one
        self._gate_after_missing = False  # the held jump came right after missing data

    # ------------------------------------------------------------------ public API

    @property
    def completed(self) -> int:
        """Non-partial reps completed so far, including the pending one if it already came
        back to rest (not final yet: its end and rest angle may still change)."""
        pending = self._mode == "down" and self._returned and self._countable
        return self._n_full + int(pending)

    @property
    def state(self) -> str:
        """``"rest" | "moving_out" | "at_peak" | "returning"`` (see the class docstring)."""
        if self._finished or self._mode == "init" or self._n == 0:
            return "rest"
        y = self._ys[-1]
        if self._mode == "down":
            return "rest" if self._returned else "returning"
        if y < self._hi - self.hold_tolerance:
            return "returning"
        if self._ts[-1] - self._anchor_t < AT_PEAK_DWELL_S:
            return "moving_out"
        return "at_peak"

    def update(self, t: float, angle: float) -> list[Rep]:
        """Feed one sample (seconds, degrees; ``NaN`` = not measured, skipped). Returns the reps
        that became final with this sample (usually none; more than one only when the glitch
        gate releases the samples it held)."""
        if self._finished:
            raise RuntimeError("RepDetector.finish() was called; start a new RepDetector")
        t = float(t)
        if not math.isfinite(t):
            raise ValueError(f"t must be a finite time in seconds, got {t!r}")
        if self._t_last is not None and t <= self._t_last:
            raise ValueError(
                f"t must increase strictly from sample to sample, got t={t!r} "
                f"after t={self._t_last!r}"
            )
        if self._t_last is not None:
            self._dts.append(t - self._t_last)
        self._t_last = t
        a = float(angle)
        if math.isnan(a):
            self._missed = True
            return []
        if math.isinf(a):
            raise ValueError(f"angle must be finite degrees or NaN (missing), got {a!r}")
        y = self._sign * a
        # the glitch gate (rule 1 of the module docstring)
        out: list[Rep] = []
        missed, self._missed = self._missed, False
        if self._gate:
            last_t, last_y = self._gate[-1]
            if abs(y - self._gate_y) > self.hysteresis:  # still away: has the jump lasted?
                if abs(y - last_y) > self.hysteresis and (missed or t - last_t < CONFIRM_S - 1e-9):
                    # a jump away from where the held jump was: what was held neither lasted nor came
                    # back (dropped), and this sample is held as a jump of its own
                    self._gate = [(t, y)]
                    self._gate_after_missing = missed
                    return []
                self._gate.append((t, y))
                if t - self._gate[0][0] < CONFIRM_S - 1e-9:
                    return []
                held, self._gate = self._gate, []
                for tj, yj in held:
                    out.extend(self._accept(tj, yj))
                return out
            held, self._gate = self._gate, []
            glided = self._gate_after_missing and abs(y - last_y) <= self.hysteresis
            if t - last_t >= CONFIRM_S - 1e-9 or glided:
                # back only after a gap, or seen again after missing data and moving on: not a glitch
                for tj, yj in held:
                    out.extend(self._accept(tj, yj))
            # else: jumped back within 0.2 s, what was held was a glitch: dropped
        elif (self._n > 0 and abs(y - self._gate_y) > self.hysteresis
              and (missed or t - self._gate_t < CONFIRM_S - 1e-9)):
            self._gate.append((t, y))  # a jump from the last accepted sample (or across missing data)
            self._gate_after_missing = missed
            return []
        out.extend(self._accept(t, y))
        return out

    def _accept(self, t: float, y: float) -> list[Rep]:
        """A sample through the glitch gate: remember it as the last accepted, run the zig-zag."""
        self._gate_t, self._gate_y = t, y
        return self._step(t, y)

    def _step(self, t: float, y: float) -> list[Rep]:
        """One sample through the glitch gate: the zig-zag itself."""
        i = self._n
        self._ts.append(t)
        self._ys.append(y)
        self._n += 1
        h = self.hysteresis

        if self._mode == "init":
            if i == 0:
                self._hi = self._lo = y
                self._ihi = self._ilo = 0
                self._lo_before_hi = (y, 0)
                return []
            if y > self._hi:
                self._hi, self._ihi = y, i
                self._lo_before_hi = (self._lo, self._ilo)
                self._trim(self._ilo_before_hi)
            if y <= self._lo:
                self._lo, self._ilo = y, i
            if self._held(y >= self._lo + h, "_pend_out", i):  # left rest: the running minimum was a valley
                self._enter_up(self._lo, self._ilo, self._run_from)
            elif self._held(y <= self._hi - h, "_pend_back", i):  # came down first: started out of rest
                v0, iv0 = self._lo_before_hi
                self._enter_down(v0, iv0, self._hi, self._ihi, self._run_from)
            return []

        if self._mode == "up":
            if y > self._hi:
                self._hi, self._ihi = y, i
                if y > self._anchor_y + self.hold_tolerance:
                    self._anchor_t, self._anchor_y = t, y
            if self._held(y <= self._hi - h, "_pend_out", i):
                self._enter_down(self._v0, self._iv0, self._hi, self._ihi, self._run_from)
            return []

        # down: seeking the valley after the pending rep's peak
        if y <= self._lo:
            self._lo, self._ilo = y, i
            self._check_returned()
        if self._held(y >= self._lo + h, "_pend_out", i):  # the signal moved out again
            if self._lo > self._v0 + self._return_tol(self._hi - self._v0):
                # not back far enough toward rest: the dip was part of this rep (a held peak)
                self._resume_up()
                return []
            rep = self._finalize(self._lo, self._ilo, end_confirmed=True)  # the valley is confirmed
            self._enter_up(self._lo, self._ilo, self._run_from)
            return [rep]
        return []

    def finish(self) -> list[Rep]:
        """End of the signal: return the rep still open, if any (``partial`` if it had not come
        back at least half-way). After this, ``update`` raises."""
        if self._finished:
            return []
        self._finished = True
        self._gate.clear()  # a jump that neither lasted CONFIRM_S nor came back: unconfirmed
        out: list[Rep] = []
        if self._mode == "up":
            # The signal ended on the way out or at the peak: that peak is the last extreme.
            self._enter_down(self._v0, self._iv0, self._hi, self._ihi, self._ihi + 1)
            out.append(self._finalize(self._lo, self._ilo, end_confirmed=False))
        elif self._mode == "down":
            out.append(self._finalize(self._lo, self._ilo, end_confirmed=False))
        self._mode = "init"
        return out

    # ------------------------------------------------------------------ internals

    @property
    def _ilo_before_hi(self) -> int:
        return self._lo_before_hi[1]

    def _y(self, i: int) -> float:
        return self._ys[i - self._base]

    def _t(self, i: int) -> float:
        return self._ts[i - self._base]

    def _trim(self, keep_from: int) -> None:
        """Drop samples before global index ``keep_from`` once they are at least half of the
        buffer (so each sample is moved O(1) times: amortized O(1))."""
        dead = keep_from - self._base
        if dead > 0 and 2 * dead >= len(self._ys):
            del self._ts[:dead]
            del self._ys[:dead]
            self._base = keep_from

    def _rest_tol(self, excursion: float) -> float:
        return max(
            REST_TOL_MIN_DEG,
            REST_TOL_FRACTION * excursion,
            REST_TOL_HYSTERESIS_FRACTION * self.hysteresis,
        )

    def _held(self, beyond: bool, pend: str, i: int) -> bool:
        """True once ``beyond`` has held on every valid sample for at least CONFIRM_S. The index
        of the run's first sample is kept in the attribute named ``pend``, and in ``_run_from``
        once confirmed: the turning point's extremes are searched in that run only, so a glitch
        that did not last never becomes one."""
        if not beyond:
            setattr(self, pend, None)
            return False
        i0 = getattr(self, pend)
        if i0 is None:
            setattr(self, pend, i)
            i0 = i
        if self._t(i) - self._t(i0) >= CONFIRM_S - 1e-9:
            setattr(self, pend, None)
            self._run_from = i0
            return True
        return False

    def _return_tol(self, rise: float) -> float:
        """How far above the valley before a rep the signal may stay and still have come back
        from the rep (RETURN_FRACTION of the way, or to the rest tolerance)."""
        return max(self._rest_tol(rise), (1.0 - RETURN_FRACTION) * rise)

    def _resume_up(self) -> None:
        """Down mode, the signal moved out again without having come back: the same rep goes on
        (same valley before, same peak unless the run moving out passes it)."""
        anchor = (self._anchor_t, self._anchor_y)
        peak, ipeak = self._hi, self._ihi
        self._enter_up(self._v0, self._iv0, self._run_from)
        if peak >= self._hi:  # the run that moved out has not passed the peak (yet)
            self._hi, self._ihi = peak, ipeak
        if self._hi <= anchor[1] + self.hold_tolerance:  # still at the peak it was holding
            self._anchor_t, self._anchor_y = anchor
        else:
            self._anchor_t, self._anchor_y = self._t(self._ihi), self._hi

    def _enter_up(self, v0: float, iv0: int, scan_from: int) -> None:
        """A valley at ``iv0`` is confirmed by the run of samples from ``scan_from`` on: seek the
        next peak from there (the highest sample of that run so far)."""
        self._mode = "up"
        self._pend_out = self._pend_back = None
        self._v0, self._iv0 = v0, iv0
        self._trim(iv0)
        self._hi, self._ihi = v0, iv0
        for j in range(max(iv0 + 1, scan_from), self._n):
            if self._y(j) > self._hi:
                self._hi, self._ihi = self._y(j), j
        self._anchor_t, self._anchor_y = self._ts[-1], self._hi

    def _enter_down(self, v0: float, iv0: int, peak: float, ipeak: int, scan_from: int) -> None:
        """A peak at ``ipeak`` is confirmed by the run of samples from ``scan_from`` on: the
        pending rep is v0 → peak; seek its valley (the lowest sample of that run so far)."""
        self._mode = "down"
        self._pend_out = self._pend_back = None
        self._v0, self._iv0 = v0, iv0
        self._hi, self._ihi = peak, ipeak
        thr = v0 + self._rest_tol(peak - v0)
        istart = ipeak
        for j in range(ipeak, iv0 - 1, -1):
            if self._y(j) <= thr:
                istart = j
                break
        self._istart = istart
        self._trim(istart)
        self._lo, self._ilo = peak, ipeak
        for j in range(max(ipeak + 1, scan_from), self._n):
            if self._y(j) <= self._lo:
                self._lo, self._ilo = self._y(j), j
        # The first rep whose valley is the very first sample may turn out cut off by the start
        # of the signal (known only at its end): it is counted when final, not on its return.
        self._countable = not (self._n_final == 0 and iv0 == 0)
        self._returned = False
        self._check_returned()

    def _check_returned(self) -> None:
        if not self._returned and self._lo <= self._v0 + self._rest_tol(self._hi - self._v0):
            self._returned = True

    def _finalize(self, v1: float, iv1: int, *, end_confirmed: bool) -> Rep:
        """Build the pending rep (v0 → peak at _ihi → v1 at iv1)."""
        peak, ip, v0, iv0 = self._hi, self._ihi, self._v0, self._iv0
        rise, fall = peak - v0, peak - v1
        thr_end = v1 + self._rest_tol(fall)
        iend = iv1
        for j in range(ip, iv1 + 1):
            if self._y(j) <= thr_end:
                iend = j
                break
        istart = self._istart

        # Plateau rule: middle of the samples within PLATEAU_TOL_DEG of the extreme around ip.
        a = ip
        while a - 1 >= istart and self._y(a - 1) >= peak - PLATEAU_TOL_DEG:
            a -= 1
        b = ip
        while b + 1 <= iend and self._y(b + 1) >= peak - PLATEAU_TOL_DEG:
            b += 1
        t_peak = self._t((a + b) // 2)

        hold = self._hold(ip, istart, iend, peak)

        partial_start = self._n_final == 0 and iv0 == 0 and rise < PARTIAL_FRACTION * fall
        partial_end = (
            not end_confirmed and not self._returned and fall < PARTIAL_FRACTION * rise
        )
        partial = partial_start or partial_end
        rest = min(v0, v1)
        if self._sign > 0:
            max_angle, min_angle = peak, rest
        else:
            max_angle, min_angle = -rest, -peak
        seen = self._peak_seen(istart, iend, peak)
        below = below_target(self.works, max_angle, min_angle, self.target, peak_seen=seen)
        self._n_final += 1
        if not partial:
            self._n_full += 1
        return Rep(
            start=self._t(istart),
            peak=t_peak,
            end=self._t(iend),
            max_angle=max_angle,
            min_angle=min_angle,
            hold_s=hold,
            partial=partial,
            below_target=below,
            peak_seen=seen,
        )

    def _peak_seen(self, istart: int, iend: int, peak: float) -> bool:
        """``Rep.peak_seen`` (see the module docstring) of the rep from ``istart`` to ``iend``."""
        frame_dt = float(np.median(self._dts)) if self._dts else 0.0
        gap = max(UNSEEN_GAP_S, UNSEEN_GAP_FRAMES * frame_dt) + 1e-9
        near = peak - self.hysteresis
        for j in range(istart, iend):
            if self._t(j + 1) - self._t(j) > gap and max(self._y(j), self._y(j + 1)) >= near:
                return False
        return True

    def _hold(self, ip: int, istart: int, iend: int, peak: float) -> float:
        """``hold_s`` of the rep peaking at ``ip`` (see the module docstring)."""
        if iend - istart < 1:
            return 0.0
        dt = float(np.median(np.diff(self._ts[istart - self._base : iend - self._base + 1])))
        max_jump = HOLD_MAX_DIP_S + dt * 1.001  # in-band samples at most this far apart

        def edge(step: int, thr: float) -> tuple[int, float]:
            """Last in-band index going ``step``-wards from ip, and the interpolated time at
            which the signal crosses ``thr`` beyond it."""
            last = ip
            j = ip + step
            while istart <= j <= iend and abs(self._t(j) - self._t(last)) <= max_jump:
                if self._y(j) >= thr:
                    last = j
                j += step
            t_edge = self._t(last)
            out = last + step
            if istart <= out <= iend and abs(self._t(out) - t_edge) <= 2.0 * dt:
                y_in, y_out = self._y(last), self._y(out)
                if y_out < thr <= y_in:  # the band edge lies between out and last
                    t_edge += (y_in - thr) / (y_in - y_out) * (self._t(out) - t_edge)
            return last, t_edge

        # Pass 1: the band under the extreme sample gives the peak level (its median).
        thr = peak - self.hold_tolerance
        a, _ = edge(-1, thr)
        b, _ = edge(+1, thr)
        ys = np.asarray(self._ys[a - self._base : b - self._base + 1])
        level = float(np.median(ys[ys >= thr]))
        # Pass 2: time within hold_tolerance of that level.
        thr = level - self.hold_tolerance
        return max(0.0, edge(+1, thr)[1] - edge(-1, thr)[1])


def below_target(works: str, max_angle: float, min_angle: float, target: float | None, *,
                 peak_seen: bool = True) -> bool | None:
    """``Rep.below_target``: whether the worked end fell short of ``target`` (``max_angle < target``
    for ``works="max"``, ``min_angle > target`` for ``"min"``); ``None`` without a target, or when it
    fell short as far as it was seen but its furthest point was not (it may have got there unseen)."""
    if target is None:
        return None
    below = max_angle < target if works == "max" else min_angle > target
    return None if below and not peak_seen else below


def auto_hysteresis(raw_angle: np.ndarray) -> float:
    """Degrees: ``max(5°, 8 × estimate_noise(raw_angle), 12 % of the signal's range)``.

    Give it the **raw** angles (before any smoothing): on a smoothed signal the noise estimate
    collapses while slow wobble remains, and noisy rests then turn into reps. The range term
    (robust: 2nd to 98th percentile) keeps a brief landmark glitch in the middle of a large
    movement from splitting one rep in two — in rendered video the pose model occasionally
    jumps by ~10° for two or three frames as a leg starts to move, which the noise estimate from
    second differences (dominated by the smooth frames) does not see. A rep of 12 % of the set's
    largest range is still found, so a set whose reps shrink with fatigue keeps them all.
    """
    raw = np.asarray(raw_angle, dtype=float)
    finite = raw[np.isfinite(raw)]
    span = float(np.percentile(finite, 98) - np.percentile(finite, 2)) if finite.size else 0.0
    return max(
        AUTO_HYSTERESIS_MIN_DEG,
        AUTO_HYSTERESIS_NOISE_FACTOR * estimate_noise(raw),
        AUTO_HYSTERESIS_RANGE_FRACTION * span,
    )


def detect_reps(
    t: np.ndarray,
    angle: np.ndarray,
    *,
    works: str = "max",
    hysteresis: float | None = None,
    target: float | None = None,
    hold_tolerance: float = 5.0,
) -> list[Rep]:
    """Reps of a whole recording: :class:`RepDetector` fed sample by sample, then ``finish``.

    ``t`` in seconds (strictly increasing), ``angle`` in degrees (``NaN`` = not measured).
    ``hysteresis=None`` chooses ``max(5°, 8 × estimate_noise(angle))`` (8, not 6: with 6, 3°
    wiggles under 1° noise became reps in half of 200 simulated recordings; with 8 in none, and
    15° reps were still all found). When ``angle`` is already smoothed, pass
    ``hysteresis=auto_hysteresis(raw_angles)``: smoothing hides the noise from the estimate but
    not from the detector.
    """
    tt = np.asarray(t, dtype=float)
    aa = np.asarray(angle, dtype=float)
    if tt.ndim != 1 or aa.ndim != 1 or tt.shape != aa.shape:
        raise ValueError(
            f"t and angle must be 1-D arrays of the same length, got shapes {tt.shape} and "
            f"{aa.shape}"
        )
    if hysteresis is None:
        hysteresis = auto_hysteresis(aa)
    det = RepDetector(
        works=works, hysteresis=hysteresis, target=target, hold_tolerance=hold_tolerance
    )
    reps: list[Rep] = []
    for ti, ai in zip(tt.tolist(), aa.tolist(), strict=True):
        reps.extend(det.update(ti, ai))
    reps.extend(det.finish())
    return reps
