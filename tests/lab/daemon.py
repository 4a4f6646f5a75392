"""The lab's supervisor: `python -m tests.lab.daemon STATE_DIR`, started by `lab up` inside the
lab's network namespace. It serves the emulators (moto for EC2, our GCE emulator, our ARM fake
and Azurite), the package mirror (on deb.debian.org's lab address) and a control API, then turns
what the emulators hold into machines, twice a second, until SIGTERM; then it stops them all.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from elastichpc.providers.base import TAG

from . import aws, azure, cgroups, gce, machines, network
from .image import artifacts

CONTROL_PORT = 7999
POLL = 0.5
STOCKOUT = "ZONE_RESOURCE_POOL_EXHAUSTED"  # GCE's answer when a zone has no capacity left


class Lab:
    def __init__(self, state: Path) -> None:
        self.state = state
        built = artifacts()
        if not built.ready():
            raise SystemExit("the lab image is not built: run `python -m tests.lab build`")
        # Hard-linked copies (a second; same file system): the cache may be pruned or rebuilt
        # by another checkout while this lab's machines run on the image and read the mirror.
        self.image = state / "image"
        self.mirror = state / "debian"
        for source, copy in ((built.root, self.image), (built.mirror, self.mirror)):
            subprocess.run(["cp", "-al", str(source), str(copy)], check=True)
        self.lock = threading.RLock()
        self.machines: dict[str, machines.Machine] = {}
        self.networks: set[str] = set()
        self.subnets: dict[str, str] = {}  # subnet -> the bridge holding its gateway
        self.next_veth = 0
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.orphaned = False
        self.env: dict[str, str] = {}
        self.console_sent: dict[str, int] = {}  # machine -> bytes of its console forwarded

    # ---- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        network.setup()
        cgroups.mount_all(self.state / "cgroup")
        _serve(ThreadingHTTPServer((network.MIRROR_IP, 80),
                                   functools.partial(_Mirror, directory=str(self.mirror))))
        control = ThreadingHTTPServer(("127.0.0.1", CONTROL_PORT), _Control)
        control.lab = self  # type: ignore[attr-defined]
        _serve(control)
        self.moto = aws.start(self.state / "machines")
        self.gce = gce.start()
        self.azure = azure.Emulators(self.state / "azure")
        self.env = {**aws.env(), **gce.env(), **self.azure.env(), "EHPC_CALLER_CIDR": network.CALLER_NET}
        self._write_state(ready=True)

    def hosts(self, hostname: str) -> str:
        """/etc/hosts as a Debian cloud image has it (cloud-init's manage_etc_hosts), plus the
        mirror standing in for deb.debian.org (the cloud's resolver would answer that)."""
        return (f"127.0.0.1 localhost\n127.0.1.1 {hostname}\n"
                f"{network.MIRROR_IP} deb.debian.org security.debian.org\n"
                "::1 localhost ip6-localhost ip6-loopback\n")

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, owner: int) -> None:
        while not self.stopping.wait(POLL):
            if owner and not _alive(owner):
                print(f"owner {owner} has gone: removing the lab", flush=True)
                self.orphaned = True
                break
            try:
                self.sync()
            except Exception:  # keep the lab up; the error is in the state file and the log
                self.errors.append(traceback.format_exc())
                traceback.print_exc()
            self._write_state(ready=True)

    def sync(self) -> None:
        wanted = {**aws.instances(), **gce.instances(self.gce), **self.azure.instances()}
        with self.lock:
            halting: dict[str, bool] = {}  # machine -> removed (else only stopped)
            for ident, (spec, state, disks) in wanted.items():
                machine = self.machines.get(ident)
                if state in ("running", "pending"):
                    if machine is None or not machine.alive():
                        machine = self.boot(spec)
                    self.sync_disks(machine, disks)
                elif machine is not None and (machine.alive() or state == "terminated"):
                    halting[ident] = state == "terminated"
            for ident in list(self.machines):
                if ident not in wanted:
                    halting[ident] = True
            self.halt_all(halting)
            self.forward_consoles()

    def halt_all(self, halting: dict[str, bool]) -> None:
        """Halt these machines (-> removed or not) at once: each graceful shutdown takes up to
        5 s and each removal deletes a root of thousands of files, which a terminated cluster
        would otherwise wait for one machine after the other."""
        if len(halting) <= 1:
            for ident, remove in halting.items():
                self.halt(ident, remove)
            return
        with ThreadPoolExecutor(max_workers=len(halting)) as pool:
            list(pool.map(lambda item: self.halt(*item), halting.items()))

    def forward_consoles(self) -> None:
        """New console output of GCE and Azure machines to their emulator's serial log (moto
        reads an AWS machine's console.log itself)."""
        for ident, machine in self.machines.items():
            sink = {"gce": lambda i, t: gce.print_serial(self.gce, i, t),
                    "azure": self.azure.print_serial}.get(machine.spec.cloud)
            if sink is None:
                continue
            with open(machine.directory / "console.log", "rb") as console:
                console.seek(self.console_sent.get(ident, 0))
                text = console.read()
            if text:
                self.console_sent[ident] = self.console_sent.get(ident, 0) + len(text)
                sink(ident, text.decode(errors="replace"))

    def boot(self, spec: machines.Spec) -> machines.Machine:
        cidr = str(ipaddress.ip_interface(f"{spec.private_ip}/{spec.prefix}").network)
        if spec.network not in self.networks:
            network.add_network(spec.network, [cidr])
            self.networks.add(spec.network)
        elif cidr not in self.subnets:
            network.add_subnet(spec.network, cidr)
        self.subnets[cidr] = spec.network
        # A fresh name at every boot: a rebooted machine's old veth goes with its namespace,
        # which the kernel frees a moment after its last process.
        veth = f"m{self.next_veth}"
        self.next_veth += 1
        print(f"boot {spec.cloud} {spec.ident} {spec.private_ip} public {spec.public_ip}", flush=True)
        machine = machines.boot(spec, self.image, self.state / "machines" / spec.ident, veth,
                                self.hosts(spec.hostname), self.state / "cgroup", self.state.name)
        network.add_machine(spec.private_ip, spec.public_ip, spec.nat_ip)
        self.machines[spec.ident] = machine
        return machine

    def sync_disks(self, machine: machines.Machine, disks: list[machines.Disk]) -> None:
        attached = {d.volume: d for d in disks}
        for disk in disks:
            if disk.volume not in machine.disks:
                backing = self.state / "volumes" / f"{disk.volume}.img"
                machines.attach_disk(machine, disk.volume, backing, disk.size_gib, disk.names)
        for volume in list(machine.disks):
            if volume not in attached:
                machines.detach_disk(machine, volume)

    def halt(self, ident: str, remove: bool, grace: bool = True) -> None:
        machine = self.machines[ident]
        print(f"{'terminate' if remove else 'stop'} {ident}", flush=True)
        started = time.monotonic()
        machine.stop(grace)
        print(f"{ident} off in {time.monotonic() - started:.1f} s", flush=True)
        for volume in list(machine.disks):
            machines.detach_disk(machine, volume)
        network.remove_machine(machine.spec.private_ip, machine.spec.public_ip)
        if remove:
            del self.machines[ident]
            self.console_sent.pop(ident, None)
            # (list(): other machines may be halting in other threads; the last one to go
            # sees none left)
            if not any(m.spec.network == machine.spec.network for m in list(self.machines.values())):
                # Gone with its last machine: another cloud network may reuse its addresses
                # (every ehpc cluster on Azure makes its own VNet, 10.0.0.0/16).
                network.remove_network(machine.spec.network)
                self.networks.discard(machine.spec.network)
                self.subnets = {c: b for c, b in self.subnets.items() if b != machine.spec.network}
            machines.remove_tree(machine.directory)

    def capacity(self, cloud: str, available: bool) -> None:
        """Take a cloud's capacity away (or give it back): its launches are then refused as that
        cloud refuses them (GCE's ZONE_RESOURCE_POOL_EXHAUSTED; on Azure, the regional vCPU
        quota; on AWS, spot launches answered InsufficientInstanceCapacity)."""
        if cloud == "aws":
            (aws.SPOT_CAPACITY.set if available else aws.SPOT_CAPACITY.clear)()
        elif cloud == "gce":
            emulator = self.gce.emulator
            with emulator.state.lock:
                emulator.faults = [f for f in emulator.faults if f.reason != STOCKOUT]
            if not available:
                for method in ("compute.instances.insert", "compute.instances.bulkInsert"):
                    emulator.inject(503, STOCKOUT, count=1_000_000, match=method,
                                    message=f"The zone does not have enough resources available "
                                            f"to fulfill the request ({STOCKOUT}).")
        elif cloud == "azure":
            self.azure.fake.faults.core_quota = None if available else 0
        else:
            raise KeyError(cloud)

    def interrupt(self, idents: list[str], stop: bool) -> None:
        """Take these machines away at once, each the way its cloud does (a capacity pool is
        reclaimed together)."""
        for ident in idents:
            if ident.startswith("gce-"):
                gce.preempt(self.gce, ident)
            elif ident.startswith("az-"):
                self.azure.evict(ident)
            else:
                aws.interrupt(ident, stop)
        self.sync()

    def reboot(self, ident: str) -> None:
        with self.lock:
            self.halt(ident, remove=False)
            self.sync()

    # ---- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            for ident in list(self.machines):
                self.halt(ident, remove=True, grace=False)
        if hasattr(self, "azure"):
            self.azure.stop()
        cgroups.unmount_all(self.state / "cgroup")

    def describe(self) -> list[dict[str, Any]]:
        # Not under the lock: a sync halting a cluster's machines holds it for a while, and the
        # control API answers meanwhile from a copy (each machine is there until removed).
        machines = list(self.machines.values())
        return [{"cloud": m.spec.cloud, "id": m.spec.ident, "hostname": m.spec.hostname,
                 "private_ip": m.spec.private_ip, "public_ip": m.spec.public_ip,
                 "nat_ip": m.spec.nat_ip, "pid": m.pid, "alive": m.alive(),
                 "loops": sorted(loop for loop, _ in list(m.disks.values())),
                 "cgroups": [str(p.relative_to(self.state / "cgroup")) for p in m.cgroups],
                 "console": str(m.directory / "console.log")}
                for m in machines]

    def _write_state(self, ready: bool) -> None:
        data = {"pid": os.getpid(), "ready": ready, "control": f"http://127.0.0.1:{CONTROL_PORT}",
                "env": self.env,
                "machines": self.describe(), "errors": self.errors[-5:]}
        tmp = self.state / "state.json.tmp"
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.state / "state.json")


