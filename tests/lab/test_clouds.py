"""The cloud path end to end in the lab, on AWS, GCE and Azure: a cluster made through each
cloud's API (moto, our GCE emulator, our ARM fake) whose instances are real Debian machines,
reached over SSH at their public addresses with pinned host keys, configured, running jobs, with
a data disk, a spot node interrupted the cloud's way, and terminated to nothing.

The guide's own command lines drive it (clouds.GUIDE_MODE): the cluster is created, listed,
given a job and terminated with ./ehpcutils (configuration mode, AWS and Azure) or
./ehpc-client (command mode, GCE), and a disk is made, listed and removed the same way; the
other steps use `ehpc`.

One cluster per cloud (creating one costs ~30-90 s); pytest runs every test for one cloud, in file
order, before the next cloud. Where a step fails because of a known bug of the cloud scripts
(issue 10 item 4) the test says so with an xfail naming it, only when that very symptom shows.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..mpi import ALLREDUCE, check_ranks
from ..pipeline import RUN, check_results
from .clouds import (
    GUIDE_MODE,
    LabCli,
    Result,
    aws_leftovers,
    cli_for,
    create_argv,
    emulator_leftovers,
    gce_command,
    guide_create,
    guide_files,
    machines_of,
)
from .control import Lab
from .image import cache_dir

pytestmark = pytest.mark.lab

NO_SHARED_DIR = ("issue 10 item 4: a cloud cluster has no shared work directory unless NFS or "
                 "GlusterFS is asked for; job output stays on the compute node")
NO_OUTBOUND = ("issue 10 item 4: Azure compute nodes have no public address and no NAT gateway, "
               "so they cannot reach the package mirror")
GCE_REBOOT = ("issue 10 item 4: GCE reruns the startup script at every boot, and the compute "
              "nodes' shared script resets the node's name to the shared compute name")


CLOUDS = {"aws": "lbaws", "gce": "lbgce", "azure": "lbaz"}  # cloud -> cluster name
# Shared storage made at create, as the guide does it per cloud: GlusterFS over the compute nodes
# on GCE and Azure (4.d). NFS at create on AWS (4.e) cannot run here: see test_nfs_at_create.
GLUSTER_AT_CREATE = {"gce", "azure"}
NO_NFS = ("this host's kernel has neither an NFS client nor an NFS server (no nfs/nfsd in "
          "/proc/filesystems, no modules), and the lab's machines share it: NFS at create "
          "(guide 4.e) cannot be mounted in the lab")


class Cluster:
    def __init__(self, cloud: str, cli: LabCli, name: str, created: Any) -> None:
        self.cloud, self.cli, self.name, self.created = cloud, cli, name, created


@pytest.fixture(scope="module", params=list(CLOUDS))
def cluster(request: pytest.FixtureRequest, lab: Lab, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    cloud, name = request.param, CLOUDS[request.param]
    home = tmp_path_factory.mktemp(f"lab-{cloud}")
    cli = cli_for(lab, cloud, home)
    guide_files(lab, cloud, home, name, 2, spot_price="0.05", gluster=cloud in GLUSTER_AT_CREATE)
    created = cli.guide(*guide_create(cloud, name, 2))
    yield Cluster(cloud, cli, name, created)
    if name in cli("cluster", "list").out:
        cli("cluster", "terminate", name)


def test_create_reaches_every_node_with_pinned_host_keys(cluster: Cluster, lab: Lab) -> None:
    created, name = cluster.created, cluster.name
    if cluster.cloud == "azure" and "Could not connect to deb.debian.org" in created.err:
        pytest.xfail(NO_OUTBOUND)
    assert created.code == 0, created.err
    assert f"(ehpc cluster create --provider {cluster.cloud}" in created.err  # the translation
    nodes = [f"{name}-head", f"{name}-node1", f"{name}-node2"]
    assert sorted(n for n in machines_of(lab) if n.startswith(name)) == nodes  # all are machines
    # ssh refuses a host whose key is not the pinned one: these connections prove the pins.
    for node in nodes:
        result = cluster.cli("ssh", name, node, "--", "hostname")
        assert result.code == 0, result.err
        assert result.out.strip() == node


def ready(cluster: Cluster) -> None:
    """Skip the steps after a create that did not make the cluster."""
    if cluster.created.code != 0:
        pytest.skip(f"{cluster.name} was not created")


def test_guide_lists_the_compute_nodes(cluster: Cluster) -> None:
    """3.b: `--compute --list` (the cluster of cluster.conf), or `--nodes --list --cluster=`."""
    ready(cluster)
    name = cluster.name
    if GUIDE_MODE[cluster.cloud] == "configuration":
        listed = cluster.cli.guide("ehpcutils", f"--provider={cluster.cloud}", "--compute", "--list")
    else:
        listed = cluster.cli.guide("ehpc-client", "--nodes", "--list", f"--cluster={name}")
    assert listed.code == 0, listed.err
    header, *lines = listed.out.splitlines()
    state = header.split().index("STATE")
    states = {line.split()[0]: line.split()[state] for line in lines}
    assert states == {f"{name}-{n}": "running" for n in ("head", "node1", "node2")}, listed.out


def test_guide_submit_runs_a_scheduler_job(cluster: Cluster) -> None:
    """5.b's line (`--submit --command="sleep 10" --owner="sge"`, the cluster of cluster.conf);
    on AWS the cluster is found by its head's address, as 5.a's --domain does."""
    ready(cluster)
    cli, name = cluster.cli, cluster.name
    domain = []
    if cluster.cloud == "aws":
        nodes = json.loads(cli("nodes", "list", name, "--json").out)
        domain = [f"--domain={next(n['address'] for n in nodes if n['role'] == 'head')}"]
    submitted = cli.guide("ehpcutils", f"--provider={cluster.cloud}", "--submit",
                          "--command=sleep 10", "--owner=sge", *domain)
    assert submitted.code == 0, submitted.err
    job_id = submitted.out.strip()
    assert job_id.isdigit(), submitted.out
    deadline = time.monotonic() + 120
    while not (reports := json.loads(cli("job", "status", name, job_id, "--json").out))[0]["finished"]:
        assert time.monotonic() < deadline, reports
        time.sleep(2)
    assert reports[0]["state"] == "completed", reports


def test_guide_disk_is_made_listed_and_removed(cluster: Cluster) -> None:
    """4.a, 4.f, 4.g: an empty data disk of the cloud, in the cluster's mode."""
    ready(cluster)
    cloud, disk = cluster.cloud, f"{cluster.name}-guide"
    if GUIDE_MODE[cloud] == "configuration":
        data = ("ehpcutils", f"--provider={cloud}", "--data")
        make, listing = (*data, "--size=1", f"--disk={disk}"), (*data, "--list")
    else:
        make = gce_command("--disk", "--size=1", f"--diskname={disk}")
        listing = gce_command("--list-disks")
    made = cluster.cli.guide(*make)
    assert made.code == 0, made.err
    listed = cluster.cli.guide(*listing)
    assert listed.code == 0, listed.err
    row = next((line.split() for line in listed.out.splitlines() if disk in line.split()), None)
    assert row, listed.out
    # The guide removes an AWS volume by its id (vol-...), the others by name.
    ident = next((w for w in row if w.startswith("vol-")), disk) if cloud == "aws" else disk
    if GUIDE_MODE[cloud] == "configuration":
        removed = cluster.cli.guide(*data, "--remove", f"--disk={ident}")
    else:
        removed = cluster.cli.guide(*gce_command("--remove-disk", f"--disk={ident}"))
    assert removed.code == 0, removed.err
    assert disk not in cluster.cli.guide(*listing).out


