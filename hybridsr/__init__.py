"""hybridsr: hybrid neural-guided genetic-programming symbolic regression.

The layers, each importable on its own (imports point one way):
:mod:`hybridsr.operators` -> :mod:`hybridsr.expr` -> :mod:`hybridsr.evaluate`
-> :mod:`hybridsr.constants`. torch is never imported here.
"""

from .constants import ConstantFit, fit_constants
from .evaluate import Dataset, Evaluator
from .expr import Language
from .operators import OperatorSet

__version__ = "0.1.0"

__all__ = ["ConstantFit", "Dataset", "Evaluator", "Language", "OperatorSet", "fit_constants",
           "__version__"]
