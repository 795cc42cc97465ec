"""The shape of `results.json` (ARCHITECTURE.md), shared by `xlt train`, the worker and the store.

Pure pydantic, no torch: the backend reads these to store a finished run row by row.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator

# Per-item correctness records live in correctness.py (with their bitset codec); re-exported here
# because they are part of results.json.
from worker.training.correctness import CorrectnessBits, ItemCorrectness

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "RUN_STATUSES",
    "WARNING_CODES",
    "AugmentationStats",
    "CorrectnessBits",
    "GeneralizedMatrix",
    "HistoryPoint",
    "IntermediateResult",
    "ItemCorrectness",
    "ResumeInfo",
    "RunResult",
    "RunStatus",
    "RunWarning",
    "Score",
    "SelectedCheckpoint",
    "Summary",
    "Timings",
    "WarningCode",
]

# The run-status vocabulary, owned here for the store, the API, the pages, the templates and the JS.
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running")  # may still change: cancel applies
FINISHED_STATUSES: tuple[RunStatus, ...] = ("succeeded", "failed", "cancelled")  # final


# What a run can warn about (results.json `warnings[].code`), owned here for the store and the pages:
# stuck_at_chance: the task stage's loss never left ln(k) (diagnostics.py), every score is at chance;
# slow_precision: bf16 was asked for on a CPU where it is slower than fp32 (precision.py);
# checkpoint: a checkpoint could not be written, read or fully restored (checkpoints.py);
# logged: any other warning the training code logged during the run.
# intermediate_weak: the STS-B stage ended with a dev Pearson below 0.5 (run.py), so stage 1 barely learned;
WarningCode = Literal["stuck_at_chance", "intermediate_weak", "slow_precision", "checkpoint", "logged"]
WARNING_CODES: tuple[WarningCode, ...] = get_args(WarningCode)


class RunWarning(BaseModel):
    """Something a reader of the run's scores must know (a run that did not learn, say)."""

    code: str  # one of WARNING_CODES; str so that a newer worker's code does not break an older reader
    message: str


class Score(BaseModel):
    dataset: str
    language: str
    split: str
    metric: str  # accuracy | pearson | spearman
    value: float
    n: int


class Summary(BaseModel):
    average: float | None = None
    by_resource_tier: dict[str, float | None] = Field(default_factory=dict)  # low / mid / high
    transfer_gap: float | None = None


class HistoryPoint(BaseModel):
    stage: Literal["intermediate", "task"]
    step: int
    epoch: float
    loss: float
    lr: float


class SelectedCheckpoint(BaseModel):
    step: int
    source_dev_accuracy: float | None = None


class Timings(BaseModel):
    train_s: float = 0.0
    eval_s: float = 0.0


class ResumeInfo(BaseModel):
    """Where a run went on from a checkpoint after an interruption (results.json `resume`; absent
    when it trained in one go): the checkpoint's stage and its optimiser step within that stage."""

    stage: Literal["intermediate", "task"]
    step: int


class GeneralizedMatrix(BaseModel):
    """Huang et al.'s generalized setting: accuracy[i][j] for sentence1 in languages[i],
    sentence2 in languages[j]."""

    dataset: str
    languages: list[str]
    accuracy: list[list[float]]
    n: int


class AugmentationStats(BaseModel):
    """What rs_da actually did: how many training examples and words (tokens for embedding
    neighbours) its copies changed. Stored in RunResult.augmentation as its model_dump()."""

    neighbors: Literal["table", "embedding"]
    copies: int
    keep_original: bool
    replace_prob: float
    original_examples: int
    augmented_examples: int
    examples_changed: int  # originals with at least one changed word in some copy
    words_changed: int  # summed over all copies


# Warning codes the backend acts on (a study excludes runs that carry STUCK_AT_CHANCE).
STUCK_AT_CHANCE = "stuck_at_chance"  # worker.training.diagnostics: a stage never left chance-level loss


Correctness = dict[str, dict[str, CorrectnessBits]]  # dataset → language → bitset of correct items


class IntermediateResult(BaseModel):
    """What the intermediate stage (STS-B) reached on its own dev set, at its end: so "stage 1
    learned" is shown, not assumed. `scores`: pearson and spearman on `stsb` dev.en."""

    task: str = "stsb"
    steps: int
    scores: list[Score] = Field(default_factory=list)


class RunResult(BaseModel):
    config: dict[str, Any]
    status: RunStatus = "succeeded"
    scores: list[Score] = Field(default_factory=list)
    summary: Summary = Field(default_factory=Summary)
    history: list[HistoryPoint] = Field(default_factory=list)
    selected_checkpoint: SelectedCheckpoint | None = None
    timings: Timings = Field(default_factory=Timings)
    environment: dict[str, Any] = Field(default_factory=dict)
    generalized: GeneralizedMatrix | None = None
    augmentation: dict[str, Any] | None = None  # rs_da: examples and words actually changed
    resume: ResumeInfo | None = None  # set when the run went on from a checkpoint
    intermediate: IntermediateResult | None = None  # runs with an STS-B stage (absent on a resume past it)
    warnings: list[RunWarning] = Field(default_factory=list)
    # Per-example correctness on the evaluation split, for item-level tests between methods.
    correctness: Correctness = Field(default_factory=dict)

    @field_validator("warnings", mode="before")
    @classmethod
    def _plain_warnings(cls, value: Any) -> Any:
        """A bare string is a warning without a code (code "warning")."""
        if isinstance(value, list):
            return [{"code": "warning", "message": w} if isinstance(w, str) else w for w in value]
        return value

    @field_validator("correctness", mode="before")
    @classmethod
    def _correctness_records(cls, value: Any) -> Any:
        """Also read the record list form, [{dataset, language, split, correct: {n, bits}}]
        (worker.training.correctness.ItemCorrectness), into dataset → language → bits."""
        if not isinstance(value, list):
            return value
        nested: dict[str, dict[str, Any]] = {}
        for record in value:
            item = record.model_dump() if isinstance(record, BaseModel) else record
            nested.setdefault(item["dataset"], {})[item["language"]] = item["correct"]
        return nested
