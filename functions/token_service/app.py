"""The FastAPI application: the token service's routes plus its OAuth error handlers."""

from fastapi import FastAPI

from token_service.errors import register_errors
from token_service.routes import router

app = FastAPI(title="Echo token service", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(router)
register_errors(app)
