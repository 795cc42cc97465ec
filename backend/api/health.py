"""/healthz: the database and the broker are reachable (200), or which one is not (503).

It is public (load balancers and `docker compose` probe it), so a caller without credentials on a
server with accounts gets only `{"status": …}`: error details can name hosts and database URLs.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.access import OptionalUser
from backend.services.health import check_health

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(user: OptionalUser) -> JSONResponse:
    checks = check_health()
    ok = all(v == "ok" for v in checks.values())
    if user is None:
        return JSONResponse({"status": "ok" if ok else "error"}, status_code=200 if ok else 503)
    body = {"status": "ok" if ok else "error", **checks}
    if not ok:
        body["message"] = "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    return JSONResponse(body, status_code=200 if ok else 503)
