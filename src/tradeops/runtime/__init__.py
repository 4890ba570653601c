"""Runtime: ports, scheduler, order egress, overrides watcher. Talks to adapters only via ports."""
