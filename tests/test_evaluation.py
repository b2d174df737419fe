"""Tests of ganzoo.evaluation: the shipped digit classifier, the metrics and the reference baseline."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganzoo.data.builtin import builtin_mnist
from ganzoo.errors import DataError
from ganzoo.errors import GanzooError
from ganzoo.evaluation.classifier import (
    WEIGHTS_FILE,
    WEIGHTS_SHA256,
    DigitClassifier,
    deterministic,
    get_digit_classifier,
    load_weights,
    save_weights,
    train_digit_net,
    weights_sha256,
)
from ganzoo.evaluation.metrics import (
    classifier_score,
    frechet_distance,
    mode_coverage,
    precision_recall,
    two_sample_accuracy,
)
from ganzoo.evaluation.evaluate import evaluate_images
from ganzoo.evaluation.reference import reference_images


@pytest.fixture(scope="session")
def classifier() -> DigitClassifier:
    return get_digit_classifier()


@pytest.fixture(scope="session")
def real_a() -> torch.Tensor:
    return reference_images("mnist:test-a")


@pytest.fixture(scope="session")
def real_b() -> torch.Tensor:
    return reference_images("mnist:test-b")


@pytest.fixture(scope="session")
def noise(real_b) -> torch.Tensor:
    return torch.rand(real_b.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.fixture(scope="session")
def outputs(classifier, real_a, real_b, noise) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(features, probabilities) of each image set."""
    return {name: (classifier.features(x), classifier.probabilities(x)) for name, x in
            {"a": real_a, "b": real_b, "noise": noise}.items()}


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    k = torch.arange(-2, 3, dtype=torch.float32)
    k = torch.exp(-(k**2) / (2 * sigma**2))
    k = k / k.sum()
    return F.conv2d(F.pad(images, (2, 2, 2, 2), value=-1.0), (k[:, None] * k[None, :])[None, None])


# ---------------------------------------------------------------------------------- classifier


def test_classifier_accuracy_and_identity(classifier: DigitClassifier, real_a: torch.Tensor) -> None:
    assert classifier.name == "ganzoo-digit-cnn-v1"
    assert len(classifier.weights_sha256) == 64
    assert classifier.test_accuracy >= 0.97
    labels = torch.from_numpy(builtin_mnist("test-a")[1])
    probs = classifier.probabilities(real_a)
    assert probs.shape == (1000, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(1000))
    measured = float((probs.argmax(1) == labels).float().mean())
    assert measured == pytest.approx(classifier.test_accuracy, abs=1e-6)
    assert sum(p.numel() for p in classifier.net.parameters()) < 300_000


def test_classifier_input_conversion(classifier: DigitClassifier, real_a: torch.Tensor) -> None:
    x = real_a[:200]
    features = classifier.features(x)
    assert features.shape == (200, 128) and features.dtype == torch.float32
    # Gray replicated to RGB is the same image after luminance conversion.
    torch.testing.assert_close(classifier.features(x.repeat(1, 3, 1, 1)), features, atol=1e-4, rtol=1e-4)
    # uint8 input is rescaled like the built-in data.
    raw = torch.from_numpy(builtin_mnist("test-a")[0][:200])
    torch.testing.assert_close(classifier.features(raw), features)
    # Other sizes are resized to 28×28; digits stay recognisable.
    big = F.interpolate(x, size=(56, 56), mode="bilinear", align_corners=False)
    labels = torch.from_numpy(builtin_mnist("test-a")[1][:200])
    assert float((classifier.probabilities(big).argmax(1) == labels).float().mean()) >= 0.9
    # Batching does not change the results.
    torch.testing.assert_close(classifier.features(x, batch_size=7), features)
    with pytest.raises(ValueError):
        classifier.features(torch.zeros(4, 2, 28, 28))


def test_classifier_is_memoised(classifier: DigitClassifier) -> None:
    assert get_digit_classifier() is classifier


