"""The token service's errors: the identity errors (echo_shared.identity.errors) state their status
and OAuth error code, and echo_shared.web answers them as OAuth error bodies (RFC 6749 §5.2)."""

from echo_shared.web import ErrorStyle, register_error_handlers
from fastapi import FastAPI


def register_errors(app: FastAPI) -> None:
    register_error_handlers(app, ErrorStyle.OAUTH)
