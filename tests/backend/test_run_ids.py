"""parse_run_ids: the one parser of run ids for the API and the pages; junk is an error, never dropped."""

from __future__ import annotations

import pytest

from backend.errors import Invalid
from backend.run_ids import parse_run_ids


def test_commas_spaces_and_repeats_give_ids_in_order_without_duplicates() -> None:
    assert parse_run_ids(["3,1", "2 3", " 1 ,, 4 "]) == [3, 1, 2, 4]
    assert parse_run_ids([]) == [] and parse_run_ids([""]) == []


@pytest.mark.parametrize("junk", ["x", "1,x", "-1", "1.5", "²", "1" + "0" * 20, "run:3"])
def test_anything_that_is_not_a_run_id_is_invalid_and_named(junk: str) -> None:
    with pytest.raises(Invalid, match="is not a run id") as raised:
        parse_run_ids([junk], field="ids")
    assert raised.value.message.startswith("ids: ") and raised.value.status_code == 422
