"""User mistakes on the command line end in exactly one line on stderr and exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganzoo.cli import main


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args, line", [
    (["train", "--steps", "ten"],
     "ganzoo train: --steps: invalid int value 'ten' (see ganzoo train --help)"),
    (["train", "--trick", "ema:decay"],
     "ganzoo train: --trick: expected NAME:key=value[,key=value], got 'ema:decay' (see ganzoo train --help)"),
    (["train", "--channels", "2"],
     "ganzoo train: --channels: invalid choice 2 (choose from 1, 3) (see ganzoo train --help)"),
    (["train", "dcgan", "--no-such-flag"],
     "ganzoo train: unrecognized arguments: --no-such-flag (see ganzoo train --help)"),
    (["info"], "ganzoo info: the following arguments are required: name (see ganzoo info --help)"),
    (["--no-such-flag"], "ganzoo: unrecognized arguments: --no-such-flag (see ganzoo --help)"),
])
def test_usage_errors_are_one_line_with_status_2(capsys, args, line) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert _one_line(capsys) == line


def test_help_stays_full_where_a_usage_error_is_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ganzoo train") and "--trick" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--trick"])
    assert exit_info.value.code == 2
    assert _one_line(capsys) == "ganzoo train: --trick: expected one argument (see ganzoo train --help)"


def test_eval_refuses_samples_of_another_shape_than_the_reference(capsys, tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((10, 3, 5, 7), dtype=np.float32))
    assert main(["eval", str(path), "--no-baseline"]) == 2
    assert _one_line(capsys).startswith(
        f"ganzoo eval: error: {path}: samples are 3×5×7 images, the reference set mnist:test-a is 1×28×28; ")


def test_info_shows_every_kind_of_a_shared_name_and_json_asks_for_one(capsys) -> None:
    # dcgan is a built-in variant, generator and discriminator.
    assert main(["info", "dcgan"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("'dcgan' is a variant, a generator and a discriminator; each is shown")
    assert shown.index("variant dcgan") < shown.index("generator dcgan") < shown.index("discriminator dcgan")
    assert main(["info", "dcgan", "--json"]) == 2
    assert _one_line(capsys) == ("ganzoo info: error: 'dcgan' is a variant, a generator and a discriminator; "
                                 "add --kind variant|generator|discriminator")
    assert main(["info", "dcgan", "--kind", "discriminator", "--json"]) == 0
    assert '"kind": "discriminator"' in capsys.readouterr().out
    assert main(["info", "dcgan", "--kind", "generator"]) == 0
    shown = capsys.readouterr().out
    assert "generator dcgan" in shown and "variant dcgan" not in shown and "each is shown" not in shown


_RUN = 'variant = "vanilla"\nsteps = 20\n'


@pytest.mark.parametrize("content, named", [
    (b"\xff\xfe garbage", "not valid TOML (not UTF-8 text"),
    (_RUN + "data = 5", "--data must be a string, got 5"),
    ('variant = "cgan"\nsteps = 20\nlabels = [1]', "--labels must be a string, got [1]"),
    (_RUN + 'recipe = "x"', "recipe must be a [recipe] table"),
    (_RUN + '[recipe]\ntricks = "ema"', "recipe: tricks must be a table of [recipe.tricks.NAME] tables"),
    (_RUN + '[recipe]\ngenerator_params = "x"', "recipe: generator_params must be a table, got 'x'"),
    (_RUN + '[recipe]\nroles = "x"', "recipe: roles must be a table of [recipe.roles.NAME] tables"),
    (_RUN + "[recipe]\nbatch_size = true", "recipe: batch_size must be an integer, got True"),
    (_RUN + "[recipe]\ncritic_steps = 0", "recipe: critic_steps must be a positive integer, got 0"),
    (_RUN + "eval_every = 2.5", "--eval-every must be an integer, got 2.5"),
    (_RUN + 'eval_every = "x"', "--eval-every must be an integer, got 'x'"),
    (_RUN + 'sync_batchnorm = "yes"', "--sync-batchnorm must be true or false, got 'yes'"),
    (_RUN + "dist_timeout = true", "--dist-timeout must be a number, got True"),
    (_RUN + "epochs = true", "--epochs must be a number, got True"),
    (_RUN + "device = 5", "--device must be a string, got 5"),
    (_RUN + "seed = 99999999999999999999", "--seed must be an integer from 0 to 2**63 - 1"),
    (_RUN + "seed = -1", "--seed must be an integer from 0 to 2**63 - 1, got -1"),
    (_RUN + "seed = 1.5", "--seed must be an integer, got 1.5"),
])
def test_a_bad_config_value_is_one_line_naming_file_and_setting_before_the_run_folder(
        capsys, tmp_path: Path, content: str | bytes, named: str) -> None:
    """Regression: these gave tracebacks (UnicodeDecodeError, TypeError, ValueError,
    AttributeError, overflow), were silently accepted, or named neither setting nor file."""
    toml = tmp_path / "f.toml"
    if isinstance(content, bytes):
        toml.write_bytes(content)
    else:
        toml.write_text(content)
    out = tmp_path / "out"
    assert main(["train", "--config", str(toml), "--out", str(out)]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"ganzoo train: error: {toml}: ") and named in line, line
    assert not out.exists()


@pytest.mark.parametrize("flags, line", [
    (["--seed", "99999999999999999999"],
     "ganzoo train: error: --seed must be an integer from 0 to 2**63 - 1, got 99999999999999999999"),
    (["--seed", "-1"], "ganzoo train: error: --seed must be an integer from 0 to 2**63 - 1, got -1"),
    (["--batch-size", "0"], "ganzoo train: error: --batch-size must be a positive integer, got 0"),
])
def test_a_bad_flag_value_is_one_line_before_the_run_folder(capsys, tmp_path: Path, flags, line) -> None:
    out = tmp_path / "s"
    assert main(["train", "vanilla", "--steps", "5", *flags, "--out", str(out)]) == 2
    assert _one_line(capsys) == line
    assert not out.exists()


def test_a_flag_error_is_not_blamed_on_a_good_config_file(capsys, tmp_path: Path) -> None:
    toml = tmp_path / "f.toml"
    toml.write_text(_RUN + "seed = 3")
    assert main(["train", "--config", str(toml), "--seed", "-5", "--out", str(tmp_path / "s")]) == 2
    assert _one_line(capsys) == "ganzoo train: error: --seed must be an integer from 0 to 2**63 - 1, got -5"


def test_a_discriminator_only_phase_list_trains_and_shows_progress(capsys, tmp_path: Path) -> None:
    """Regression: the progress line needed g_loss, which a step without a generator phase
    does not report: KeyError after the run folder existed, and no checkpoint."""
    toml = tmp_path / "f.toml"
    toml.write_text('variant = "vanilla"\nsteps = 2\nlog_every = 1\ndata = "mnist:test-b"\n'
                    '[recipe]\nbatch_size = 4\nphases = [{update = "discriminator"}]\n'
                    'tricks = ["label-smoothing"]\n')  # EMA acts after G updates, which this step has none of
    out = tmp_path / "run"
    assert main(["train", "--config", str(toml), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    progress = [line for line in err.splitlines() if line.startswith("step 2/2 |")]
    assert progress and "d_loss" in progress[0] and "g_loss" not in progress[0], err
    assert (out / "checkpoints" / "last.pt").is_file()


@pytest.mark.parametrize("args", [["info", "vanilla", "--image-size", "100000"],
                                  ["train", "vanilla", "--image-size", "5000", "--steps", "1"]])
def test_an_image_size_beyond_1024_is_one_line(capsys, tmp_path: Path, args) -> None:
    """Regression: 100000 resized the data (or built the networks) until memory ran out."""
    assert main([*args, *(["--out", str(tmp_path / "r")] if args[0] == "train" else [])]) == 2
    assert "--image-size must be at most 1024, got" in _one_line(capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. "
                                   "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes.")])
def test_running_out_of_memory_is_one_line(capsys, monkeypatch, error) -> None:
    from ganzoo.cli import browse

    def exhausted(args):
        raise error
    monkeypatch.setattr(browse, "list_command", exhausted)
    assert main(["list"]) == 1
    assert _one_line(capsys) == "ganzoo list: out of memory; try smaller settings (--batch-size, --image-size, -n)"


def test_other_runtime_errors_still_show_their_traceback(monkeypatch) -> None:
    from ganzoo.cli import browse

    def broken(args):
        raise RuntimeError("a genuine bug")
    monkeypatch.setattr(browse, "list_command", broken)
    with pytest.raises(RuntimeError, match="a genuine bug"):
        main(["list"])
