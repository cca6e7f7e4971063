"""The kernel: pure helpers that several apps share, importing no Django and no app.

- `templating`: the sandboxed, bounded Jinja2 environment for every user-written template.
- `expressions`: CEL conditions, bounded.
- `outbound`: the SSRF-safe HTTP client with Standard Webhooks signing.
- `crypto`: symmetric encryption of secrets at rest.

Because nothing here touches Django, Temporal workflow code (through `imports_passed_through`),
the graph compiler and the editor's validation can all use the same modules, and their tests run
without a database. `tests/test_layout.py` keeps it so.
"""
