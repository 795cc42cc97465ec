"""The runs list at scale (migration 0006, issue 19): every sort reads an index, NULLs come last in
both directions across page boundaries, distinct tags and recent experiments without a full scan."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backend import store
from backend.db import get_engine
from backend.settings import Settings
from backend.store.imports import import_results
from tests.factories import fake_result, tiny_config
from worker.training.config import RunConfig


def _runs(n: int, *, unfinished: int = 0, tags: tuple[str, ...] = ()) -> list[int]:
    """n finished runs (averages rising with i), then `unfinished` queued ones (average NULL)."""
    ids = []
    for i in range(n):
        config = tiny_config(
            robust={"method": "rs_rp" if i % 2 else "none"}, train={"device": "cpu", "seed": i}
        )
        ids.append(store.import_result(fake_result(config, {"en": 0.5 + i / 100}), tags=list(tags)))
    for i in range(unfinished):
        queued = RunConfig.model_validate(tiny_config(train={"device": "cpu", "seed": 100 + i}))
        ids.append(store.create_run(queued, queue="cpu", task_id=f"t{i}").id)
    return ids


@pytest.mark.parametrize("sort", ["-average", "average"])
def test_nulls_come_last_in_both_directions_across_pages(embedded_settings: Settings, sort: str) -> None:
    ids = _runs(7, unfinished=4)
    finished, queued = ids[:7], ids[7:]
    descending = sort.startswith("-")
    expected = (finished[::-1] if descending else finished) + (queued[::-1] if descending else queued)
    pages = [store.list_runs(sort=sort, page=p, page_size=3) for p in (1, 2, 3, 4)]
    assert [r.id for page in pages for r in page.items] == expected
    assert all(page.total == 11 for page in pages)
    assert [r.id for r in store.list_runs(sort=sort, page=5, page_size=3).items] == []


def test_every_sort_column_is_read_from_an_index(embedded_settings: Settings) -> None:
    from backend.store.common import SORTABLE

    with get_engine().connect() as conn:
        for column in SORTABLE:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    text(f"EXPLAIN QUERY PLAN SELECT id FROM runs ORDER BY {column} DESC, id DESC LIMIT 50")
                )
            )
            assert "TEMP B-TREE" not in plan, (column, plan)


def test_a_broad_filter_pages_like_a_plain_sort(embedded_settings: Settings) -> None:
    ids = _runs(12)
    odd = [i for k, i in enumerate(ids) if k % 2]  # method rs_rp: half the runs, a "broad" filter
    page = store.list_runs(method="rs_rp", sort="-created_at", page=2, page_size=2)
    assert [r.id for r in page.items] == odd[::-1][2:4] and page.total == 6


def test_distinct_tags_in_order_and_recent_experiments_with_counts(embedded_settings: Settings) -> None:
    for name in ("b", "a", "c"):
        _runs(2, tags=(name, "shared"))
    assert store.list_tags() == ["a", "b", "c", "shared"]
    assert store.list_tags(limit=2) == ["a", "b"]
    for i in range(3):
        import_results([fake_result(tiny_config(), {"en": 0.5})], experiment_name=f"e{i}")
    recent = store.list_experiments(limit=2)
    assert [e.name for e in recent] == ["e2", "e1"] and all(e.run_count == 1 for e in recent)
    assert [e.name for e in store.list_experiments()] == ["e2", "e1", "e0"]


def test_the_stored_total_follows_every_way_runs_are_added_and_removed(embedded_settings: Settings) -> None:
    _the_stored_total_follows_inserts_and_deletes()


@pytest.mark.postgres
def test_the_stored_total_follows_inserts_and_deletes_on_postgres(pg_redis_settings: Settings) -> None:
    _the_stored_total_follows_inserts_and_deletes()


def _the_stored_total_follows_inserts_and_deletes() -> None:
    _runs(3, unfinished=2)
    import_results([fake_result(tiny_config(), {"en": 0.5})] * 2, experiment_name="imported")
    assert store.list_runs().total == 7
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM runs WHERE id = 1"))
        stored = conn.execute(text("SELECT runs FROM run_totals")).scalar()
        counted = conn.execute(text("SELECT count(*) FROM runs")).scalar()
    assert stored == counted == 6 == store.list_runs().total
