"""Issue 14, items 4, 5 and 8 without a cluster: the guide's blocks as printed, inputs refused
before anything is made, and no address lookup the user did not expect."""

from __future__ import annotations

import http.server
import io
import shlex
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.cli.guide import ehpc_client, ehpcutils, parse, volumes
from elastichpc.config import load_settings
from elastichpc.config.schema import to_mount_point
from elastichpc.errors import ConfigError, PrerequisiteError
from elastichpc.orchestration.jobs import _tar, check_inputs, staged_paths
from elastichpc.providers.network import is_local_endpoint, source_cidr
from elastichpc.schedulers import JobSpec, get_scheduler
from elastichpc.state import Journal, NodeRow

# The guide's [CLUSTER] and [GLUSTERFS] blocks exactly as printed: bare title lines.
GUIDE_BLOCKS = """[CLUSTER]
CLUSTER CONFIGURATION
CLUSTER_PREFIX = <CLUSTER PREFIX>
CLUSTER SIZE = <NUMBER OF COMPUTE NODE>

[GLUSTERFS]

GLUSTER FILE SYSTEM CONFIGURATION

MOUNT_POINT=/gluster/WGA/\t# Mounting Point
VOLUME_NAME =gv0\t# Volume Name
STRIPE = 1\t# Stripped data '1' to disable
REPLICATE = 1\t# Replicate data '1' to disable
FORMAT_DISK= False\t#Format Data Disk as XFS Filesystem
"""


def test_guide_title_lines_are_comments_with_one_notice(tmp_path: Path, capsys) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(GUIDE_BLOCKS)
    settings = load_settings(conf)
    assert settings.get("GLUSTERFS", "MOUNT_POINT") == "/gluster/WGA"
    assert settings.get("GLUSTERFS", "VOLUME_NAME") == "gv0"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "title lines 2, 8" in err


@pytest.mark.parametrize(("text", "message"), [
    ("[CLUSTER]\nCLUSTER SIZE 5\n", "expected KEY = VALUE"),  # a key without '=' is no title
    ("[CLUSTER]\nCLUSTER SIZE = 2\nCLUSTER_SIZE = 3\n", "CLUSTER SIZE is set twice"),
    ("[CLUSTER]\nCLUSTER SIZE = 2\n[NFS]\n[CLUSTER]\n", r"\[CLUSTER\] appears twice"),
    ("[NFS]\nMOUNTING_POINT = /etc\n", "system directory"),
    ("[DISK]\nMOUNT_POINT = data\n", "not an absolute path"),
    ("[GLUSTERFS]\nMOUNT_POINT = /gluster;rm\n", "not an absolute path"),
    ("[CLUSTER]\nSHARED_DIR = /shared/../etc\n", "no . or .. parts"),
])
def test_bad_conf_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(conf)
    assert "\n" not in str(err.value) and str(conf) in str(err.value)


def test_binary_conf_names_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    with pytest.raises(ConfigError, match=f"{conf}: not a text file"):
        load_settings(conf)


@pytest.mark.parametrize("path", ["/", "/etc", "/etc/x", "/proc", "/sys/fs", "/dev/shm", "/usr",
                                  "/var", "/root", "x", "./x", "/a/../b", "/a;b", "/a b"])
def test_mount_points_refused(path: str) -> None:
    with pytest.raises(ValueError):
        to_mount_point(path)


@pytest.mark.parametrize("path", ["/home", "/gluster/WGA/", "/nfs", "/mnt/data", "/var/spool/b"])
def test_mount_points_accepted(path: str) -> None:
    assert to_mount_point(path) == path.rstrip("/")


# ---- the guide's wrappers (item 4) ----------------------------------------------------------
def test_guide_aws_nfs_create_keeps_its_volume() -> None:
    line = ("--create --conf=cluster -r=EU1 -t=m3.medium -n=5 -ami=ami-1c41f16b -sg=sg-fcda5c99 "
            "--nfs-mountPoint=/nfs --nfs-newVolume=200 -t=r3.2xlarge")
    (create,) = ehpc_client(parse(shlex.split(line)))
    assert create[create.index("--nfs-mountPoint") + 1] == "/nfs"
    assert create[create.index("--nfs-newVolume") + 1] == "200"
    from elastichpc.cli.main import build_parser

    args = build_parser().parse_args(create)
    assert getattr(args, "cfg:NFS:AWS_MOUNT_POINT") == "/nfs"
    assert getattr(args, "cfg:NFS:AWS_VOLUME_SIZE") == "200"


