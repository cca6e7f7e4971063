from tests.workflows.conftest import acme, globex  # noqa: F401  (fixtures shared with the engine tests)
