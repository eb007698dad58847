"""The authz API's exception table: domain exceptions -> (status, code); see echo_shared.web.

400: the question or policy set is refused (the message says why); 413: a policy set over the
size limits; 422: the body does not match the declared shape. Domain errors carry no status.
"""

from echo_shared.authz.errors import (
    AuthzUnavailable,
    BaselineOverride,
    BatchTooLarge,
    ConcurrentPolicyChange,
    GoldenDecisionFailed,
    InvalidActivation,
    InvalidAuthzRequest,
    ListTooLarge,
    MalformedPolicy,
    PolicySetTooLarge,
    PolicyVersionNotFound,
    SchemaViolation,
    StoredPolicyUnusable,
    UnsupportedPolicy,
)
from echo_shared.web import ErrorTable, Forbidden, Unauthenticated

__all__ = ["ERROR_TABLE", "Forbidden", "Unauthenticated"]

ERROR_TABLE: ErrorTable = {
    InvalidAuthzRequest: (400, "invalid_request"),
    BatchTooLarge: (400, "batch_too_large"),
    ListTooLarge: (400, "list_too_large"),
    MalformedPolicy: (400, "malformed_policy"),
    UnsupportedPolicy: (400, "unsupported_policy"),
    BaselineOverride: (400, "baseline_override"),
    SchemaViolation: (400, "schema_violation"),
    GoldenDecisionFailed: (400, "golden_decision_failed"),
    PolicySetTooLarge: (413, "policy_set_too_large"),
    PolicyVersionNotFound: (404, "version_not_found"),
    InvalidActivation: (409, "invalid_activation"),
    ConcurrentPolicyChange: (409, "conflict"),
    StoredPolicyUnusable: (409, "policy_unusable"),
    AuthzUnavailable: (503, "unavailable"),
}
