"""Settings: defaults, then ``config.toml`` in the user config directory, then ``BANNERTUI_*``
environment variables, then command-line flags (highest).

Nothing here is created at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from platformdirs import user_config_path, user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "bannertui"


class Locations(BaseSettings):
    """Where bannertui keeps its files, before any configuration file is read (the file's
    own place is one of them): ``BANNERTUI_DATA_DIR`` and ``BANNERTUI_CONFIG``."""

    model_config = SettingsConfigDict(env_prefix="BANNERTUI_", extra="ignore")

    data_dir: Path | None = None
    config: Path | None = None

    @field_validator("data_dir", "config", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value


class Secrets(BaseSettings):
    """The secrets a process may be given in its environment (``BANNERTUI_PROVIDER_PASSWORD``,
    ``BANNERTUI_WEBHOOK_SECRET``, ``BANNERTUI_SIM_PASSWORD``).  Never in a configuration file
    or the database, and never shown: a ``SecretStr`` prints as stars."""

    model_config = SettingsConfigDict(env_prefix="BANNERTUI_", extra="ignore")

    provider_password: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    sim_password: SecretStr | None = None

    @classmethod
    def of(cls, env: Mapping[str, str] | None = None) -> Secrets:
        """From the process's environment, or from ``env`` alone when given (a test, a child
        process's prepared environment)."""
        if env is None:
            return cls()
        given = {name: env.get(f"BANNERTUI_{name.upper()}") for name in cls.model_fields}
        values = {name: SecretStr(value) for name, value in given.items() if value is not None}
        return cls.model_construct(set(values), **values)

    @staticmethod
    def value(secret: SecretStr | None) -> str | None:
        """The secret's text; None when unset or empty."""
        return (secret.get_secret_value() or None) if secret is not None else None


def data_dir() -> Path:
    """Where the embedded databases live (XDG data dir; ``BANNERTUI_DATA_DIR`` overrides)."""
    return Locations().data_dir or user_data_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    return Locations().config or user_config_path(APP_NAME, appauthor=False) / "config.toml"


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{data_dir() / 'bannertui.sqlite3'}"


def demo_database_url() -> str:
    return f"sqlite+aiosqlite:///{data_dir() / 'demo.sqlite3'}"


class Settings(BaseSettings):
    """Everything the processes need to start.  Secrets never live in the database."""

    model_config = SettingsConfigDict(env_prefix="BANNERTUI_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    #: SQLite busy timeout, in seconds, before a writer gives up waiting for the lock.
    sqlite_busy_timeout: float = Field(default=30.0, ge=0, le=3600, allow_inf_nan=False)
    #: PostgreSQL connection pool size per process.
    pool_size: int = Field(default=5, ge=1, le=100)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )


class ConfigError(Exception):
    """The configuration file or a ``BANNERTUI_*`` variable cannot be used; the message names
    which, and what is wrong with its value."""


def load_settings(database_url: str | None = None) -> Settings:
    """Build the settings; an explicit ``database_url`` (the ``--db`` flag) wins.  Raises
    :class:`ConfigError` naming the file or the variable at fault."""
    path = config_file()
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} is not a configuration file (BANNERTUI_CONFIG)")
    try:
        if database_url:
            return Settings(database_url=database_url)
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc, path)) from None


def _first_problem(exc: ValidationError, path: Path) -> str:
    """One line for the first invalid setting: where it was set, its value, what is wrong."""
    error = exc.errors(include_url=False)[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    variable = f"BANNERTUI_{name.upper()}"
    where = variable if variable in os.environ else f"{path}: {name}"
    return f"{where} = {error.get('input')!r}: {error['msg']}"
