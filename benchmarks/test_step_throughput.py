"""Training-step throughput of every registered variant (pytest-benchmark).

    python -m pytest benchmarks/test_step_throughput.py --benchmark-only
    python -m pytest benchmarks/ --benchmark-only -k "vanilla and 64"

Variants come from the registry, so installed third-party variants are measured too. Each
test times the trainer's step (on CUDA: captured as a CUDA graph when the step allows it) and,
in the same test, the plain tutorial-style loop of the same recipe; ``extra_info`` carries
steps/s, images/s, the ratio and how the step ran. CUDA rounds are synchronised before the
timer stops. Not part of the test-suite (no timing is ever asserted).
"""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.benchmarking import _data, _time_steps, ganzoo_step, plain_loop

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch_size", [64, 256])
@pytest.mark.parametrize("variant", ganzoo.list_variants())
def test_training_step(benchmark, variant, batch_size, device):
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    # A round is several steps on CUDA: one synchronisation per step would dominate a replay.
    per_round, rounds = (20, 25) if cuda else (1, 5)
    data = _data((1, 28, 28))
    runner = ganzoo_step(variant, batch_size, dev, data, total_steps=10_000)

    def one_round() -> None:
        for _ in range(per_round):
            runner()
        if cuda:
            torch.cuda.synchronize(dev)

    for _ in range(6 if cuda else 3):  # warm-up: lazy init, cuDNN autotuning, graph capture
        runner()
    benchmark.pedantic(one_round, rounds=rounds, iterations=1)
    steps_per_sec = per_round / benchmark.stats.stats.median
    plain = plain_loop(variant, data, batch_size, dev, total=10_000)
    plain_steps = per_round * rounds
    plain_per_sec = plain_steps / _time_steps(plain, plain_steps, 3, dev)
    benchmark.extra_info.update(
        variant=variant, device=device, batch_size=batch_size, torch=torch.__version__,
        mode=runner.mode, steps_per_sec=round(steps_per_sec, 2),
        images_per_sec=round(steps_per_sec * batch_size, 1),
        plain_steps_per_sec=round(plain_per_sec, 2), ratio_vs_plain=round(steps_per_sec / plain_per_sec, 3),
        critic_steps=runner.step.gan.variant.critic_steps)
