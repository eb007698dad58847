"""The in-process authorization client: the same decisions and audit records as the HTTP API.

Policies are parsed once per warm container and kept per tenant; the active version is re-read
at most every `refresh_seconds` (one GetItem), and a new version is parsed only when it changed.
Every decision (and every list answer) publishes one `authz.decision` event before it is returned.
"""

import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from echo_shared.authz.audit import decision_events, list_event, publish_all
from echo_shared.authz.catalog import PolicyCatalog, load_catalog
from echo_shared.authz.engine import (
    BASELINE_ONLY_VERSION,
    CompiledPolicies,
    DecisionEngine,
    Evaluation,
    Outcome,
)
from echo_shared.authz.entities import EntityProvider
from echo_shared.authz.errors import (
    AuthzUnavailable,
    BatchTooLarge,
    EntityStoreUnavailable,
    ListTooLarge,
    MalformedPolicy,
    PolicyStoreUnavailable,
    StoredPolicyUnusable,
)
from echo_shared.authz.model import (
    AuthzRequest,
    Decision,
    Effect,
    EntityRef,
    Principal,
    RequestContext,
    ResourceFacts,
    ResourceList,
    ResourceType,
    check_entity_id,
    check_tenant,
)
from echo_shared.authz.store import PolicyStore
from echo_shared.events import EventPublisher
from echo_shared.timeutil import Clock, utc_now

MAX_BATCH = 100
MAX_LIST_CANDIDATES = 10_000
# Candidates per Cedar call when listing: bounds the entity document Cedar parses at once.
LIST_CHUNK = 1000
DEFAULT_REFRESH_SECONDS = 5.0
MAX_CACHED_TENANTS = 256
MAX_CHECKED_PRINCIPALS = 4096
UNAVAILABLE_VERSION = "unavailable"


class RandomUuids:
    """Random (version 4) UUIDs like `uuid.uuid4`, reading the OS's randomness 256 ids at a time."""

    _BLOCK = 16 * 256

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0

    def __call__(self) -> uuid.UUID:
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = os.urandom(self._BLOCK), 0
        start = self._offset
        self._offset += 16
        return uuid.UUID(bytes=self._buffer[start : start + 16], version=4)


@dataclass(slots=True)
class _CacheEntry:
    policies: CompiledPolicies
    checked_at: float


class PolicyCache:
    """Compiled policies per tenant, bounded (least recently used tenants are dropped)."""

    def __init__(
        self,
        store: PolicyStore,
        engine: DecisionEngine,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        max_tenants: int = MAX_CACHED_TENANTS,
    ) -> None:
        self._store = store
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._max_tenants = max_tenants
        self._entries: OrderedDict[str, _CacheEntry] = OrderedDict()

    @property
    def cached_tenants(self) -> list[str]:
        """Least recently used first."""
        return list(self._entries)

    def invalidate(self, tenant: str) -> None:
        """Forget the tenant's policies: the next decision reads the active version again."""
        self._entries.pop(tenant, None)

    def get(self, tenant: str) -> CompiledPolicies:
        """Raises PolicyStoreUnavailable or StoredPolicyUnusable (callers deny)."""
        now = self._monotonic()
        entry = self._entries.get(tenant)
        if entry is not None and now - entry.checked_at < self._refresh_seconds:
            self._entries.move_to_end(tenant)
            return entry.policies
        pointer = self._store.active(tenant)
        number = pointer.version if pointer else BASELINE_ONLY_VERSION
        if entry is None or entry.policies.version != number:
            entry = _CacheEntry(self._compile(tenant, number), now)
        entry.checked_at = now
        self._entries[tenant] = entry
        self._entries.move_to_end(tenant)
        while len(self._entries) > self._max_tenants:
            self._entries.popitem(last=False)
        return entry.policies

    def _compile(self, tenant: str, number: int) -> CompiledPolicies:
        if number == BASELINE_ONLY_VERSION:
            return self._engine.compile(tenant, number, "")
        version = self._store.get(tenant, number)
        if version is None:
            raise StoredPolicyUnusable(f"active policy version v{number} is missing from the store")
        try:
            return self._engine.compile(tenant, number, version.policies)
        except MalformedPolicy as exc:
            raise StoredPolicyUnusable(f"active policy version v{number} no longer parses") from exc


