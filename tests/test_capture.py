"""The fast path (ganzoo.training.capture): which steps can be captured as a CUDA graph, the
fallback to eager, device-side schedules, and — on a GPU — captured against eager, step by step.

The CPU tests cover the logic that runs everywhere; the CUDA tests are skipped without a GPU
(CI has none) and were run on an H100 (benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import types

import pytest
import torch

import ganzoo
from ganzoo import StepState, hookimpl
from ganzoo.benchmarking import ganzoo_step
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.training.capture import StepRunner, capture_blockers, resolve_precision
from ganzoo.training.step import TrainingStep

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")


def _device_free_blockers(gan) -> list[str]:
    return [r for r in capture_blockers(gan) if "CUDA device" not in r]


def _state(step: int, total: int | None = None) -> StepState:
    net = torch.nn.Linear(1, 1)
    return StepState(step=step, total_steps=total, generator=net, discriminator=net,
                     step_tensor=torch.tensor(float(step)))


# -- which steps can be captured (CPU) --------------------------------------------------------

def test_every_builtin_variant_can_be_captured(variant_name):
    gan = ganzoo.create_variant(variant_name, batch_size=2, num_classes=10)  # ignored when unconditional
    if gan.variant.plugin is None or gan.variant.plugin.distribution != "ganzoo":
        pytest.skip("third-party variants may use non-capturable tricks (they then run eagerly)")
    assert _device_free_blockers(gan) == []
    assert any("CUDA device" in r for r in capture_blockers(gan))  # on the CPU: never captured


class _Plain(ganzoo.Trick):
    name = "plain-noise"

    def d_input(self, images, state):
        return images + 0.01 * torch.randn_like(images)


class _Declared(_Plain):
    capturable = True


class _SetupOnly(ganzoo.Trick):
    def setup(self, generator, discriminator):
        generator.tagged = True


def test_a_trick_must_declare_itself_capturable():
    gan = ganzoo.create_variant("vanilla", batch_size=2, tricks={})
    gan.tricks = [_Plain()]
    (reason,) = _device_free_blockers(gan)
    assert "trick 'plain-noise' is not marked capturable (it overrides d_input)" in reason
    gan.tricks = [_Declared(), _SetupOnly()]
    assert _device_free_blockers(gan) == []


def test_r1_is_capturable():
    gan = ganzoo.create_variant("vanilla", tricks={"r1": {"every": 1}})
    assert _device_free_blockers(gan) == []


def test_a_component_can_opt_out_of_capture():
    gan = ganzoo.create_variant("vanilla", batch_size=2)
    gan.loss.capturable = False
    assert _device_free_blockers(gan) == ["loss 'bce' says it is not capturable"]


# -- the runner on the CPU ---------------------------------------------------------------------

def test_runner_on_cpu_is_the_plain_step_bit_for_bit():
    from ganzoo.training.sampling import BatchSampler

    data = torch.rand(64, 1, 28, 28) * 2 - 1
    runner = ganzoo_step("vanilla", 8, torch.device("cpu"), data, total_steps=4, precision="fp32")
    assert runner.mode == "eager" and "CUDA device" in runner.fallback_reason
    by_runner = [runner().as_floats() for _ in range(4)]  # dropout draws from the global RNG
    torch.manual_seed(0)
    gan = ganzoo.create_variant("vanilla", batch_size=8)
    sampler = BatchSampler(data, 8, gan.latent_dim, 0)
    step = TrainingStep(gan, total_steps=4, latent=sampler.latent)
    assert by_runner == [step(sampler.real).as_floats() for _ in range(4)]
    for x, y in zip(runner.step.gan.generator.state_dict().values(), gan.generator.state_dict().values()):
        assert torch.equal(x, y)
    assert runner.step.step == 4 and runner.step.step_tensor.item() == 4.0


def test_graph_on_without_cuda_is_a_one_line_error(tmp_path, capsys):
    data = torch.rand(16, 1, 28, 28)
    with pytest.raises(ConfigError, match="--graph on: cannot capture the vanilla step: CUDA graphs need"):
        ganzoo_step("vanilla", 4, torch.device("cpu"), data, total_steps=1, graph="on")
    with pytest.raises(ConfigError, match="--precision must be one of auto, fp32, bf16"):
        ganzoo_step("vanilla", 4, torch.device("cpu"), data, total_steps=1, precision="fp16")
    with pytest.raises(ConfigError, match="--graph must be one of auto, on, off"):
        StepRunner(TrainingStep(ganzoo.create_variant("vanilla")), lambda: data, graph="yes")
    assert main(["train", "vanilla", "--steps", "1", "--device", "cpu", "--graph", "on",
                 "--out", str(tmp_path / "r"), "--data", "mnist:test-b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganzoo train: error: --graph on: cannot capture") and "\n" not in err
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_bf16_on_the_cpu_trains_and_resumes_bit_for_bit(tmp_path):
    from ganzoo.runs import checkpoint as ckpt

    common = ["--batch-size", "8", "--device", "cpu", "--data", "mnist:test-b", "--precision", "bf16",
              "--checkpoint-every", "3", "--log-every", "1"]
    assert main(["train", "vanilla", "--steps", "3", "--out", str(tmp_path / "half"), *common]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "6"]) == 0
    assert main(["train", "vanilla", "--steps", "6", "--out", str(tmp_path / "once"), *common]) == 0
    a = ckpt.load_checkpoint(tmp_path / "half/checkpoints/last.pt")
    b = ckpt.load_checkpoint(tmp_path / "once/checkpoints/last.pt")
    assert a["config"]["precision"] == "bf16" and a["step"] == b["step"] == 6
    for key, value in a["state"]["networks"]["generator"].items():
        assert torch.equal(value, b["state"]["networks"]["generator"][key]), key
    records = [json.loads(line) for line in (tmp_path / "once/metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["g_loss"])) for r in records)
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("probes, native", [({"_is_avx512_bf16_supported": True}, True),
                                            ({"_is_amx_tile_supported": True}, True),
                                            ({"_is_avx512_bf16_supported": False, "_is_amx_tile_supported": False}, False),
                                            ({}, False)])  # an older torch without the probes
def test_native_bf16_is_read_from_the_cpu_probes(monkeypatch, probes, native):
    from ganzoo.training import capture

    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.delattr(torch.cpu, name, raising=False)
    for name, value in probes.items():
        monkeypatch.setattr(torch.cpu, name, lambda value=value: value, raising=False)
    assert capture.cpu_has_native_bf16() is native


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_on_cpus_with_native_bf16(monkeypatch, native):
    from ganzoo.training import capture

    monkeypatch.setattr(capture, "cpu_has_native_bf16", lambda: native)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_precision("auto", cpu) == ("bf16" if native else "fp32")
    assert resolve_precision("auto", cuda) == "fp32"  # TF32 matrix products already
    assert [resolve_precision(p, d) for p in ("fp32", "bf16") for d in (cpu, cuda)] == ["fp32", "fp32", "bf16", "bf16"]


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_runs_the_training_step_under_autocast_or_not(monkeypatch, tmp_path, capsys, native):
    """A run left at the default precision trains in bf16 exactly where that is native, says
    so when it starts, and records both the setting and what it resolved to."""
    from ganzoo.training import capture

    monkeypatch.setattr(capture, "cpu_has_native_bf16", lambda: native)
    dtypes = []
    gan_forward = torch.nn.Linear.forward

    def spy(self, x):
        out = gan_forward(self, x)
        if torch.is_grad_enabled():  # not the build-time probe of the networks (no_grad)
            dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    assert main(["train", "vanilla", "--steps", "1", "--batch-size", "4", "--device", "cpu",
                 "--out", str(tmp_path / "r"), "--data", "mnist:test-b", "--sample-every", "1000"]) == 0
    expected = torch.bfloat16 if native else torch.float32
    assert dtypes and dtypes[0] == expected  # the first forward is the training step's
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["train"]["precision"] == "auto"
    assert config["step_mode"]["precision"] == ("bf16" if native else "fp32")
    captured = capsys.readouterr()
    assert ("bf16 autocast (auto: this CPU has native bf16" in captured.out + captured.err) is native


def test_run_folder_records_how_the_step_ran(tmp_path):
    assert main(["train", "vanilla", "--steps", "2", "--batch-size", "4", "--device", "cpu",
                 "--out", str(tmp_path / "r"), "--data", "mnist:test-b"]) == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["step_mode"]["mode"] == "eager" and "CUDA" in config["step_mode"]["eager_because"]
    assert config["train"]["graph"] == "auto" and config["train"]["precision"] == "auto"
    assert config["step_mode"]["precision"] == resolve_precision("auto", torch.device("cpu"))


def test_step_counter_tensor_follows_the_python_counter():
    step = TrainingStep(ganzoo.create_variant("vanilla", batch_size=4, tricks={}))
    data = torch.rand(16, 1, 28, 28)
    for _ in range(3):
        step(lambda: data[:4])
    assert step.step == 3 and step.step_tensor.item() == 3.0 and not step.nonfinite.item()
    step.set_position(1000, {"discriminator": 1000, "generator": 1000})
    assert step.step_tensor.item() == 1000.0


# -- schedules follow the step's one clock --------------------------------------------------------

@pytest.mark.parametrize("step", [0, 7, 500, 999, 5000])
def test_instance_noise_follows_the_step_clock(step):
    """One schedule, computed from the step's clock tensor (the same eagerly and captured)."""
    from ganzoo_plugins.tricks.noise import InstanceNoise

    trick = InstanceNoise(sigma=0.2, anneal_steps=1000)
    images = torch.zeros(4, 1, 8, 8)
    noisy = trick.d_input(images, _state(step))
    expected_sigma = 0.2 * max(0.0, 1 - step / 1000)
    assert trick.sigma_at(step) == pytest.approx(expected_sigma, abs=1e-7)
    assert noisy.std().item() == pytest.approx(expected_sigma, rel=0.35, abs=1e-6)


