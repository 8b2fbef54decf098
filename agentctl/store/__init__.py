"""Database access: where the server is, connections, migrations, named queries."""

from agentctl.store.connection import DatabaseUnavailable, connect, database_url, open_database

__all__ = ["DatabaseUnavailable", "connect", "database_url", "open_database"]
