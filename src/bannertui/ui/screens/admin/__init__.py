"""Administration, the "Maker" area (SPEC Q1, Q3, Q4, X4), administrators only: the screen
(``screen``), its provider tab (``provider``) and one module of forms per resource."""

from __future__ import annotations

from bannertui.ui.screens.admin.blacklist import BlacklistDialog
from bannertui.ui.screens.admin.bots import BotDialog
from bannertui.ui.screens.admin.form import AdminForm
from bannertui.ui.screens.admin.numbers import NumberDialog
from bannertui.ui.screens.admin.profiles import ProfileDialog
from bannertui.ui.screens.admin.provider import ProviderForm
from bannertui.ui.screens.admin.queues import MembersDialog, QueueDialog
from bannertui.ui.screens.admin.screen import AdminScreen
from bannertui.ui.screens.admin.templates import TemplateDialog

__all__ = [
    "AdminForm",
    "AdminScreen",
    "BlacklistDialog",
    "BotDialog",
    "MembersDialog",
    "NumberDialog",
    "ProfileDialog",
    "ProviderForm",
    "QueueDialog",
    "TemplateDialog",
]
