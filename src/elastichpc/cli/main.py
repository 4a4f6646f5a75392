"""`ehpc`: the command line. A thin layer: parse, call the Python API, print.

Start-up stays near bare Python: only argparse and this package's light modules load, only the
parser of the command being run is built (from its module's `register`), and each command
imports its work when it runs, so `ehpc --help` never pays for a cloud SDK or ~100 config flags.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EhpcError
from .registry import Command, Commands, Parser, add_debug

# A command group: its module in cli/ (whose `register` adds the group's commands) and help.
# A new command in an existing group is one `commands.add(...)` line in that module's
# `register`; a new group is one line here.
GROUPS = {
    "cluster": ("cluster_cmds", "create, list, inspect and terminate clusters"),
    "nodes": ("cluster_cmds", "a cluster's nodes"),
    "ssh": ("cluster_cmds", "a shell or one command on the head (or a node)"),
    "cp": ("cp_cmds", "copy files to or from a cluster (scp-like, via rsync)"),
    "job": ("job_cmds", "submit, follow and cancel jobs"),
    "disk": ("disk_cmds", "data disks and snapshots (create, attach, list...)"),
    "fs": ("fs_cmds", "shared file systems on a running cluster (GlusterFS, NFS)"),
    "spot": ("spot_cmds", "spot compute nodes: request, list, resume, cancel, prices"),
    "completion": ("completion_cmds", "print the shell completion script (bash or zsh)"),
    "node": ("elastic_cmds", "one node: reclaim a local spot node as a cloud would"),
    "dashboard": ("dashboard_cmds", "the cluster's web dashboard and API, through an SSH tunnel"),
}


def command_words(argv: Sequence[str]) -> list[str]:
    """The first two words that are not options: the group and (maybe) the action."""
    return [word for word in argv if not word.startswith("-")][:2]


def group_commands(group: str) -> Commands:
    commands = Commands()
    importlib.import_module(f"{__package__}.{GROUPS[group][0]}").register(commands)
    return commands


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: every group listed, but only the named command's arguments built
    (every command's when argv is None: tests and shell completion)."""
    parser = Parser(
        prog="ehpc",
        description="ElasticHPC: HPC clusters (head, compute nodes, batch scheduler, shared "
        "storage) on this machine, AWS, GCE and Azure.",
        epilog="Run `ehpc COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"ehpc {__version__}")
    add_debug(parser, default=False)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    words = command_words(argv) if argv is not None else []
    for group, (_, help_text) in GROUPS.items():
        sub = groups.add_parser(group, help=help_text, description=help_text)
        if argv is None or words[:1] == [group]:
            _add_group(sub, group, words[1] if len(words) > 1 else None, everything=argv is None)
    return parser


def _add_group(parser: argparse.ArgumentParser, group: str, action: str | None,
               everything: bool) -> None:
    table = group_commands(group).table
    if group in table:  # a command without actions (`ehpc ssh`)
        command = table[group]
        parser.description = command.description
        _add_command(parser, command)
        return
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for words, command in table.items():
        first, _, name = words.partition(" ")
        if first != group:
            continue
        sub = actions.add_parser(name, help=command.help, description=command.description,
                                 aliases=list(command.aliases))
        if everything or action in (name, *command.aliases):
            _add_command(sub, command)


def _add_command(parser: argparse.ArgumentParser, command: Command) -> None:
    command.build(parser)
    parser.set_defaults(handler=command.handler, words=command.words)
    add_debug(parser)
    parser.strict = True  # type: ignore[attr-defined]


def split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Everything after the first `--` is a command for the cluster, passed on untouched."""
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1:]
    return argv, []


def _after_interrupt(args: argparse.Namespace) -> str:
    """What to do after Ctrl-C: only an interrupted create offers to remove the whole cluster."""
    name = getattr(args, "name", None)
    if getattr(args, "words", "") == "cluster create" and name:
        return (f"Run the same command again to finish, or `ehpc cluster terminate {name}` to "
                "remove what was made.")
    return "Run the same command again to finish."


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["__complete"]:  # what the completion script asks on Tab (not listed)
        from .completion_cmds import complete_cmd

        return complete_cmd(words[1:])
    own, command = split_command(words)
    args = build_parser(own).parse_args(own)
    args.command = command
    debug = args.debug or os.environ.get("EHPC_DEBUG") == "1"
    try:
        code: int = args.handler(args)
        return code
    except EhpcError as err:
        if debug:
            raise
        print(f"ehpc: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"\nehpc: interrupted. {_after_interrupt(args)}", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line unless --debug
        if debug:
            raise
        print(
            f"ehpc: internal error: {type(err).__name__}: {err} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
