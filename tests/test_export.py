"""``ganzoo export``: every built-in variant's sampling generator round-trips through onnxruntime
and ``torch.export.load``; what is exported is what ``ganzoo sample`` draws from; a failing or
unfaithful export writes nothing; a missing extra is one line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import onnxruntime
import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import export
from ganzoo.build import build_generator
from ganzoo.cli import main
from ganzoo.conformance import KIT_CLASSES, check_export
from ganzoo.runs.checkpoint import load_checkpoint, load_trained_gan


def _run_file(format: str, path: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The exported model run by its runtime, independently of ganzoo.export's own check."""
    if format == "pt2":
        return torch.export.load(str(path)).module()(*inputs)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {arg.name: t.numpy() for arg, t in zip(session.get_inputs(), inputs)})[0])


def _sampling_inputs(gan, n: int) -> tuple[torch.Tensor, ...]:
    z = gan.sample_latent(n, generator=torch.Generator().manual_seed(5))
    return (z, torch.arange(n) % gan.num_classes) if gan.conditional else (z,)


@pytest.mark.parametrize("format", ["onnx", "pt2"])
def test_every_variant_exports_what_sampling_draws_from(variant_name, format, tmp_path):
    variant = ganzoo.get_variant(variant_name)
    registry = ganzoo.get_registry()
    classes = KIT_CLASSES if registry.conditioned_roles(variant) else None
    gan = build_generator(variant, num_classes=classes)
    averaged = [t for t in gan.tricks if t.sampling_generator() is not None]
    for trick in averaged:  # averaged weights that differ from the trained ones: which one is exported?
        with torch.no_grad():
            for p in trick.sampling_generator().parameters():
                p.add_(0.05 * torch.randn_like(p))
    payload = {"step": 3, "variant": variant.to_dict(), "config": {"seed": 0}}
    result = export.export_generator(gan, payload, format, tmp_path / f"g{export.FORMATS[format]}")
    assert result.max_abs_diff <= export.TOLERANCE
    inputs = _sampling_inputs(gan, 5)
    net = gan.sampling_generator().eval()
    with torch.no_grad():
        expected = gan.run("generator", net, *inputs[:1], inputs[1] if len(inputs) > 1 else None).clamp(-1, 1)
        raw = gan.run("generator", gan.generator.eval(), *inputs[:1], inputs[1] if len(inputs) > 1 else None)
    got = _run_file(format, result.path, inputs)
    assert got.shape == (5, *gan.image_shape)
    assert (got - expected).abs().max() <= export.TOLERANCE
    if averaged:
        assert (got - raw).abs().max() > 1e-3, "the export must hold the averaged (EMA) weights"
    saved = json.loads(export.provenance_path(result.path).read_text())
    assert saved["check"]["max_abs_diff"] == result.max_abs_diff
    assert [i["name"] for i in saved["inputs"]] == (["z", "labels"] if gan.conditional else ["z"])


def test_every_generator_passes_the_kits_export_check(generator_name):
    check_export(generator_name)


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", "cgan", "--steps", "2", "--out", str(out), "--log-every", "1"]) == 0
    return out


def test_cli_exports_a_run_with_a_fixed_batch_and_its_provenance(conditional_run, capsys):
    assert main(["export", str(conditional_run), "--format", "pt2", "--batch", "3"]) == 0
    path = conditional_run / "generator.pt2"
    assert "largest difference from ganzoo" in capsys.readouterr().out
    saved = json.loads(Path(f"{path}.json").read_text())
    payload = load_checkpoint(conditional_run / "checkpoints" / "last.pt")
    assert saved["run"]["step"] == 2 and saved["run"]["variant"] == "cgan"
    assert saved["run"]["config_sha256"] == export.config_hash(payload)
    assert saved["run"]["weights"].startswith("averaged weights of trick 'ema'")
    assert saved["output"]["shape"] == [3, 1, 28, 28] and saved["check"]["batches"] == [3]
    assert saved["inputs"][1]["classes"] == [str(c) for c in range(10)]
    gan, _ = load_trained_gan(conditional_run, device="cpu")
    inputs = _sampling_inputs(gan, 3)
    with torch.no_grad():
        want = gan.run("generator", gan.sampling_generator().eval(), inputs[0], inputs[1]).clamp(-1, 1)
    assert (_run_file("pt2", path, inputs) - want).abs().max() <= export.TOLERANCE


def test_cli_onnx_export_has_a_dynamic_batch_and_a_label_input(conditional_run, tmp_path):
    out = tmp_path / "cgan.onnx"
    assert main(["export", str(conditional_run / "checkpoints" / "last.pt"), "--format", "onnx",
                 "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("z", "tensor(float)"), ("labels", "tensor(int64)")]
    saved = json.loads(Path(f"{out}.json").read_text())
    assert saved["opset"] == export.ONNX_OPSET and saved["output"]["shape"][0] == "batch"
    gan, _ = load_trained_gan(conditional_run, device="cpu")
    for n in (2, 33):
        inputs = _sampling_inputs(gan, n)
        assert _run_file("onnx", out, inputs).shape == (n, 1, 28, 28)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_a_missing_extra_is_one_line_naming_it(conditional_run, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    out = conditional_run / "missing.onnx"
    assert main(["export", str(conditional_run), "--format", "onnx", "--out", str(out)]) == 2
    assert _one_line(capsys) == ("ganzoo export: error: --format onnx needs onnxruntime, which is not installed: "
                                 "pip install 'ganzoo[export]'")
    assert not out.exists()


def test_a_wrong_suffix_or_batch_is_one_line(conditional_run, capsys):
    assert main(["export", str(conditional_run), "--format", "onnx", "--out", "x.pt2"]) == 2
    assert _one_line(capsys) == "ganzoo export: error: --out x.pt2: onnx exports are written as .onnx files"
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(conditional_run), "--format", "pt2", "--batch", "0"])
    assert exit_info.value.code == 2
    assert "--batch: invalid batch '0'" in _one_line(capsys)


def test_an_unfaithful_export_writes_nothing(tmp_path, monkeypatch):
    run_file = export._run_exported
    monkeypatch.setattr(export, "_run_exported", lambda *a: run_file(*a) + 1e-2)
    net = nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Unflatten(1, (3, 2, 2)))
    target = tmp_path / "g.pt2"
    with pytest.raises(export.ExportError, match=r"differs from ganzoo's output by 0\.01 .*nothing written"):
        export.export_module(export.SamplingModule(net, False), 4, None, "pt2", target)
    assert list(tmp_path.iterdir()) == []  # no file, no scratch folder


class _DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.linear(z)
        if out.sum() > 0:  # Python control flow on data: torch.export cannot capture it
            out = -out
        return out.tanh().view(-1, 1, 2, 2)


def test_the_kit_names_a_generator_that_cannot_be_exported(tmp_path):
    with pytest.raises(export.ExportError, match="cannot be exported as pt2"):
        export.export_module(export.SamplingModule(_DataDependent(), False), 4, None, "pt2", tmp_path / "g.pt2")
    assert list(tmp_path.iterdir()) == []
