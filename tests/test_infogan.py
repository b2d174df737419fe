"""examples/ganzoo-infogan (InfoGAN: a structured latent registered by a plugin, a Q role built
on the discriminator's body, a mutual-information phase), really pip-installed into a scratch
environment: it shows its roles and latent parts, trains and resumes bit-exactly, logs
mi_accuracy, samples with a fixed code, exports one input per latent part, scores its codes and
passes its own kit, with no change to ganzoo's core."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ganzoo-infogan"
DIST = "ganzoo-infogan"
PARTS = [("noise", "normal", 62, 0), ("digit", "categorical", 10, 62), ("style", "uniform", 2, 72)]
COMMON = ["--batch-size", "8", "--data", "mnist:test-b", "--device", "cpu", "--precision", "fp32",
          "--checkpoint-every", "2", "--log-every", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def resumed(resumed_and_straight, tmp_path_factory):
    """2 steps then resumed to 4 (``half``) and 4 steps straight (``once``): the runs' folder
    and what their last checkpoints share."""
    root = tmp_path_factory.mktemp("infogan-runs")
    return root, resumed_and_straight("infogan", root, *COMMON)


@pytest.fixture(scope="module")
def runs(resumed):
    return resumed[0]


def test_info_shows_the_q_role_and_the_latent_parts(example_env):
    info = json.loads(example_env.ganzoo("info", "infogan", "--json", check=True).stdout)
    assert set(info["parameters"]) == {"generator", "discriminator", "q"}
    assert info["roles"]["q"]["network"] == "infogan-q" and info["roles"]["q"]["base"] == "discriminator"
    assert info["step"] == ["discriminator", "generator", "infogan-mi"]
    assert info["latent_distribution"] == "infogan-mnist"
    assert [(p["name"], p["kind"], p["size"], p["start"]) for p in info["latent_parts"]] == PARTS
    assert info["plugin"].endswith(f"({DIST} 0.1.0)")
    # Q counts only its head: D's body is the discriminator's (Role(base=...)).
    assert 0 < info["parameters"]["q"] < 1_000_000


def test_infogan_trains_and_resumes_bit_exactly(resumed):
    roles = ['discriminator', 'generator', 'q']
    assert resumed[1] == f"4 {roles} {roles} True True True"


def test_metrics_report_the_mutual_information_terms(runs):
    records = [json.loads(line) for line in (runs / "once/metrics.jsonl").read_text().splitlines()]
    training = [r for r in records if "steps_per_sec" in r]
    assert [r["step"] for r in training] == [1, 2, 3, 4]
    for record in training:
        assert 0 <= record["mi_accuracy"] <= 1
        assert math.isfinite(record["mi_categorical_loss"]) and record["mi_categorical_loss"] > 0
        assert math.isfinite(record["mi_continuous_loss"]) and record["mi_continuous_loss"] >= 0


def test_sample_fixes_the_digit_code_and_refuses_a_bad_one_in_one_line(example_env, runs, tmp_path, cli_code):
    run = runs / "once"
    # Both `ganzoo sample` commands in one process of the scratch environment.
    example_env.run("-c", cli_code(*(["sample", run, "--code", f"digit={digit}", "-n", "8", "--npy",
                                      tmp_path / f"d{digit}.npy", "--out", tmp_path / f"d{digit}.png"]
                                     for digit in (3, 5))), check=True)
    import numpy as np

    a, b = np.load(tmp_path / "d3.npy"), np.load(tmp_path / "d5.npy")
    assert (a.shape, a.dtype, bool(np.abs(a).max() <= 1)) == ((8, 1, 28, 28), np.float32, True)
    assert np.abs(a - b).max() > 0  # same noise and style, another code
    bad = example_env.ganzoo("sample", run, "--code", "digit=10", "--out", tmp_path / "bad.png")
    assert bad.returncode == 2
    [line] = bad.stderr.strip().splitlines()
    assert line.startswith("ganzoo sample: error: --code digit=10: part 'digit' is categorical: give a class "
                           "index 0..9, got 10 (the parts: noise (normal, 62), digit (categorical, 10 classes")
    assert not (tmp_path / "bad.png").exists()


def test_export_takes_the_latent_parts_as_inputs(example_env, runs, tmp_path, cli_code):
    import importlib.util

    # The scratch environment is layered over this one: it has the export extra when this one does.
    if not all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript", "onnxruntime")):
        pytest.skip("the export extra (onnx, onnxscript, onnxruntime) is not installed: pip install 'ganzoo[export]'")
    out = tmp_path / "g.onnx"
    # `ganzoo export`, then, in the same process, the exported graph run against the generator.
    code = cli_code(["export", runs / "once", "--format", "onnx", "--out", out]) + (
            "import sys, torch, onnxruntime; from ganzoo.runs.checkpoint import load_trained_gan; "
            "s = onnxruntime.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider']); "
            "gan, _ = load_trained_gan(sys.argv[2], device='cpu'); "
            "z = gan.sample_latent(5, generator=torch.Generator().manual_seed(1), codes={'digit': 3}); "
            "parts = (z[:, :62], z[:, 62:72].argmax(1), z[:, 72:]); "
            "got = torch.from_numpy(s.run(None, {i.name: t.numpy() for i, t in zip(s.get_inputs(), parts)})[0]); "
            "want = gan.generator.eval()(z).clamp(-1, 1).detach(); "
            "print([(i.name, i.type) for i in s.get_inputs()], tuple(got.shape), bool((got - want).abs().max() < 1e-4))")
    printed = example_env.run("-c", code, out, runs / "once", check=True).stdout.strip().splitlines()[-1]
    saved = json.loads(out.with_name(out.name + ".json").read_text())
    assert [(i["name"], i["dtype"], i["shape"]) for i in saved["inputs"]] == [
        ("noise", "float32", ["batch", 62]), ("digit", "int64", ["batch"]), ("style", "float32", ["batch", 2])]
    assert printed == ("[('noise', 'tensor(float)'), ('digit', 'tensor(int64)'), ('style', 'tensor(float)')] "
                       "(5, 1, 28, 28) True")


def test_the_code_evaluation_scores_a_run(example_env, runs):
    scores = json.loads(example_env.run("-m", "ganzoo_infogan.evaluate", runs / "once", "--per-code", "3", "--json",
                                        check=True).stdout)
    assert scores["step"] == 4 and scores["code"] == "digit" and len(scores["codes"]) == 10
    assert all(0 <= scores[k] <= 1 for k in ("purity", "matched_accuracy", "q_accuracy", "untrained_q_accuracy"))


def test_the_package_passes_its_own_kit_tests(example_kit_passed):
    assert {"test_ganzoo_plugin_loads", "test_ganzoo_network[infogan-q-28x28x1]",
            "test_ganzoo_network[infogan-q-32x32x3]", "test_ganzoo_update[infogan-mi]",
            "test_ganzoo_latent[infogan-mnist]", "test_ganzoo_variant_recipe[infogan]",
            "test_ganzoo_variant_step[infogan-28x28x1]", "test_ganzoo_variant_step[infogan-32x32x3]",
            "test_ganzoo_variant_checkpoint[infogan]"} <= example_kit_passed