def missing_output(result: Result) -> bool:
    """--wait failing to read the job's output files from the head's shared directory."""
    return result.code != 0 and "No such file or directory" in result.err and "/jobs/" in result.err


def test_array_job_output_comes_back(cluster: Cluster) -> None:
    ready(cluster)
    cli, name = cluster.cli, cluster.name
    submitted = cli("job", "submit", name, "--array", "1-4", "--wait", "--json",
                    "--command", "echo task $SLURM_ARRAY_TASK_ID on $(hostname)")
    if missing_output(submitted):
        pytest.xfail(NO_SHARED_DIR)
    assert submitted.code == 0, submitted.err
    assert {t["state"] for t in json.loads(submitted.out)["tasks"]} == {"completed"}
    logs = cli("job", "logs", name, json.loads(submitted.out)["job_id"])
    assert logs.code == 0, logs.err
    if f"on {name}-node1" not in logs.out and f"on {name}-node2" not in logs.out:
        pytest.xfail(NO_SHARED_DIR)
    assert f"on {name}-node1" in logs.out and f"on {name}-node2" in logs.out, logs.out


def test_data_disk_is_attached_formatted_and_mounted(cluster: Cluster) -> None:
    ready(cluster)
    cli, name = cluster.cli, cluster.name
    made = cli("disk", "create", "--cluster", name, "--size", "1", "--disk-disk-name", f"{name}-data",
               "--attach", "--node", f"{name}-node1", "--mount-point", "/data", "--json")
    assert made.code == 0, made.err
    seen = cli("ssh", name, f"{name}-node1", "--",
               "findmnt -n -o FSTYPE /data && echo written > /data/f && cat /data/f")
    assert seen.code == 0, seen.err
    assert seen.out.split() == ["ext4", "written"]


