"""/healthz: the database and the broker are reachable (200), or which one is not (503)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.services.health import check_health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> JSONResponse:
    checks = check_health()
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "error", **checks}
    if not ok:
        body["message"] = "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    return JSONResponse(body, status_code=200 if ok else 503)
