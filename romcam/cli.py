"""The ``romcam`` command line. User mistakes become one-line messages and distinct exit codes
(see :mod:`romcam.errors`), never tracebacks."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import __version__
from .errors import RomcamError


class _Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a few lines otherwise)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last_quarter = -1

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            line = f"{self.label} [{bar:<30}] {done}/{total} frames"
            if self.tty:
                print(f"\r{line}", end="", file=sys.stderr, flush=True)
            elif int(frac * 4) > self._last_quarter:
                self._last_quarter = int(frac * 4)
                print(line, file=sys.stderr, flush=True)
        elif self.tty:
            print(f"\r{self.label} {done} frames", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a full disk leaves no half file)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        raise RomcamError(f"cannot write {path}: {exc.strerror or exc} — free some space or choose "
                          "another place") from None


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze_video
    from .report import samples_csv, summary_text

    progress = None if args.quiet else _Progress(f"analyzing {Path(args.video).name}")
    try:
        result = analyze_video(args.video, args.exercise, args.side, target=args.target,
                               model_path=args.model, progress=progress)
    finally:
        if progress:
            progress.done()
    print(summary_text(result), end="")
    if args.json:
        _write_text(args.json, json.dumps(result.to_document(), indent=1) + "\n")
    if args.csv:
        _write_text(args.csv, samples_csv(result))
    if result.error is not None:
        print(f"romcam: {result.error}", file=sys.stderr)
        return result.error.exit_code
    return 0


def cmd_exercises(args: argparse.Namespace) -> int:
    from .catalog import default_catalog

    catalog = default_catalog()
    if args.markdown:
        from .catalog import conventions_table

        print(conventions_table(catalog), end="")
        return 0
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(m) for m in catalog], indent=1))
        return 0
    for m in catalog:
        print(f"{m.id:<30} {m.display_name:<46} {m.view:>5} view  normal {m.normal.min:.0f}..{m.normal.max:.0f}°")
        if m.experimental:
            print(f"{'':<30} experimental: {m.experimental_reason}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .render import RenderSpec, render_clip

    view: str | float = args.view
    try:
        view = float(args.view)
    except ValueError:
        pass
    spec = RenderSpec(exercise=args.exercise, side=args.side, view=view, posture=args.posture, reps=args.reps,
                      fps=args.fps, width=args.width, height=args.height, seed=args.seed,
                      background=args.background, noise=args.noise, hold_s=args.hold,
                      short_reps=tuple(args.short or ()), body=args.body)
    from .catalog import get_motion

    get_motion(args.exercise)  # a clear error for an unknown exercise
    try:
        truth = render_clip(spec, Path(args.out))
    except FileNotFoundError as exc:  # the MakeHuman assets are not on this machine
        raise RomcamError(str(exc)) from None
    except OSError as exc:
        raise RomcamError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out} ({len(truth.times)} frames, {len(truth.reps)} reps) and its truth file")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Render a demo clip of a patient and analyse it: what `make run` does until the live coach."""
    from .analysis import analyze_video
    from .render import RenderSpec, render_clip
    from .report import summary_text

    out_dir = Path(args.out_dir or Path(tempfile.gettempdir()) / "romcam-demo")
    clip = out_dir / f"demo_{args.exercise}.mp4"
    if not clip.exists():
        print(f"rendering a demo clip of {args.exercise.replace('_', ' ')} → {clip}", file=sys.stderr)
        render_clip(RenderSpec(exercise=args.exercise, side="left", reps=3, seed=1), clip)
    progress = _Progress("analyzing the demo clip")
    try:
        result = analyze_video(clip, args.exercise, "left", progress=progress)
    finally:
        progress.done()
    print("demo video (rendered, not a real patient):")
    print(summary_text(result), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="romcam", description="Range-of-motion coach: measures joint angles "
                                "from video against the PT's target range.")
    p.add_argument("--version", action="version", version=f"romcam {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", help="measure an exercise in a video: angles, reps, range")
    a.add_argument("video", help="path of the video file")
    a.add_argument("--exercise", required=True, help="catalog id, e.g. shoulder_abduction (see `romcam exercises`)")
    a.add_argument("--side", choices=("left", "right"), default="left", help="the patient's body side that moves")
    a.add_argument("--target", type=float, help="the PT's target angle in degrees: reps short of it are flagged")
    a.add_argument("--json", metavar="OUT", help="write the full result document (JSON) here")
    a.add_argument("--csv", metavar="OUT", help="write the per-frame samples (CSV) here")
    a.add_argument("--model", metavar="PATH", help="pose model bundle (default: the bundled full model)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=cmd_analyze)

    e = sub.add_parser("exercises", help="list the exercise catalog")
    e.add_argument("--json", action="store_true", help="the full catalog as JSON")
    e.add_argument("--markdown", action="store_true", help="the angle-conventions table (markdown)")
    e.set_defaults(func=cmd_exercises)

    r = sub.add_parser("render", help="render a synthetic patient doing an exercise, with ground truth")
    r.add_argument("--exercise", required=True)
    r.add_argument("--side", choices=("left", "right"), default="left")
    r.add_argument("--view", default="front", help="front, side, oblique, or degrees off the required view")
    r.add_argument("--posture", choices=("standing", "seated", "lying"), default="standing")
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--short", type=int, nargs="*", metavar="I", help="indices of reps that fall short")
    r.add_argument("--hold", type=float, default=0.5, help="hold at the peak, seconds")
    r.add_argument("--fps", type=float, default=30.0)
    r.add_argument("--width", type=int, default=640)
    r.add_argument("--height", type=int, default=480)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--background", choices=("plain", "textured", "room"), default="plain")
    r.add_argument("--noise", type=float, default=0.0, help="sensor noise std, 8-bit levels")
    r.add_argument("--body", choices=("procedural", "makehuman"), default="procedural",
                   help="procedural shapes, or the MakeHuman CC0 mesh (needs ../shared/media/makehuman)")
    r.add_argument("--out", required=True, help="output video (.mp4); the truth goes beside it")
    r.set_defaults(func=cmd_render)

    d = sub.add_parser("demo", help="render a demo clip and analyse it (no camera needed)")
    d.add_argument("--exercise", default="shoulder_abduction")
    d.add_argument("--out-dir", help="where the demo clip is kept (default: the temp folder)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RomcamError as exc:
        print(f"romcam: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("romcam: interrupted", file=sys.stderr)
        return 130




if __name__ == "__main__":
    sys.exit(main())
