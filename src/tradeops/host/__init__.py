"""Adapters to the local host: override files and their watcher (inotify), the process sampler (psutil)."""
