"""examples/ganzoo-cyclegan (CycleGAN: a translating generator, a second translator and a second
discriminator as further roles, generators and discriminators phases), really pip-installed
into a scratch environment: it writes its second domain, shows its four roles, trains and
resumes bit-exactly for every role, logs its cycle and identity terms, translates a folder of
images, exports, is scored by eval and compare, and passes its own kit, with no change to
ganzoo's core."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ganzoo-cyclegan"
DIST = "ganzoo-cyclegan"
ROLES = {"generator": "cyclegan-resnet", "generator_ab": "cyclegan-resnet",
         "discriminator": "cyclegan-patch", "discriminator_b": "cyclegan-patch"}


@pytest.fixture(scope="module")
def domains(example_env, tmp_path_factory):
    """Domain B written by the package's console script (thickened mnist:test-b digits), and
    domain A, the built-in training digits, as a .npy file (the built-in set is parsed from
    text each time a process loads it: a file saves each run here seconds)."""
    from ganzoo.data import load_images

    root = tmp_path_factory.mktemp("cyclegan-domains")
    script = Path(example_env.python).parent / "ganzoo-cyclegan-domain"
    done = subprocess.run([str(script), str(root / "thick.npy")], env=example_env.environ(), capture_output=True,
                          text=True, check=True)
    assert done.stdout.startswith("wrote 1000 thickened images (1×28×28) of mnist:test-b to ")
    np.save(root / "a.npy", load_images("mnist:train").numpy())
    return root


@pytest.fixture(scope="module")
def common(domains):
    return ["--batch-size", "8", "--data", domains / "a.npy", "--field", f"thick={domains / 'thick.npy'}",
            "--device", "cpu", "--precision", "fp32", "--checkpoint-every", "2", "--log-every", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def resumed(resumed_and_straight, common, tmp_path_factory):
    """2 steps then resumed to 4 (``half``) and 4 steps straight (``once``): the runs' folder
    and what their last checkpoints share."""
    root = tmp_path_factory.mktemp("cyclegan-runs")
    return root, resumed_and_straight("cyclegan", root, *common)


@pytest.fixture(scope="module")
def runs(resumed):
    return resumed[0]


def test_info_shows_the_four_roles_and_the_field(example_env):
    info = json.loads(example_env.ganzoo("info", "cyclegan", "--json", check=True).stdout)
    assert set(info["parameters"]) == set(ROLES)
    assert (info["generator"], info["discriminator"]) == (ROLES["generator"], ROLES["discriminator"])
    assert {role: spec["network"] for role, spec in info["roles"].items()} == {
        "generator_ab": "cyclegan-resnet", "discriminator_b": "cyclegan-patch"}
    assert info["step"] == ["cyclegan-generators", "cyclegan-discriminators"]
    assert info["loss"] == "cyclegan-least-squares"
    assert (info["data_fields"], info["translate_from"]) == (["thick"], "thick")
    assert info["plugin"].endswith(f"({DIST} 0.1.0)")
    assert info["parameters"]["generator"] == info["parameters"]["generator_ab"] < 500_000
    assert info["parameters"]["discriminator"] == info["parameters"]["discriminator_b"] < 100_000


def test_the_domain_script_thickens_the_strokes(example_env, domains):
    import torch

    from ganzoo.data import load_images

    thick = np.load(domains / "thick.npy")
    assert (thick.shape, thick.dtype) == ((1000, 1, 28, 28), np.float32)
    thin = load_images("mnist:test-b")
    assert np.array_equal(thick, torch.nn.functional.max_pool2d(thin, 3, 1, 1).numpy())
    assert thick.min() >= -1 and thick.max() <= 1 and thick.mean() > thin.mean().item() + 0.1  # more ink
    for args, message in ((["x.png"], "x.png: OUT must end in .npy"),
                          (["x.npy", "--source", "mnist:nope"], "unknown built-in MNIST split 'nope'"),
                          ([], "the following arguments are required: OUT.npy")):
        bad = example_env.run("-m", "ganzoo_cyclegan.domain", *args, cwd=domains)
        assert bad.returncode == 2
        [line] = bad.stderr.strip().splitlines()
        assert line.startswith("ganzoo-cyclegan-domain: error: ") and message in line, line


def test_cyclegan_trains_and_resumes_bit_exactly_for_every_role(resumed):
    roles = sorted(ROLES)
    assert resumed[1] == f"4 {roles} {roles} True True True"


def test_metrics_report_the_cycle_and_identity_terms(runs):
    records = [json.loads(line) for line in (runs / "once/metrics.jsonl").read_text().splitlines()]
    training = [r for r in records if "steps_per_sec" in r]
    assert [r["step"] for r in training] == [1, 2, 3, 4]
    for record in training:
        for name in ("g_loss", "cycle_loss", "identity_loss", "d_loss", "d_b_loss"):
            assert math.isfinite(record[name]) and record[name] > 0, (name, record)
    assert training[-1]["cycle_loss"] < training[0]["cycle_loss"]


def test_sample_translates_a_folder_of_images_in_order(example_env, runs, domains, tmp_path):
    from PIL import Image

    folder = tmp_path / "thick-pngs"
    folder.mkdir()
    for i, image in enumerate(np.load(domains / "thick.npy")[:3, 0]):
        Image.fromarray(np.round((image + 1) * 127.5).astype(np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "translated.npy"
    done = example_env.ganzoo("sample", runs / "once", "--input", folder, "--npy", out, "--out", tmp_path / "t.png",
                              check=True)
    assert "translated 3 images (3 images of image folder" in done.stdout
    code = ("import sys, numpy as np; from ganzoo.data import load_images; "
            "from ganzoo.runs.checkpoint import load_trained_gan; "
            "gan, _ = load_trained_gan(sys.argv[1], device='cpu'); got = np.load(sys.argv[3]); "
            "want = gan.draw(load_images(sys.argv[2])).numpy(); "
            "print(got.shape, got.dtype, bool(np.abs(got).max() <= 1), bool(np.abs(got - want).max() < 1e-5))")
    printed = example_env.run("-c", code, runs / "once", folder, out, check=True).stdout
    assert printed.strip() == "(3, 1, 28, 28) float32 True True"


def test_export_takes_images(example_env, runs, tmp_path):
    out = tmp_path / "g.pt2"
    example_env.ganzoo("export", runs / "once", "--format", "pt2", "--out", out, check=True)
    provenance = json.loads(out.with_name(out.name + ".json").read_text())
    assert provenance["inputs"] == [{"name": "images", "dtype": "float32", "shape": ["batch", 1, 28, 28],
                                     "range": [-1, 1], "field": "thick"}]
    assert provenance["run"]["variant"] == "cyclegan" and provenance["run"]["step"] == 4


def test_eval_and_compare_score_the_translations(example_env, runs, domains, common, tmp_path):
    done = example_env.ganzoo("eval", runs / "once", "-n", "100", "--metric", "frechet-distance", "--no-baseline",
                              check=True)
    assert "frechet-distance" in done.stdout
    # --jobs 2 with one run: one CPU thread for it (two fight over a busy 2-core machine).
    example_env.ganzoo("compare", "cyclegan", "--steps", "2", "--seeds", "1", "--eval-samples", "100",
                       "--eval-every", "2", "--jobs", "2", "--precision", "fp32", "--batch-size", "8", "--device",
                       "cpu", "--data", domains / "a.npy", "--field", f"thick={domains / 'thick.npy'}",
                       "--out", tmp_path / "compare", check=True)
    report = json.loads((tmp_path / "compare/report.json").read_text())
    assert list(report["variants"]) == ["cyclegan"]


def test_the_package_passes_its_own_kit_tests(example_kit_passed):
    assert {"test_ganzoo_plugin_loads", "test_ganzoo_generator[cyclegan-resnet-28x28x1]",
            "test_ganzoo_generator[cyclegan-resnet-32x32x3]", "test_ganzoo_discriminator[cyclegan-patch-28x28x1]",
            "test_ganzoo_discriminator[cyclegan-patch-32x32x3]", "test_ganzoo_network[cyclegan-resnet-28x28x1]",
            "test_ganzoo_network[cyclegan-resnet-32x32x3]", "test_ganzoo_network[cyclegan-patch-28x28x1]",
            "test_ganzoo_network[cyclegan-patch-32x32x3]", "test_ganzoo_loss[cyclegan-least-squares]",
            "test_ganzoo_update[cyclegan-generators]", "test_ganzoo_update[cyclegan-discriminators]",
            "test_ganzoo_variant_recipe[cyclegan]", "test_ganzoo_variant_step[cyclegan-28x28x1]",
            "test_ganzoo_variant_step[cyclegan-32x32x3]",
            "test_ganzoo_variant_checkpoint[cyclegan]"} <= example_kit_passed
