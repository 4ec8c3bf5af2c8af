"""Keep the docs honest: the angle-conventions table is the catalog's, every CLI command, option and exit
code is in the README, and docs/architecture.md names every module romcam has and no module it lacks."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
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


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.Action]]:
    """("romcam user create", action) for every argument of every command and subcommand, --help left out."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction):
            yield " ".join(("romcam", *path)), action


def _readme_commands() -> tuple[list[str], list[str]]:
    """README's "## Commands" section: (the command table's rows, the section's paragraphs)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Commands"):readme.index("### `romcam analyze`")]
    return [line for line in section.splitlines() if line.startswith("| `")], section.split("\n\n")


def test_every_option_of_every_command_is_in_the_readmes_command_table() -> None:
    """README's command table left out `--version`, `analyze --quiet`, `demo --out-dir`, `render --rest-angle`
    and `user create --name`: a user reading it did not know they were there. Every option of every command
    (and every subcommand) is now in that command's row of the table — or in a paragraph of the Commands
    section that names the command, as `--model PATH` on `analyze`, `serve` and `demo` is."""
    rows, paragraphs = _readme_commands()
    missing = []
    for command, action in _commands(build_parser()):
        own = [row for row in rows if command in row.split("|")[1]]
        if command != "romcam" and not own:
            missing.append(f"`{command}` has no row")
            continue
        shared = [p for p in paragraphs if f"`{command.split()[-1]}`" in p and not p.lstrip().startswith("|")]
        for option in action.option_strings or [str(action.metavar or action.dest).upper()]:
            if option.startswith("--") or not action.option_strings:
                if not any(re.search(rf"{re.escape(option)}(?![\w-])", text) for text in own + shared):
                    missing.append(f"`{command} {option}`")
    assert not missing, f"README.md's command table leaves out: {', '.join(missing)}"


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


def _architecture_modules() -> set[str]:
    """Every module of the package as architecture.md should name it: ``x.py`` at the top, ``pkg/`` for a
    subpackage and ``m.py`` inside it (migrations are data of the store, named as ``alembic/``)."""
    names = set()
    for path in (ROOT / "romcam").rglob("*.py"):
        rel = path.relative_to(ROOT / "romcam")
        if path.name == "__init__.py" or "alembic" in rel.parts:
            continue
        names.add(rel.name)
    names |= {f"{p.name}/" for p in (ROOT / "romcam").iterdir() if (p / "__init__.py").exists()}
    return names


def test_architecture_names_every_module_of_the_package() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = sorted(name for name in _architecture_modules()
                     if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", doc))
    assert missing == [], f"docs/architecture.md does not say what these modules do: {missing}"


def test_every_module_architecture_names_exists() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    files = [p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("romcam/**/*.py"), *ROOT.glob("benchmarks/*.py")]]
    gone = []
    for name in sorted(set(re.findall(r"(?<![\w*])[\w/]+\.py\b", doc))):
        # a path from the repository's root or the package's, or a module's own name within its package's row
        if not any(f == name or f == f"romcam/{name}" or f.endswith(f"/{name}") for f in files):
            gone.append(name)
    assert gone == [], f"docs/architecture.md names modules that do not exist: {gone}"
