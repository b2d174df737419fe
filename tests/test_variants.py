"""Every registered variant and component, checked by the same tests (timm-style)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo import conformance
from ganzoo.training.step import TrainingStep


@pytest.mark.parametrize("image_shape", conformance.IMAGE_SHAPES, ids=["28x28x1", "32x32x3"])
def test_generator_output_shape_and_range(generator_name, image_shape):
    conformance.check_generator(generator_name, image_shape)


@pytest.mark.parametrize("image_shape", conformance.IMAGE_SHAPES, ids=["28x28x1", "32x32x3"])
def test_discriminator_output_shape(discriminator_name, image_shape):
    conformance.check_discriminator(discriminator_name, image_shape)


def test_loss_sign_convention(loss_name):
    conformance.check_loss_signs(loss_name)


def test_trick_builds_with_defaults(trick_name):
    trick = ganzoo.get_component("trick", trick_name).factory()
    assert isinstance(trick, ganzoo.Trick)


def test_logger_takes_a_run_and_a_resume(logger_name):
    conformance.check_logger(logger_name)


def test_update_builds_with_defaults_and_names_its_roles(update_name):
    conformance.check_update(update_name)


def test_one_step_changes_both_networks_and_counts_critic_steps(variant_name):
    conformance.check_variant_step(variant_name)


def test_variant_runs_on_rgb_32x32(variant_name):
    conformance.check_variant_step(variant_name, image_shape=(3, 32, 32), batch=4)


def test_variant_generator_and_discriminator_shapes(variant_name):
    gan = ganzoo.create_variant(variant_name, num_classes=10)  # ignored when unconditional
    images = gan.generate(5, seed=0)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    labels = gan.requested_labels(5)  # each class in turn for a conditional variant, else None
    if "latent" in ganzoo.get_component("discriminator", gan.variant.discriminator).inputs:  # pairs (BiGAN)
        scores, classes = gan.discriminator(images.to(gan.device), gan.sample_latent(5)).reshape(-1), None
    else:
        scores, classes = gan.discriminate(gan.discriminator, images.to(gan.device), labels)
    assert scores.shape == (5,)
    assert classes is None or classes.shape == (5, gan.num_classes)


def test_variant_recipe_is_consistent(variant_name):
    variant = ganzoo.get_variant(variant_name)
    assert variant.summary, f"variant {variant_name!r} has no summary"
    assert variant.plugin is not None and variant.plugin.distribution
    ganzoo.get_registry().check_composition(variant)


def test_generate_is_reproducible_with_a_seed(variant_name):
    gan = ganzoo.create_variant(variant_name, num_classes=10)  # ignored when unconditional
    assert torch.equal(gan.generate(4, seed=3), gan.generate(4, seed=3))
    assert not torch.equal(gan.generate(4, seed=3), gan.generate(4, seed=4))


def test_classic_recipes_match_the_tutorials():
    classic = ganzoo.get_variant("vanilla-classic")
    assert (classic.generator, classic.discriminator, classic.loss) == ("mlp", "mlp", "bce")
    assert {k: dict(v) for k, v in classic.tricks.items()} == {"label-smoothing": {"real": 0.9}}
    assert classic.d_optimizer.lr == classic.g_optimizer.lr == 2e-4
    assert classic.d_optimizer.betas == (0.5, 0.999) and classic.batch_size == 64
    vanilla = ganzoo.get_variant("vanilla")  # the same networks and loss, tuned defaults
    assert (vanilla.generator, vanilla.discriminator, vanilla.loss) == ("mlp", "mlp", "bce")
    assert dict(vanilla.tricks["label-smoothing"]) == {"real": 0.9} and "ema" in vanilla.tricks
    clip = ganzoo.get_variant("wgan-clip")
    assert clip.critic_steps == 5 and clip.d_optimizer.name == "rmsprop" and clip.d_optimizer.lr == 5e-5
    assert dict(clip.tricks["weight-clip"]) == {"value": 0.01}
    gp = ganzoo.get_variant("wgan-gp")
    assert gp.critic_steps == 5 and dict(gp.tricks["gradient-penalty"]) == {"weight": 10.0}
    assert gp.d_optimizer.lr == 1e-4 and gp.d_optimizer.betas == (0.5, 0.9)
    assert gp.discriminator == "dcgan-critic"


def test_dcgan_layers_follow_the_recipe():
    gan = ganzoo.create_variant("dcgan")
    g_layers = [m for m in gan.generator.modules() if isinstance(m, (torch.nn.Linear, torch.nn.ConvTranspose2d))]
    assert g_layers[0].out_features == 7 * 7 * 256
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in g_layers[1:]] == [
        (256, 128, (5, 5), (1, 1)), (128, 64, (5, 5), (2, 2)), (64, 1, (5, 5), (2, 2))]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in gan.generator.modules())
    critic = ganzoo.create_variant("wgan-gp").discriminator
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.Dropout)) for m in critic.modules())


def test_vanilla_layers_follow_the_recipe():
    gan = ganzoo.create_variant("vanilla")
    sizes = [(m.in_features, m.out_features) for m in gan.generator.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [(100, 256), (256, 512), (512, 1024), (1024, 784)]
    sizes = [(m.in_features, m.out_features) for m in gan.discriminator.modules() if isinstance(m, torch.nn.Linear)]
    # The minibatch-std layer appends one feature before the logit (RESULTS.md: class balance).
    assert sizes == [(784, 1024), (1024, 512), (512, 256), (257, 1)]
    layers = list(gan.discriminator.modules())
    minibatch_std = [m for m in layers if type(m).__name__ == "MinibatchStd"]
    assert len(minibatch_std) == 1 and minibatch_std[0].group == 4
    dropouts = [m.p for m in gan.discriminator.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(p == 0.1 for p in dropouts)  # tuned (RESULTS.md); the tutorials use 0.3
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in gan.generator.modules())
    # Tuned (RESULTS.md, 2026-12-02): the generator learns at twice the discriminator's rate.
    assert (gan.variant.g_optimizer.lr, gan.variant.d_optimizer.lr) == (8e-4, 4e-4)
    assert gan.g_optimizer.param_groups[0]["lr"] == 8e-4
    classic = ganzoo.create_variant("vanilla-classic")
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in classic.generator.modules())
    assert {m.p for m in classic.discriminator.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}
    assert not any(type(m).__name__ == "MinibatchStd" for m in classic.discriminator.modules())
    assert [(m.in_features, m.out_features) for m in classic.discriminator.modules()
            if isinstance(m, torch.nn.Linear)][-1] == (256, 1)


def test_mlp_generator_batchnorm_option():
    plain = ganzoo.get_component("generator", "mlp").factory((1, 28, 28), 100)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
    normed = ganzoo.get_component("generator", "mlp").factory((1, 28, 28), 100, batchnorm=True)
    # Every hidden layer but the first (which would rescale z itself).
    assert [m.num_features for m in normed.modules() if isinstance(m, torch.nn.BatchNorm1d)] == [512, 1024]
    assert normed(torch.randn(5, 100)).shape == (5, 1, 28, 28)


def test_mlp_dropout_keeps_the_rate_and_the_expectation():
    from ganzoo_plugins._layers import Dropout

    torch.manual_seed(0)
    dropout, x = Dropout(0.3), torch.ones(400, 500)
    y = dropout(x)
    assert abs((y == 0).float().mean().item() - 0.3) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.01
    assert torch.equal(dropout.eval()(x), x)


@pytest.mark.parametrize("shape", [(127, 33), (3, 5, 7)])  # odd sizes: half an int32 draw is left over
def test_mlp_dropout_mask_halves_are_fair(shape):
    from ganzoo_plugins._layers import Dropout

    torch.manual_seed(1)
    dropout, x = Dropout(0.1), torch.ones(shape)
    kept = torch.stack([dropout(x) != 0 for _ in range(400)]).float()
    # Even and odd positions come from the low and high halves of the same 31-bit draw.
    flat = kept.flatten(1)
    for half in (flat[:, 0::2], flat[:, 1::2]):
        assert abs(half.mean().item() - 0.9) < 0.005
    y = dropout(x)
    assert torch.allclose(y[y != 0], torch.tensor(32768 / round(0.9 * 32768)))  # unbiased scale
    assert torch.allclose(Dropout(1e-7)(x), x)  # a rate below the mask's resolution: nn.Dropout


def test_minibatch_std_sees_the_spread_of_its_group():
    from ganzoo_plugins._layers import MinibatchStd

    layer = MinibatchStd(group=2)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [1.0, 1.0]])
    # Groups pair samples i and i + 2: {0, 2} spread 1, {1, 3} spread 0.
    assert torch.allclose(layer(x)[:, -1], torch.tensor([1.0, 0.0, 1.0, 0.0]), atol=1e-3)
    assert torch.allclose(layer(x)[:, :2], x)
    assert layer(torch.ones(3, 2)).shape == (3, 3)  # a group that does not divide: one group
    collapsed, varied = torch.ones(8, 5), torch.randn(8, 5)
    assert layer(collapsed)[:, -1].max() < 1e-3 < layer(varied)[:, -1].min()


def test_minibatch_std_matches_the_torch_var_definition():
    # The layer writes the variance out (torch.var over the strided group axis was ~10x slower
    # on the CPU); values and gradients must still be those of the population variance.
    from ganzoo_plugins._layers import MinibatchStd

    x = torch.randn(128, 256, dtype=torch.float64, requires_grad=True)
    reference = (x.reshape(4, 32, -1).var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=1, keepdim=True)
    spread = MinibatchStd(group=4)(x)[:, -1:]
    assert torch.allclose(spread, reference.repeat(4, 1), atol=1e-12)
    weights = torch.randn(128, 1, dtype=torch.float64)
    (grad,) = torch.autograd.grad((spread * weights).sum(), x)
    (expected,) = torch.autograd.grad((reference.repeat(4, 1) * weights).sum(), x)
    assert torch.allclose(grad, expected, atol=1e-12)


def test_mlp_discriminator_minibatch_std_option():
    factory = ganzoo.get_component("discriminator", "mlp").factory
    d = factory((1, 28, 28), minibatch_std=4)
    assert d(torch.randn(8, 1, 28, 28)).shape == (8,)
    last = [m for m in d.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert last.in_features == 257
    with pytest.raises(ganzoo.ConfigError, match="minibatch_std must be a group size"):
        factory((1, 28, 28), minibatch_std=-1)


def test_upsample_conv_goes_through_12x12():
    net = ganzoo.get_component("generator", "upsample-conv").factory((1, 28, 28), 100)
    assert net.start == (12, 12)
    assert any(isinstance(m, torch.nn.Upsample) and m.mode == "bilinear" for m in net.modules())


def test_training_step_never_reads_values_back():
    """Stats stay tensors (no host sync inside the step)."""
    gan = ganzoo.create_variant("vanilla", batch_size=4)
    stats = TrainingStep(gan)(lambda: conformance.real_batch((1, 28, 28), 4))
    assert all(isinstance(getattr(stats, k), torch.Tensor) for k in ("d_loss", "g_loss", "d_real", "d_fake"))


def test_unsupported_image_size_is_a_one_line_error():
    with pytest.raises(ganzoo.ConfigError, match="divisible by 4"):
        ganzoo.create_variant("dcgan", image_shape=(1, 30, 30))


def test_metric_is_finite_and_deterministic(metric_name):
    conformance.check_metric(metric_name)