def test_input_files_are_read_on_a_compute_node(cluster: Cluster, tmp_path: Path) -> None:
    ready(cluster)
    cli, name = cluster.cli, cluster.name
    data = tmp_path / "input.txt"
    data.write_text("payload 42\n")
    submitted = cli("job", "submit", name, "--input-files", str(data), "--wait", "--json",
                    "--command", "cat input.txt; hostname")
    if missing_output(submitted):
        pytest.xfail(NO_SHARED_DIR)
    assert submitted.code == 0, submitted.err
    logs = cli("job", "logs", name, json.loads(submitted.out)["job_id"])
    if "payload 42" not in logs.out:
        pytest.xfail(NO_SHARED_DIR)
    assert f"{name}-node" in logs.out


def test_mpi_allreduce_over_two_nodes(cluster: Cluster) -> None:
    """Open MPI with PMIx on every node of a fresh cloud cluster: an allreduce compiled on the
    head into the shared directory (GlusterFS here), run by srun without flags, and by mpirun
    in a batch job (the cluster user's SSH between nodes)."""
    ready(cluster)
    if cluster.cloud != "gce":
        pytest.skip("one cloud is enough: GCE, whose nodes reach the mirror and share GlusterFS")
    cli, name = cluster.cli, cluster.name

    def as_user(command: str) -> str:
        done = cli("ssh", name, "--user", "ehpcuser", "--", "bash", "-lc", command, timeout=300)
        assert done.code == 0, (command, done.out, done.err)
        return done.out

    as_user(f"mkdir -p /shared/mpi && cd /shared/mpi && printf %s {shlex.quote(ALLREDUCE)} "
            "> allreduce.c && mpicc -O2 -o allreduce allreduce.c")
    check_ranks(as_user("cd /shared/mpi && srun -N2 -n4 ./allreduce"), name)
    check_ranks(as_user("cd /shared/mpi && sbatch --wait -N2 -n4 -o mpirun.out "
                        "--wrap 'mpirun ./allreduce' && cat mpirun.out"), name)


def wheelhouse() -> Path:
    """Wheels of this interpreter's Snakemake and Slurm plugin (the lab reaches no package
    index; a cloud head would pip install them), built once per version into the lab's cache."""
    from importlib.metadata import version

    pins = [f"{name}=={version(name)}" for name in ("snakemake", "snakemake-executor-plugin-slurm")]
    versions = "-".join(pin.split("==")[1] for pin in pins)
    wheels = cache_dir() / f"wheels-py{sys.version_info[0]}{sys.version_info[1]}-{versions}"
    if not (wheels / "done").exists():
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(wheels), *pins],
                       check=True, capture_output=True, timeout=900)
        (wheels / "done").touch()
    return wheels


def test_the_example_pipeline_on_a_cloud(cluster: Cluster, tmp_path: Path) -> None:
    """Issue 20's pipeline (examples/pipeline/run.sh) on GCE: bwa and samtools by `ehpc cluster
    install` from the cloud's mirror, Snakemake in a venv in the shared home, data in and
    results out by `ehpc cp`, checked here."""
    ready(cluster)
    if cluster.cloud != "gce":
        pytest.skip("one cloud is enough: GCE, whose nodes reach the mirror and share GlusterFS")
    cli, name = cluster.cli, cluster.name
    installed = cli("cluster", "install", name, "bwa", "samtools", "python3-venv", timeout=900)
    assert installed.code == 0, installed.err
    sent = cli("cp", "-r", f"{wheelhouse()}/", f"{name}:wheels/")
    assert sent.code == 0, sent.err
    venv = cli("ssh", name, "--user", "ehpcuser", "--", "python3 -m venv ~/sm && ~/sm/bin/pip install "
               "-q --no-index --find-links ~/wheels snakemake snakemake-executor-plugin-slurm",
               timeout=900)
    assert venv.code == 0, venv.err
    run = cli.script("bash", str(RUN), name, str(tmp_path / "out"), timeout=900,
                     env={"EHPC": "python3 -m elastichpc", "EHPC_CLIENT_PYTHON": "~/sm/bin/python"})
    if run.code != 0:
        jobs = cli("ssh", name, "--user", "ehpcuser", "--",
                   "tail -n 20 ~/pipeline/.snakemake/slurm_logs/*/*.log")
        raise AssertionError(f"{run.out}{run.err}\nthe jobs' logs:\n{jobs.out}{jobs.err}")
    check_results(tmp_path / "out", run.out + run.err)


