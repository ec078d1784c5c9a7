"""The connectors' secrets (password, auth token, API key secret), kept outside the
database, and never shown (SPEC P7).

Connector 1 (the account's first, once its only provider): ``BANNERTUI_PROVIDER_PASSWORD``
wins when set (services, containers); otherwise the file ``provider-password`` in the user
config directory, which only its owner can read.  Connector N: ``BANNERTUI_CONNECTOR_<N>_SECRET``,
else the file ``connector-<N>-secret`` beside it.  The value is never logged or shown:
whatever text may quote it — a provider's error, an exception, a log line — goes through
:func:`bannertui.domain.masking.mask_credentials` first.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from bannertui.files import write_private

ENV_VAR = "BANNERTUI_PROVIDER_PASSWORD"


class SecretError(Exception):
    """The secret file cannot be used; the message names the file and the cause."""


def default_path(connector_id: int = 1) -> Path:
    from bannertui.config import config_file

    name = "provider-password" if connector_id == 1 else f"connector-{connector_id}-secret"
    return config_file().with_name(name)


def env_var(connector_id: int) -> str:
    """The environment variable holding connector ``connector_id``'s secret."""
    return ENV_VAR if connector_id == 1 else f"BANNERTUI_CONNECTOR_{connector_id}_SECRET"


def key_env_var(connector_id: int) -> str:
    """The variable holding a Twilio connector's API key secret (its second secret)."""
    return f"BANNERTUI_CONNECTOR_{connector_id}_KEY_SECRET"


class SecretStore:
    """``env``: read the password's variable from this mapping instead of the process's
    environment (:class:`bannertui.config.Secrets`)."""

    def __init__(
        self,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
        *,
        connector_id: int = 1,
        variable: str | None = None,
    ) -> None:
        self.connector_id = connector_id
        self.path = path or default_path(connector_id)
        self._env = env
        #: The environment variable read instead of the connector's own (a second secret).
        self._variable = variable

    @classmethod
    def of_connector(
        cls, connector_id: int, directory: Path | None = None, env: Mapping[str, str] | None = None
    ) -> SecretStore:
        """Connector ``connector_id``'s secret (its file in ``directory`` when given)."""
        path = directory / default_path(connector_id).name if directory is not None else None
        return cls(path, env, connector_id=connector_id)

    @classmethod
    def of_api_key(
        cls, connector_id: int, directory: Path | None = None, env: Mapping[str, str] | None = None
    ) -> SecretStore:
        """A Twilio connector's API key secret: ``connector-<id>-key-secret`` beside its
        auth token, or ``BANNERTUI_CONNECTOR_<id>_KEY_SECRET``."""
        name = f"connector-{connector_id}-key-secret"
        path = (directory if directory is not None else default_path(connector_id).parent) / name
        return cls(path, env, connector_id=connector_id, variable=key_env_var(connector_id))

    def _from_env(self) -> str | None:
        from bannertui.config import Secrets

        if self._variable is not None:
            found = (self._env if self._env is not None else os.environ).get(self._variable)
            return found or None
        if self.connector_id == 1:
            return Secrets.value(Secrets.of(self._env).provider_password)

        value = (self._env if self._env is not None else os.environ).get(env_var(self.connector_id))
        return value or None

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
