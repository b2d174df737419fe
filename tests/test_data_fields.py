"""Data with several fields: a variant declares the image fields its updates read
(``data_fields``); ``--field NAME=SOURCE`` (drawn on its own: a second domain) and
``--paired-field`` (drawn with the images) bring them; the batch carries them; resuming, ranks'
shards, the kit and bench handle them; missing, unread or misshapen fields are one line."""

from __future__ import annotations

import types

import pytest
import torch

import ganzoo
from ganzoo import Batch, StepContext, Update, hookimpl
from ganzoo.cli import main
from ganzoo.conformance import check_checkpoint_round_trip, check_variant_step
from ganzoo.training.sampling import BatchSampler, DataField


class TwoDomainUpdate(Update):
    """The discriminator tells the images from the ``domain_b`` field (a stand-in for one half of
    CycleGAN: enough to prove the field reaches the update)."""

    name = "two-domain"
    seen: list[Batch] = []

    def run(self, step: StepContext):
        batch = step.next_batch()
        TwoDomainUpdate.seen.append(batch)
        real, other = step.discriminate(batch.images)[0], step.discriminate(batch["domain_b"])[0]
        loss = step.gan.loss.d_loss(real, other, torch.ones_like(real), torch.zeros_like(other))
        step.optimize(loss, "discriminator")
        return {"d_loss": loss.detach()}


@pytest.fixture
def fields_plugin(fresh_plugins):
    def register_updates(register):
        register("two-domain", TwoDomainUpdate, roles=("discriminator",), points=())

    def register_variants(register):
        register(ganzoo.Variant(name="two-domain", generator="mlp", discriminator="mlp", loss="bce", batch_size=4,
                                phases=(ganzoo.Phase("two-domain"), ganzoo.Phase("generator")),
                                data_fields=("domain_b",)))
    fresh_plugins.get_host().add_plugin(types.SimpleNamespace(
        register_updates=hookimpl(register_updates), register_variants=hookimpl(register_variants)), "fields-test")
    TwoDomainUpdate.seen.clear()


def _sampler(fields, world_size=1, rank=0, batch=4):
    data = torch.arange(10.0).view(10, 1, 1, 1)
    return BatchSampler(data, batch, 2, seed=3, rank=rank, world_size=world_size, fields=fields)


def test_paired_fields_follow_the_images_and_unpaired_ones_draw_their_own():
    data = torch.arange(10.0).view(10, 1, 1, 1)
    sampler = _sampler({"neg": DataField(-data, paired=True), "other": DataField(100 + torch.arange(7.0).view(7, 1, 1, 1))})
    batch = sampler.batch()
    assert torch.equal(batch["neg"], -batch.images)
    assert batch["other"].min() >= 100 and batch["other"].max() < 107
    with pytest.raises(KeyError, match="the batch has no field 'nope' \\(it has: images, labels, neg, other\\)"):
        batch["nope"]
    # Exact resume: the sampler's state brings back the same draws, fields included.
    state = sampler.state_dict()
    again = sampler.batch()
    sampler.load_state_dict(state)
    redrawn = sampler.batch()
    assert all(torch.equal(again[k], redrawn[k]) for k in ("images", "neg", "other"))
    # Two ranks' shards are one process's global batch.
    fields = lambda: {"other": DataField(100 + torch.arange(7.0).view(7, 1, 1, 1))}  # noqa: E731
    whole = _sampler(fields(), batch=4).batch()
    halves = [_sampler(fields(), world_size=2, rank=r, batch=2).batch() for r in (0, 1)]
    for key in ("images", "other"):
        assert torch.equal(torch.cat([h[key] for h in halves]), whole[key])


def test_a_variant_reads_its_field_from_the_command_line_and_resumes_exactly(fields_plugin, tmp_path, capsys):
    common = ["--data", "mnist:test-b", "--field", "domain_b=mnist:test-a", "--device", "cpu", "--precision", "fp32",
              "--checkpoint-every", "2", "--seed", "1"]
    assert main(["train", "two-domain", "--steps", "2", "--out", str(tmp_path / "half"), *common]) == 0
    assert "field domain_b (unpaired): built-in MNIST digits (test-a split" in capsys.readouterr().err
    assert TwoDomainUpdate.seen and TwoDomainUpdate.seen[-1]["domain_b"].shape == (4, 1, 28, 28)
    assert main(["train", "--resume", str(tmp_path / "half"), "--steps", "3"]) == 0
    assert main(["train", "two-domain", "--steps", "3", "--out", str(tmp_path / "once"), *common]) == 0
    from ganzoo.runs.checkpoint import load_checkpoint

    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "last.pt", resume=True) for r in ("half", "once"))
    assert all(torch.equal(v, b["state"]["networks"][role][k])
               for role, net in a["state"]["networks"].items() for k, v in net.items())


@pytest.mark.parametrize("args, message", [
    ([], "variant 'two-domain' reads the data field 'domain_b', which built-in MNIST digits (test-b split"),
    (["--field", "domain_b=mnist:test-a", "--field", "extra=mnist:test-a"],
     "field 'extra': variant 'two-domain' does not read it (its data fields: domain_b); leave it out"),
    (["--field", "domain_b=mnist:test-a", "--image-size", "16", "--paired-field", "x=mnist:test-a"],
     "field 'x': variant 'two-domain' does not read it"),
    (["--paired-field", "domain_b=mnist:test-a", "--data", "mnist:train"],
     "--paired-field domain_b: mnist:test-a holds 1000 images; a paired field needs one per data image (3000)"),
    (["--field", "images=mnist:test-a"], "--field images: a field name is an identifier other than images and labels"),
    (["--field", "domain_b"], "--field: expected NAME=SOURCE, got 'domain_b'"),
])
def test_bad_fields_are_one_line_before_the_run_folder(fields_plugin, tmp_path, capsys, args, message):
    out = tmp_path / "run"
    try:
        code = main(["train", "two-domain", "--steps", "1", "--data", "mnist:test-b", *args, "--out", str(out)])
    except SystemExit as exit:  # a flag argparse refuses
        code = exit.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_the_kit_and_bench_draw_the_fields_a_variant_reads(fields_plugin):
    from ganzoo.benchmarking import bench_variant

    check_variant_step("two-domain")
    check_checkpoint_round_trip("two-domain")
    assert TwoDomainUpdate.seen[-1]["domain_b"].shape == TwoDomainUpdate.seen[-1].images.shape
    result = bench_variant("two-domain", batch_size=4, device="cpu", steps=1, warmup=0)
    assert result.steps_per_sec > 0
