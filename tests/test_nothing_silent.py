"""A recipe does what it says or refuses in one line: tricks no update calls, tricks that raise,
a conditional discriminator scored with the wrong labels."""

from __future__ import annotations

import types

import pytest
import torch

import ganzoo
from ganzoo import StepContext, Update, hookimpl
from ganzoo.cli import main
from ganzoo.conformance import labelled_batch, real_batch
from ganzoo.errors import CompositionError, TrickError
from ganzoo.training.step import TrainingStep


class RealOnlyUpdate(Update):
    """A discriminator update that calls only the real_input point (like BiGAN's), registered
    without declaring its points."""

    name = "real-only"

    def run(self, step: StepContext):
        gan, state = step.gan, step.state
        real = step.next_real()
        for trick in step.tricks("real_input"):
            real = trick.real_input(real, state)
        fake = step.run("generator", step.latent(real.shape[0])).detach()
        real_scores, fake_scores = step.discriminate(real)[0], step.discriminate(fake)[0]
        loss = gan.loss.d_loss(real_scores, fake_scores, torch.ones_like(real_scores), torch.zeros_like(fake_scores))
        step.optimize(loss, "discriminator")
        return {"d_loss": loss.detach()}


class Boom(ganzoo.Trick):
    """Raises from its loss term once the step counter reaches ``at``."""

    name = "boom"

    def __init__(self, at: int = 0) -> None:
        self.at = at

    def d_loss_term(self, real, fake, state):
        if state.step >= self.at:
            raise RuntimeError("the size of tensor a (32) must match\nthe size of tensor b (128)")
        return None


class Consistency(ganzoo.Trick):
    """A balanced-consistency-style term: scores a stack of real and generated images."""

    name = "consistency"

    def __init__(self, pass_labels: bool = True) -> None:
        self.pass_labels = pass_labels

    def d_loss_term(self, real, fake, state):
        images = torch.cat([real, fake])
        if self.pass_labels:
            return 0.0 * state.score(images, torch.cat([state.labels, state.fake_labels])).mean()
        return 0.0 * state.score(images).mean()


@pytest.fixture
def silent_plugin(fresh_plugins):
    def register_updates(register):
        register("real-only", RealOnlyUpdate, roles=("discriminator",))

    def register_tricks(register):
        register("boom", Boom)
        register("consistency", Consistency)

    def register_variants(register):
        register(ganzoo.Variant(name="real-only-gan", generator="mlp", discriminator="mlp", loss="bce",
                                phases=(ganzoo.Phase("real-only"), ganzoo.Phase("generator")),
                                batch_size=4, latent_dim=8))
        register(ganzoo.Variant(name="r1-only-gan", generator="mlp", discriminator="mlp", loss="bce",
                                phases=(ganzoo.Phase("lazy-r1"), ganzoo.Phase("generator")),
                                batch_size=4, latent_dim=8))
    plugin = types.SimpleNamespace(register_updates=hookimpl(register_updates),
                                   register_tricks=hookimpl(register_tricks),
                                   register_variants=hookimpl(register_variants))
    fresh_plugins.get_host().add_plugin(plugin, "silent-test")


def test_a_trick_no_declared_update_calls_is_refused_before_anything_is_built(silent_plugin):
    with pytest.raises(CompositionError, match=r"trick 'label-smoothing' acts at labels, which no update of this "
                                               r"step calls .*--no-trick label-smoothing"):
        ganzoo.create_variant("vanilla", phases=(ganzoo.Phase("lazy-r1"), ganzoo.Phase("generator")),
                              tricks=["label-smoothing"])
    # The default step calls every point: the same trick trains.
    ganzoo.create_variant("vanilla", tricks=["label-smoothing", "diffaugment"])


def test_an_update_that_declares_no_points_is_checked_after_its_first_step(silent_plugin):
    torch.manual_seed(0)
    gan = ganzoo.create_variant("real-only-gan", tricks=["label-smoothing"])  # cannot know yet
    step = TrainingStep(gan)
    with pytest.raises(CompositionError, match=r"trick 'label-smoothing' acts at labels.*"
                                               r"observed in the first step: update 'real-only' declares no points"):
        step(lambda: real_batch((1, 28, 28), 4, seed=1))
    # A trick at a point it does call (instance noise at d_input: the generator update) trains.
    gan = ganzoo.create_variant("real-only-gan", tricks=["instance-noise"])
    stats = TrainingStep(gan)
    for _ in range(2):
        stats(lambda: real_batch((1, 28, 28), 4, seed=1))


