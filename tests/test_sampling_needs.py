"""``ganzoo sample``/``eval`` of a run need only what sampling uses: the generator and the
tricks that provide the sampling generator (EMA). Two really pip-installed packages: one
provides a generator, the other a discriminator and the variant using both. Uninstalling the
second leaves the run sampleable; uninstalling the first gives one line naming the
distribution and version the run recorded."""

from __future__ import annotations

import json

import pytest

from ganzoo.testing import ScratchEnv, write_plugin_package

PACKAGES = {
    "ganzoo-tiny-gen": ("0.2", """
        from ganzoo import hookimpl

        def tiny_generator(image_shape, latent_dim):
            import math
            from torch import nn

            return nn.Sequential(nn.Linear(latent_dim, math.prod(image_shape)), nn.Tanh(),
                                 nn.Unflatten(1, tuple(image_shape)))

        @hookimpl
        def register_generators(register):
            register("tiny-gen", tiny_generator, summary="one dense layer")
    """),
    "ganzoo-sn-critic": ("0.3", """
        from ganzoo import Variant, hookimpl

        def sn_cnn(image_shape):
            import math
            from torch import nn

            return nn.Sequential(nn.Flatten(), nn.utils.parametrizations.spectral_norm(
                nn.Linear(math.prod(image_shape), 1)))

        @hookimpl
        def register_discriminators(register):
            register("sn-cnn", sn_cnn, summary="a spectrally normalised linear critic")

        @hookimpl
        def register_variants(register):
            register(Variant(name="sn-gan", generator="tiny-gen", discriminator="sn-cnn", loss="bce",
                             tricks={"ema": {"decay": 0.5}}, summary="needs both packages"))
    """),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sampling-needs")
    env = ScratchEnv(root / "env", env={"OMP_NUM_THREADS": "1"})
    env.install(*(write_plugin_package(root / "src", name, source, version)
                  for name, (version, source) in PACKAGES.items()))
    run = root / "run"
    result = env.ganzoo("train", "sn-gan", "--steps", "2", "--batch-size", "4", "--data", "mnist:test-b",
                        "--out", run)
    assert result.returncode == 0, result.stderr
    yield env, run
    env.remove()


def test_sampling_needs_neither_the_discriminator_nor_the_variant_plugin(trained, tmp_path, cli_code):
    env, run = trained
    components = json.loads((run / "config.json").read_text())["versions"]["components"]
    assert {(c["kind"], c["name"]): c["sampling"] for c in components} == {
        ("generator", "tiny-gen"): True, ("discriminator", "sn-cnn"): False, ("loss", "bce"): False,
        ("trick", "ema"): True, ("update", "discriminator"): False, ("update", "generator"): False,
        ("latent", "normal"): True}
    env.uninstall("ganzoo-sn-critic")
    # `ganzoo sample`, then `ganzoo eval`, in one process (it stops at the first that fails).
    done = env.run("-c", cli_code(["sample", run, "-n", "4", "--npy", tmp_path / "s.npy", "--out", tmp_path / "s.png"],
                                  ["eval", run, "-n", "8", "--no-baseline", "--metric", "coverage", "--json"]))
    assert done.returncode == 0, done.stderr
    assert "sn-cnn" not in done.stderr
    assert (tmp_path / "s.npy").is_file() and '"coverage' in done.stdout


def test_a_missing_generator_plugin_names_the_package_to_install(trained, tmp_path):
    env, run = trained
    env.uninstall("ganzoo-tiny-gen")
    result = env.ganzoo("sample", run, "-n", "4", "--out", tmp_path / "s.png")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "generator 'tiny-gen'" in lines[0] and "ganzoo-tiny-gen 0.2" in lines[0]
