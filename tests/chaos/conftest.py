"""The chaos tests reuse the end-to-end fixtures (stand, gateway processes, keys)."""

from tests.e2e.conftest import e2e_keys, gateway_process, stand, stand_database_url  # noqa: F401
