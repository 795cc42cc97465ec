"""Server time of the dashboard pages with 1,000 runs in the database (target: under 300 ms each).

    .venv/bin/python -m bench.pages_latency [--runs 1000] [--repeat 20] [--out bench/out/pages_latency.md]

Seeds a fresh embedded (SQLite) database in a temp XLT_HOME with finished XNLI runs (15 languages,
40 loss points each) written through the store as the worker writes them, then times each page
in-process through the ASGI app (server time: routing, queries, figures, template; no network).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown table here")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="xlt-bench-"))
    os.environ["XLT_HOME"] = str(home)
    os.environ.pop("XLT_DATABASE_URL", None)
    from fastapi.testclient import TestClient

    from backend import store
    from backend.app import create_app
    from backend.migrate import upgrade
    from bench.demo_runs import seed_runs

    upgrade()
    started = time.perf_counter()
    ids = seed_runs(args.runs)
    seed_s = time.perf_counter() - started
    sweep = ids[-8:]
    link = store.create_share_link("compare", {"runs": sweep, "baseline": None})
    run_link = store.create_share_link("run", {"run_id": ids[0]})
    middle = ids[len(ids) // 2]
    pages = {
        "/ (runs, newest first)": "/",
        "/ sorted by accuracy, page 10": "/?sort=-average&page=10",
        "/ filtered (method, tag)": "/?method=rs_da&tag=demo",
        "/runs/live.json (50 runs)": "/runs/live.json?ids=" + ",".join(map(str, ids[:50])),
        "/runs/{id}": f"/runs/{middle}",
        "/launch": "/launch",
        "/launch?from={id} (clone)": f"/launch?from={middle}",
        "/compare (8 runs, 4 groups)": "/compare?runs=" + ",".join(map(str, sweep)),
        "/compare (100 runs)": "/compare?runs=" + ",".join(map(str, ids[:100])),
        "/compare/export.tex": "/compare/export.tex?runs=" + ",".join(map(str, sweep)),
        "/shares": "/shares",
        "/s/{token} (compare)": f"/s/{link.token}",
        "/s/{token} (run)": f"/s/{run_link.token}",
    }
    rows = []
    with TestClient(create_app()) as client:
        for label, url in pages.items():
            assert client.get(url).status_code == 200, url  # warm-up (template compile, caches)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            rows.append((label, statistics.median(times), p95, max(times), len(response.content)))

    lines = [
        f"Dashboard page server time, {args.runs} runs in SQLite, {args.repeat} requests each "
        f"(seeding took {seed_s:.1f} s).",
        "",
        "| page | median ms | p95 ms | max ms | bytes | under 300 ms |",
        "|---|---:|---:|---:|---:|---|",
    ]
    ok = True
    for label, median, p95, worst, size in rows:
        ok &= p95 < TARGET_MS
        verdict = "yes" if p95 < TARGET_MS else "NO"
        lines.append(f"| {label} | {median:.1f} | {p95:.1f} | {worst:.1f} | {size:,} | {verdict} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
