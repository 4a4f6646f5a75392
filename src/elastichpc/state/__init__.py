"""What exists, journaled in SQLite: survives crashes and concurrent CLI calls."""

from .journal import ClusterRow, JobRow, Journal, NodeRow, state_dir

__all__ = ["ClusterRow", "JobRow", "Journal", "NodeRow", "state_dir"]
