"""Contract v2: a variant's step is a list of phases over named networks (roles). The default
phases are the classic k:1 step; lazy R1 is a phase with an interval; a plugin adds a role and
an update of its own without touching the core."""

from __future__ import annotations

import json
import types

import pytest
import torch

import ganzoo
from ganzoo import Phase, Role, hookimpl
from ganzoo.cli import main
from ganzoo.conformance import check_checkpoint_round_trip, check_variant_step, real_batch
from ganzoo.errors import CompositionError, ConfigError
from ganzoo.runs import checkpoint as ckpt
from ganzoo.training.capture import StepRunner, capture_blockers
from ganzoo.training.step import TrainingStep

LAZY = [Phase("discriminator"), Phase("generator"), Phase("lazy-r1", every=3, params={"gamma": 2.0})]


# -- recipes ----------------------------------------------------------------------------------


def test_default_phases_are_the_alternating_k_to_1_step():
    phases = ganzoo.get_variant("wgan-gp").step_phases()
    assert [(p.update, p.repeats, p.every) for p in phases] == [("discriminator", 5, 1), ("generator", 1, 1)]


@pytest.mark.parametrize("settings, message", [
    ({"update": "discriminator", "repeats": 0}, "repeats must be a positive integer"),
    ({"update": "discriminator", "every": 1.5}, "every must be a positive integer"),
    ({"update": ""}, "registered update name"),
])
def test_phase_settings_are_checked(settings, message):
    with pytest.raises(ConfigError, match=message):
        Phase(**settings)


def test_recipe_roles_and_phases_are_checked():
    vanilla = ganzoo.get_variant("vanilla")
    with pytest.raises(ConfigError, match="role name 'generator'"):
        vanilla.replace(roles={"generator": Role("mlp")})
    with pytest.raises(ConfigError, match="two phases share a name"):
        vanilla.replace(phases=[Phase("generator"), Phase("generator")])


def test_roles_and_phases_round_trip_through_the_recipe_table():
    variant = ganzoo.get_variant("vanilla").replace(
        roles={"encoder": Role("latent-encoder", params={"width": 32},
                               optimizer=ganzoo.OptimizerSettings("sgd", lr=0.1))},
        phases=[Phase("discriminator", repeats=2), Phase("generator"), Phase("lazy-r1", every=4)])
    table = json.loads(json.dumps(variant.to_dict()))
    assert ganzoo.Variant.from_dict(table) == variant.replace(plugin=None)
    assert ("update", "lazy-r1") in variant.components() and ("network", "latent-encoder") in variant.components()