def test_training_is_deterministic() -> None:
    first = weights_sha256(train_digit_net(epochs=1, limit=256).state_dict())
    threads = torch.get_num_threads()
    torch.manual_seed(123)  # the caller's global state must not matter
    torch.set_num_threads(2)
    try:
        second = weights_sha256(train_digit_net(epochs=1, limit=256).state_dict())
    finally:
        torch.set_num_threads(threads)
    assert first == second
    assert weights_sha256(train_digit_net(epochs=1, limit=256, seed=1).state_dict()) != first


def test_deterministic_context_restores_global_state() -> None:
    threads, flag = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with deterministic(0):
        torch.rand(100)
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.rand(3), expected)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == (threads, flag)


# ---------------------------------------------------------------------------------- shipped weights


def test_the_shipped_weights_are_the_ones_every_score_names(classifier: DigitClassifier, tmp_path) -> None:
    # The file in the package hashes to the constant in the code, and that is what every
    # evaluation reports, on any machine: nothing is trained on first use.
    stored = load_weights(WEIGHTS_FILE)
    assert stored.sha256 == WEIGHTS_SHA256 == weights_sha256(stored.state_dict)
    assert classifier.weights_sha256 == WEIGHTS_SHA256 and stored.test_accuracy == classifier.test_accuracy
    assert weights_sha256(classifier.net.state_dict()) == WEIGHTS_SHA256
    # Saving what was loaded reproduces the same hash in a fresh file, and no temp file is left.
    assert save_weights(tmp_path / "copy.pt", stored.state_dict, test_accuracy=0.5, train_seconds=0.0) == WEIGHTS_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.pt"]


def test_damaged_or_foreign_weights_are_refused_in_one_line(tmp_path) -> None:
    payload = torch.load(WEIGHTS_FILE, weights_only=True)
    payload["state_dict"]["head.bias"] = payload["state_dict"]["head.bias"] + 1.0  # hash left as it was
    torch.save(payload, tmp_path / "tampered.pt")
    with pytest.raises(GanzooError, match=r"tampered\.pt: damaged digit-classifier weights \(its weights hash to"):
        load_weights(tmp_path / "tampered.pt")
    (tmp_path / "truncated.pt").write_bytes(WEIGHTS_FILE.read_bytes()[:5000])
    with pytest.raises(GanzooError, match=r"truncated\.pt: damaged digit-classifier weights"):
        load_weights(tmp_path / "truncated.pt")
    # Consistent in itself, but not ganzoo's: other weights are another instrument.
    retrained = train_digit_net(epochs=1, limit=128).state_dict()
    save_weights(tmp_path / "other.pt", retrained, test_accuracy=0.5, train_seconds=0.0)
    assert load_weights(tmp_path / "other.pt").sha256 == weights_sha256(retrained)
    with pytest.raises(GanzooError, match=r"not ganzoo's 1154aab43c04…\); reinstall ganzoo"):
        load_weights(tmp_path / "other.pt", WEIGHTS_SHA256)
    with pytest.raises(GanzooError, match="weights are missing"):
        load_weights(tmp_path / "absent.pt")


# ---------------------------------------------------------------------------------- metrics


def test_real_vs_real_scores_near_the_good_end(classifier, real_b) -> None:
    report = evaluate_images(real_b)
    values = {row["metric"]: row["value"] for row in report.rows}
    assert values["coverage.classes"] == 10
    assert values["frechet-distance"] < 5.0
    assert values["classifier-score"] > 9.0
    assert values["precision-recall.precision"] > 0.8 and values["precision-recall.recall"] > 0.8
    assert 0.38 <= values["two-sample"] <= 0.62
    # The baseline column is the same computation on the same real digits.
    assert all(row["real_vs_real"] == row["value"] for row in report.rows)
    assert evaluate_images(real_b).to_dict() == report.to_dict()  # same inputs, same numbers


