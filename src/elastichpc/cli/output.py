"""Terminal output: tables, JSON, and the progress display for long work."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..orchestration.progress import Progress


def print_json(data: Any) -> None:
    import json
    from dataclasses import asdict, is_dataclass

    def default(obj: Any) -> Any:
        if is_dataclass(obj) and not isinstance(obj, type):
            return asdict(obj)
        return str(obj)

    json.dump(data, sys.stdout, indent=2, default=default)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class ConsoleProgress(Progress):
    """Steps on stderr: a live line on a terminal, one line per finished step otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.title = ""
        self.started = time.monotonic()

    def _line(self, text: str, final: bool) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K" + text + ("\n" if final else ""))
        elif final:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.title, start = title, time.monotonic()
        self._line(f"  … {title}", final=False)
        try:
            yield
        except BaseException:
            self._line(f"  ✗ {title}", final=True)
            raise
        self._line(f"  ✓ {title} ({time.monotonic() - start:.1f}s)", final=True)

    def detail(self, line: str) -> None:
        self._line(f"  … {self.title}: {line}", final=False)

    def note(self, line: str) -> None:
        self._line(line, final=True)
