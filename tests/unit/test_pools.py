"""A cluster as a head plus pools: the flags, the guide's [CROSS], one pool by default, and the
journal that learned each node's provider and pool."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from elastichpc.cli.main import build_parser
from elastichpc.cli.options import settings_from
from elastichpc.config import build_spec, load_settings
from elastichpc.config.spec import ClusterSpec
from elastichpc.errors import ConfigError
from elastichpc.orchestration.fleet import Fleet
from elastichpc.orchestration.plan import cloud_nodes, node_names
from elastichpc.state import Journal
from elastichpc.state.journal import MIGRATIONS

GUIDE = Path(__file__).parent / "data" / "guide.conf"


def spec_of(*argv: str, config: Path | None = None) -> ClusterSpec:
    args = build_parser().parse_args(["cluster", "create", "--name", "hpc", *argv,
                                      *(["--config", str(config)] if config else [])])
    return build_spec(settings_from(args))


def test_flags_give_a_head_and_pools() -> None:
    spec = spec_of("--head", "aws", "--pool", "gce:4", "--pool", "azure/eastus:2:spot",
                   "--pool", "aws/us-west-2:1:spot:0.05")
    assert spec.head.name == "aws" and spec.provider == "aws"
    assert [(p.name, p.count, p.market, p.max_price) for p in spec.pools] == [
        ("gce", 4, "on-demand", None), ("azure/eastus", 2, "spot", None),
        ("aws/us-west-2", 1, "spot", 0.05)]
    assert spec.size == 7 and spec.overlay and spec.providers == ["aws", "gce", "azure"]
    # Names run across the pools in order; each place's view has that pool and its site.
    assert [n for n in node_names(spec) if n[2] == "azure/eastus"] == [
        ("hpc-node5", "compute", "azure/eastus"), ("hpc-node6", "compute", "azure/eastus")]
    west = spec.at(spec.pool("aws/us-west-2"))
    assert west.settings.get("AWS", "REGION") == "us-west-2" and west.spot_price == 0.05
    assert spec.settings.get("AWS", "REGION") == "us-east-1"


def test_one_provider_is_one_pool_without_overlay() -> None:
    spec = spec_of("--size", "3")
    assert [(p.name, p.count) for p in spec.pools] == [("local", 3)]
    assert not spec.overlay and spec.places == ["local"]
    spec = spec_of("--head", "local/a", "--pool", "local/b:2", "--pool", "local/c:2")
    assert spec.places == ["local/a", "local/b", "local/c"] and spec.overlay
    assert not spec_of("--head", "local/a", "--pool", "local/b:2", "--overlay", "false").overlay
    # The stored spec (no secrets) rebuilds the same pools.
    again = ClusterSpec.from_public(json.loads(json.dumps(spec.to_public())))
    assert (again.head, again.pools) == (spec.head, spec.pools)


def test_a_pool_of_min_max_is_autoscaled() -> None:
    spec = spec_of("--head", "local/a", "--pool", "local/b:1", "--pool", "local/c:0-3:spot")
    assert [(p.name, p.count, p.min_nodes, p.max_nodes) for p in spec.pools] == [
        ("local/b", 1, None, None), ("local/c", 0, 0, 3)]
    # create makes node1 on b; node2-4 exist on c only while Slurm powers them up
    assert [n for n in node_names(spec) if n[1] == "compute"] == [("hpc-node1", "compute", "local/b")]
    assert cloud_nodes(spec) == {f"hpc-node{i}": "local/c" for i in (2, 3, 4)}


def test_cross_section_is_read_with_cross_only(tmp_path: Path) -> None:
    assert spec_of(config=GUIDE).places == ["local"]  # [CROSS] in the file, --cross not given
    spec = spec_of("--cross", config=GUIDE)  # the guide's AWS=1, AZURE=0, GCE=4, MASTER=aws
    assert spec.head.name == "aws"
    assert [(p.provider, p.count) for p in spec.pools] == [("aws", 1), ("gce", 4)]


@pytest.mark.parametrize(("argv", "message"), [
    (["--cross", "--cross-aws", "0", "--cross-gce", "0", "--cross-azure", "0"],
     r"\[CROSS\] gives every provider 0 nodes"),
    (["--cross", "--cross-master", "azure"], r"MASTER = azure is not among the providers with nodes"),
    (["--cross", "--cross-gce", "2", "--cross-master", ""], r"MASTER is not set"),
    (["--pool", "gce"], r"expected PROVIDER\[/SITE\]:COUNT"),
    (["--pool", "ibm:2"], r"unknown provider 'ibm'"),
    (["--pool", "local/B_1:2"], r"the site 'b_1' must be"),
    (["--pool", "gce:two"], r"the count 'two' is not a whole number"),
    (["--pool", "gce:2:cheap"], r"the market is spot or on-demand"),
    (["--pool", "gce:2:on-demand:0.1"], r"a maximum price is for spot pools only"),
    (["--pool", "gce:0"], r"every --pool has 0 nodes"),
    (["--pool", "gce:4-2"], r"MIN-MAX needs MIN <= MAX"),
    (["--pool", "gce:0-0"], r"MIN-MAX needs MIN <= MAX and MAX >= 1"),
    (["--pool", "gce:1-x"], r"the count '1-x' is not a whole number or MIN-MAX"),
    (["--pool", "local:0-300"], r"1 to 200 compute nodes on local, got 300"),
    (["--pool", "gce:1", "--pool", "gce:2"], r"two pools in the same place: gce"),
    (["--pool", "gce:1", "--size", "2"], r"either as --size or as --pool"),
    (["--pool", "local:300"], r"1 to 200 compute nodes on local, got 300"),
    (["--head", "moon"], r"unknown provider 'moon'"),
    (["--head", "azure", "--pool", "aws:2"], r"a head on azure cannot be the overlay's hub yet"),
])
def test_bad_pools_are_one_line(argv: list[str], message: str) -> None:
    conf = ["--config", str(GUIDE)] if "--cross" in argv else []
    with pytest.raises(ConfigError, match=message):
        spec_of(*argv, *conf)


def test_fleet_routes_each_place_to_its_own_settings() -> None:
    spec = spec_of("--head", "local/a", "--pool", "local/b:1", "--pool", "local/c:2")
    fleet = Fleet(spec)
    assert [p.name for p in fleet.places] == ["local/a", "local/b", "local/c"]
    assert fleet.provider("local/c").settings.get("LOCAL", "SITE") == "c"
    assert fleet.place_of("hpc-node3", "compute") == "local/c"
    assert fleet.place_of("hpc-head", "head") == "local/a"
    assert fleet._scopes() == ["local/a"]  # one host: one inventory sees every site
    assert Fleet(spec, {"hpc-node9": "local/b"}).place_of("hpc-node9", "compute") == "local/b"


def test_journal_migration_keeps_clusters_and_learns_providers(tmp_path: Path) -> None:
    """A journal written before pools: its nodes are on their cluster's provider."""
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO clusters VALUES ('old', 'aws', 'running', ?, 0, 0)",
               (json.dumps({"name": "old", "settings": {}}),))
    db.execute("INSERT INTO nodes VALUES ('old', 'old-head', 'head', 'i-1', '', '', 'running', '{}')")
    db.execute("INSERT INTO nodes VALUES ('old', 'old-node1', 'compute', 'i-2', '', '', 'running', "
               "'{\"spot\": true}')")
    db.commit()
    db.close()
    head, node = Journal(tmp_path).nodes("old")
    assert (head.provider, head.pool, head.market) == ("aws", "", "on-demand")
    assert (node.provider, node.pool, node.market) == ("aws", "aws", "spot")
    assert node.info == {"spot": True}


def test_settings_for_a_flagless_run_still_read_one_pool(tmp_path: Path) -> None:
    spec = build_spec(load_settings(overrides={("CLUSTER", "CLUSTER_PREFIX"): "x",
                                               ("CLUSTER", "PROVIDER"): "gce"}))
    assert spec.head.name == "gce" and spec.pools[0].count == 2
