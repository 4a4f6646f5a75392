"""`ehpc cp` words: which side is a cluster, which is this machine (no cluster needed)."""

from __future__ import annotations

import pytest

from elastichpc.errors import ConfigError
from elastichpc.orchestration.transfer import Endpoint, cluster_path, parse_endpoint, plan_copy


@pytest.mark.parametrize(("word", "expected"), [
    ("demo:data/in", Endpoint("data/in", "demo")),
    ("demo:", Endpoint("", "demo")),
    ("demo:/abs/x", Endpoint("/abs/x", "demo")),
    ("demo/node1:/tmp", Endpoint("/tmp", "demo", "node1")),
    ("demo/demo-node2:x:y", Endpoint("x:y", "demo", "demo-node2")),
    ("local/file", Endpoint("local/file")),
    ("./a:b", Endpoint("./a:b")),  # a / before the : makes it local, as scp
    ("a/b/c:d", Endpoint("a/b/c:d")),
    ("C:\\x", Endpoint("C:\\x")),  # not a cluster name (upper case)
    ("/abs:x", Endpoint("/abs:x")),
    ("-demo:x", Endpoint("-demo:x")),
])
def test_words(word: str, expected: Endpoint) -> None:
    assert parse_endpoint(word) == expected


@pytest.mark.parametrize(("sources", "dest", "message"), [
    (["a"], "b", "both sides are on this machine"),
    (["demo:a"], "other:b", "both sides are on a cluster"),
    (["demo:a", "b"], "c", "all local or all on one cluster node"),
    (["demo:a", "demo/node1:b"], "c", "different clusters or nodes"),
    ([], "demo:", "nothing to copy"),
    ([""], "demo:", "an empty path"),
])
def test_bad_combinations_are_one_line(sources: list[str], dest: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_copy(sources, dest)


def test_one_side_remote() -> None:
    srcs, dst = plan_copy(["a", "dir/b"], "demo:in/")
    assert [s.remote for s in srcs] == [False, False] and dst == Endpoint("in/", "demo")
    srcs, dst = plan_copy(["demo/node1:x", "demo/node1:y"], ".")
    assert {s.node for s in srcs} == {"node1"} and not dst.remote


@pytest.mark.parametrize(("path", "expected"), [
    ("42/out.txt", "/shared/jobs/42/out.txt"),
    ("42", "/shared/jobs/42"),
    ("42/", "/shared/jobs/42/"),
    ("43/out.txt", "43/out.txt"),  # not a job ehpc knows: a directory in the home
    ("x42/out", "x42/out"),
    ("/42/out", "/42/out"),
    ("", ""),
])
def test_job_directories(path: str, expected: str) -> None:
    assert cluster_path(path, {"42": "/shared/jobs/42/"}.get) == expected
