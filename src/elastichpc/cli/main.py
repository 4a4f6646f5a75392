"""`ehpc`: the command line. A thin layer: parse, call the Python API, print.

Only argparse and this package's light modules load at start; each command imports what it
needs when it runs, so `ehpc --help` never pays for a cloud SDK.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EhpcError

COMMAND_GROUPS = ("cluster_cmds", "job_cmds", "disk_cmds", "fs_cmds", "spot_cmds")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="ehpc",
        description="ElasticHPC: HPC clusters (head, compute nodes, batch scheduler, shared "
        "storage) on this machine, AWS, GCE and Azure.",
        epilog="Run `ehpc COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"ehpc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for module in COMMAND_GROUPS:
        importlib.import_module(f"{__package__}.{module}").register(groups)
    return parser


def split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Everything after the first `--` is a command for the cluster, passed on untouched."""
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1:]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    own, command = split_command(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(own)
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
        print(
            "\nehpc: interrupted. Run the same command again to finish, or "
            "`ehpc cluster terminate NAME` to remove what was made.",
            file=sys.stderr,
        )
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
