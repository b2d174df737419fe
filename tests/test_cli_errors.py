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
