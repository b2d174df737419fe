"""Shared fixtures. Parametrized tests are generated from the live registry, so every
registered variant and component, built-in or from an installed third-party plugin, is
tested by the same code."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Tests run tiny batches, where threads cost more than they give; one thread also keeps
    a loaded 2-core machine (CI, a parallel run) from oversubscribing."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Reset the process-wide plugin host before and after a test that changes plugins."""
    from ganzoo import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture(scope="module")
def example_install(request, tmp_path_factory):
    """The test module's ``EXAMPLE`` (a plugin package folder) really pip-installed, with no
    network, into a :class:`ganzoo.testing.ScratchEnv` layered over this environment, so the
    one running the suite never changes: (the environment, the copy pip built from, tests
    included)."""
    from ganzoo.testing import ScratchEnv

    example = request.module.EXAMPLE
    # One thread per subprocess: batches of 4 gain nothing from more, and on a busy two-core
    # machine OpenMP threads waiting for each other make steps 10x slower.
    scratch = ScratchEnv(tmp_path_factory.mktemp(example.name) / "env", env={"OMP_NUM_THREADS": "1"})
    [source] = scratch.install(example)
    yield scratch, source
    scratch.remove()


@pytest.fixture(scope="module")
def example_env(example_install):
    """The environment of :func:`example_install`."""
    return example_install[0]


@pytest.fixture(scope="module")
def example_kit_passed(example_install) -> set[str]:
    """The example package's own tests (its one-line ``conformance_tests``) run in its
    environment: the names of those that passed. Any failure or skip fails the test using it;
    an unknown-marker warning is an error because the marker comes from ganzoo's pytest11
    entry point, which must have loaded."""
    env, source = example_install
    result = env.run("-m", "pytest", "-v", "-p", "no:cacheprovider", "-W",
                     "error::pytest.PytestUnknownMarkWarning", "tests", cwd=source)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " SKIPPED" not in result.stdout
    return {line.split(" ")[0].split("::")[-1] for line in result.stdout.splitlines() if " PASSED" in line}


def pytest_generate_tests(metafunc):
    import ganzoo

    if "variant_name" in metafunc.fixturenames:
        metafunc.parametrize("variant_name", ganzoo.list_variants())
    from ganzoo.specs import COMPONENT_KINDS

    for kind in COMPONENT_KINDS:
        fixture = f"{kind}_name"
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, ganzoo.list_components(kind))


@pytest.fixture
def interrupt_training(monkeypatch):
    """``interrupt_training(at, times=1)``: every training run in this test sends the process
    SIGINT (a Ctrl-C) ``times`` times right after its step ``at`` completes."""
    import signal

    from ganzoo.training.capture import StepRunner

    real_step = StepRunner.__call__

    def arm(at: int, times: int = 1) -> None:
        def step(self):
            stats = real_step(self)
            if self.step.step == at:
                for _ in range(times):
                    signal.raise_signal(signal.SIGINT)
            return stats
        monkeypatch.setattr(StepRunner, "__call__", step)
    return arm


# What an example's bit-exact resume test prints for two checkpoints: the step, the roles of the
# networks and of the optimizers, and whether the phase counts, every weight and every
# optimizer state are equal.
_SAME_CHECKPOINTS = (
    "import sys, torch; from ganzoo.runs.checkpoint import load_checkpoint as load; "
    "a, b = (load(p, resume=True) for p in sys.argv[1:]); "
    "same = lambda x, y: torch.equal(x, y) if isinstance(x, torch.Tensor) else ("
    "x.keys() == y.keys() and all(same(x[k], y[k]) for k in x) if isinstance(x, dict) else "
    "len(x) == len(y) and all(map(same, x, y)) if isinstance(x, (list, tuple)) else x == y); "
    "print(a['step'], sorted(a['state']['networks']), sorted(a['state']['optimizers']), "
    "a['updates'] == b['updates'], same(a['state']['networks'], b['state']['networks']), "
    "same(a['state']['optimizers'], b['state']['optimizers']))")


@pytest.fixture(scope="module")
def resumed_and_straight(example_env):
    """``resumed_and_straight(variant, root, *flags)`` trains the installed example's
    ``variant`` 2 steps and resumes it to 4 (``root/half``), and 4 steps straight
    (``root/once``), then returns what their last checkpoints share, as one line:
    ``"4 [networks' roles] [optimizers' roles] True True True"`` when the resumed run is
    bit-exactly the straight one (phase counts, every role's weights and optimizer state)."""
    def run(variant: str, root, *flags) -> str:
        # The two fresh runs share a process; the resume gets a fresh one (nothing of the first
        # 2 steps survives in memory), which then compares the checkpoints.
        example_env.run("-c", ganzoo_main(["train", variant, "--steps", "2", "--out", root / "half", *flags],
                                          ["train", variant, "--steps", "4", "--out", root / "once", *flags]),
                        check=True)
        resume = ganzoo_main(["train", "--resume", root / "half", "--steps", "4"])
        return example_env.run("-c", f"{resume}\n{_SAME_CHECKPOINTS}", root / "half/checkpoints/last.pt",
                               root / "once/checkpoints/last.pt", check=True).stdout.strip().splitlines()[-1]
    return run


@pytest.fixture(scope="session")
def cli_code():
    """:func:`ganzoo_main`: code running several ganzoo commands in one scratch-environment process."""
    return ganzoo_main


def ganzoo_main(*argvs) -> str:
    """Python code (for ``python -c`` in a scratch environment) running ``ganzoo ARGV``, i.e.
    ganzoo.cli.main, the console script's entry point, for each argv in turn in that one
    process; it exits with the first non-zero status. sys.argv is left to the code after it."""
    calls = [[str(arg) for arg in argv] for argv in argvs]
    return ("import sys as _sys; from ganzoo.cli import main as _main\n"
            f"for _argv in {calls!r}:\n"
            "    _code = _main(_argv)\n"
            "    if _code: _sys.exit(_code)\n")
