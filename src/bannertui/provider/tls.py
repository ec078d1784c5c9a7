"""TLS verification settings for talking to the provider."""

from __future__ import annotations

import ssl
from pathlib import Path

from bannertui.domain.errors import InvalidCaFile


def ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification against the system CAs, or against ``ca_file`` (PEM) when given."""
    ctx = ssl.create_default_context()
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except FileNotFoundError:
            raise InvalidCaFile(f"{ca_file} does not exist") from None
        except (ssl.SSLError, OSError, ValueError):
            raise InvalidCaFile(f"{ca_file} is not a PEM certificate file") from None
    return ctx
