"""The ``timm`` discriminator family (plugins/timm_nets) and the import shim (ganzoo/compat.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

import ganzoo
from ganzoo import conformance
from ganzoo.errors import ComponentBuildError
from ganzoo.cli import main
from ganzoo.compat import import_timm
from ganzoo.training.step import TrainingStep


def test_import_timm_works_here():
    timm = import_timm()
    assert callable(timm.create_model) and timm.is_model("resnet18")


def test_shim_in_a_fresh_interpreter():
    """Where plain ``import timm`` fails (a torchvision build not matching torch), the shim
    defines the missing operator schemas and retries; elsewhere it is plain ``import timm``."""
    code = ("import sys, torch\n"
            "try:\n    import timm\n    plain = 'ok'\n"
            "except RuntimeError as err:\n    plain = str(err)\n"
            "from ganzoo.compat import import_timm\n"
            "timm = import_timm()\n"
            "print(plain)\n"
            "print(timm.create_model('resnet18', pretrained=False, num_classes=1, in_chans=1)"
            "(torch.zeros(2, 1, 32, 32)).shape)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    plain, shape = result.stdout.strip().splitlines()[-2:]
    assert plain == "ok" or "torchvision::nms does not exist" in plain
    assert shape == "torch.Size([2, 1])"


def test_the_family_is_listed_without_importing_timm(capsys):
    spec = ganzoo.get_component("discriminator", "timm")
    assert spec.suffix_param == "model_name" and "timm:MODEL" in spec.summary
    assert spec.plugin.name == "timm" and spec.plugin.distribution == "ganzoo"
    assert main(["list", "--components", "--kind", "discriminator"]) == 0
    assert any(line.split("│")[2].strip() == "timm" and "timm:MODEL" in line
               for line in capsys.readouterr().out.splitlines() if line.count("│") > 3)
    bound = ganzoo.get_component("discriminator", "timm:resnet18")
    assert dict(bound.bound_params) == {"model_name": "resnet18"}


@pytest.mark.parametrize("image_shape", conformance.IMAGE_SHAPES, ids=["28x28x1", "32x32x3"])
def test_resnet18_gives_one_logit_per_sample(image_shape):
    conformance.check_discriminator("timm:resnet18", image_shape)
    net = ganzoo.get_component("discriminator", "timm:resnet18").create(image_shape)
    assert net.model.conv1.in_channels == image_shape[0]  # timm adapted the stem
    assert net.input_size == (32, 32)  # 28×28 is upsampled to the minimum size, 32×32 kept
    assert net.tags == {"batchnorm"}  # resnet18 normalises over the batch: the gradient penalty refuses it


def test_trains_one_step_against_the_dcgan_generator():
    torch.manual_seed(0)
    gan = ganzoo.create_variant("dcgan", discriminator="timm:resnet18", batch_size=4)
    assert gan.discriminator.model_name == "resnet18"
    before = [p.detach().clone() for p in gan.discriminator.parameters()]
    g_before = [p.detach().clone() for p in gan.generator.parameters()]
    stats = TrainingStep(gan)(lambda: conformance.real_batch((1, 28, 28), 4))
    assert all(math.isfinite(v) for v in stats.as_floats().values())
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.discriminator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, gan.generator.parameters()))


def test_model_arguments_pass_through_and_pretrained_is_refused():
    spec = ganzoo.get_component("discriminator", "timm:resnet18")
    net = spec.create((1, 8, 8), min_size=16, drop_rate=0.5)
    assert net.input_size == (16, 16) and net.model.drop_rate == 0.5
    assert net(torch.zeros(3, 1, 8, 8)).shape == (3,)
    with pytest.raises(ganzoo.ConfigError, match="never downloads weights"):
        spec.create((1, 28, 28), pretrained=True)


def test_unknown_model_is_a_config_error_naming_it():
    with pytest.raises(ganzoo.ConfigError, match=r"unknown timm model 'resnet181'; did you mean 'resnet18"):
        ganzoo.create_variant("dcgan", discriminator="timm:resnet181")
    with pytest.raises(ComponentBuildError, match="timm:resnet18"):  # a bad argument names the component
        ganzoo.create_variant("dcgan", discriminator="timm:resnet18", discriminator_params={"no_such_arg": 1})


def test_unknown_model_on_the_command_line_is_one_line(tmp_path, capsys):
    capsys.readouterr()
    # `ganzoo train` in this process (the console script's entry point returns the exit status).
    returncode = main(["train", "dcgan", "--discriminator", "timm:no-such-net", "--steps", "1",
                       "--out", str(tmp_path / "run")])
    stderr = capsys.readouterr().err
    assert returncode == 2
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "ganzoo train: error: unknown timm model 'no-such-net'; see timm.list_models() for the names"]