def test_bad_point_declarations_are_a_plugin_problem(fresh_plugins):
    def register_updates(register):
        register("typo", RealOnlyUpdate, roles=("discriminator",), points=("real-input",))
    info = fresh_plugins.get_host().add_plugin(
        types.SimpleNamespace(register_updates=hookimpl(register_updates)), "typo-test")
    assert any("'real-input' is not a trick point" in p for p in info.problems)


def test_a_trick_that_raises_ends_the_run_in_one_line_keeping_the_last_checkpoint(silent_plugin, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "vanilla", "--trick", "boom:at=2", "--steps", "5", "--batch-size", "4",
                 "--checkpoint-every", "1", "--device", "cpu", "--data", "mnist:test-b", "--out", str(run)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("ganzoo train: trick 'boom' (plugin silent-test) raised RuntimeError in phase "
                              "'discriminator': the size of tensor a (32) must match the size of tensor b (128); "
                              "training stopped at step 2; the last good checkpoint (step 2) is ")
    from ganzoo.runs.checkpoint import load_checkpoint

    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 2


def test_score_takes_the_labels_to_use_and_refuses_a_mismatch(fresh_plugins):
    def register_tricks(register):
        register("consistency", Consistency)
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(register_tricks=hookimpl(register_tricks)), "score-test")
    batch = labelled_batch((1, 28, 28), 8, seed=2)
    torch.manual_seed(0)
    gan = ganzoo.create_variant("cgan", num_classes=10, batch_size=8, tricks=["consistency"])
    TrainingStep(gan)(lambda: batch)  # the fakes' classes reach the trick: real + fake labels fit
    gan = ganzoo.create_variant("cgan", num_classes=10, batch_size=8, tricks={"consistency": {"pass_labels": False}})
    with pytest.raises(TrickError, match=r"trick 'consistency' \(plugin score-test\) raised ValueError .*"
                                         r"conditional and got 16 images with 8 labels; pass their classes"):
        TrainingStep(gan)(lambda: batch)


class TheirRagan(ganzoo.Loss):
    """An outside package's 'ragan', written before ganzoo had its own: another scale."""

    def d_loss(self, real_scores, fake_scores, real_labels, fake_labels):
        return 1000.0 + (real_scores - fake_scores).mean()

    def g_loss(self, fake_scores, real_scores=None):
        return 1000.0 - fake_scores.mean()


@pytest.fixture
def late_package(fresh_plugins):
    """A package that registers a loss whose name ganzoo's own plugins own, and a variant using it."""
    def register_losses(register):
        register("ragan", TheirRagan, tags=("labels",))

    def register_variants(register):
        register(ganzoo.Variant(name="sngan-res", generator="mlp", discriminator="mlp", loss="ragan",
                                tricks=["label-smoothing"], batch_size=4, latent_dim=8))
    plugin = types.SimpleNamespace(register_losses=hookimpl(register_losses),
                                   register_variants=hookimpl(register_variants))
    return fresh_plugins.get_host().add_plugin(plugin, "sngan", distribution="Ganzoo_SNGAN", version="0.3")


