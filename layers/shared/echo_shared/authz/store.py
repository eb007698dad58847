"""The policy store port: immutable versions per tenant, an active pointer, an activation log.

Version 0 is implicit: the baseline alone (no tenant policies). Versions are never changed or
deleted, so any earlier one can be activated again (rollback). Moving the active pointer is a
conditional write on the pointer's revision, recorded in the activation log in the same write.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from echo_shared.authz.errors import ConcurrentPolicyChange, PolicyVersionNotFound
from echo_shared.authz.golden import GoldenDecision


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

    def create(self, version: NewPolicyVersion) -> PolicyVersion:
        """Store under the next number; raises ConcurrentPolicyChange if it keeps being taken."""
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
    ) -> Activation:
        """Point at `number` if the pointer is still at `expected_revision` (0: never activated)
        and the version exists, and log the change, atomically."""
        ...

    def history(self, tenant: str) -> list[Activation]:
        """Activations, newest first."""
        ...


@dataclass
class _TenantState:
    versions: dict[int, PolicyVersion] = field(default_factory=dict)
    pointer: ActivePointer | None = None
    log: list[Activation] = field(default_factory=list)


class InMemoryPolicyStore:
    """Test fake with the same conditional semantics as the DynamoDB adapter."""

    def __init__(self) -> None:
        self._tenants: dict[str, _TenantState] = {}
        self.active_reads = 0

    def _state(self, tenant: str) -> _TenantState:
        return self._tenants.setdefault(tenant, _TenantState())

    def active(self, tenant: str) -> ActivePointer | None:
        self.active_reads += 1
        return self._state(tenant).pointer

    def get(self, tenant: str, number: int) -> PolicyVersion | None:
        return self._state(tenant).versions.get(number)

    def versions(self, tenant: str) -> list[PolicyVersion]:
        return sorted(self._state(tenant).versions.values(), key=lambda v: v.number, reverse=True)

    def create(self, version: NewPolicyVersion) -> PolicyVersion:
        state = self._state(version.tenant)
        number = max(state.versions, default=0) + 1
        stored = PolicyVersion(
            tenant=version.tenant,
            number=number,
            policies=version.policies,
            digest=version.digest,
            golden=version.golden,
            description=version.description,
            created_at=version.created_at,
            created_by=version.created_by,
        )
        state.versions[number] = stored
        return stored

    def activate(
        self,
        tenant: str,
        number: int,
        *,
        expected_revision: int,
        kind: ActivationKind,
        at: datetime,
        by: str,
    ) -> Activation:
        state = self._state(tenant)
        current = state.pointer.revision if state.pointer else 0
        if current != expected_revision:
            raise ConcurrentPolicyChange("the tenant's active policy version changed meanwhile")
        if number != 0 and number not in state.versions:
            raise PolicyVersionNotFound(f"policy version v{number} does not exist")
        previous = state.pointer.version if state.pointer else 0
        revision = current + 1
        state.pointer = ActivePointer(tenant, number, revision, at, by)
        activation = Activation(tenant, revision, number, previous, kind, at, by)
        state.log.append(activation)
        return activation

    def history(self, tenant: str) -> list[Activation]:
        return list(reversed(self._state(tenant).log))

    def seed(self, versions: Sequence[PolicyVersion]) -> None:
        """Put stored versions directly (tests of stored data the validator would refuse today)."""
        for version in versions:
            self._state(version.tenant).versions[version.number] = replace(version)
