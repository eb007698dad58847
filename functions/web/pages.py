"""Server-rendered pages and static assets, with the headers every response carries.

No inline script or style: scripts and the stylesheet are files served by the app itself, so the
Content-Security-Policy can say `script-src 'self'` and `style-src 'self'`; nothing may frame a page.
"""

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.settings import WebSettings

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(settings: WebSettings) -> dict[str, str]:
    uploads = " ".join(sorted({_origin(url) for url in settings.upload_origins}))
    issuer = _origin(settings.issuer)
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src 'self' {uploads}".rstrip()
            + f"; form-action 'self' {issuer}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # Same-origin keeps the Origin header on our own form posts (no-referrer makes it "null").
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def render(
    settings: WebSettings,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = (
        _environment()
        .get_template(template)
        .render(
            {
                "error": None,
                "notice": None,
                "session": None,
                "caps": None,
                **context,
                "base": settings.base_path,
            }
        )
    )
    return HTMLResponse(html, status_code=status, headers={**security_headers(settings), **(headers or {})})


def message_page(
    settings: WebSettings, status: int, title: str, message: str, **context: Any
) -> HTMLResponse:
    return render(settings, "message.html", status=status, title=title, message=message, **context)


@cache
def _static(name: str) -> tuple[bytes, str] | None:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or path.suffix not in STATIC_TYPES or not path.is_file():
        return None
    return path.read_bytes(), STATIC_TYPES[path.suffix]


def static_asset(settings: WebSettings, name: str) -> Response | None:
    found = _static(name)
    if found is None:
        return None
    body, media_type = found
    headers = {**security_headers(settings), "Cache-Control": "public, max-age=300"}
    return Response(body, media_type=media_type, headers=headers)
