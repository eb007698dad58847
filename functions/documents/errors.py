"""The documents API's exception table: domain exceptions -> (status, code); see echo_shared.web."""

from echo_documents.errors import DocumentExists, DocumentNotFound, DocumentStoreUnavailable, StaleStatus
from echo_shared.authz import AuthzUnavailable, InvalidAuthzRequest
from echo_shared.web import ErrorTable

from documents.logic import InvalidDocumentRequest, UnsupportedUploadType, UploadTooLarge

ERROR_TABLE: ErrorTable = {
    InvalidDocumentRequest: (400, "invalid_request"),
    InvalidAuthzRequest: (400, "invalid_request"),
    DocumentNotFound: (404, "not_found"),
    DocumentExists: (409, "conflict"),
    StaleStatus: (409, "conflict"),
    UploadTooLarge: (413, "too_large"),
    UnsupportedUploadType: (415, "unsupported_type"),
    DocumentStoreUnavailable: (503, "unavailable"),
    AuthzUnavailable: (503, "unavailable"),
}
