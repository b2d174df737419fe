"""The ``timm`` discriminator family: any image model of timm as a GAN discriminator.

``--discriminator timm:resnet18`` builds ``timm.create_model("resnet18", pretrained=False,
num_classes=1, in_chans=C)``: timm swaps the stem for C input channels and the head for one
logit, which is exactly what we would otherwise write by hand for every architecture. Weights
are never pretrained (ganzoo never downloads anything). The bare name ``timm`` builds the
default model, resnet18, so generic tests can check the family.

Provenance: timm (Wightman, https://github.com/huggingface/pytorch-image-models),
``timm.create_model``; ResNet: He et al. 2015, arXiv:1512.03385.
"""

from __future__ import annotations

from ganzoo import hookimpl, lazy

DEFAULT_MODEL = "resnet18"


@hookimpl
def register_discriminators(register):
    # model_name has a default: the bare family name must build too.
    register("timm", lazy("ganzoo_plugins.timm_nets.networks:TimmDiscriminator",
                          model_name=DEFAULT_MODEL),
             suffix_param="model_name",
             summary="timm:MODEL — any timm image model, untrained, one logit "
                     f"(e.g. timm:resnet18; bare 'timm' is {DEFAULT_MODEL})",
             source="timm (pytorch-image-models), timm.create_model")
