"""Tricks do what their recipes say, and impossible compositions are refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import StepState, conformance
from ganzoo.training.step import TrainingStep


def _trick(name: str, **params):
    return ganzoo.get_component("trick", name).factory(**params)


def _state(step: int = 0, total: int | None = 100, discriminator: nn.Module | None = None) -> StepState:
    return StepState(step=step, total_steps=total, generator=nn.Identity(),
                     discriminator=discriminator or nn.Identity())


def _run_steps(gan, steps: int = 2, batch: int = 8) -> TrainingStep:
    step = TrainingStep(gan, total_steps=10)
    for i in range(steps):
        step(lambda: conformance.real_batch(gan.image_shape, batch, seed=i))
    return step


def test_label_smoothing_targets():
    real, fake = _trick("label-smoothing").labels(torch.ones(5), torch.zeros(5), _state())
    assert torch.allclose(real, torch.full((5,), 0.9)) and torch.equal(fake, torch.zeros(5))


def test_label_noise_targets_are_in_range_and_random():
    torch.manual_seed(0)
    real, fake = _trick("label-noise").labels(torch.ones(4000), torch.zeros(4000), _state())
    assert real.min() >= 0.7 and real.max() <= 1.2 and fake.min() >= 0 and fake.max() <= 0.3
    assert abs(real.mean() - 0.95) < 0.02 and abs(fake.mean() - 0.15) < 0.02
    assert real.std() > 0.1  # per-sample, not one value


def test_instance_noise_decays_linearly_to_zero():
    trick = _trick("instance-noise", sigma=0.2)
    sigmas = [trick.sigma_at(step, 100) for step in (0, 25, 50, 100, 150)]
    assert sigmas == pytest.approx([0.2, 0.15, 0.1, 0.0, 0.0])
    images = torch.zeros(2000, 1, 4, 4)
    early = trick.d_input(images, _state(step=0, total=100))
    late = trick.d_input(images, _state(step=100, total=100))
    assert early.std() == pytest.approx(0.2, rel=0.05)
    assert torch.equal(late, images)


def test_instance_noise_uses_anneal_steps_over_run_length():
    trick = _trick("instance-noise", sigma=1.0, anneal_steps=10)
    assert trick.sigma_at(5, total_steps=1000) == pytest.approx(0.5)


def test_weight_clip_holds_bounds_after_every_critic_step():
    gan = ganzoo.create_variant("wgan-clip", batch_size=8)
    with torch.no_grad():  # start far outside the bound so clipping has work to do
        for p in gan.discriminator.parameters():
            p.mul_(100)
    _run_steps(gan, steps=2)
    for p in gan.discriminator.parameters():
        assert p.abs().max() <= 0.01 + 1e-7


def test_d_grad_clip_clamps_gradient_values():
    critic = nn.Linear(3, 1)
    (critic(torch.full((4, 3), 100.0)).sum() * 1000).backward()
    assert critic.weight.grad.abs().max() > 1
    _trick("d-grad-clip").d_gradients(critic, _state())
    assert critic.weight.grad.abs().max() <= 1.0 and critic.bias.grad.abs().max() <= 1.0


def test_gradient_penalty_is_per_sample():
    conformance.check_penalty_is_per_sample(_trick("gradient-penalty"))


def test_a_per_pixel_penalty_fails_the_per_sample_check():
    from ganzoo_plugins.tricks.penalty import GradientPenalty

    class PerPixelPenalty(GradientPenalty):
        @staticmethod
        def interpolate(real, fake):
            return torch.lerp(fake, real, torch.rand_like(real))

    with pytest.raises(AssertionError, match="per-pixel"):
        conformance.check_penalty_is_per_sample(PerPixelPenalty())


def test_gradient_penalty_value_matches_definition():
    """A linear critic has gradient w everywhere: penalty = λ (‖w‖ − 1)²."""
    critic = nn.Linear(4, 1)
    trick = _trick("gradient-penalty", weight=10.0)
    term = trick.d_loss_term(torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2),
                             _state(discriminator=nn.Sequential(nn.Flatten(), critic)))
    expected = 10.0 * (critic.weight.norm() - 1) ** 2
    assert term.item() == pytest.approx(expected.item(), rel=1e-5)
    term.backward()  # double backward reaches the critic's weights
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_r1_penalty_value_matches_definition():
    """A linear discriminator has gradient w on every real image: R1 = γ/2 ‖w‖²."""
    critic = nn.Linear(4, 1)
    real = torch.randn(6, 1, 2, 2)
    term = _trick("r1", gamma=4.0).d_loss_term(real, torch.randn(6, 1, 2, 2),
                                              _state(discriminator=nn.Sequential(nn.Flatten(), critic)))
    assert term.item() == pytest.approx(2.0 * critic.weight.square().sum().item(), rel=1e-5)
    term.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    assert real.grad is None  # the caller's batch is left alone


@pytest.mark.parametrize("params, message", [({"gamma": -1}, "gamma must be >= 0"),
                                             ({"every": 0}, "every must be a positive integer")])
def test_r1_rejects_bad_parameters(params, message):
    with pytest.raises(ganzoo.ConfigError, match=message):
        _trick("r1", **params)


def test_ema_tracks_the_generator_and_is_used_for_sampling():
    gan = ganzoo.create_variant("dcgan", batch_size=8, tricks={"ema": {"decay": 0.9, "warmup": False}})
    ema = gan.tricks[0]
    start = [p.detach().clone() for p in ema.sampling_generator().parameters()]
    before = [p.detach().clone() for p in gan.generator.parameters()]
    step = TrainingStep(gan, total_steps=10)
    step(lambda: conformance.real_batch((1, 28, 28), 8))
    for e0, g0, e1, g1 in zip(start, before, ema.ema.parameters(), gan.generator.parameters()):
        assert torch.equal(e0, g0)  # the copy starts equal
        assert torch.allclose(e1, 0.9 * e0 + 0.1 * g1, atol=1e-6)
    assert gan.sampling_generator() is ema.ema


def test_ema_state_round_trips():
    gan = ganzoo.create_variant("vanilla", batch_size=4, tricks={"label-smoothing": {}, "ema": {}})
    _run_steps(gan, steps=1, batch=4)
    ema = gan.tricks[1]
    other = _trick("ema")
    other.setup(gan.generator, gan.discriminator)
    other.load_state_dict(ema.state_dict())
    for a, b in zip(ema.ema.parameters(), other.ema.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("tricks, loss, message", [
    (["weight-clip", "gradient-penalty"], "wasserstein", "cannot be combined with 'gradient-penalty'"),
    (["label-smoothing"], "wasserstein", "needs a loss tagged 'labels'"),
    (["gradient-penalty"], "bce", "needs a loss tagged 'critic'"),
    (["label-smoothing", "label-noise"], "bce", "cannot be combined"),
])
def test_impossible_compositions_are_refused_in_one_line(tricks, loss, message):
    with pytest.raises(ganzoo.CompositionError, match=message) as info:
        ganzoo.create_variant("dcgan", loss=loss, tricks=tricks)
    assert "\n" not in str(info.value)


def test_free_composition_builds_and_trains():
    variant = ganzoo.compose_variant("upsample-conv", "mlp", "wasserstein", ["gradient-penalty", "ema"],
                                     critic_steps=2, batch_size=4)
    gan = ganzoo.build_gan(variant)
    step = _run_steps(gan, steps=1, batch=4)
    assert step.updates_of("discriminator") == 2


# -- lazy R1 is one thing: the lazy-r1 phase (issue 33) ------------------------------------------


def test_r1_every_k_is_refused_in_one_line_naming_the_lazy_r1_phase(tmp_path, capsys):
    # Regression: the r1 trick with every > 1 was a second, eager spelling of the lazy-r1 phase.
    from ganzoo.cli import main

    out = tmp_path / "run"
    assert main(["train", "vanilla", "--trick", "r1:every=16,gamma=5", "--steps", "1", "--data", "mnist:test-b",
                 "--device", "cpu", "--batch-size", "8", "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == ("ganzoo train: error: trick 'r1': lazy R1 (every=16) is the lazy-r1 phase since ganzoo 0.3: "
                    "replace the trick with {update = \"lazy-r1\", every = 16, params = {gamma = 5.0}} in the "
                    "recipe's phases (README: phases)")
    assert not out.exists()
    # every=1 (the default) is the eager penalty, capturable, with nothing to say.
    from ganzoo.training.capture import assemble_step

    gan = ganzoo.create_variant("vanilla", tricks={"r1": {}}, batch_size=8)
    notices: list[str] = []
    assemble_step(gan, conformance.real_batch(gan.image_shape, 16), seed=0, total_steps=10, notify=notices.append)
    assert notices == [] and gan.tricks[0].capturable


def test_a_run_saved_with_r1_every_k_still_samples(tmp_path):
    """A 0.2 run trained with the r1 trick's every > 1 cannot resume, but its generator is
    still sampled (sampling never sets r1 up)."""
    variant = ganzoo.get_variant("vanilla").replace(tricks={"r1": {"every": 4}})
    generator = ganzoo.build.build_generator(variant)
    assert generator.tricks == [] and generator.generate(2, seed=0).shape == (2, 1, 28, 28)


def test_a_batchnorm_critic_under_the_gradient_penalty_is_refused(fresh_plugins, tmp_path, capsys):
    """The gradient penalty is per sample; batch normalisation in the critic mixes the samples
    (Gulrajani et al. 2017). A discriminator tagged batchnorm and the penalty are refused in one
    line before the run folder, through tags and conflicts; weight clipping still takes it."""
    import types

    from torch import nn

    import ganzoo
    from ganzoo import hookimpl
    from ganzoo.cli import main

    def critic(image_shape):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def register_discriminators(register):
        register("bn-critic", critic, tags=("batchnorm",))
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_discriminators=hookimpl(register_discriminators)), "bn-test")
    out = tmp_path / "run"
    assert main(["train", "wgan-gp", "--discriminator", "bn-critic", "--steps", "1", "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert ("trick 'gradient-penalty' cannot be used with the discriminator 'bn-critic', which is tagged "
            "'batchnorm'") in line and line.endswith("--no-trick gradient-penalty)")
    assert not out.exists()
    clipped = ganzoo.resolve_variant("wgan-clip", discriminator="bn-critic")
    ganzoo.get_registry().check_composition(clipped)  # clipping has no per-sample assumption


def test_a_built_network_that_says_it_has_batchnorm_is_refused_under_the_gradient_penalty(fresh_plugins):
    """A family whose members differ registers no tag and says it on the built network (timm's
    resnet18 has batch normalisation, convnext none): regression, timm:resnet18 trained under
    the gradient penalty without a word."""
    import types

    from ganzoo import hookimpl

    class FamilyCritic(nn.Module):
        def __init__(self, image_shape, norm: bool = True):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), *([nn.BatchNorm1d(16)] if norm else []),
                                     nn.Linear(16, 1))
            self.tags = frozenset({"batchnorm"} if norm else ())

        def forward(self, images):
            return self.net(images)

    def register_discriminators(register):
        register("family-critic", FamilyCritic)
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_discriminators=hookimpl(register_discriminators)), "family-test")
    with pytest.raises(ganzoo.CompositionError, match="trick 'gradient-penalty' cannot be used with the "
                                                      "discriminator 'family-critic', which is tagged 'batchnorm'"):
        ganzoo.create_variant("wgan-gp", discriminator="family-critic")
    ganzoo.create_variant("wgan-gp", discriminator="family-critic", discriminator_params={"norm": False})
    ganzoo.create_variant("wgan-clip", discriminator="family-critic")  # clipping has no per-sample assumption


def test_a_tag_conflict_is_checked_only_on_the_roles_the_trick_names(fresh_plugins):
    """Regression: a generator that says it has batch normalisation was refused under the
    gradient penalty, which only differentiates the discriminator (its ``roles``)."""
    import types

    import ganzoo
    from ganzoo import hookimpl

    mlp = ganzoo.get_registry().component("generator", "mlp").factory

    def tagged_generator(*args, **params):
        net = mlp(*args, **params)
        net.tags = frozenset({"batchnorm"})
        return net

    def register_generators(register):
        register("tagged-mlp", tagged_generator)
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_generators=hookimpl(register_generators)), "tagged-test")
    assert ganzoo.get_registry().component("trick", "gradient-penalty").roles == ("discriminator",)
    gan = ganzoo.create_variant("wgan-gp-mlp", generator="tagged-mlp")
    assert gan.generator.tags == {"batchnorm"}
