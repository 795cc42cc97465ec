"""The users of bench/load.py (run by `locust` in its own process: locust's gevent patching must not
meet the rest of the bench). 20 browse, 2 submit; set up through the environment by bench/load.py:

    BENCH_RUNS     runs in the database (ids 1..BENCH_RUNS)
    BENCH_SHARE    token of a share link to a comparison
    BENCH_TOKEN    an API token of a member (empty: a server without accounts)
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

RUNS = int(os.environ.get("BENCH_RUNS", "10000"))
SHARE = os.environ.get("BENCH_SHARE", "")
TOKEN = os.environ.get("BENCH_TOKEN", "")
HEADERS = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
SORTS = ("-created_at", "-average", "model", "-finished_at")


def _group(start: int, groups: int) -> str:
    """Run ids of `groups` consecutive groups of 3 seeds from a multiple of 3."""
    first = start // 3 * 3 + 1
    return ",".join(str(i) for i in range(first, min(RUNS, first + 3 * groups - 1) + 1))


class Researcher(HttpUser):
    """Browses: the runs table (sorted, paged, filtered), run pages, comparisons and a share link."""

    fixed_count = 20
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.client.headers.update(HEADERS)

    @task(4)
    def runs_table(self) -> None:
        sort = random.choice(SORTS)
        page = random.choice((1, 1, 1, 2, 3, 10))
        self.client.get(f"/?sort={sort}&page={page}", name="/ (runs table)")

    @task(1)
    def runs_filtered(self) -> None:
        method = random.choice(("baseline", "rs_da", "stsb+adv"))
        self.client.get(
            f"/?method={method}&tag=batch-{random.randrange(RUNS // 1000 or 1)}", name="/ (filtered)"
        )

    @task(4)
    def run_page(self) -> None:
        self.client.get(f"/runs/{random.randint(1, RUNS)}", name="/runs/{id}")

    @task(1)
    def run_live(self) -> None:
        self.client.get(f"/runs/{random.randint(1, RUNS)}/live.json", name="/runs/{id}/live.json")

    @task(2)
    def compare_page(self) -> None:
        runs = _group(random.randrange(RUNS - 24), random.choice((2, 4, 8)))
        self.client.get(f"/compare?runs={runs}", name="/compare (2-8 groups)")

    @task(1)
    def api_compare(self) -> None:
        runs = _group(random.randrange(RUNS - 48), 13)
        self.client.get(f"/api/compare?runs={runs}", name="/api/compare (40 runs)")

    @task(2)
    def share_link(self) -> None:
        if SHARE:
            self.client.get(f"/s/{SHARE}", name="/s/{token}")


class Submitter(HttpUser):
    """Launches runs over the API (they stay queued: no worker consumes them) and looks at them."""

    fixed_count = 2
    wait_time = between(2.0, 5.0)

    def on_start(self) -> None:
        self.client.headers.update(HEADERS)

    @task
    def submit(self) -> None:
        config = {
            "task": "xnli",
            "model": "lab/encoder-load",
            "robust": {"method": random.choice(("none", "rs_da", "rs_rp", "adv"))},
            "train": {"device": "cpu", "seed": random.randint(1, 3)},
        }
        with self.client.post("/api/runs", json=config, name="/api/runs", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return
            run_id = r.json()["id"]
        self.client.get(f"/runs/{run_id}", name="/runs/{id} (just submitted)")
