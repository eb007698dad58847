"""Password hashing and policy, email normalization, lockout policy."""

from __future__ import annotations

import time

import pytest
from echo_shared.identity.attempts import (
    ACCOUNT_POLICY,
    ACCOUNT_SOURCE_POLICY,
    SOURCE_POLICY,
    AttemptBudgetSpent,
    AttemptPolicy,
    account_key,
    account_source_key,
)
from echo_shared.identity.client_secrets import ClientSecretHasher, generate_client_secret
from echo_shared.identity.errors import InvalidInput, PasswordRejected
from echo_shared.identity.passwords import (
    ARGON2_MEMORY_KIB,
    ARGON2_TIME_COST,
    PasswordHasher,
    breached_passwords,
    check_password_policy,
)
from echo_shared.identity.users import normalize_email
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.identity_attempts import InMemoryAttemptStore
from tests.unit.identity.fakes import hasher


def test_hashes_are_argon2id_with_at_least_19_mib_and_two_passes() -> None:
    hashed = hasher().hash("a long enough passphrase")
    assert hashed.startswith("$argon2id$")
    assert f"m={ARGON2_MEMORY_KIB},t={ARGON2_TIME_COST}," in hashed
    assert ARGON2_MEMORY_KIB >= 19 * 1024
    assert ARGON2_TIME_COST >= 2


def test_verify_accepts_the_password_and_refuses_others() -> None:
    hashed = hasher().hash("a long enough passphrase")
    assert hasher().verify("a long enough passphrase", hashed) == (True, None)
    assert hasher().verify("a long enough passphrasE", hashed)[0] is False
    assert hasher().verify("x" * 10_000, hashed)[0] is False


def test_verify_returns_a_rehash_when_parameters_are_weaker_than_the_policy() -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("a long enough passphrase")
    matches, replacement = hasher().verify("a long enough passphrase", weak)
    assert matches is True
    assert replacement is not None
    assert f"m={ARGON2_MEMORY_KIB}" in replacement


def test_the_dummy_verification_runs_a_real_argon2_check() -> None:
    # Given a fresh hasher (no dummy hash yet)
    fresh = PasswordHasher()
    # When it verifies against the dummy, it builds one with the same parameters and spends the time
    fresh.verify_dummy("whatever")
    assert fresh._dummy is not None
    assert fresh._dummy.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least"),
        ("x" * 129, "at most"),
        ("password1234", "breaches"),
        ("PassWord1234", "breaches"),
        ("correcthorsebatterystaple", "breaches"),
        ("aaaaaaaaaaaaaaaa", "repetitive"),
        ("alice-rocks-2026!", "email"),
    ],
)
def test_password_policy_rejects(password: str, reason: str) -> None:
    with pytest.raises(PasswordRejected, match=reason):
        check_password_policy(password, email="alice@example.com")


def test_password_policy_accepts_a_long_unlisted_passphrase() -> None:
    check_password_policy("violet tram under the bridge", email="alice@example.com")


def test_the_bundled_breached_list_is_loaded_and_lower_cased() -> None:
    listed = breached_passwords()
    assert "password1234" in listed
    assert all(entry == entry.lower() for entry in listed)
    assert not any(entry.startswith("#") for entry in listed)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  alice@example.com\t", "alice@example.com"),
        ("\uff41\uff4c\uff49\uff43\uff45@example.com", "alice@example.com"),  # fullwidth letters (NFKC)
        ("alice+tag@example.com", "alice+tag@example.com"),
    ],
)
def test_email_normalization(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    ["", "alice", "@example.com", "alice@", "a@b@c.com", "alice@localhost", "al ice@example.com",
     "alice@-example.com", "alice@example..com", "alice\x00@example.com", "a" * 65 + "@example.com"],
)  # fmt: skip
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_email(raw)


@given(st.emails())
def test_normalization_is_idempotent(email: str) -> None:
    try:
        once = normalize_email(email)
    except InvalidInput:
        return
    assert normalize_email(once) == once
    assert normalize_email(once.upper()) == once


def test_the_global_cap_is_slower_than_the_per_source_budget() -> None:
    # A stranger's one source spends a quarter of the hourly global cap at most, so it takes several
    # sources to lock the account everywhere; the global window is longer (slower) than a source's.
    assert ACCOUNT_POLICY.window_seconds > ACCOUNT_SOURCE_POLICY.window_seconds
    assert ACCOUNT_POLICY.limit >= 4 * ACCOUNT_SOURCE_POLICY.limit
    assert SOURCE_POLICY.limit > ACCOUNT_POLICY.limit


def test_a_budget_locks_until_its_window_ends_then_restarts() -> None:
    store = InMemoryAttemptStore()
    policy = AttemptPolicy(limit=3, window_seconds=60)
    key = account_key("demo", "alice@example.com")
    counters = [store.reserve(key, now=second, policy=policy) for second in range(3)]
    assert [c.attempts for c in counters] == [1, 2, 3]
    assert counters[-1].exhausted()
    assert counters[-1].is_locked(59)
    assert not counters[-1].is_locked(60)
    assert counters[-1].locked_until == 60
    with pytest.raises(AttemptBudgetSpent) as spent:
        store.reserve(key, now=59, policy=policy)
    assert spent.value.counter.attempts == 3
    later = store.reserve(key, now=60, policy=policy)
    assert (later.attempts, later.window_started_at) == (1, 60)
    assert "alice" not in key
    assert "alice" not in account_source_key("demo", "alice@example.com", "192.0.2.1")


def test_a_release_gives_back_a_unit_of_its_own_window_only() -> None:
    store = InMemoryAttemptStore()
    policy = AttemptPolicy(limit=3, window_seconds=60)
    first = store.reserve("k", now=0, policy=policy)
    store.reserve("k", now=1, policy=policy)
    store.release(first)
    counter = store.get("k")
    assert counter is not None
    assert counter.attempts == 1
    store.reserve("k", now=100, policy=policy)  # a new window
    store.release(first)
    counter = store.get("k")
    assert counter is not None
    assert counter.attempts == 1


def test_client_secrets_are_keyed_hashes_verified_in_constant_time() -> None:
    secrets_hasher = ClientSecretHasher(b"k" * 32)
    secret = generate_client_secret()
    stored = secrets_hasher.hash(secret)
    # Then the stored form is an HMAC under the key: another key, or another secret, does not verify
    assert stored.startswith("hmac-sha256$")
    assert secret not in stored
    assert secrets_hasher.verify(secret, stored)
    assert not ClientSecretHasher(b"x" * 32).verify(secret, stored)
    assert not secrets_hasher.verify(secret + "x", stored)
    # And no stored hash (unknown client) or a legacy argon2 hash never verifies
    assert not secrets_hasher.verify(secret, None)
    assert not secrets_hasher.verify(secret, hasher().hash(secret))
    assert len(secret) >= 43  # 256 random bits


def test_a_short_client_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ClientSecretHasher(b"short").hash("anything")


def test_a_client_secret_check_costs_microseconds_not_argon2() -> None:
    # An unauthenticated /token flood must not buy argon2 time: 1000 checks, known or unknown client,
    # take less than one argon2 verification (~30 ms).
    secrets_hasher = ClientSecretHasher(b"k" * 32)
    stored = secrets_hasher.hash("s" * 43)
    started = time.perf_counter()
    for n in range(500):
        secrets_hasher.verify(f"guess-{n}", stored)
        secrets_hasher.verify(f"guess-{n}", None)
    elapsed = time.perf_counter() - started
    argon2_started = time.perf_counter()
    hasher().verify_dummy("guess")
    assert elapsed < time.perf_counter() - argon2_started
