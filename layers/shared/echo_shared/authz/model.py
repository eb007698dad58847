"""The authorization domain: who asks to do what on which resource, and the answer."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from echo_shared.authz.errors import InvalidAuthzRequest
from echo_shared.events import is_valid_tenant

ENTITY_ID_PATTERN = r"^[^\x00-\x1f\x7f]{1,256}$"
ROLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
SCOPE_PATTERN = r"^[\x21-\x7e]{1,128}$"
MAX_ROLES = 50
MAX_SCOPES = 50

_ENTITY_ID = re.compile(ENTITY_ID_PATTERN)
_ROLE = re.compile(ROLE_PATTERN)
_SCOPE = re.compile(SCOPE_PATTERN)


class PrincipalType(StrEnum):
    USER = "User"
    CLIENT = "Client"


class ResourceType(StrEnum):
    TENANT = "Tenant"
    DOCUMENT = "Document"


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class EntityRef:
    type: str
    id: str

    def uid(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}

    def __str__(self) -> str:
        if '"' in self.id or "\\" in self.id or not self.id.isprintable():
            return f"{self.type}::{json.dumps(self.id, ensure_ascii=False)}"
        return f'{self.type}::"{self.id}"'


def check_entity_id(value: str, what: str) -> str:
    if not _ENTITY_ID.fullmatch(value):
        raise InvalidAuthzRequest(f"{what} must be 1-256 printable characters")
    return value


def check_tenant(value: str, what: str) -> str:
    if not is_valid_tenant(value):
        raise InvalidAuthzRequest(f"{what} is not a valid tenant id")
    return value


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts, with the facts policies look at: tenant, roles (users), scopes (clients, and users
    acting through a token). A user's `scopes` is None only for a question about the user's roles
    alone (an API body naming a user); every caller built from a token carries the granted scopes,
    and the baseline then refuses any action its scopes do not cover, whatever the roles."""

    type: PrincipalType
    id: str
    tenant: str
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] | None = frozenset()

    @classmethod
    def user(
        cls,
        id: str,
        tenant: str,
        roles: frozenset[str] | set[str] | tuple[str, ...] = (),
        scopes: frozenset[str] | set[str] | tuple[str, ...] | None = None,
    ) -> Self:
        return cls(PrincipalType.USER, id, tenant, roles=frozenset(roles), scopes=_maybe_set(scopes))

    @classmethod
    def client(cls, id: str, tenant: str, scopes: frozenset[str] | set[str] | tuple[str, ...] = ()) -> Self:
        return cls(PrincipalType.CLIENT, id, tenant, scopes=frozenset(scopes))

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.type.value, self.id)

    def check(self) -> None:
        check_entity_id(self.id, "principal id")
        check_tenant(self.tenant, "principal tenant")
        if len(self.roles) > MAX_ROLES or not all(_ROLE.fullmatch(role) for role in self.roles):
            raise InvalidAuthzRequest(f"principal roles must be at most {MAX_ROLES} role names")
        scopes = self.scopes or frozenset()
        if len(scopes) > MAX_SCOPES or not all(_SCOPE.fullmatch(scope) for scope in scopes):
            raise InvalidAuthzRequest(f"principal scopes must be at most {MAX_SCOPES} scope tokens")
        if self.type is PrincipalType.CLIENT and (self.roles or self.scopes is None):
            raise InvalidAuthzRequest("clients have scopes, not roles")


def _maybe_set(values: frozenset[str] | set[str] | tuple[str, ...] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    """What policies know about a document. The document service owns the records."""

    tenant: str
    document_id: str
    owner: str
    shared_with_users: frozenset[str] = frozenset()
    shared_with_roles: frozenset[str] = frozenset()
    classification: Classification = Classification.INTERNAL

    @property
    def ref(self) -> EntityRef:
        return EntityRef(ResourceType.DOCUMENT.value, self.document_id)


type ResourceFacts = DocumentMetadata | EntityRef


class RequestContext(BaseModel):
    """The caller-supplied part of the schema's `RequestContext`; Echo adds `tenant` itself."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    mfa: bool | None = None
    source_ip: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    @classmethod
    def parse(cls, context: Mapping[str, Any]) -> dict[str, Any]:
        """The context as Cedar will receive it, or InvalidAuthzRequest naming the bad fields."""
        if not context:
            return {}
        try:
            parsed = cls.model_validate(dict(context))
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) or "context" for e in exc.errors()})
            raise InvalidAuthzRequest(f"invalid context field(s): {', '.join(fields)}") from None
        return parsed.model_dump(exclude_none=True)


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """One question. `tenant` is whose policies decide (the asker's); it defaults to the principal's."""

    principal: Principal
    action: str
    resource: EntityRef
    context: Mapping[str, Any] = field(default_factory=dict)
    tenant: str | None = None

    @property
    def evaluation_tenant(self) -> str:
        return self.tenant or self.principal.tenant


@dataclass(frozen=True, slots=True)
class Decision:
    decision_id: str
    effect: Effect
    policy_version: str
    reasons: tuple[str, ...]
    errors: tuple[str, ...]
    request: AuthzRequest
    # True when a store could not be reached: the deny says nothing about the policies.
    unavailable: bool = False

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW


@dataclass(frozen=True, slots=True)
class ResourceList:
    """The resources of one type a principal may act on: exactly those `check` allows."""

    decision_id: str
    policy_version: str
    principal: Principal
    action: str
    resource_type: ResourceType
    resource_ids: tuple[str, ...]
    evaluated: int
    errors: tuple[str, ...]
    unavailable: bool = False
