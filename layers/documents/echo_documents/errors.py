"""Domain errors of the document product. They carry no HTTP status (see functions/*/errors.py)."""


class DocumentError(Exception):
    """Base class; the message is safe to show to the caller (never document text)."""


class DocumentNotFound(DocumentError):
    pass


class DocumentExists(DocumentError):
    pass


class StaleStatus(DocumentError):
    """The document is no longer in the status a transition expected (deleted, or already past it)."""


class DocumentStoreUnavailable(DocumentError):
    """DynamoDB or S3 could not be reached."""
