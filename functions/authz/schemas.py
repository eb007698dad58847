"""Request and response bodies of the authz API."""

from typing import Annotated, Any, Self

from echo_shared.authz import Decision, Effect, ResourceList
from echo_shared.authz.admin import PolicyOverview, Proposal
from echo_shared.authz.golden import GoldenDecision
from echo_shared.authz.model import ROLE_PATTERN, SCOPE_PATTERN
from echo_shared.authz.store import Activation, PolicyVersion
from echo_shared.timeutil import format_rfc3339
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

type EntityType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
type EntityId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
type ActionName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
type RoleName = Annotated[str, StringConstraints(pattern=ROLE_PATTERN)]
type ScopeName = Annotated[str, StringConstraints(pattern=SCOPE_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityIn(_Body):
    type: EntityType
    id: EntityId


class PrincipalIn(EntityIn):
    """Service clients may state a principal's tenant and roles/scopes; users ask about themselves,
    with the facts of their own token."""

    tenant: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    roles: list[RoleName] | None = Field(default=None, max_length=50)
    scopes: list[ScopeName] | None = Field(default=None, max_length=50)

    @property
    def states_facts(self) -> bool:
        return self.roles is not None or self.scopes is not None


def _action_name(value: Any) -> Any:
    # Cedar's own form {"type": "Action", "id": "document:read"} is accepted too.
    if isinstance(value, dict) and value.get("type") == "Action" and set(value) == {"type", "id"}:
        return value["id"]
    return value


class CheckIn(_Body):
    principal: PrincipalIn
    action: ActionName
    resource: EntityIn
    context: dict[str, Any] = Field(default_factory=dict)

    _action = field_validator("action", mode="before")(_action_name)


class DecisionOut(BaseModel):
    decision: Effect
    decision_id: str
    policy_version: str
    reasons: list[str]
    errors: list[str]

    @classmethod
    def from_decision(cls, decision: Decision) -> Self:
        return cls(
            decision=decision.effect,
            decision_id=decision.decision_id,
            policy_version=decision.policy_version,
            reasons=list(decision.reasons),
            errors=list(decision.errors),
        )


class BatchIn(_Body):
    # The 100-request limit is checked by the logic, so that 101 gets a 400 with the reason.
    requests: list[CheckIn] = Field(min_length=1)


class BatchOut(BaseModel):
    decisions: list[DecisionOut]


class ListIn(_Body):
    principal: PrincipalIn
    action: ActionName
    resource_type: EntityType
    context: dict[str, Any] = Field(default_factory=dict)

    _action = field_validator("action", mode="before")(_action_name)


class ResourceOut(BaseModel):
    type: str
    id: str


class ListOut(BaseModel):
    decision_id: str
    policy_version: str
    resource_type: str
    resources: list[ResourceOut]
    evaluated: int
    errors: list[str]

    @classmethod
    def from_listing(cls, listing: ResourceList) -> Self:
        kind = listing.resource_type.value
        return cls(
            decision_id=listing.decision_id,
            policy_version=listing.policy_version,
            resource_type=kind,
            resources=[ResourceOut(type=kind, id=resource_id) for resource_id in listing.resource_ids],
            evaluated=listing.evaluated,
            errors=list(listing.errors),
        )


class PolicyPutIn(_Body):
    policies: str
    golden_decisions: list[GoldenDecision] = Field(default_factory=list)
    description: Annotated[str, StringConstraints(max_length=500)] = ""


class PolicyVersionOut(BaseModel):
    version: str
    digest: str
    description: str
    created_at: str
    created_by: str
    active: bool
    golden_decisions: int
    policies: str | None = None

    @classmethod
    def from_version(cls, version: PolicyVersion, *, active: bool, with_text: bool) -> Self:
        return cls(
            version=version.label,
            digest=version.digest,
            description=version.description,
            created_at=format_rfc3339(version.created_at),
            created_by=version.created_by,
            active=active,
            golden_decisions=len(version.golden),
            policies=version.policies if with_text else None,
        )


class PoliciesOut(BaseModel):
    tenant: str
    active_version: str
    revision: int
    baseline_version: str
    active: PolicyVersionOut | None
    versions: list[PolicyVersionOut]

    @classmethod
    def from_overview(cls, overview: PolicyOverview) -> Self:
        return cls(
            tenant=overview.tenant,
            active_version=f"v{overview.active_version}",
            revision=overview.revision,
            baseline_version=overview.baseline_version,
            active=PolicyVersionOut.from_version(overview.active, active=True, with_text=True)
            if overview.active
            else None,
            versions=[
                PolicyVersionOut.from_version(v, active=v.number == overview.active_version, with_text=False)
                for v in overview.versions
            ],
        )


class ProposalOut(BaseModel):
    version: str
    digest: str
    active: bool
    golden_checked: int

    @classmethod
    def from_proposal(cls, proposal: Proposal) -> Self:
        return cls(
            version=proposal.version.label,
            digest=proposal.version.digest,
            active=False,
            golden_checked=proposal.golden_checked,
        )


class ActivationOut(BaseModel):
    version: str
    previous_version: str
    revision: int
    kind: str
    at: str
    by: str

    @classmethod
    def from_activation(cls, activation: Activation) -> Self:
        return cls(
            version=f"v{activation.version}",
            previous_version=f"v{activation.previous_version}",
            revision=activation.revision,
            kind=activation.kind.value,
            at=format_rfc3339(activation.at),
            by=activation.by,
        )


class HistoryOut(BaseModel):
    items: list[ActivationOut]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
