"""Settings: defaults, then ``config.toml`` in the user config directory, then ``BANNERTUI_*``
environment variables, then command-line flags (highest).

Nothing here is created at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path
from pydantic import Field
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
    sqlite_busy_timeout: float = 30.0
    #: PostgreSQL connection pool size per process.
    pool_size: int = 5

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


def load_settings(database_url: str | None = None) -> Settings:
    """Build the settings; an explicit ``database_url`` (the ``--db`` flag) wins."""
    if database_url:
        return Settings(database_url=database_url)
    return Settings()
