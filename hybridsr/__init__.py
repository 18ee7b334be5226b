"""hybridsr: hybrid neural-guided genetic-programming symbolic regression.

The layers, each importable on its own (imports point one way):
:mod:`hybridsr.operators` -> :mod:`hybridsr.expr` -> :mod:`hybridsr.evaluate`
-> :mod:`hybridsr.constants` -> :mod:`hybridsr.gp` -> :mod:`hybridsr.engine`
-> :mod:`hybridsr.estimator` and :mod:`hybridsr.cli`. torch is never imported here.

:class:`HybridSRRegressor` (which needs scikit-learn) and
:class:`MutationWeights` are imported on first use.
"""

from .constants import ConstantFit, fit_constants
from .evaluate import Dataset, Evaluator
from .expr import Language
from .operators import OperatorSet

__version__ = "0.1.0"

__all__ = ["ConstantFit", "Dataset", "Evaluator", "HybridSRRegressor", "Language",
           "MutationWeights", "OperatorSet", "fit_constants", "__version__"]

# Names imported lazily, with the module that defines them.
_LAZY = {"HybridSRRegressor": "estimator", "MutationWeights": "config"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
