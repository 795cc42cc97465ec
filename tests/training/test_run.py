"""End-to-end runs of `run()` on a tiny random BERT and the real data: every method combination
learns, runs are reproducible, STS-intermediate carries the encoder, reporter hooks and cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load_file
from scipy import stats

from worker.training import run as run_mod
from worker.training.batching import encode_pairs
from worker.training.config import TrainConfig
from worker.training.correctness import decode_correctness, items_digest
from worker.training.data import read_local_split
from worker.training.evaluation import predict, score_language
from worker.training.model import encoder, load_classifier, load_tokenizer
from worker.training.precision import resolve_runtime
from worker.training.reporter import NullReporter, RunCancelled
from worker.training.results import HistoryPoint, RunResult, Score
from worker.training.run import run


def _task_losses(result: RunResult) -> list[float]:
    return [h.loss for h in result.history if h.stage == "task"]


@pytest.mark.parametrize("robust", ["none", "rs_da", "rs_rp", "adv"])
@pytest.mark.parametrize("intermediate", [None, "stsb"])
def test_every_method_combination_trains_with_falling_loss(
    make_config: Any, intermediate: str | None, robust: str
) -> None:
    inter = {"epochs": 1, "max_examples": 32, "learning_rate": 1e-3} if intermediate else None
    config = make_config(intermediate=inter, robust={"method": robust, "copies": 2, "sigma": 0.01})
    result = run(config)
    losses = _task_losses(result)
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses
    assert [(s.dataset, s.language, s.metric, s.n) for s in result.scores] == [
        ("xnli", "en", "accuracy", 498),
        ("xnli", "de", "accuracy", 498),
    ]
    assert result.config["robust"]["method"] == robust
    assert (any(h.stage == "intermediate" for h in result.history)) == (intermediate is not None)
    if robust == "rs_da":
        assert result.augmentation is not None
        assert result.augmentation["augmented_examples"] == 128
        assert 0 < result.augmentation["examples_changed"] <= 64
        assert result.augmentation["words_changed"] > 0
    else:
        assert result.augmentation is None


def test_same_config_and_seed_give_identical_scores(make_config: Any) -> None:
    config = make_config(robust={"method": "rs_rp"}, train={"epochs": 3})
    a, b = run(config), run(config)
    assert [s.value for s in a.scores] == [s.value for s in b.scores]
    assert _task_losses(a) == _task_losses(b)
    c = run(make_config(robust={"method": "rs_rp"}, train={"epochs": 3, "seed": 4}))
    assert _task_losses(c) != _task_losses(a)


def test_sts_intermediate_carries_the_encoder_and_not_the_head_or_pooler(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    saved_pooler = load_file(str(tiny_model / "model.safetensors"))["bert.pooler.dense.weight"]
    seen: list[dict[str, Any]] = []
    real_train_stage = run_mod.train_stage

    def recording_train_stage(model: Any, data: Any, spec: Any, *args: Any, **kwargs: Any) -> Any:
        def snapshot() -> dict[str, Any]:
            return {
                "encoder": {k: v.clone() for k, v in encoder(model).state_dict().items()},
                "head": {n: p.detach().clone() for n, p in model.classifier.named_parameters()},
            }

        start = snapshot()
        outcome = real_train_stage(model, data, spec, *args, **kwargs)
        seen.append({"stage": spec.stage, "start": start, "end": snapshot()})
        return outcome

    monkeypatch.setattr(run_mod, "train_stage", recording_train_stage)
    run(
        make_config(
            intermediate={"epochs": 2, "max_examples": 64, "learning_rate": 1e-3}, train={"epochs": 1}
        )
    )
    stage1, stage2 = seen
    assert (stage1["stage"], stage2["stage"]) == ("intermediate", "task")
    end1, start2 = stage1["end"]["encoder"], stage2["start"]["encoder"]
    assert end1.keys() == start2.keys()
    body = [k for k in end1 if not k.startswith("pooler.")]
    assert len(body) > 10 and all(torch.equal(end1[k], start2[k]) for k in body)
    # stage 1 really changed the encoder, and the task head is new (3 outputs, not the 1 of STS-B)
    assert any(not torch.equal(stage1["start"]["encoder"][k], end1[k]) for k in body)
    # BERT's tanh pooler: trained by stage 1, the pretrained checkpoint's again in stage 2 (model.py)
    pretrained = stage1["start"]["encoder"]["pooler.dense.weight"]
    assert torch.equal(pretrained, saved_pooler)
    assert not torch.equal(end1["pooler.dense.weight"], pretrained)
    assert torch.equal(start2["pooler.dense.weight"], pretrained)
    assert stage1["end"]["head"]["weight"].shape[0] == 1
    assert stage2["start"]["head"]["weight"].shape[0] == 3


class RecordingReporter(NullReporter):
    def __init__(self, stop_after: int | None = None) -> None:
        self.stages: list[tuple[str, int]] = []
        self.steps: list[tuple[HistoryPoint, float]] = []
        self.evaluations: list[tuple[str, int, dict[str, float]]] = []
        self.scores: list[Score] = []
        self.stop_after = stop_after

    def on_stage(self, stage: str, total_steps: int) -> None:
        self.stages.append((stage, total_steps))

    def on_step(self, point: HistoryPoint, progress: float) -> None:
        self.steps.append((point, progress))

    def on_evaluation(self, stage: str, step: int, metrics: dict[str, float]) -> None:
        self.evaluations.append((stage, step, metrics))

    def on_scores(self, scores: list[Score]) -> None:
        self.scores = scores

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.steps) >= self.stop_after


def test_reporter_sees_every_step_each_epoch_evaluation_and_the_scores(make_config: Any) -> None:
    reporter = RecordingReporter()
    result = run(make_config(train={"epochs": 2}), reporter)
    assert reporter.stages == [("task", 8)]  # 64 examples / 16 = 4 steps an epoch
    assert [p.step for p, _ in reporter.steps] == [1, 2, 3, 4, 5, 6, 7, 8]
    progress = [f for _, f in reporter.steps]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert all(0 < p.loss < 5 for p, _ in reporter.steps)  # a real loss on every step, never NaN
    assert [(s, step) for s, step, _ in reporter.evaluations] == [("task", 4), ("task", 8)]
    assert reporter.scores == result.scores
    assert result.selected_checkpoint is not None
    assert result.selected_checkpoint.source_dev_accuracy == max(
        m["source_dev_accuracy"] for *_, m in reporter.evaluations
    )


def test_should_stop_cancels_within_one_step(make_config: Any) -> None:
    reporter = RecordingReporter(stop_after=2)
    with pytest.raises(RunCancelled):
        run(make_config(), reporter)
    assert len(reporter.steps) == 2
    assert reporter.scores == []


def test_best_dev_checkpoint_is_the_model_that_gets_evaluated(make_config: Any) -> None:
    # select on the English test split itself: the final en test score must equal the best dev score
    config = make_config(
        train={"epochs": 4, "eval_steps": 2, "dev_split": "test", "learning_rate": 1e-2},
        eval={"languages": ["en"]},
    )
    result = run(config)
    assert result.selected_checkpoint is not None
    assert result.scores[0].value == pytest.approx(result.selected_checkpoint.source_dev_accuracy)


def test_summary_tiers_and_transfer_gap_and_generalized_matrix(make_config: Any) -> None:
    result = run(
        make_config(train={"epochs": 1}, eval={"languages": ["en", "de", "sw", "th"], "generalized": True})
    )
    acc = {s.language: s.value for s in result.scores}
    assert result.summary.by_resource_tier["low"] == pytest.approx(acc["sw"])
    assert result.summary.by_resource_tier["mid"] == pytest.approx(acc["th"])
    assert result.summary.by_resource_tier["high"] == pytest.approx(acc["de"])  # the source is no target
    assert result.summary.transfer_gap == pytest.approx(acc["en"] - (acc["de"] + acc["sw"] + acc["th"]) / 3)
    assert result.summary.average == pytest.approx(sum(acc.values()) / 4)
    g = result.generalized
    assert g is not None and g.languages == ["en", "de", "sw", "th"] and g.n == 498
    assert [g.accuracy[i][i] for i in range(4)] == pytest.approx([acc[lang] for lang in g.languages])


def test_americasnli_extra_is_scored_per_language_and_counts_in_the_low_tier(
    make_config: Any, shared_data: Path
) -> None:
    result = run(make_config(train={"epochs": 1}, eval={"languages": ["en", "sw"], "extra": ["americasnli"]}))
    extra = [s for s in result.scores if s.dataset == "americasnli"]
    assert len(extra) == 10 and {s.n for s in extra} == {197, 198}
    low = [s.value for s in extra] + [s.value for s in result.scores if s.language == "sw"]
    assert result.summary.by_resource_tier["low"] == pytest.approx(sum(low) / 11)
    assert result.summary.by_resource_tier["high"] is None  # English is the source, not a target
    # per-item correctness: one record per evaluated set, agreeing with its accuracy, items in file order
    assert sorted((d, lang) for d, by_lang in result.correctness.items() for lang in by_lang) == sorted(
        (s.dataset, s.language) for s in result.scores
    )
    for score in result.scores:
        record = result.correctness[score.dataset][score.language]
        bits = decode_correctness(record)
        assert record.n == score.n == len(bits)
        assert bits.mean() == pytest.approx(score.value)
        ids = [e.id for e in read_local_split(shared_data, score.dataset, "test", score.language)]
        assert record.items_digest == items_digest(ids)
    assert len(result.model_dump_json()) < 40_000  # 25 sets of ~500 items: bits, not lists
    again = RunResult.model_validate_json(result.model_dump_json())
    assert again.correctness == result.correctness


def test_regression_sets_get_scores_but_no_correctness_record(make_config: Any) -> None:
    config = make_config()
    runtime = resolve_runtime(config.train)
    model = load_classifier(config.model, 1, 0, runtime.device)
    tokenizer = load_tokenizer(config.model)
    examples = read_local_split(Path(config.data.dir or ""), "stsb", "dev", "en")[:20]
    data = encode_pairs(tokenizer, examples, 64)
    evaluated = score_language(model, data, "stsb", "en", "dev", True, 8, runtime, 0)
    assert [s.metric for s in evaluated.scores] == ["pearson", "spearman"]
    assert evaluated.correctness is None


def test_rs_da_with_embedding_neighbours_changes_tokens(make_config: Any) -> None:
    result = run(
        make_config(
            train={"epochs": 1},
            robust={
                "method": "rs_da",
                "neighbors": "embedding",
                "copies": 1,
                "replace_prob": 0.3,
                "keep_original": True,
            },
        )
    )
    aug = result.augmentation
    assert aug is not None and aug["neighbors"] == "embedding" and aug["augmented_examples"] == 128
    assert aug["words_changed"] > 0


def test_bf16_autocast_trains_on_cpu(make_config: Any) -> None:
    result = run(make_config(train={"precision": "bf16"}))
    assert result.environment["precision"] == "bf16"
    assert result.environment["cpu_bf16_matmul"] in ("amx", "avx512_bf16", "none")
    assert result.environment["cpu_bf16_speedup"] > 0
    losses = _task_losses(result)
    assert sum(losses[-3:]) < 0.75 * sum(losses[:3])


def test_batch_width_rounding_defaults_by_precision_and_is_a_recorded_setting(make_config: Any) -> None:
    cpu = TrainConfig(device="cpu")
    assert resolve_runtime(cpu.model_copy(update={"precision": "fp32"})).pad_multiple == 1
    assert resolve_runtime(cpu.model_copy(update={"precision": "bf16"})).pad_multiple == 8
    exact = cpu.model_copy(update={"precision": "bf16", "pad_to_multiple_of": 1})
    assert resolve_runtime(exact).pad_multiple == 1
    result = run(make_config(train={"precision": "bf16", "pad_to_multiple_of": 1}))
    assert result.config["train"]["pad_to_multiple_of"] == 1  # recorded in results.json's config
    with pytest.raises(ValidationError, match="pad_to_multiple_of"):
        TrainConfig(pad_to_multiple_of=0)


def test_fp16_on_cpu_is_refused_with_a_clear_message(make_config: Any) -> None:
    with pytest.raises(ValueError, match="train.precision: fp16 needs a CUDA device"):
        run(make_config(train={"precision": "fp16", "device": "cpu"}))


def test_unknown_model_id_fails_with_the_loaders_message(make_config: Any) -> None:
    with pytest.raises(OSError, match="no-such-org/no-such-model|huggingface"):
        run(make_config(model="no-such-org/no-such-model"))


def test_pawsx_trains_on_english_dev_and_evaluates_german_and_chinese_test(make_config: Any) -> None:
    config = make_config(
        task="pawsx", train={"epochs": 1, "train_split": "dev"}, eval={"languages": ["de", "zh"]}
    )
    result = run(config)
    assert [(s.dataset, s.language, s.n) for s in result.scores] == [
        ("pawsx", "de", 496),
        ("pawsx", "zh", 493),
    ]
    assert result.summary.transfer_gap is None  # no English test scores to compare with


def test_the_sts_stage_reports_its_dev_correlations_in_the_result_and_to_the_reporter(
    make_config: Any,
) -> None:
    reporter = RecordingReporter()
    config = make_config(
        intermediate={"epochs": 1, "max_examples": 32, "learning_rate": 1e-9},  # learns nothing
        train={"epochs": 1},
        eval={"languages": ["en"]},
    )
    result = run(config, reporter)
    inter = result.intermediate
    assert inter is not None and inter.task == "stsb" and inter.steps == 1  # 32 pairs, batch 32
    assert [(s.dataset, s.language, s.split, s.metric, s.n) for s in inter.scores] == [
        ("stsb", "en", "dev", "pearson", 1500),
        ("stsb", "en", "dev", "spearman", 1500),
    ]
    values = {s.metric: s.value for s in inter.scores}
    assert reporter.evaluations[0] == ("intermediate", 1, values)
    assert [w.code for w in result.warnings if w.code == "intermediate_weak"] == ["intermediate_weak"]
    assert RunResult.model_validate_json(result.model_dump_json()).intermediate == inter
    assert run(make_config(train={"epochs": 1}, eval={"languages": ["en"]})).intermediate is None


def test_intermediate_result_is_scipys_pearson_and_spearman_of_the_stage_1_model(make_config: Any) -> None:
    config = make_config(intermediate={"epochs": 1})
    runtime = resolve_runtime(config.train)
    model = load_classifier(config.model, 1, 0, runtime.device)
    tokenizer = load_tokenizer(config.model)
    examples = read_local_split(Path(config.data.dir or ""), "stsb", "dev", "en")[:50]
    data = encode_pairs(tokenizer, examples, 64)
    result = run_mod.intermediate_result(model, data, 7, config, runtime, 0, None)
    predicted = predict(model, data, config.eval.batch_size, runtime, 0).squeeze(-1).double().numpy()
    gold = [e.target for e in examples]
    expected = {
        "pearson": stats.pearsonr(predicted, gold)[0],
        "spearman": stats.spearmanr(predicted, gold)[0],
    }
    assert {s.metric: s.value for s in result.scores} == pytest.approx(expected)
    assert result.steps == 7 and {s.n for s in result.scores} == {50}
