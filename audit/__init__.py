"""Append-only audit log: who did what to which object in a tenant, and through which request."""
