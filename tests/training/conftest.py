"""Shared fixtures: the real data folder and a tiny random BERT with MiniLM's tokenizer.

The tiny model (2 layers, hidden 32) trains in well under a second per epoch on 2 CPU cores, so
end-to-end runs of every method combination stay fast while using the real tokenizer and data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.factories import build_tiny_model
from worker.training.config import RunConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    env = os.environ.get("XLT_DATA_DIR")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = data_dir()
    if not (path / "xnli" / "train.en.jsonl").is_file():
        pytest.fail(f"real data not found at {path} (set XLT_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT saved with MiniLM's (real, uncased WordPiece) tokenizer."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def make_config(tiny_model: Path, shared_data: Path) -> Any:
    """A RunConfig factory: XNLI on the tiny model, 64 English pairs, 15 epochs at a rate it learns at;
    keyword overrides replace a top-level field or merge into a section (train={"seed": 1})."""

    def make(**overrides: Any) -> RunConfig:
        raw: dict[str, Any] = {
            "task": "xnli",
            "model": str(tiny_model),
            "data": {"source": "local", "dir": str(shared_data)},
            "train": {
                "epochs": 15,
                "learning_rate": 3e-3,
                "batch_size": 16,
                "max_train_examples": 64,
                "warmup_ratio": 0.1,
                "seed": 3,
            },
            "eval": {"languages": ["en", "de"]},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
        return RunConfig.model_validate(raw)

    return make
