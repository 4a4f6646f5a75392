"""The guide's own command lines, kept working: `ehpcutils` (configuration mode), `ehpc-client`
(command mode) and `volumes`, as the ElasticHPC v2.0 guide writes them.

Each is translated into one `ehpc` command (printed on stderr, so users learn the new form) and
run by the same code. Options are the guide's: `--key=value`, `-k=value`, bare `key=value`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Collection, Sequence

from ..config.conffile import suggest
from ..errors import ConfigError

Options = dict[str, str]
TRUE = "true"


def parse(argv: Sequence[str]) -> Options:
    """`--size=100`, `-r=EU1`, `n=5`, `--create` -> {"size": "100", "r": "EU1", "n": "5",
    "create": "true"}; keys lower-cased, dashes inside keys kept."""
    options: Options = {}
    for token in argv:
        key, sep, value = token.lstrip("-").partition("=")
        if not key:
            raise ConfigError(f"cannot read option {token!r}")
        options[key.lower()] = value if sep else TRUE
    return options


def check_known(options: Options, known: Collection[str], tool: str) -> None:
    """A flag the wrapper does not know is refused (nothing runs), with the closest known one:
    a dropped `--ownr=system` would run the job as someone else."""
    for key in options:
        if key not in known:
            dashes = "-" if len(key) <= 3 else "--"
            hint = suggest(key, {k: ("-" if len(k) <= 3 else "--") + k for k in known})
            raise ConfigError(f"{tool}: unknown option {dashes}{key}{hint}")


def first(options: Options, *keys: str, default: str = "") -> str:
    for key in keys:
        if options.get(key, "") not in ("", TRUE):
            return options[key]
    return default


def _cluster_name(options: Options) -> str:
    """--cluster, else the cluster whose head answers to --domain/-d, else [CLUSTER] CLUSTER_PREFIX."""
    name = first(options, "cluster")
    domain = first(options, "domain", "d")
    if not name and domain:
        from ..orchestration.inventory import cluster_with_head

        name = cluster_with_head(domain)
        if not name:
            raise ConfigError(f"no cluster has a head node at {domain!r}")
    if not name:
        from ..config import load_settings

        name = load_settings().get("CLUSTER", "CLUSTER_PREFIX") or ""
    if not name:
        raise ConfigError("which cluster? pass --cluster=NAME (or set [CLUSTER] CLUSTER_PREFIX)")
    return name


def _job_submit(options: Options) -> list[str]:
    # The guide spells it --command and, once, --commmand.
    command = first(options, "command", "commmand")
    if not command:
        raise ConfigError("--submit needs --command='...'")
    argv = ["job", "submit", _cluster_name(options), "--command", command]
    if job_id := first(options, "id"):  # the guide's job number: ehpc ids jobs itself
        print(f"ehpc: note: --id={job_id} names the job job-{job_id}; the scheduler gives the "
              "job id (printed below)", file=sys.stderr)
        argv += ["--job-name", f"job-{job_id}"]
    if "owner" in options:  # a bare or empty --owner is refused by job submit, not dropped
        argv += ["--owner", first(options, "owner")]
    if files := first(options, "input-files"):
        argv += ["--input-files", files]
    if TRUE in (options.get("monitor"), options.get("wait")):
        argv.append("--monitor")
    return argv


def _node_of(node: str) -> tuple[str, str, str]:
    """(cluster, node name, role) of the node called `node` (its name or machine id)."""
    from ..state import Journal

    journal = Journal()
    for row in journal.clusters():
        for each in journal.nodes(row.name):
            if node in (each.name, each.provider_id):
                return row.name, each.name, each.role
    raise ConfigError(f"no cluster has a node {node!r}")


def _node_cluster(node: str) -> str:
    return _node_of(node)[0]


def _remove_node(options: Options) -> list[str]:
    """--nodes-terminate -d=HEAD -id=INSTANCE: that one compute node leaves the cluster."""
    cluster, name, role = _node_of(first(options, "id"))
    if ("cluster" in options or "domain" in options or "d" in options) \
            and _cluster_name(options) != cluster:
        raise ConfigError(f"node {options['id']} belongs to cluster {cluster}, not "
                          f"{_cluster_name(options)}")
    if role == "head":
        raise ConfigError(f"{options['id']} is the head of {cluster}: removing it would end the "
                          f"cluster; to do that, --terminate --cluster={cluster}")
    return ["cluster", "resize", cluster, "--remove", name]


def _data(options: Options, provider: list[str]) -> list[list[str]]:
    """ehpcutils --data: disks (guide 4.a-4.d, 4.f, 4.g) on the cluster of cluster.conf."""
    if "list" in options:
        return [["disk", "list", *provider]]
    if "remove" in options:
        return [["disk", "delete", first(options, "disk"), *provider]]
    snapshot = first(options, "snapshot")
    name = first(options, "disk", default=f"{snapshot}-copy" if snapshot else "")
    create = ["disk", "create", name, *provider]
    create += ["--snapshot", snapshot] if snapshot else ["--size", first(options, "size")]
    commands = [create]
    if "attach" in options or "gluster" in options:
        cluster = _cluster_name(options)
        create += ["--attach", "--cluster", cluster]
        if "gluster" in options:
            commands.append(["fs", "gluster", cluster])
    return commands


# The flags each wrapper takes: the guide's (some, such as --conf or --private-Key, are read
# and have no effect here) and the few ehpc adds (--cluster, --monitor, --wait).
SUBMIT_FLAGS = {"submit", "command", "commmand", "owner", "input-files", "monitor", "wait", "id",
                "cluster", "domain", "d"}
EHPCUTILS_FLAGS = SUBMIT_FLAGS | {"provider", "cross", "create", "compute", "list", "terminate",
                                  "data", "size", "disk", "snapshot", "attach", "gluster", "remove",
                                  "dry-run"}


def _dry_run(options: Options) -> list[str]:
    """`--dry-run` on a guide create: the plan and its checks, nothing made."""
    return ["--dry-run"] if "dry-run" in options else []


def ehpcutils(options: Options) -> list[list[str]]:
    """Configuration mode: the settings come from cluster.conf, the action from a flag."""
    check_known(options, EHPCUTILS_FLAGS, "ehpcutils")
    provider = ["--provider", options["provider"]] if "provider" in options else []
    if "cross" in options:  # pools from [CROSS]; terminate then finds every provider's part
        provider = ["--cross"] if "create" in options else []
    if "create" in options:
        return [["cluster", "create", *provider, *_dry_run(options)]]
    if "compute" in options and "list" in options:
        return [["nodes", "list", _cluster_name(options)]]
    if "terminate" in options:
        return [["cluster", "terminate", _cluster_name(options), *provider]]
    if "data" in options:
        return _data(options, provider)
    if "submit" in options:
        return [_job_submit(options)]
    raise ConfigError("unknown ehpcutils action: expected --create, --compute --list, "
                      "--terminate, --data or --submit")


# ehpc-client (command mode) flags -> ehpc flags, per provider.
CLIENT_FLAGS = {
    "aws": {"r": "--aws-region", "region": "--aws-region", "main-node-type": "--aws-master-type",
            "extra-nodes-type": "--aws-instance-type", "t": "--aws-instance-type",
            "ami": "--image-aws-image-id", "sg": "--aws-security-group",
            "kpair": "--aws-key-pair"},
    "gce": {"type": "--gce-instance-type", "region": "--gce-zone", "zone": "--gce-zone",
            "image": "--image-gce-image-id", "project": "--gce-project-id",
            "oauth": "--gce-oauth-storage", "kpair": "--gce-cluster-client-key"},
    "azure": {"type": "--azure-instance-type", "region": "--azure-region",
              "image": "--image-azure-image-id", "subid": "--azure-subscription-id",
              "thumb": "--azure-thumbprint", "pem": "--azure-certificate-path",
              "pfx": "--azure-cert-data-path", "pfx-pass": "--azure-cert-password",
              "cer": "--azure-pkfile"},
}


CLIENT_FLAGS_OTHER = SUBMIT_FLAGS | {
    "provider", "create", "conf", "n", "count", "extramachinespbscores", "nfs-mountpoint",
    "nfs-newvolume", "nodes-lst", "nodes", "list", "nodes-terminate", "terminate", "job-submit",
    "job-status", "list-disks", "remove-disk", "attachdatadisk", "nfs", "disk", "gluster",
    "volume-attach-mount", "attach", "snapshot", "spot-add", "spot-resume", "spot-cancel",
    "instance", "url", "device", "mountpoint", "fsid", "volume", "stripe", "replicate",
    "instance-id", "volume-id", "format", "diskname", "source", "size", "zone", "cert", "price",
    "dry-run",
}
EHPC_CLIENT_FLAGS = CLIENT_FLAGS_OTHER.union(*CLIENT_FLAGS.values())
VOLUMES_FLAGS = set(CLIENT_FLAGS["aws"]) | {
    "create-volume", "delete-volume", "lst-avaliable-volumes", "lst-available-volumes", "z",
    "zone", "s", "size", "snap", "snapshot", "id", "name", "private-key", "certificate"}


def client_provider(options: Options) -> str:
    if "provider" in options:
        return options["provider"]
    if {"oauth", "project"} & options.keys():
        return "gce"
    if {"thumb", "subid", "pem", "pfx", "cer"} & options.keys():
        return "azure"
    return "aws"


def _provider_flags(provider: str, options: Options) -> list[str]:
    flags = []
    for key, flag in CLIENT_FLAGS.get(provider, {}).items():
        if first(options, key):
            flags += [flag, options[key]]
    return flags


def _client_disks(options: Options, where: list[str]) -> list[list[str]] | None:
    """ehpc-client's disk, GlusterFS and NFS actions (guide 4.a-4.g), or None. `where` is
    --provider NAME and its credential flags; file systems use the cluster's own provider."""
    credentials = where[2:]
    if "list-disks" in options:
        return [["disk", "list", *where]]
    if "remove-disk" in options:
        return [["disk", "delete", first(options, "disk"), *where]]
    if "attachdatadisk" in options:  # Azure: a new disk from a VHD, attached (and GlusterFS)
        node, url = first(options, "instance"), first(options, "url")
        cluster = _node_cluster(node)
        name = url.rsplit("/", 1)[-1].removesuffix(".vhd").lower() or "datadisk"
        commands = [["disk", "create", name, "--url", url, "--attach", "--cluster", cluster,
                     "--node", node, *where]]
        return commands + ([["fs", "gluster", cluster, *credentials]] if "gluster" in options else [])
    if "nfs" in options:
        argv = ["fs", "nfs", _cluster_name(options), *credentials]
        for key, flag in (("device", "--device"), ("mountpoint", "--mount-point"), ("fsid", "--fsid")):
            argv += [flag, options[key]] if first(options, key) else []
        return [argv]
    if "disk" in options and "gluster" in options:
        argv = ["fs", "gluster", _cluster_name(options), *credentials]
        for key, flag in (("volume", "--volume"), ("mountpoint", "--mount-point"),
                          ("stripe", "--stripe"), ("replicate", "--replicate")):
            argv += [flag, options[key]] if first(options, key) else []
        return [argv]
    if "volume-attach-mount" in options:
        node = first(options, "instance-id", "instance")
        argv = ["disk", "attach", first(options, "volume-id"), _node_cluster(node), "--node", node]
        argv += ["--mount-point", options["mountpoint"]] if first(options, "mountpoint") else []
        return [argv + (["--format"] if first(options, "format").lower() in ("y", "yes") else [])]
    if "disk" in options and "attach" in options:
        node = first(options, "instance")
        return [["disk", "attach", first(options, "diskname"), _node_cluster(node), "--node", node]]
    if "disk" in options:
        name = first(options, "diskname")
        source = ["--snapshot", first(options, "source")] if "snapshot" in options else []
        return [["disk", "create", name, *(source or ["--size", first(options, "size")]), *where]]
    return None