def test_nodes_terminate_of_one_instance_removes_that_node_only(state_dir: Path) -> None:
    journal = Journal()
    journal.add_cluster("hpc", "aws", "running", {"settings": {}})
    journal.put_nodes([
        NodeRow("hpc", "hpc-head", "head", "i-0head", "ec2-1.example.com", "10.0.0.2", "running", {}),
        NodeRow("hpc", "hpc-node1", "compute", "i-0abc", "", "10.0.0.3", "running", {}),
    ])
    line = ["--nodes-terminate", "-d=ec2-1.example.com", "-id=i-0abc"]
    assert ehpc_client(parse(line)) == [["cluster", "resize", "hpc", "--remove", "hpc-node1"]]
    with pytest.raises(ConfigError, match="i-0head is the head of hpc: removing it would end"):
        ehpc_client(parse(["--nodes-terminate", "-d=ec2-1.example.com", "-id=i-0head"]))
    with pytest.raises(ConfigError, match="no cluster has a node 'i-0nothere'"):
        ehpc_client(parse(["--nodes-terminate", "-d=ec2-1.example.com", "-id=i-0nothere"]))


def test_job_submit_id_is_kept_as_the_job_name(capsys) -> None:
    (submit,) = ehpc_client(parse(["--job-submit", "--cluster=hpc", "--id=3", "--owner=john",
                                   "--commmand=echo hi"]))
    assert submit[submit.index("--job-name") + 1] == "job-3"  # Grid Engine: no leading digit
    assert "--id=3 names the job job-3" in capsys.readouterr().err


@pytest.mark.parametrize(("tool", "argv", "hint"), [
    (ehpcutils, ["--submit", "--cluster=hpc", "--command=id", "--ownr=system"], "--owner"),
    (ehpcutils, ["--terminate", "--clster=x"], "--cluster"),
    (ehpc_client, ["--create", "--clustr=hpc"], "--cluster"),
    (volumes, ["--create-volume", "-s=10", "--zonee=eu-west-1a"], "--zone"),
])
def test_unknown_wrapper_flags_name_the_closest(tool, argv: list[str], hint: str) -> None:
    with pytest.raises(ConfigError, match=f"did you mean {hint}") as err:
        tool(parse(argv))
    assert "unknown option" in str(err.value)


def test_empty_owner_is_not_dropped() -> None:
    (submit,) = ehpcutils(parse(["--submit", "--cluster=hpc", "--command=id", "--owner="]))
    assert submit[-2:] == ["--owner", ""]


# ---- jobs (item 5) --------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "message"), [
    (JobSpec(["true"], array="5-1"), "runs backwards"),
    (JobSpec(["true"], array="1-5:0"), "step"),
    (JobSpec(["true"], workdir="../x"), "--workdir"),
    (JobSpec(["true"], workdir="/shared/../etc"), "--workdir"),
])
def test_job_specs_refused(spec: JobSpec, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec.validate()


def test_missing_script_and_input_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"script \./nothere\.sh does not exist"):
        check_inputs(["./nothere.sh", "a"], [])
    with pytest.raises(ConfigError, match=r"script \./nothere\.sh does not exist"):
        check_inputs(["./nothere.sh a b"], [])
    with pytest.raises(ConfigError, match=r"input file .* does not exist"):
        check_inputs(["true"], [tmp_path / "missing"])
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("1")
    (tmp_path / "f").write_text("2")
    with pytest.raises(ConfigError, match="same name"):
        check_inputs(["true"], [tmp_path / "a" / "f", tmp_path / "f"])