@pytest.mark.parametrize("step", [0, 3, 50, 20000])
def test_ema_warmup_follows_the_step_clock(step):
    from ganzoo_plugins.tricks.averaging import GeneratorEMA

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 3)
    trick = GeneratorEMA(decay=0.99)
    trick.setup(net, net)
    before = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    trick.after_g_step(net, _state(step))
    decay = min(0.99, (1 + step) / (10 + step))
    assert trick.decay_at(step) == pytest.approx(decay)
    torch.testing.assert_close(trick.ema.weight, before + (1 - decay) * 1.0)


def test_a_step_state_always_has_its_clock():
    net = torch.nn.Linear(1, 1)
    state = StepState(step=7, total_steps=None, generator=net, discriminator=net)
    assert state.step_tensor is not None and float(state.step_tensor) == 7.0


# -- captured against eager on a GPU ------------------------------------------------------------

def _weights(runner) -> list[torch.Tensor]:
    gan = runner.step.gan
    tensors = [*gan.generator.state_dict().values(), *gan.discriminator.state_dict().values()]
    for trick in gan.tricks:
        module = trick.sampling_generator()
        if module is not None:
            tensors += list(module.state_dict().values())
    return [t.detach().float().cpu() for t in tensors]


def _data() -> torch.Tensor:
    return torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1


