"""Settings: defaults, then ``config.toml`` in the user config directory, then ``BANNERTUI_*``
environment variables, then command-line flags (highest).

Nothing here is created at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from platformdirs import user_config_path, user_data_path
from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "bannertui"


def data_dir() -> Path:
    """Where the embedded databases live (XDG data dir; ``BANNERTUI_DATA_DIR`` overrides)."""
    override = os.environ.get("BANNERTUI_DATA_DIR")
    return Path(override) if override else user_data_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    override = os.environ.get("BANNERTUI_CONFIG")
    if override:
        return Path(override)
    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


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
