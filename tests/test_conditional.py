"""Class-conditional components through the contract: a generator or discriminator registered
with ``conditional=True`` gets the number of classes in its factory and labels in forward; the
step feeds real labels to D and asks G for classes drawn by the sampler; sampling takes labels.
An in-process plugin provides small conditional MLPs."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.conformance import (check_checkpoint_round_trip, check_discriminator, check_generator,
                                check_variant_step, labelled_batch, perturbed)
from ganzoo.errors import CompositionError, ConfigError
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training.step import TrainingStep
from ganzoo_plugins.conditional.projection import ConditionalBNGenerator


class CondGenerator(nn.Module):
    def __init__(self, image_shape, latent_dim, num_classes, width: int = 64):
        super().__init__()
        self.shape = tuple(image_shape)
        self.embed = nn.Embedding(num_classes, 8)
        self.net = nn.Sequential(nn.Linear(latent_dim + 8, width), nn.ReLU(), nn.Linear(width, math.prod(image_shape)),
                                 nn.Tanh())

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.embed(labels)], 1)).view(-1, *self.shape)


class CondDiscriminator(nn.Module):
    def __init__(self, image_shape, num_classes, width: int = 64):
        super().__init__()
        self.embed = nn.Embedding(num_classes, 8)
        self.net = nn.Sequential(nn.Linear(math.prod(image_shape) + 8, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, images, labels):
        return self.net(torch.cat([images.flatten(1), self.embed(labels)], 1))


COND = ganzoo.Variant(name="cond-test", summary="small conditional MLPs", generator="cond-mlp",
                      discriminator="cond-mlp", loss="bce", batch_size=8, latent_dim=16)


@pytest.fixture
def conditional_plugin(fresh_plugins):
    plugin = types.SimpleNamespace(
        register_generators=hookimpl(lambda register: register("cond-mlp", CondGenerator, conditional=True)),
        register_discriminators=hookimpl(lambda register: register("cond-mlp", CondDiscriminator, conditional=True)),
        register_variants=hookimpl(lambda register: register(COND)))
    fresh_plugins.get_host().add_plugin(plugin, "conditional-test")
    return fresh_plugins


def test_conditional_components_pass_the_kit(conditional_plugin):
    for shape in ((1, 28, 28), (3, 32, 32)):
        check_generator("cond-mlp", shape)
        check_discriminator("cond-mlp", shape)
        check_variant_step("cond-test", shape)
    check_checkpoint_round_trip("cond-test")


def test_the_kit_catches_a_conditional_generator_that_ignores_its_labels(conditional_plugin):
    class Deaf(CondGenerator):
        def forward(self, z, labels):
            return super().forward(z, torch.zeros_like(labels))

    plugin = types.SimpleNamespace(register_generators=hookimpl(
        lambda register: register("deaf", Deaf, conditional=True)))
    conditional_plugin.get_host().add_plugin(plugin, "deaf-test")
    with pytest.raises(AssertionError, match="ignores the labels"):
        check_generator("deaf", (1, 28, 28))


class StandardCBNGenerator(ConditionalBNGenerator):
    """The built-in ``cbn-dcgan`` with its conditional BatchNorm initialised as SNGAN/BigGAN do:
    per-class gain 1 and bias 0, so that, freshly built, it draws the same image for every class."""

    def __init__(self, image_shape, latent_dim, num_classes, width: int = 8):
        super().__init__(image_shape, latent_dim, num_classes, width)
        for norm in self.norms:
            nn.init.ones_(norm.gain.weight)
            nn.init.zeros_(norm.bias.weight)


class ZeroProjectionDiscriminator(CondDiscriminator):
    """Projection onto a class embedding that starts at zero: fresh, its scores ignore the class."""

    def __init__(self, image_shape, num_classes, width: int = 64):
        super().__init__(image_shape, num_classes, width)
        self.features = nn.Sequential(nn.Linear(math.prod(image_shape), width), nn.LeakyReLU(0.2))
        self.score = nn.Linear(width, 1)
        self.project = nn.Embedding(num_classes, width)
        nn.init.zeros_(self.project.weight)

    def forward(self, images, labels):
        h = self.features(images.flatten(1))
        return self.score(h).view(-1) + (self.project(labels) * h).sum(1)


def test_the_kit_passes_networks_that_ignore_their_class_only_at_initialisation(fresh_plugins):
    # Regression (issue 32): the kit asked a freshly built network to depend on the labels, which
    # the standard conditional-BatchNorm initialisation (and a zero projection) does not.
    cbn = ganzoo.Variant(name="cbn-standard", summary="cbn at gain 1, bias 0", generator="cbn-standard",
                         discriminator="zero-projection", loss="hinge-margin", batch_size=8, latent_dim=16)
    plugin = types.SimpleNamespace(
        register_generators=hookimpl(lambda register: register("cbn-standard", StandardCBNGenerator, conditional=True)),
        register_discriminators=hookimpl(
            lambda register: register("zero-projection", ZeroProjectionDiscriminator, conditional=True)),
        register_variants=hookimpl(lambda register: register(cbn)))
    fresh_plugins.get_host().add_plugin(plugin, "cbn-standard-test")
    torch.manual_seed(0)
    z, labels = torch.randn(4, 16), torch.arange(4)
    with torch.no_grad():  # fresh, both really ignore the class
        g = StandardCBNGenerator((1, 28, 28), 16, 10).eval()
        assert torch.equal(g(z, labels), g(z, labels + 1))
        d, images = ZeroProjectionDiscriminator((1, 28, 28), 10).eval(), labelled_batch((1, 28, 28), 4).images
        assert torch.equal(d(images, labels), d(images, labels + 1))
    for shape in ((1, 28, 28), (3, 32, 32)):
        check_generator("cbn-standard", shape)
        check_discriminator("zero-projection", shape)
    gan = ganzoo.create_variant("cbn-standard", num_classes=10)  # the build-time probe accepts them too
    assert isinstance(gan.generator, StandardCBNGenerator)
    check_variant_step("cbn-standard")


def test_the_kits_perturbation_is_seeded_and_leaves_no_trace():
    net = StandardCBNGenerator((1, 28, 28), 16, 10)
    before, rng = [p.detach().clone() for p in net.parameters()], torch.get_rng_state()
    with perturbed(net):
        first = [p.detach().clone() for p in net.parameters()]
    with perturbed(net):
        second = [p.detach().clone() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(first, second))            # seeded
    assert all(not torch.equal(a, b) for a, b in zip(first, before))        # every parameter moves, zeros too
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), before))  # restored
    assert torch.equal(rng, torch.get_rng_state())


class NeverListens(nn.Module):
    """A 'conditional' network that never uses its labels (whatever its parameters)."""

    def __init__(self, image_shape, *sizes):
        super().__init__()
        self.shape = tuple(image_shape)
        self.net = nn.Linear(sizes[0] if len(sizes) == 2 else math.prod(image_shape),
                             math.prod(image_shape) if len(sizes) == 2 else 1)

    def forward(self, inputs, labels):
        out = self.net(inputs.flatten(1))
        return torch.tanh(out).view(-1, *self.shape) if out.shape[1] > 1 else out.view(-1)


def test_the_kit_still_fails_networks_that_never_use_their_labels(fresh_plugins):
    plugin = types.SimpleNamespace(
        register_generators=hookimpl(lambda register: register("never", NeverListens, conditional=True)),
        register_discriminators=hookimpl(lambda register: register("never", NeverListens, conditional=True)))
    fresh_plugins.get_host().add_plugin(plugin, "never-test")
    for check, kind in ((check_generator, "generator"), (check_discriminator, "discriminator")):
        with pytest.raises(AssertionError, match=f"{kind} 'never' is conditional but its output ignores the "
                                                 "labels, also with its parameters perturbed"):
            check("never", (1, 28, 28))


def test_a_conditional_recipe_needs_classes_and_a_conditional_generator(conditional_plugin):
    with pytest.raises(ConfigError, match="is conditional .* needs labelled data and the number of classes"):
        ganzoo.create_variant("cond-test")
    with pytest.raises(CompositionError, match="discriminator 'cond-mlp' is conditional and generator 'mlp' is not"):
        ganzoo.create_variant("cond-test", generator="mlp", num_classes=10)


def test_the_step_feeds_real_labels_to_d_and_sampled_classes_to_g(conditional_plugin):
    torch.manual_seed(0)
    gan = ganzoo.create_variant("cond-test", num_classes=10)
    seen = {"generator": [], "discriminator": []}
    for role in seen:
        gan.networks[role].register_forward_hook(lambda m, args, out, role=role: seen[role].append(args[1]))
    batch = labelled_batch((1, 28, 28), 8, seed=1)
    batch.labels = torch.tensor([7, 1, 7, 2, 0, 9, 9, 3])
    TrainingStep(gan)(lambda: batch)
    real, fake, again = seen["discriminator"][:3]
    assert torch.equal(real, batch.labels)           # D scores each real image with its class
    assert torch.equal(fake, seen["generator"][0])    # and each fake with the class G was asked for
    assert torch.equal(again, fake)                   # the G update scores the same fakes again
    assert fake.dtype == torch.int64 and 0 <= int(fake.min()) and int(fake.max()) < 10


def test_train_resume_and_sample_a_class(conditional_plugin, tmp_path, capsys):
    common = ["--data", "mnist:test-b", "--device", "cpu", "--precision", "fp32", "--checkpoint-every", "2",
              "--seed", "4"]
    assert main(["train", "cond-test", "--steps", "2", "--out", str(tmp_path / "half"), *common]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "4"]) == 0
    assert main(["train", "cond-test", "--steps", "4", "--out", str(tmp_path / "once"), *common]) == 0
    a = ckpt.load_checkpoint(tmp_path / "half/checkpoints/last.pt", resume=True)
    b = ckpt.load_checkpoint(tmp_path / "once/checkpoints/last.pt", resume=True)
    assert a["num_classes"] == b["num_classes"] == 10
    for role, net in a["state"]["networks"].items():
        for key, value in net.items():
            assert torch.equal(value, b["state"]["networks"][role][key]), (role, key)
    assert json.loads((tmp_path / "once/config.json").read_text())["num_classes"] == 10

    sampler, _ = ckpt.load_trained_gan(tmp_path / "once", device="cpu")
    asked = []
    sampler.generator.register_forward_hook(lambda m, args, out: asked.append(args[1]))
    images = sampler.generate(6, seed=0, labels=3)
    assert images.shape == (6, 1, 28, 28) and asked[-1].tolist() == [3] * 6
    sampler.generate(4, seed=0)
    assert asked[-1].tolist() == [0, 1, 2, 3]  # by default, each class in turn
    with pytest.raises(ConfigError, match=r"class 12 is out of range: the run has classes 0\.\.9"):
        sampler.generate(2, labels=12)
    with pytest.raises(ConfigError, match="is not conditional"):
        ganzoo.create_variant("vanilla").generate(2, labels=1)


def test_a_conditional_variant_on_unlabelled_data_is_refused_in_one_line(conditional_plugin, tmp_path, capsys):
    np.save(tmp_path / "plain.npy", np.random.default_rng(0).random((16, 1, 28, 28)).astype(np.float32))
    assert main(["train", "cond-test", "--steps", "1", "--data", str(tmp_path / "plain.npy"),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "plain.npy" in err and "no class labels" in err and "subfolder" in err, err


def test_sample_a_class_from_the_command_line(conditional_plugin, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cond-test", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu",
                 "--out", str(run)]) == 0
    assert main(["sample", str(run), "-n", "6", "--class", "3,5", "--npy", str(tmp_path / "s.npy"),
                 "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (6, 1, 28, 28)
    capsys.readouterr()
    for flag, message in (("12", "class 12 is out of range"), ("three", "--class three: class 'three' is not a class name or index: the run's classes are 0, 1, 2")):
        assert main(["sample", str(run), "-n", "2", "--class", flag, "--out", str(tmp_path / "t.png")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert main(["train", "vanilla", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu", "--batch-size", "8",
                 "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "plain"), "-n", "2", "--class", "1", "--out", str(tmp_path / "u.png")]) == 2
    assert "is not conditional" in capsys.readouterr().err


def test_class_flag_gives_equal_blocks():
    from ganzoo.cli.sample import _class_blocks

    assert _class_blocks([3, 5], 6) == [3, 3, 3, 5, 5, 5] and _class_blocks([7], 3) == [7, 7, 7]


# -- metrics of class-conditional samples ---------------------------------------------------------


def test_class_accuracy_ends_true_labels_and_shuffled_labels():
    """Real digits drawn "as" their true class score ~100%; with shuffled classes ~10%."""
    from ganzoo.evaluation.evaluate import evaluate_images
    from ganzoo.evaluation.reference import reference_images, reference_labels

    images, labels = reference_images("mnist:test-b"), reference_labels("mnist:test-b")
    report = evaluate_images(images, metrics=["class-accuracy", "intra-class-fd"], baseline=False,
                             sample_labels=labels)
    assert report.value("class-accuracy.overall") > 0.95
    assert min(report.value("class-accuracy.per_class")) > 0.85
    true_fd = report.value("intra-class-fd.mean")
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    report = evaluate_images(images, metrics=["class-accuracy", "intra-class-fd"], baseline=False,
                             sample_labels=shuffled)
    assert 0.05 < report.value("class-accuracy.overall") < 0.2
    assert report.value("intra-class-fd.mean") > 3 * true_fd


def test_conditional_metrics_score_conditional_runs_only(conditional_plugin, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cond-test", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "-n", "40", "--json"]) == 0
    rows = {row["metric"]: row for row in json.loads(capsys.readouterr().out)["metrics"]}
    assert {"class-accuracy.overall", "class-accuracy.per_class", "intra-class-fd.mean"} <= set(rows)
    assert rows["class-accuracy.overall"]["real_vs_real"] > 0.95  # real digits as their true class
    np.save(tmp_path / "plain.npy", np.random.default_rng(0).random((16, 1, 28, 28)).astype(np.float32) * 2 - 1)
    assert main(["eval", str(tmp_path / "plain.npy"), "--json", "--no-baseline"]) == 0
    assert not any(r["metric"].startswith("class-accuracy") for r in json.loads(capsys.readouterr().out)["metrics"])
    assert main(["eval", str(tmp_path / "plain.npy"), "--metric", "class-accuracy", "--no-baseline"]) == 2
    assert "no requested classes" in capsys.readouterr().err


def test_labels_flag_gives_unlabelled_images_their_classes(conditional_plugin, tmp_path, capsys):
    images = np.random.default_rng(0).random((20, 1, 28, 28)).astype(np.float32) * 2 - 1
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", np.arange(20) % 4)
    assert main(["train", "cond-test", "--steps", "1", "--data", str(tmp_path / "images.npy"), "--labels",
                 str(tmp_path / "labels.npy"), "--device", "cpu", "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r/config.json").read_text())["num_classes"] == 4
    np.save(tmp_path / "short.npy", np.arange(7) % 4)
    capsys.readouterr()
    assert main(["train", "cond-test", "--steps", "1", "--data", str(tmp_path / "images.npy"), "--labels",
                 str(tmp_path / "short.npy"), "--device", "cpu", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "short.npy" in err, err


def test_sampled_classes_travel_in_the_npz_into_eval(conditional_plugin, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cond-test", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu",
                 "--out", str(run)]) == 0
    assert main(["sample", str(run), "-n", "20", "--class", "4,6", "--npz", str(tmp_path / "s.npz"),
                 "--out", str(tmp_path / "s.png")]) == 0
    with np.load(tmp_path / "s.npz") as archive:
        assert archive["images"].shape == (20, 1, 28, 28) and archive["labels"].tolist() == [4] * 10 + [6] * 10
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "s.npz"), "--metric", "class-accuracy", "--no-baseline", "--json"]) == 0
    rows = {r["metric"]: r["value"] for r in json.loads(capsys.readouterr().out)["metrics"]}
    assert 0 <= rows["class-accuracy.overall"] <= 1 and len(rows["class-accuracy.per_class"]) == 7


SMALL = {"generator_params": {"width": 8}, "discriminator_params": {"width": 8}}


def _class_head_step(class_weight: float):
    torch.manual_seed(0)
    phases = (ganzoo.Phase("discriminator", params={"class_weight": class_weight}),
              ganzoo.Phase("generator", params={"class_weight": class_weight}))
    gan = ganzoo.create_variant("acgan", num_classes=10, phases=phases, **SMALL)
    head = gan.discriminator.classes.weight.detach().clone()
    batch = labelled_batch((1, 28, 28), 8, seed=2)
    stats = TrainingStep(gan)(lambda: batch).as_floats()
    return gan, head, stats


def test_a_classifying_discriminator_adds_the_auxiliary_cross_entropy_to_both_players():
    gan, head, stats = _class_head_step(1.0)
    assert gan.classifier and stats["d_class_loss"] > 0 and stats["g_class_loss"] > 0
    # Both class terms are cross-entropies over 10 classes of an untrained head: about ln 10 each.
    assert 2 * 1.5 < stats["d_class_loss"] < 2 * 3.5 and 1.5 < stats["g_class_loss"] < 3.5
    assert not torch.equal(head, gan.discriminator.classes.weight)
    gan, head, stats = _class_head_step(0.0)  # weight 0: the head learns nothing
    assert torch.equal(head, gan.discriminator.classes.weight)
    with pytest.raises(ConfigError, match="update 'generator': class_weight must be a number >= 0"):
        ganzoo.create_variant("acgan", num_classes=10, phases=(ganzoo.Phase("generator", params={"class_weight": -1}),))


def test_a_classifying_discriminator_needs_a_conditional_generator_and_its_logits_are_probed(fresh_plugins):
    with pytest.raises(CompositionError, match="discriminator 'acgan-dcgan' classifies images and generator "
                                               "'dcgan' is not conditional"):
        ganzoo.create_variant("acgan", generator="dcgan")

    class WrongHead(nn.Module):
        def __init__(self, image_shape, num_classes):
            super().__init__()
            self.net = nn.Linear(math.prod(image_shape), 3)

        def forward(self, images):
            out = self.net(images.flatten(1))
            return out[:, 0], out[:, 1:]  # two logits, whatever the number of classes

    plugin = types.SimpleNamespace(register_discriminators=hookimpl(
        lambda register: register("wrong-head", WrongHead, classifier=True)))
    fresh_plugins.get_host().add_plugin(plugin, "wrong-head-test")
    with pytest.raises(ganzoo.errors.ComponentBuildError, match=r"classifies images .* into logits 2×2, expected 2×10"):
        ganzoo.create_variant("acgan", discriminator="wrong-head", num_classes=10,
                              generator_params={"width": 8})
    with pytest.raises(AssertionError, match=r"class logits of shape \(4, 2\), expected \(4, 10\)"):
        check_discriminator("wrong-head", (1, 28, 28))


@pytest.mark.parametrize("variant, overrides", [
    ("cond-test", {"loss": "wasserstein", "tricks": {"gradient-penalty": {}}}),
    ("cond-test", {"tricks": {"r1": {}}}),
    ("acgan", {"tricks": {"r1": {}}, **SMALL}),
], ids=["conditional-D-gradient-penalty", "conditional-D-r1", "classifying-D-r1"])
def test_gradient_penalties_score_through_conditional_and_classifying_discriminators(
        conditional_plugin, variant, overrides):
    # Regression: the penalties called D on images alone, which a conditional D refuses and a
    # classifying one answers with a tuple.
    torch.manual_seed(0)
    gan = ganzoo.create_variant(variant, num_classes=10, **overrides)
    stats = TrainingStep(gan)(lambda: labelled_batch((1, 28, 28), 8, seed=3)).as_floats()
    penalty = stats.get("gradient_penalty", stats.get("r1_penalty"))
    assert penalty is not None and math.isfinite(penalty) and penalty > 0


def test_a_conditional_run_draws_its_grid_one_row_per_class(conditional_plugin, tmp_path, capsys):
    from PIL import Image

    run = tmp_path / "run"
    assert main(["train", "cond-test", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu",
                 "--out", str(run)]) == 0
    side = lambda count: 2 + count * (28 + 2)  # noqa: E731 - images of 28 px, 2 px apart
    grid = Image.open(run / "samples.png")
    assert grid.size == (side(8), side(10))  # 8 latents (one per column) × 10 classes (one per row)
    sampler, _ = ckpt.load_trained_gan(run, device="cpu")
    assert sampler.grid_labels(25)[0].tolist() == [i // 3 for i in range(25)]
    assert main(["sample", str(run), "-n", "30", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == (side(3), side(10))


def test_a_run_keeps_its_class_names_and_sampling_takes_them(conditional_plugin, tmp_path, capsys):
    from PIL import Image

    data = tmp_path / "pets"
    for name in ("cat", "dog"):
        (data / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((28, 28), 30 * i + (100 if name == "dog" else 0), dtype=np.uint8)).save(
                data / name / f"{i}.png")
    run = tmp_path / "run"
    assert main(["train", "cond-test", "--steps", "1", "--data", str(data), "--device", "cpu", "--out", str(run)]) == 0
    assert "2 classes: cat, dog" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["class_names"] == ["cat", "dog"]
    sampler, _ = ckpt.load_trained_gan(run, device="cpu")
    assert sampler.class_names == ("cat", "dog") and sampler.class_indices(["dog", "0"]) == [1, 0]
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "all.png")]) == 0
    assert "a row per class: cat, dog" in capsys.readouterr().out
    assert main(["sample", str(run), "-n", "4", "--class", "dog", "--npz", str(tmp_path / "dogs.npz"),
                 "--out", str(tmp_path / "dogs.png")]) == 0
    assert np.load(tmp_path / "dogs.npz")["labels"].tolist() == [1] * 4
    capsys.readouterr()
    assert main(["sample", str(run), "-n", "4", "--class", "cow", "--out", str(tmp_path / "cow.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--class cow: class 'cow' is not a class name or index: the run's classes are cat, dog"), err
    # Untrusted: a checkpoint's class names are checked like the rest of it.
    payload = ckpt.load_checkpoint(run / "checkpoints/last.pt", resume=True)
    payload["class_names"] = ["cat"]
    ckpt.save_checkpoint(tmp_path / "bad.pt", {k: v for k, v in payload.items() if k != "format"})
    with pytest.raises(ganzoo.errors.CheckpointError, match="'class_names' is not 2 class names"):
        ckpt.load_trained_gan(tmp_path / "bad.pt", device="cpu")
