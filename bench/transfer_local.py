"""`ehpc cp` against plain `rsync -a -e "ssh -F <the cluster's ssh_config>"` on a real local
cluster: the same data (one large file; a directory of small files), the same head, the same
SSH configuration (so both share its multiplexed connection), to a fresh destination each time.
`ehpc cp` includes its own start-up (Python, the journal) and runs rsync as the cluster user.
Writes bench/results/transfer_local.json.
Usage (as root): python bench/transfer_local.py [ROUNDS=5] [BIG_MIB=512] [SMALL_FILES=2000]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from results_file import run_checked, write_results

NAME = "cpbench"


def main(rounds: int, big_mib: int, small: int) -> None:
    root = f"/srv/ehpc-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory() as state, tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        ehpc = [sys.executable, "-m", "elastichpc"]
        data = Path(work)
        with open(data / "big.bin", "wb") as out:
            for _ in range(big_mib):
                out.write(os.urandom(2**20))
        (data / "small").mkdir()
        for i in range(small):
            (data / "small" / f"f{i:05d}").write_bytes(os.urandom(2048 + i % 4096))
        sizes = {"big_file": big_mib * 2**20,
                 "small_files": sum(p.stat().st_size for p in (data / "small").iterdir())}
        config = Path(state) / "clusters" / NAME / "ssh_config"
        head = f"{NAME}-head"
        ssh = ["ssh", "-F", str(config), head, "--"]
        plain = ["rsync", "-a", "-e", f"ssh -F {config}"]

        def cases(tool: str, dest: str) -> dict[str, list[str]]:
            """The three copies with `tool`, into `dest` (a fresh directory on the head) and back
            from it into data/back-<tool>."""
            back = f"{data / f'back-{tool}'}/"
            if tool == "ehpc":
                return {"big_file_push": [*ehpc, "cp", str(data / "big.bin"), f"{NAME}:{dest}/"],
                        "big_file_pull": [*ehpc, "cp", f"{NAME}:{dest}/big.bin", back],
                        "small_files_push": [*ehpc, "cp", "-r", str(data / "small"), f"{NAME}:{dest}/"]}
            return {"big_file_push": [*plain, str(data / "big.bin"), f"{head}:{dest}/"],
                    "big_file_pull": [*plain, f"{head}:{dest}/big.bin", back],
                    "small_files_push": [*plain, str(data / "small"), f"{head}:{dest}/"]}

        seconds: dict[str, dict[str, list[float]]] = {}
        try:
            run_checked([*ehpc, "cluster", "create", "--name", NAME, "--size", "1",
                         "--local-root-dir", root], env)
            for round_ in range(rounds):
                tools = ["ehpc", "rsync"] if round_ % 2 == 0 else ["rsync", "ehpc"]
                for tool in tools:
                    dest = f"/home/ehpcuser/bench-{tool}"
                    run_checked([*ssh, f"rm -rf {dest} && install -d -o ehpcuser {dest}"], env)
                    shutil.rmtree(data / f"back-{tool}", ignore_errors=True)
                    (data / f"back-{tool}").mkdir()
                    for case, argv in cases(tool, dest).items():
                        start = time.perf_counter()
                        run_checked(argv, env)
                        seconds.setdefault(case, {}).setdefault(tool, []).append(
                            time.perf_counter() - start)
        finally:
            run_checked([*ehpc, "cluster", "terminate", NAME], env)
            shutil.rmtree(root, ignore_errors=True)

    results = {}
    for case, by_tool in seconds.items():
        size = sizes["small_files" if case.startswith("small") else "big_file"]
        rates = {tool: round(size / 2**20 / statistics.median(times), 1)
                 for tool, times in by_tool.items()}
        results[case] = {"median_MiBps": rates,
                         "seconds": {t: [round(s, 3) for s in v] for t, v in by_tool.items()},
                         "ehpc_vs_rsync": round(rates["ehpc"] / rates["rsync"], 3)}
    print(results)
    write_results("transfer_local", {
        "benchmark": "ehpc cp vs plain rsync -a -e 'ssh -F ssh_config' to a local cluster's head",
        "rounds": rounds,
        "big_file_mib": big_mib,
        "small_files": small,
        "small_files_bytes": sizes["small_files"],
        "results": results,
        "goal": "ehpc_vs_rsync >= 0.9",
    })


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [5, 512, 2000][len(args):]))
