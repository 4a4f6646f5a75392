"""cluster.conf as the guide writes it, flags over the file, and one clear line for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from elastichpc.config import build_spec, load_settings, load_spec
from elastichpc.errors import ConfigError

GUIDE = Path(__file__).parent / "data" / "guide.conf"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.conf"
    path.write_text(text)
    return path


def test_guide_file_loads_with_typed_values() -> None:
    s = load_settings(GUIDE)
    assert s.get("GCE", "ZONE") == "us-central1-a"
    assert s.get("GCE", "CLIENT SECRET") == "config/client secret.json"
    assert s.get("AZURE", "REGION") == "WUS"
    assert s.get("AZURE", "INSTANCE TYPE") == "Small"
    assert s.get("AWS", "REGION") == "EU1"
    assert s.get("AWS", "ZONE") == "eu-west-1b"
    assert s.get("IMAGE", "AWS_IMAGE_ID") == "ami-aa07bbdd"
    assert s.get("FIREWALL", "FW_PORT") == [5000, 8080, 80]
    assert s.get("GLUSTERFS", "MOUNT_POINT") == "/gluster/WGA"  # trailing slash dropped
    assert s.get("GLUSTERFS", "FORMAT_DISK") is False
    assert s.get("GLUSTERFS", "STRIPE") == 1
    assert s.get("NFS", "FSID") == 0
    assert s.get("NFS", "AWS_VOLUME_SIZE") == 10
    assert s.get("CROSS", "GCE") == 4
    assert s.get("CROSS", "MASTER") == "aws"


def test_placeholders_count_as_unset_and_say_so_when_needed() -> None:
    s = load_settings(GUIDE)
    assert not s.is_set("AWS", "accessKey")
    placeholder = r"guide.conf:\d+: \[AWS\] accessKey is still the guide's placeholder"
    with pytest.raises(ConfigError, match=placeholder):
        s.require("AWS", "accessKey")


def test_guide_file_needs_only_a_name_and_size() -> None:
    with pytest.raises(ConfigError, match="a cluster needs a name"):
        load_spec(GUIDE)
    spec = load_spec(GUIDE, {("CLUSTER", "CLUSTER_PREFIX"): "hpc", ("CLUSTER", "CLUSTER SIZE"): "2"})
    assert (spec.name, spec.size, spec.provider, spec.scheduler) == ("hpc", 2, "local", "slurm")
    assert [(r.name, r.port, r.protocol) for r in spec.firewall] == [
        ("ehpcd", 5000, "tcp"), ("ehpcweb", 8080, "tcp"), ("http", 80, "tcp")
    ]


def test_every_spelling_of_a_key_is_the_same_key(tmp_path: Path) -> None:
    for spelling in ("INSTANCE TYPE", "INSTANCE_TYPE", "instance-type", "instanceType"):
        s = load_settings(write(tmp_path, f"[AWS]\n{spelling} = m5.large  # comment\n"))
        assert s.get("AWS", "INSTANCE TYPE") == "m5.large"


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    conf = write(tmp_path, "[CLUSTER]\nCLUSTER_PREFIX = fromfile\nCLUSTER SIZE = 4\n")
    spec = load_spec(conf, {("CLUSTER", "CLUSTER SIZE"): "2"})
    assert (spec.name, spec.size) == ("fromfile", 2)


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    conf = write(tmp_path, "[AWS]\nREGION = EU1\nINSTANCE TYP = m5.large\n")
    with pytest.raises(ConfigError) as err:
        load_settings(conf)
    assert str(err.value) == f"{conf}:3: [AWS] unknown key 'INSTANCE TYP' (did you mean INSTANCE TYPE?)"


def test_unknown_section_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[GLUSTER\] \(did you mean GLUSTERFS\?\)"):
        load_settings(write(tmp_path, "[GLUSTER]\nVOLUME_NAME = gv0\n"))


def test_bad_values_name_file_line_section_and_key(tmp_path: Path) -> None:
    conf = write(tmp_path, "[CLUSTER]\nCLUSTER_PREFIX = x\nCLUSTER SIZE = three\n")
    with pytest.raises(ConfigError) as err:
        load_settings(conf)
    assert str(err.value) == f"{conf}:3: [CLUSTER] CLUSTER SIZE: expected a whole number, got 'three'"
    with pytest.raises(ConfigError, match="expected KEY = VALUE"):
        load_settings(write(tmp_path, "[CLUSTER]\nCLUSTER SIZE 3\n"))
    with pytest.raises(ConfigError, match="before any"):
        load_settings(write(tmp_path, "SIZE = 3\n"))


@pytest.mark.parametrize("size", ["0", "10000", "-1"])
def test_size_out_of_range(size: str) -> None:
    with pytest.raises(ConfigError, match="cluster size must be 1 to 200 compute nodes on local"):
        load_spec(None, {("CLUSTER", "CLUSTER_PREFIX"): "x", ("CLUSTER", "CLUSTER SIZE"): size})


@pytest.mark.parametrize("name", ["a;b", "a b", "Demo", "-x", "x-", "a$(id)", "x" * 40, ""])
def test_bad_cluster_names(name: str) -> None:
    with pytest.raises(ConfigError):
        load_spec(None, {("CLUSTER", "CLUSTER_PREFIX"): name})


def test_good_cluster_names() -> None:
    for name in ("demo", "a", "hpc-2", "x" * 32):
        assert load_spec(None, {("CLUSTER", "CLUSTER_PREFIX"): name}).name == name


def test_firewall_lists_must_line_up(tmp_path: Path) -> None:
    conf = write(tmp_path, "[CLUSTER]\nCLUSTER_PREFIX=x\n[FIREWALL]\nFW_NAME=a,b\nFW_PORT=1\n")
    with pytest.raises(ConfigError, match="same number of items"):
        load_spec(conf)


def test_secrets_never_reach_the_public_view(tmp_path: Path) -> None:
    conf = write(tmp_path, "[CLUSTER]\nCLUSTER_PREFIX=x\n[AWS]\naccessKey=AKIAEXAMPLE\nsecretKey=s3cr3t\n")
    spec = load_spec(conf)
    assert spec.settings.get("AWS", "secretKey") == "s3cr3t"
    public = str(spec.to_public())
    assert "s3cr3t" not in public and "AKIAEXAMPLE" not in public
    assert build_spec(type(spec.settings).from_public(spec.to_public()["settings"]), "x").name == "x"


def test_relative_root_and_state_dirs_are_made_absolute(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Later commands (terminate) may run from another directory: what create records is absolute."""
    from elastichpc.state.journal import state_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EHPC_STATE_DIR", "state")
    settings = load_settings(None, {("LOCAL", "ROOT_DIR"): "nodes"})
    assert settings.get("LOCAL", "ROOT_DIR") == str(tmp_path / "nodes")
    assert state_dir() == tmp_path / "state"
