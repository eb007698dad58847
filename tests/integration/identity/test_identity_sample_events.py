"""Every identity sample in events/ runs through its handler (what `make invoke` sends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.identity.conftest import IdentityWorld


def test_discovery_and_jwks_samples(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from token_service.handler import lambda_handler

    for name in ("token.discovery.apigw.json", "token.jwks.apigw.json"):
        response = lambda_handler(sample_event(name), lambda_context)
        assert response["statusCode"] == 200
        assert response["headers"]["content-type"] == "application/json"


def test_client_credentials_sample_with_a_placeholder_secret_is_refused(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from token_service.handler import lambda_handler

    response = lambda_handler(sample_event("token.client_credentials.apigw.json"), lambda_context)
    assert response["statusCode"] == 401


def test_login_samples(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from login.handler import lambda_handler

    authorize = lambda_handler(sample_event("login.authorize.apigw.json"), lambda_context)
    assert authorize["statusCode"] == 303
    assert authorize["headers"]["location"].endswith("/login")
    page = lambda_handler(sample_event("login.login_page.apigw.json"), lambda_context)
    assert page["statusCode"] == 200
    assert 'name="csrf_token"' in page["body"]


def test_users_samples(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from users.handler import lambda_handler

    assert lambda_handler(sample_event("users.me.apigw.json"), lambda_context)["statusCode"] == 200
    assert lambda_handler(sample_event("users.lockout.apigw.json"), lambda_context)["statusCode"] == 200


def test_authorizer_sample_with_a_placeholder_token_is_unauthorized(
    identity: IdentityWorld, sample_event: Callable[[str], dict[str, Any]], lambda_context: Any
) -> None:
    from authorizer.handler import lambda_handler

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        lambda_handler(sample_event("authorizer.token.json"), lambda_context)
