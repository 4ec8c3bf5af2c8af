"""The link configuration: which clinic this laptop uploads to and its device token.

From ``romcam serve --upload-to URL --token TOKEN``, else a TOML file (``--config PATH``, default
``~/.config/romcam/link.toml``) with ``upload_to = "https://..."`` and ``token = "romcam_dt_..."``.
The token is a secret: the file must be readable by its owner only (mode 0600, ``romcam link``
writes it so), and the token never appears in a repr, a log line or the status API.
The timing knobs (``SyncSettings``) come from ``ROMCAM_SYNC_*`` environment variables.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import UsageError
from ..server.hostcheck import is_loopback


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "romcam" / "link.toml"


class SyncSettings(BaseSettings):
    """How often and how patiently the worker talks to the clinic (seconds)."""

    model_config = SettingsConfigDict(env_prefix="ROMCAM_SYNC_", extra="ignore")

    poll_s: float = Field(5.0, gt=0, le=3600, description="how often the outbox is looked at")
    plan_every_s: float = Field(900.0, gt=0, le=86_400, description="how often the plan is pulled")
    session_plan_every_s: float = Field(60.0, gt=0, le=86_400,
                                        description="how often the plan is pulled while the live coach runs a "
                                        "session: a safe limit the PT lowers reaches the patient within it")
    backoff_base_s: float = Field(2.0, gt=0, le=3600, description="the first retry delay after a failure")
    backoff_cap_s: float = Field(600.0, gt=0, le=86_400, description="the longest retry delay")
    timeout_s: float = Field(30.0, gt=0, le=600, description="one HTTP request's timeout")
    start_pull_timeout_s: float = Field(5.0, gt=0, le=120, description="the plan pull before the coach starts")
    link_check_s: float = Field(2.0, gt=0, le=3600, description="how often a running romcam serve looks whether its "
                                "link file was written (`romcam link`), changed or removed: it follows it")
    audit_every_s: float = Field(21_600.0, gt=0, le=7 * 86_400,
                                 description="how often the clinic is asked whether it still holds every session "
                                 "sent (one restored from a backup lost the later ones), and what it refused is "
                                 "offered again: at start, then this often")


@dataclass(frozen=True)
class LinkConfig:
    """A clinic's base URL and this laptop's device token (hidden from repr)."""

    url: str
    token: str = field(repr=False)

    @property
    def clinic(self) -> str:
        """The clinic as the patient reads it: the host (and port) of its URL."""
        return urlsplit(self.url).netloc

    @property
    def fingerprint(self) -> str:
        """The device token's fingerprint (:func:`token_fingerprint`)."""
        return token_fingerprint(self.token)


def token_fingerprint(token: str) -> str:
    """What the local database keeps to know which device token it recorded under (a salted sha256, 32 hex
    digits): not the token, which stays in the link file only."""
    return hashlib.sha256(b"romcam link fingerprint\0" + token.encode()).hexdigest()[:32]


def check_url(url: str) -> str:
    """The clinic's base URL without a trailing slash; plain http only to this machine (the token
    would cross the network in clear)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url.strip()):
        raise UsageError(f"--upload-to {url!r} is not a clinic URL: give https://HOST (e.g. https://clinic.example)")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(f"--upload-to {url!r}: use https:// — over plain http the device token and the "
                         "patient's results would cross the network unencrypted")
    return url.strip().rstrip("/")


# where a device token comes from: the clinic makes it for the patient (docs/sync.md)
TOKEN_HOWTO = ("the patient's PT or the clinic's admin makes one on the clinic's dashboard (the patient's page, "
               "\"Create a device token\") or with `romcam token create --patient ID` on the clinic server")


def check_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise UsageError(f"no device token given: {TOKEN_HOWTO}")
    if not token.startswith("romcam_dt_") or len(token) < 20 or any(c.isspace() for c in token):
        raise UsageError("--token is not a romcam device token (it starts with romcam_dt_): copy it again from "
                         "the clinic's dashboard or `romcam token create`")
    return token


def read_config(path: Path) -> LinkConfig:
    """The link file at ``path``; refuses one that others may read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the link file {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise UsageError(f"{path} holds a device token but others may read it: run `chmod 600 {path}`")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}): it needs upload_to = \"https://...\" and "
                         "token = \"romcam_dt_...\"") from None
    if not isinstance(data.get("upload_to"), str) or not isinstance(data.get("token"), str):
        raise UsageError(f"{path} needs upload_to = \"https://...\" and token = \"romcam_dt_...\"")
    return LinkConfig(check_url(data["upload_to"]), check_token(data["token"]))


def write_config(path: Path, link: LinkConfig) -> None:
    """Write the link file, readable by its owner only, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"# romcam's link to a clinic (secret: keep this file mode 0600)\n"
                f"upload_to = \"{link.url}\"\ntoken = \"{link.token}\"\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def link_file(upload_to: str | None, token: str | None, config: str | None) -> Path | None:
    """The link file a ``romcam serve`` with these options follows while it runs (``config`` or the default path,
    there or not yet); None when the link is given on the command line (``--upload-to``/``--token``)."""
    if upload_to or token:
        return None
    return Path(config).expanduser() if config else default_config_path()


def resolve_link(upload_to: str | None, token: str | None, config: str | None) -> LinkConfig | None:
    """The link from the command line, else the config file (``config`` or the default path, if it
    exists); None: not linked."""
    if upload_to or token:
        if not (upload_to and token):
            raise UsageError("--upload-to and --token go together (or put both in a link file: `romcam link`)")
        return LinkConfig(check_url(upload_to), check_token(token))
    path = Path(config).expanduser() if config else default_config_path()
    if config is None and not path.exists():
        return None
    return read_config(path)
