"""One run end to end: data → (STS-B stage) → robust task fine-tuning → zero-shot evaluation.

`run(config, reporter, checkpoints)` is THE entry point: `xlt train` and the Celery worker both call
it unchanged. All data is loaded (and every file checked) before any training starts, so a missing
test file fails the run in seconds, not after an hour of training. Zero-shot: only the source
language's train and dev splits are ever used for training and checkpoint selection.

Resume: with a `CheckpointPolicy`, the stages write checkpoints (checkpoints.py) and a run whose
folder already holds a usable one of the same config loads everything as usual (data, model, rs_da
copies, which are recomputed from the seed and must match the recorded stats), skips what the
checkpoint has behind it (a finished STS-B stage 1 included) and goes on from its step.
Cancel: `reporter.should_stop()` is asked between data files and loading steps, at every
optimiser step and before every evaluation batch.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import transformers
from transformers import PreTrainedModel

from worker.training import speedups
from worker.training.augmentation import augment_text, augment_tokens, load_synonym_table
from worker.training.batching import Encoded, encode_pairs
from worker.training.checkpoints import (
    CheckpointPolicy,
    RunCheckpoints,
    StageState,
    StageWriter,
    data_fingerprint,
)
from worker.training.config import RobustConfig, RunConfig
from worker.training.data import (
    REGRESSION_DATASETS,
    SYNONYMS_IN_DATA_DIR,
    DataError,
    PairExample,
    load_split,
    num_labels,
)
from worker.training.diagnostics import WARNING_CODE, chance_warning, collected_warnings, stuck_at_chance
from worker.training.evaluation import accuracy, correlations, generalized_matrix, predict, score_language
from worker.training.languages import DATASET_LANGUAGES
from worker.training.model import encoder, load_classifier, load_tokenizer, pooler_state, with_fresh_head
from worker.training.paths import UNCONFINED, Roots
from worker.training.perturbations import embedding_neighbors
from worker.training.precision import Runtime, resolve_runtime, seed_everything
from worker.training.reporter import NullReporter, Reporter, StopCheck, stop_if_asked
from worker.training.results import (
    AugmentationStats,
    Correctness,
    HistoryPoint,
    IntermediateResult,
    ResumeInfo,
    RunResult,
    Score,
    SelectedCheckpoint,
    Timings,
)
from worker.training.summary import summarize
from worker.training.trainer import Progress, StageSpec, total_steps, train_stage

log = logging.getLogger(__name__)
ENCODE_CHUNK = 10_000  # pairs tokenized between two cancel checks


def run(
    config: RunConfig,
    reporter: Reporter | None = None,
    checkpoints: CheckpointPolicy | None = None,
    roots: Roots = UNCONFINED,
) -> RunResult:
    """Train and evaluate one configuration; returns the results.json content (status 'succeeded').

    With `checkpoints`, training state is written under its folder and a usable checkpoint found
    there is resumed (the caller removes the folder when the run is over). Raises RunCancelled when
    `reporter.should_stop()` turns true (loading, training, evaluation), DataError for
    missing/malformed data, ValueError for an impossible device/precision, the loader's OSError
    for an unknown model id or path, and PathRefused for local files outside `roots` (a worker's
    XLT_DATA_DIR and XLT_MODEL_DIRS; `xlt train` reads anywhere). Every warning the training code
    logs meanwhile (a task stage stuck at chance, above all) also goes into the result's `warnings`."""
    with collected_warnings() as warnings:
        result = _run(config, reporter, checkpoints, roots)
    return result.model_copy(update={"warnings": list(warnings)})


