"""The suite's start-up sweep (tests/sweep.py) takes only clusters whose records lie under the
suite's own root: a tagged link or a root without a record is someone else's, whatever this
process can or cannot see of the host."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from elastichpc.providers.local import hostnet

from ..sweep import stale_clusters


def test_only_clusters_recorded_under_the_suites_root_are_stale(tmp_path: Path) -> None:
    for where in ("t1/left-a", "left-b"):  # a test's ROOT_DIR, and the root itself
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "cluster.json").write_text(json.dumps({"subnet": 200}))
    (tmp_path / "t2" / "no-record").mkdir(parents=True)  # a directory alone proves nothing
    link = "ehsweeptest0"
    subprocess.run(["ip", "link", "add", link, "type", "bridge"], check=True)
    try:  # a live cluster's link as seen from a root that cannot see the host's namespaces
        subprocess.run(["ip", "link", "set", link, "alias", hostnet.alias("host-live")], check=True)
        found = stale_clusters(tmp_path)
    finally:
        subprocess.run(["ip", "link", "delete", link], check=True)
    assert found == {"left-a": tmp_path / "t1", "left-b": tmp_path}