def test_noise_vs_real(outputs, real_a, noise) -> None:
    (feats_a, _), (feats_b, _), (feats_n, probs_n) = outputs["a"], outputs["b"], outputs["noise"]
    real_fd = frechet_distance(feats_a, feats_b)
    assert frechet_distance(feats_a, feats_n) > 20 * real_fd
    precision, _ = precision_recall(feats_a, feats_n)
    assert precision < 0.1
    assert classifier_score(probs_n) < 2.0
    assert two_sample_accuracy(feats_a[:500], feats_n[:500]) >= 0.95


def test_two_sample_test_is_sensitive(classifier, real_a, real_b) -> None:
    feats_a = classifier.features(real_a[:600])
    noisy = (real_b + 0.6 * torch.randn(real_b.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    assert two_sample_accuracy(feats_a, classifier.features(noisy[:600])) > 0.7
    assert two_sample_accuracy(feats_a, classifier.features(_blur(real_b[:600], 1.5))) > 0.7
    assert two_sample_accuracy(feats_a, classifier.features(real_b[:600])) < 0.62


def test_single_repeated_digit(classifier, real_b) -> None:
    labels = torch.from_numpy(builtin_mnist("test-b")[1])
    one_seven = real_b[labels == 7][:1].repeat(500, 1, 1, 1)
    covered, histogram = mode_coverage(classifier.probabilities(one_seven))
    assert covered == 1 and histogram[7] == 500 and sum(histogram) == 500
    assert classifier_score(classifier.probabilities(one_seven)) == pytest.approx(1.0, abs=1e-6)
    report = evaluate_images(one_seven, metrics=["coverage", "precision-recall"], baseline=False)
    _, recall = precision_recall(classifier.features(reference_images()), classifier.features(one_seven))
    assert report.value("coverage.classes") == 1 and report.value("precision-recall.recall") == recall < 0.05


def test_metrics_are_deterministic(outputs) -> None:
    (feats_a, _), (feats_b, probs_b) = outputs["a"], outputs["b"]
    assert frechet_distance(feats_a, feats_b) == frechet_distance(feats_a, feats_b)
    assert precision_recall(feats_a, feats_b) == precision_recall(feats_a, feats_b)
    assert classifier_score(probs_b) == classifier_score(probs_b)
    first = two_sample_accuracy(feats_a[:300], feats_b[:300], seed=3)
    assert two_sample_accuracy(feats_a[:300], feats_b[:300], seed=3) == first


def test_provenance_next_to_every_number(classifier, noise) -> None:
    report = evaluate_images(noise[:200], seed=5, source="noise")
    assert report.provenance["extractor_sha256"] == classifier.weights_sha256
    for row in report.rows:
        assert row["extractor"] == classifier.name and row["extractor_sha256"] == classifier.weights_sha256
        assert row["reference"] == "mnist:test-a" and row["num_samples"] == 200 and row["seed"] == 5
        assert row["better"] in ("lower", "higher") and "real_vs_real" in row
    assert report.value("coverage.classes") <= 1 and report.value("two-sample") > 0.95


def test_frechet_distance_properties(outputs) -> None:
    feats_a, feats_b = outputs["a"][0], outputs["b"][0]
    assert frechet_distance(feats_a, feats_a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(feats_a, feats_b) == pytest.approx(frechet_distance(feats_b, feats_a), rel=1e-6)
    assert frechet_distance(feats_a.numpy(), feats_b) == frechet_distance(feats_a, feats_b)

    # Agrees with the textbook formula using scipy's sqrtm.
    from scipy import linalg

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 16)), rng.normal(1.0, 2.0, size=(300, 16)) @ rng.normal(size=(16, 16))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :8])


def test_classifier_score_and_coverage_edge_cases() -> None:
    one_hot = torch.eye(10).repeat(30, 1)
    assert classifier_score(one_hot) == pytest.approx(10.0, rel=1e-9)
    assert classifier_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0)
    skewed = torch.cat([torch.eye(10)[[0] * 97], torch.eye(10)[[1] * 3]])
    assert mode_coverage(skewed) == (1, [97, 3] + [0] * 8)
    assert mode_coverage(skewed, min_fraction=0.03)[0] == 2
    with pytest.raises(ValueError):
        classifier_score(torch.randn(5, 10))  # logits, not probabilities


