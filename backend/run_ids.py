"""Run ids from a query string: `runs=1,2,3`, `runs=1&runs=2` or `1 2 3`, for the API and the pages.

Anything that is not a run id is an error (422), never silently dropped: a comparison that quietly
left out a mistyped run would look complete and be wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from backend.errors import Invalid

MAX_RUN_ID = 2**31 - 1  # runs.id is an INTEGER column: a larger number is no run (PostgreSQL would raise)
_SEPARATORS = re.compile(r"[\s,]+")


def parse_run_ids(values: Iterable[str], field: str = "runs", what: str = "a run id") -> list[int]:
    """Ids in the order given, duplicates removed; raises Invalid naming the first bad part
    (anything but 1 to 2**31 - 1 in ASCII digits: not '²', not 0, not 2**70)."""
    ids: list[int] = []
    for value in values:
        for part in _SEPARATORS.split(value):
            if not part:
                continue
            if not (part.isascii() and part.isdigit()) or len(part) > 10 or not 0 < int(part) <= MAX_RUN_ID:
                raise Invalid(f"{field}: '{part[:40]}' is not {what}")
            ids.append(int(part))
    return list(dict.fromkeys(ids))
