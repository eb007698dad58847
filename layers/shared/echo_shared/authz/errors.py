"""Authorization domain errors. They carry no HTTP status; messages are safe to show the caller."""

from collections.abc import Sequence


class AuthzError(Exception):
    """Base of every error the authorization service raises on purpose."""


class InvalidAuthzRequest(AuthzError):
    """The question itself is malformed: unknown entity type or action, a type the action does not
    apply to, an invalid id or context. Nothing was decided, nothing audited."""


class BatchTooLarge(AuthzError):
    pass


class ListTooLarge(AuthzError):
    """More candidate resources than one list call evaluates."""


class AuthzUnavailable(AuthzError):
    """A backing store or the event bus cannot be reached; retry later."""


class PolicyStoreUnavailable(AuthzUnavailable):
    pass


class EntityStoreUnavailable(AuthzUnavailable):
    pass


class AuditNotRecorded(AuthzUnavailable):
    """An audit event could not be published."""


class DecisionNotAudited(AuditNotRecorded):
    """Decisions were made but their `authz.decision` events could not be published, so they are
    withheld: a decision without its audit record is never returned."""


class PolicyRejected(AuthzError):
    """A proposed tenant policy set cannot become a version. `problems` lists every reason."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        detail = f"{message}: {'; '.join(problems)}" if problems else message
        super().__init__(detail)
        self.problems = tuple(problems)


class PolicySetTooLarge(PolicyRejected):
    pass


class MalformedPolicy(PolicyRejected):
    pass


class UnsupportedPolicy(PolicyRejected):
    pass


class BaselineOverride(PolicyRejected):
    """The set tries to redefine a baseline policy (reuses a reserved `baseline.` id)."""


class SchemaViolation(PolicyRejected):
    pass


class GoldenDecisionFailed(PolicyRejected):
    pass


class PolicyVersionNotFound(AuthzError):
    pass


class ConcurrentPolicyChange(AuthzError):
    """Someone else changed the tenant's policies between read and write; read again and retry."""


class InvalidActivation(AuthzError):
    """The version cannot be (re)activated this way: already active, or not a rollback target."""


class StoredPolicyUnusable(AuthzError):
    """The active version no longer compiles against the current baseline/schema."""
