"""The guide's command lines, verbatim, become commands `ehpc` accepts."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from elastichpc.cli.guide import ehpc_client, ehpcutils, parse, shown, volumes
from elastichpc.cli.main import build_parser
from elastichpc.errors import ConfigError
from elastichpc.state import Journal, NodeRow

# (tool, the guide's arguments as printed in its chapters 3-5)
GUIDE_LINES = [
    (ehpcutils, "--provider=aws --create"),
    (ehpcutils, "--provider=gce --compute --list --cluster=hpc"),
    (ehpcutils, "--provider=azure --terminate --cluster=hpc"),
    (ehpcutils, "--provider=aws --data --size=100 --disk=disk1"),
    (ehpcutils, "--provider=gce --data --snapshot=markdups-data"),
    (ehpcutils, "--provider=aws --data --size=100 --disk=disk1 --attach --cluster=hpc"),
    (ehpcutils, "--provider=gce --data --snapshot=markdups-data --attach --gluster --cluster=hpc"),
    (ehpcutils, "--provider=gce --data --list"),
    (ehpcutils, "--provider=aws --data --remove --disk=vol-9b7f409c"),
    (ehpcutils, "--provider=aws --submit --command='sleep 10;ls -la /home/ubuntu' --cluster=hpc "
                "--owner=ubuntu"),
    (ehpcutils, "--provider=gce --submit --command=\"sleep 10\" --owner=\"sge\" --cluster=hpc"),
    (ehpc_client, "--create --conf=default -r=EU1 --main-node-type=m1.xlarge --extra-nodes-type=m1.large "
                  "n=5 extraMachinesPBSCores=2"),
    (ehpc_client, "--command --oauth=config/GCE.dat --count=2 --type=f1-micro --region=us-central1-a "
                  "--image=elastichpc37 --project=direct-mason-545 --cluster=hpc --kpair=keys/key --create"),
    (ehpc_client, "--command --thumb=T --subid=S --pem=c.pem --pfx=c.pfx --cer=c.cer --count=2 "
                  "--type=ExtraLarge --region=WUS --image=azure-image --cluster=hpc --create"),
    (ehpc_client, "--nodes --list --cluster=hpc"),
    (ehpc_client, "--terminate --cluster=hpc --command --oauth=config/GCE.dat --project=p --region=r"),
    (ehpc_client, "--spot-add -r=EU1 -n=2 -t=m1.medium --price=0.06"),
    (ehpc_client, "--spot-resume"),
    (ehpc_client, "--spot-cancel -r=EU1 -id=sir-7147fc07"),
    (ehpc_client, "--disk --size=200 --diskname=tempdisk --project=direct-mason-545 --command "
                  "--oauth=config/GCE.dat"),
    (ehpc_client, "--disk --snapshot --diskname=markdups-copy --source=markdups-data "
                  "--project=direct-mason-545 --command --oauth=config/GCE.dat"),
    (ehpc_client, "--disk --attach --instance=hpcnode0 --diskname=markdups-copy --zone=us-central1-a "
                  "--command --project=direct-mason-545 --oauth=config/GCE.dat"),
    (ehpc_client, "--attachDataDisk --instance=hpcnode0 --disk=new "
                  "--url=https://elastichpc.blob.core.windows.net/test/genomeKeyDisk.vhd --gluster "
                  "--thumb=T --subid=S"),
    (ehpc_client, "--volume-attach-mount --mountPoint=/vol6 --instance-id=hpcnode0 "
                  "--volume-id=vol-e27bb58a --format=Y --device=/dev/sdm"),
    (ehpc_client, "--disk --gluster --cluster=hpcnode --volume=gv0 --mountpoint=/gluster/gv0 --stripe=1 "
                  "--replicate=1 --command --project=direct-mason-545 --oauth=config/GCE.dat"),
    (ehpc_client, "--nfs --device=/home --mountpoint=/home --fsid=1 --cluster=micro --command "
                  "--project=direct-mason-545 --oauth=config/GCE.dat"),
    (ehpc_client, "--list-disks --command --project=direct-mason-545 --oauth=config/GCE.dat"),
    (ehpc_client, "--remove-disk --disk=demodisk1 --thumb=T --subid=S"),
    (ehpc_client, "--job-submit --cluster=hpc --id=3 --owner=john --commmand='seqret -sequence "
                  "/home/user/file1 -outseq /result/seqret/output -feature Yes' "
                  "--input-files=/home/user/file1"),
    (ehpc_client, "--job-status --cluster=hpc -id=1"),
    (volumes, "--create-volume -r=EU1 -z=eu-west-1b -s=10"),
    (volumes, "--create-volume -r=EU1 -z=eu-west-1b -snap=snap-1626626"),
    (volumes, "--lst-avaliable-volumes --region=EU1 --zone=eu-west-1a --private-Key=K --certificate=C"),
    (volumes, "--delete-volume -r=EU1 -id=vol-dc6ca2b4 --private-Key=K --certificate=C"),
    (ehpcutils, "--cross --create"),  # chapter 6
    (ehpcutils, "--cross --terminate --cluster=hpc"),
]


@pytest.fixture
def journal_with_hpc(state_dir: Path) -> Journal:
    """A journal that knows cluster `hpc` with a node `hpcnode0` (the guide's instance name)."""
    journal = Journal()
    journal.add_cluster("hpc", "gce", "running", {"settings": {}})
    journal.put_nodes([NodeRow("hpc", "hpc-head", "head", "hpcnode0", "", "10.0.0.2", "running", {})])
    return journal


@pytest.mark.parametrize(("tool", "line"), GUIDE_LINES, ids=[line[:40] for _, line in GUIDE_LINES])
def test_guide_line_becomes_valid_ehpc_commands(journal_with_hpc: Journal, tool, line: str) -> None:
    parser = build_parser()
    for command in tool(parse(shlex.split(line))):
        args = parser.parse_args(command)
        assert callable(args.handler)


def test_cross_reads_the_cross_section() -> None:
    assert ehpcutils(parse(["--cross", "--create"])) == [["cluster", "create", "--cross"]]
    assert ehpcutils(parse(["--cross", "--terminate", "--cluster=hpc"])) == [
        ["cluster", "terminate", "hpc"]]


def test_meaning_is_kept() -> None:
    (create,) = ehpc_client(parse(shlex.split(GUIDE_LINES[11][1])))
    assert create == ["cluster", "create", "--provider", "aws", "--aws-region", "EU1",
                      "--aws-master-type", "m1.xlarge", "--aws-instance-type", "m1.large", "--size", "5"]
    (submit,) = ehpcutils(parse(shlex.split(GUIDE_LINES[9][1])))
    assert submit == ["job", "submit", "hpc", "--command", "sleep 10;ls -la /home/ubuntu",
                      "--owner", "ubuntu"]


def test_secrets_are_hidden_when_shown() -> None:
    (create,) = ehpc_client(parse(["--create", "--thumb=T", "--pfx-pass=hunter2", "--cluster=hpc"]))
    assert "hunter2" in create
    assert "hunter2" not in shown(create) and "'***'" in shown(create)


def test_unknown_actions_are_one_line() -> None:
    for tool in (ehpcutils, ehpc_client, volumes):
        with pytest.raises(ConfigError, match="unknown"):
            tool(parse(["--frobnicate"]))


def test_dry_run_goes_with_the_guides_creates() -> None:
    (create,) = ehpc_client(parse(["--create", "--cluster=hpc", "-n=2", "--dry-run"]))
    assert create[:2] == ["cluster", "create"] and "--dry-run" in create
    (create,) = ehpcutils(parse(["--create", "--dry-run"]))
    assert create == ["cluster", "create", "--dry-run"]
