"""The ``upsample-conv`` generator: bilinear upsampling followed by convolutions.

Provenance: the Keras MNIST GAN tutorial that swaps transposed convolutions for bilinear
upsampling + convolution (shared/seeds 000); Odena et al. 2016, distill.pub/2016/deconv-checkerboard.
"""

from __future__ import annotations

from ganzoo import hookimpl, lazy


@hookimpl
def register_generators(register):
    register("upsample-conv",
             lazy("ganzoo_plugins.upsample_conv.networks:UpsampleConvGenerator"),
             summary="dense → 12×12×100 → conv/bilinear-upsample stack → tanh (no checkerboard)",
             source="Odena et al. 2016, 'Deconvolution and Checkerboard Artifacts'; Keras MNIST tutorial")
