"""Keep the docs honest: the angle-conventions table is the catalog's, every CLI command and exit code is
in the README."""

from __future__ import annotations

import re
from pathlib import Path

from romcam import errors
from romcam.catalog import conventions_table, default_catalog
from romcam.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def test_angle_conventions_table_matches_the_catalog() -> None:
    doc = (ROOT / "docs" / "angles.md").read_text(encoding="utf-8")
    assert conventions_table(default_catalog()) in doc, "regenerate with `romcam exercises --markdown`"


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"romcam {name}" in readme, f"README.md does not mention `romcam {name}`"


def test_experimental_motions_say_so_wherever_shown() -> None:
    for m in default_catalog():
        if m.experimental:
            assert "experimental" in m.display_name
            assert f"`{m.id}` (experimental)" in conventions_table(default_catalog())


def test_every_exit_code_is_in_the_readme() -> None:
    """README's exit-code list left out 10 and 11 (`serve --host 0.0.0.0` without clinic sign-in exits 11)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = " ".join(readme[readme.index("Exit codes:"):].split("\n\n")[0].split())
    said = {int(n) for n in re.findall(r"(?:Exit codes:|·) (\d+) ", listed)}
    codes = {c.exit_code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.RomcamError)}
    assert codes - {0} <= said, f"README's exit codes leave out {sorted(codes - said)}"
