"""The login's errors: the identity errors (echo_shared.identity.errors) state their status and
code, and echo_shared.web answers them with the login's error page (a browser reads these)."""

from echo_shared.web import register_error_handlers
from fastapi import FastAPI

from login.pages import error_page


def register_errors(app: FastAPI) -> None:
    register_error_handlers(app, page=error_page)
