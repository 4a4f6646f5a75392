"""How long work tells its caller where it is. The CLI shows it; the Python API stays quiet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Progress:
    """Silent by default; the CLI subclasses it to draw steps."""

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    def note(self, line: str) -> None:
        pass

    def detail(self, line: str) -> None:
        """A line about the current step that replaces the previous one (e.g. '3/16 running')."""
