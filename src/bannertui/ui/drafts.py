"""One editor's draft, kept in the database as the agent types (issue #23 item 3).

A :class:`DraftKeeper` belongs to the widget or dialog that holds an editor (a conversation's
pane, the Direct form, Send SMS):

* :meth:`~DraftKeeper.restore` when it mounts: the stored draft, filled in only if the agent
  has typed nothing meanwhile (what they typed is never overwritten);
* :meth:`~DraftKeeper.changed` on every change: saved once the typing pauses for
  :data:`DRAFT_PAUSE_SECONDS` (a Textual timer, reset at each change; the save itself runs in
  a worker of the owner's, whose errors go through the owner's error policy);
* :meth:`~DraftKeeper.flush` when the editor goes (the pane is replaced, the dialog closes,
  the app quits): what was typed since the last save, saved now (awaited by the owner's
  ``on_unmount``, which Textual awaits before the next pane mounts and before the app ends);
* :meth:`~DraftKeeper.sent` once the text was sent (deleted; the keeper goes on for the next
  message), :meth:`~DraftKeeper.finish` when there is nothing more to keep (deleted, no more
  saves).

Saves are serialized (a lock): a slow one is never overtaken by an older text, and a save is
never cancelled half-way (the owner's ``on_unmount`` runs before Textual cancels its workers,
and waits for the one in progress).  A crash loses at most the last pause's worth of typing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from textual.dom import DOMNode
from textual.timer import Timer

from bannertui.domain.actor import Actor
from bannertui.domain.errors import BannerError
from bannertui.domain.text import one_line
from bannertui.services.drafts import DraftKey, DraftRow, DraftService

log = logging.getLogger(__name__)

#: A draft is saved once the typing pauses this long (every pause, not every key).
DRAFT_PAUSE_SECONDS = 0.4
#: The most a pane or dialog that goes (or the app quitting) waits for its last save.
FLUSH_TIMEOUT_SECONDS = 5.0


def _blank(text: str) -> bool:
    return not text.strip()


class DraftKeeper:
    def __init__(self, owner: DOMNode, drafts: DraftService, actor: Actor, key: DraftKey) -> None:
        self.owner = owner
        self.drafts = drafts
        self.actor = actor
        self.key = key
        #: The latest text and recipients seen (what a save stores).
        self.text = ""
        self.recipients = ""
        #: What the database holds, once known (after the restore or a save).
        self._stored: tuple[str, str] | None = None
        self._timer: Timer | None = None
        self._lock = asyncio.Lock()
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def blank(self) -> bool:
        """Nothing (but spaces) in the editor as last seen."""
        return _blank(self.text)

    # --- start ---------------------------------------------------------------------------

    async def restore(
        self, blank: Callable[[], bool], *, number: str | None = None
    ) -> DraftRow | None:
        """The stored draft (see ``DraftService.restore``), returned only when ``blank()``
        says the editor is still as it was opened: the caller then fills it in (in the same
        step, with no await between).  None: nothing to fill."""
        row = await self.drafts.restore(self.actor, self.key, number=number)
        if self._stored is None:  # no save came first: the database holds the row
            self._stored = ("", "") if row is None else (row.text, row.recipients)
        if row is None or self._finished or not blank():
            return None
        self.text, self.recipients = row.text, row.recipients
        return row

    # --- typing --------------------------------------------------------------------------

    def changed(self, *, text: str | None = None, recipients: str | None = None) -> None:
        """The editor (or the recipients) changed: save once the typing pauses."""
        if self._finished:
            return
        if text is not None:
            self.text = text
        if recipients is not None:
            self.recipients = recipients
        if self._timer is None:
            self._timer = self.owner.set_timer(DRAFT_PAUSE_SECONDS, self._due)
        else:
            self._timer.reset()

    def _due(self) -> None:
        self._timer = None
        self.owner.run_worker(self.flush(), group="draft-save", exit_on_error=False)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    async def flush(self, text: str | None = None) -> DraftRow | None:
        """Save now what changed since the last save (``text``: the editor's, read by the
        caller as it goes).  Returns the row saved, None when nothing was (unchanged, or
        blank: deleted)."""
        if text is not None and not self._finished:
            self.text = text
        self._stop_timer()
        async with self._lock:
            if self._finished:
                return None
            now = ("", "") if _blank(self.text) else (self.text, self.recipients)
            stored = self._stored
            if stored is None and now == ("", ""):
                return None  # the stored draft is not known yet, and nothing typed: keep it
            if now == stored:
                return None
            row = await self.drafts.save(self.actor, self.key, now[0], recipients=now[1])
            self._stored = now
            return row

    async def last_flush(self, text: str | None = None) -> DraftRow | None:
        """:meth:`flush` from an ``on_unmount``: bounded in time, and a failure is told (a
        notification) rather than raised into Textual's message loop."""
        try:
            return await asyncio.wait_for(self.flush(text), FLUSH_TIMEOUT_SECONDS)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.exception("draft %r not saved", self.key)
            self._tell(f"Your draft was not saved: {self._reason(exc)}")
            return None

    # --- end -----------------------------------------------------------------------------

    async def sent(self) -> None:
        """The text was sent: the draft goes; the keeper goes on (the next message)."""
        self._stop_timer()
        async with self._lock:
            self.text = ""
            if await self._clear():
                self._stored = ("", "")
            else:
                self._stored = None  # unknown: the next non-blank text is saved over it

    async def finish(self, *, clear: bool) -> None:
        """Nothing more to keep (sent from a dialog that closes, or the conversation ended by
        the agent); ``clear``: the stored draft goes too."""
        self._stop_timer()
        async with self._lock:
            self._finished = True  # even if the clear fails: the text was dealt with
            if clear:
                await self._clear()

    async def _clear(self) -> bool:
        """Delete the stored draft.  Called once the text was sent or the conversation
        ended: a failure then must not stop what follows (the editor cleared, the dialog
        closed; else the agent could send it twice), so it is told, not raised."""
        try:
            await asyncio.wait_for(self.drafts.clear(self.actor, self.key), FLUSH_TIMEOUT_SECONDS)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.exception("draft %r not deleted", self.key)
            self._tell(f"Your draft was not deleted: {self._reason(exc)}")
            return False
        return True

    @staticmethod
    def _reason(exc: Exception) -> str:
        return one_line(exc.message if isinstance(exc, BannerError) else type(exc).__name__, 200)

    def _tell(self, text: str) -> None:
        with contextlib.suppress(Exception):  # the app may be quitting
            self.owner.app.notify(text, severity="error", markup=False)
