"""What each provider can do, declared once: the spec validates against it, the fleet routes by
it and `Provider` exposes it (no SDK is imported to answer)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    max_nodes: int  # compute nodes one cluster may have on this provider
    site_key: tuple[str, str]  # the setting a pool's SITE stands for (region, zone, local site)
    # The guide's price-bid spot requests (3.d), used by a one-pool spot cluster; spot pools of a
    # multi-pool cluster (and every spot node elsewhere) are spot machines made by launch().
    spot_requests: bool = False
    # Compute nodes launched many per call from one boot script, which names none of them (the
    # configure step names each).
    shared_compute_boot: bool = False
    # The boot script reaches the node through no metadata service (local), so it may carry the
    # node's secrets: the SSH host key the CLI made for it, its overlay key when it joins a
    # running cluster. Elsewhere each node makes its own host key and prints the public half on
    # its console (orchestration/hostkeys.py), and no private key is ever in user-data.
    private_boot: bool = False
    # The provider itself gives every node the cluster's shared directory (local: one host
    # directory bind-mounted); elsewhere the head exports it over NFS by default.
    shares_work_dir: bool = False
    shares_host_software: bool = False  # nodes run this machine's /usr (packages go here)
    # Every node of a cluster sees one /home; otherwise the cluster user's home lives in the
    # shared directory (SHARED_DIR/home), wherever that is shared.
    shares_home: bool = False
    regional_inventory: bool = False  # machines() sees one region only: ask each pool's region
    ebs_nfs: bool = False  # the guide's NFS on a new cloud volume (AWS_VOLUME_*)
    overlay_hub: bool = False  # can open the overlay's port on the head (Provider.allow_overlay)
    # The setting that says an account of this provider is configured: a terminate that has lost
    # its state searches every provider so configured.
    account_key: tuple[str, str] | None = None


CAPABILITIES: dict[str, Capabilities] = {
    "local": Capabilities(200, ("LOCAL", "SITE"), shares_host_software=True, shares_home=True,
                          overlay_hub=True, private_boot=True, shares_work_dir=True),
    "aws": Capabilities(1000, ("AWS", "REGION"), spot_requests=True, shared_compute_boot=True,
                        regional_inventory=True, ebs_nfs=True, overlay_hub=True,
                        account_key=("AWS", "accessKey")),
    "gce": Capabilities(1000, ("GCE", "ZONE"), shared_compute_boot=True, overlay_hub=True,
                        account_key=("GCE", "PROJECT_ID")),
    "azure": Capabilities(1000, ("AZURE", "REGION"), shared_compute_boot=True,
                          account_key=("AZURE", "SUBSCRIPTION ID")),
}
