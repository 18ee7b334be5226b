"""Numba evaluation of expression programs: predictions, losses, constant Jacobians."""

from .codegen import kernel_cache_dir, kernel_source, load_kernels
from .evaluator import LOSSES, Dataset, Evaluator, ProgramBatch

__all__ = ["LOSSES", "Dataset", "Evaluator", "ProgramBatch", "kernel_cache_dir",
           "kernel_source", "load_kernels"]
