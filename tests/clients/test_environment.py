"""The clients without tuning: Snakemake with the cluster's profile alone, DRMAA from a non-login
shell, `ehpc ssh --user` in the user's home, and the cluster user's environment the same in login
and non-login shells (and in a job) on the head and on a compute node."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Cluster

FOUR_JOBS = Path(__file__).resolve().parents[2] / "examples" / "clients" / "four-jobs" / "Snakefile"
PROFILE = "/etc/xdg/snakemake/ehpc/config.yaml"
PYTHON = shlex.quote(sys.executable)


@pytest.mark.timeout(200)
def test_snakemake_with_the_profile_alone_runs_its_jobs_on_the_nodes(
    clusters: dict[str, Cluster],
) -> None:
    cluster = clusters["cl-slurm"]
    for node in (None, "node1"):  # a snakemake in a job finds it too
        cluster.on_head(f"test -s {PROFILE}", node=node)
    cluster.on_head("mkdir -p ~/four-jobs && rm -rf ~/four-jobs/done ~/four-jobs/.snakemake")
    cluster.put(FOUR_JOBS.read_text(), "~/four-jobs/Snakefile")
    # No executor, jobs or polling flag: ~15 s on a quiet machine; a hang fails at 150 s.
    run = cluster.on_head(f"cd ~/four-jobs && {PYTHON} -m snakemake --profile ehpc", timeout=150)
    log = run.stdout + run.stderr
    assert "Using profile ehpc" in log, log
    ids = [line.split("SLURM jobid ")[1].split()[0] for line in log.splitlines() if "SLURM jobid" in line]
    assert len(ids) == 4, log
    jobs = cluster.on_head(f"sacct -n -P -X -j {','.join(ids)} --format=State")
    assert jobs.stdout.split() == ["COMPLETED"] * 4, jobs.stdout
    hosts = cluster.on_head("cat ~/four-jobs/done/*.txt").stdout.split()
    assert len(hosts) == 4 and set(hosts) <= {f"{cluster.name}-node1", f"{cluster.name}-node2"}


@pytest.mark.timeout(120)
def test_drmaa_submits_and_waits_from_a_non_login_shell(clusters: dict[str, Cluster]) -> None:
    cluster = clusters["cl-sge"]
    script = ("import drmaa\n"
              "with drmaa.Session() as s:\n"
              "    t = s.createJobTemplate()\n"
              "    t.remoteCommand = '/bin/hostname'\n"
              "    t.outputPath = ':' + __import__('os').path.expanduser('~/drmaa-plain.out')\n"
              "    info = s.wait(s.runJob(t), drmaa.Session.TIMEOUT_WAIT_FOREVER)\n"
              "    print('exit', info.exitStatus)\n")
    # `ehpc ssh -- CMD` runs CMD in a plain `bash -c`: no login shell reads /etc/profile.
    run = cluster.on_head(f"rm -f ~/drmaa-plain.out && {PYTHON} -c {shlex.quote(script)}", timeout=90)
    assert run.stdout.split() == ["exit", "0"], run.stdout + run.stderr
    ran_on = cluster.on_head("cat ~/drmaa-plain.out").stdout.strip()
    assert ran_on in (f"{cluster.name}-node1", f"{cluster.name}-node2")


def _ssh_as_user(cluster: Cluster, node: str, *command: str, stdin: str = "") -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "elastichpc", "ssh", cluster.name, node, "--user", "ehpcuser",
         *(["--", *command] if command else [])],
        input=stdin, env=cluster.cli.env, text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.timeout(120)
def test_ssh_as_a_user_starts_in_their_home(clusters: dict[str, Cluster]) -> None:
    cluster = clusters["cl-slurm"]
    home = cluster.on_head("getent passwd ehpcuser").stdout.strip().split(":")[5]
    for node in ("head", "node1"):
        # a command line, a command as argv, and an interactive shell reading its stdin
        assert _ssh_as_user(cluster, node, "pwd && ls -a . >/dev/null").split() == [home]
        assert _ssh_as_user(cluster, node, "readlink", "/proc/self/cwd").split() == [home]
        shell = _ssh_as_user(cluster, node, stdin="pwd\nls -a . >/dev/null && echo listed\n")
        assert shell.split() == [home, "listed"], shell


def _variables(cluster: Cluster, node: str | None) -> dict[str, str]:
    """What our bootstrap sets for every shell (/etc/profile.d/ehpc.sh), name -> value."""
    text = cluster.on_head("cat /etc/profile.d/ehpc.sh", node=node).stdout
    return dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines())


def _seen(output: str, names: list[str]) -> dict[str, str]:
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {name: values.get(name, "<unset>") for name in names}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name, expected, commands", [
    ("cl-sge", {"SGE_ROOT", "SGE_CELL", "DRMAA_LIBRARY_PATH", "GLIBC_TUNABLES"}, "qsub qstat python3"),
    ("cl-slurm", {"SNAKEMAKE_PROFILE"}, "sbatch srun python3"),
])
def test_the_cluster_users_environment_is_the_same_in_login_and_non_login_shells(
    clusters: dict[str, Cluster], name: str, expected: set[str], commands: str,
) -> None:
    cluster = clusters[name]
    # A shell's environment, and where its PATH finds the commands, as NAME=VALUE lines.
    show = f"env; for c in {commands}; do echo \"which_$c=$(command -v $c)\"; done"
    # A job from the head, on a compute node: Grid Engine's without -V (its own start), Slurm's.
    job = (f"qsub -sync y -b y -j y -o ~/env-job.out bash -c {shlex.quote(shlex.quote(show))} "
           ">/dev/null && cat ~/env-job.out" if name == "cl-sge"
           else f"srun -N1 -w {cluster.name}-node1 bash -c {shlex.quote(show)}")
    for node in (None, "node1"):
        variables = _variables(cluster, node)
        assert expected <= set(variables), variables
        names = [*variables, *(f"which_{c}" for c in commands.split())]
        login = _seen(cluster.on_head(f"bash -l -c {shlex.quote(show)}", node=node).stdout, names)
        assert {k: login[k] for k in variables} == variables
        assert all(login[f"which_{c}"].startswith("/") for c in commands.split()), login
        non_login = {"ssh command": cluster.on_head(show, node=node).stdout}
        if node is None:
            non_login["job"] = cluster.on_head(job, timeout=90).stdout
        for how, output in non_login.items():
            seen = _seen(output, names)
            assert seen == login, f"{cluster.name} {node or 'head'}, {how}: {seen} != login {login}"
