"""Signing-key rotation: next key published before it signs, previous kept until its tokens expire."""

from __future__ import annotations

import base64
import json

import pytest
from echo_shared.events import EventEnvelope
from echo_shared.identity.errors import Conflict, SigningUnavailable, TokenRejected
from echo_shared.identity.events import IdentityEvent, IdentityEvents
from echo_shared.identity.keys import (
    KeyState,
    KeyTransition,
    PublishedKeys,
    SigningKey,
    current_key,
)
from echo_shared.identity.rotation import RotationPolicy, RotationReport
from echo_shared.identity.signing import JwtSigner

from tests.fakes.events import InMemoryEventPublisher
from tests.fakes.identity_keys import InMemorySigningKeyRepository
from tests.fakes.identity_signing import InMemoryKeyVault
from tests.unit.identity.fakes import DAY, FakeClock, KeyRing


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ring(clock: FakeClock) -> KeyRing:
    return KeyRing(clock)


def states(ring: KeyRing) -> dict[KeyState, int]:
    counts: dict[KeyState, int] = {}
    for key in ring.repository.list_keys():
        counts[key.state] = counts.get(key.state, 0) + 1
    return counts


def header_kid(token: str) -> str:
    segment = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"])


def fresh_view(ring: KeyRing) -> PublishedKeys:
    """What a newly started container sees (no warm cache)."""
    return PublishedKeys(ring.repository, monotonic=ring.clock.monotonic)


def test_bootstrap_creates_one_current_key_and_is_idempotent(ring: KeyRing) -> None:
    # Given the ring bootstrapped once (by its constructor)
    # When bootstrap runs again
    report = ring.rotator.ensure_current()
    # Then nothing changes: exactly one key signs
    assert not report.changed
    assert states(ring) == {KeyState.CURRENT: 1}


def test_next_key_is_published_ahead_and_only_signs_once_due(ring: KeyRing, clock: FakeClock) -> None:
    # Given a current key activated now, a 30-day period and a 1-day publish-ahead
    first = current_key(ring.repository.list_keys())
    assert first is not None
    # When the schedule runs before the publish-ahead point, nothing happens
    clock.advance(28 * DAY)
    assert not ring.rotator.run_scheduled().changed
    # When it runs inside the publish-ahead window, a next key appears in the JWKS but does not sign
    clock.advance(DAY + 1)
    report = ring.rotator.run_scheduled()
    assert len(report.created) == 1
    assert not report.activated
    upcoming = report.created[0]
    assert [k["kid"] for k in fresh_view(ring).document()["keys"]] == [first.kid, upcoming]
    assert fresh_view(ring).current() == current_key(ring.repository.list_keys())
    # When the current key is due (and next has been published a full day), next becomes current
    clock.advance(DAY)
    report = ring.rotator.run_scheduled()
    assert report.activated == [upcoming]
    assert report.demoted == [first.kid]
    assert states(ring) == {KeyState.CURRENT: 1, KeyState.PREVIOUS: 1}


def test_a_token_signed_before_rotation_verifies_after_it(ring: KeyRing, clock: FakeClock) -> None:
    # Given a token signed with the key about to be rotated out
    token = ring.access_token()
    # When the key is rotated (incident path: immediately)
    ring.rotator.rotate_now()
    clock.advance(300)  # the warm cache expires; the previous key is still published
    # Then the old token still verifies, and new tokens are signed with the new key
    assert ring.verifier(keys=fresh_view(ring)).verify_access_token(token).jti == "jti-1"
    new_token = JwtSigner(ring.vault, fresh_view(ring).current).sign({"x": 1}, typ="JWT")
    new_key = current_key(ring.repository.list_keys())
    assert new_key is not None
    assert header_kid(new_token) == new_key.kid != header_kid(token)


def test_the_previous_key_is_retired_once_every_token_it_signed_expired(
    ring: KeyRing, clock: FakeClock
) -> None:
    # Given a token signed just before rotation, and a max JWT lifetime of 960 s
    token = ring.access_token()
    old = current_key(ring.repository.list_keys())
    assert old is not None
    ring.rotator.rotate_now()
    # When the schedule runs before the previous key's retire_after, it stays published
    clock.advance(959)
    ring.rotator.run_scheduled()
    assert old.kid in {k["kid"] for k in fresh_view(ring).document()["keys"]}
    # When it runs after, the key is retired (out of the JWKS) and its KMS key scheduled for deletion
    clock.advance(1)
    report = ring.rotator.run_scheduled()
    assert report.retired == [old.kid]
    assert old.kid not in {k["kid"] for k in fresh_view(ring).document()["keys"]}
    assert old.key_ref in ring.vault.scheduled_for_deletion
    # And a token it signed no longer verifies (it had expired anyway; the kid is now unknown)
    with pytest.raises(TokenRejected, match="unknown_kid"):
        ring.verifier(keys=fresh_view(ring), leeway_seconds=0).verify_access_token(token)


