"""Start-up of `ehpc` against bare Python, measured side by side.

Each round runs `python3 -c pass` and then every measured command once, in turn, so load on the
machine falls on both alike; the medians and their ratios go to bench/results/cli_startup.json.
The commands run the way the console script does (import elastichpc.cli.main, call main), in
a scratch state directory holding one cluster with 200 journaled jobs (`job list --local`),
with byte code cached as an installed package has it (PYTHONDONTWRITEBYTECODE is dropped and a
first run writes it).
Usage: python bench/cli_startup.py [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_results

SRC = str(Path(__file__).resolve().parent.parent / "src")
ENTRY = "import sys; from elastichpc.cli.main import main; sys.exit(main())"
COMMANDS = {
    "ehpc --help": ["--help"],
    "ehpc cluster list": ["cluster", "list"],
    "ehpc job list NAME --local": ["job", "list", "clbench", "--local"],
    "ehpc cluster create --help": ["cluster", "create", "--help"],
}


def _seed(state: str, env: dict[str, str]) -> None:
    code = (
        "from elastichpc.state import Journal, JobRow\n"
        "j = Journal()\n"
        "spec = {'name': 'clbench', 'provider': 'local', 'size': 2,\n"
        "        'settings': {'CLUSTER': {'CLUSTER_PREFIX': 'clbench', 'CLUSTER SIZE': 2}}}\n"
        "j.add_cluster('clbench', 'local', 'running', spec)\n"
        "j.add_jobs([JobRow('clbench', str(i), 'slurm', 'ehpcuser', 'job', {}, i)"
        " for i in range(1, 201)])\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory(prefix="ehpc-startup-") as state:
        env = {**os.environ, "EHPC_STATE_DIR": state,
               "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: byte code cached
        _seed(state, env)
        for args in COMMANDS.values():  # the first run writes the byte code
            _time([sys.executable, "-c", ENTRY, *args], env)
        samples: dict[str, list[float]] = {"python3 -c pass": [], **{k: [] for k in COMMANDS}}
        for _ in range(rounds):
            samples["python3 -c pass"].append(_time([sys.executable, "-c", "pass"], env))
            for name, args in COMMANDS.items():
                samples[name].append(_time([sys.executable, "-c", ENTRY, *args], env))
    base = statistics.median(samples["python3 -c pass"])
    numbers = {
        "rounds": rounds,
        "median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in samples.items()},
        "ratio_to_bare_python": {k: round(statistics.median(v) / base, 2)
                                 for k, v in samples.items() if k != "python3 -c pass"},
        "load_average": os.getloadavg()[0],
    }
    path = write_results("cli_startup", numbers)
    for name, ms in numbers["median_ms"].items():
        ratio = numbers["ratio_to_bare_python"].get(name, 1.0)
        print(f"{name:32} {ms:7.1f} ms  {ratio:4.2f}x")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
