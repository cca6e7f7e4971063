"""Inbound webhook writes: `integrations` (managing integrations) and `events` (receiving, starting, replaying)."""
