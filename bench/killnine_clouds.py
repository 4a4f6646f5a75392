"""kill -9 of the CLI at a random point of `cluster create --provision-only` (2 compute nodes),
`cluster terminate` and `disk create --cluster` on AWS (moto_server), GCE (our emulator) and
Azure (our ARM fake), then the rerun a user would do, counting what was leaked or made twice.

The trials are bench/killnine.py's. After the rerun: a create, exit 0 and exactly 1 + 2
instances tagged with the cluster (more: duplicates); a terminate, exit 0; a disk create, exit
0 and one disk of that name (more: duplicates). Then `cluster terminate` and a count of what
the emulator still holds of the cluster: on AWS whatever is tagged with it (instances,
volumes, security groups, key pairs, spot requests), on GCE its labelled instances, disks and
snapshots and its firewall rules, on Azure whatever is tagged with it or in its resource group.
`disk create --attach` (and `disk attach`) is not measured: mounting runs on the node over SSH,
and nothing here may connect to the addresses the emulators hand out (provision-only clusters).
Writes bench/results/killnine_clouds.json.
Usage: python bench/killnine_clouds.py [TRIALS_PER_OPERATION]   (from the repository root)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aws_create import start_moto
from emulators import arm_fake, moto_image
from killnine import Cli, Operation, run_trials
from results_file import write_results

from tests.aws.conftest import moto_ec2, tagged_resources
from tests.emulators.gce import EmulatorServer

SIZE = 2


@dataclass
class Cloud:
    """The CLI pointed at one cloud's emulator, and what the emulator holds of a cluster:
    kind -> ids."""

    name: str
    cli: Cli
    flags: list[str]
    held: Callable[[str], dict[str, list[str]]]

    def create_argv(self, cluster: str) -> list[str]:
        return ["cluster", "create", "--name", cluster, "--size", str(SIZE), "--provision-only",
                *self.flags]

    def create(self, cluster: str) -> None:
        out = self.cli.run(*self.create_argv(cluster))
        if out.returncode != 0:
            raise SystemExit(f"{self.name}: create {cluster} failed: {out.stderr.strip()}")

    def teardown(self, cluster: str) -> dict[str, int]:
        self.cli.run("cluster", "terminate", cluster)
        return {kind: len(ids) for kind, ids in self.held(cluster).items()}

    def created(self, cluster: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        instances = len(self.held(cluster).get("instance", []))
        return rerun.returncode == 0 and instances == SIZE + 1, max(instances - (SIZE + 1), 0)

    def terminated(self, cluster: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        return rerun.returncode == 0 and not any(self.held(cluster).values()), 0

    def disk_created(self, cluster: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
        disks = json.loads(self.cli.run("disk", "list", "--json", "--cluster", cluster).stdout or "[]")
        named = sum(d["name"] == f"{cluster}-d" for d in disks)
        return rerun.returncode == 0 and named == 1, max(named - 1, 0)

    def operations(self) -> list[Operation]:
        return [
            Operation("create --provision-only", self.create_argv, self.created),
            Operation("terminate", lambda c: ["cluster", "terminate", c], self.terminated, self.create),
            Operation("disk create --cluster",
                      lambda c: ["disk", "create", f"{c}-d", "--size", "1G", "--cluster", c],
                      self.disk_created, self.create),
        ]


def by_kind(ids: list[str], kind: Callable[[str], str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for each in ids:
        found.setdefault(kind(each), []).append(each)
    return found


@contextmanager
def aws(env: dict[str, str]) -> Iterator[Cloud]:
    moto, url = start_moto()
    ec2 = moto_ec2(url)

    def held(cluster: str) -> dict[str, list[str]]:  # "instance i-0abc", "key pair ehpc-x", ...
        return by_kind(tagged_resources(ec2, cluster), lambda item: item.rsplit(" ", 1)[0])

    try:
        yield Cloud("aws", Cli({**env, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "bench",
                                "AWS_SECRET_ACCESS_KEY": "bench"}),
                    ["--provider", "aws", "--aws-region", "eu-west-1", "--image-aws-image-id",
                     moto_image(url), "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.small"],
                    held)
    finally:
        moto.terminate()
        moto.wait()


@contextmanager
def gce(env: dict[str, str]) -> Iterator[Cloud]:
    from elastichpc.providers import TAG

    server = EmulatorServer().start()
    emulator = server.emulator

    def held(cluster: str) -> dict[str, list[str]]:
        found = by_kind(emulator.labelled(TAG, cluster), lambda link: link.split("/")[-2][:-1])
        rules = [n for (_, n) in emulator.state.firewalls if n.startswith(f"ehpc-{cluster}-")]
        return {**found, **({"firewall": rules} if rules else {})}

    try:
        yield Cloud("gce", Cli({**env, "EHPC_GCE_ENDPOINT": server.url}),
                    ["--provider", "gce", "--gce-project-id", "bench"], held)
    finally:
        server.stop()


@contextmanager
def azure(env: dict[str, str]) -> Iterator[Cloud]:
    from elastichpc.providers import TAG

    with arm_fake() as (fake, conf):
        def held(cluster: str) -> dict[str, list[str]]:
            group = f"/resourcegroups/ehpc-{cluster}".lower()
            found: dict[str, list[str]] = {}
            with fake.lock:
                for r in fake.resources.values():
                    if (r.get("tags") or {}).get(TAG) == cluster or group in r["id"].lower():
                        vm = r["type"].lower() == "microsoft.compute/virtualmachines"
                        found.setdefault("instance" if vm else r["type"].split("/")[-1], []).append(r["id"])
            return found

        yield Cloud("azure", Cli({**env, "EHPC_CONFIG": str(conf), "HTTPS_PROXY": "http://127.0.0.1:9",
                                  "NO_PROXY": "127.0.0.1"}), ["--provider", "azure"], held)


def main(trials: int) -> None:
    numbers: dict = {
        "benchmark": "kill -9 of the CLI at a random point, then rerun and terminate (cloud emulators)",
        "cluster": f"1 head + {SIZE} compute nodes, --provision-only",
        "emulators": "moto_server; the GCE emulator; the ARM fake (all on loopback)",
        "not_measured": "disk create --attach / disk attach: the mount runs on the node over SSH, "
                        "which must not reach the emulators' addresses",
    }
    records = []
    for name, cloud in (("aws", aws), ("gce", gce), ("azure", azure)):
        with tempfile.TemporaryDirectory(prefix="killnine-") as state:
            env = {**os.environ, "EHPC_STATE_DIR": state, "HOME": state}  # no user's cloud configs
            with cloud(env) as emulated:
                summary, mine = run_trials(emulated.cli, emulated.operations(), trials,
                                           f"killnine-{name}-", emulated.teardown)
        numbers[name] = summary
        records += [{"cloud": name, **r} for r in mine]
        print(name, json.dumps(summary), flush=True)
    numbers["trials"] = records
    leaked: Counter[str] = Counter()
    for r in records:
        leaked.update(r["leaked"])
    numbers["leaked_by_kind"] = dict(leaked)
    print(write_results("killnine_clouds", numbers))


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 4)
