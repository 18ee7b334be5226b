"""The user guide stays true to the code: options, links, examples and code blocks."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from hybridsr import HybridSRRegressor
from hybridsr.config import MutationWeights

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
OPTIONS = DOCS / "options.md"
#: A table row that documents an option: | `name` | `default` | meaning |
ROW = re.compile(r"^\|\s*`(?P<name>[A-Za-z_][A-Za-z0-9_]*)`\s*\|\s*`(?P<default>[^`]*)`\s*\|")
MUTATION_HEADING = "MutationWeights"


def _documented() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Option rows of options.md, and the rows of its MutationWeights section: name -> defaults."""
    options: dict[str, list[str]] = {}
    weights: dict[str, list[str]] = {}
    target = options
    for line in OPTIONS.read_text().splitlines():
        if line.startswith("#"):
            target = weights if MUTATION_HEADING in line else options
            continue
        match = ROW.match(line)
        if match:
            target.setdefault(match["name"], []).append(match["default"])
    return options, weights


def _signature_defaults() -> dict:
    parameters = inspect.signature(HybridSRRegressor.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name != "self"}


def test_every_parameter_is_documented_once_and_nothing_else():
    documented, _ = _documented()
    signature = _signature_defaults()
    missing = sorted(set(signature) - set(documented))
    extra = sorted(set(documented) - set(signature))
    assert not missing, f"parameters missing from docs/options.md: {missing}"
    assert not extra, f"docs/options.md documents options the estimator lacks: {extra}"
    repeated = sorted(name for name, rows in documented.items() if len(rows) > 1)
    assert not repeated, f"documented more than once: {repeated}"


def test_documented_defaults_are_the_signature_defaults():
    documented, _ = _documented()
    signature = _signature_defaults()
    wrong = {name: (rows[0], signature[name]) for name, rows in documented.items()
             if name in signature and ast.literal_eval(rows[0]) != signature[name]}
    assert not wrong, f"docs/options.md defaults differ from the signature: {wrong}"


def test_mutation_weights_table_matches_the_dataclass():
    _, weights = _documented()
    fields = {f.name: f.default for f in dataclasses.fields(MutationWeights)}
    assert set(weights) == set(fields)
    assert {name: ast.literal_eval(rows[0]) for name, rows in weights.items()} == fields


def _markdown_files() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.name)
def test_relative_links_resolve(page):
    text = page.read_text()
    headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        if path:
            file = (page.parent / path).resolve()
            assert file.exists(), f"{page.name}: broken link {target}"
            if anchor and file.suffix == ".md":
                own = {_anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)}
                assert anchor in own, f"{page.name}: no heading #{anchor} in {path}"
        else:
            assert anchor in headings, f"{page.name}: no heading #{anchor}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.name)
def test_python_blocks_parse(page):
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        ast.parse(block)


def test_examples_page_lists_every_example():
    text = (DOCS / "examples.md").read_text()
    missing = [p.name for p in sorted((ROOT / "examples").glob("*.py")) if p.name not in text]
    assert not missing, f"docs/examples.md does not mention {missing}"


def test_guide_index_links_every_page():
    index = (DOCS / "README.md").read_text()
    missing = [p.name for p in _markdown_files()
               if p.name != "README.md" and f"({p.name})" not in index]
    assert not missing, f"docs/README.md does not link {missing}"


def _bench_parser():
    from hybridsr.cli import build_parser
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    return commands.choices["bench"]


def test_bench_page_states_the_command_line_defaults_and_every_method():
    from hybridsr.bench.methods import METHOD_NAMES
    defaults = {action.option_strings[-1]: action.default for action in _bench_parser()._actions
                if action.option_strings}
    row = re.compile(r"^\|\s*`(?P<option>--[a-z-]+)`\s*\|\s*`(?P<default>[^`]*)`\s*\|(?P<meaning>.*)")
    page = (DOCS / "benchmarks.md").read_text().splitlines()
    rows = {m["option"]: m for m in map(row.match, page) if m}
    assert rows, "docs/benchmarks.md has no option table"
    for option, match in rows.items():
        assert option in defaults, f"docs/benchmarks.md documents {option}, which bench lacks"
        try:
            documented = ast.literal_eval(match["default"])
        except (ValueError, SyntaxError):
            documented = match["default"]
        assert documented == defaults[option] or match["default"] == str(defaults[option]), (
            f"docs/benchmarks.md gives {option} the default {match['default']!r}; "
            f"bench's is {defaults[option]!r}")
    listed = set(re.findall(r"`([a-z-]+)`", rows["--methods"]["meaning"]))
    assert set(METHOD_NAMES) <= listed, f"methods missing from the page: {set(METHOD_NAMES) - listed}"
