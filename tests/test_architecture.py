"""The house rules of docs/architecture.md, checked on the source tree (the layer contracts themselves
are checked by import-linter in .ci/run):

* no private name (leading underscore) is imported from another module;
* no module over MAX_MODULE_LINES lines;
* no function body over MAX_FUNCTION_LINES lines unless a comment at its top says why (``# long: ...``, any case);
  the body is counted from its first statement after the docstring, so a command's option list (its
  signature) and its documentation do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "interchem"
MAX_MODULE_LINES = 550  # "no module over ~500 lines"
MAX_FUNCTION_LINES = 60
LONG_MARKER = "# long"  # "# long: <reason>" or "# Long by intent (...): <reason>", any case

MODULES = sorted(SRC.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_source_tree_is_found():
    assert len(MODULES) > 40, SRC


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_names_imported_across_modules(path):
    tree = ast.parse(path.read_text())
    own = _module_name(path)
    offending = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("interchem"):
            if node.module == own:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    offending.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    assert not offending, f"{path.name} imports private names of other modules: {offending}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_size(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(SRC)} has {n} lines (> {MAX_MODULE_LINES}): split it at a seam"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_long_functions_say_why(path):
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    offending = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                len(body) > 1
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
            ):
                body = body[1:]  # the docstring
            length = node.end_lineno - body[0].lineno + 1
            if length <= MAX_FUNCTION_LINES:
                continue
            # The reason goes in a comment at the top: in the signature, docstring or first body lines.
            head = lines[node.lineno - 1 : min(body[0].lineno + 3, node.end_lineno)]
            if not any(LONG_MARKER in line.lower() for line in head):
                offending.append(f"{node.name} (line {node.lineno}, {length} lines)")
    assert not offending, (
        f"{path.relative_to(SRC)}: functions over {MAX_FUNCTION_LINES} lines without '{LONG_MARKER}': {offending}"
    )


def _tool(name: str) -> Path:
    import shutil
    import sys

    path = Path(sys.executable).parent / name
    found = path if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install 'interchem[test]')")
    return Path(found)


def test_ruff_finds_nothing():
    import subprocess

    run = subprocess.run([str(_tool("ruff")), "check", "-q", "."], cwd=SRC.parents[1], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]


def test_import_layer_contracts_are_kept():
    import subprocess

    run = subprocess.run([str(_tool("lint-imports")), "--no-cache"], cwd=SRC.parents[1], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]