def _run(
    config: RunConfig,
    reporter: Reporter | None = None,
    checkpoints: CheckpointPolicy | None = None,
    roots: Roots = UNCONFINED,
) -> RunResult:
    reporter = reporter or NullReporter()
    stop = reporter.should_stop
    stop_if_asked(stop, "starting")
    runtime = resolve_runtime(config.train)
    seed = config.train.seed
    seed_everything(seed)
    tokenizer = load_tokenizer(config.model, roots)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    max_len = config.train.max_seq_len

    def enc(examples: list[PairExample]) -> Encoded:
        return encode_in_chunks(tokenizer, examples, max_len, stop)

    def load(dataset: str, split: str, lang: str, max_examples: int | None = None) -> list[PairExample]:
        stop_if_asked(stop, f"loading {dataset} {split}.{lang}")
        return load_split(config.data, dataset, split, lang, max_examples, roots)

    # ---- data (all of it, before any training)
    task, source = config.task, config.source_language
    train_examples = load(task, config.train.train_split, source, config.train.max_train_examples)
    if not train_examples:
        raise DataError(f"no training examples in {task} {config.train.train_split}.{source}")
    dev_data = enc(load(task, config.train.dev_split, source))
    eval_sets: dict[tuple[str, str], Encoded] = {}
    eval_ids: dict[tuple[str, str], list[str]] = {}  # item ids of each set, for its correctness record
    eval_cells: list[tuple[str, str]] = [(task, lang) for lang in config.eval_languages]
    eval_cells += [(extra, lang) for extra in config.eval.extra for lang in DATASET_LANGUAGES[extra]]
    for cell_dataset, lang in eval_cells:
        examples = load(cell_dataset, config.eval.split, lang)
        eval_sets[(cell_dataset, lang)] = enc(examples)
        eval_ids[(cell_dataset, lang)] = [ex.id for ex in examples]
    sts_data = sts_dev = None
    if config.intermediate is not None:
        sts_data = enc(load("stsb", "train", "en", config.intermediate.max_examples))
        sts_dev = enc(load("stsb", "dev", "en"))

    # ---- model and rs_da augmentation
    first_head = num_labels("stsb" if sts_data is not None else task)
    stop_if_asked(stop, "loading the model")
    model = load_classifier(config.model, first_head, seed, runtime.device, roots)
    pretrained_pooler = pooler_state(model)  # the checkpoint's (or the fresh one of a checkpoint without)
    stop_if_asked(stop, "loading the model")
    augmentation: AugmentationStats | None = None
    if config.robust.method == "rs_da":
        train_data, augmentation = augmented_training_set(
            config, train_examples, tokenizer, model, enc, stop, roots
        )
    else:
        train_data = enc(train_examples)

    # ---- checkpoints: the newest usable one decides where training goes on
    store = None
    resume = Resume()
    if checkpoints is not None:
        inputs = {
            "training_data": {"task": data_fingerprint(train_data)}
            | ({"intermediate": data_fingerprint(sts_data)} if sts_data is not None else {}),
            "augmentation": augmentation.model_dump() if augmentation else None,
        }
        store = RunCheckpoints(checkpoints, config, runtime_record(runtime), inputs)
        stop_if_asked(stop, "reading the checkpoint")
        resume, runtime = take_over(store, runtime)

    # ---- stages
    task_spec = stage_spec(config, "task")
    sts_spec = stage_spec(config, "intermediate") if sts_data is not None else None
    run_total = total_steps(len(train_data), task_spec)
    if sts_spec is not None and sts_data is not None:
        run_total += total_steps(len(sts_data), sts_spec)
    history: list[HistoryPoint] = []
    train_start = time.perf_counter()

    def train_s() -> float:
        return resume.train_s + time.perf_counter() - train_start

    def writer(stage: Literal["intermediate", "task"]) -> StageWriter | None:
        return store.stage(stage, history, train_s) if store is not None else None

    done = 0
    intermediate: IntermediateResult | None = None
    if sts_spec is not None and sts_data is not None:
        if resume.info is not None and resume.info.stage == "task":
            history += resume.earlier_history  # stage 1 was over before the checkpoint: not trained again
            intermediate = store.saved_intermediate() if store is not None else None
            if intermediate is not None:
                log_intermediate(intermediate, config)
        else:
            outcome = train_stage(
                model,
                sts_data,
                sts_spec,
                runtime,
                RobustConfig(),
                pad_id,
                reporter,
                Progress(0, run_total),
                checkpointer=writer("intermediate"),
                resume=resume.states.pop("intermediate", None),
            )
            history += outcome.history
            assert sts_dev is not None
            intermediate = intermediate_result(model, sts_dev, outcome.steps, config, runtime, pad_id, stop)
            if store is not None:
                store.save_intermediate(intermediate)
            reporter.on_evaluation(
                "intermediate", outcome.steps, {s.metric: s.value for s in intermediate.scores}
            )
        done = total_steps(len(sts_data), sts_spec)
        # keep the encoder; new task classifier; the pretrained pooler again, not stage 1's (model.py)
        model = with_fresh_head(model, num_labels(task), seed, pooler=pretrained_pooler)

    def source_dev_accuracy(m: torch.nn.Module) -> float:
        logits = predict(m, dev_data, config.eval.batch_size, runtime, pad_id, stop)
        return accuracy(logits, dev_data.targets)

    outcome = train_stage(
        model,
        train_data,
        task_spec,
        runtime,
        config.robust,
        pad_id,
        reporter,
        Progress(done, run_total),
        evaluate=source_dev_accuracy if len(dev_data) else None,
        checkpointer=writer("task"),
        resume=resume.states.pop("task", None),
    )
    history += outcome.history
    trained_s = train_s()
    if stuck_at_chance(outcome.history, "task", num_labels(task)):
        log.warning(
            chance_warning(num_labels(task), config.train.learning_rate),
            extra={WARNING_CODE: "stuck_at_chance"},
        )

    # ---- zero-shot evaluation
    eval_start = time.perf_counter()
    scores: list[Score] = []
    correctness: Correctness = {}  # dataset → language → which test items the run got right
    for (dataset, lang), data in eval_sets.items():
        stop_if_asked(stop, f"evaluating {dataset} {lang}")
        evaluated = score_language(
            model,
            data,
            dataset,
            lang,
            config.eval.split,
            dataset in REGRESSION_DATASETS,
            config.eval.batch_size,
            runtime,
            pad_id,
            stop,
            item_ids=eval_ids[(dataset, lang)],
        )
        scores += evaluated.scores
        if evaluated.correctness is not None:
            record = evaluated.correctness
            correctness.setdefault(record.dataset, {})[record.language] = record.correct
    reporter.on_scores(scores)
    generalized = None
    if config.eval.generalized:
        per_language = {lang: load(task, config.eval.split, lang) for lang in config.eval_languages}
        generalized = generalized_matrix(
            model, tokenizer, per_language, task, max_len, config.eval.batch_size, runtime, pad_id, stop
        )
    eval_s = time.perf_counter() - eval_start

    return RunResult(
        config=config.model_dump(mode="json"),
        status="succeeded",
        scores=scores,
        summary=summarize(scores, task, source),
        history=history,
        selected_checkpoint=SelectedCheckpoint(
            step=outcome.best_step or outcome.steps, source_dev_accuracy=outcome.best_metric
        ),
        timings=Timings(train_s=trained_s, eval_s=eval_s),
        environment=environment(runtime),
        generalized=generalized,
        augmentation=augmentation.model_dump() if augmentation else None,
        resume=resume.info,
        intermediate=intermediate,
        correctness=correctness,
    )


