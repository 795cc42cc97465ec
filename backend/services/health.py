"""Health: can this process reach the database and the broker right now?"""

from __future__ import annotations

from backend import queue, store


def check_health() -> dict[str, str]:
    """{'database': 'ok' | 'error: …', 'broker': …}; never raises (it reports what is down)."""
    checks: dict[str, str] = {}
    for name, probe in (("database", store.ping), ("broker", queue.ping_broker)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {exc}"
    return checks