def test_interrupted_spot_node_is_seen_by_the_head_agent(cluster: Cluster, lab: Lab) -> None:
    """The cloud takes a spot node away; the head agent notices within a minute (its
    replacement and the jobs: test_agent_cloud.py)."""
    ready(cluster)
    cli, name = cluster.cli, cluster.name
    before = machines_of(lab)
    victim = before[f"{name}-node2"]
    with lab.inside():
        lab.call("POST", f"/interrupt/{victim['id']}")
    after = machines_of(lab)
    assert f"{name}-node2" not in {n for n, m in after.items() if m["alive"]}
    deadline = time.monotonic() + 60
    while not any(e["kind"] == "reclaimed" and e["message"].startswith(f"{name}-node2 ")
                  for e in json.loads(cli("cluster", "events", name, "--json").out)):
        assert time.monotonic() < deadline, "the agent did not see the interruption"
        time.sleep(1)


def test_reboot_keeps_the_node_name(cluster: Cluster, lab: Lab) -> None:
    """GCE runs the startup script at every boot; a compute node's must not rename it."""
    ready(cluster)
    if cluster.cloud != "gce":
        pytest.skip("only GCE reruns the boot script at every boot")
    cli, node = cluster.cli, f"{cluster.name}-node1"
    with lab.inside():
        lab.call("POST", f"/reboot/{machines_of(lab)[node]['id']}")
    deadline = time.monotonic() + 120
    while (seen := cli("ssh", cluster.name, node, "--", "hostname")).code != 0:
        assert time.monotonic() < deadline, seen.err
        time.sleep(1)
    # Its data disk came back inside the machine, not in this host's /dev.
    assert not list(Path("/dev/disk/by-id").glob(f"*{cluster.name}*")), "a disk in the host's /dev"
    if seen.out.strip() == f"{cluster.name}-compute":
        pytest.xfail(GCE_REBOOT)
    assert seen.out.strip() == node


@pytest.mark.skipif("nfs" not in Path("/proc/filesystems").read_text(), reason=NO_NFS)
def test_nfs_at_create(cluster: Cluster, lab: Lab, tmp_path: Path) -> None:
    if cluster.cloud != "aws":
        pytest.skip("the guide makes NFS at create on AWS")
    cli = cli_for(lab, "aws", tmp_path)
    created = cli(*create_argv(lab, "aws", "lbnfs", 1, "--nfs"))
    try:
        assert created.code == 0, created.err
        logs = cli("job", "submit", "lbnfs", "--wait", "--command", "hostname")
        assert logs.code == 0 and "lbnfs-node1" in logs.out, logs.err
    finally:
        cli("cluster", "terminate", "lbnfs")


def test_guide_terminate_leaves_nothing(cluster: Cluster, lab: Lab) -> None:
    """3.c: `./ehpcutils --provider=P --terminate --cluster=NAME`, or GCE's command-mode line."""
    cli, name = cluster.cli, cluster.name
    if GUIDE_MODE[cluster.cloud] == "configuration":
        done = cli.guide("ehpcutils", f"--provider={cluster.cloud}", "--terminate", f"--cluster={name}")
    else:
        done = cli.guide(*gce_command("--terminate", f"--cluster={name}", "--region=us-central1-a"))
    assert done.code == 0, done.err
    # The lab sees the instances go within a poll or two, then powers them off one after
    # another (up to 5 s each, then their trees go): 3 GCE machines took ~60 s at a load
    # average of ~4 on 2 cores.
    deadline = time.monotonic() + 120
    while [n for n in machines_of(lab) if n.startswith(name)]:
        assert time.monotonic() < deadline, machines_of(lab)
        time.sleep(0.2)
    assert not cli("cluster", "list").out.count(name)
    left = aws_leftovers if cluster.cloud == "aws" else emulator_leftovers
    assert left(lab, name) == []

