"""What the command writes to a terminal: values from files, stores and requests shown as text.

Two layers, so that one forgotten escape cannot hurt:

- `shown(value)` is how a value enters a line of rich markup (a print, a table cell, a
  status or progress text): control, format and separator characters are made visible
  (`receipts.text.visible`: ESC shows as `\\u001b`, U+202E as `\\u202e`) and markup is
  escaped, so `[/bold]` in a receipt id is text, neither a MarkupError nor a colour.
- The consoles here (`out`, `err`; no other module makes one) are the net under it: every
  text segment they write has such characters made visible (newlines excepted: they are
  the lines), a line whose markup does not parse is shown as plain text instead of
  crashing, and emoji codes stay text. A print that forgot `shown` is garbled at worst:
  it cannot move the cursor, erase a line or reorder what follows.

Click's error messages (`Error: …`) go through the same net (`TerminalGroup`).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console, ConsoleOptions, RenderableType
from rich.errors import MarkupError
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

from receipts.text import visible


def shown(value: Any) -> str:
    """`value` as text for rich markup: every invisible character an escape, markup escaped."""
    return escape(visible(str(value)))


def visible_lines(text: str) -> str:
    """`visible` on each line of text that is ours to break into lines."""
    return "\n".join(visible(line) for line in text.split("\n"))


class TerminalConsole(Console):
    """A rich Console that never writes a control, format or separator character of its
    text raw, and never fails on markup."""

    def __init__(self, **options: Any) -> None:
        super().__init__(highlight=False, emoji=False, **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and segment.text and not segment.text.isprintable():
                segment = Segment(visible_lines(segment.text), segment.style, None)
            yield segment

    def render_str(self, text: str, **options: Any) -> Text:
        try:
            return super().render_str(text, **options)
        except MarkupError:  # a value was put in markup without shown(): show it all as text
            return super().render_str(text, **{**options, "markup": False})


out = TerminalConsole()
err = TerminalConsole(stderr=True)


@contextmanager
def _visible_errors() -> Iterator[None]:
    try:
        yield
    except click.ClickException as error:
        error.message = visible_lines(error.message)
        raise


class TerminalGroup(click.Group):
    """A click group whose error messages show what they quote as text: a key id, a path
    or a store's answer with ESC or U+202E in it is printed with visible escapes."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _visible_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _visible_errors():
            return super().invoke(ctx)
