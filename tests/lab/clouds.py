"""`ehpc` inside the lab, how a cluster is asked for on each of its clouds (with `ehpc` flags or
with the guide's own command lines), and what the clouds still hold of one (shared by the tests
and the lab benches, bench/lab_create.py and bench/elastic_lab.py)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .control import ROOT, Lab

AWS_REGION = "eu-west-1"
AGENT_CLOUDS = {"aws", "gce", "azure"}  # clouds whose head runs the agent (test_agent_cloud.py)
GCE_PROJECT = "ehpc-lab"
GCE_OAUTH = "config/GCE.dat"  # the guide's stored OAuth credential, relative to cluster.conf
CONF = {
    "aws": "[CLUSTER]\nPROVIDER = aws\n",
    "gce": f"[CLUSTER]\nPROVIDER = gce\n\n[GCE]\nPROJECT_ID = {GCE_PROJECT}\n",
}
EHPC = ("-m", "elastichpc")
# The guide's `ehpcutils` (the console script of this checkout, not an installed one).
EHPCUTILS = ("-c", "import sys; from elastichpc.cli.guide import ehpcutils_main; sys.exit(ehpcutils_main())")


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class LabCli:
    """`ehpc` run inside the lab, with a state directory and cluster.conf of its own."""

    lab: Lab
    state: Path
    conf: Path

    def __call__(self, *argv: str, timeout: float = 600, program: tuple[str, ...] = EHPC) -> Result:
        return self._run(["env", f"EHPC_CONFIG={self.conf}", "python3", *program, *argv], timeout)

    def checked(self, *argv: str, timeout: float = 600) -> str:
        """`ehpc ...`'s output; a failure raises with its last line."""
        done = self(*argv, timeout=timeout)
        if done.code != 0:
            raise RuntimeError(f"ehpc {' '.join(argv)}: {(done.err.strip().splitlines() or ['failed'])[-1]}")
        return done.out

    def guide(self, tool: str, *argv: str, timeout: float = 600) -> Result:
        """The guide's ./ehpcutils or ./ehpc-client run as the guide runs them: from the
        directory holding cluster.conf, which they read as ./cluster.conf."""
        return self._run(["env", "-u", "EHPC_CONFIG", "python3", str(ROOT / tool), *argv], timeout)

    def script(self, *argv: str, env: dict[str, str], timeout: float = 600) -> Result:
        """A program (a user's script that runs `ehpc`) inside the lab, with this CLI's settings."""
        return self._run(["env", f"EHPC_CONFIG={self.conf}", *(f"{k}={v}" for k, v in env.items()),
                          *argv], timeout)

    def _run(self, argv: list[str], timeout: float) -> Result:
        env = {"EHPC_STATE_DIR": str(self.state), "PYTHONPATH": str(ROOT / "src"),
               "HOME": str(self.state.parent)}
        command = self.lab.command(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=self.conf.parent)
        return Result(done.returncode, done.stdout, done.stderr)


def cli_for(lab: Lab, cloud: str, home: Path) -> LabCli:
    """A CLI with its own state under home and a cluster.conf for that cloud in the lab."""
    conf = home / "cluster.conf"
    conf.write_text(CONF.get(cloud) or Path(lab.env()["EHPC_LAB_AZURE_CONF"]).read_text())
    return LabCli(lab, home / "state", conf)


def create_argv(lab: Lab, cloud: str, name: str, size: int, *extra: str) -> list[str]:
    argv = ["cluster", "create", "--provider", cloud, "--name", name, "--size", str(size)]
    if cloud == "aws":
        argv += aws_args(lab)
    return [*argv, *extra]


def spot_agent_argv(lab: Lab, cloud: str, name: str, size: int, home: Path) -> list[str]:
    """create's argv for a spot cluster whose head runs the agent (AGENT_CLOUDS), signed in as
    the client is: on GCE with the guide's stored OAuth credential, on Azure with a certificate
    file, files the head does not have."""
    extra = {"aws": ["--spot-price", "0.05"], "gce": ["--gce-oauth-storage", str(gce_oauth(lab, home))]
             }.get(cloud, [])
    return create_argv(lab, cloud, name, size, "--spot", *extra)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """check()'s first true answer, asked every 2 s; TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f}s")
        time.sleep(2)
    return found


def events_of(cli: LabCli, name: str) -> list[str]:
    """`KIND MESSAGE` of each of the cluster's events, oldest first."""
    return [f"{e['kind']} {e['message']}"
            for e in json.loads(cli.checked("cluster", "events", name, "--json"))]


def nodes_of(cli: LabCli, name: str) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in json.loads(cli.checked("nodes", "list", name, "--json"))}


