"""Shared fixtures: the real data folder and a tiny random BERT with MiniLM's tokenizer.

The tiny model (2 layers, hidden 32) trains in well under a second per epoch on 2 CPU cores, so
end-to-end runs of every method combination stay fast while using the real tokenizer and data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model

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
