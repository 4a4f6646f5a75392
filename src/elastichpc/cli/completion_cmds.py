"""ehpc completion bash|zsh: Tab completion of commands, flags, cluster and node names and job
ids. The shell function asks `ehpc __complete WORD...` (the words typed so far, the last one
being completed), which builds only the parser of the command being typed and reads names from
the journal, never from a cloud or a cluster."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..state import Journal
    from .registry import Commands

BASH = """# ehpc completion for bash: eval "$(ehpc completion bash)" (e.g. in ~/.bashrc)
_ehpc_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(%(ehpc)s __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _ehpc_complete ehpc
"""

ZSH = """#compdef ehpc
# ehpc completion for zsh: eval "$(ehpc completion zsh)" after compinit (e.g. in ~/.zshrc)
_ehpc_complete() {
    local -a found
    found=("${(@f)$(%(ehpc)s __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ -n "${found[1]}" ]]; then
        compadd -Q -- "${found[@]}"
    else
        _files
    fi
}
compdef _ehpc_complete ehpc
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}


def register(commands: Commands) -> None:
    commands.add("completion", completion_args, completion_cmd,
                 "print the shell completion script (bash or zsh)",
                 description='Tab completion for ehpc: add `eval "$(ehpc completion bash)"` to '
                 "~/.bashrc (or zsh to ~/.zshrc). Completes commands, flags, cluster and node "
                 "names and job ids (from this machine's journal).")


def completion_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=sorted(SCRIPTS))


def completion_cmd(args: argparse.Namespace) -> int:
    # This interpreter and package, not a PATH lookup: no wrapper script on every Tab.
    ehpc = f"{shlex.quote(sys.executable)} -m elastichpc"
    sys.stdout.write(SCRIPTS[args.shell] % {"ehpc": ehpc})
    return 0


def complete(words: list[str]) -> list[str]:
    """Candidates for the last of `words` (the words after `ehpc`, the last one partial)."""
    from .main import GROUPS, build_parser, command_words

    *done, current = words or [""]
    done = [w for w in done if w != "--debug"]  # the one option before the command words
    names = command_words(done)
    if not names:
        return _matching([*GROUPS, "--help", "--version", "--debug"], current)
    found = _leaf(build_parser(done), names)
    if found is None:
        return []
    parser, depth = found
    actions = _subcommands(parser)
    if actions is not None:  # the action of a group
        return _matching(list(actions), current)
    options = {o: a for a in parser._actions for o in a.option_strings}
    if done and done[-1] in options and options[done[-1]].nargs not in (0, "?"):
        return _matching(_values(options[done[-1]]), current)
    if current.startswith("-"):
        return _matching([o for o, a in options.items() if a.help != argparse.SUPPRESS], current)
    positionals = [a for a in parser._actions if not a.option_strings]
    given = _positionals(done[done.index(names[depth - 1]) + 1:], options)
    if not positionals or (len(given) >= len(positionals) and positionals[-1].nargs != "+"):
        return []
    action = positionals[min(len(given), len(positionals) - 1)]
    return _matching(_names(action, given), current)


def _leaf(parser: argparse.ArgumentParser,
          names: list[str]) -> tuple[argparse.ArgumentParser, int] | None:
    """The parser of the command named by `names` (the group's when no action is given yet)
    and how many of the names are command words."""
    depth = 0
    for name in names:
        subcommands = _subcommands(parser)
        if subcommands is None:
            break
        found = subcommands.get(name)
        if found is None:
            return None
        parser, depth = found, depth + 1
    return parser, depth


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    if parser._subparsers is None:
        return None
    return cast(dict[str, argparse.ArgumentParser], parser._subparsers._group_actions[0].choices)


def _positionals(words: list[str], options: dict[str, argparse.Action]) -> list[str]:
    """The positional arguments among `words` (option values skipped)."""
    given, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            action = options.get(word)
            skip = action is not None and action.nargs not in (0, "?") and "=" not in word
        else:
            given.append(word)
    return given


def _values(action: argparse.Action) -> list[str]:
    if action.choices:
        return [str(c) for c in action.choices]
    dest = action.dest
    if dest == "cfg:CLUSTER:PROVIDER":
        from ..config.schema import PROVIDERS

        return list(PROVIDERS)
    if dest == "cfg:CLUSTER:SCHEDULER":
        from ..config.schema import SCHEDULERS

        return list(SCHEDULERS)
    if dest == "cluster":
        return _from_journal(lambda j: [c.name for c in j.clusters()])
    return []


def _names(action: argparse.Action, given: list[str]) -> list[str]:
    """Cluster names, node names of the cluster given, job ids of that cluster."""
    if action.choices:
        return [str(c) for c in action.choices]
    cluster = given[0] if given else ""
    if action.dest in ("name", "target_cluster"):
        return _from_journal(lambda j: [c.name for c in j.clusters()])
    if action.dest == "node":
        prefix = f"{cluster}-"
        return _from_journal(lambda j: [n.name.removeprefix(prefix) for n in j.nodes(cluster)])
    if action.dest in ("job_id", "job_ids"):
        return _from_journal(lambda j: [r.job_id for r in reversed(j.jobs(cluster))])
    return []


def _from_journal(read: Callable[[Journal], list[str]]) -> list[str]:
    from ..state import Journal, state_dir

    if not (state_dir() / "state.db").exists():
        return []  # completing never creates the state directory
    journal = Journal()
    try:
        return read(journal)
    finally:
        journal.close()


def _matching(candidates: list[str], prefix: str) -> list[str]:
    return [c for c in candidates if c.startswith(prefix)]


def complete_cmd(words: list[str]) -> int:
    """`ehpc __complete WORD...`: one candidate a line; errors complete nothing."""
    try:
        print("\n".join(complete(words)))
    except Exception:  # a half-typed line must never print a traceback at a prompt
        return 1
    return 0
