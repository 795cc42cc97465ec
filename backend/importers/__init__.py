"""Importing earlier results as finished runs (`xlt import PATH [--experiment NAME] [--dry-run]`).

    model.py         ImportedRun / Problem, method labels → config fields, build_run
    xtreme.py        XTREME and Robust-XLT run_classify.py output folders → runs
    run_classify_files.py  readers of the files run_classify.py writes (formats cited there)
    csv_scores.py    a CSV of per-language scores (its columns are documented there)
    results_json.py  results.json files written by `xlt train`
    loader.py        import_path: parse everything, then store all or nothing

Parsing never touches the database; only loader.import_path stores, through
backend.store.imports.import_results (one transaction).
"""

from backend.importers.loader import ImportReport, collect, import_command, import_path
from backend.importers.model import ImportedRun, Problem

__all__ = ["ImportReport", "ImportedRun", "Problem", "collect", "import_command", "import_path"]
