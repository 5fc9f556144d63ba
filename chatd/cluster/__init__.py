"""Running several chatd nodes on Redis (docs/cluster.md)."""
