"""The FastAPI application: the users API's routes plus its error handlers."""

from fastapi import FastAPI

from users.errors import register_errors
from users.routes import router

app = FastAPI(title="Echo users", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(router)
register_errors(app)
