"""The head-node agent: a daemon on each cluster's head running this same ehpc package.

The client uploads its own package (the exact files it runs, not whatever a checkout or the
head's package manager has) with the cluster's keys, public spec, node list and the providers'
credentials at create (`install.py`). On the head (`head.py`, `daemon.py`) the agent keeps its own
journal of nodes and events, replaces reclaimed spot nodes, and runs the membership changes the
client asks for (`ehpc cluster resize`), so every change to the cluster's nodes happens in one
place under one lock. A web API may later be mounted beside its loop.
"""

AGENT_DIR = "/var/lib/ehpc-agent"  # on the head: root only (0700)
LAUNCHER = f"{AGENT_DIR}/ehpc-agent"  # runs `python -m elastichpc.agent` with the uploaded package
