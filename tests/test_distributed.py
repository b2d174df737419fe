"""Distributed training on CPU with gloo: 2 processes launched by torchrun on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from ganzoo import get_variant, list_variants
from ganzoo.runs import checkpoint as ckpt

# A BatchNorm-free, dropout-free, noise-free recipe: 2 ranks × B must equal 1 process × 2B.
PLAIN = ["wgan-clip", "--generator", "mlp", "--discriminator", "dcgan-critic", "--critic-steps", "2"]
# fp32 pinned: two ranks and one process sum a batch's gradients in a different order, and bf16
# autocast (--precision auto on CPUs with native bf16) would turn that into visible differences.
COMMON = ["--data", "mnist:test-b", "--log-every", "1", "--sample-every", "1000", "--dist-timeout", "60",
          "--precision", "fp32"]


def failure(result: subprocess.CompletedProcess) -> str:
    """The lines that say why a torchrun failed (its summary alone names only the exit code)."""
    keys = ("Error", "error", "terminate", "Abort", "Traceback")
    return "\n".join(line for line in result.stderr.splitlines() if any(k in line for k in keys))[-3000:]


def torchrun(*args: str, nproc: int = 2, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "ganzoo", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    return result


def ganzoo(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, timeout=timeout)


def weights(run) -> dict[str, torch.Tensor]:
    state = ckpt.load_checkpoint(run / "checkpoints" / "last.pt")["state"]
    return {f"{role}.{k}": v for role, net in state["networks"].items() for k, v in net.items()}


def test_two_ranks_match_one_process_with_the_double_batch(tmp_path):
    two = ganzoo("train", *PLAIN, "--steps", "3", "--batch-size", "4", "--nproc", "2",
                 "--out", str(tmp_path / "two"), *COMMON)
    assert two.returncode == 0, failure(two)
    one = ganzoo("train", *PLAIN, "--steps", "3", "--batch-size", "8", "--out", str(tmp_path / "one"), *COMMON)
    assert one.returncode == 0, failure(one)
    payload = ckpt.load_checkpoint(tmp_path / "two" / "checkpoints" / "last.pt")
    assert payload["world_size"] == 2
    first, second = payload["rank_fingerprints"]
    assert first == second  # every rank holds identical weights
    a, b = weights(tmp_path / "two"), weights(tmp_path / "one")
    # RMSprop divides by the running gradient scale, so summation-order rounding in the gradient
    # all-reduce can move a rare near-zero-gradient weight by ~1e-5; typical differences are 1e-7.
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-3, msg=key)
        assert (a[key] - b[key]).abs().mean() < 1e-6, key
    # Only rank 0 wrote logs: one line per logged step.
    lines = (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3


def test_two_rank_resume_is_exact_and_checkpoints_cross_over(tmp_path):
    args = ["vanilla", "--batch-size", "4", *COMMON]  # dropout: each rank's RNG must be restored too
    full = torchrun("train", *args, "--steps", "4", "--out", str(tmp_path / "full"))
    assert full.returncode == 0, failure(full)
    half = torchrun("train", *args, "--steps", "2", "--out", str(tmp_path / "half"))
    assert half.returncode == 0, failure(half)
    resumed = torchrun("train", "--resume", str(tmp_path / "half"), "--steps", "4")
    assert resumed.returncode == 0, failure(resumed)
    a, b = weights(tmp_path / "full"), weights(tmp_path / "half")
    assert all(torch.equal(a[k], b[k]) for k in a), "2-rank resume is not exact"

    # A distributed checkpoint continues in one process, and samples from it...
    single = ganzoo("train", "--resume", str(tmp_path / "half"), "--steps", "5")
    assert single.returncode == 0, failure(single)
    sampled = ganzoo("sample", str(tmp_path / "half"), "-n", "4")
    assert sampled.returncode == 0, failure(sampled)
    # ...and a single-process checkpoint continues under two ranks.
    back = torchrun("train", "--resume", str(tmp_path / "half"), "--steps", "6")
    assert back.returncode == 0, failure(back)
    assert ckpt.load_checkpoint(tmp_path / "half" / "checkpoints" / "last.pt")["step"] == 6


BUILTIN = [name for name in list_variants() if get_variant(name).plugin.distribution == "ganzoo"]


def _two_rank_run(tmp_path, *args: str) -> dict:
    result = torchrun("train", *args, "--batch-size", "4", "--steps", "2", "--out", str(tmp_path / "run"), *COMMON)
    assert result.returncode == 0, failure(result)
    payload = ckpt.load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", resume=True)
    first, second = payload["rank_fingerprints"]
    assert first == second  # every role's weights identical on both ranks
    assert len(first) == len(payload["state"]["networks"])
    return payload


@pytest.mark.parametrize("variant", BUILTIN)
def test_every_builtin_variant_trains_on_two_ranks(variant, tmp_path):
    """Every phase and trick under DDP, the gradient penalty's double backward included."""
    _two_rank_run(tmp_path, variant)


def test_the_lazy_r1_phase_under_ddp(tmp_path):
    config = tmp_path / "lazy.toml"
    config.write_text('variant = "dcgan"\n[recipe]\nphases = [{update = "discriminator"}, {update = "generator"}, '
                      '{update = "lazy-r1", every = 2}]\n')
    payload = _two_rank_run(tmp_path, "--config", str(config))
    assert payload["updates"] == {"discriminator": 2, "generator": 2, "lazy-r1": 1}


def test_a_crashing_rank_stops_the_run_instead_of_hanging(tmp_path):
    """Rank 1 raises at step 2 (a plugin trick, made installable with a bare dist-info)."""
    site = tmp_path / "site"
    (site / "crashplug-0.1.dist-info").mkdir(parents=True)
    (site / "crashplug-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: crashplug\nVersion: 0.1\n")
    (site / "crashplug-0.1.dist-info" / "entry_points.txt").write_text("[ganzoo]\ncrash = crashplug\n")
    (site / "crashplug.py").write_text(textwrap.dedent("""
        import ganzoo

        class Crash(ganzoo.Trick):
            def after_d_step(self, discriminator, state):
                import torch.distributed as dist
                if state.step == 2 and dist.is_initialized() and dist.get_rank() == 1:
                    raise RuntimeError("rank 1 crashes on purpose")

        @ganzoo.hookimpl
        def register_tricks(register):
            register("crash", Crash)
    """))
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    start = time.monotonic()
    result = torchrun("train", "vanilla", "--batch-size", "4", "--steps", "50", "--trick", "crash",
                      "--out", str(tmp_path / "crash"), *COMMON, env=env, timeout=200)
    assert result.returncode != 0
    assert "rank 1 crashes on purpose" in result.stderr
    assert time.monotonic() - start < 180


def test_sync_batchnorm_needs_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = torchrun("train", "dcgan", "--sync-batchnorm", "--steps", "1", "--batch-size", "2",
                      "--out", str(tmp_path / "sbn"), *COMMON)
    assert result.returncode != 0
    assert "--sync-batchnorm needs CUDA" in result.stderr
