"""Mono's Temporal platform layer: clients, namespaces, queues, workers. Imports no app."""
