"""Machines: a cloud instance made real. Each is an overlay on the lab image in its own mount,
PID, UTS, IPC, network and time namespaces (pivot_root into the overlay; its uptime starts at 0,
as a new instance's does), with a veth on its cloud network's bridge. PID 1 is the lab's
stand-in for cloud-init (INIT below): it names the host, creates the cloud's login user with the
instance's SSH key, makes host keys, starts sshd and runs the instance's user-data as root; its
output is the console log.

Killing the machine's unshare process kills its PID 1 (--kill-child) and with it every process,
mount (overlay, disks, FUSE) and interface of the machine.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups

# Stage 1 runs in the new namespaces with the host's tools: mount the machine's file systems,
# wait for the lab to wire the network (a line on stdin), pivot into the overlay, start INIT.
STAGE1 = r"""
set -eu
image=$1 dir=$2
root=$dir/root
mount -t overlay overlay -o "lowerdir=$image,upperdir=$dir/upper,workdir=$dir/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=0755,size=64m dev "$root/dev"
mkdir "$root/dev/net"  # net/tun: a cloud VM has it (wireguard-go, the overlay without a kernel module)
for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 fuse:10:229 net/tun:10:200; do
  IFS=: read -r name major minor <<EOS
$spec
EOS
  mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
mount -t tmpfs -o mode=0755 cgroup "$root/sys/fs/cgroup"
for spec in $LAB_CGROUPS; do
  mkdir "$root/sys/fs/cgroup/${spec#*:}"
  mount -t cgroup -o "${spec%:*}" cgroup "$root/sys/fs/cgroup/${spec#*:}"
done
mkdir "$root/sys/fs/cgroup/unified"
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup/unified"
mount -t tmpfs -o mode=0755 run "$root/run"
mkdir -p "$root/run/lab" "$root/run/oldroot"
mount --bind -o ro "$dir/seed" "$root/run/lab"
read -r go
cd "$root"
pivot_root . run/oldroot
umount -l /run/oldroot
rmdir /run/oldroot
exec /bin/bash /run/lab/init </dev/null
"""

# The lab's cloud-init: /run/lab holds this script and the instance's data (what a metadata
# service would serve): hostname, user, keys (authorized_keys lines), user-data, every_boot.
INIT = r"""
set -o pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
echo "lab-init: booting $(cat /run/lab/hostname)"
hostname "$(cat /run/lab/hostname)"
cat /run/lab/hostname > /etc/hostname
cat /run/lab/hosts > /etc/hosts
first=no
if [ ! -e /var/lib/cloud/instance/boot-finished ]; then
  first=yes
  user=$(cat /run/lab/user)
  if [ -n "$user" ] && ! getent passwd "$user" >/dev/null; then
    useradd -m -s /bin/bash -G sudo "$user"
    echo "$user ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/90-cloud-init-users"
  fi
  if [ -n "$user" ] && [ -s /run/lab/keys ]; then
    home=$(getent passwd "$user" | cut -d: -f6)
    install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
    install -m 0600 -o "$user" -g "$user" /run/lab/keys "$home/.ssh/authorized_keys"
  fi
  ssh-keygen -A >/dev/null
  for key in /etc/ssh/ssh_host_*_key.pub; do echo "lab-init: host key $(cat "$key")"; done
fi
mkdir -p -m 0755 /run/sshd
/usr/sbin/sshd
if [ -s /run/lab/user-data ] && { [ $first = yes ] || [ -e /run/lab/every_boot ]; }; then
  mkdir -p /var/lib/cloud/instance/scripts
  install -m 0700 /run/lab/user-data /var/lib/cloud/instance/scripts/user-data
  if head -c2 /run/lab/user-data | grep -q '#!'; then
    echo "lab-init: running user-data"
    /var/lib/cloud/instance/scripts/user-data 2>&1 | tee -a /var/log/cloud-init-output.log
    echo "lab-init: user-data exited ${PIPESTATUS[0]}"
  fi
