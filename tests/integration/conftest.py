"""The integration tests' fixtures (`fixtures`; this folder is on sys.path for the helpers)."""

from fixtures import dask_scheduler, mailbox, postgres_server, postgres_url, receiver

__all__ = ["dask_scheduler", "mailbox", "postgres_server", "postgres_url", "receiver"]
