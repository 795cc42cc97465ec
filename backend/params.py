"""Bounded route parameters, shared by the API and the pages (which never import each other).

Ids fit the INTEGER columns they are looked up in: a larger number, or anything that is not an ASCII
number (`²`, `1e3`), is a 422 naming the parameter instead of reaching the database (SQLite and
PostgreSQL raise on integers beyond 64/32 bits). Strings fit the columns they are compared with.
NUL characters in paths and query strings never get this far (backend.access.limits).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from backend.schemas import MAX_DB_INT, MAX_PAGE, NAME_MAX_LENGTH, TAG_MAX_LENGTH, USER_NAME_MAX_LENGTH

RunId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="a run id")]
ExperimentId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="an experiment id")]
ExperimentFilter = Annotated[int | None, Query(ge=1, le=MAX_DB_INT, description="an experiment id")]
SeedFilter = Annotated[int | None, Query(ge=0, le=MAX_DB_INT)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
ShareToken = Annotated[str, Path(max_length=64, description="a share link's token")]
# Filters compared with a column of this many characters
ModelFilter = Annotated[str | None, Query(max_length=500)]
ShortFilter = Annotated[str | None, Query(max_length=64)]  # task, method, status values, sort
TagFilter = Annotated[str | None, Query(max_length=TAG_MAX_LENGTH)]
OwnerFilter = Annotated[
    str | None, Query(max_length=USER_NAME_MAX_LENGTH, description="user name of whoever launched the run")
]
SearchFilter = Annotated[
    str | None, Query(max_length=NAME_MAX_LENGTH, description="substring of name or model")
]
