"""The guide's own command lines, kept working: `ehpcutils` (configuration mode), `ehpc-client`
(command mode) and `volumes`, as the ElasticHPC v2.0 guide writes them.

Each is translated into one `ehpc` command (printed on stderr, so users learn the new form) and
run by the same code. Options are the guide's: `--key=value`, `-k=value`, bare `key=value`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence

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
        from ..state import Journal

        journal = Journal()
        for row in journal.clusters():
            if any(n.role == "head" and domain in (n.address, n.private_address, n.provider_id)
                   for n in journal.nodes(row.name)):
                return row.name
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
    if owner := first(options, "owner"):
        argv += ["--owner", owner]
    if files := first(options, "input-files"):
        argv += ["--input-files", files]
    if TRUE in (options.get("monitor"), options.get("wait")):
        argv.append("--monitor")
    return argv


def ehpcutils(options: Options) -> list[str]:
    """Configuration mode: the settings come from cluster.conf, the action from a flag."""
    provider = ["--provider", options["provider"]] if "provider" in options else []
    if "cross" in options:
        raise ConfigError("clusters across several clouds ([CROSS]) are not supported yet")
    if "create" in options:
        return ["cluster", "create", *provider]
    if "compute" in options and "list" in options:
        return ["nodes", "list", _cluster_name(options)]
    if "terminate" in options:
        return ["cluster", "terminate", _cluster_name(options), *provider]
    if "submit" in options:
        return _job_submit(options)
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


def ehpc_client(options: Options) -> list[str]:
    """Command mode: everything on the command line, the provider told by its flags."""
    provider = client_provider(options)
    if "create" in options:
        argv = ["cluster", "create", "--provider", provider, *_provider_flags(provider, options)]
        if name := first(options, "cluster"):
            argv += ["--name", name]
        if size := first(options, "n", "count"):
            argv += ["--size", size]
        return argv
    if "nodes-lst" in options or ("nodes" in options and "list" in options):
        return ["nodes", "list", _cluster_name(options)]
    if "nodes-terminate" in options or "terminate" in options:
        return ["cluster", "terminate", _cluster_name(options), "--provider", provider]
    if "job-submit" in options:
        return _job_submit(options)
    if "job-status" in options:
        return ["job", "status", _cluster_name(options), first(options, "id")]
    raise ConfigError("unknown ehpc-client action (see the guide's chapters 3-5)")


def volumes(options: Options) -> list[str]:
    raise ConfigError("unknown volumes action: expected --create-volume, --delete-volume "
                      "or --lst-avaliable-volumes")


def _run(translate: Callable[[Options], list[str]], argv: Sequence[str] | None) -> int:
    from .main import main

    try:
        translated = translate(parse(sys.argv[1:] if argv is None else argv))
    except ConfigError as err:
        print(f"ehpc: error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"(ehpc {shown(translated)})", file=sys.stderr)
    return main(translated)


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
