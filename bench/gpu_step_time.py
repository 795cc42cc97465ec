"""Seconds per optimiser step of XLM-R base and mBERT shapes on this machine's GPU, for docs/RECIPES.md.

    python3 -m bench.gpu_step_time [--steps 60] [--out FILE.json] [--tiny]

Standalone on purpose (torch and transformers only, no weights, no data, nothing from the hub): a
GPU machine that cannot reach the hub and lacks this project's other dependencies can run it. Each
architecture is built from its config with random weights (the step time does not depend on the
weights), then timed for the study's step kinds at batch 32, bf16 autocast, AdamW over every
parameter (the 250k × 768 XLM-R embedding included): `clean` (baseline, rs_da, rs_rp: the noise of
rs_rp costs nothing measurable), `adv3` (PGD with 3 ascent steps: 3 forward+backward passes for the
perturbation, then the training forward+backward, as worker/training/trainer.py) and `clean+adv3`
(one more forward+backward). Pair lengths are drawn to match the MultiNLI sample of ../shared/data
(mean 40 WordPiece tokens, p95 73; PAWS-X dev mean 52), batches padded to their longest pair as the
length-grouped batches of worker/training/batching.py are. Prints and writes median seconds a step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch

SHAPES = {
    # vocab, hidden, layers, heads, ffn: the published base configs
    "xlm-roberta-base": ("xlm-roberta", 250002, 768, 12, 12, 3072),
    "bert-base-multilingual-cased": ("bert", 119547, 768, 12, 12, 3072),
}


def build(kind: str, vocab: int, hidden: int, layers: int, heads: int, ffn: int, device: torch.device) -> Any:
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.for_model(
        kind,
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        max_position_embeddings=514,
        num_labels=3,
    )
    return AutoModelForSequenceClassification.from_config(config).to(device).train()


def batch(
    vocab: int, mean_len: int, device: torch.device, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """32 pairs, lengths ~ a gamma around `mean_len` clipped to 8..128, padded to the longest."""
    shape = torch.full((32,), 4.0)
    lengths = (torch.distributions.Gamma(shape, shape / mean_len).sample().clamp(8, 128)).long()
    width = int(lengths.max())
    ids = torch.randint(5, vocab, (32, width), generator=generator)
    mask = (torch.arange(width)[None, :] < lengths[:, None]).long()
    labels = torch.randint(0, 3, (32,), generator=generator)
    return {
        "input_ids": (ids * mask).to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
    }


def step(model: Any, optimizer: torch.optim.Optimizer, data: dict[str, torch.Tensor], kind: str) -> None:
    with torch.autocast(device_type=data["input_ids"].device.type, dtype=torch.bfloat16):
        embeds = model.get_input_embeddings()(data["input_ids"])

        def loss_at(x: torch.Tensor) -> torch.Tensor:
            logits = model(inputs_embeds=x, attention_mask=data["attention_mask"]).logits.float()
            return torch.nn.functional.cross_entropy(logits, data["labels"])

        if kind == "clean":
            loss = loss_at(embeds)
        else:
            delta = torch.zeros_like(embeds).uniform_(-1e-3, 1e-3)
            for _ in range(3):
                delta.requires_grad_(True)
                (grad,) = torch.autograd.grad(loss_at(embeds.detach() + delta), delta)
                delta = (delta + 1e-3 * grad / grad.norm().clamp_min(1e-12)).detach()
            loss = loss_at(embeds + delta)
            if kind == "clean+adv3":
                loss = 0.5 * (loss + loss_at(embeds))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def time_steps(model: Any, kind: str, vocab: int, mean_len: int, steps: int, device: torch.device) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, fused=device.type == "cuda")
    generator = torch.Generator().manual_seed(0)
    data = [batch(vocab, mean_len, device, generator) for _ in range(steps + 5)]
    times = []
    for i, b in enumerate(data):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step(model, optimizer, b, kind)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 5:  # warm-up: allocator, cuBLAS heuristics
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out")
    parser.add_argument("--tiny", action="store_true", help="2 layers, hidden 64: a CPU smoke of the script")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    results: dict[str, Any] = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}
    for name, (kind, vocab, hidden, layers, heads, ffn) in SHAPES.items():
        if args.tiny:
            vocab, hidden, layers, heads, ffn = 1000, 64, 2, 2, 128
        torch.manual_seed(0)
        model = build(kind, vocab, hidden, layers, heads, ffn, device)
        for task, mean_len in (("xnli", 40), ("pawsx", 52)):
            for step_kind in ("clean", "adv3", "clean+adv3"):
                seconds = time_steps(model, step_kind, vocab, mean_len, args.steps, device)
                results[f"{name}/{task}/{step_kind}"] = seconds
                print(f"{name:30s} {task:6s} {step_kind:11s} {1000 * seconds:7.1f} ms/step", flush=True)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
