"""A local node's size as limits on its processes: [LOCAL] NODE_CPUS and NODE_MEMORY become a
cgroup per node, in the cpu (CFS quota: NODE_CPUS CPUs' worth of time) and memory controllers.
The node's boot script moves itself into them, so sshd, the daemons and every job inherit them.

Only cgroup v1 controllers are used (this kind of host mounts each on its own hierarchy). On a
host with cgroup v2 only, no limits are set, and the scheduler is still told the sizes: a v2
cgroup can hand controllers to children only when it has no processes of its own, which the
cgroup ehpc runs in has, and putting nodes under the root instead would take them out of the
host's limits on ehpc. The node cgroups sit below ehpc's own, for that reason too.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from ...errors import ProviderError

PERIOD_US = 100_000
RECORD = "cgroups"  # in the node's directory: its cgroups, for whoever removes the node later


def _places() -> dict[str, Path]:
    """This process's cgroup directory in the cpu and memory v1 hierarchies that are mounted."""
    mine: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            mine[controller] = path
    places: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        kind = fields[fields.index("-") + 1:]
        if kind[0] != "cgroup":
            continue
        for controller in set(kind[2].split(",")) & {"cpu", "memory"} & mine.keys():
            places.setdefault(controller, Path(fields[4]) / mine[controller].lstrip("/"))
    return places


def create(node_dir: Path, name: str, cpus: int | None, memory_mb: int | None) -> list[Path]:
    """The node's cgroups `name`, with its limits (rerunnable), recorded in its directory."""
    knobs: dict[str, dict[str, int]] = {}
    if cpus:
        knobs["cpu"] = {"cpu.cfs_period_us": PERIOD_US, "cpu.cfs_quota_us": cpus * PERIOD_US}
    if memory_mb:
        knobs["memory"] = {"memory.limit_in_bytes": memory_mb << 20}
    places = _places()
    made = []
    for controller, values in knobs.items():
        if controller not in places:
            continue
        path = places[controller] / name
        path.mkdir(exist_ok=True)
        for knob, value in values.items():  # the period first: a quota is checked against it
            (path / knob).write_text(str(value))
        made.append(path)
    (node_dir / RECORD).write_text("".join(f"{path}\n" for path in made))
    return made


def enter_script(paths: list[Path]) -> str:
    """Shell lines that move the running shell (and so all it starts) into these cgroups."""
    return "".join(f"echo $$ > {shlex.quote(str(path / 'cgroup.procs'))}\n" for path in paths)


def remove(node_dir: Path) -> None:
    """Remove the node's recorded cgroups, once its processes are gone (a v1 cgroup may stay
    busy a moment after its last task exits)."""
    record = node_dir / RECORD
    if not record.exists():
        return
    for path in map(Path, record.read_text().split()):
        for _ in range(50):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise ProviderError(f"cgroup {path} is still in use")
    record.unlink()
