"""SQLite state: what each subscriber was sent, the delivery ledger, runs, web subscribers,
feed history and the HTTP cache. One module per table family; `db` opens and migrates."""

from digest.store.db import immediate, open_db

__all__ = ["immediate", "open_db"]
