"""Database fixtures for the store and API tests: every test runs on a real SQLite file AND a real
PostgreSQL database (``db_url`` is parametrized over both).

PostgreSQL: one throwaway server per test run, from the Debian package's ``initdb``/``pg_ctl``
(``/usr/lib/postgresql/*/bin``). initdb refuses to run as root, so as root the server runs as the
``postgres`` user in a temp dir it owns; it listens on a free port on 127.0.0.1 with its socket in
that dir, and is stopped at the end. Each test gets a fresh database cloned from a migrated template.
Without PostgreSQL those tests are skipped — unless ``CI`` is set, where that is a failure.

Import the fixtures into a test module with ``from db_fixtures import *``.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port
from sqlalchemy import create_engine, text

from romcam.store import Store

__all__ = ["api", "db_url", "postgres_server", "sqlite_template", "store"]


def alembic(engine, action: str, revision: str) -> None:  # type: ignore[no-untyped-def]
    """``alembic upgrade|downgrade REVISION`` on ``engine`` (the migrations romcam ships, no alembic.ini)."""
    from alembic import command
    from alembic.config import Config

    from romcam.store.db import ALEMBIC_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def databases_at(tmp_path: Path, postgres: PostgresServer, revision: str) -> Iterator[tuple[str, object]]:
    """A new SQLite file, then a new PostgreSQL database (not from the server's template: that one is migrated
    already), each brought to ``revision`` — a database an older romcam made: yields ``(url, engine)``."""
    from romcam.store.db import make_engine, resolve_url

    empty_pg = f"m_{uuid.uuid4().hex[:10]}"
    postgres._sql(f"CREATE DATABASE {empty_pg}")
    for url in (f"sqlite:///{tmp_path / 'old.db'}", f"{postgres.base}/{empty_pg}"):
        engine = make_engine(resolve_url(url))
        alembic(engine, "upgrade", revision)
        try:
            yield url, engine
        finally:
            engine.dispose()


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin, self.root = bin_dir, root
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.data = root / "data"
        self.base = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                  "start")
        self._sql("CREATE DATABASE romcam_template")
        Store(f"{self.base}/romcam_template").close()  # migrate once; each test clones it

    def _sql(self, statement: str) -> None:
        engine = create_engine(f"{self.base}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(statement))
        engine.dispose()

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._sql(f"CREATE DATABASE {name} TEMPLATE romcam_template")
        return f"{self.base}/{name}"

    def dump(self, url: str) -> Path:
        """A backup of ``url``'s database by ``pg_dump`` (custom format), as a clinic's nightly job makes
        one while the server runs."""
        name = url.rsplit("/", 1)[1]
        path = self.root / f"{name}-{uuid.uuid4().hex[:6]}.dump"
        self._run(str(self.bin / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-Fc",
                  "-f", str(path), name)
        return path

    def restore(self, url: str, dump: Path) -> None:
        """Replace ``url``'s database by the backup ``dump`` (its server and engines stopped first)."""
        name = url.rsplit("/", 1)[1]
        self._sql(f"DROP DATABASE {name} WITH (FORCE)")
        self._sql(f"CREATE DATABASE {name}")
        self._run(str(self.bin / "pg_restore"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "-d", name, str(dump))

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests")
        pytest.skip(f"{message}; skipping the PostgreSQL half of the store/API tests")
    server = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="romcam-pg-")))
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once (0.6 s of migrations a test): each test's is a copy of it, as each
    PostgreSQL test's database is made from romcam_template (what migrating from empty does: test_migrations)."""
    path = tmp_path_factory.mktemp("template") / "romcam.db"
    Store(f"sqlite:///{path}").close()
    return path


def copy_sqlite(template: Path, to: Path) -> None:
    """``template`` copied whole to ``to`` by SQLite's own backup (its journal and WAL included)."""
    src, dst = sqlite3.connect(template), sqlite3.connect(to)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "romcam.db"
        copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def api(store: Store, db_url: str):  # type: ignore[no-untyped-def]
    """A TestClient on the app, addressed as http://localhost (the Host check accepts it)."""
    from fastapi.testclient import TestClient

    from romcam.server.app import create_app
    from romcam.server.settings import Settings

    with TestClient(create_app(Settings(db=db_url), store=store), base_url="http://localhost") as client:
        yield client
