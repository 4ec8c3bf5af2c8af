"""romcam's storage: SQLAlchemy models, Alembic migrations and the service functions the API and the
command line call (SQLite by default, PostgreSQL by URL)."""

from .db import Store, data_dir, default_url, resolve_url

__all__ = ["Store", "data_dir", "default_url", "resolve_url"]
