"""The OS account running this process: the console's and the commands' identity.

Read from the process's real user id through the password database, never from ``USER``,
``LOGNAME`` or any other environment variable (``getpass.getuser()`` trusts those, so anyone
could claim to be an administrator by setting one).
"""

from __future__ import annotations

import os
import pwd


def os_login() -> str:
    """The login of the process's real user id (``uid 1234`` when it has no passwd entry)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
