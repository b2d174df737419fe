"""Training-step throughput of every registered variant (pytest-benchmark).

    python -m pytest benchmarks/test_step_throughput.py --benchmark-only
    python -m pytest benchmarks/ --benchmark-only -k "vanilla and 64"

Variants come from the registry, so installed third-party variants are measured too. CUDA
runs are synchronised before the timer stops; steps/s and images/s are in ``extra_info``.
Not part of the test-suite (no timing is ever asserted).
"""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.training.step import TrainingStep

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch_size", [64, 256])
@pytest.mark.parametrize("variant", ganzoo.list_variants())
def test_training_step(benchmark, variant, batch_size, device):
    torch.manual_seed(0)
    gan = ganzoo.create_variant(variant, batch_size=batch_size, device=device)
    data = torch.rand(4096, *gan.image_shape, device=device) * 2 - 1
    step = TrainingStep(gan, total_steps=1000)

    def next_real() -> torch.Tensor:
        return data[torch.randint(len(data), (batch_size,), device=device)]

    def one_step() -> None:
        step(next_real)
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):  # warm-up: allocator, cuDNN autotuning, lazy init
        one_step()
    benchmark.pedantic(one_step, rounds=5 if device == "cpu" else 50, iterations=1)
    steps_per_sec = 1.0 / benchmark.stats.stats.median
    benchmark.extra_info.update(
        variant=variant, device=device, batch_size=batch_size, torch=torch.__version__,
        steps_per_sec=round(steps_per_sec, 2), images_per_sec=round(steps_per_sec * batch_size, 1),
        critic_steps=gan.variant.critic_steps)
