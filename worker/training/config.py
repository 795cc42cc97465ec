"""The run configuration: the one contract between the launch form, the API, the queue and the trainer.

Pure pydantic (no torch) so that the backend can validate configs without the ML stack. Every field
but `task` and `model` has a default from the literature (XTREME's XNLI/PAWS-X recipe: lr 2e-5,
batch 32, max length 128; Robust-XLT for the robust-training parameters). Unknown fields are
rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from worker.training.languages import COMPATIBLE_EXTRA, DATASET_LANGUAGES

TaskName = Literal["xnli", "pawsx"]
RobustMethod = Literal["none", "rs_da", "rs_rp", "adv"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Device = Literal["auto", "cpu", "cuda"]

# Epochs per task when `train.epochs` is not given (XTREME scripts).
DEFAULT_EPOCHS: dict[str, float] = {"xnli": 5.0, "pawsx": 5.0}
# rs_da trains over the augmented set, `copies` times larger: Robust-XLT's scripts run 1 epoch over
# it for XNLI and 3 for PAWS-X (sources in METHOD_PARAM_SOURCES).
DEFAULT_RS_DA_EPOCHS: dict[str, float] = {"xnli": 1.0, "pawsx": 3.0}
# Augmented copies per example in Robust-XLT's perturb.py (`--num`).
DEFAULT_RS_DA_COPIES: dict[str, int] = {"xnli": 3, "pawsx": 10}


# Bounds: every number finite (`Infinity`/`NaN` are refused, see _Strict) and every size bounded, so
# that no config can ask a worker for unbounded work; strings fit their database columns.
MAX_EPOCHS = 100.0
MAX_EXAMPLES = 10_000_000
MAX_SEED = 2**31 - 1  # runs.seed is an INTEGER column
MAX_PATH_LENGTH = 500


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


# A free text (NUL refused: PostgreSQL cannot store it); give it a max_length.
Text = Annotated[str, AfterValidator(no_nul)]
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def _plain_name(value: str) -> str:
    if not _PLAIN_NAME.fullmatch(value):
        raise ValueError(
            f"{value[:40]!r} is not a plain name (up to 32 letters, digits, '_' and '-'; no '/' or '..')"
        )
    return value


# A split name is a plain identifier: it becomes part of a file name (`<split>.<lang>.jsonl`).
SplitName = Annotated[str, AfterValidator(_plain_name)]
LanguageCode = Annotated[str, StringConstraints(max_length=16)]  # checked against the task's languages


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DataConfig(_Strict):
    source: Literal["hf", "local"] = "hf"
    dir: Text | None = Field(
        default=None,
        max_length=MAX_PATH_LENGTH,
        description="root of the local layout <dir>/<dataset>/<split>.<lang>.jsonl",
    )

    @model_validator(mode="after")
    def _local_needs_dir(self) -> DataConfig:
        if self.source == "local" and not self.dir:
            raise ValueError("data.dir is required when data.source is 'local'")
        return self


class IntermediateConfig(_Strict):
    """Stage 1 of STILTs-style intermediate training: STS-B as regression (one output, MSE on 0–5)."""

    task: Literal["stsb"] = "stsb"
    epochs: float = Field(default=3.0, gt=0, le=MAX_EPOCHS)
    learning_rate: float = Field(default=2e-5, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1, le=4096)
    max_examples: int | None = Field(default=None, ge=1, le=MAX_EXAMPLES)


class RobustConfig(_Strict):
    """Robust training (Huang et al., EMNLP 2021). Parameters of methods not chosen are ignored but kept."""

    method: RobustMethod = "none"
    # rs_da: synonym-substitution augmentation
    copies: int | None = Field(
        default=None, ge=1, le=100, description="augmented copies; default by task (3 xnli, 10 pawsx)"
    )
    replace_prob: float = Field(
        default=1.0, ge=0, le=1, description="chance a word that has neighbours is resampled"
    )
    keep_original: bool = False
    neighbors: Literal["table", "embedding"] = "table"
    synonyms_path: Text | None = Field(
        default=None,
        max_length=MAX_PATH_LENGTH,
        description="Robust-XLT neighbour JSON; default <data.dir>/synonyms/counterfitted_neighbors.json",
    )
    embedding_k: int = Field(
        default=8, ge=1, le=100, description="neighbours per token when neighbors='embedding'"
    )
    # rs_rp: random perturbation of input embeddings
    noise: Literal["gaussian", "uniform"] = "gaussian"
    sigma: float = Field(default=0.01, ge=0, le=100)
    # adv: PGD in embedding space
    steps: int = Field(default=3, ge=1, le=50)
    step_size: float = Field(default=1e-3, gt=0, le=100)
    epsilon: float = Field(default=1e-2, gt=0, le=100)
    norm: Literal["l2", "linf"] = "l2"
    adv_objective: Literal["adv", "clean+adv"] = Field(
        default="adv",
        description="adv: the loss at the PGD perturbation only (Madry et al.'s min-max, as the paper "
        "states it); clean+adv: the mean of the clean and the perturbed loss",
    )


# The robust-training vocabulary beside its config: what each method is called on the launch form and
# which RobustConfig fields belong to it (the form shows, and the run page lists, only those).
ROBUST_METHODS: dict[str, str] = {
    "none": "None (standard fine-tuning)",
    "rs_da": "Randomized smoothing, data augmentation (synonyms)",
    "rs_rp": "Randomized smoothing, random perturbation (embedding noise)",
    "adv": "Adversarial training (PGD in embedding space)",
}
METHOD_PARAMS: dict[str, tuple[str, ...]] = {
    "none": (),
    "rs_da": ("copies", "replace_prob", "keep_original", "neighbors", "synonyms_path", "embedding_k"),
    "rs_rp": ("noise", "sigma"),
    "adv": ("steps", "step_size", "epsilon", "norm", "adv_objective"),
}
# Where each literature default of a method comes from, shown beside the field on the launch form.
# Robust-XLT = github.com/uclanlp/Robust-XLT at commit 175cddb (the code of Huang et al., EMNLP 2021),
# which implements rs_da only; the other methods' numbers are this lab's settings, said so.
ROBUST_XLT = "Robust-XLT@175cddb"
METHOD_PARAM_SOURCES: dict[str, dict[str, str]] = {
    "rs_da": {
        "train.epochs": f"{ROBUST_XLT} scripts/train_xnli.sh:27 (EPOCH=1 over the augmented XNLI set), "
        "scripts/train_pawsx.sh:27 (EPOCH=3 over augmented PAWS-X)",
        "copies": f"{ROBUST_XLT} README.md:23-24 (perturb.py --num 10 for PAWS-X, --num 3 for XNLI)",
        "replace_prob": f"{ROBUST_XLT} perturb.py:26-35 (every word that has neighbours is drawn "
        "uniformly from itself and its neighbours)",
        "keep_original": f"{ROBUST_XLT} perturb.py:55-65 (only the perturbed copies are written)",
        "neighbors": f"{ROBUST_XLT} perturb.py:10 and counterfitted_neighbors.json",
    },
    "rs_rp": {"sigma": "XLT Lab setting; not in the Robust-XLT code (rs_da only)"},
    "adv": {
        "adv_objective": "Huang et al. 2021 (EMNLP), adversarial training as Madry et al.'s min-max "
        "(loss at the perturbation only); not in the Robust-XLT code (rs_da only)",
        "steps": "XLT Lab setting; not in the Robust-XLT code (rs_da only)",
    },
}


def label_for_method(intermediate: str | None, robust: RobustMethod) -> str:
    """'stsb+rs_da', 'rs_rp' or 'baseline': the method label runs are grouped, filtered and charted by."""
    parts = [intermediate] if intermediate else []
    if robust != "none":
        parts.append(robust)
    return "+".join(parts) or "baseline"


# Every method label a run can have: no intermediate stage or each intermediate task × each method.
METHOD_LABELS: tuple[str, ...] = tuple(
    label_for_method(stage, method)
    for stage in (None, *get_args(IntermediateConfig.model_fields["task"].annotation))
    for method in get_args(RobustMethod)
)


class TrainConfig(_Strict):
    epochs: float | None = Field(default=None, gt=0, le=MAX_EPOCHS, description="default by task")
    learning_rate: float = Field(default=2e-5, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1, le=4096)
    grad_accum: int = Field(default=1, ge=1, le=1024)
    max_seq_len: int = Field(default=128, ge=8, le=4096)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0, le=10)
    max_grad_norm: float = Field(default=1.0, gt=0, le=1e6)
    max_train_examples: int | None = Field(default=None, ge=1, le=MAX_EXAMPLES)
    seed: int = Field(default=42, ge=0, le=MAX_SEED)
    precision: Precision = "auto"
    device: Device = "auto"
    train_split: SplitName = "train"
    eval_steps: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXAMPLES,
        description="evaluate source dev every N steps; default once per epoch",
    )
    dev_split: SplitName = "dev"
    pad_to_multiple_of: int | None = Field(
        default=None, ge=1, le=128, description="round batch widths up; default 8 under bf16/fp16, 1 in fp32"
    )
    speedups: bool = Field(
        default=True,
        description="speed-ups that change nothing but speed (worker/training/speedups); false, or "
        "XLT_SPEEDUPS=0 where the run trains, turns them off",
    )


class EvalConfig(_Strict):
    languages: list[LanguageCode] | None = Field(default=None, max_length=64)
    split: SplitName = "test"
    generalized: bool = False
    extra: list[Literal["americasnli"]] = Field(default_factory=list, max_length=8)
    batch_size: int = Field(default=128, ge=1, le=8192)


class RunConfig(_Strict):
    name: Text = Field(default="", max_length=200)
    task: TaskName
    model: Text = Field(min_length=1, max_length=MAX_PATH_LENGTH, description="hub id or local folder")
    source_language: LanguageCode = "en"
    data: DataConfig = Field(default_factory=DataConfig)
    intermediate: IntermediateConfig | None = None
    robust: RobustConfig = Field(default_factory=RobustConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @model_validator(mode="after")
    def _check_languages(self) -> RunConfig:
        known = DATASET_LANGUAGES[self.task]
        if self.source_language not in known:
            raise ValueError(
                f"source_language '{self.source_language}' is not a {self.task} language; "
                f"allowed: {', '.join(known)}"
            )
        if self.eval.languages is not None:
            unknown = [code for code in self.eval.languages if code not in known]
            if unknown:
                raise ValueError(
                    f"eval.languages has {', '.join(unknown)}, not {self.task} languages; "
                    f"allowed: {', '.join(known)}"
                )
            if not self.eval.languages:
                raise ValueError("eval.languages must name at least one language (or be omitted for all)")
            if len(set(self.eval.languages)) != len(self.eval.languages):
                raise ValueError("eval.languages names a language twice")
        bad_extra = [e for e in self.eval.extra if e not in COMPATIBLE_EXTRA[self.task]]
        if bad_extra:
            raise ValueError(
                f"eval.extra {', '.join(bad_extra)} does not share the labels of task {self.task}"
            )
        return self

    # Resolved views: the trainer and the dashboard read these instead of re-deriving defaults.
    @property
    def epochs(self) -> float:
        """`train.epochs`, else the default by task: Robust-XLT's for rs_da (over the augmented set),
        XTREME's otherwise."""
        if self.train.epochs is not None:
            return self.train.epochs
        if self.robust.method == "rs_da":
            return DEFAULT_RS_DA_EPOCHS[self.task]
        return DEFAULT_EPOCHS[self.task]

    @property
    def eval_languages(self) -> list[str]:
        return (
            list(self.eval.languages)
            if self.eval.languages is not None
            else list(DATASET_LANGUAGES[self.task])
        )

    @property
    def rs_da_copies(self) -> int:
        return self.robust.copies if self.robust.copies is not None else DEFAULT_RS_DA_COPIES[self.task]

    @property
    def method_label(self) -> str:
        """Short label such as 'stsb+rs_da' or 'baseline', used for grouping and charts."""
        return label_for_method(self.intermediate.task if self.intermediate else None, self.robust.method)


def format_validation_error(exc: Exception) -> str:
    """One line per problem, each naming the field path, e.g.
    `train.learning_rate: Input should be greater than 0`."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return str(exc)
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return "; ".join(lines)
