"""Templates with $variables (SPEC B6): a template select with "(none)", one input per variable
appearing as a template is chosen, and "Replace variables"."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Select

from bannertui.domain.templates import variables
from bannertui.domain.text import one_line
from bannertui.services.outbound import TemplateChoice

NONE_LABEL = "(none)"


class TemplatePanel(Vertical):
    DEFAULT_CSS = """
    TemplatePanel { height: auto; }
    TemplatePanel #template-row { height: auto; }
    TemplatePanel #template-select { width: 1fr; margin-right: 1; }
    TemplatePanel #variables { height: auto; }
    TemplatePanel .variable { height: auto; }
    TemplatePanel .variable Label { width: auto; padding: 0 1 0 0; }
    TemplatePanel .variable Input { width: 1fr; }
    """

    @dataclass
    class Chosen(Message):
        """A template was chosen: its text (None for "(none)") and id."""

        panel: TemplatePanel
        template_id: int | None
        text: str | None

    @dataclass
    class Replaced(Message):
        """ "Replace variables": the values typed for each variable, for the editor's text."""

        panel: TemplatePanel
        values: dict[str, str]

    def __init__(self, templates: list[TemplateChoice] | None = None, *, id: str | None = None):
        super().__init__(id=id)
        self.templates = list(templates or [])

    def compose(self) -> ComposeResult:
        with Horizontal(id="template-row"):
            yield Select[int](
                self._options(),
                prompt=NONE_LABEL,
                allow_blank=True,
                compact=True,
                id="template-select",
            )
            yield Button(
                "Replace variables ^R", id="replace-variables", disabled=True, compact=True
            )
        yield Vertical(id="variables")

    def _options(self) -> list[tuple[Content, int]]:
        # Content, not str: Select parses string labels as markup.
        return [(Content(one_line(t.name, 40)), t.id) for t in self.templates]

    def set_templates(self, templates: list[TemplateChoice]) -> None:
        self.templates = list(templates)
        self.query_one("#template-select", Select).set_options(self._options())
        self._show_variables([])

    @property
    def template_id(self) -> int | None:
        value = self.query_one("#template-select", Select).value
        return value if isinstance(value, int) else None

    @property
    def chosen(self) -> TemplateChoice | None:
        tid = self.template_id
        return next((t for t in self.templates if t.id == tid), None)

    def values(self) -> dict[str, str]:
        return {
            inp.name: inp.value
            for inp in self.query(".variable Input").results(Input)
            if inp.name is not None
        }

    def reset(self) -> None:
        self.query_one("#template-select", Select).clear()

    @on(Select.Changed, "#template-select")
    def _template_changed(self, event: Select.Changed) -> None:
        event.stop()
        choice = self.chosen
        self._show_variables(variables(choice.text) if choice else [])
        self.post_message(
            self.Chosen(self, choice.id if choice else None, choice.text if choice else None)
        )

    def _show_variables(self, names: list[str]) -> None:
        box = self.query_one("#variables", Vertical)
        box.remove_children()
        rows: list[Horizontal] = []
        for name in names:
            row = Horizontal(
                Label(f"${one_line(name, 24)}"),
                Input(placeholder=name, name=name, id=f"var-{len(rows)}", compact=True),
                classes="variable",
            )
            rows.append(row)
        if rows:
            box.mount_all(rows)
        self.query_one("#replace-variables", Button).disabled = self.chosen is None

    @on(Button.Pressed, "#replace-variables")
    def _replace(self, event: Button.Pressed) -> None:
        event.stop()
        self.replace_variables()

    def replace_variables(self) -> None:
        """Post the variables that have a value; say which have none (they stay ``$name`` in
        the text, never an empty gap: "at ." was sent), and say so when no template is
        chosen rather than doing nothing."""
        if self.chosen is None:
            self.notify("Replace variables: choose a template first.", severity="warning")
            return
        values = self.values()
        filled = {name: value for name, value in values.items() if value.strip()}
        empty = [f"${name}" for name, value in values.items() if not value.strip()]
        if empty:
            self.notify(
                one_line(f"No value for {', '.join(empty)}: left in the text."),
                severity="warning",
                markup=False,
            )
        self.post_message(self.Replaced(self, filled))


async def may_replace_text(app: App[object], typed: str, inserted: str | None) -> bool:
    """Whether a chosen template may replace the editor's text: at once when it is empty or is
    still the text a template put there (``inserted``); otherwise the agent is asked, so a
    template never silently replaces what they typed.  Call from a worker."""
    from bannertui.ui.screens.confirm import ConfirmDialog

    if not typed.strip() or typed == inserted:
        return True
    answer = await app.push_screen_wait(
        ConfirmDialog(
            "Template",
            "Replace the text you typed with the template?",
            confirm="Replace",
            letters=False,
        )
    )
    return bool(answer)
