"""PBS/Torque-style jobs: Slurm's Torque wrappers (qsub, qstat, qdel, pbsnodes) over Slurm.

Torque is no longer packaged, so a `pbs` cluster runs Slurm and takes PBS commands through the
wrappers of Debian's slurm-wlm-torque. The wrappers' qstat reports neither exit codes nor array
tasks, so a job's state and exit code come from Slurm itself (scontrol and its job-completion log),
exactly as on a `slurm` cluster.
"""

from __future__ import annotations

import re

from ..errors import ConfigError
from .base import JobInfo, JobSpec, Submission
from .slurm import Slurm

# /opt/ehpc-pbs holds the unpacked wrappers on machines that also have Grid Engine's qsub
# (scripts/unpack-torque-wrappers.sh); elsewhere they are in /usr/bin.
PATH = "/opt/ehpc-pbs/usr/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
# The wrapper's qsub hands its options to sbatch through a shell string: allow no shell syntax.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._/%+=@,-]+$")
# qsub takes a script file, not standard input: the script goes to a temporary file on the head.
_SUBMIT = 'f=$(mktemp /tmp/ehpc-pbs-XXXXXX) && cat > "$f" && { qsub "$@" "$f"; rc=$?; rm -f "$f"; exit $rc; }'
_PROLOGUE = (
    'export PBS_JOBID="$SLURM_JOB_ID" PBS_ARRAYID="${SLURM_ARRAY_TASK_ID:-}" '
    'PBS_O_WORKDIR="$SLURM_SUBMIT_DIR"\n'
)
_STATES = {"Q": "pending", "R": "running", "S": "running"}


def _pbs(argv: list[str]) -> list[str]:
    return ["env", f"PATH={PATH}", *argv]


def _plain(label: str, path: str) -> str:
    if not _PLAIN_PATH.match(path):
        raise ConfigError(f"{label} {path!r}: PBS paths may not contain spaces or shell characters")
    return path


class Pbs(Slurm):
    name = "pbs"

    def submit(self, spec: JobSpec, workdir: str, hold: bool = False) -> Submission:
        tag = "%A_%a" if spec.array else "%j"
        stdout = _plain("--stdout", spec.stdout or f"{workdir}/{spec.name}-{tag}.out")
        stderr = _plain("--stderr", spec.stderr or f"{workdir}/{spec.name}-{tag}.err")
        resources = [f"nodes=1:ppn={spec.cpus}"]
        if spec.memory_mb:
            resources.append(f"mem={spec.memory_mb}mb")
        if spec.walltime_min:
            resources.append(f"walltime={spec.walltime_min // 60:02d}:{spec.walltime_min % 60:02d}:00")
        args = ["-N", spec.name, "-wd", _plain("--workdir", workdir), "-o", stdout, "-e", stderr,
                "-l", ",".join(resources)]
        if spec.array:
            args += ["-t", spec.array]
        if hold:
            args.append("-h")
        shebang, _, rest = spec.body().partition("\n")
        script = f"{shebang}\n{_PROLOGUE}{rest}"
        return Submission(_pbs(["bash", "-c", _SUBMIT, "qsub", *args]), script, stdout, stderr)

    def parse_submit(self, output: str) -> str:
        lines = output.strip().splitlines()
        job_id = lines[-1].strip() if lines else ""
        if not job_id.isdigit():
            raise ValueError(f"qsub said {output.strip()!r}")
        return job_id

    def list_argv(self) -> list[str]:
        return _pbs(["qstat", "-f"])

    def parse_list(self, output: str) -> list[JobInfo]:
        """qstat -f: 'Job Id: N' blocks of 'key = value' lines (array tasks under Slurm's ids)."""
        jobs = []
        for block in output.split("Job Id:")[1:]:
            job_id, _, rest = block.partition("\n")
            fields = dict(
                (key.strip(), value.strip())
                for key, sep, value in (line.partition("=") for line in rest.splitlines()) if sep
            )
            raw = fields.get("job_state", "")
            if raw == "C":  # finished jobs linger in Slurm for a while; the queue is the rest
                continue
            jobs.append(JobInfo(
                job_id=job_id.strip(), task="", name=fields.get("Job_Name", ""),
                state=_STATES.get(raw, "unknown"), raw_state=raw,
                nodes=fields.get("exec_host", "").split("/")[0],
                user=fields.get("euser", "").split("(")[0],
            ))
        return jobs

    def cancel_argv(self, job_id: str) -> list[str]:
        return _pbs(["qdel", job_id])

    def nodes_argv(self) -> list[str]:
        return _pbs(["pbsnodes", "-a"])

    def parse_nodes(self, output: str) -> dict[str, str]:
        """pbsnodes -a: a node name line, then indented 'state = free|job-exclusive|down' lines."""
        states: dict[str, str] = {}
        node = ""
        for line in output.splitlines():
            if line and not line[0].isspace():
                node = line.strip()
            elif node and line.strip().startswith("state ="):
                raw = line.split("=", 1)[1].strip()
                states[node] = {"free": "idle", "job-exclusive": "alloc", "busy": "alloc"}.get(
                    raw, raw
                )
        return states
