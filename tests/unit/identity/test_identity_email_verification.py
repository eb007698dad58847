"""Email verification: issued at registration, delivered as a notification, single use, expiring."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from echo_shared.identity.email_verification import parse_member_domains, redeem_verification
from echo_shared.identity.errors import (
    VerificationTokenExpired,
    VerificationTokenInvalid,
    VerificationTokenUsed,
)
from echo_shared.identity.web import RequestInfo
from login.logic.authentication import register
from login.logic.email_verification import verify_email

from tests.unit.identity.fakes import ISSUER, LoginWorld, login_world

REQUEST = RequestInfo(source_ip="198.51.100.7", request_id="req-reg")
PASSWORD = "violet tram under bridge"


@pytest.fixture
def world() -> LoginWorld:
    return login_world()


def _register(world: LoginWorld, email: str) -> str:
    """Register `email`; return the token the notification carried."""
    register(world.service, tenant="demo", email=email, password=PASSWORD, request=REQUEST)
    [notification] = [e for e in world.published.published if e.type == "notification.email_verification"]
    link = str(notification.data["link"])
    assert link.startswith(f"{ISSUER}/verify-email?token=")
    return parse_qs(urlsplit(link).query)["token"][0]


def test_registration_sends_a_link_whose_token_is_stored_only_as_a_digest(world: LoginWorld) -> None:
    # When a user registers
    token = _register(world, "gus@example.com")
    # Then the notification goes to their address, and the store holds no part of the secret
    [notification] = [e for e in world.published.published if e.type == "notification.email_verification"]
    assert notification.data["to"] == "gus@example.com"
    assert notification.resource.startswith("user/")
    verification_id, secret = token.split(".")
    [stored] = world.verifications.verifications.values()
    assert stored.verification_id == verification_id
    assert secret not in repr(stored)
    # And the user.registered event (audited) carries neither the address nor the link
    [registered] = [e for e in world.published.published if e.type == "user.registered"]
    assert "gus@example.com" not in registered.model_dump_json()
    assert token not in registered.model_dump_json()


def test_a_verified_token_marks_the_email_and_cannot_be_used_again(world: LoginWorld) -> None:
    token = _register(world, "gus@example.com")
    # When the link is followed
    user = verify_email(world.service, token, request_id="req-v")
    # Then the email is verified, the guest stays a guest (no vouched domain), and it is audited
    assert user.email_verified
    assert user.role_names == ("guest",)
    [verified] = [e for e in world.published.published if e.type == "user.email_verified"]
    assert verified.data == {"roles": ["guest"], "promoted": False}
    # And the same link a second time is refused as used
    with pytest.raises(VerificationTokenUsed):
        verify_email(world.service, token, request_id="req-v2")


def test_a_verified_guest_of_a_vouched_domain_becomes_a_member(world: LoginWorld) -> None:
    # Given the tenant vouches for vouched.example (the verified-email rule)
    token = _register(world, "Gus@Vouched.Example")
    user = verify_email(world.service, token, request_id="req-v")
    assert user.email_verified
    assert user.role_names == ("member",)
    stored = world.users.find_by_email("demo", "gus@vouched.example")
    assert stored is not None
    assert stored.role_names == ("member",)


def test_an_expired_token_is_refused(world: LoginWorld) -> None:
    token = _register(world, "gus@example.com")
    world.clock.advance(24 * 3600)
    with pytest.raises(VerificationTokenExpired):
        verify_email(world.service, token, request_id="req-v")
    user = world.users.find_by_email("demo", "gus@example.com")
    assert user is not None
    assert not user.email_verified


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # wrong secret, real id
        lambda token: "A" * 22 + "." + token.split(".")[1],  # unknown id
        lambda token: token.replace(".", ""),  # malformed
        lambda token: "",
        lambda token: token + "=",
    ],
    ids=["wrong-secret", "unknown-id", "no-dot", "empty", "padded"],
)
def test_forged_tokens_are_invalid_and_burn_nothing(world: LoginWorld, forge: object) -> None:
    token = _register(world, "gus@example.com")
    assert callable(forge)
    with pytest.raises(VerificationTokenInvalid):
        verify_email(world.service, forge(token), request_id="req-v")
    # The genuine token still works afterwards
    assert verify_email(world.service, token, request_id="req-v").email_verified


def test_a_link_for_a_deleted_account_verifies_nothing(world: LoginWorld) -> None:
    token = _register(world, "gus@example.com")
    user = world.users.find_by_email("demo", "gus@example.com")
    assert user is not None
    world.users.delete("demo", user.user_id)
    with pytest.raises(VerificationTokenInvalid):
        verify_email(world.service, token, request_id="req-v")


def test_redeeming_is_single_use_even_between_the_read_and_the_write(world: LoginWorld) -> None:
    token = _register(world, "gus@example.com")
    verification_id = token.split(".")[0]
    # A racer marks it used between our read and our conditional write
    world.verifications.use_verification(verification_id, now=world.service.now())
    with pytest.raises(VerificationTokenUsed):
        redeem_verification(world.verifications, token, now=world.service.now())


def test_member_domains_parse_and_refuse_garbage() -> None:
    assert parse_member_domains("demo=demo.echo.test,Example.com other=other.echo.test") == {
        "demo": frozenset({"demo.echo.test", "example.com"}),
        "other": frozenset({"other.echo.test"}),
    }
    assert parse_member_domains("") == {}
    with pytest.raises(ValueError, match="tenant=domain"):
        parse_member_domains("demo")