def test_a_token_signed_by_a_removed_key_does_not_verify(ring: KeyRing, clock: FakeClock) -> None:
    # Given a valid, unexpired token, and its key removed from the store (not just rotated)
    token = ring.access_token()
    old = current_key(ring.repository.list_keys())
    assert old is not None
    ring.rotator.rotate_now()
    ring.repository.remove(old.kid)
    # Then a verifier that reloads its JWKS refuses it
    with pytest.raises(TokenRejected, match="unknown_kid"):
        ring.verifier(keys=fresh_view(ring)).verify_access_token(token)


def test_rotate_now_for_a_compromised_key_unpublishes_it_at_once(ring: KeyRing) -> None:
    # Given a token signed with a key believed compromised
    token = ring.access_token()
    old = current_key(ring.repository.list_keys())
    assert old is not None
    # When rotated as compromised
    report = ring.rotator.rotate_now(compromised=True)
    # Then the old key is retired now, its KMS key is on its way out, and its tokens are refused
    assert report.retired == [old.kid]
    assert old.key_ref in ring.vault.scheduled_for_deletion
    with pytest.raises(TokenRejected, match="unknown_kid"):
        ring.verifier(keys=fresh_view(ring)).verify_access_token(token)


def test_rotate_now_promotes_an_already_published_next_key(ring: KeyRing, clock: FakeClock) -> None:
    clock.advance(29 * DAY + 1)
    upcoming = ring.rotator.run_scheduled().created[0]
    report = ring.rotator.rotate_now()
    assert report.activated == [upcoming]
    assert not report.created


def test_the_warm_cache_reloads_once_on_an_unknown_kid_and_not_on_every_one(clock: FakeClock) -> None:
    # Given a key store that counts its reads
    class CountingRepository(InMemorySigningKeyRepository):
        reads = 0

        def list_keys(self) -> list[SigningKey]:
            CountingRepository.reads += 1
            return super().list_keys()

    repository = CountingRepository()
    ring = KeyRing(clock, repository=repository)
    keys = PublishedKeys(repository, ttl_seconds=300, min_refresh_seconds=10, monotonic=clock.monotonic)
    kid = current_key(repository.list_keys())
    assert kid is not None
    assert keys.key_for(kid.kid) is not None
    reads = CountingRepository.reads
    # When a burst of unknown kids arrives within the refresh interval, at most one reload happens
    for n in range(50):
        assert keys.key_for(f"random-{n}") is None
    assert CountingRepository.reads == reads
    # When a new key is created and named after the interval, one reload finds it
    clock.advance(10)
    new_kid = ring.rotator.rotate_now().activated[0]
    reads = CountingRepository.reads
    assert keys.key_for(new_kid) is not None
    assert CountingRepository.reads == reads + 1


def test_signing_without_a_current_key_is_unavailable() -> None:
    signer = JwtSigner(InMemoryKeyVault(), lambda: None)
    with pytest.raises(SigningUnavailable):
        signer.sign({"sub": "x"}, typ="JWT")


def test_state_transitions_are_conditional(ring: KeyRing) -> None:
    # Given the current key, and a transition that expects it to be `next`
    key = current_key(ring.repository.list_keys())
    assert key is not None
    # Then the repository refuses to apply it (a concurrent rotation would have moved it)
    with pytest.raises(Conflict):
        ring.repository.apply([KeyTransition(key, expected=KeyState.NEXT)])


def test_policy_refuses_a_publish_ahead_longer_than_the_period() -> None:
    with pytest.raises(ValueError, match="published"):
        RotationPolicy(rotation_period_seconds=DAY, publish_ahead_seconds=DAY, max_jwt_lifetime_seconds=60)


def test_each_rotation_step_commits_with_the_event_announcing_it(ring: KeyRing, clock: FakeClock) -> None:
    # Given an announcer that builds one key.rotated per step, from the step's own report
    events = IdentityEvents(InMemoryEventPublisher(), clock)

    def announce(step: RotationReport) -> list[EventEnvelope]:
        return [events.build(IdentityEvent.KEY_ROTATED, tenant="platform", actor="system:identity",
                             resource="signing-keys", request_id="req-1", data=step.as_dict())]  # fmt: skip

    old = current_key(ring.repository.list_keys())
    assert old is not None
    # When a rotation creates a key and then promotes it (two transactions)
    report = ring.rotator.rotate_now(announce=announce)
    # Then each transaction wrote its own event, and together they say what the run did
    (created, promoted) = ring.repository.events
    (new_kid,) = report.created
    assert created.data == {"created": [new_kid], "activated": [], "demoted": [], "retired": []}
    assert promoted.data == {"created": [], "activated": [new_kid], "demoted": [old.kid], "retired": []}
