"""The service layer: one function per use case, called by the JSON API (backend.api) and the pages
(backend.pages) alike, so both front doors behave the same.

Services validate, call the store and the queue client, and raise domain errors (backend.errors)
that each front door turns into its own response (JSON or an HTML page). They return the plain
pydantic objects of backend.schemas (or small dataclasses of them), never ORM rows.

    runs.py          submit a run or a sweep, retry, cancel, tags and notes; read runs and their results
    compare.py       compare runs grouped by everything but the seed
    experiments.py   experiments (a sweep makes one)
    share_links.py   read-only share links and what a visitor sees
    health.py        database and broker reachability
"""
