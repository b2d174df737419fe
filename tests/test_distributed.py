"""Distributed training on CPU with gloo: 2 processes launched by torchrun on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from ganzoo import get_variant, list_variants
from ganzoo.cli import main
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
    # The one-process run in this process (the same entry point, no second torch import).
    assert main(["train", *PLAIN, "--steps", "3", "--batch-size", "8", "--out", str(tmp_path / "one"), *COMMON]) == 0
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


BUILTIN = [name for name in list_variants() if get_variant(name).plugin.distribution == "ganzoo"]

# Every rank runs `ganzoo train` (ganzoo.cli.main, the console script's entry point) once per job, one
# after another, under a single torchrun: each job joins a fresh process group and leaves it at its
# end, as a torchrun of its own would, without paying for a launcher, two torch imports and two data
# loads per job. Each rank writes every job's exit status and stderr, then goes on to the next job.
# torch names a re-created default group "0" again, and its rendezvous keys in torchrun's store would
# then be the previous job's (a rank could connect to the other's stale address and hang): each job
# gets names of its own.
RANKS = textwrap.dedent("""
    import contextlib, io, json, os, sys, traceback
    import torch.distributed.distributed_c10d as c10d
    from ganzoo.cli import main

    folder, jobs = sys.argv[1], json.loads(sys.argv[2])
    for index, (name, argv) in enumerate(jobs):
        c10d._world.group_count = 1000 * (index + 1)
        assert c10d._world.group_count == 1000 * (index + 1), "torch no longer names groups by group_count"
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                code = main(argv)
        except BaseException:
            code = 1
            err.write(traceback.format_exc())
        with open(os.path.join(folder, f"{name}.rank{os.environ['RANK']}.json"), "w") as handle:
            json.dump({"code": code, "stderr": err.getvalue()}, handle)
""")


def _jobs(root) -> list[tuple[str, list[str]]]:
    (root / "lazy.toml").write_text('variant = "dcgan"\n[recipe]\nphases = [{update = "discriminator"}, '
                                    '{update = "generator"}, {update = "lazy-r1", every = 2}]\n')
    def two_steps(name: str, *args: str) -> tuple[str, list[str]]:
        return name, ["train", *args, "--batch-size", "4", "--steps", "2", "--out", str(root / name), *COMMON]

    jobs = [two_steps(variant, variant) for variant in BUILTIN]
    jobs.append(two_steps("lazy-r1", "--config", str(root / "lazy.toml")))
    # dropout: each rank's RNG must be restored too (test_two_rank_resume_is_exact...)
    jobs.append(("vanilla-4-steps", ["train", "vanilla", "--batch-size", "4", *COMMON, "--steps", "4",
                                     "--out", str(root / "vanilla-4-steps")]))
    if not torch.cuda.is_available():  # last: it stops before training, leaving the process group as it is
        jobs.append(("sync-batchnorm", ["train", "dcgan", "--sync-batchnorm", "--steps", "1", "--batch-size", "2",
                                        "--out", str(root / "sync-batchnorm"), *COMMON]))
    return jobs


@pytest.fixture(scope="module")
def two_rank_jobs(tmp_path_factory):
    """The folder of every job of :func:`_jobs`, trained by 2 ranks under one torchrun."""
    root = tmp_path_factory.mktemp("two-ranks")
    script = root / "ranks.py"
    script.write_text(RANKS)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(script), str(root), json.dumps(_jobs(root))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, failure(result)
    return root


def ranks_of(root, job: str) -> list[dict]:
    """Each rank's exit status and stderr for one job of :func:`two_rank_jobs`."""
    return [json.loads((root / f"{job}.rank{rank}.json").read_text()) for rank in (0, 1)]


def _two_rank_run(root, job: str) -> dict:
    for outcome in ranks_of(root, job):
        assert outcome["code"] == 0, outcome["stderr"][-3000:]
    payload = ckpt.load_checkpoint(root / job / "checkpoints" / "last.pt", resume=True)
    first, second = payload["rank_fingerprints"]
    assert first == second  # every role's weights identical on both ranks
    assert len(first) == len(payload["state"]["networks"])
    return payload


def test_two_rank_resume_is_exact_and_checkpoints_cross_over(two_rank_jobs, tmp_path):
    # vanilla, batch 4, COMMON: 4 steps straight, and 2 steps (a copy of that job's run) resumed to 4.
    full = _two_rank_run(two_rank_jobs, "vanilla-4-steps")
    half = tmp_path / "half"
    assert _two_rank_run(two_rank_jobs, "vanilla")["step"] == 2
    shutil.copytree(two_rank_jobs / "vanilla", half)
    resumed = torchrun("train", "--resume", str(half), "--steps", "4")
    assert resumed.returncode == 0, failure(resumed)
    assert full["step"] == 4
    a, b = weights(two_rank_jobs / "vanilla-4-steps"), weights(half)
    assert all(torch.equal(a[k], b[k]) for k in a), "2-rank resume is not exact"

    # A distributed checkpoint continues in one process, and samples from it...
    assert main(["train", "--resume", str(half), "--steps", "5"]) == 0
    assert ckpt.load_checkpoint(half / "checkpoints" / "last.pt")["step"] == 5
    assert main(["sample", str(half), "-n", "4"]) == 0
    # ...and a single-process checkpoint continues under two ranks.
    back = torchrun("train", "--resume", str(half), "--steps", "6")
    assert back.returncode == 0, failure(back)
    assert ckpt.load_checkpoint(half / "checkpoints" / "last.pt")["step"] == 6


@pytest.mark.parametrize("variant", BUILTIN)
def test_every_builtin_variant_trains_on_two_ranks(variant, two_rank_jobs):
    """Every phase and trick under DDP, the gradient penalty's double backward included."""
    _two_rank_run(two_rank_jobs, variant)


def test_the_lazy_r1_phase_under_ddp(two_rank_jobs):
    payload = _two_rank_run(two_rank_jobs, "lazy-r1")
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


def test_sync_batchnorm_needs_cuda(two_rank_jobs):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for outcome in ranks_of(two_rank_jobs, "sync-batchnorm"):  # `ganzoo train` under torchrun, on each rank
        assert outcome["code"] != 0
        assert "--sync-batchnorm needs CUDA" in outcome["stderr"]
