"""One scheduler-neutral job model, rendered per scheduler by a small adapter.

An adapter only builds commands (argv lists run on the head node) and parses their output; it
never talks to a machine itself. Adding a scheduler means one new module with one Scheduler
subclass.
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from ..config.spec import check_path
from ..errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ARRAY_RE = re.compile(r"^\d+(-\d+(:\d+)?)?(,\d+(-\d+(:\d+)?)?)*(%\d+)?$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class JobSpec:
    """What to run and with what resources.

    `command` with one element is a shell command line (run by bash in the job, like the
    guide's --command); with several it is an exact argv, run without any shell parsing.
    """

    command: list[str]
    name: str = "job"
    cpus: int = 1
    memory_mb: int | None = None
    walltime_min: int | None = None
    array: str | None = None
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stdout: str | None = None
    stderr: str | None = None

    def validate(self) -> None:
        if not self.command or not self.command[0]:
            raise ConfigError("a job needs a command (after --)")
        if not NAME_RE.match(self.name):
            raise ConfigError(f"job name {self.name!r}: use letters, digits, '.', '_' and '-'")
        if self.cpus < 1:
            raise ConfigError(f"--cpus must be at least 1, got {self.cpus}")
        if self.memory_mb is not None and self.memory_mb < 1:
            raise ConfigError(f"--mem must be positive, got {self.memory_mb} MB")
        if self.walltime_min is not None and self.walltime_min < 1:
            raise ConfigError(f"--time must be at least one minute, got {self.walltime_min}")
        if self.array is not None:
            check_array(self.array)
        if self.workdir is not None:
            check_path(self.workdir, "--workdir")
        for key in self.env:
            if not ENV_RE.match(key):
                raise ConfigError(f"--env {key!r} is not a valid variable name")

    def body(self) -> str:
        """The batch script: environment, then the command exactly as given."""
        lines = ["#!/bin/bash"]
        lines += [f"export {key}={shlex.quote(value)}" for key, value in self.env.items()]
        if len(self.command) == 1:
            lines.append(self.command[0])
        else:
            lines.append("exec " + shlex.join(self.command))
        return "\n".join(lines) + "\n"


@dataclass
class JobInfo:
    job_id: str
    task: str  # array task id, "" for a plain job
    name: str
    state: str  # pending | running | completed | failed | cancelled | unknown
    raw_state: str
    exit_code: int | None = None
    nodes: str = ""
    user: str = ""
    elapsed: str = ""

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


@dataclass
class Submission:
    argv: list[str]  # run on the head as the job's user
    script: str  # fed on standard input
    stdout: str  # path pattern, as the scheduler writes it
    stderr: str


class Scheduler(ABC):
    name: ClassVar[str]
    # The guide's --owner values that mean "run directly on the head", and the user they run
    # as ("" = the cluster user), the same on every scheduler (README: "Who runs a job").
    # Any other owner (sge, pbs, a name) is a scheduler job of the cluster user.
    direct_owners: ClassVar[dict[str, str]] = {"system": "root", "ubuntu": "ubuntu",
                                               "ehpcuser": ""}
    # Powers autoscaled nodes up and down itself (Slurm's power saving); else the agent does it
    # from the queue.
    power_saving: ClassVar[bool] = False
    # The job's id (an array's, for its tasks) as a shell expression inside the running job:
    # each job works in a directory of its own named by it.
    job_id_var: ClassVar[str]

    @abstractmethod
    def submit(self, spec: JobSpec, workdir: str, hold: bool = False) -> Submission:
        """`hold`: the job waits for `unhold_argv` (its files are staged after its id is known)."""

    @abstractmethod
    def unhold_argv(self, job_ids: list[str]) -> list[str]: ...

    @abstractmethod
    def parse_submit(self, output: str) -> str: ...

    @abstractmethod
    def status_argv(self, job_id: str) -> list[str]: ...

    @abstractmethod
    def parse_status(self, job_id: str, output: str) -> list[JobInfo]: ...

    def finished_argv(self, job_id: str) -> list[str] | None:
        """Where finished jobs are remembered after the scheduler forgets them (None: nowhere)."""
        return None

    def parse_finished(self, job_id: str, output: str) -> list[JobInfo]:
        return []

    def history_argv(self, since: float) -> list[str] | None:
        """The scheduler's accounting of the jobs since a time, however they were submitted
        (None: it keeps none)."""
        return None

    def parse_history(self, output: str, since: float) -> list[JobInfo]:
        """The finished jobs of history_argv's output."""
        return []

    @abstractmethod
    def list_argv(self) -> list[str]: ...

    @abstractmethod
    def parse_list(self, output: str) -> list[JobInfo]: ...

    @abstractmethod
    def cancel_argv(self, job_id: str) -> list[str]: ...

    @abstractmethod
    def nodes_argv(self) -> list[str]: ...

    @abstractmethod
    def parse_nodes(self, output: str) -> dict[str, str]:
        """node name -> scheduler state, e.g. idle, alloc, down."""

    def loads_argv(self) -> list[str]:
        """A command whose output tells each node's CPU load (see parse_loads)."""
        return self.nodes_argv()

    @abstractmethod
    def parse_loads(self, output: str) -> dict[str, float]:
        """node name -> its load average as the scheduler last heard it (absent: unknown)."""

    def cpus_argv(self) -> list[str]:
        """A command whose output tells each node's CPUs (see parse_cpus)."""
        return self.nodes_argv()

    @abstractmethod
    def parse_cpus(self, output: str) -> int:
        """The most CPUs one node offers a task (0 when no node answered)."""

    def log_globs(self, job_id: str, stdout: str, stderr: str, task: str = "*") -> tuple[str, str]:
        """Shell globs for a job's output files (every array task, or one), from the patterns
        it was submitted with."""
        return stdout, stderr

    # Nodes joining and leaving (resize, reclaimed spot nodes).
    @abstractmethod
    def drain_argv(self, nodes: list[str], reason: str) -> list[str]:
        """Stop placing jobs on these nodes; running jobs go on."""

    @abstractmethod
    def down_argv(self, nodes: list[str], reason: str) -> list[str]:
        """These nodes are gone: take them out of scheduling now (Slurm requeues their jobs)."""

    @abstractmethod
    def jobs_on_argv(self, nodes: list[str]) -> list[str]: ...

    @abstractmethod
    def parse_jobs_on(self, output: str, nodes: list[str]) -> list[str]:
        """Ids (array tasks included) of the jobs running on these nodes."""

    @abstractmethod
    def requeue_argv(self, job_ids: list[str]) -> list[str]:
        """Put running jobs back in the queue to run again from the start."""

    @abstractmethod
    def resume_argv(self, nodes: list[str]) -> list[str]:
        """Schedule on these nodes again (a replacement of a node that was taken down)."""

    @abstractmethod
    def close_argv(self) -> list[str]:
        """Start no more jobs (a spent budget); running jobs go on, queued ones wait."""

    @abstractmethod
    def open_argv(self) -> list[str]:
        """Undo `close_argv`."""

    def address_argv(self, node: str, address: str) -> list[str] | None:
        """Tell the scheduler where a node it knew before it existed is (None: not needed)."""
        return None

    def release_argv(self, job_ids: list[str]) -> list[str] | None:
        """Let requeued jobs start at once (None: they already may)."""
        return None


def check_array(array: str) -> None:
    """1-20, 1-20:2, 1,3,5, 1-100%10: every range ascending (Grid Engine would turn 5-1 into
    1-5 silently, Slurm refuses it)."""
    if not ARRAY_RE.match(array):
        raise ConfigError(f"--array {array!r}: expected a range such as 1-20 or 1-20%4")
    for part in array.partition("%")[0].split(","):
        low, _, rest = part.partition("-")
        high, _, step = rest.partition(":")
        if high and int(high) < int(low):
            raise ConfigError(f"--array {array!r}: the range {low}-{high} runs backwards "
                              f"(did you mean {high}-{low}?)")
        if step and int(step) < 1:
            raise ConfigError(f"--array {array!r}: the step must be at least 1")


def exit_status(text: str) -> int | None:
    """'1:0' (code:signal) -> 1; a signal n -> 128+n, as a shell reports it."""
    match = re.match(r"^(\d+):(\d+)$", text.strip())
    if not match:
        return None
    code, signal = int(match.group(1)), int(match.group(2))
    return 128 + signal if signal else code
