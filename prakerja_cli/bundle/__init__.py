"""USB bundles between the office's desks and its hub: encrypted, signed, taken in as a sync."""
