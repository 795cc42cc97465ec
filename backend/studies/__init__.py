"""Studies: the statistics that turn a grid of runs (methods × seeds) into a report a reviewer accepts.

Pure functions over plain inputs (numpy and scipy only; no SQL, no FastAPI, no torch): the study
service reads runs from the store, calls `build_study_report`, and the API, the pages and
`xlt report` render what it returns.
"""
