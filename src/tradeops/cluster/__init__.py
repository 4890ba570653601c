"""Cluster mode: NATS JetStream lease with fencing, overrides in KV, the decision log mirrored."""
