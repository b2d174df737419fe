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
                                check_variant_step, labelled_batch)
from ganzoo.errors import CompositionError, ConfigError
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training.step import TrainingStep


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
    for flag, message in (("12", "class 12 is out of range"), ("three", "--class three: give class indices")):
        assert main(["sample", str(run), "-n", "2", "--class", flag, "--out", str(tmp_path / "t.png")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert main(["train", "vanilla", "--steps", "1", "--data", "mnist:test-b", "--device", "cpu", "--batch-size", "8",
                 "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "plain"), "-n", "2", "--class", "1", "--out", str(tmp_path / "u.png")]) == 2
    assert "is not conditional" in capsys.readouterr().err


def test_class_flag_gives_equal_blocks():
    from ganzoo.cli.train import _class_blocks

    assert _class_blocks("3,5", 6) == [3, 3, 3, 5, 5, 5] and _class_blocks("7", 3) == [7, 7, 7]
    assert _class_blocks(None, 4) is None


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
