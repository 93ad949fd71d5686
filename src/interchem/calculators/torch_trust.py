"""Scoped full unpickling for torch files that are trusted (a module of its own: the MLIP backends in
``mlip`` and the trainers in ``chgnet_train`` / ``sevennet_train`` both need it, and ``mlip`` imports them)."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Safe loading. torch >= 2.6 unpickles only tensors and allow-listed types by default (weights_only):
# a pickled model file could otherwise run any code when loaded. Files shipped inside installed wheels
# (CHGNet and SevenNet weights, e3nn's constants.pt, which e3nn 0.4.4 loads without weights_only at
# import) and model files the user marked trusted are loaded with full unpickling, inside
# ``trusted_torch_load`` only; every other torch.load in the process keeps torch's safe default.

_FORCE_FULL_LOAD = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"  # read by torch.load at each call
_TRUST_LOCK = threading.RLock()


@contextmanager
def trusted_torch_load() -> Iterator[None]:
    """``torch.load`` calls in the block that do not pass ``weights_only`` unpickle whole Python objects.
    Only for files from installed wheels or that the user trusts; the environment is restored after."""
    with _TRUST_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=f"Environment variable {_FORCE_FULL_LOAD} detected")
        before = os.environ.get(_FORCE_FULL_LOAD)
        os.environ[_FORCE_FULL_LOAD] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(_FORCE_FULL_LOAD, None)
            else:
                os.environ[_FORCE_FULL_LOAD] = before
