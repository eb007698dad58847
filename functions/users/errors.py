"""The users API's errors: the identity errors (echo_shared.identity.errors) state their own status
and code, so the function adds no table; echo_shared.web maps them as Echo's typed body."""

from echo_shared.web import register_error_handlers
from fastapi import FastAPI


def register_errors(app: FastAPI) -> None:
    register_error_handlers(app)
