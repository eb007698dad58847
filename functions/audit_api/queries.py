"""Audit API logic: who may read what, filter checks, pagination, verification."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import islice

from echo_shared.audit import AuditChainReader, AuditRecord, ChainVerifier, VerificationResult
from echo_shared.filters import RecordFilter
from echo_shared.logs import LogEntry, LogRepository

from audit_api.cursor import CursorScope, decode_audit_cursor, decode_log_cursor, encode_cursor
from audit_api.errors import Forbidden, InvalidFilter

ROLE_ADMIN = "admin"
ROLE_AUDITOR = "auditor"
AUDIT_READ = "audit:read"
AUDIT_VERIFY = "audit:verify"
LOG_READ = "log:read"
# The baseline Cedar policies' answer for each action, used only where no decision point is wired
# (the local api-key mode and unit tests); deployed behind the authorizer, Cedar decides.
_ROLES_ALLOWED = {
    AUDIT_READ: {ROLE_AUDITOR, ROLE_ADMIN},
    AUDIT_VERIFY: {ROLE_AUDITOR, ROLE_ADMIN},
    LOG_READ: {ROLE_ADMIN},
}

type DecisionPoint = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    subject: str
    roles: frozenset[str]
    decide: DecisionPoint | None = None

    def may(self, action: str) -> bool:
        """May this principal take `action` on its own tenant?"""
        if self.decide is not None:
            return self.decide(action)
        return not self.roles.isdisjoint(_ROLES_ALLOWED[action])


class Order(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: RecordFilter
    limit: int
    cursor: str | None
    order: Order


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: list[T]
    next_cursor: str | None


def list_audit_events(reader: AuditChainReader, principal: Principal, query: ListQuery) -> Page[AuditRecord]:
    """Auditors and admins see the tenant's whole trail; anyone else only events they acted in."""
    filters = _checked(query.filters)
    if not principal.may(AUDIT_READ):
        if filters.actor not in (None, principal.subject):
            raise Forbidden("you may only read your own audit trail")
        filters = replace(filters, actor=principal.subject)
    scope = CursorScope("audit", principal.tenant, query.order is Order.NEWEST, filters)
    after = None if query.cursor is None else decode_audit_cursor(query.cursor, scope)
    found = reader.query(principal.tenant, filters, after_seq=after, newest_first=scope.newest_first)
    return _page(found, query.limit, scope, lambda record: record.seq)


def list_logs(repository: LogRepository, principal: Principal, query: ListQuery) -> Page[LogEntry]:
    if not principal.may(LOG_READ):
        raise Forbidden("reading logs needs the admin role")
    filters = _checked(query.filters)
    scope = CursorScope("logs", principal.tenant, query.order is Order.NEWEST, filters)
    after = None if query.cursor is None else decode_log_cursor(query.cursor, scope)
    found = repository.query(principal.tenant, filters, after_sort_key=after, newest_first=scope.newest_first)
    return _page(found, query.limit, scope, lambda entry: entry.sort_key)


def verify_tenant_chain(verifier: ChainVerifier, principal: Principal) -> VerificationResult:
    if not principal.may(AUDIT_VERIFY):
        raise Forbidden("verifying the chain needs the auditor or admin role")
    return verifier.verify(principal.tenant)


def _checked(filters: RecordFilter) -> RecordFilter:
    if filters.since is not None and filters.until is not None and filters.since >= filters.until:
        raise InvalidFilter("since must be earlier than until")
    return filters


def _page[T](
    found: Iterator[T], limit: int, scope: CursorScope, position: Callable[[T], int | str]
) -> Page[T]:
    # One extra item tells whether another page exists without an extra request.
    items = list(islice(found, limit + 1))
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(scope, position(items[-1])))
