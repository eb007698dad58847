"""The FastAPI application: the hosted login's routes plus its error pages."""

from fastapi import FastAPI

from login.errors import register_errors
from login.routes import router

app = FastAPI(title="Echo login", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(router)
register_errors(app)
