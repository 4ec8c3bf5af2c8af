"""Developer tool: autogenerate a new Alembic revision against a scratch SQLite database.

    .venv/bin/python -m romcam.store.revision "add a column"

Review the generated file in romcam/store/alembic/versions before shipping it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import ALEMBIC_DIR, make_engine


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        cfg = Config()
        cfg.set_main_option("script_location", str(ALEMBIC_DIR))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            command.revision(cfg, message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "new revision")