INTERMEDIATE_WEAK_PEARSON = 0.5  # STS-B dev Pearson below this: stage 1 barely learned (BERT-base: ~0.88)


def intermediate_result(
    model: torch.nn.Module,
    dev: Encoded,
    steps: int,
    config: RunConfig,
    runtime: Runtime,
    pad_id: int,
    stop: StopCheck | None,
) -> IntermediateResult:
    """STS-B dev.en Pearson and Spearman of the stage-1 model, logged (and a warning when weak)."""
    predictions = predict(model, dev, config.eval.batch_size, runtime, pad_id, stop)
    pearson, spearman = correlations(predictions, dev.targets)
    values = {"pearson": pearson, "spearman": spearman}
    scores = [
        Score(dataset="stsb", language="en", split="dev", metric=metric, value=value, n=len(dev))
        for metric, value in values.items()
    ]
    result = IntermediateResult(task="stsb", steps=steps, scores=scores)
    log_intermediate(result, config)
    return result


def log_intermediate(result: IntermediateResult, config: RunConfig) -> None:
    """Log stage 1's dev correlations, with the `intermediate_weak` warning when it barely learned
    (again on a resumed attempt, whose results.json collects its own warnings)."""
    values = {"pearson": float("nan"), "spearman": float("nan")} | {s.metric: s.value for s in result.scores}
    steps = result.steps
    log.info(
        "STS-B stage done after %d steps: dev.en Pearson %.4f, Spearman %.4f (%d pairs)",
        steps,
        values["pearson"],
        values["spearman"],
        result.scores[0].n if result.scores else 0,
    )
    if not values["pearson"] >= INTERMEDIATE_WEAK_PEARSON:  # NaN too: constant predictions
        log.warning(
            "the STS-B stage barely learned: dev Pearson %.3f after %d steps (BERT-base reaches about "
            "0.88); the task stage starts from an encoder that STS-B did little for. Try more "
            "intermediate.epochs or another intermediate.learning_rate (now %g)",
            values["pearson"],
            steps,
            config.intermediate.learning_rate if config.intermediate else float("nan"),
            extra={WARNING_CODE: "intermediate_weak"},
        )


@dataclass
class Resume:
    """What a run takes over from its checkpoint; empty for a run that starts afresh."""

    states: dict[str, StageState] = field(default_factory=dict)  # stage → state; popped when used
    earlier_history: list[HistoryPoint] = field(default_factory=list)  # of the stages before
    info: ResumeInfo | None = None  # results.json `resume`
    train_s: float = 0.0  # training seconds of the earlier attempts


