"""A rep whose furthest point fell in unmeasured frames (``Rep.peak_seen``) is reported as what it is —
the furthest point seen, a bound — in the analyze document, its warnings, the summary and the
caregiver's lines, for every catalog motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from romcam.analysis import summarize
from romcam.catalog import Motion, default_catalog
from romcam.degrees import whole_degrees_as_stored
from romcam.measure import Sample
from romcam.report import caregiver_lines, summary_text

FPS = 15.0
MOTIONS = [m for m in default_catalog() if not m.experimental]


def _two_reps(motion: Motion, hide_first_peak: bool) -> list[Sample]:
    """Two raised-cosine reps from rest to 70 % of the motion's normal range and back; with
    ``hide_first_peak`` the first rep is unmeasured beyond the middle of its way out and back."""
    lo, hi = motion.normal.min, motion.normal.max
    rest, peak = (lo + 0.1 * (hi - lo), lo + 0.8 * (hi - lo))
    if motion.works == "min":
        rest, peak = peak, rest
    t = np.arange(0.0, 9.0, 1.0 / FPS)
    x = np.full(t.size, rest)
    hidden = np.zeros(t.size, dtype=bool)
    for k, t0 in enumerate((1.0, 5.0)):
        inside = (t >= t0) & (t < t0 + 3.0)
        share = 0.5 * (1 - np.cos(2 * np.pi * (t[inside] - t0) / 3.0))  # 0 → 1 → 0
        x[inside] = rest + share * (peak - rest)
        if k == 0 and hide_first_peak:
            hidden[np.flatnonzero(inside)[share > 0.5]] = True
    return [Sample(i, float(ti), math.nan if h else float(a), 0.9, True, 0.0, None)
            for i, (ti, a, h) in enumerate(zip(t, x, hidden, strict=True))]


@pytest.mark.parametrize("motion", MOTIONS, ids=lambda m: m.id)
def test_a_rep_whose_furthest_point_was_hidden_is_reported_as_a_bound(motion: Motion) -> None:
    samples = _two_reps(motion, hide_first_peak=True)
    a = summarize(motion, "left", samples, fps=FPS, video="synthetic.mp4", frames=len(samples),
                  target=motion.normal.max if motion.works == "max" else motion.normal.min)
    a.mode = "passive"
    assert [r.peak_seen for r in a.reps] == [False, True]
    assert a.reps[0].below_target is None  # short as far as it was seen: not known
    doc = a.to_document()
    assert doc["best_seen"] is False
    assert [r["peak_seen"] for r in doc["reps"]] == [False, True]
    note = next(w for w in a.warnings if "furthest point" in w)
    assert f"the left {motion.joint} was out of view at the furthest point of repetition 1 (of 2)" in note
    text = summary_text(a)
    rows = [line for line in text.splitlines() if line.strip().startswith(("1 ", "2 "))]
    assert "furthest point not seen" in rows[0] and "furthest point not seen" not in rows[1]
    lines = caregiver_lines(a)
    assert any("furthest seen" in line for line in lines)
    # the target is out of reach of the synthetic reps: the seen one fell short, the hidden one is not known
    assert any("repetition 2 stopped short" in line for line in lines), lines
    assert any("furthest point of repetition 1, so romcam could not check it" in line for line in lines), lines
    assert not any("every repetition reached" in line for line in lines)


@pytest.mark.parametrize("motion", MOTIONS, ids=lambda m: m.id)
def test_reps_seen_throughout_are_not_flagged(motion: Motion) -> None:
    samples = _two_reps(motion, hide_first_peak=False)
    a = summarize(motion, "left", samples, fps=FPS, video="synthetic.mp4", frames=len(samples))
    a.mode = "passive"
    assert [r.peak_seen for r in a.reps] == [True, True]
    assert a.to_document()["best_seen"] is True
    assert not any("furthest point" in w for w in a.warnings)
    assert "not seen" not in summary_text(a)
    assert not any("furthest seen" in line for line in caregiver_lines(a))


@pytest.mark.parametrize("motion", MOTIONS, ids=lambda m: m.id)
def test_the_range_reached_line_marks_the_end_not_seen_as_a_bound(motion: Motion) -> None:
    """`romcam analyze` printed "range reached: 18° to 144° (normal …)" for a set whose furthest point was out of
    view in a rep, where the session page says "18° to 144° or more (furthest point not seen in 1 of 2 repetitions
    …)": a bound read as a measurement. The line marks the worked end as the bound, in the page's words."""
    a = summarize(motion, "left", _two_reps(motion, hide_first_peak=True), fps=FPS, video="synthetic.mp4",
                  frames=90)
    low, high = whole_degrees_as_stored(a.min_angle), whole_degrees_as_stored(a.max_angle)
    ends = f"{low}° or less to {high}°" if motion.works == "min" else f"{low}° to {high}° or more"
    [line] = [x for x in summary_text(a).splitlines() if x.startswith("  range reached:")]
    assert line == (f"  range reached: {ends} (normal {motion.normal.min:.0f}° to {motion.normal.max:.0f}°); furthest "
                    f"point not seen in 1 of 2 repetitions: the {motion.joint} was out of view, so it got at least "
                    "that far")
    seen = summarize(motion, "left", _two_reps(motion, hide_first_peak=False), fps=FPS, video="synthetic.mp4",
                     frames=90)
    [line] = [x for x in summary_text(seen).splitlines() if x.startswith("  range reached:")]
    assert line == (f"  range reached: {whole_degrees_as_stored(seen.min_angle)}° to "
                    f"{whole_degrees_as_stored(seen.max_angle)}° (normal {motion.normal.min:.0f}° to "
                    f"{motion.normal.max:.0f}°)")
