"""The policy store port: immutable versions per tenant, an active pointer, an activation log.

Version 0 is implicit: the baseline alone (no tenant policies). Versions are never changed or
deleted, so any earlier one can be activated again (rollback). Moving the active pointer is a
conditional write on the pointer's revision, recorded in the activation log in the same write.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from echo_shared.authz.golden import GoldenDecision
from echo_shared.events import EventEnvelope

# The events that report a change, built from what the store is about to commit.
type Report[T] = Callable[[T], Sequence[EventEnvelope]]


class ActivationKind(StrEnum):
    ACTIVATE = "activate"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    tenant: str
    number: int
    policies: str
    digest: str
    golden: tuple[GoldenDecision, ...]
    description: str
    created_at: datetime
    created_by: str

    @property
    def label(self) -> str:
        return f"v{self.number}"


@dataclass(frozen=True, slots=True)
class NewPolicyVersion:
    """A validated version waiting for its number."""

    tenant: str
    policies: str
    digest: str
    golden: tuple[GoldenDecision, ...]
    description: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class ActivePointer:
    tenant: str
    version: int
    revision: int
    changed_at: datetime | None
    changed_by: str | None


@dataclass(frozen=True, slots=True)
class Activation:
    tenant: str
    revision: int
    version: int
    previous_version: int
    kind: ActivationKind
    at: datetime
    by: str


class PolicyStore(Protocol):
    def active(self, tenant: str) -> ActivePointer | None:
        """The pointer, or None when the tenant never activated a version (baseline only)."""
        ...

    def get(self, tenant: str, number: int) -> PolicyVersion | None: ...

    def versions(self, tenant: str) -> list[PolicyVersion]:
        """Every stored version, newest first."""
        ...

    def create(
        self, version: NewPolicyVersion, *, reported_by: Report[PolicyVersion] | None = None
    ) -> PolicyVersion:
        """Store under the next number; raises ConcurrentPolicyChange if it keeps being taken.

        `reported_by` builds the events of the stored version (it learns its number); they are
        written with it in one transaction (the outbox, ADR 0014), or neither is."""
        ...

    def activate(
        self,
        tenant: str,
        number: int,
        *,
        expected_revision: int,
        kind: ActivationKind,
        at: datetime,
        by: str,
        reported_by: Report[Activation] | None = None,
    ) -> Activation:
        """Point at `number` if the pointer is still at `expected_revision` (0: never activated)
        and the version exists, and log the change and its events (`reported_by`), atomically."""
        ...

    def history(self, tenant: str) -> list[Activation]:
        """Activations, newest first."""
        ...