def reclaim_under_array(cli: LabCli, lab: Lab, name: str, victims: str | list[str], tasks: int,
                        *options: str) -> dict[str, Any]:
    """An array job of `tasks` tasks (`sleep 8`, with `options` such as --cpus); once a task
    runs on each of `victims` (a node, or several), the lab takes those machines away at once,
    each the way its cloud does. Every task of the job must complete once. Returns the
    victims' machines as they were (the first victim's alone when one was given)."""
    names = [victims] if isinstance(victims, str) else victims
    submitted = cli("job", "submit", name, "--array", f"1-{tasks}", *options, "--command", "sleep 8")
    assert submitted.code == 0, submitted.err
    job = submitted.out.strip()

    def running_on_victims() -> bool:
        listing = json.loads(cli("job", "list", name, "--json").out)
        return set(names) <= {j["nodes"] for j in listing if j["state"] == "running"}

    wait_for(running_on_victims, 180, f"a task running on each of {', '.join(names)}")
    machines = machines_of(lab)
    before = {victim: machines[victim] for victim in names}
    with lab.inside():
        lab.call("POST", f"/interrupt/{','.join(m['id'] for m in before.values())}")
    waited = cli("job", "wait", name, job, timeout=900)
    assert waited.code == 0, (waited.err, events_of(cli, name))
    reports = json.loads(cli.checked("job", "status", name, job, "--json"))  # one per task
    assert sorted(int(t["task"]) for t in reports) == list(range(1, tasks + 1)), reports
    assert {t["state"] for t in reports} == {"completed"}, reports
    return before[names[0]] if isinstance(victims, str) else before


def replaced(cli: LabCli, name: str, victim: str) -> list[str]:
    """The cluster's events once the agent has replaced `victim`."""
    def seen() -> list[str]:
        found = events_of(cli, name)
        return found if any(victim in replaced_in(e) for e in found) else []

    found: list[str] = wait_for(seen, 600, f"the replacement of {victim}")
    return found


def replaced_in(event: str) -> list[str]:
    """The nodes a "replaced" event names ("replaced a, b running again on gce")."""
    if not event.startswith("replaced "):
        return []
    return event.removeprefix("replaced ").split(" running again")[0].split(", ")


def aws_args(lab: Lab) -> list[str]:
    """An AMI moto knows (every AMI boots the lab's Debian image, whose user is admin)."""
    return ["--aws-region", AWS_REGION, "--image-aws-image-id", aws_image(lab), "--aws-ssh-user",
            "admin", "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.small"]