@pytest.fixture
def deterministic(monkeypatch):
    """Deterministic kernels: cuDNN's atomics otherwise make two identical runs differ by
    rounding, which Adam amplifies into ±lr steps on weights whose gradient is near zero."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    yield
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = benchmark


def _run(variant, graph, steps=8, batch=64, **kw):
    data = _data()
    runner = ganzoo_step(variant, batch, torch.device("cuda"), data, total_steps=steps, graph=graph, **kw)
    runner.initial_weights = _weights(runner)
    losses = [runner().as_floats() for _ in range(steps)]
    return runner, losses


def assert_same_training(reference, reference_losses, runner, losses) -> None:
    """Losses agree step by step, and the weights' difference is tiny next to how far training
    moved them. Even with deterministic algorithms some cuDNN kernels differ by rounding between
    two identical eager runs, and Adam turns that into ±lr on weights whose gradient is near zero,
    so an element-wise tolerance would test the kernels, not the capture; a wrong random stream,
    a frozen schedule or a missed update each move the weights as much as training does."""
    for i, (a, b) in enumerate(zip(reference_losses, losses)):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=2e-3, abs=1e-5), (i, key, a, b)
    diff = moved = 0.0
    for start, a, b in zip(reference.initial_weights, _weights(reference), _weights(runner)):
        diff += (a - b).double().square().sum().item()
        moved += (a - start).double().square().sum().item()
    assert moved > 0 and (diff / moved) ** 0.5 < 0.01, (diff / moved) ** 0.5


@needs_cuda
def test_captured_step_matches_eager_for_every_variant(variant_name, deterministic):
    eager, eager_losses = _run(variant_name, "off")
    graphed, graphed_losses = _run(variant_name, "auto")
    if graphed.mode != "graph":
        pytest.skip(f"{variant_name} runs eagerly: {graphed.fallback_reason}")
    assert graphed.step.step == eager.step.step == 8
    assert graphed.step.updates_of("discriminator") == eager.step.updates_of("discriminator")
    assert_same_training(eager, eager_losses, graphed, graphed_losses)


class _SyncsOnTheHost(ganzoo.Trick):
    """Claims to be capturable but reads a tensor on the host: capture fails, eager takes over."""

    name = "host-sync"
    capturable = True

    def d_loss_term(self, real, fake, state):
        return real.new_tensor(0.0) * float(real.mean())


@needs_cuda
def test_failed_capture_falls_back_to_eager_with_the_same_results(fresh_plugins, deterministic):
    plugin = types.SimpleNamespace(register_tricks=hookimpl(lambda register: register("host-sync", _SyncsOnTheHost)))
    fresh_plugins.get_host().add_plugin(plugin, "host-sync-test")
    notices: list[str] = []
    data = _data()

    def build(graph):
        return ganzoo_step("dcgan", 64, torch.device("cuda"), data, total_steps=8, graph=graph,
                           notify=notices.append, tricks={"host-sync": {}})

    reference = build("off")
    reference.initial_weights = _weights(reference)
    ref_losses = [reference().as_floats() for _ in range(8)]
    runner = build("auto")
    losses = [runner().as_floats() for _ in range(8)]
    assert runner.mode == "eager" and "capture failed" in runner.fallback_reason
    assert len(notices) == 1 and notices[0].startswith("ganzoo: running the dcgan step eagerly: capture failed")
    assert_same_training(reference, ref_losses, runner, losses)


@needs_cuda
def test_non_capturable_trick_runs_eagerly_with_a_notice(tmp_path, fresh_plugins, capsys):
    plugin = types.SimpleNamespace(register_tricks=hookimpl(lambda register: register("plain-noise", _Plain)))
    fresh_plugins.get_host().add_plugin(plugin, "plain-noise-test")
    assert main(["train", "vanilla", "--steps", "6", "--trick", "plain-noise", "--device", "cuda",
                 "--out", str(tmp_path / "r"), "--data", "mnist:test-b"]) == 0
    captured = capsys.readouterr()
    assert "running the vanilla step eagerly: trick 'plain-noise' is not marked capturable" in captured.err
    assert json.loads((tmp_path / "r" / "config.json").read_text())["step_mode"]["mode"] == "eager"


@needs_cuda
@pytest.mark.parametrize("variant", ["vanilla", "dcgan", "wgan-gp"])
def test_bf16_and_channels_last_steps_train(variant):
    runner, losses = _run(variant, "auto", steps=10, precision="bf16", channels_last=True)
    assert runner.mode == "graph"
    assert all(torch.isfinite(torch.tensor(list(row.values()))).all() for row in losses)
    assert losses[-1] != losses[-2]  # replays really step


@needs_cuda
def test_graph_training_resumes_where_it_stopped(tmp_path, deterministic):
    out = tmp_path / "r"
    common = ["--device", "cuda", "--data", "mnist:test-b", "--log-every", "5", "--checkpoint-every", "10"]
    assert main(["train", "wgan-gp", "--steps", "10", "--out", str(out), *common]) == 0
    assert main(["train", "--resume", str(out), "--steps", "20", "--device", "cuda"]) == 0
    once = tmp_path / "once"
    assert main(["train", "wgan-gp", "--steps", "20", "--out", str(once), *common]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    from ganzoo.runs import checkpoint as ckpt

    a = ckpt.load_checkpoint(out / "checkpoints/last.pt")
    b = ckpt.load_checkpoint(once / "checkpoints/last.pt")
    assert a["step"] == b["step"] == 20 and a["updates"] == b["updates"] == {"discriminator": 100, "generator": 20}
    for key, value in a["state"]["networks"]["generator"].items():  # 20 steps: allow ±2·lr where a gradient is ~0
        torch.testing.assert_close(value.float(), b["state"]["networks"]["generator"][key].float(), rtol=1e-3, atol=1e-3)


@needs_cuda
def test_lazy_r1_phase_stays_captured_and_matches_eager(deterministic):
    """Lazy R1 as a phase: one graph for steps with it and one without, replayed on schedule,
    training exactly as the eager step does."""
    phases = [ganzoo.Phase("discriminator"), ganzoo.Phase("generator"),
              ganzoo.Phase("lazy-r1", every=4, params={"gamma": 1.0})]
    eager, eager_losses = _run("dcgan", "off", steps=12, phases=phases)
    graphed, graphed_losses = _run("dcgan", "on", steps=12, phases=phases)
    assert graphed.mode == "graph" and graphed.graphs == 2
    assert graphed.step.updates == eager.step.updates == {"discriminator": 12, "generator": 12, "lazy-r1": 3}
    assert [("r1_penalty" in row) for row in graphed_losses] == [s % 4 == 0 for s in range(12)]
    assert_same_training(eager, eager_losses, graphed, graphed_losses)
