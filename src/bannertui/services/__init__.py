"""Use cases, async and UI-free.  Every rule of SPEC B1/B12 is enforced here, whatever calls."""

from bannertui.services.container import Services

__all__ = ["Services"]
