"""Neural guidance: the teacher network and the student distilled from it.

This is the only package that imports torch; nothing outside it imports it
at import time, so ``import hybridsr`` stays light and works without torch.

:mod:`hybridsr.neural.teacher`
    :class:`Teacher`, a torch MLP fitted to the data (denoised predictions,
    input gradients, hidden activations, dense samples in the data's box).
:mod:`hybridsr.neural.eql`
    The EQL student: a sparse network of interpretable units distilled from
    a teacher (or fitted to data) and read out as a formula.
"""

from .teacher import ACTIVATIONS, STOP_REASONS, Teacher, TeacherError, TeacherReport, load_optimizers

__all__ = ["ACTIVATIONS", "STOP_REASONS", "Teacher", "TeacherError", "TeacherReport",
           "load_optimizers"]

# --- the EQL student (hybridsr/neural/eql.py) -------------------------------
# Keep this list in step with eql.__all__.
from .eql import (  # noqa: E402
    REGULARIZATIONS,
    UNARY_UNITS,
    EQLResult,
    StudentError,
    Units,
    fit_eql,
    fit_student,
    units_for,
)

__all__ += ["REGULARIZATIONS", "UNARY_UNITS", "EQLResult", "StudentError", "Units", "fit_eql",
            "fit_student", "units_for"]

# The networks alone, as scikit-learn estimators.
from .estimators import DistilledStudentRegressor, EQLRegressor  # noqa: E402

__all__ += ["DistilledStudentRegressor", "EQLRegressor"]
