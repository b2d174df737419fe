"""Standing statistics: an averaged generator's BatchNorm statistics are recomputed for its own
weights before sampling, deterministically and without touching the training random state."""

from __future__ import annotations

import copy

import torch
from torch import nn

import ganzoo
from ganzoo import conformance
from ganzoo.standing_stats import STANDING_BATCH, STANDING_SAMPLES, recompute_batchnorm_statistics
from ganzoo.training.step import TrainingStep


def _trained_ema_gan(variant: str = "vanilla", steps: int = 3):
    gan = ganzoo.create_variant(variant, batch_size=8, tricks={"ema": {"decay": 0.5}})
    step = TrainingStep(gan, total_steps=10)
    for i in range(steps):
        step(lambda: conformance.real_batch(gan.image_shape, 8, seed=i))
    return gan


def _batchnorm_inputs(generator: nn.Module, latents: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Each BatchNorm layer's inputs, batch by batch, computed by hand in train mode."""
    net = copy.deepcopy(generator).eval()
    layers = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    seen: list[list[torch.Tensor]] = [[] for _ in layers]
    hooks = [layer.register_forward_pre_hook(lambda m, args, i=i: seen[i].append(args[0].detach()))
             for i, layer in enumerate(layers)]
    for layer in layers:
        layer.train()
    with torch.no_grad():
        for z in latents:
            net(z)
    for hook in hooks:
        hook.remove()
    return seen


def test_ema_statistics_are_the_averages_over_the_standing_latent_stream():
    gan = _trained_ema_gan()
    ema = gan.tricks[0].ema
    rng = torch.Generator().manual_seed(0)
    latents = [gan.sample_latent(STANDING_BATCH, generator=rng)
               for _ in range(STANDING_SAMPLES // STANDING_BATCH)]
    expected = _batchnorm_inputs(ema, latents)
    assert gan.sampling_generator() is ema
    layers = [m for m in ema.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(layers) == 2  # the vanilla generator normalises its two deeper hidden layers
    for layer, inputs in zip(layers, expected):
        mean = torch.stack([x.mean(0) for x in inputs]).mean(0)
        var = torch.stack([x.var(0, unbiased=True) for x in inputs]).mean(0)
        torch.testing.assert_close(layer.running_mean, mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(layer.running_var, var, rtol=1e-4, atol=1e-5)
        assert layer.momentum == 0.1 and not layer.training  # settings restored


def test_statistics_differ_from_the_copied_ones_and_samples_change_accordingly():
    gan = _trained_ema_gan()
    ema = gan.tricks[0].ema
    copied = [b.clone() for b in ema.buffers()]  # what after_g_step copies from G
    gan.sampling_generator()
    assert any(not torch.equal(a, b) for a, b in zip(copied, ema.buffers()))


def test_recomputing_is_deterministic_and_leaves_the_global_random_state_alone():
    gan = _trained_ema_gan()
    rng_state = torch.get_rng_state()
    first = gan.generate(16, seed=3)
    buffers = [b.clone() for b in gan.tricks[0].ema.buffers()]
    second = gan.generate(16, seed=3)
    assert torch.equal(first, second)
    assert all(torch.equal(a, b) for a, b in zip(buffers, gan.tricks[0].ema.buffers()))
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_only_batchnorm_layers_run_in_training_mode():
    """A generator with dropout: dropout must stay off while statistics are recomputed (it
    would draw from the global random stream and make the statistics depend on it)."""
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 8),
                        nn.BatchNorm1d(8)).eval()
    net[0].train()  # an odd mix of modes is restored as it was
    rng_state = torch.get_rng_state()
    assert recompute_batchnorm_statistics(net, lambda n, rng: torch.randn(n, 4, generator=rng),
                                          torch.device("cpu"), samples=64, batch=16)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert [m.training for m in net] == [True, False, False, False, False]
    assert int(net[1].num_batches_tracked) == 4


def test_networks_without_batchnorm_or_with_sync_batchnorm_are_left_alone():
    plain = nn.Sequential(nn.Linear(4, 4))
    before = copy.deepcopy(plain.state_dict())
    latent = lambda n, rng: torch.randn(n, 4, generator=rng)  # noqa: E731
    assert not recompute_batchnorm_statistics(plain, latent, torch.device("cpu"))
    synced = nn.Sequential(nn.Linear(4, 4), nn.SyncBatchNorm(4))
    synced_before = copy.deepcopy(synced.state_dict())
    assert not recompute_batchnorm_statistics(synced, latent, torch.device("cpu"))
    for a, b in ((plain, before), (synced, synced_before)):
        assert all(torch.equal(a.state_dict()[k], v) for k, v in b.items())


def test_without_an_averaging_trick_the_trained_generator_keeps_its_statistics():
    gan = ganzoo.create_variant("dcgan", batch_size=8, tricks={})
    TrainingStep(gan, total_steps=2)(lambda: conformance.real_batch(gan.image_shape, 8))
    before = [b.clone() for b in gan.generator.buffers()]
    assert gan.sampling_generator() is gan.generator
    assert all(torch.equal(a, b) for a, b in zip(before, gan.generator.buffers()))
