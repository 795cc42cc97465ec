"""CSV tables of per-language scores: one run per `run`, every problem located by file and line."""

from __future__ import annotations

from pathlib import Path

from backend.importers import collect

HEADER = "run,task,model,method,seed,dataset,language,split,metric,value,n\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "scores.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_rows_group_into_runs_with_method_fields_and_extra_datasets(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "a,xnli,xlm-roberta-base,stsb+rs_da,1,xnli,en,test,accuracy,0.85,5010\n"
        "a,xnli,xlm-roberta-base,stsb+rs_da,1,xnli,sw,test,acc,0.65,5010\n"
        "a,xnli,xlm-roberta-base,stsb+rs_da,1,americasnli,quy,test,accuracy,0.41,750\n"
        "b,pawsx,bert-base-multilingual-cased,,2,,de,,accuracy,0.8,\n",
    )

    runs, problems = collect(path)

    assert problems == []
    a, b = runs
    assert (a.config.name, a.config.method_label, a.config.train.seed) == ("a", "stsb+rs_da", 1)
    assert a.config.intermediate is not None and a.config.robust.method == "rs_da"
    assert a.config.eval.extra == ["americasnli"] and a.config.eval_languages == ["en", "sw"]
    assert a.result.summary.average == 0.75  # the task dataset only
    assert a.result.summary.transfer_gap == 0.85 - 0.65
    assert (b.config.task, b.config.method_label, b.config.eval.split) == ("pawsx", "baseline", "test")
    assert [(s.dataset, s.language, s.n) for s in b.result.scores] == [("pawsx", "de", 0)]
    assert a.source == f"{path}:2"


def test_every_bad_row_is_reported_with_its_line_and_no_run_comes_out(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "a,xnli,m,baseline,1,xnli,en,test,accuracy,0.8,10\n"  # line 2: fine
        "a,xnli,m,baseline,1,xnli,xx,test,accuracy,0.8,10\n"  # 3: unknown language
        "a,xnli,m,baseline,1,xnli,de,test,f1,0.8,10\n"  # 4: unknown metric
        "a,xnli,m,baseline,1,xnli,fr,test,accuracy,71.2,10\n"  # 5: a percentage
        "a,xnli,m,baseline,2,xnli,es,test,accuracy,0.7,10\n"  # 6: another seed for run a
        "a,xnli,m,baseline,1,xnli,en,test,accuracy,0.8,10\n"  # 7: repeated
        "a,xnli,m,baseline,1,xnli,ar,dev,accuracy,0.8,10\n"  # 8: another split
        "a,xnli,m,baseline,1,pawsx,de,test,accuracy,0.8,10\n"  # 9: dataset of another task
        "b,xnli,m,sharpness,1,xnli,en,test,accuracy,0.8,10\n"  # 10: unknown method (run b)
        "c,xnli,m,baseline,1,xnli,en,test,accuracy,0.8\n",  # 11: a field short
    )

    runs, problems = collect(path)

    assert runs == []
    found = {p.line: p.message for p in problems}
    assert {p.path for p in problems} == {str(path)}
    assert "unknown language code 'xx'" in found[3]
    assert "unknown metric 'f1'" in found[4]
    assert "not percentages" in found[5]
    assert "another seed on line 2" in found[6]
    assert "repeated in run 'a'" in found[7]
    assert "mixes splits test and dev" in found[8]
    assert "dataset 'pawsx' cannot be scored by a xnli run" in found[9]
    assert "unknown method 'sharpness'" in found[10]
    assert "expected 11 fields" in found[11]


def test_unknown_and_missing_columns_are_reported_on_the_header_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,xnli,m,en,0.8\n", header="run,task,model,lang,value\n")

    runs, problems = collect(path)

    assert runs == []
    [problem] = problems
    assert problem.line == 1
    assert "unknown column(s) lang" in problem.message
    assert "missing column(s) language, metric" in problem.message
