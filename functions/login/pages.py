"""Server-rendered pages (no JavaScript) and the headers every page carries.

The only inline content is the stylesheet, allowed by its hash; nothing may frame the pages
(`frame-ancestors 'none'`), and nothing is cached or leaks a referrer.
"""

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
    )


@cache
def _css() -> tuple[str, str]:
    css = (TEMPLATES / "style.css").read_text("utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def security_headers() -> dict[str, str]:
    _, style_hash = _css()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {style_hash}; img-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }


def render(
    template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    css, _ = _css()
    html = _environment().get_template(template).render({"error": None, **context, "css": css})
    return HTMLResponse(html, status_code=status, headers={**security_headers(), **(headers or {})})


def message_page(status: int, title: str, message: str) -> HTMLResponse:
    return render("message.html", status=status, title=title, message=message)


def error_page(status: int, message: str) -> HTMLResponse:
    """The error-table renderer: the page never shows more than the safe message."""
    return message_page(status, "Something is not right", message)
