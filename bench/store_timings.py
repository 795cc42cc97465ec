"""Quick timings of the store's hot paths on the embedded SQLite database (not the formal benchmark).

    .venv/bin/python bench/store_timings.py [N_RUNS]      # default 1000 runs x 15 scores x 1000 loss points

Targets (issue 3): store one finished run <= 12 ms, compare <= 5 ms, list 1,000 runs with averages
<= 60 ms, a loss history <= 8 ms. Medians of 20 calls; run on an idle machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import store  # noqa: E402
from backend.services.compare import compare_runs  # noqa: E402
from tests.factories import embedded, fake_result, tiny_config  # noqa: E402
from worker.training.languages import DATASET_LANGUAGES  # noqa: E402

LANGS = list(DATASET_LANGUAGES["xnli"])


def median_ms(fn: Callable[[], object], repeat: int = 20) -> str:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return f"{statistics.median(times) * 1000:.2f} ms"


def main(n_runs: int) -> None:
    with embedded(Path(tempfile.mkdtemp()) / "xlt"):
        results = []
        for i in range(8):
            method = ["none", "rs_rp"][i % 2]
            config = tiny_config(robust={"method": method}, train={"device": "cpu", "seed": i})
            config["eval"] = {"languages": LANGS}
            results.append(fake_result(config, {lang: 0.5 + i / 100 for lang in LANGS}, history_steps=1000))
        start = time.perf_counter()
        ids = [store.import_result(results[i % 8]) for i in range(n_runs)]
        print(f"import {n_runs} runs: {time.perf_counter() - start:.1f} s")
        one = median_ms(lambda: store.import_result(results[0]))
        print("store one finished run (15 scores, 1000 loss points):", one)
        group = ids[-40:]
        compared = median_ms(lambda: compare_runs(group, baseline=f"run:{group[0]}"))
        print("compare 40 runs (grouped by seed):", compared)
        print("list 1000 runs with averages:", median_ms(lambda: store.list_runs(page_size=1000), 10))
        middle = ids[len(ids) // 2]
        print("loss history of one run:", median_ms(lambda: store.get_history(middle, names=["loss"])))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
