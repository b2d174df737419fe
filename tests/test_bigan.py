"""The proof that contract v2 holds another shape of GAN: examples/ganzoo-bigan (an encoder
role, a discriminator on (image, latent) pairs, its own phases), really pip-installed into a
scratch environment, trains, resumes bit-exactly, benchmarks, passes the kit and scores its
encoder, with no change to ganzoo's core."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ganzoo.testing import ScratchEnv

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ganzoo-bigan"
DIST = "ganzoo-bigan"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    scratch = ScratchEnv(tmp_path_factory.mktemp("bigan") / "env", env={"OMP_NUM_THREADS": "1"})
    [source] = scratch.install(EXAMPLE)
    yield scratch, source
    scratch.remove()


@pytest.fixture(scope="module")
def env(installed):
    return installed[0]


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_info_counts_every_role(env):
    info = json.loads(_ok(env.ganzoo("info", "bigan", "--json")).stdout)
    assert set(info["parameters"]) == {"generator", "discriminator", "encoder"}
    assert info["step"] == ["bigan-discriminator", "bigan-generator-encoder"]
    assert info["plugin"].endswith(f"({DIST} 0.1.0)")


def test_bigan_trains_and_resumes_bit_exactly(env, tmp_path):
    common = ["--batch-size", "8", "--data", "mnist:test-b", "--device", "cpu", "--precision", "fp32",
              "--checkpoint-every", "2", "--seed", "3"]
    _ok(env.ganzoo("train", "bigan", "--steps", "2", "--out", tmp_path / "half", *common))
    _ok(env.ganzoo("train", "--resume", tmp_path / "half", "--steps", "4"))
    _ok(env.ganzoo("train", "bigan", "--steps", "4", "--out", tmp_path / "once", *common))
    code = ("import sys, torch; from ganzoo.runs.checkpoint import load_checkpoint as load; "
            "a, b = (load(p, resume=True) for p in sys.argv[1:]); "
            "same = all(torch.equal(v, b['state']['networks'][r][k]) for r, n in a['state']['networks'].items() for k, v in n.items()); "
            "print(sorted(a['state']['networks']), a['updates'] == b['updates'], same)")
    out = _ok(env.run("-c", code, tmp_path / "half/checkpoints/last.pt", tmp_path / "once/checkpoints/last.pt")).stdout
    assert out.strip() == "['discriminator', 'encoder', 'generator'] True True"
    scores = json.loads(_ok(env.run("-m", "ganzoo_bigan.evaluate", tmp_path / "once", "--json")).stdout)
    assert scores["step"] == 4 and all(0 <= scores[k] <= 1 for k in ("encoder", "untrained_encoder", "pixels"))
    assert scores["pixels"] > 0.8  # 1-NN on raw digits: the yardstick works


def test_bench_measures_bigan(env):
    rows = json.loads(_ok(env.ganzoo("bench", "bigan", "--steps", "1", "--warmup", "0", "--batch-size", "4",
                                     "--json")).stdout)
    assert rows[0]["variant"] == "bigan" and rows[0]["steps_per_sec"] > 0 and rows[0]["ratio_vs_plain"] > 0


def test_the_package_passes_its_own_kit_tests(installed):
    env, source = installed
    result = env.run("-m", "pytest", "-v", "-p", "no:cacheprovider", "tests", cwd=source)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = {line.split(" ")[0].split("::")[-1] for line in result.stdout.splitlines() if " PASSED" in line}
    assert {"test_ganzoo_plugin_loads", "test_ganzoo_network[bigan-encoder-28x28x1]",
            "test_ganzoo_discriminator[bigan-joint-32x32x3]", "test_ganzoo_update[bigan-discriminator]",
            "test_ganzoo_update[bigan-generator-encoder]", "test_ganzoo_variant_step[bigan-28x28x1]",
            "test_ganzoo_variant_checkpoint[bigan]"} <= passed
    assert " SKIPPED" not in result.stdout
