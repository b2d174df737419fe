"""BatchNorm statistics that belong to a generator's averaged weights ("standing statistics").

A generator EMA averages the *weights* of the trained generator over many steps; its BatchNorm
running statistics cannot be averaged the same way (activations are not linear in the weights),
so copying the live generator's statistics pairs the averaged weights with another network's
activations. Before samples are drawn from such a network, its statistics are recomputed from a
fixed stream of latents: BigGAN's "standing statistics" (Brock et al. 2019, arXiv:1809.11096).

Measured on ``vanilla`` (benchmarks/RESULTS.md): the Fréchet distance of EMA samples drops by
6-25%. The stream has its own seeded random generator, so recomputing never changes a
training run's random numbers (resume stays bit-exact) and gives the same samples every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

STANDING_SAMPLES = 2048
"""Latents used to estimate the statistics (in batches of :data:`STANDING_BATCH`)."""
STANDING_BATCH = 256
STANDING_SEED = 0


def batchnorm_layers(module: nn.Module) -> list[nn.Module]:
    """The BatchNorm layers of ``module`` whose running statistics are used in eval mode."""
    from torch import nn

    return [m for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def recompute_batchnorm_statistics(generator: nn.Module,
                                   latent: Callable[[int, torch.Generator], torch.Tensor | tuple[torch.Tensor, ...]],
                                   device: torch.device, samples: int = STANDING_SAMPLES,
                                   batch: int = STANDING_BATCH, seed: int = STANDING_SEED) -> bool:
    """Replace the running statistics of every BatchNorm layer in ``generator`` by their average
    over ``samples`` latents drawn with ``latent(n, rng)`` from a generator seeded with ``seed``
    (a tensor, or a tuple of the generator's arguments: latents and class labels).

    Only the BatchNorm layers run in training mode (dropout and other layers stay in eval mode,
    so the global random state is untouched); buffers are updated in place (a CUDA graph that
    writes to them stays valid). Returns False, changing nothing, when there is no BatchNorm
    layer or one of them is a ``SyncBatchNorm`` (its training mode would talk to other ranks).
    """
    import torch
    from torch import nn

    layers = batchnorm_layers(generator)
    if not layers or any(isinstance(m, nn.SyncBatchNorm) for m in layers):
        return False
    modes = {m: m.training for m in generator.modules()}
    momenta = [m.momentum for m in layers]
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    try:
        generator.eval()
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # a cumulative average over all batches, not an EMA
            layer.train()
        with torch.no_grad():
            for start in range(0, samples, batch):
                inputs = latent(min(batch, samples - start), rng)
                generator(*inputs) if isinstance(inputs, tuple) else generator(inputs)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        for module, training in modes.items():
            module.training = training
    return True
