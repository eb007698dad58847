"""Signing keys: their lifecycle states, the repository port, the JWKS document and its warm cache.

A key is `next` (published, not yet signing), `current` (signing), `previous` (published until every
token it signed has expired) or `retired` (unpublished; its KMS key is scheduled for deletion).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from echo_shared.events.envelope import EventEnvelope


class KeyState(StrEnum):
    NEXT = "next"
    CURRENT = "current"
    PREVIOUS = "previous"
    RETIRED = "retired"


PUBLISHED_STATES = frozenset({KeyState.NEXT, KeyState.CURRENT, KeyState.PREVIOUS})
_JWKS_ORDER = {KeyState.CURRENT: 0, KeyState.NEXT: 1, KeyState.PREVIOUS: 2}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """`key_ref` names the private key in the vault (a KMS key ARN); the private key never leaves it."""

    kid: str
    key_ref: str
    state: KeyState
    public_jwk: dict[str, Any]
    created_at: int
    activated_at: int | None = None
    retire_after: int | None = None
    retired_at: int | None = None


@dataclass(frozen=True, slots=True)
class KeyTransition:
    """Write `key` only if the stored copy is still in `expected` state (optimistic concurrency)."""

    key: SigningKey
    expected: KeyState | None


class SigningKeySource(Protocol):
    def list_keys(self) -> list[SigningKey]:
        """Every key, retired ones included (strongly consistent)."""
        ...


class SigningKeyRepository(SigningKeySource, Protocol):
    def apply(self, transitions: Sequence[KeyTransition], events: Sequence["EventEnvelope"] = ()) -> None:
        """Write all transitions and `events` (to the outbox, ADR 0014) atomically or none; raises
        Conflict if any stored state moved."""
        ...


def published(keys: Sequence[SigningKey]) -> list[SigningKey]:
    return sorted((k for k in keys if k.state in PUBLISHED_STATES), key=lambda k: _JWKS_ORDER[k.state])


def current_key(keys: Sequence[SigningKey]) -> SigningKey | None:
    currents = [k for k in keys if k.state is KeyState.CURRENT]
    return max(currents, key=lambda k: k.activated_at or 0) if currents else None


def jwks_document(keys: Sequence[SigningKey]) -> dict[str, list[dict[str, Any]]]:
    return {"keys": [dict(key.public_jwk) for key in published(keys)]}


class PublishedKeys:
    """The published keys, kept in the warm container: public JWKs by kid, the current signing key.

    Reloaded when older than `ttl_seconds`, and at most once per `min_refresh_seconds` when a token
    names an unknown kid (so a flood of random kids cannot turn into a flood of table reads).
    """

    def __init__(
        self,
        repository: SigningKeySource,
        *,
        ttl_seconds: float = 300,
        min_refresh_seconds: float = 10,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._monotonic = monotonic
        self._keys: list[SigningKey] = []
        self._by_kid: dict[str, dict[str, Any]] = {}
        self._loaded_at: float | None = None

    def key_for(self, kid: str) -> dict[str, Any] | None:
        age = self._age()
        stale = age is None or age >= self._ttl
        unknown_kid_may_refresh = kid not in self._by_kid and (age is None or age >= self._min_refresh)
        if stale or unknown_kid_may_refresh:
            self._load()
        return self._by_kid.get(kid)

    def current(self) -> SigningKey | None:
        self._refresh_if_stale()
        return current_key(self._keys)

    def document(self) -> dict[str, list[dict[str, Any]]]:
        self._refresh_if_stale()
        return jwks_document(self._keys)

    def _age(self) -> float | None:
        return None if self._loaded_at is None else self._monotonic() - self._loaded_at

    def _refresh_if_stale(self) -> None:
        age = self._age()
        if age is None or age >= self._ttl:
            self._load()

    def _load(self) -> None:
        self._keys = published(self._repository.list_keys())
        self._by_kid = {key.kid: key.public_jwk for key in self._keys}
        self._loaded_at = self._monotonic()
