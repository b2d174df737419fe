"""Generators that translate images (``register_generators(..., inputs=("image",))``): a variant
names the data field they translate (``translate_from``); training batches, sample grids,
``sample`` (``--input``), ``eval``, ``export``, the kit and bench draw their inputs from it
instead of latents, and every way of asking a translator for a latent setting is one line."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.conformance import check_checkpoint_round_trip, check_export, check_generator, check_variant_step
from ganzoo.errors import ConfigError, GanzooError


class Inverter(nn.Module):
    """A translator small enough for a test: a 3×3 convolution and tanh."""

    def __init__(self, image_shape):
        super().__init__()
        self.conv = nn.Conv2d(image_shape[0], image_shape[0], 3, padding=1)

    def forward(self, images):
        return torch.tanh(self.conv(images))


def _variant(**changes):
    settings = dict(name="invert", generator="inverter", discriminator="dcgan", loss="bce", batch_size=8,
                    data_fields=("inverted",), translate_from="inverted", steps=4)
    return ganzoo.Variant(**{**settings, **changes})


@pytest.fixture
def translator(fresh_plugins):
    def register_generators(register):
        register("inverter", Inverter, inputs=("image",), summary="one convolution")

    def register_variants(register):
        register(_variant())
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_generators=hookimpl(register_generators), register_variants=hookimpl(register_variants)),
        "translation-test")


@pytest.fixture
def inverted(tmp_path):
    """The second domain: 200 held-out digits, inverted, as a .npy file."""
    from ganzoo.data import load_images

    path = tmp_path / "inverted.npy"
    np.save(path, (-load_images("mnist:test-a", limit=200)).numpy())
    return path


def test_a_translator_is_built_probed_and_checked_by_the_kit_on_images(translator):
    spec = ganzoo.get_registry().component("generator", "inverter")
    assert spec.translates and spec.inputs == ("image",)
    assert not ganzoo.get_registry().component("generator", "dcgan").translates
    check_generator("inverter", (1, 28, 28))
    check_export("inverter", formats=("pt2",))
    gan = check_variant_step("invert")
    assert gan.translates and gan.sources is not None
    check_checkpoint_round_trip("invert")


@pytest.mark.parametrize("changes, message", [
    ({"translate_from": ""}, "generator 'inverter' translates images: set translate_from to the data field"),
    ({"generator": "dcgan"}, "translate_from='inverted' and generator 'dcgan' takes latents, not images"),
])
def test_a_translator_and_its_field_go_together(translator, changes, message):
    with pytest.raises(GanzooError, match=message):
        ganzoo.create_variant(_variant(**changes))


def test_translate_from_names_a_data_field_and_registration_checks_inputs(fresh_plugins):
    with pytest.raises(ConfigError, match="translate_from must name one of its data_fields \\(inverted\\), got 'x'"):
        _variant(translate_from="x")

    def register_generators(register):
        register("bad", Inverter, inputs=("image",), conditional=True)
    host = fresh_plugins.get_host()
    host.add_plugin(types.SimpleNamespace(register_generators=hookimpl(register_generators)), "bad")
    fresh_plugins.get_registry()
    assert any("generator 'bad': conditional must be True or False (and a generator of images cannot be "
               "conditional)" in str(problem) for problem in host.problems), host.problems


def test_train_sample_eval_and_export_a_translating_run(translator, inverted, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "invert", "--data", "mnist:test-b", "--field", f"inverted={inverted}", "--steps", "3",
                 "--device", "cpu", "--precision", "fp32", "--out", str(run)]) == 0
    grid = json.loads((run / "config.json").read_text())
    assert grid["variant"]["translate_from"] == "inverted"
    assert (run / "samples.png").is_file()
    from ganzoo.images import read_png

    assert read_png(run / "samples.png").shape[1] > read_png(run / "samples.png").shape[0]  # input|output pairs
    capsys.readouterr()
    # The images of a folder, in order, each beside its translation.
    folder = tmp_path / "folder"
    folder.mkdir()
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((28, 28), 40 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "translated.npy"
    assert main(["sample", str(run), "--input", str(folder), "--npy", str(out), "--out", str(tmp_path / "t.png")]) == 0
    assert "translated 3 images (3 images of" in capsys.readouterr().out
    from ganzoo.runs.checkpoint import load_trained_gan

    gan, _ = load_trained_gan(run)
    firsts = torch.stack([torch.full((1, 28, 28), 40 * i / 127.5 - 1) for i in range(3)])
    assert np.allclose(np.load(out), gan.draw(firsts).numpy(), atol=1e-5)
    # Without --input: drawn from the field the run trained on, reproducibly.
    assert main(["sample", str(run), "-n", "5", "--npy", str(tmp_path / "a.npy")]) == 0
    assert main(["sample", str(run), "-n", "5", "--npy", str(tmp_path / "b.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    assert main(["eval", str(run), "-n", "50", "--metric", "frechet-distance", "--no-baseline"]) == 0
    assert main(["export", str(run), "--format", "pt2", "--out", str(tmp_path / "g.pt2")]) == 0
    provenance = json.loads((tmp_path / "g.pt2.json").read_text())
    assert provenance["inputs"] == [{"name": "images", "dtype": "float32", "shape": ["batch", 1, 28, 28],
                                     "range": [-1, 1], "field": "inverted"}]
    program = torch.export.load(str(tmp_path / "g.pt2")).module()
    assert torch.allclose(program(firsts), gan.draw(firsts), atol=1e-4)


@pytest.mark.parametrize("flags, message", [
    (["--truncation", "0.5"], "--truncation: the run's variant 'invert' translates images of field 'inverted'; "
                              "it has no latent or class to set"),
    (["--interpolate", "3"], "--interpolate: the run's variant 'invert' translates images"),
    (["--code", "z=1"], "--code: the run's variant 'invert' translates images"),
    (["--input", "nowhere.npy"], "nowhere.npy"),
])
def test_latent_settings_and_missing_inputs_are_one_line(translator, inverted, tmp_path, capsys, flags, message):
    run = tmp_path / "run"
    assert main(["train", "invert", "--data", "mnist:test-b", "--field", f"inverted={inverted}", "--steps", "1",
                 "--device", "cpu", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_input_on_a_latent_run_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "vanilla", "--steps", "1", "--device", "cpu", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), "--input", "mnist:test-a"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--input mnist:test-a: the run's variant 'vanilla' draws from latents" in err[0], err
