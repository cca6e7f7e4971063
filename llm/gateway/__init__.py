"""The LLM gateway's parts, one job each. Callers go through `llm.services` (`llm_execute`,
`llm_stream`), never through these modules directly.

- `calls`: what is asked (`Call`) and what comes back (`Result`, `Attempt`).
- `targets`: a candidate resolved into a provider configuration, SDK client, health row and price.
- `failover`: the walk over a route's candidates, with cooldowns.
- `usage`: token estimates, limit reservations and the usage row of every attempt.
- `cache`: per-tenant response cache.

Rate limits and budgets live in `llm.limits`; route text is parsed by `llm.route_parsing`.
"""