def test_precision_recall_toy_sets() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    assert precision_recall(real, real) == (1.0, 1.0)
    far = real + 100.0
    assert precision_recall(real, far) == (0.0, 0.0)
    # A fake set covering only half of the real distribution: precise but with poor recall.
    plane = rng.normal(size=(500, 2))
    half = plane[plane[:, 0] > 0]
    precision, recall = precision_recall(plane, half)
    assert precision == 1.0 and 0.4 < recall < 0.6


# ---------------------------------------------------------------------------------- reference


def test_reference_images() -> None:
    images = reference_images()
    assert images.shape == (1000, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() == -1.0 and images.max() == 1.0
    images.zero_()  # a copy: the cached set is untouched
    assert reference_images().max() == 1.0
    assert not torch.equal(reference_images("mnist:test-a"), reference_images("mnist:test-b"))
    with pytest.raises(DataError):
        reference_images("mnist:nope")


def test_package_import_is_lazy() -> None:
    # Only ganzoo.evaluation's own imports are checked (the parent package is not under test here).
    code = (
        "import sys, ganzoo; before = 'torch' in sys.modules; import ganzoo.evaluation as e; "
        "assert before or 'torch' not in sys.modules; assert callable(e.frechet_distance)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------- CLI and trainer


def test_eval_cli_json_on_a_sample_file(tmp_path, real_b, capsys) -> None:
    import json

    from ganzoo.cli import main
    from ganzoo.images import save_images_npy

    save_images_npy(real_b[:300], tmp_path / "s.npy")
    capsys.readouterr()
    # In this process (the console script's entry point); the exit status of a real `ganzoo eval`
    # process is checked by test_eval_cli_rejects_bad_sample_files_in_one_line.
    code = main(["eval", str(tmp_path / "s.npy"), "--json", "--metric", "coverage", "--metric", "frechet-distance"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads(printed.out)
    assert report["provenance"]["num_samples"] == 300 and report["provenance"]["reference"] == "mnist:test-a"
    assert {row["metric"] for row in report["metrics"]} == {"coverage.classes", "coverage.histogram",
                                                             "frechet-distance"}


@pytest.mark.parametrize("content, message", [
    (b"not numpy", "bad.npy"),
    (None, "no such file"),
])
def test_eval_cli_rejects_bad_sample_files_in_one_line(tmp_path, content, message) -> None:
    path = tmp_path / "bad.npy"
    if content is not None:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_eval_rejects_nan_samples() -> None:
    with pytest.raises(DataError, match="NaN"):
        evaluate_images(torch.full((10, 1, 28, 28), float("nan")))


def test_train_eval_every_appends_metrics(tmp_path, classifier) -> None:
    import json

    from ganzoo.training.config import TrainConfig
    from ganzoo.training.trainer import Trainer

    config = TrainConfig(variant="vanilla", steps=4, recipe={"batch_size": 4}, out=str(tmp_path / "run"),
                         eval_every=2, eval_samples=64, data="mnist:test-b")
    Trainer(config).run()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]
    rows = {row["metric"]: row for row in evals[0]["eval"]["metrics"]}
    assert rows["coverage.classes"]["num_samples"] == 64
    assert rows["frechet-distance"]["extractor_sha256"] == classifier.weights_sha256


def test_train_eval_doubling_scores_at_doubling_steps(tmp_path, classifier, capsys) -> None:
    from ganzoo.cli import main
    from ganzoo.runs.rundir import RunDir

    scored = tmp_path / "scored.toml"
    scored.write_text("eval_samples = 64\n")  # the default 1,000 only takes longer to score
    assert main(["train", "vanilla", "--config", str(scored), "--steps", "13", "--batch-size", "4", "--eval-every", "3",
                 "--eval-doubling", "--log-every", "50", "--out", str(tmp_path / "run")]) == 0
    assert [r["step"] for r in RunDir(tmp_path / "run").read_metrics() if "eval" in r] == [3, 6, 12]
