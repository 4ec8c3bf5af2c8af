"""The server's one typed settings object (environment: ROMCAM_DB, ROMCAM_DATA, ROMCAM_HOST, ROMCAM_PORT)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..store.db import data_dir, default_url, resolve_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROMCAM_", extra="ignore")

    db: str | None = Field(None, description="database URL (sqlite:///PATH or postgresql://...); "
                           "default: SQLite in the data directory")
    data: Path = Field(default_factory=data_dir, description="data directory (default ~/.local/share/romcam)")
    host: str = Field("127.0.0.1", description="address to bind; loopback by default")
    port: int = Field(8000, ge=1, le=65535)
    # hardening (romcam/server/hardening.py)
    cors_origins: str = Field("", description="comma-separated origins other sites may call the API from "
                              "(e.g. https://portal.example.org); empty: CORS closed")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="largest request body accepted "
                                "(413 above it); a 20-minute session document at 30 fps is about 5 MB")
    trusted_proxies: str = Field("", description="comma-separated IPs/networks of reverse proxies whose "
                                 "X-Forwarded-Proto/-For are believed (127.0.0.1 always is)")

    @property
    def db_url(self) -> str:
        return resolve_url(self.db or default_url(self.data))
