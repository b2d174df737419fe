"""Optimizers by name: every suitable torch.optim optimizer and timm's registry (timm:NAME),
with their own parameters, from the Python API, TOML recipes and the command line."""

from __future__ import annotations

import json

import pytest
import torch

from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.optimizers import make_optimizer, optimizer_class, torch_optimizers
from ganzoo.specs import OptimizerSettings

CPU = torch.device("cpu")
TIMM = ["timm:lion", "timm:lamb", "timm:adabelief", "timm:madgrad", "timm:adan"]


def _steps(settings: OptimizerSettings) -> torch.optim.Optimizer:
    """Build the optimizer over a small network and take one step: every weight moves."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LeakyReLU(), torch.nn.Linear(3, 1))
    optimizer = make_optimizer(net.parameters(), settings, CPU)
    before = [p.detach().clone() for p in net.parameters()]
    net(torch.randn(8, 4)).pow(2).mean().backward()
    optimizer.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, net.parameters())), settings.name
    return optimizer


@pytest.mark.parametrize("name", sorted(torch_optimizers()))
def test_every_torch_optimizer_by_name(name):
    optimizer = _steps(OptimizerSettings(name, lr=1e-2))
    assert type(optimizer).__name__.lower() == name


@pytest.mark.parametrize("name", TIMM)
def test_timm_optimizers_by_name(name):
    optimizer = _steps(OptimizerSettings(name, lr=1e-2))
    assert type(optimizer).__module__.startswith("timm.optim")


def test_common_settings_go_where_they_are_taken_and_options_are_passed():
    adam = make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimizerSettings("adam", betas=(0.0, 0.9),
                                                                                  options={"eps": 1e-6}), CPU)
    assert adam.defaults["betas"] == (0.0, 0.9) and adam.defaults["eps"] == 1e-6 and adam.defaults["fused"]
    sgd = make_optimizer([torch.nn.Parameter(torch.zeros(2))],
                         OptimizerSettings("sgd", momentum=0.9, options={"nesterov": True}), CPU)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["nesterov"] and "betas" not in sgd.defaults
    lion = make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimizerSettings("timm:lion", betas=(0.9, 0.99)), CPU)
    assert lion.defaults["betas"] == (0.9, 0.99)


@pytest.mark.parametrize("settings, message", [
    (OptimizerSettings("adamm"), "unknown optimizer 'adamm'; did you mean 'adam'"),
    (OptimizerSettings("timm:lino"), "did you mean 'timm:lion'"),
    (OptimizerSettings("lbfgs"), "unknown optimizer 'lbfgs'"),
    (OptimizerSettings("adam", options={"epss": 1e-6}), "optimizer 'adam': unknown parameter 'epss'; did you mean 'eps'"),
    (OptimizerSettings("sgd", options={"nesterov": "yes"}), "optimizer 'sgd': parameter nesterov wants bool"),
    (OptimizerSettings("adagrad", momentum=0.9), "optimizer 'adagrad' has no momentum parameter"),
    (OptimizerSettings("sgd", options={"nesterov": True}), "optimizer 'sgd': Nesterov momentum requires"),
])
def test_bad_optimizer_settings_are_one_line(settings, message):
    with pytest.raises(ConfigError, match=message) as info:
        make_optimizer([torch.nn.Parameter(torch.zeros(2))], settings, CPU)
    assert "\n" not in str(info.value)


def test_settings_round_trip_through_a_flat_table():
    settings = OptimizerSettings("timm:lamb", lr=1e-3, betas=(0.9, 0.99), options={"trust_clip": True})
    table = settings.to_dict()
    assert table["trust_clip"] is True and "options" not in table
    assert OptimizerSettings.from_dict(json.loads(json.dumps(table))) == settings
    with pytest.raises(ConfigError, match="setting of its own"):
        OptimizerSettings("adam", options={"lr": 1.0})
    assert optimizer_class("RAdam") is torch.optim.RAdam  # class names work in any case


def test_the_cli_and_a_toml_recipe_choose_optimizers(tmp_path):
    run = tmp_path / "cli"
    assert main(["train", "dcgan", "--steps", "1", "--batch-size", "4", "--data", "mnist:test-b",
                 "--g-optimizer", "timm:lion:betas=[0.9,0.99]", "--d-optimizer", "sgd:momentum=0.9,nesterov=true",
                 "--d-lr", "0.01", "--out", str(run)]) == 0
    recipe = json.loads((run / "config.json").read_text())["variant"]
    assert recipe["g_optimizer"] == {"name": "timm:lion", "lr": 2e-4, "betas": [0.9, 0.99],
                                     "weight_decay": 0.0, "momentum": 0.0}
    assert recipe["d_optimizer"]["name"] == "sgd" and recipe["d_optimizer"]["nesterov"] is True
    assert recipe["d_optimizer"]["lr"] == 0.01
    toml = tmp_path / "run.toml"
    toml.write_text('variant = "dcgan"\nsteps = 1\ndata = "mnist:test-b"\n[recipe]\nbatch_size = 4\n'
                    '[recipe.g_optimizer]\nname = "radam"\ndecoupled_weight_decay = true\nweight_decay = 0.01\n')
    assert main(["train", "--config", str(toml), "--out", str(tmp_path / "toml")]) == 0
    g = json.loads((tmp_path / "toml" / "config.json").read_text())["variant"]["g_optimizer"]
    assert (g["name"], g["decoupled_weight_decay"], g["weight_decay"], g["lr"]) == ("radam", True, 0.01, 2e-4)
    assert main(["train", "--resume", str(run), "--steps", "2"]) == 0  # the optimizer state loads back


def test_an_optimizer_with_three_betas_keeps_its_own_unless_given():
    adan = make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimizerSettings("timm:adan"), CPU)
    assert len(adan.defaults["betas"]) == 3
    given = make_optimizer([torch.nn.Parameter(torch.zeros(2))],
                           OptimizerSettings("timm:adan", betas=(0.9, 0.9, 0.99)), CPU)
    assert tuple(given.defaults["betas"]) == (0.9, 0.9, 0.99)
    with pytest.raises(ConfigError, match="takes 3 betas"):
        make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimizerSettings("timm:adan", betas=(0.9, 0.9)), CPU)


def test_list_optimizers_shows_torch_and_timm_names(capsys):
    assert main(["list", "--optimizers", "--json"]) == 0
    names = json.loads(capsys.readouterr().out)
    assert {"adam", "radam", "sgd", "timm:lion", "timm:lamb"} <= set(names) and "lbfgs" not in names
    assert main(["list", "--optimizers", "timm:l*", "--exclude", "timm:lamb*"]) == 0
    shown = capsys.readouterr().out.split()
    assert "timm:lion" in shown and not any(name.startswith("timm:lamb") for name in shown)


@pytest.mark.parametrize("settings, message", [
    ({"weight_decay": "x"}, "optimizer weight decay must be a number >= 0, got 'x'"),  # was torch's '<=' TypeError
    ({"momentum": -0.5}, "optimizer momentum must be a number >= 0, got -0.5"),
    ({"weight_decay": True}, "optimizer weight decay must be a number >= 0, got True"),
    ({"lr": "fast"}, "optimizer learning rate must be > 0, got 'fast'"),
])
def test_optimizer_settings_are_checked_when_described(settings, message):
    with pytest.raises(ConfigError) as info:
        OptimizerSettings("adam", **settings)
    assert str(info.value) == message