def test_a_package_whose_loss_name_is_taken_keeps_training_its_own_loss(late_package, tmp_path, capsys):
    [problem] = late_package.problems
    assert problem == ("loss 'ragan' is taken (owned by losses (ganzoo " + ganzoo.__version__ + ")); this one is "
                       "'ganzoo-sngan/ragan', and this plugin's variants use it")
    variant = ganzoo.get_variant("sngan-res")
    assert variant.loss == "ganzoo-sngan/ragan"
    gan = ganzoo.create_variant("sngan-res")
    assert isinstance(gan.loss, TheirRagan)
    assert not isinstance(ganzoo.create_variant("vanilla", loss="ragan", tricks={}).loss, TheirRagan)
    # Its labels tag travels with it: label smoothing is allowed on its own loss.
    assert ganzoo.get_component("loss", "ganzoo-sngan/ragan").tags == frozenset({"labels"})
    run = tmp_path / "run"
    assert main(["train", "sngan-res", "--steps", "1", "--device", "cpu", "--data", "mnist:test-b",
                 "--out", str(run)]) == 0
    import json

    assert json.loads((run / "config.json").read_text())["variant"]["loss"] == "ganzoo-sngan/ragan"
    # Anyone may ask for it by its qualified name; a wrong one gets suggestions.
    assert isinstance(ganzoo.create_variant("vanilla", loss="ganzoo-sngan/ragan").loss, TheirRagan)
    assert type(ganzoo.create_variant("vanilla", loss="ganzoo/ragan", tricks={}).loss).__name__ != "TheirRagan"
    with pytest.raises(ganzoo.UnknownNameError, match="did you mean 'ganzoo-sngan/ragan'"):
        ganzoo.create_variant("vanilla", loss="ganzoo-sngan/ragn")


def test_a_disabled_plugin_is_named_as_the_cause_of_the_variants_it_takes_along(fresh_plugins, monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "phases")
    assert main(["train", "vanilla", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ganzoo train: error: variant 'vanilla' is not available: it uses unknown update "
                          "'discriminator', update 'generator' (not loaded, by GANZOO_LOAD_PLUGINS/"
                          "GANZOO_DISABLE_PLUGINS: phases (ganzoo)")


def test_the_kit_catches_an_update_calling_points_it_does_not_declare(fresh_plugins):
    from ganzoo.conformance import check_variant_step

    def register_updates(register):
        register("under-declared", RealOnlyUpdate, roles=("discriminator",), points=())
        register("declared", RealOnlyUpdate, roles=("discriminator",), points=("real_input",))

    def register_variants(register):
        for update in ("under-declared", "declared"):
            register(ganzoo.Variant(name=f"{update}-gan", generator="mlp", discriminator="mlp", loss="bce",
                                    phases=(ganzoo.Phase(update), ganzoo.Phase("generator")), batch_size=4))
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_updates=hookimpl(register_updates), register_variants=hookimpl(register_variants)), "kit-points")
    with pytest.raises(AssertionError, match=r"update 'under-declared' calls the trick point\(s\) real_input it "
                                             r"does not declare"):
        check_variant_step("under-declared-gan")
    check_variant_step("declared-gan")


def test_compare_refuses_a_trick_that_would_not_act_before_it_writes_anything(silent_plugin, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "r1-only-gan", "--trick", "label-smoothing", "--steps", "1", "--seeds", "1",
                 "--out", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "trick 'label-smoothing' acts at labels, which no update of this step calls" in line
    assert not out.exists()


def test_train_observes_undeclared_updates_before_the_run_folder_and_restores_the_rngs(silent_plugin, tmp_path,
                                                                                        capsys):
    from ganzoo.training.step import check_undeclared_points

    out = tmp_path / "run"
    assert main(["train", "real-only-gan", "--trick", "label-smoothing", "--steps", "1", "--device", "cpu",
                 "--data", "mnist:test-b", "--out", str(out)]) == 2
    assert "observed in the first step: update 'real-only' declares no points" in capsys.readouterr().err
    assert not out.exists()
    torch.manual_seed(0)
    gan = ganzoo.create_variant("real-only-gan", tricks=["instance-noise"])
    weights = [p.detach().clone() for p in gan.discriminator.parameters()]
    state = torch.get_rng_state()
    check_undeclared_points(gan)
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(weights, gan.discriminator.parameters()))


def test_a_disabled_plugin_is_named_when_a_component_it_provides_is_missing(fresh_plugins, monkeypatch, capsys,
                                                                             tmp_path):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "loggers")
    assert main(["train", "vanilla", "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ganzoo train: error: unknown logger 'jsonl' (not loaded, by GANZOO_LOAD_PLUGINS/GANZOO_DISABLE_PLUGINS: "
        "loggers (ganzoo); one of them may provide it)")
    assert not (tmp_path / "run").exists()