def test_guide_input_file_paths_are_found_in_the_command() -> None:
    files = [Path("/home/user/file1")]
    line = "seqret -sequence /home/user/file1 -outseq /result/seqret/output -feature Yes"
    assert staged_paths([line], files) == {"/home/user/file1": "file1"}
    assert staged_paths(["cat /home/user/file10"], files) == {}
    assert staged_paths(["cat", "/home/user/file1"], files) == {}  # an exact argv is left alone


def test_largest_node_cpus_are_read_from_each_scheduler() -> None:
    assert get_scheduler("slurm").parse_cpus("2\n4\n2\n") == 4
    sge = ("queuename qtype resv/used/tot. load_avg arch states\n"
           "-----\nall.q@hi-node1 BIP 0/0/2 0.01 lx-amd64\nall.q@hi-node2 BIP 0/1/8 0.01 lx-amd64\n")
    assert get_scheduler("sge").parse_cpus(sge) == 8
    assert get_scheduler("pbs").parse_cpus("") == 0


# ---- state directory (item 5) ---------------------------------------------------------------
def test_state_dir_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state"
    target.write_text("")
    monkeypatch.setenv("EHPC_STATE_DIR", str(target))
    with pytest.raises(PrerequisiteError, match="is a file, not a directory"):
        Journal()
    monkeypatch.setenv("EHPC_STATE_DIR", str(target / "below"))
    with pytest.raises(PrerequisiteError, match="cannot hold the journal"):
        Journal()


# ---- no lookup the user did not expect (item 8) ---------------------------------------------
@pytest.fixture
def what_is_my_ip(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A loopback stand-in for checkip.amazonaws.com that counts the questions."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"198.51.100.7\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("EHPC_WHAT_IS_MY_IP", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.delenv("EHPC_CALLER_CIDR", raising=False)
    yield asked
    server.shutdown()


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "http://localhost:8443/",
                                      "https://[::1]:9000"])
def test_local_endpoints_ask_nobody(what_is_my_ip: list[str], endpoint: str, capsys) -> None:
    assert is_local_endpoint(endpoint)
    assert source_cidr(load_settings(None), endpoint) == "127.0.0.1/32"
    assert what_is_my_ip == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no address lookup" in err


def test_remote_endpoints_ask_and_say_so(what_is_my_ip: list[str], capsys) -> None:
    assert not is_local_endpoint("https://ec2.eu-west-1.amazonaws.com")
    assert source_cidr(load_settings(None), "https://ec2.eu-west-1.amazonaws.com") == "198.51.100.7/32"
    assert what_is_my_ip == ["/"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "asking http://127.0.0.1" in err and "FW_SOURCE" in err


def test_fw_source_asks_nobody(what_is_my_ip: list[str]) -> None:
    settings = load_settings(None, {("FIREWALL", "FW_SOURCE"): "203.0.113.0/24"})
    assert source_cidr(settings, "https://ec2.eu-west-1.amazonaws.com") == "203.0.113.0/24"
    assert what_is_my_ip == []


def test_a_world_open_fw_source_is_warned_once(what_is_my_ip: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(None, {("FIREWALL", "FW_SOURCE"): "0.0.0.0/0"})
    for _ in range(2):
        assert source_cidr(settings, "https://ec2.eu-west-1.amazonaws.com") == "0.0.0.0/0"
    err = capsys.readouterr().err
    assert err == ("ehpc: warning: [FIREWALL] FW_SOURCE 0.0.0.0/0 opens SSH (and the FW_PORTs) "
                   "to the whole Internet\n")


def test_a_symlinked_script_is_staged_as_what_it_points_to(tmp_path: Path) -> None:
    """A script (or input) that is a link here goes to the cluster as its content, under the
    link's name: a link there would point nowhere."""
    real = tmp_path / "tools" / "align.sh"
    real.parent.mkdir()
    real.write_text("#!/bin/sh\necho aligned\n")
    link = tmp_path / "run.sh"
    link.symlink_to(real)
    with tarfile.open(fileobj=io.BytesIO(_tar([link], executables=[link]))) as tar:
        member = tar.getmember("run.sh")
        assert member.isfile() and member.mode & 0o111
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == b"#!/bin/sh\necho aligned\n"
