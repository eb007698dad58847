"""The web app's domain errors. They carry no status codes: `web.app` maps them, in one table."""


class WebError(Exception):
    """Base of the errors below; the message is safe to show."""


class NotSignedIn(WebError):
    """No live session: pages send the browser to sign in, the JSON API answers 401."""


class CsrfRejected(WebError):
    """A state-changing request without the session's CSRF token (or from another origin)."""


class SignInFailed(WebError):
    """The callback cannot complete a sign-in (expired, replayed, or refused by the identity service)."""


class NotAllowed(WebError):
    """Authz said no (the page or action is not for this user)."""


class BadInput(WebError):
    """A request the app refuses before calling anything."""


class BackendUnavailable(WebError):
    """The session store or an Echo API cannot be reached."""


class ApiRefused(WebError):
    """An Echo API answered with its typed error; passed on with the API's status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
