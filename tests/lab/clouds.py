"""`ehpc` inside the lab, and how a cluster is asked for on each of its clouds (shared by the
tests and bench/lab_create.py)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .control import ROOT, Lab

AWS_REGION = "eu-west-1"
AGENT_FAILED = "starting the head agent"  # create's last step (see HEAD_AGENT in test_clouds)
CONF = {
    "aws": "[CLUSTER]\nPROVIDER = aws\n",
    "gce": "[CLUSTER]\nPROVIDER = gce\n\n[GCE]\nPROJECT_ID = ehpc-lab\n",
}


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

    def __call__(self, *argv: str, timeout: float = 600) -> Result:
        env = {"EHPC_STATE_DIR": str(self.state), "EHPC_CONFIG": str(self.conf),
               "PYTHONPATH": str(ROOT / "src"), "HOME": str(self.state.parent)}
        command = self.lab.command(["env", *(f"{k}={v}" for k, v in env.items()),
                                    "python3", "-m", "elastichpc", *argv])
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
    import boto3

    with lab.inside():
        ec2 = boto3.client("ec2", region_name=AWS_REGION, endpoint_url=lab.env()["AWS_ENDPOINT_URL"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        image = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])[0]
    return ["--aws-region", AWS_REGION, "--image-aws-image-id", image, "--aws-ssh-user", "admin",
            "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.small"]
