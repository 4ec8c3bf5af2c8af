"""How many frames a second of the movement were measured, and whether that is enough to count reps.

One rule for the live coach (``romcam.live.capture.pace_kind``: the page says the count may be wrong), the
stored sets (the session API's ``sample_fps`` and ``too_few_frames``, the session page's note) and
``romcam analyze``'s summary (docs/live.md "Keeping up").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

# Below this many measured frames a second of the movement (the source's time, not the wall clock's), the
# reps counted are not to be trusted: on a rendered passive hip flexion (3.5 s reps) the stored analysis
# (Hampel window, Butterworth) missed reps at 2 a second and counted all of them at 3 (docs/live.md "Keeping
# up"); 4 leaves a margin.
MIN_COUNT_FPS = 4.0


def sample_fps(t: Iterable[float], angle: Iterable[float | None]) -> float | None:
    """Frames measured a second of the movement: 1 / the median step in time (seconds) between one measured
    sample (a finite ``angle``) and the next. A pause, a rest or the limb out of view is one long step, which
    the median passes over; samples with no angle (a rest's markers, unmeasured frames) are left out. None
    with fewer than two measured samples (nothing to judge)."""
    times = np.array([x for x, a in zip(t, angle, strict=True) if a is not None and math.isfinite(a)], dtype=float)
    if times.size < 2:
        return None
    steps = np.diff(times)
    steps = steps[steps > 0]
    if steps.size == 0:
        return None
    return float(1.0 / np.median(steps))


def too_few_frames(fps: float | None) -> bool:
    """True when ``fps`` frames measured a second are too few to trust the rep count and the peaks
    (below :data:`MIN_COUNT_FPS`); False when enough, or not known (None)."""
    return fps is not None and fps < MIN_COUNT_FPS


def too_few_frames_note(fps: float) -> str:
    """What the PT reads of a set measured on too few frames (the session page words it the same way)."""
    per_second = f"{fps:.1f}".removesuffix(".0")  # 2, 2.5: as the page's Number(x.toFixed(1))
    return (f"Measured on {per_second} pictures a second: too few to be sure of the rep count and the peaks "
            f"({MIN_COUNT_FPS:g} or more needed)")


def too_few_frames_short(fps: float) -> str:
    """The same, short, for a list or a spreadsheet cell: "measured on 2 pictures a second: rep count and peaks
    uncertain" (the patient page's sessions list, the CSV export's ``sample_note``)."""
    per_second = f"{fps:.1f}".removesuffix(".0")
    return f"measured on {per_second} pictures a second: rep count and peaks uncertain"