class AuthzClient:
    def __init__(
        self,
        *,
        store: PolicyStore,
        entities: EntityProvider,
        publisher: EventPublisher,
        asked_by: str,
        catalog: PolicyCatalog | None = None,
        engine: DecisionEngine | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Clock = utc_now,
        new_id: Callable[[], uuid.UUID] | None = None,
    ) -> None:
        self.engine = engine or DecisionEngine(catalog or load_catalog())
        self.catalog = self.engine.catalog
        self.policies = PolicyCache(store, self.engine, refresh_seconds=refresh_seconds, monotonic=monotonic)
        self._entities = entities
        self._publisher = publisher
        self._asked_by = asked_by
        self._clock = clock
        self._new_id = new_id or RandomUuids()
        # Principals already found well-formed (frozen facts: the same principal stays valid).
        self._checked_principals: set[Principal] = set()
        # Resources, tenants and shapes already found well-formed, and contexts already parsed.
        self._checked_questions: set[tuple[object, ...]] = set()
        self._parsed_contexts: dict[frozenset[tuple[str, type, object]], dict[str, Any]] = {}

    def check(self, request: AuthzRequest, *, request_id: str, asked_by: str | None = None) -> Decision:
        """Decide one request: the same answer and record as a batch of one."""
        checked = self._checked(request)
        [decision] = self._decide(checked.evaluation_tenant, [checked])
        self._audit([decision], request_id=request_id, asked_by=asked_by)
        return decision

    def check_batch(
        self, requests: Sequence[AuthzRequest], *, request_id: str, asked_by: str | None = None
    ) -> list[Decision]:
        """Decide every request; raises InvalidAuthzRequest/BatchTooLarge before deciding anything,
        DecisionNotAudited (and returns nothing) if the audit events cannot be published."""
        if len(requests) > MAX_BATCH:
            raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} requests, got {len(requests)}")
        checked = [self._checked(request) for request in requests]
        decisions: list[Decision | None] = [None] * len(checked)
        by_tenant: dict[str, list[int]] = {}
        for index, request in enumerate(checked):
            by_tenant.setdefault(request.evaluation_tenant, []).append(index)
        for tenant, indexes in by_tenant.items():
            tenant_requests = [checked[i] for i in indexes]
            for index, decision in zip(indexes, self._decide(tenant, tenant_requests), strict=True):
                decisions[index] = decision
        final = [decision for decision in decisions if decision is not None]
        self._audit(final, request_id=request_id, asked_by=asked_by)
        return final

    def _audit(self, decisions: Sequence[Decision], *, request_id: str, asked_by: str | None) -> None:
        """One record per decision, published before any decision is returned."""
        events = decision_events(
            decisions,
            request_id=request_id,
            asked_by=asked_by or self._asked_by,
            baseline_version=self.catalog.baseline_version,
            clock=self._clock,
        )
        publish_all(self._publisher, events)

    def list_resources(
        self,
        principal: Principal,
        action: str,
        resource_type: ResourceType,
        *,
        request_id: str,
        context: dict[str, object] | None = None,
        tenant: str | None = None,
        asked_by: str | None = None,
    ) -> ResourceList:
        """The resources of `resource_type` in the asker's tenant that `check` would allow."""
        tenant = tenant or principal.tenant
        probe = self._checked(
            AuthzRequest(principal, action, EntityRef(resource_type.value, tenant), context or {}, tenant)
        )
        decision_id = str(self._new_id())
        try:
            policies = self.policies.get(tenant)
            candidates = self._candidates(tenant, resource_type)
        except (AuthzUnavailable, StoredPolicyUnusable) as exc:
            listing = ResourceList(
                decision_id,
                UNAVAILABLE_VERSION,
                principal,
                action,
                resource_type,
                resource_ids=(),
                evaluated=0,
                errors=(_describe(exc),),
                unavailable=isinstance(exc, AuthzUnavailable),
            )
        else:
            evaluations = [
                Evaluation(AuthzRequest(principal, action, _ref(facts), probe.context, tenant), facts)
                for facts in candidates
            ]
            outcomes = self.engine.evaluate_for_one_principal(policies, evaluations, chunk=LIST_CHUNK)
            allowed = tuple(
                e.request.resource.id
                for e, o in zip(evaluations, outcomes, strict=True)
                if o.effect is Effect.ALLOW
            )
            errors = tuple(dict.fromkeys(error for outcome in outcomes for error in outcome.errors))
            listing = ResourceList(
                decision_id,
                policies.version_label,
                principal,
                action,
                resource_type,
                allowed,
                len(evaluations),
                errors,
            )
        event = list_event(
            listing,
            tenant=tenant,
            request_id=request_id,
            asked_by=asked_by or self._asked_by,
            baseline_version=self.catalog.baseline_version,
            clock=self._clock,
        )
        publish_all(self._publisher, [event])
        return listing

    def _candidates(self, tenant: str, resource_type: ResourceType) -> list[ResourceFacts]:
        if resource_type is ResourceType.TENANT:
            return [EntityRef(ResourceType.TENANT.value, tenant)]
        found: list[ResourceFacts] = list(islice(self._entities.documents(tenant), MAX_LIST_CANDIDATES + 1))
        if len(found) > MAX_LIST_CANDIDATES:
            raise ListTooLarge(
                f"more than {MAX_LIST_CANDIDATES} candidate documents; list needs a narrower question"
            )
        return found

    def _checked(self, request: AuthzRequest) -> AuthzRequest:
        principal = request.principal
        if principal not in self._checked_principals:
            principal.check()
            _remember(self._checked_principals, principal)
        asked = (principal.type, request.action, request.resource, request.tenant)
        if asked not in self._checked_questions:
            check_entity_id(request.resource.id, "resource id")
            if request.tenant is not None:
                check_tenant(request.tenant, "request tenant")
            self.catalog.check_shape(principal.type.value, request.action, request.resource.type)
            if request.resource.type == ResourceType.TENANT.value:
                check_tenant(request.resource.id, "Tenant resource id")
            _remember(self._checked_questions, asked)
        if not request.context:
            return request
        return AuthzRequest(
            principal, request.action, request.resource, self._context(request.context), request.tenant
        )

    def _context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """`RequestContext.parse`, once per distinct context (by value and type: strict parsing)."""
        try:
            key = frozenset((name, type(value), value) for name, value in context.items())
        except TypeError:  # an unhashable value: parsing refuses it
            return RequestContext.parse(context)
        parsed = self._parsed_contexts.get(key)
        if parsed is None:
            parsed = RequestContext.parse(context)
            if len(self._parsed_contexts) >= MAX_CHECKED_PRINCIPALS:
                self._parsed_contexts.clear()
            self._parsed_contexts[key] = parsed
        return dict(parsed)

    def _decide(self, tenant: str, requests: Sequence[AuthzRequest]) -> list[Decision]:
        try:
            policies = self.policies.get(tenant)
        except (PolicyStoreUnavailable, StoredPolicyUnusable) as exc:
            down = isinstance(exc, PolicyStoreUnavailable)
            return [self._denied(request, (_describe(exc),), unavailable=down) for request in requests]
        resolved = [self._resolve(tenant, request) for request in requests]
        outcomes = self.engine.evaluate(policies, [evaluation for evaluation, _ in resolved])
        return [
            self._decision(request, policies.version_label, outcome, down)
            for request, outcome, (_, down) in zip(requests, outcomes, resolved, strict=True)
        ]

    def _resolve(self, tenant: str, request: AuthzRequest) -> tuple[Evaluation, bool]:
        """The evaluation, and whether the entity store was down (the deny then says nothing)."""
        if request.resource.type == ResourceType.TENANT.value:
            return Evaluation(request, request.resource), False
        try:
            document = self._entities.document(tenant, request.resource.id)
        except EntityStoreUnavailable as exc:
            return Evaluation(request, None, (_describe(exc),)), True
        if document is None:
            return Evaluation(
                request, None, (f"resource {request.resource} not found in tenant {tenant}",)
            ), False
        return Evaluation(request, document), False

    def _decision(self, request: AuthzRequest, version: str, outcome: Outcome, unavailable: bool) -> Decision:
        return Decision(
            decision_id=str(self._new_id()),
            effect=outcome.effect,
            policy_version=version,
            reasons=outcome.reasons,
            errors=outcome.errors,
            request=request,
            unavailable=unavailable,
        )

    def _denied(self, request: AuthzRequest, errors: tuple[str, ...], *, unavailable: bool) -> Decision:
        return self._decision(request, UNAVAILABLE_VERSION, Outcome(Effect.DENY, (), errors), unavailable)


def _remember[T](checked: set[T], item: T) -> None:
    if len(checked) >= MAX_CHECKED_PRINCIPALS:
        checked.clear()
    checked.add(item)


def _describe(exc: Exception) -> str:
    if isinstance(exc, PolicyStoreUnavailable):
        return "policy_store_unavailable: the tenant's policies cannot be read"
    if isinstance(exc, EntityStoreUnavailable):
        return "entity_store_unavailable: documents cannot be read"
    if isinstance(exc, StoredPolicyUnusable):
        return f"policy_unusable: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _ref(facts: ResourceFacts) -> EntityRef:
    return facts if isinstance(facts, EntityRef) else facts.ref
