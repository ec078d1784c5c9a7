"""The provider password, kept outside the database, and never shown (SPEC P7).

``BANNERTUI_PROVIDER_PASSWORD`` wins when set (services, containers); otherwise a file in the
user config directory that only its owner can read.  The value is never logged or shown:
whatever text may quote it — a provider's error, an exception, a log line — goes through
:func:`bannertui.domain.masking.mask_credentials` first.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

from bannertui.files import write_private

ENV_VAR = "BANNERTUI_PROVIDER_PASSWORD"


class SecretError(Exception):
    """The secret file cannot be used; the message names the file and the cause."""


def default_path() -> Path:
    from bannertui.config import config_file

    return config_file().with_name("provider-password")


class SecretStore:
    """``env``: read the password's variable from this mapping instead of the process's
    environment (:class:`bannertui.config.Secrets`)."""

    def __init__(self, path: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.path = path or default_path()
        self._env = env

    def _from_env(self) -> str | None:
        from bannertui.config import Secrets

        return Secrets.value(Secrets.of(self._env).provider_password)

    @property
    def from_env(self) -> bool:
        return self._from_env() is not None

    def get(self) -> str | None:
        value = self._from_env()
        if value:
            return value
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"{self.path} can be read by other users: run `chmod 600 {self.path}`"
            )
        return self.path.read_text(encoding="utf-8").rstrip("\n") or None

    def set(self, password: str) -> None:
        """Write the file atomically, owner read/write only, from the first byte."""
        if not password:
            raise SecretError("the password is empty")
        write_private(self.path, password.encode("utf-8"))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