def take_over(store: RunCheckpoints, runtime: Runtime) -> tuple[Resume, Runtime]:
    """The newest usable checkpoint as a `Resume`, and the runtime to go on under: the fp32 linear
    kernels the checkpoint was trained with (speedups.with_recorded_kernels), so the summation
    order does not change half-way."""
    found = store.latest()
    if found is None:
        return Resume(), runtime
    log.info("resuming from %s (%s step %d)", found.path, found.stage, found.state.step)
    runtime = speedups.with_recorded_kernels(runtime, found.runtime.get("cpu_fp32_linear"))
    store.runtime = runtime_record(runtime)
    info = ResumeInfo(stage=found.stage, step=found.state.step)
    return Resume({found.stage: found.state}, found.earlier_history, info, found.train_s), runtime


def stage_spec(config: RunConfig, stage: str) -> StageSpec:
    t = config.train
    if stage == "intermediate":
        inter = config.intermediate
        assert inter is not None
        return StageSpec(
            "intermediate",
            inter.epochs,
            inter.learning_rate,
            inter.batch_size,
            t.grad_accum,
            t.warmup_ratio,
            t.weight_decay,
            t.max_grad_norm,
            regression=True,
            seed=t.seed,
        )
    return StageSpec(
        "task",
        config.epochs,
        t.learning_rate,
        t.batch_size,
        t.grad_accum,
        t.warmup_ratio,
        t.weight_decay,
        t.max_grad_norm,
        regression=False,
        seed=t.seed,
        eval_steps=t.eval_steps,
    )


def encode_in_chunks(tokenizer: Any, examples: list[PairExample], max_len: int, stop: StopCheck) -> Encoded:
    """`encode_pairs` in chunks of ENCODE_CHUNK pairs with a cancel check before each (a full XNLI
    training set takes a minute); the ids are the same as in one call."""
    parts = []
    for start in range(0, len(examples), ENCODE_CHUNK):
        stop_if_asked(stop, "tokenizing")
        parts.append(encode_pairs(tokenizer, examples[start : start + ENCODE_CHUNK], max_len))
    if len(parts) == 1:
        return parts[0]
    types = [t for p in parts for t in p.token_type_ids or []] if parts and parts[0].token_type_ids else None
    return Encoded([ids for p in parts for ids in p.input_ids], types, [t for p in parts for t in p.targets])


def runtime_record(runtime: Runtime) -> dict[str, Any]:
    """What a checkpoint records of the runtime it was written under: a resume under another one
    trains on, but cannot promise bit-identical scores (other kernels, other dropout generator)."""
    record: dict[str, Any] = {
        "device": runtime.device.type,
        "precision": runtime.precision,
        "speedups": speedups.enabled(runtime),
    }
    if runtime.device.type == "cpu" and runtime.precision == "fp32" and record["speedups"]:
        record["cpu_fp32_linear"] = speedups.environment(runtime).get("cpu_fp32_linear")
    return record


def augmented_training_set(
    config: RunConfig,
    examples: list[PairExample],
    tokenizer: Any,
    model: PreTrainedModel,
    enc: Any,
    stop: StopCheck | None = None,
    roots: Roots = UNCONFINED,
) -> tuple[Encoded, AugmentationStats]:
    """rs_da: copies with synonyms from the table (text level) or embedding neighbours (token level)."""
    r = config.robust
    if r.neighbors == "table":
        if r.synonyms_path:
            path = Path(r.synonyms_path)
        elif config.data.dir:
            path = Path(config.data.dir) / SYNONYMS_IN_DATA_DIR
        else:
            raise DataError("robust.synonyms_path is required for rs_da with data.source 'hf'")
        roots.data_path(str(path), "robust.synonyms_path", resolve=True)
        augmented, stats = augment_text(
            examples,
            load_synonym_table(path),
            config.rs_da_copies,
            r.replace_prob,
            r.keep_original,
            config.train.seed,
            stop,
        )
        return enc(augmented), stats
    data = enc(examples)
    vocab = {token for ids in data.input_ids for token in ids}
    weight = encoder(model).get_input_embeddings().weight.detach()  # type: ignore[operator]
    neighbours = embedding_neighbors(weight, vocab, r.embedding_k, exclude=tokenizer.all_special_ids)
    stop_if_asked(stop, "augmenting the training set")
    return augment_tokens(
        data, neighbours, config.rs_da_copies, r.replace_prob, r.keep_original, config.train.seed, stop
    )


def environment(runtime: Runtime) -> dict[str, Any]:
    device = str(runtime.device)
    if runtime.device.type == "cuda":
        device = f"cuda ({torch.cuda.get_device_name(runtime.device)})"
    env: dict[str, Any] = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "device": device,
        "precision": runtime.precision,
        "cpu_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
    return env | speedups.environment(runtime)
