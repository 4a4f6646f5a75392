"""`ehpc` inside the lab, how a cluster is asked for on each of its clouds, and what the clouds
still hold of one (shared by the tests and bench/lab_create.py)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .control import ROOT, Lab

AWS_REGION = "eu-west-1"
AGENT_FAILED = "starting the head agent"  # create's last step (see HEAD_AGENT)
HEAD_AGENT = ("issue 12 head agent on a cloud: it runs the package with the head's python3, but a "
              "stock image has no cloud SDK (boto3 / google-cloud-compute / azure-mgmt) and no "
              "way to install one, so `starting the head agent` fails and the create ends 'failed' "
              "(the cluster itself is up)")
CONF = {
    "aws": "[CLUSTER]\nPROVIDER = aws\n",
    "gce": "[CLUSTER]\nPROVIDER = gce\n\n[GCE]\nPROJECT_ID = ehpc-lab\n",
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
        env = {"EHPC_STATE_DIR": str(self.state), "EHPC_CONFIG": str(self.conf),
               "PYTHONPATH": str(ROOT / "src"), "HOME": str(self.state.parent)}
        command = self.lab.command(["env", *(f"{k}={v}" for k, v in env.items()),
                                    "python3", *program, *argv])
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
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
