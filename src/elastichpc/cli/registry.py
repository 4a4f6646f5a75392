"""The command table and the argparse pieces every command shares.

A command module (`cli/<group>_cmds.py`) has `register(commands)`, which only records each
command: its words, the function that adds its arguments and the one that runs it. `main` builds
the parser of the one command being run (all of them only for tests and completion), so the
start-up cost does not grow with the number of commands or their flags.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NamedTuple

Build = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    words: str  # "cluster create", or one word for a command without actions ("ssh")
    build: Build  # adds the command's arguments to its parser
    handler: Handler  # runs it; returns the exit code
    help: str
    description: str
    aliases: tuple[str, ...]


class Commands:
    """What `register` fills: `commands.add("cluster resize", resize_args, resize_cmd, "help")`."""

    def __init__(self) -> None:
        self.table: dict[str, Command] = {}

    def add(self, words: str, build: Build, handler: Handler, help: str, *,
            description: str = "", aliases: tuple[str, ...] = ()) -> None:
        self.table[words] = Command(words, build, handler, help, description or help, aliases)


class _Formatter(argparse.HelpFormatter):
    """A usage line of `[options]` and the positionals when there are many options."""

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        options = [a for a in actions if a.option_strings and a.help is not argparse.SUPPRESS]
        if usage is None and len(options) > 6:
            words = [self._format_args(a, a.dest) for a in actions if not a.option_strings]
            usage = " ".join(["%(prog)s", "[options]", *words])
        super().add_usage(usage, actions, groups, prefix)


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, with a hint where one helps; a
    command's parser (`strict`) reports unknown arguments itself, naming the closest flag."""

    strict = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.strict:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}{self._hint(message)}\n")

    def _hint(self, message: str) -> str:
        import difflib
        import re

        if message.endswith("expected one argument"):
            flag = message.split()[1].rstrip(":").split("/")[-1]
            return f" (a value that starts with '-' is written {flag}=VALUE)"
        if message.startswith("unrecognized arguments:"):
            known = [o for a in self._actions for o in a.option_strings]
            for word in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(word.split("=")[0], known, n=1)
                if close and word.startswith("-"):
                    return f" (did you mean {close[0]}?)"
            return f" (see {self.prog} --help)"
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2))
            close = difflib.get_close_matches(choice.group(1), options, n=1)
            return f" (did you mean {close[0]}?)" if close else ""
        return f" (see {self.prog} --help)"


def add_debug(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """--debug before or after the command words (SUPPRESS: a leaf never resets the top's)."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show tracebacks of errors")
