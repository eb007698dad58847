"""Fixtures for the authorization unit tests: the real catalog and engine, in-memory adapters."""

import pytest
from echo_shared.authz.catalog import PolicyCatalog, packaged_catalog
from echo_shared.authz.engine import DecisionEngine

from tests.unit.authz.factories import AuthzWorld, build_world


@pytest.fixture(scope="session")
def catalog() -> PolicyCatalog:
    # Parsed once per session (the process-wide cache is reset between tests).
    return packaged_catalog()


@pytest.fixture(scope="session")
def engine(catalog: PolicyCatalog) -> DecisionEngine:
    return DecisionEngine(catalog)


@pytest.fixture
def world(catalog: PolicyCatalog) -> AuthzWorld:
    return build_world(catalog)
