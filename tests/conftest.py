"""Shared fixtures: rendered clips made once per test session (real pixels for real MediaPipe)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from romcam.render import RenderSpec, render_clip

# a short, quick clip: 3 reps of left shoulder abduction, front view, 15 fps
DEMO_SPEC = RenderSpec(exercise="shoulder_abduction", side="left", view="front", reps=3, rep_s=2.2,
                       hold_s=0.4, rest_s=0.6, fps=15.0, seed=3)


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips") / "shoulder_abduction.mp4"
    render_clip(DEMO_SPEC, out)
    return out


@pytest.fixture
def problems() -> Iterator[list[str]]:
    """What a browser page reported wrong (script errors, console errors, requests off the server: see
    helpers.offline_page); the test fails on any but the endless MJPEG's, cut when the page closes."""
    found: list[str] = []
    yield found
    assert not [p for p in found if "video.mjpg" not in p], "\n".join(found)
