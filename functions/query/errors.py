"""The query API's exception table: domain exceptions -> (status, code); see echo_shared.web."""

from echo_documents.errors import DocumentNotFound, DocumentStoreUnavailable
from echo_shared.authz import AuthzUnavailable, BatchTooLarge, InvalidAuthzRequest, ListTooLarge
from echo_shared.events import PublishFailed
from echo_shared.web import ErrorTable

ERROR_TABLE: ErrorTable = {
    InvalidAuthzRequest: (400, "invalid_request"),
    BatchTooLarge: (400, "invalid_request"),
    ListTooLarge: (413, "too_many_documents"),
    DocumentNotFound: (404, "not_found"),
    DocumentStoreUnavailable: (503, "unavailable"),
    AuthzUnavailable: (503, "unavailable"),
    # The request's audit events (decisions, the answer) could not be published: no answer leaves.
    PublishFailed: (503, "unavailable"),
}
