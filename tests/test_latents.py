"""Structured latents (``register_latents``): a latent made of named parts, drawn part by part;
``ganzoo sample --code NAME=VALUE`` fixes a part; ``ganzoo export`` takes the parts as named
inputs; and the built-in ``normal`` and ``uniform`` latents draw exactly what they drew before
latents had parts."""

from __future__ import annotations

import json
import re
import types

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import LatentPart, Variant, hookimpl, plugins
from ganzoo.cli import main
from ganzoo.conformance import check_latent
from ganzoo.errors import CompositionError, ConfigError, UnknownNameError
from ganzoo.latent import interpolate_latents, latent_parts, sample_latent
from ganzoo.training.sampling import BatchSampler

PARTS = [LatentPart("noise", "normal"), LatentPart("digit", "categorical", 10), LatentPart("style", "uniform", 2)]
LATENT_DIM = 20  # noise: the 8 values the digit and style codes leave
NOISE, DIGIT, STYLE = slice(0, 8), slice(8, 18), slice(18, 20)
LISTING = "the parts: noise (normal, 8), digit (categorical, 10 classes one-hot), style (uniform, 2)"
SEEN: list[torch.Tensor] = []  # every latent batch the test generator was given


class RecordingGenerator(nn.Module):
    """A small real generator that keeps the latents it is given (to check what sampling used)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.shape = image_shape
        self.linear = nn.Linear(latent_dim, int(np.prod(image_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        SEEN.append(z.detach().clone())
        return self.linear(z).tanh().view(-1, *self.shape)


def register_latents(register):
    register("info-test", PARTS, summary="noise, a digit code and two style codes")
    register("fixed-test", [LatentPart("a", "normal", 3), LatentPart("b", "categorical", 2)])


def register_generators(register):
    register("recording-gen", RecordingGenerator)


def register_variants(register):
    register(Variant(name="info-test", generator="recording-gen", discriminator="mlp", loss="bce",
                     latent_distribution="info-test", latent_dim=LATENT_DIM, batch_size=8))


PLUGIN = types.SimpleNamespace(**{f.__name__: hookimpl(f) for f in (register_latents, register_generators,
                                                                    register_variants)})


@pytest.fixture(scope="module")
def registered():
    plugins.reset()
    plugins.get_host().add_plugin(PLUGIN, "latents-test")
    assert not plugins.get_host().problems
    yield
    plugins.reset()


@pytest.fixture(scope="module")
def run(registered, tmp_path_factory):
    out = tmp_path_factory.mktemp("latents") / "run"
    assert main(["train", "info-test", "--steps", "2", "--log-every", "1", "--out", str(out)]) == 0
    return out


def _sampled(run, tmp_path, *flags: str) -> torch.Tensor:
    """The latents the generator got when ``ganzoo sample RUN FLAGS`` drew its samples."""
    SEEN.clear()
    assert main(["sample", str(run), "--out", str(tmp_path / "grid.png"), *flags]) == 0
    return SEEN[-1]  # after the build probe's batch: the samples'


# -- the built-in latents draw what they drew before parts -----------------------------------


def _sample_latent_before(n, latent_dim, distribution="normal", device="cpu", generator=None, truncation=None):
    """ganzoo.latent.sample_latent as it was before latents had parts (commit b7a77cd)."""
    if distribution == "uniform":
        scale = 1.0 if truncation is None else min(1.0, float(truncation))
        return torch.rand(n, latent_dim, device=device, generator=generator).mul_(2).sub_(1).mul_(scale)
    z = torch.randn(n, latent_dim, device=device, generator=generator)
    if truncation is not None:
        outside = z.abs() > truncation
        while bool(outside.any()):
            z[outside] = torch.randn(int(outside.sum()), device=device, generator=generator)
            outside = z.abs() > truncation
    return z


def _interpolate_before(keyframes, frames, distribution="normal"):
    """ganzoo.latent.interpolate_latents as it was before latents had parts (commit b7a77cd)."""
    t = torch.arange(frames, device=keyframes.device, dtype=keyframes.dtype).div_(frames).unsqueeze(1)
    path = []
    for start, end in zip(keyframes[:-1], keyframes[1:]):
        if distribution == "uniform":
            path.append(torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t))
            continue
        cosine = torch.dot(start, end) / (start.norm() * end.norm()).clamp_min(1e-12)
        angle = torch.arccos(cosine.clamp(-1, 1))
        if float(angle.sin()) < 1e-6:
            path.append(torch.lerp(start.expand(frames, -1), end.expand(frames, -1), t))
            continue
        path.append((torch.sin((1 - t) * angle) * start + torch.sin(t * angle) * end) / angle.sin())
    path.append(keyframes[-1:])
    out = torch.cat(path)
    out[::frames] = keyframes
    return out


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
@pytest.mark.parametrize("truncation", [None, 0.5, 2.0])
def test_builtin_latents_draw_bit_for_bit_what_they_drew_before(distribution, truncation):
    for n, dim, seed in ((1, 1, 0), (64, 100, 1), (7, 50, 123)):
        rng = lambda: torch.Generator().manual_seed(seed)  # noqa: E731
        assert torch.equal(sample_latent(n, dim, distribution, "cpu", rng(), truncation),
                           _sample_latent_before(n, dim, distribution, "cpu", rng(), truncation))
    keys = _sample_latent_before(4, 100, distribution, generator=torch.Generator().manual_seed(2))
    assert torch.equal(interpolate_latents(keys, 5, distribution), _interpolate_before(keys, 5, distribution))


def test_the_training_sampler_draws_the_same_stream_as_before():
    data = torch.zeros(10, 1, 4, 4)
    sampler = BatchSampler(data, 4, 16, seed=7, latent_distribution="uniform")
    rng = torch.Generator().manual_seed(7)
    for _ in range(3):
        assert torch.equal(sampler.latent(4), _sample_latent_before(4, 16, "uniform", generator=rng))


def test_builtin_latents_are_one_part_z_registered_by_the_latents_plugin():
    for name in ("normal", "uniform"):
        spec = ganzoo.get_component("latent", name)
        assert spec.plugin.name == "latents" and spec.plugin.distribution == "ganzoo"
        assert latent_parts(name, 100) == (LatentPart("z", name, 100),)
        check_latent(name)


# -- a plugin's structured latent --------------------------------------------------------------


def test_a_structured_latent_is_drawn_part_by_part_reproducibly(registered):
    check_latent("info-test")
    check_latent("fixed-test")
    draw = lambda: sample_latent(500, LATENT_DIM, "info-test", generator=torch.Generator().manual_seed(4))  # noqa: E731
    z = draw()
    assert z.shape == (500, LATENT_DIM) and torch.equal(z, draw())
    digit = z[:, DIGIT]
    assert torch.equal(digit, torch.nn.functional.one_hot(digit.argmax(1), 10).float())
    assert digit.argmax(1).unique().numel() == 10
    assert z[:, STYLE].abs().max() <= 1 and z[:, NOISE].abs().max() > 1.5  # uniform codes, normal noise
    truncated = sample_latent(500, LATENT_DIM, "info-test", generator=torch.Generator().manual_seed(4), truncation=0.5)
    assert truncated[:, NOISE].abs().max() <= 0.5 and truncated[:, STYLE].abs().max() <= 0.5
    assert torch.equal(truncated[:, DIGIT].sum(1), torch.ones(500))  # classes are never truncated
    sampler = BatchSampler(torch.zeros(10, 1, 4, 4), 8, LATENT_DIM, seed=0, latent_distribution="info-test")
    assert torch.equal(sampler.latent(8)[:, DIGIT].sum(1), torch.ones(8))  # training draws it too


def test_a_plugins_latent_is_listed_and_info_shows_the_parts(registered, capsys):
    assert main(["list", "--components", "--kind", "latent", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["info-test"]["parts"] == [{"name": "noise", "kind": "normal", "size": None},
                                          {"name": "digit", "kind": "categorical", "size": 10},
                                          {"name": "style", "kind": "uniform", "size": 2}]
    assert {"normal", "uniform"} <= set(rows)
    assert main(["info", "info-test", "--kind", "variant", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["latent_distribution"] == "info-test"
    assert [(p["name"], p["size"], p["start"]) for p in info["latent_parts"]] == [
        ("noise", 8, 0), ("digit", 10, 8), ("style", 2, 18)]
    assert main(["info", "info-test", "--kind", "variant"]) == 0
    assert "digit  categorical  10 classes (one-hot)  [8:18]" in capsys.readouterr().out


def test_parts_that_do_not_fit_latent_dim_are_one_line(registered):
    with pytest.raises(CompositionError, match=r"^variant 'info-test': latent 'info-test': the parts of fixed size "
                                               r"\(digit .*, style .*\) take 12 of latent_dim 12 values and leave "
                                               r"none for the rest: set latent_dim above 12$"):
        ganzoo.create_variant("info-test", latent_dim=12)
    with pytest.raises(CompositionError, match=r"latent 'fixed-test': the parts \(a \(normal, 3\), b \(categorical, "
                                               r"2 classes one-hot\)\) are 5 values and latent_dim is 100: set latent_dim = 5"):
        ganzoo.create_variant("vanilla", latent_distribution="fixed-test")
    assert ganzoo.create_variant("vanilla", latent_distribution="fixed-test", latent_dim=5).latent_dim == 5
    with pytest.raises(UnknownNameError, match="unknown latent 'gaussian'"):
        ganzoo.create_variant("vanilla", latent_distribution="gaussian")


@pytest.mark.parametrize("parts, message", [
    ([LatentPart("a", "normal"), LatentPart("a", "uniform", 2)], "two parts are named 'a'; give each part its own name"),
    ([LatentPart("a", "normal"), LatentPart("b", "uniform")],
     "parts 'a' and 'b' both take the rest of latent_dim; give all but one a size"),
    ([], "parts must be a non-empty list of ganzoo.LatentPart, got []"),
    ([("a", "normal", 3)], "parts must be a non-empty list of ganzoo.LatentPart, got [('a', 'normal', 3)]"),
])
def test_a_bad_latent_is_a_plugin_problem_naming_it(parts, message):
    def register_latents(register):
        register("bad", parts)

    host = plugins.PluginHost(strict=False)  # on its own: the process-wide host keeps this module's plugin
    host.add_plugin(types.SimpleNamespace(register_latents=hookimpl(register_latents)), "bad-latents")
    assert [str(p) for p in host.problems] == [f"plugin bad-latents: register_latents: latent 'bad': {message}"]
    assert not host.registry.has_component("latent", "bad")


@pytest.mark.parametrize("args, message", [
    (("no-dash", "normal"), "latent part name must be a Python identifier other than labels and self (it names "
                            "--code NAME=VALUE and an exported generator's input), got 'no-dash'"),
    (("labels", "normal"), "latent part name must be a Python identifier other than labels and self"),
    (("c", "gamma"), "latent part 'c': kind must be one of normal, uniform, categorical, got 'gamma'"),
    (("c", "categorical"), "latent part 'c': a categorical part needs a size (its number of classes)"),
    (("c", "categorical", 1), "latent part 'c': size must be an integer >= 2, got 1"),
    (("c", "normal", 0), "latent part 'c': size must be an integer >= 1, got 0"),
])
def test_a_bad_latent_part_is_one_line(args, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        LatentPart(*args)


# -- ganzoo sample --code --------------------------------------------------------------------


def test_code_fixes_a_categorical_part_in_the_latents_the_generator_gets(run, tmp_path):
    free = _sampled(run, tmp_path, "-n", "16", "--seed", "3")
    fixed = _sampled(run, tmp_path, "-n", "16", "--seed", "3", "--code", "digit=3", "--code", "style=0.5,-0.25",
                     "--npy", str(tmp_path / "s.npy"))
    assert fixed.shape == (16, LATENT_DIM)
    assert torch.equal(fixed[:, DIGIT], torch.nn.functional.one_hot(torch.full((16,), 3), 10).float())
    assert torch.equal(fixed[:, STYLE], torch.tensor([[0.5, -0.25]]).expand(16, 2))
    assert torch.equal(fixed[:, NOISE], free[:, NOISE])  # the other parts are the ones drawn without codes
    assert free[:, DIGIT].argmax(1).unique().numel() > 1
    assert torch.equal(_sampled(run, tmp_path, "-n", "16", "--seed", "3", "--code", "style=1"), _sampled(
        run, tmp_path, "-n", "16", "--seed", "3", "--code", "style=1,1"))  # a number: every value of the part


def test_code_and_truncation_hold_through_an_interpolation(run, tmp_path):
    path = _sampled(run, tmp_path, "--interpolate", "3", "--frames", "4", "-n", "2", "--code", "digit=7",
                    "--truncation", "0.5")
    assert path.shape == (2 * 9, LATENT_DIM)
    assert torch.equal(path[:, DIGIT].argmax(1), torch.full((18,), 7)) and torch.equal(path[:, DIGIT].sum(1), torch.ones(18))
    assert path[:, STYLE].abs().max() <= 0.5
    keys = path.view(2, 9, LATENT_DIM)[:, ::4]
    assert keys[:, :, NOISE].abs().max() <= 0.5  # the keyframes are truncated draws


def test_a_categorical_part_switches_class_half_way_between_keyframes(registered):
    keys = sample_latent(2, LATENT_DIM, "info-test", generator=torch.Generator().manual_seed(0),
                         codes={"digit": 0}).clone()
    keys[1, DIGIT] = torch.nn.functional.one_hot(torch.tensor(5), 10).float()
    path = interpolate_latents(keys, 4, "info-test")
    assert path[:, DIGIT].argmax(1).tolist() == [0, 0, 5, 5, 5]
    assert torch.equal(path[::4], keys)


@pytest.mark.parametrize("code, problem", [
    ("colour=1", "the latent has no part 'colour'"),
    ("digit=10", "part 'digit' is categorical: give a class index 0..9, got 10"),
    ("digit=x", "part 'digit' is categorical: give a class index 0..9, got 'x'"),
    ("style=1,2,3", "part 'style' is uniform with 2 values: give a finite number or 2 comma-separated numbers, "
                    "got [1.0, 2.0, 3.0]"),
    ("style=nan", "part 'style' is uniform with 2 values: give a finite number or 2 comma-separated numbers, got nan"),
    ("digit", "give NAME=VALUE"),
])
def test_a_bad_code_is_one_line_naming_the_flag_and_the_parts(run, tmp_path, capsys, code, problem):
    assert main(["sample", str(run), "--out", str(tmp_path / "g.png"), "--code", code]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.strip() == f"ganzoo sample: error: --code {code}: {problem} ({LISTING})"
    assert not (tmp_path / "g.png").exists()


def test_a_part_fixed_twice_is_one_line(run, tmp_path, capsys):
    assert main(["sample", str(run), "--out", str(tmp_path / "g.png"), "--code", "digit=1", "--code", "digit=2"]) == 2
    assert capsys.readouterr().err.strip() == "ganzoo sample: error: --code digit=2: part 'digit' is fixed twice"


# -- ganzoo export ---------------------------------------------------------------------------


def _parts_inputs(n: int) -> tuple[torch.Tensor, ...]:
    z = sample_latent(n, LATENT_DIM, "info-test", generator=torch.Generator().manual_seed(9))
    return z, (z[:, NOISE], z[:, DIGIT].argmax(1), z[:, STYLE])


@pytest.mark.parametrize("format", ["onnx", "pt2"])
def test_export_takes_a_structured_latent_part_by_part(run, tmp_path, format):
    from ganzoo.export import FORMATS, TOLERANCE
    from ganzoo.runs.checkpoint import load_trained_gan

    out = tmp_path / f"g{FORMATS[format]}"
    assert main(["export", str(run), "--format", format, "--out", str(out)]) == 0
    saved = json.loads(out.with_name(out.name + ".json").read_text())
    assert saved["inputs"] == [
        {"name": "noise", "dtype": "float32", "shape": ["batch", 8], "distribution": "normal"},
        {"name": "digit", "dtype": "int64", "shape": ["batch"], "distribution": "categorical", "classes": 10},
        {"name": "style", "dtype": "float32", "shape": ["batch", 2], "distribution": "uniform"}]
    gan, _ = load_trained_gan(run, device="cpu")
    z, parts = _parts_inputs(5)
    with torch.no_grad():
        want = gan.generator.eval()(z).clamp(-1, 1)
    if format == "onnx":
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        assert [(i.name, i.type) for i in session.get_inputs()] == [
            ("noise", "tensor(float)"), ("digit", "tensor(int64)"), ("style", "tensor(float)")]
        got = torch.from_numpy(session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), parts)})[0])
    else:
        program = torch.export.load(str(out))
        assert tuple(program.graph_signature.user_inputs) == ("noise", "digit", "style")
        got = program.module()(*parts)
    assert got.shape == (5, 1, 28, 28) and (got - want).abs().max() <= TOLERANCE


def test_a_conditional_generator_of_a_structured_latent_exports_its_parts_then_labels(registered, tmp_path):
    from ganzoo import export
    from ganzoo.build import build_generator

    variant = ganzoo.get_variant("cgan").replace(latent_distribution="info-test", latent_dim=LATENT_DIM)
    gan = build_generator(variant, num_classes=10)
    result = export.export_generator(gan, {"step": 0, "variant": variant.to_dict(), "config": {}}, "pt2",
                                     tmp_path / "g.pt2", batch=3)
    assert [i["name"] for i in result.provenance["inputs"]] == ["noise", "digit", "style", "labels"]
    z, parts = _parts_inputs(3)
    labels = torch.tensor([4, 0, 9])
    program = torch.export.load(str(result.path))
    assert tuple(program.graph_signature.user_inputs) == ("noise", "digit", "style", "labels")
    with torch.no_grad():
        want = gan.run("generator", gan.sampling_generator().eval(), z, labels).clamp(-1, 1)
    assert (program.module()(*parts, labels) - want).abs().max() <= export.TOLERANCE
