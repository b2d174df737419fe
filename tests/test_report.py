"""Statistics that tricks report reach the progress line, metrics.jsonl and the loss plot,
without any module listing their names."""

from __future__ import annotations

import json
import types

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import StepState, hookimpl
from ganzoo.training.config import TrainConfig
from ganzoo.training.trainer import Trainer


class _ReportsTheStep(ganzoo.Trick):
    name = "reports"

    def d_loss_term(self, real, fake, state):
        state.report("real_brightness", real.mean() + 1)
        state.report("step_seen", state.step_tensor + 1)
        return None


def _run(tmp_path, recipe, name="run"):
    config = TrainConfig(variant="vanilla", steps=3, recipe={"batch_size": 4, **recipe}, log_every=1,
                         sample_every=100, checkpoint_every=100, samples_in_grid=4, data="mnist:test-b",
                         out=str(tmp_path / name))
    return Trainer(config).run().run_dir


def test_a_reported_statistic_reaches_the_log_progress_and_plot(tmp_path, fresh_plugins, capsys):
    plugin = types.SimpleNamespace(register_tricks=hookimpl(lambda register: register("reports", _ReportsTheStep)))
    fresh_plugins.get_host().add_plugin(plugin, "report-test")
    run = _run(tmp_path, {"tricks": {"reports": {}}})
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step_seen"] for r in records] == [1.0, 2.0, 3.0]  # the value of each step, not the first
    assert all(0 < r["real_brightness"] < 2 for r in records)
    progress = capsys.readouterr().err
    assert "| real_brightness " in progress and "| step_seen 3" in progress
    assert (run / "loss.png").is_file()


def test_the_gradient_penalty_reports_itself(tmp_path):
    run = _run(tmp_path, {"generator": "mlp", "discriminator": "mlp", "loss": "wasserstein",
                          "tricks": {"gradient-penalty": {}}})
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["gradient_penalty"] >= 0 for r in records)


@pytest.mark.parametrize("name", ["d_loss", "steps_per_sec", "Bad Name", "CamelCase"])
def test_reserved_or_malformed_names_are_refused(name):
    state = StepState(step=0, total_steps=None, generator=nn.Identity(), discriminator=nn.Identity())
    with pytest.raises(ValueError, match="not a free lower_snake_case statistic name"):
        state.report(name, torch.tensor(1.0))


def test_progress_and_plot_show_whatever_the_updates_report(tmp_path, capsys):
    """Regression: the progress line and loss.png knew only d_loss/g_loss, so a step of other
    updates (CycleGAN's cycle_loss, a D-only phase) showed no loss and drew no plot."""
    from ganzoo.runs.rundir import plot_losses
    from ganzoo.training.progress import PlainProgress

    records = [{"step": s, "time": 0.1 * s, "steps_per_sec": 2.0, "cycle_loss": 1 / s, "d_b_loss": 0.25, "mi": 0.5}
               for s in (1, 2, 3)]
    PlainProgress(3).update(1, records[0])
    line = capsys.readouterr().err.strip()
    assert line.startswith("step 1/3 | 2.0 steps/s | cycle_loss 1.0000 d_b_loss 0.2500 | mi 0.5 | eta"), line
    assert plot_losses(records, tmp_path / "loss.png") == tmp_path / "loss.png"
