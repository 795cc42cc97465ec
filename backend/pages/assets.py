"""plotly.js from the installed `plotly` package (no CDN, no build step)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()

_spec = importlib.util.find_spec("plotly")  # located, not imported: the server stays light
PLOTLY_JS = (
    Path(_spec.origin if _spec and _spec.origin else ".").resolve().parent / "package_data" / "plotly.min.js"
)


@router.get("/assets/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
