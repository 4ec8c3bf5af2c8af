"""Angle-versus-time curves for repeated exercise, and the reps' ground truth (pure).

Timeline (seconds): ``rest_s`` lead-in at rest, then per rep a raised-cosine rise of ``rep_s / 2``,
a hold of ``hold_s`` at the peak, a raised-cosine return of ``rep_s / 2``, and ``rest_s`` at rest
(the last rest is the lead-out). A short rep reaches ``rest + short_fraction * (peak - rest)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rep:
    """One rep's truth: times in seconds, angles in degrees."""

    start: float  # leaves rest
    peak: float  # middle of the hold
    end: float  # back at rest
    max_angle: float
    min_angle: float
    short: bool

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "start": self.start,
            "peak": self.peak,
            "end": self.end,
            "max_angle": self.max_angle,
            "min_angle": self.min_angle,
            "short": self.short,
        }


@dataclass(frozen=True)
class Trajectory:
    """A repeated movement between ``rest`` and ``peak`` degrees (``peak`` may be below ``rest``,
    e.g. knee extension from 90 toward 10)."""

    rest: float
    peak: float
    reps: int = 3
    rep_s: float = 3.0
    hold_s: float = 0.5
    rest_s: float = 0.8
    short_reps: tuple[int, ...] = ()
    short_fraction: float = 0.6

    def __post_init__(self) -> None:
        if self.reps < 0:
            raise ValueError(f"reps must be >= 0, got {self.reps}")
        if self.rep_s <= 0 or self.hold_s < 0 or self.rest_s < 0:
            raise ValueError("rep_s must be > 0 and hold_s, rest_s >= 0 (seconds)")
        bad = [i for i in self.short_reps if not 0 <= i < self.reps]
        if bad:
            raise ValueError(f"short_reps {bad} outside 0..{self.reps - 1}")

    @property
    def duration(self) -> float:
        """Total length, seconds: lead-in, reps with rests between them, lead-out."""
        return self.rest_s + self.reps * (self.rep_s + self.hold_s + self.rest_s)

    def _rep_start(self, i: int) -> float:
        return self.rest_s + i * (self.rep_s + self.hold_s + self.rest_s)

    def rep_peak(self, i: int) -> float:
        """Angle (degrees) rep ``i`` reaches."""
        frac = self.short_fraction if i in self.short_reps else 1.0
        return self.rest + frac * (self.peak - self.rest)

    def angle_at(self, t: float) -> float:
        """The commanded angle at time ``t`` seconds."""
        half = self.rep_s / 2.0
        for i in range(self.reps):
            s = t - self._rep_start(i)
            if s < 0:
                break
            top = self.rep_peak(i)
            if s < half:
                w = 0.5 * (1 - math.cos(math.pi * s / half))
            elif s < half + self.hold_s:
                w = 1.0
            elif s < self.rep_s + self.hold_s:
                w = 0.5 * (1 + math.cos(math.pi * (s - half - self.hold_s) / half))
            else:
                continue
            return self.rest + w * (top - self.rest)
        return self.rest

    def rep_truth(self) -> list[Rep]:
        """Start, peak and end time and both extreme angles of every rep."""
        out = []
        for i in range(self.reps):
            t0 = self._rep_start(i)
            top = self.rep_peak(i)
            out.append(
                Rep(
                    start=t0,
                    peak=t0 + self.rep_s / 2 + self.hold_s / 2,
                    end=t0 + self.rep_s + self.hold_s,
                    max_angle=max(top, self.rest),
                    min_angle=min(top, self.rest),
                    short=i in self.short_reps,
                )
            )
        return out


def frame_times(duration: float, fps: float) -> list[float]:
    """Times (seconds) of the frames covering ``[0, duration]``: frame ``i`` at ``i / fps``."""
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    n = int(math.floor(duration * fps + 1e-9)) + 1
    return [i / fps for i in range(n)]
