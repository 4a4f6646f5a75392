"""Storage on a real local cluster (2 compute nodes): how long each step takes through the CLI,
and what a node writes and reads with dd on a data disk, on GlusterFS (replica 2) and on the
NFS fallback. Writes bench/results/storage_local.json.
Usage (as root): python bench/storage_local.py [MIB]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from results_file import write_results

NAME = "benchst"


def main(mib: int) -> None:
    root = f"/srv/ehpc-bench-{os.getpid()}"
    steps: dict[str, float] = {}
    speeds: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}

        def ehpc(*args: str, step: str = "") -> str:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "elastichpc", *args], env=env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"ehpc {' '.join(args)} failed: {proc.stderr}")
            if step:
                steps[step] = round(time.perf_counter() - start, 2)
            return proc.stdout

        def dd(path: str) -> dict[str, float]:
            """MB/s writing (fsync at the end) then reading `mib` MiB, caches dropped between."""
            out = ehpc("ssh", NAME, "node1", "--",
                       f"dd if=/dev/zero of={path}/dd.bin bs=1M count={mib} conv=fsync 2>&1; "
                       f"echo 3 > /proc/sys/vm/drop_caches; dd if={path}/dd.bin of=/dev/null bs=1M 2>&1; "
                       f"rm -f {path}/dd.bin")
            rates = re.findall(r"copied, ([\d.]+) s", out)
            return {"write_MBps": round(mib * 1.048576 / float(rates[0]), 1),
                    "read_MBps": round(mib * 1.048576 / float(rates[1]), 1)}

        try:
            ehpc("cluster", "create", "--name", NAME, "--size", "2", "--local-root-dir", root,
                 step="cluster_create")
            ehpc("disk", "create", "benchdisk", "--size", "10G", "--cluster", NAME,
                 step="disk_create_10g")
            ehpc("disk", "attach", "benchdisk", NAME, "--node", "node1", "--mount-point",
                 "/ehpc-bench-disk", "--filesystem", "xfs", step="disk_attach_format_mount_xfs")
            speeds["data_disk_xfs"] = dd("/ehpc-bench-disk")
            ehpc("disk", "snapshot", "benchdisk", "benchsnap", "--cluster", NAME, step="disk_snapshot_10g")
            ehpc("disk", "detach", "benchdisk", "--cluster", NAME, step="disk_unmount_detach")
            ehpc("fs", "gluster", NAME, "--replicate", "2", "--mount-point", "/ehpc-bench-gluster",
                 step="gluster_replica2_volume_and_mounts")
            speeds["glusterfs_replica2"] = dd("/ehpc-bench-gluster")
            ehpc("fs", "nfs", NAME, "--device", "/ehpc-bench-nfs", "--mount-point",
                 "/ehpc-bench-nfs", "--fsid", "7", step="nfs_export_and_proof")
            speeds["nfs_fallback_bind"] = dd("/ehpc-bench-nfs")
        finally:
            ehpc("cluster", "terminate", NAME, step="terminate")
            shutil.rmtree(root, ignore_errors=True)
            for path in ("/ehpc-bench-disk", "/ehpc-bench-gluster", "/ehpc-bench-nfs"):
                if os.path.isdir(path) and not os.listdir(path):
                    os.rmdir(path)
    print(json.dumps({"steps_s": steps, "dd": speeds}, indent=2))
    write_results("storage_local", {
        "benchmark": "local storage steps through the CLI (real loop devices, GlusterFS, nfs-ganesha)",
        "dd_mib": mib,
        "steps_s": steps,
        "dd_on_node1": speeds,
    })

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 256)
