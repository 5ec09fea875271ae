"""Delivery to the central system: the HTTP client, the outbox, and the sync run."""
