"""Errors on pages: an HTML page with a heading and a one-line message, the status code kept.

backend.app chooses this for every path that is not the JSON API; a shared view (`/s/…`) gets the
same page without the dashboard's navigation.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from backend.pages.templating import render


def error_page(request: Request, status_code: int, heading: str, message: str) -> HTMLResponse:
    shared = request.url.path.startswith("/s/")
    context = {"heading": heading, "message": message, "status_code": status_code, "shared": shared}
    return render(request, "error.html", context, status_code=status_code)