fi
mkdir -p /var/lib/cloud/instance && touch /var/lib/cloud/instance/boot-finished
echo "lab-init: boot finished"
# PID 1 reaps every orphan for the machine's lifetime.
exec python3 -c '
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(1)
'
"""


@dataclass
class Spec:
    """What the cloud API said about an instance."""

    cloud: str  # aws | gce | azure
    ident: str  # the cloud's instance id
    hostname: str
    network: str  # bridge name of its VPC / network
    private_ip: str
    prefix: int  # of its subnet
    gateway: str
    public_ip: str | None
    user: str
    keys: list[str]
    user_data: str
    every_boot: bool = False  # GCE's startup-script
    # The public address of its subnet's NAT gateway: its outbound connections leave from there,
    # even when it has a public address of its own (Azure gives the NAT gateway precedence).
    nat_ip: str | None = None


@dataclass
class Disk:
    """A data disk attached through a cloud's API, as the machine's kernel would name it."""

    volume: str  # unique in the lab: names the backing file
    size_gib: int
    names: list[str]  # the device node first, then the aliases udev would make


@dataclass
class Machine:
    spec: Spec
    directory: Path
    process: subprocess.Popen[bytes]
    veth: str
    cgroups: list[Path]
    disks: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # volume -> loop, names

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def init_pid(self) -> int:
        """The machine's PID 1 (as this host numbers it): unshare's only child."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0])

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command inside the machine (as root, in its namespaces and root)."""
        enter = ["nsenter", "-t", str(self.init_pid), "-a", "-r", "-w"]
        return subprocess.run([*enter, *argv], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]

    def stop(self, grace: bool = False) -> None:
        """Power off. With grace, as a cloud's shutdown does: every process gets SIGTERM and up
        to 5 s to exit, so its connections close as they do when a spot VM is reclaimed."""
        if self.alive() and grace:
            with contextlib.suppress(OSError, IndexError, subprocess.TimeoutExpired):  # dying
                self.run(["sh", "-c", "kill -TERM -1; i=0; while kill -0 -1 2>/dev/null && "
                          "[ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done"], timeout=30)
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        cgroups.remove(self.cgroups)


def boot(spec: Spec, image: Path, directory: Path, veth: str, hosts: str, cgroup_base: Path,
         lab: str) -> Machine:
    """Start a machine of lab `lab` and wire it to its bridge (which must exist)."""
    for sub in ("upper", "work", "root", "seed"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    seed = directory / "seed"
    (seed / "init").write_text(INIT)
    (seed / "hostname").write_text(spec.hostname + "\n")
    (seed / "hosts").write_text(hosts)
    (seed / "user").write_text(spec.user)
    (seed / "keys").write_text("".join(k.strip() + "\n" for k in spec.keys))
    (seed / "user-data").write_text(spec.user_data)
    if spec.every_boot:
        (seed / "every_boot").touch()
    groups = cgroups.create(cgroup_base, f"{lab}-{spec.ident}")
    layout = " ".join(f"{options}:{name}" for options, name in cgroups.HIERARCHIES)
    with open("/proc/uptime") as uptime:  # a machine boots when it is made: its uptime starts at 0
        booted = int(float(uptime.read().split()[0]))
    with open(directory / "console.log", "ab") as console:
        process = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--time",
             "--boottime", f"-{booted}", "--fork", "--kill-child", "--propagation", "private",
             "sh", "-c", STAGE1, "stage1", str(image), str(directory)],
            stdin=subprocess.PIPE, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LAB_CGROUPS": layout},
            preexec_fn=functools.partial(cgroups.enter, groups),
        )
    machine = Machine(spec, directory, process, veth, groups)
    try:
        _wire(machine)
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.close()
        _wait_pivoted(machine)
    except BaseException:
        machine.stop()
        raise
    return machine


def _wait_pivoted(machine: Machine) -> None:
    """Until PID 1 runs INIT in the machine's own root: before that, a command entering the
    machine (a disk attached at once, as after a reboot) would meet the host's /dev."""
    for _ in range(1000):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # Exactly INIT's command line: stage 1's own (its script) names /run/lab/init too.
            argv = Path(f"/proc/{machine.init_pid}/cmdline").read_bytes().split(b"\0")
            if argv[:2] == [b"/bin/bash", b"/run/lab/init"]:
                return
        if not machine.alive():
            break
        time.sleep(0.01)
    raise RuntimeError(f"{machine.spec.ident} did not start its init (see its console.log)")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _wire(machine: Machine) -> None:
    spec, pid = machine.spec, str(machine.pid)
    for _ in range(100):  # unshare has made the namespaces once its child mounts things
        if os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net"):
            break
        time.sleep(0.02)
    _ip("link", "add", machine.veth, "type", "veth", "peer", "name", "eth0", "netns", pid)
    _ip("link", "set", machine.veth, "master", spec.network, "up")
    inside = ["nsenter", "-t", pid, "-n", "ip"]
    for args in (["link", "set", "lo", "up"],
                 ["addr", "add", f"{spec.private_ip}/{spec.prefix}", "dev", "eth0"],
                 ["link", "set", "eth0", "up"],
                 ["route", "add", "default", "via", spec.gateway]):
        subprocess.run([*inside, *args], check=True, capture_output=True)


def attach_disk(machine: Machine, volume: str, backing: Path, size_gib: int, names: list[str]) -> str:
    """A block device for `volume` in the machine, at every path in `names` (the first is made
    with mknod, the others are symlinks to it). Returns the loop device."""
    if not backing.exists():
        backing.parent.mkdir(parents=True, exist_ok=True)
        with open(backing, "wb") as f:
            f.truncate(size_gib << 30)
    loop = subprocess.run(["losetup", "--find", "--show", str(backing)], check=True,
                          capture_output=True, text=True).stdout.strip()
    rdev = os.stat(loop).st_rdev
    device, *aliases = names
    script = [f"mkdir -p {shlex.quote(os.path.dirname(device))}",
              f"mknod -m 0660 {shlex.quote(device)} b {os.major(rdev)} {os.minor(rdev)}"]
    for alias in aliases:
        script += [f"mkdir -p {shlex.quote(os.path.dirname(alias))}",
                   f"ln -sf {shlex.quote(device)} {shlex.quote(alias)}"]
    result = machine.run(["sh", "-c", "\n".join(script)])
    if result.returncode != 0:
        subprocess.run(["losetup", "-d", loop], check=False)
        raise RuntimeError(f"attach {volume} in {machine.spec.ident}: {result.stderr.strip()}")
    machine.disks[volume] = (loop, names)
    return loop


def detach_disk(machine: Machine, volume: str) -> None:
    loop, names = machine.disks.pop(volume)
    if machine.alive():
        machine.run(["rm", "-f", *names])
    subprocess.run(["losetup", "-d", loop], check=False, capture_output=True)


def remove_tree(path: Path) -> None:
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)