def test_a_phase_naming_an_unknown_update_is_refused_in_one_line(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('variant = "vanilla"\n[recipe]\nphases = [{update = "lazy-r2", every = 4}]\n')
    assert main(["train", "--config", str(config), "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lazy-r2" in err and "lazy-r1" in err, err


# -- lazy R1 as a phase --------------------------------------------------------------------------


def test_lazy_r1_runs_on_its_interval_and_reports_its_penalty():
    torch.manual_seed(0)
    gan = ganzoo.create_variant("dcgan", batch_size=4, phases=LAZY)
    step = TrainingStep(gan)
    ran = []
    for i in range(7):
        stats = step(lambda: real_batch((1, 28, 28), 4, seed=i))
        ran.append("r1_penalty" in stats.values)
    assert ran == [True, False, False, True, False, False, True]
    assert step.updates == {"discriminator": 7, "generator": 7, "lazy-r1": 3}
    assert step.updates_of("discriminator") == 10


def test_lazy_r1_penalty_is_scaled_by_its_interval():
    """γ/2 · every · E‖∇D(x)‖², and D's gradient is exactly that penalty's."""
    torch.manual_seed(0)
    gan = ganzoo.create_variant("dcgan", batch_size=4, phases=[Phase("lazy-r1", every=4, params={"gamma": 2.0})])
    reference = ganzoo.create_variant("dcgan", batch_size=4)
    reference.discriminator.load_state_dict(gan.discriminator.state_dict())
    gan.d_optimizer.step = lambda: None  # keep D's weights to compare gradients
    real = real_batch((1, 28, 28), 4, seed=2)
    torch.manual_seed(1)
    stats = TrainingStep(gan)(lambda: real)
    torch.manual_seed(1)
    images = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(reference.discriminator(images).sum(), images, create_graph=True)
    penalty = 0.5 * 2.0 * 4 * grad.flatten(1).square().sum(1).mean()
    penalty.backward()
    torch.testing.assert_close(stats.r1_penalty, penalty.detach())
    for mine, theirs in zip(gan.discriminator.parameters(), reference.discriminator.parameters()):
        # a parameter the penalty does not reach (the last bias) gets a zero gradient, for DDP
        torch.testing.assert_close(mine.grad, torch.zeros_like(mine) if theirs.grad is None else theirs.grad)
    assert all(p.grad is None for p in gan.generator.parameters())  # only D's phase ran


def _planned(runner: StepRunner, steps: int) -> list[str]:
    """The runner's capture decisions over ``steps`` steps, without CUDA."""
    actions = []
    for s in range(steps):
        pattern = runner.step.due(s)
        action = runner.plan(pattern)
        if action == "capture":
            runner._graphs[pattern] = (None, None)  # what a successful capture records
        actions.append(action)
    return actions


def test_one_graph_per_pattern_of_due_phases_each_captured_after_it_ran_once():
    phases = [Phase("discriminator"), Phase("generator"), Phase("lazy-r1", name="every-2", every=2),
              Phase("lazy-r1", name="every-3", every=3)]
    gan = ganzoo.create_variant("vanilla", batch_size=4, phases=phases)
    runner = StepRunner(TrainingStep(gan), lambda: real_batch((1, 28, 28), 4), graph="off")
    runner.graphed = True  # the decisions alone; capturing itself needs CUDA (tests/test_capture.py)
    # patterns: 0 all, 1 base, 2 +2, 3 +3, 4 +2, 5 base, 6 all, 7 base, 8 +2, 9 +3
    assert _planned(runner, 10) == ["warm", "warm", "warm", "warm", "capture", "capture", "capture",
                                    "replay", "replay", "capture"]
    assert runner.graphs == 4


def test_the_lazy_r1_phase_does_not_block_capture():
    as_phase = ganzoo.create_variant("dcgan", phases=LAZY)
    assert [r for r in capture_blockers(as_phase) if "CUDA device" not in r] == []


# -- a further role and an update from a plugin --------------------------------------------------


class LatentEncoder(torch.nn.Module):
    def __init__(self, image_shape, latent_dim, width: int = 64):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(torch.tensor(image_shape).prod()), width),
                                       torch.nn.ReLU(), torch.nn.Linear(width, latent_dim))

    def forward(self, images):
        return self.net(images)


class LatentRecovery(ganzoo.Update):
    """InfoGAN-style: the generator and the encoder learn to recover z from G(z)."""

    name = "latent-recovery"
    capturable = True

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def run(self, step):
        z = step.latent(step.gan.variant.batch_size)
        with step.frozen("discriminator"):
            loss = self.weight * (step.networks["encoder"](step.networks["generator"](z)) - z).square().mean()
            for role in ("generator", "encoder"):
                step.optimizer(role).zero_grad(set_to_none=True)
            loss.backward()
            for role in ("generator", "encoder"):
                step.optimizer(role).step()
        return {"recovery": loss.detach()}


RECOVERY = ganzoo.Variant(
    name="recovery-test", summary="vanilla plus latent recovery every 2 steps", generator="mlp",
    discriminator="mlp", loss="bce", batch_size=8,
    roles={"encoder": Role("latent-encoder", params={"width": 32}, optimizer=ganzoo.OptimizerSettings("adam", lr=1e-3))},
    phases=[Phase("discriminator"), Phase("generator"), Phase("latent-recovery", every=2)])


@pytest.fixture
def recovery_plugin(fresh_plugins):
    plugin = types.SimpleNamespace(
        register_networks=hookimpl(lambda register: register("latent-encoder", LatentEncoder)),
        register_updates=hookimpl(lambda register: register("latent-recovery", LatentRecovery,
                                                            roles=("generator", "encoder"))),
        register_variants=hookimpl(lambda register: register(RECOVERY)))
    fresh_plugins.get_host().add_plugin(plugin, "recovery-test")
    return fresh_plugins


def test_a_plugin_role_gets_its_own_network_and_optimizer(recovery_plugin):
    gan = ganzoo.create_variant("recovery-test")
    assert list(gan.networks) == ["generator", "discriminator", "encoder"]
    assert gan.optimizers["encoder"].param_groups[0]["lr"] == 1e-3
    check_variant_step("recovery-test")  # every phase runs; the encoder changes
    check_checkpoint_round_trip("recovery-test")


def test_an_update_training_a_missing_role_is_refused(recovery_plugin):
    with pytest.raises(CompositionError, match="trains the role 'encoder', which the recipe does not have"):
        ganzoo.create_variant("vanilla", phases=[Phase("latent-recovery")])


def test_a_plugin_role_trains_resumes_bit_exactly_and_shows_in_info(recovery_plugin, tmp_path, capsys):
    common = ["--batch-size", "8", "--device", "cpu", "--data", "mnist:test-b", "--checkpoint-every", "3",
              "--log-every", "1", "--precision", "fp32"]
    assert main(["train", "recovery-test", "--steps", "3", "--out", str(tmp_path / "half"), *common]) == 0
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "6"]) == 0
    assert main(["train", "recovery-test", "--steps", "6", "--out", str(tmp_path / "once"), *common]) == 0
    a = ckpt.load_checkpoint(tmp_path / "half/checkpoints/last.pt", resume=True)
    b = ckpt.load_checkpoint(tmp_path / "once/checkpoints/last.pt", resume=True)
    assert a["updates"] == b["updates"] == {"discriminator": 6, "generator": 6, "latent-recovery": 3}
    for part in ("networks", "optimizers"):
        assert set(a["state"][part]) == {"generator", "discriminator", "encoder"}
    for key, value in a["state"]["networks"]["encoder"].items():
        assert torch.equal(value, b["state"]["networks"]["encoder"][key]), key
    records = [json.loads(line) for line in (tmp_path / "once/metrics.jsonl").read_text().splitlines()]
    assert ["recovery" in r for r in records] == [True, False] * 3  # due before steps 0, 2, 4
    gan, payload = ganzoo.load_gan(tmp_path / "once", device="cpu")  # every role, restored
    for key, value in gan.networks["encoder"].state_dict().items():
        assert torch.equal(value, b["state"]["networks"]["encoder"][key]), key
    capsys.readouterr()
    assert main(["info", "recovery-test", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["encoder"] == 784 * 32 + 32 + 32 * 100 + 100
    assert info["step"] == ["discriminator", "generator", "latent-recovery every 2 steps"]


def test_format_2_checkpoints_still_load(tmp_path):
    """ganzoo 0.2.0 wrote generator/discriminator keys; they are read into the roles."""
    assert main(["train", "vanilla", "--steps", "2", "--batch-size", "8", "--device", "cpu", "--data",
                 "mnist:test-b", "--out", str(tmp_path / "r")]) == 0
    path = tmp_path / "r/checkpoints/last.pt"
    payload = torch.load(path, weights_only=True)
    state = payload["state"]
    old = {"format": 2, **{k: v for k, v in payload.items() if k not in ("format", "updates", "state")},
           "d_updates": payload["updates"]["discriminator"],
           "state": {"generator": state["networks"]["generator"], "discriminator": state["networks"]["discriminator"],
                     "g_optimizer": state["optimizers"]["generator"], "d_optimizer": state["optimizers"]["discriminator"],
                     "tricks": state["tricks"]}}
    torch.save(old, path)
    assert main(["train", "--resume", str(tmp_path / "r"), "--steps", "3"]) == 0
    resumed = ckpt.load_checkpoint(path, resume=True)
    assert resumed["format"] == ckpt.FORMAT_VERSION and resumed["updates"] == {"discriminator": 3, "generator": 3}
    assert main(["sample", str(tmp_path / "r"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0


# -- labels travel with their images ---------------------------------------------------------------


def test_the_sampler_draws_labels_with_their_images():
    from ganzoo.training.sampling import BatchSampler

    images = torch.arange(40, dtype=torch.float32).reshape(40, 1, 1, 1).expand(40, 1, 4, 4).contiguous()
    labels = torch.arange(40) * 7
    for world_size in (1, 2):
        shards = [BatchSampler(images, 8, 4, seed=3, rank=r, world_size=world_size, labels=labels).batch()
                  for r in range(world_size)]
        for shard in shards:
            assert shard.images.shape[0] == 8
            assert torch.equal(shard.labels, shard.images[:, 0, 0, 0].long() * 7)
    assert BatchSampler(images, 8, 4, seed=3).batch().labels is None


class RecordsLabels(ganzoo.Update):
    """Records what each real batch pairs: (the image's constant value, its label)."""

    name = "records-labels"
    capturable = True
    seen: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def run(self, step):
        drawn = step.next_batch()
        RecordsLabels.seen.append((drawn.images.flatten(1)[:, 0].clone(), drawn.labels))
        return {}


def test_labels_from_the_data_reach_every_update_through_the_trainer(fresh_plugins, tmp_path):
    import numpy as np

    values = np.linspace(-0.9, 0.9, 10, dtype=np.float32)
    images = np.repeat(values[:, None, None, None], 16 * 16, axis=1).reshape(10, 1, 16, 16)
    np.savez(tmp_path / "digits.npz", images=images, labels=np.arange(10)[::-1].copy())
    plugin = types.SimpleNamespace(register_updates=hookimpl(
        lambda register: register("records-labels", RecordsLabels, roles=("discriminator",))))
    fresh_plugins.get_host().add_plugin(plugin, "labels-test")
    config = tmp_path / "run.toml"
    config.write_text('variant = "dcgan"\n[recipe]\nbatch_size = 6\nphases = [{update = "discriminator"}, '
                      '{update = "generator"}, {update = "records-labels"}]\n')
    RecordsLabels.seen.clear()
    assert main(["train", "--config", str(config), "--steps", "3", "--data", str(tmp_path / "digits.npz"),
                 "--device", "cpu", "--out", str(tmp_path / "r")]) == 0
    assert len(RecordsLabels.seen) == 3
    for pixels, labels in RecordsLabels.seen:
        index = ((pixels + 0.9) / 0.2).round().long()  # which image was drawn
        assert labels is not None and torch.equal(labels, 9 - index)
    RecordsLabels.seen.clear()
    stats = TrainingStep(ganzoo.create_variant("vanilla", batch_size=4, phases=[Phase("records-labels")], tricks={}))(
        lambda: real_batch((1, 28, 28), 4))  # bare images: no labels
    assert RecordsLabels.seen[0][1] is None and stats.values == {}


def test_a_recipe_names_its_changed_step_and_roles():
    base = ganzoo.get_variant("vanilla")
    changed = base.replace(phases=LAZY, roles={"encoder": Role("latent-encoder")})
    assert changed.changes_from(base) == [
        "encoder=latent-encoder", "phases=discriminator + generator + lazy-r1 every 3 steps"]
    assert base.replace(phases=base.step_phases()).changes_from(base) == []  # the default, spelled out


def test_a_phase_that_skips_steps_reaches_every_record_with_its_latest_value(tmp_path, capsys):
    """Regression: records held only the logged step's own statistics, so lazy R1 every 16 steps
    with records every 50 never logged its penalty (a record's step is never one where it runs)."""
    config = tmp_path / "r1.toml"
    config.write_text('variant = "vanilla"\n[recipe]\nbatch_size = 8\nphases = [{update = "discriminator"}, '
                      '{update = "generator"}, {update = "lazy-r1", every = 16}]\n')
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--steps", "100", "--log-every", "50", "--sample-every", "1000",
                 "--out", str(out)]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if "d_loss" in r]
    assert [r["step"] for r in train] == [50, 100]
    assert all(isinstance(r.get("r1_penalty"), float) for r in train), train
    assert train[0]["r1_penalty"] != train[1]["r1_penalty"]  # each record's own latest, not a stale one
    capsys.readouterr()


def test_epochs_are_planned_from_the_batches_the_phases_draw(tmp_path):
    """Regression: an epoch was planned from critic_steps, whatever a recipe's phases drew
    (here 2 discriminator batches a step and a lazy R1 batch every 4th step: 2.25, not 1)."""
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.prepare import plan_length
    from ganzoo.training.step import batches_per_step

    phases = (ganzoo.Phase("discriminator", repeats=2), ganzoo.Phase("generator"), ganzoo.Phase("lazy-r1", every=4))
    gan = ganzoo.create_variant("vanilla", batch_size=8, phases=phases)
    state = torch.random.get_rng_state()
    assert batches_per_step(gan) == 2.25
    assert torch.equal(torch.random.get_rng_state(), state)  # counted on a throwaway copy
    config = TrainConfig(variant="vanilla", epochs=0.9, out=str(tmp_path))
    assert plan_length(config, gan.variant, 1000, lambda: batches_per_step(gan)) == (50, 50)  # 0.9·1000/8 = 112.5 batches / 2.25 a step
