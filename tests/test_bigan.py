"""The proof that contract v2 holds another shape of GAN: examples/ganzoo-bigan (an encoder
role, a discriminator on (image, latent) pairs, its own phases), really pip-installed into a
scratch environment, trains, resumes bit-exactly, benchmarks, passes the kit and scores its
encoder, with no change to ganzoo's core."""

from __future__ import annotations

import json
from pathlib import Path


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ganzoo-bigan"
DIST = "ganzoo-bigan"


def test_info_counts_every_role(example_env):
    info = json.loads(example_env.ganzoo("info", "bigan", "--json", check=True).stdout)
    assert set(info["parameters"]) == {"generator", "discriminator", "encoder"}
    assert info["step"] == ["bigan-discriminator", "bigan-generator-encoder"]
    assert info["plugin"].endswith(f"({DIST} 0.1.0)")


def test_bigan_trains_and_resumes_bit_exactly(example_env, resumed_and_straight, tmp_path):
    common = ["--batch-size", "8", "--data", "mnist:test-b", "--device", "cpu", "--precision", "fp32",
              "--checkpoint-every", "2", "--seed", "3"]
    roles = ['discriminator', 'encoder', 'generator']
    assert resumed_and_straight("bigan", tmp_path, *common) == f"4 {roles} {roles} True True True"
    scores = json.loads(example_env.run("-m", "ganzoo_bigan.evaluate", tmp_path / "once", "--json",
                                        check=True).stdout)
    assert scores["step"] == 4 and all(0 <= scores[k] <= 1 for k in ("encoder", "untrained_encoder", "pixels"))
    assert scores["pixels"] > 0.8  # 1-NN on raw digits: the yardstick works


def test_bench_measures_bigan(example_env):
    rows = json.loads(example_env.ganzoo("bench", "bigan", "--steps", "1", "--warmup", "0", "--batch-size", "4",
                                         "--json", check=True).stdout)
    assert rows[0]["variant"] == "bigan" and rows[0]["steps_per_sec"] > 0 and rows[0]["ratio_vs_plain"] > 0


def test_the_package_passes_its_own_kit_tests(example_kit_passed):
    assert {"test_ganzoo_plugin_loads", "test_ganzoo_network[bigan-encoder-28x28x1]",
            "test_ganzoo_discriminator[bigan-joint-32x32x3]", "test_ganzoo_update[bigan-discriminator]",
            "test_ganzoo_update[bigan-generator-encoder]", "test_ganzoo_variant_step[bigan-28x28x1]",
            "test_ganzoo_variant_checkpoint[bigan]"} <= example_kit_passed


def test_tricks_its_updates_never_call_are_refused_before_the_run_folder(example_env, tmp_path):
    # Regression: BiGAN's updates call only real_input and the gradient/step points, so
    # diffaugment (d_input) and label smoothing (labels) trained as no-ops and exited 0.
    # `ganzoo train` (ganzoo.cli.main) for both tricks in one process: each one's exit status and stderr.
    code = ("import contextlib, io, json, sys; from ganzoo.cli import main; outcomes = {}\n"
            "for trick, out in zip(sys.argv[1::2], sys.argv[2::2]):\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        code = main(['train', 'bigan', '--trick', trick, '--steps', '1', '--out', out])\n"
            "    outcomes[trick] = (code, err.getvalue())\n"
            "print(json.dumps(outcomes))")
    tricks = ("diffaugment", "label-smoothing")
    printed = example_env.run("-c", code, *(arg for trick in tricks for arg in (trick, tmp_path / trick)),
                              check=True).stdout
    outcomes = json.loads(printed.strip().splitlines()[-1])
    for trick in tricks:
        returncode, stderr = outcomes[trick]
        assert returncode == 2
        [line] = stderr.strip().splitlines()
        assert f"variant 'bigan': trick {trick!r} acts at" in line and "no update of this step calls" in line
        assert not (tmp_path / trick).exists()
