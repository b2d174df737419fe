"""Looking at a generator: interpolations between random latents (grid and GIF, a row per class
for conditional runs), the truncation trick, and every run's timelapse.gif."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from ganzoo.cli import main
from ganzoo.cli.sample import interpolation_inputs
from ganzoo.images import make_grid
from ganzoo.latent import interpolate_latents, sample_latent
from ganzoo.runs.checkpoint import load_trained_gan


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(gif)]


def _png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def test_slerp_path_hits_its_keyframes_exactly_and_keeps_the_norm():
    keys = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0]])
    path = interpolate_latents(keys, 4)
    assert path.shape == (9, 2)
    assert torch.equal(path[::4], keys)
    assert torch.allclose(path.norm(dim=1), torch.full((9,), 3.0))  # on the circle, not through its inside
    assert torch.allclose(path[2], torch.tensor([3.0, 3.0]) / 2 ** 0.5)
    linear = interpolate_latents(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]), 2, "uniform")
    assert torch.equal(linear, torch.tensor([[1.0, -1.0], [0.0, 0.0], [-1.0, 1.0]]))
    same = interpolate_latents(torch.tensor([[1.0, 2.0], [1.0, 2.0]]), 3)  # parallel: no NaN
    assert torch.isfinite(same).all()


def test_truncation_keeps_values_within_and_is_reproducible():
    rng = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    z = sample_latent(500, 16, generator=rng(), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.2
    assert torch.equal(z, sample_latent(500, 16, generator=rng(), truncation=0.5))
    assert torch.equal(sample_latent(50, 4, generator=rng(), truncation=100.0), sample_latent(50, 4, generator=rng()))
    assert sample_latent(500, 4, "uniform", generator=rng(), truncation=0.25).abs().max() <= 0.25


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("look")
    # vanilla: grids at 10, 20, 30 and the final one at 35 (the timelapse tests); cgan is only sampled from.
    for variant, steps in (("vanilla", "35"), ("cgan", "2")):
        assert main(["train", variant, "--steps", steps, "--sample-every", "10", "--log-every", "10",
                     "--out", str(folder / variant)]) == 0
    return folder


def test_interpolation_endpoints_are_the_plain_samples_of_those_latents(runs, tmp_path):
    run = runs / "vanilla"
    out = tmp_path / "walk.png"
    assert main(["sample", str(run), "--interpolate", "3", "--frames", "5", "-n", "4", "--seed", "7",
                 "--out", str(out)]) == 0
    gan, _ = load_trained_gan(run, device="cpu")
    latents, labels, keys, rows = interpolation_inputs(gan, 3, 5, 4, seed=7)
    images = gan.draw(latents, labels)
    assert rows == 4 and images.shape[0] == 4 * 11
    assert np.array_equal(_png(out), make_grid(images, nrow=11)[..., 0])
    plain = gan.generate(4 * 3, seed=7)  # ganzoo sample -n 12 --seed 7
    at_keys = images.view(4, 11, *images.shape[1:])[:, ::5].reshape(12, *images.shape[1:])
    assert torch.allclose(at_keys, plain, atol=1e-5)
    frames = _gif_frames(tmp_path / "walk.gif")
    assert len(frames) == 11
    assert np.array_equal(frames[0], make_grid(images[::11], nrow=2)[..., 0])


def test_a_conditional_interpolation_walks_one_path_in_every_class_row(runs, tmp_path, capsys):
    run = runs / "cgan"
    assert main(["sample", str(run), "--interpolate", "2", "--frames", "3", "--seed", "1",
                 "--out", str(tmp_path / "c.png")]) == 0
    assert "a row per class (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)" in capsys.readouterr().out
    gan, _ = load_trained_gan(run, device="cpu")
    latents, labels, keys, rows = interpolation_inputs(gan, 2, 3, 8, seed=1)
    assert rows == 10 and torch.equal(labels, torch.arange(10).repeat_interleave(4))
    assert all(torch.equal(latents[r * 4:(r + 1) * 4], latents[:4]) for r in range(10))
    images = gan.draw(latents, labels).view(10, 4, *gan.image_shape)
    for digit in (0, 7):
        plain = gan.generate(2, seed=1, labels=digit)
        assert torch.allclose(images[digit, ::3], plain, atol=1e-5)
    assert len(_gif_frames(tmp_path / "c.gif")) == 4
    assert main(["sample", str(run), "--interpolate", "2", "--class", "3,5", "--out", str(tmp_path / "d.png")]) == 0
    assert _png(tmp_path / "d.png").shape[0] == 2 + 2 * 30  # two rows: classes 3 and 5


def test_truncated_samples_are_the_truncated_latents_images(runs, tmp_path):
    run = runs / "vanilla"
    assert main(["sample", str(run), "-n", "9", "--seed", "2", "--truncation", "0.6", "--npy",
                 str(tmp_path / "t.npy"), "--out", str(tmp_path / "t.png")]) == 0
    gan, _ = load_trained_gan(run, device="cpu")
    z = gan.sample_latent(9, generator=torch.Generator().manual_seed(2), truncation=0.6)
    assert np.allclose(np.load(tmp_path / "t.npy"), gan.draw(z).numpy(), atol=1e-6)


def test_every_run_writes_a_timelapse_of_its_grids(runs):
    run = runs / "vanilla"
    frames = _gif_frames(run / "timelapse.gif")
    grids = [_png(run / "samples" / f"step-{step:06d}.png") for step in (10, 20, 30)] + [_png(run / "samples.png")]
    assert len(frames) == 4  # steps 10, 20, 30 and the final grid at 35
    for frame, grid in zip(frames, grids):
        assert np.array_equal(frame, grid)


def test_a_resumed_run_leaves_voided_grids_out_of_its_timelapse(runs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs / "vanilla", run)
    (run / "samples" / "step-000040.png").write_bytes((run / "samples" / "step-000010.png").read_bytes())
    assert main(["train", "--resume", str(run), "--steps", "38"]) == 0  # from 35: no grid reaches 40
    assert len(_gif_frames(run / "timelapse.gif")) == 4  # 10, 20, 30 and the final grid at 38


@pytest.mark.parametrize("args, message", [
    (["--interpolate", "1"], "--interpolate must be at least 2"),
    (["--interpolate", "3", "--frames", "0"], "--frames must be >= 1"),
    (["--gif", "x.gif"], "--gif goes with --interpolate"),
    (["--truncation", "0"], "--truncation must be a number >= 0.01"),
    (["--truncation", "1e-6"], "--truncation must be a number >= 0.01"),  # regression: redrew for ever
    (["--truncation", "inf"], "--truncation must be a number >= 0.01"),
    (["--interpolate", "2", "--gif", "x.png"], "the animation is written as GIF"),
    (["--interpolate", "2", "--class", "3"], "--class 3: the run's variant 'vanilla' is not conditional"),
    (["--interpolate", "65"], "--interpolate must be at most 64"),  # regression: no upper bound
])
def test_bad_sampling_flags_are_one_line(runs, capsys, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(runs / "vanilla"), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_a_damaged_grid_costs_the_timelapse_a_frame_not_the_run(runs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs / "vanilla", run)
    (run / "samples" / "step-000020.png").write_bytes(b"not a png")
    assert main(["train", "--resume", str(run), "--steps", "38"]) == 0
    assert len(_gif_frames(run / "timelapse.gif")) == 3  # 10, 30 and the final grid


@pytest.mark.parametrize("flag, target, message", [
    # regression: --npy onto the checkpoint replaced the trained weights with an array
    ("--npy", "checkpoints/last.pt", "--npy {}: the samples are written as a .npy file; use a .npy name"),
    ("--npz", "config.json", "--npz {}: the samples are written as a .npz file; use a .npz name"),
    ("--npy", "checkpoints/x.npy", "--npy {}: is one of the files training wrote to the run; choose another name"),
    ("--out", "samples.png", "--out {}: is one of the files training wrote to the run; choose another name"),
    ("--out", "samples/step-000010.png", "--out {}: is one of the files training wrote to the run; choose another name"),
])
def test_sampling_never_writes_over_the_runs_own_files(runs, capsys, flag, target, message):
    run = runs / "vanilla"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["sample", str(run), "-n", "4", flag, str(run / target)]) == 2
    assert capsys.readouterr().err == f"ganzoo sample: error: {message.format(run / target)}\n"
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_class_beyond_int64_is_out_of_range_not_a_traceback(runs, capsys, tmp_path):
    assert main(["sample", str(runs / "cgan"), "--class", "99999999999999999999999", "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == ("ganzoo sample: error: --class 99999999999999999999999: class "
                                       "99999999999999999999999 is out of range: the run has classes 0..9\n")


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_a_seed_beyond_the_range_is_one_line(runs, capsys, command, tmp_path):
    """Regression: a seed beyond 64 bits overflowed inside torch with a traceback."""
    args = ["--out", str(tmp_path / "x.png")] if command == "sample" else ["-n", "8"]
    assert main([command, str(runs / "vanilla"), "--seed", "99999999999999999999", *args]) == 2
    assert capsys.readouterr().err == (f"ganzoo {command}: error: --seed must be an integer from 0 to 2**63 - 1, "
                                       "got 99999999999999999999\n")