class _Mirror(SimpleHTTPRequestHandler):
    """The mirror at http://deb.debian.org/debian/ (only that path)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def translate_path(self, path: str) -> str:
        if not path.startswith("/debian/"):
            return "/nonexistent"
        return super().translate_path(path.removeprefix("/debian"))


class _Control(BaseHTTPRequestHandler):
    """GET /machines; GET /console/<id>; GET /tagged/<cluster> (GCE's and Azure's resources);
    POST /interrupt/<id>[,<id>...][?stop] (spot interruptions, GCE preemptions or Azure
    evictions, all at once, each as its cloud does it); POST /capacity/<aws|gce|azure>[?none]
    (the cloud out of capacity, on AWS out of spot capacity, or back);
    POST /reboot/<id> (the guest rebooting: processes and mounts go, the
    disk stays, GCE's startup script runs again)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        lab: Lab = self.server.lab  # type: ignore[attr-defined]
        parts = self.path.strip("/").split("/")
        if parts == ["machines"]:
            return self._answer(200, lab.describe())
        if len(parts) == 2 and parts[0] == "tagged":  # what GCE and Azure still hold of a cluster
            return self._answer(200, lab.gce.emulator.labelled(TAG, parts[1])
                                + lab.azure.fake.tagged(TAG, parts[1]))
        if len(parts) == 2 and parts[0] == "console" and parts[1] in lab.machines:
            return self._answer(200, (lab.machines[parts[1]].directory / "console.log").read_text())
        self._answer(404, {"error": self.path})

    def do_POST(self) -> None:
        lab: Lab = self.server.lab  # type: ignore[attr-defined]
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        try:
            if len(parts) == 2 and parts[0] == "interrupt":
                lab.interrupt(parts[1].split(","), stop=query == "stop")
                return self._answer(200, {"interrupted": parts[1]})
            if len(parts) == 2 and parts[0] == "capacity":
                lab.capacity(parts[1], available=query != "none")
                return self._answer(200, {"capacity": parts[1], "available": query != "none"})
            if len(parts) == 2 and parts[0] == "reboot":
                lab.reboot(parts[1])
                return self._answer(200, {"rebooted": parts[1]})
        except KeyError as err:
            return self._answer(404, {"error": f"no such instance {err}"})
        except Exception as err:  # the emulator refused (e.g. not a spot VM): say why
            return self._answer(500, {"error": f"{type(err).__name__}: {err}"})
        self._answer(404, {"error": self.path})


def _serve(server: ThreadingHTTPServer) -> None:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> int:
    state, name, owner = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    os.environ.update(aws.VALIDATION)
    lab = Lab(state)
    signal.signal(signal.SIGTERM, lambda *_: lab.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: lab.stopping.set())
    try:
        lab.start()
        lab.run(owner)
    finally:
        lab.stop()
        lab._write_state(ready=False)
        if lab.orphaned:  # the rest (namespace, directories) by `down`, once this has exited
            subprocess.Popen([sys.executable, "-m", "tests.lab", "down", "--name", name],
                             start_new_session=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
