"""The server's one typed settings object (environment: ROMCAM_DB, ROMCAM_DATA, ROMCAM_HOST, ROMCAM_PORT,
ROMCAM_AUTH, ROMCAM_SECRET_KEY)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..store.db import data_dir, default_url, resolve_url
from .hostcheck import is_loopback

# the secret of a zero-configuration laptop: fine on loopback, refused for any other address
DEFAULT_SECRET_KEY = "romcam-local-default-secret-key-change-me"
MIN_SECRET_KEY = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROMCAM_", extra="ignore")

    db: str | None = Field(None, description="database URL (sqlite:///PATH or postgresql://...); "
                           "default: SQLite in the data directory")
    data: Path = Field(default_factory=data_dir, description="data directory (default ~/.local/share/romcam)")
    host: str = Field("127.0.0.1", description="address to bind; loopback by default")
    port: int = Field(8000, ge=1, le=65535)
    auth: Literal["local", "clinic"] = Field(
        "local", description="local: the single user of this laptop, no login (loopback only); "
                             "clinic: accounts, login and device tokens")
    secret_key: SecretStr = Field(SecretStr(DEFAULT_SECRET_KEY),
                                  description="keys the audit log's patient pseudonyms; set a random one "
                                              f"of at least {MIN_SECRET_KEY} characters for a clinic server")
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

    @property
    def clinic(self) -> bool:
        return self.auth == "clinic"

    @property
    def secret_is_default(self) -> bool:
        value = self.secret_key.get_secret_value()
        return value == DEFAULT_SECRET_KEY or len(value) < MIN_SECRET_KEY

    def bind_problem(self) -> str | None:
        """Why this configuration may not bind ``host`` (None: it may). Loopback always may; any
        other address needs clinic auth and a secret key of our own."""
        if is_loopback(self.host):
            return None
        missing = []
        if not self.clinic:
            missing.append("ROMCAM_AUTH=clinic")
        if self.secret_is_default:
            missing.append(f"ROMCAM_SECRET_KEY=<a random secret of at least {MIN_SECRET_KEY} characters, e.g. "
                           "from `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`>")
        if not missing:
            return None
        return (f"refusing to serve on {self.host}: another machine could reach it without login. "
                f"Set {' and '.join(missing)} (then create an account with `romcam user create`), "
                "or bind 127.0.0.1")