def _client_spot(options: Options, where: list[str]) -> list[list[str]] | None:
    """ehpc-client's AWS spot actions (guide 3.d), or None."""
    if "spot-add" in options:
        argv = ["spot", "request", "--name", first(options, "cluster", default="ehpc-spot"), *where]
        argv += ["--size", first(options, "n", "count", default="1")]
        return [argv + (["--price", options["price"]] if first(options, "price") else [])]
    if "spot-resume" in options:
        return [["spot", "resume"]]
    if "spot-cancel" in options:
        return [["spot", "cancel", first(options, "id"), *where]]
    return None


def ehpc_client(options: Options) -> list[list[str]]:
    """Command mode: everything on the command line, the provider told by its flags."""
    check_known(options, EHPC_CLIENT_FLAGS, "ehpc-client")
    provider = client_provider(options)
    where = ["--provider", provider, *_provider_flags(provider, options)]
    if "create" in options:
        argv = ["cluster", "create", *where, *_dry_run(options)]
        if name := first(options, "cluster"):
            argv += ["--name", name]
        if size := first(options, "n", "count"):
            argv += ["--size", size]
        for key, flag in (("nfs-mountpoint", "--nfs-mountPoint"), ("nfs-newvolume", "--nfs-newVolume")):
            argv += [flag, options[key]] if first(options, key) else []  # guide 4.e
        return [argv]
    if "nodes-lst" in options or ("nodes" in options and "list" in options):
        return [["nodes", "list", _cluster_name(options)]]
    if "nodes-terminate" in options and first(options, "id"):
        return [_remove_node(options)]  # one instance: never widened to the whole cluster
    if "nodes-terminate" in options or "terminate" in options:
        return [["cluster", "terminate", _cluster_name(options), "--provider", provider]]
    if "job-submit" in options:
        return [_job_submit(options)]
    if "job-status" in options:
        return [["job", "status", _cluster_name(options), first(options, "id")]]
    commands = _client_disks(options, where) or _client_spot(options, where)
    if commands is None:
        raise ConfigError("unknown ehpc-client action (see the guide's chapters 3-5)")
    return commands


