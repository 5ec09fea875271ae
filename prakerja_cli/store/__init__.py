"""The local SQLite store: one opener that applies migrations, and the queries."""
