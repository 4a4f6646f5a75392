"""The agent's web API (`/api/...`) and dashboard, served beside the agent's loop on the head.

Bound to the head's loopback only: a user reaches it through `ehpc dashboard NAME`, an SSH local
port forward over the cluster's pinned SSH connection, so nothing is opened to the world and no
certificate is needed. Every call needs a user's API token (a bearer token: a grant with a role,
an expiry, revocable; only its hash is on the head) or a browser session made from a one-time
login link (grants.py, auth.py); every browser form carries a CSRF token. Jobs go through the
same scheduler adapters as `ehpc job` (orchestration/jobs.py).
"""

# On the head's loopback, below 1024: only root may listen there, so no job or user of the head
# can stand in for the agent while it restarts (and collect login codes). The guide's
# MAIN_NODE:8080/sge becomes http://127.0.0.1:LOCAL_PORT/sge through `ehpc dashboard`.
PORT = 808
WEB_DIR = "web"  # under the agent's directory: grants, one-time login codes (root only)