def volumes(options: Options) -> list[list[str]]:
    """The guide's AWS ./volumes (4.a, 4.b, 4.f, 4.g)."""
    check_known(options, VOLUMES_FLAGS, "volumes")
    where = ["--provider", "aws", *_provider_flags("aws", options)]
    if "create-volume" in options:
        argv = ["disk", "create", first(options, "name", default="volume"), *where]
        argv += ["--zone", options["z"]] if first(options, "z") else []
        if snapshot := first(options, "snap", "snapshot"):
            return [[*argv, "--snapshot", snapshot]]
        return [[*argv, "--size", first(options, "s", "size")]]
    if "delete-volume" in options:
        return [["disk", "delete", first(options, "id"), *where]]
    if "lst-avaliable-volumes" in options or "lst-available-volumes" in options:
        return [["disk", "list", *where]]
    raise ConfigError("unknown volumes action: expected --create-volume, --delete-volume "
                      "or --lst-avaliable-volumes")


def _run(translate: Callable[[Options], list[list[str]]], argv: Sequence[str] | None) -> int:
    """Translate, then run each ehpc command in turn; stop at the first that fails."""
    from .main import main

    try:
        commands = translate(parse(sys.argv[1:] if argv is None else argv))
    except ConfigError as err:
        print(f"ehpc: error: {err}", file=sys.stderr)
        return err.exit_code
    for command in commands:
        print(f"(ehpc {shown(command)})", file=sys.stderr)
        code = main(command)
        if code:
            return code
    return 0


def shown(argv: list[str]) -> str:
    """The translated command for the user to read, secret values (passwords, keys) hidden."""
    from ..config import all_keys

    secret = {k.flag for k in all_keys() if k.secret}
    words = []
    for before, word in zip(["", *argv], argv, strict=False):
        if before in secret:
            word = "***"
        words.append(word if shlex.quote(word) == word else shlex.quote(word))
    return " ".join(words)


def ehpcutils_main(argv: Sequence[str] | None = None) -> int:
    return _run(ehpcutils, argv)


def ehpc_client_main(argv: Sequence[str] | None = None) -> int:
    return _run(ehpc_client, argv)


def volumes_main(argv: Sequence[str] | None = None) -> int:
    return _run(volumes, argv)