def lab_ec2(lab: Lab) -> Any:
    """boto3's EC2 client on the lab's moto (call it inside the lab)."""
    import boto3

    return boto3.client("ec2", region_name=AWS_REGION, endpoint_url=lab.env()["AWS_ENDPOINT_URL"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def aws_image(lab: Lab) -> str:
    with lab.inside():
        return str(sorted(i["ImageId"] for i in lab_ec2(lab).describe_images(Owners=["amazon"])["Images"])[0])


def aws_leftovers(lab: Lab, name: str) -> list[str]:
    """What moto still holds tagged by ehpc (any cluster: the lab runs one at a time)."""
    from tests.aws.conftest import tagged_resources

    with lab.inside():
        return tagged_resources(lab_ec2(lab))


def aws_spot_requests(lab: Lab, name: str) -> list[str]:
    """The cluster's spot requests moto holds open or active."""
    from tests.aws.conftest import tagged_resources

    with lab.inside():
        return [r for r in tagged_resources(lab_ec2(lab), name) if r.startswith("spot request")]


def emulator_leftovers(lab: Lab, name: str) -> list[str]:
    """What the GCE emulator and the ARM fake still hold tagged with cluster `name`."""
    with lab.inside():
        return list(lab.call("GET", f"/tagged/{name}"))


def machines_of(lab: Lab) -> dict[str, dict[str, Any]]:
    """The lab's machines by the host name ehpc gave them."""
    found = {}
    with lab.inside():
        for machine in lab.call("GET", "/machines"):
            try:
                name = (Path(machine["console"]).parent / "upper/etc/hostname").read_text().strip()
            except OSError:  # not written yet, or the machine is being removed
                name = machine["hostname"]
            found[name] = machine
    return found


# ---- the guide's own lines ------------------------------------------------------------------
# Each cloud's cluster is made the guide's way (3.a): configuration mode on AWS and Azure
# (./ehpcutils and a cluster.conf in the guide's format, 2.e), command mode on GCE (./ehpc-client,
# whose GCE line names everything the lab needs: project, zone, image, OAuth credential).
GUIDE_MODE = {"aws": "configuration", "gce": "command", "azure": "configuration"}


def azure_conf(lab: Lab) -> str:
    """The lab's [FIREWALL] and [AZURE] sections (its Azure credentials and endpoints)."""
    azure = Path(lab.env()["EHPC_LAB_AZURE_CONF"]).read_text()
    return azure[azure.index("[FIREWALL]"):]


def accounts_conf(lab: Lab, aws_head: str = "t3.small") -> str:
    """cluster.conf's sections for the lab's three cloud accounts (a cluster across them)."""
    return (f"[IMAGE]\nAWS_IMAGE_ID = {aws_image(lab)}\n\n"
            f"[AWS]\naccessKey = testing\nsecretKey = testing\nREGION = {AWS_REGION}\n"
            f"SSH_USER = admin\nINSTANCE TYPE = t3.micro\nMASTER_TYPE = {aws_head}\n\n"
            f"[GCE]\nPROJECT_ID = {GCE_PROJECT}\n\n" + azure_conf(lab))


def failover_cli(lab: Lab, home: Path) -> LabCli:
    """A CLI whose cluster.conf asks for a head on AWS and spot pools on GCE, Azure and AWS
    (two nodes), in that failover order (tests/lab/test_failover.py, bench/failover_lab.py)."""
    conf = home / "cluster.conf"
    conf.write_text(f"[CLUSTER]\nHEAD = aws\nPOOL = gce:1:spot, azure:1:spot, aws:2:spot\n"
                    # A head type the lab's Price List has: every machine of it is priced.
                    f"FAILOVER = gce, azure, aws\n\n{accounts_conf(lab, 't3.medium')}")
    return LabCli(lab, home / "state", conf)


def guide_files(lab: Lab, cloud: str, home: Path, name: str, size: int, spot_price: str,
                gluster: bool) -> None:
    """cluster.conf in the guide's format (its section and key names) for the guide's lines,
    and on GCE the stored OAuth credential its command line names."""
    # The guide has no key for these: spot compute nodes (it has spot only as separate AWS
    # requests, 3.d) and GlusterFS as the shared directory at create (it installs GlusterFS
    # on a running cluster, 4.d). ehpc's own [CLUSTER] keys say them, in the same file.
    ours = f"SPOT = true\nSPOT_PRICE = {spot_price}\n" + ("GLUSTER = true\n" if gluster else "")
    cluster = f"[CLUSTER]\n# CLUSTER CONFIGURATION\nCLUSTER_PREFIX = {name}\n"
    if GUIDE_MODE[cloud] == "command":  # the size is --count; the guide's submit (5.b, always
        (home / "cluster.conf").write_text(cluster + ours)  # configuration mode) reads the name
        gce_oauth(lab, home)
        return
    cluster += f"CLUSTER SIZE = {size}\n{ours}\n"
    if cloud == "aws":
        cluster += (f"[IMAGE]\n# IMAGE CONFIGURATION\nAWS_IMAGE_ID = {aws_image(lab)}\n\n"
                    "[AWS]\n# AMAZON WEB SERVICES CONFIGURATIONS\nINSTANCE TYPE = t3.micro\n"
                    "MASTER_TYPE = t3.small\nREGION = EU1\n"  # the guide's name of eu-west-1
                    # No guide key: the guide's AMIs are Ubuntu's (user ubuntu); the lab's
                    # image is Debian's, whose login user is admin.
                    "SSH_USER = admin\n")
    (home / "cluster.conf").write_text(cluster + (azure_conf(lab) if cloud == "azure" else ""))


GCE_REFRESH_TOKEN = "lab-refresh-7c2d"  # the stored credential's secret (found nowhere else)


def gce_oauth(lab: Lab, home: Path) -> Path:
    """The guide's stored OAuth credential (home/GCE_OAUTH): a user credential refreshed at the
    emulator's token endpoint (the real one is oauth2.googleapis.com); ehpc signs in with it the
    way the guide's OAuth 2.0 file does."""
    oauth = home / GCE_OAUTH
    oauth.parent.mkdir(parents=True, exist_ok=True)
    oauth.write_text(json.dumps({
        "type": "authorized_user", "client_id": "lab-client", "client_secret": "lab-secret",
        "refresh_token": GCE_REFRESH_TOKEN, "token_uri": lab.env()["EHPC_GCE_ENDPOINT"] + "/token"}))
    return oauth


def guide_create(cloud: str, name: str, size: int) -> tuple[str, ...]:
    """The guide's create line (3.a) for the cloud, in its mode."""
    if GUIDE_MODE[cloud] == "configuration":
        return ("ehpcutils", f"--provider={cloud}", "--create")
    # The guide's image (elastichpc37) is a pre-configured image of the user's own project;
    # the emulator knows only public images, so the line names one by its full path.
    return ("ehpc-client", "--command", f"--oauth={GCE_OAUTH}", f"--count={size}",
            "--type=e2-standard-2", "--region=us-central1-a",
            "--image=projects/debian-cloud/global/images/family/debian-12",
            f"--project={GCE_PROJECT}", f"--cluster={name}", "--kpair=keys/key", "--create")


def gce_command(*action: str) -> tuple[str, ...]:
    """A GCE command-mode line (4.a, 4.f, 4.g, 3.c): the action, then the guide's credentials."""
    return ("ehpc-client", *action, "--command", f"--project={GCE_PROJECT}", f"--oauth={GCE_OAUTH}")
