"""Golden decisions: expected answers kept with a policy set and checked before it can activate.

Each golden case is self-contained (the principal's and resource's facts are inline), so it runs
without any store. Tenant ids may be the placeholders `{tenant}` (the tenant whose policies are
being checked) and `{other}` (some other tenant); both are filled in before evaluation.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from echo_shared.authz.model import (
    ENTITY_ID_PATTERN,
    ROLE_PATTERN,
    SCOPE_PATTERN,
    AuthzRequest,
    Classification,
    DocumentMetadata,
    Effect,
    EntityRef,
    Principal,
    PrincipalType,
    ResourceFacts,
    ResourceType,
)

TENANT_PLACEHOLDER = "{tenant}"
OTHER_TENANT_PLACEHOLDER = "{other}"
_OTHER_TENANTS = ("golden-other-tenant", "golden-other-tenant-2")

type EntityId = Annotated[str, StringConstraints(pattern=ENTITY_ID_PATTERN)]
type TenantText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
type RoleName = Annotated[str, StringConstraints(pattern=ROLE_PATTERN)]
type ScopeName = Annotated[str, StringConstraints(pattern=SCOPE_PATTERN)]


class GoldenPrincipal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: PrincipalType
    id: EntityId
    tenant: TenantText = TENANT_PLACEHOLDER
    roles: list[RoleName] = Field(default_factory=list, max_length=50)
    # A user with `scopes` acts through a token granted those scopes; without, by roles alone.
    scopes: list[ScopeName] | None = Field(default=None, max_length=50)


class GoldenResource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ResourceType
    id: EntityId
    tenant: TenantText = TENANT_PLACEHOLDER
    owner: EntityId | None = None
    shared_with_users: list[EntityId] = Field(default_factory=list, max_length=100)
    shared_with_roles: list[RoleName] = Field(default_factory=list, max_length=50)
    classification: Classification = Classification.INTERNAL

    @model_validator(mode="after")
    def _documents_have_owners(self) -> "GoldenResource":
        if self.type is ResourceType.DOCUMENT and self.owner is None:
            raise ValueError("a Document needs an owner")
        return self


class GoldenDecision(BaseModel):
    """`invariant` cases come with the baseline and must hold whatever a tenant adds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    principal: GoldenPrincipal
    action: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    resource: GoldenResource
    context: dict[str, Any] = Field(default_factory=dict)
    expect: Effect
    invariant: bool = False

    def materialize(self, tenant: str) -> tuple[AuthzRequest, ResourceFacts]:
        """The request and resource facts for `tenant`, placeholders filled in."""
        other = other_tenant(tenant)

        def fill(value: str) -> str:
            return value.replace(TENANT_PLACEHOLDER, tenant).replace(OTHER_TENANT_PLACEHOLDER, other)

        principal = Principal(
            type=self.principal.type,
            id=self.principal.id,
            tenant=fill(self.principal.tenant),
            roles=frozenset(self.principal.roles),
            scopes=_principal_scopes(self.principal),
        )
        facts: ResourceFacts
        if self.resource.type is ResourceType.DOCUMENT:
            assert self.resource.owner is not None
            facts = DocumentMetadata(
                tenant=fill(self.resource.tenant),
                document_id=self.resource.id,
                owner=self.resource.owner,
                shared_with_users=frozenset(self.resource.shared_with_users),
                shared_with_roles=frozenset(self.resource.shared_with_roles),
                classification=self.resource.classification,
            )
        else:
            facts = EntityRef(ResourceType.TENANT.value, fill(self.resource.id))
        resource = facts.ref if isinstance(facts, DocumentMetadata) else facts
        request = AuthzRequest(principal, self.action, resource, dict(self.context), tenant=tenant)
        return request, facts


class GoldenSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decisions: list[GoldenDecision]


def _principal_scopes(principal: GoldenPrincipal) -> frozenset[str] | None:
    if principal.scopes is None:
        return None if principal.type is PrincipalType.USER else frozenset()
    return frozenset(principal.scopes)


def other_tenant(tenant: str) -> str:
    return _OTHER_TENANTS[0] if tenant != _OTHER_TENANTS[0] else _OTHER_TENANTS[1]
