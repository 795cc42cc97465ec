"""backend.services.mlflow_mapping and mlflow_search: what MLflow params and metric names become in
XLT Lab, and the part of MLflow's search grammar scripts use."""

from __future__ import annotations

import pytest

from backend.errors import Invalid
from backend.services.mlflow_mapping import (
    ScoreKey,
    config_from_params,
    infer_task,
    is_history,
    score_key,
    scores_from_metrics,
)
from backend.services.mlflow_search import Record, matches, order, page, parse_filter

RUN_ATTRIBUTES = {"run_id", "run_name", "status", "start_time"}


def test_params_set_the_config_fields_they_name_and_refused_values_stay_verbatim_only() -> None:
    mapped = config_from_params(
        {
            "model_name_or_path": "xlm-roberta-base",
            "task_name": "PAWS-X",
            "learning_rate": "3e-05",
            "lr": "1",  # the exact field name wins over the alias
            "seed": "7",
            "per_device_train_batch_size": "0",  # refused by the config: not mapped
            "method": "stsb+rs_rp",
            "sigma": "0.05",
            "train.max_seq_len": "256",
            "scheduler": "linear",
        }
    )
    assert mapped.complete
    config = mapped.config
    assert (config["task"], config["model"], mapped.method, mapped.seed) == (
        "pawsx",
        "xlm-roberta-base",
        "stsb+rs_rp",
        7,
    )
    assert config["train"]["learning_rate"] == 3e-5 and config["train"]["max_seq_len"] == 256
    assert config["train"]["batch_size"] == 32 and config["robust"]["sigma"] == 0.05
    assert config["intermediate"]["task"] == "stsb"
    assert "per_device_train_batch_size" not in mapped.used and "scheduler" not in mapped.used
    assert mapped.used["learning_rate"] == "train.learning_rate" and "lr" not in mapped.used


def test_without_a_model_the_config_holds_only_what_mapped() -> None:
    mapped = config_from_params({"lr": "2e-5", "max_train_samples": "None"})
    assert not mapped.complete
    assert mapped.config == {"train": {"learning_rate": 2e-5}}
    assert (mapped.task, mapped.model, mapped.method) == ("", "", "baseline")


def test_the_task_is_inferred_only_from_languages_that_fit_one_task() -> None:
    assert infer_task(["en", "sw", "ur"]) == "xnli"
    assert infer_task(["en", "ja"]) == "pawsx"
    assert infer_task(["en", "de", "fr"]) is None  # both tasks have them
    assert infer_task(["en", "gn"]) == "xnli"  # AmericasNLI is evaluated beside XNLI
    assert config_from_params({"model": "m"}, ["en", "sw"]).task == "xnli"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("accuracy_de", ScoreKey("accuracy", "de")),
        ("accuracy.fr", ScoreKey("accuracy", "fr")),
        ("acc/sw", ScoreKey("accuracy", "sw")),
        ("test_acc_th", ScoreKey("accuracy", "th", split="test")),
        ("eval_accuracy_ur", ScoreKey("accuracy", "ur")),
        ("xnli.dev_f1_zh", ScoreKey("f1", "zh", dataset="xnli", split="dev")),
        ("americasnli/accuracy_gn", ScoreKey("accuracy", "gn", dataset="americasnli")),
        ("accuracy_xx", None),  # not a language code
        ("train_loss", None),
        ("de", None),
    ],
)
def test_per_language_metric_names(key: str, expected: ScoreKey | None) -> None:
    assert score_key(key) == expected


def test_stepped_metrics_and_losses_are_history_scores_never() -> None:
    assert is_history("train_loss", 0) and is_history("learning_rate", 0)
    assert is_history("grad_norm", 5) and not is_history("train_runtime", 0)
    assert not is_history("accuracy_de", 3)  # per-language: its latest value is the score


def test_scores_take_the_task_its_extra_dataset_or_unknown() -> None:
    xnli = config_from_params({"model": "m", "task": "xnli"})
    scores = scores_from_metrics({"accuracy_en": 0.8, "accuracy_gn": 0.4, "accuracy_de": float("nan")}, xnli)
    assert {(s.dataset, s.language, s.split) for s in scores} == {
        ("xnli", "en", "test"),
        ("americasnli", "gn", "test"),
    }
    unknown = scores_from_metrics({"accuracy_en": 0.8}, config_from_params({}))
    assert [(s.dataset, s.n) for s in unknown] == [("unknown", 0)]


def test_filters_and_order_by_over_records() -> None:
    a = Record(
        {"run_id": "1", "run_name": "a", "status": "FINISHED", "start_time": 10.0},
        {"acc_de": 0.7},
        {"lr": "2e-05"},
        {"team": "nlp"},
    )
    b = Record(
        {"run_id": "2", "run_name": "b", "status": "FAILED", "start_time": 20.0}, {}, {"lr": "1e-05"}, {}
    )
    clauses = parse_filter(
        "metrics.acc_de >= 0.7 and params.lr LIKE '2e%' and tags.`team` = 'nlp'", RUN_ATTRIBUTES
    )
    assert [matches(clauses, r) for r in (a, b)] == [True, False]
    in_list = parse_filter("attributes.status IN ('FAILED', 'KILLED') AND tags.team IS NULL", RUN_ATTRIBUTES)
    assert [matches(in_list, r) for r in (a, b)] == [False, True]
    assert order(["a", "b"], [a, b], ["metrics.acc_de DESC"], RUN_ATTRIBUTES) == ["a", "b"]  # missing last
    assert order(["a", "b"], [a, b], ["start_time DESC"], RUN_ATTRIBUTES) == ["b", "a"]
    assert page(list(range(5)), 2, "2") == ([2, 3], "4")
    for bad in ("metrics.a > 1 OR metrics.b > 1", "colour = 'red'", "params.x ~ 'y'", "metrics.a >"):
        with pytest.raises(Invalid):
            parse_filter(bad, RUN_ATTRIBUTES)
