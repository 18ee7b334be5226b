"""Every example runs with ``--quick`` and leaves what it promises (a printed front, a picture).

The examples are imported and their ``main(argv)`` called in this process, so
the imports (numba, sympy, torch) and the compiled kernels are paid once.
A cold kernel cache makes the first run of each operator set slower (about
15-30 s each; see docs/troubleshooting.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: Files of examples/ that this module does not run: ``make demo`` runs demo.py, and the
#: cluster examples need a scheduler or several processes (they have their own tests).
NOT_RUN_HERE = {"demo.py", "cluster_slurm.py", "cluster_local.py"}

#: example -> (extra arguments, writes a picture named ...)
CASES = {
    "quickstart.py": ([], None),
    "hubble.py": ([], "hubble.png"),
    "kepler.py": ([], "kepler.png"),
    "newton.py": ([], "newton.png"),
    "custom_operators.py": ([], None),
    "pinn_distill.py": ([], "pinn_distill.png"),
    "neural_guidance.py": ([], "neural_guidance.png"),
    "exercise_noise.py": ([], "exercise_noise.png"),
    "exercise_burgers.py": ([], "exercise_burgers.png"),
    "exercise_taylor.py": ([], "exercise_taylor.png"),
}
NEEDS_TORCH = {"pinn_distill.py", "neural_guidance.py"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{Path(name).stem}", EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_run_here():
    scripts = {p.name for p in EXAMPLES.glob("*.py")} - NOT_RUN_HERE
    assert scripts == set(CASES), "add new examples to CASES (or NOT_RUN_HERE)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs_quickly(name, tmp_path, capsys):
    if name in NEEDS_TORCH:
        pytest.importorskip("torch")
    extra, picture = CASES[name]
    module = _load(name)
    argv = ["--quick", *extra] + (["--out", str(tmp_path)] if picture else [])
    assert module.main(argv) == 0
    printed = capsys.readouterr().out
    assert "complexity" in printed or "picked" in printed
    if picture:
        path = tmp_path / picture
        assert path.is_file() and path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_has_a_usage_docstring(name):
    text = (EXAMPLES / name).read_text()
    assert text.startswith('"""') and f"python examples/{name}" in text
    assert "def main(argv=None)" in text and '"--quick"' in text
