"""Compatibility shims for how third-party libraries happen to be installed.

:func:`import_timm` exists because of one common broken install: a CUDA build of torchvision
next to a CPU build of torch (pip resolves ``timm``'s torchvision dependency to the default,
CUDA, wheel). torchvision's C extension then fails to load, so the operator schemas it would
define (``torchvision::nms`` ...) do not exist, and ``torchvision/_meta_registrations.py``, which
registers fake kernels for ``nms`` and ``qnms`` at import time, raises ``RuntimeError: operator
torchvision::nms does not exist``; ``import timm`` (which imports torchvision) fails with it.

Defining the two schemas, exactly as torchvision's ``csrc/ops/nms.cpp`` declares them, lets the
import finish. The operators still have no kernel, so anything calling them fails loudly; timm's
image models (all ganzoo uses) never do. Provenance of the schemas: torchvision 0.28
``torchvision/csrc/ops/nms.cpp`` and ``_meta_registrations.py`` (``meta_nms``/``meta_qnms``).
"""

from __future__ import annotations

import re
from types import ModuleType

# The torchvision operators whose fake kernels are registered at import time, and their schemas.
_TORCHVISION_SCHEMAS: dict[str, str] = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_MISSING_OPERATOR = re.compile(r"operator (torchvision::\w+) does not exist")


def _operator_exists(qualname: str) -> bool:
    import torch

    namespace, _, name = qualname.partition("::")
    try:
        getattr(getattr(torch.ops, namespace), name)
    except (AttributeError, RuntimeError):
        return False
    return True


def define_torchvision_schemas() -> list[str]:
    """Define the torchvision operator schemas that are missing; returns the ones defined."""
    import torch

    defined = []
    for qualname, schema in _TORCHVISION_SCHEMAS.items():
        if not _operator_exists(qualname):
            torch.library.define(qualname, schema)
            defined.append(qualname)
    return defined


def import_timm() -> ModuleType:
    """``import timm``, working around a torchvision build that does not match torch.

    Only the "operator torchvision::... does not exist" failure is handled; any other import
    error propagates unchanged.
    """
    try:
        import timm
    except RuntimeError as err:
        missing = _MISSING_OPERATOR.search(str(err))
        if missing is None or missing.group(1) not in _TORCHVISION_SCHEMAS:
            raise
        if not define_torchvision_schemas():
            raise  # the schemas exist, so the shim cannot be what is missing
        # Python dropped the modules whose import failed (torchvision, timm); modules that
        # finished importing stay cached, so the retry runs only what failed.
        import timm
    return timm
