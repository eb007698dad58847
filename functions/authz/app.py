"""The FastAPI application: routes plus the single exception-handler table."""

from echo_shared.web import register_error_handlers
from fastapi import FastAPI

from authz.errors import ERROR_TABLE
from authz.routes import router


def create_app() -> FastAPI:
    app = FastAPI(title="Echo authz API", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    register_error_handlers(app, table=ERROR_TABLE)
    return app
