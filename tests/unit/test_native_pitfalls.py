"""The compiled modules (src/tradeops/_native.py) avoid the two constructs mypyc 2.4 compiles to
other behaviour than CPython's, both found in this code base (docs/benchmarks.md, seventh session):

- a call inside a slice bound is evaluated twice (`view[os.write(fd, view):]` wrote twice);
- a name bound by `except ... as name` keeps the type of its first binding, so a second handler
  of another exception type binding the same name raises TypeError.

Pure calls (`max`, `min`, `len`) inside a slice bound are harmless and allowed."""

from __future__ import annotations

import ast
from collections import defaultdict

from tradeops import _native

PURE_IN_SLICES = frozenset({"max", "min", "len", "abs", "int"})


def _trees() -> dict[str, ast.Module]:
    return {m: ast.parse(_native.source_path(m).read_text(encoding="utf-8")) for m in _native.NATIVE_MODULES}


def _calls_in_slices(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Slice):
            continue
        for bound in (node.lower, node.upper, node.step):
            for inner in ast.walk(bound) if bound is not None else ():
                if isinstance(inner, ast.Call):
                    name = inner.func.id if isinstance(inner.func, ast.Name) else None
                    if name not in PURE_IN_SLICES:
                        lines.append(inner.lineno)
    return lines


def _rebound_except_names(tree: ast.AST) -> list[int]:
    lines = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        caught: dict[str, set[str]] = defaultdict(set)
        for node in ast.walk(function):
            if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                caught[node.name].add(ast.unparse(node.type))
                if len(caught[node.name]) > 1:
                    lines.append(node.lineno)
    return lines


def test_no_call_with_effects_inside_a_slice_bound() -> None:
    found = {m: lines for m, tree in _trees().items() if (lines := _calls_in_slices(tree))}
    assert not found, f"bind the call's result to a name first (mypyc evaluates it twice): {found}"


def test_no_except_name_bound_to_two_exception_types_in_one_function() -> None:
    found = {m: lines for m, tree in _trees().items() if (lines := _rebound_except_names(tree))}
    assert not found, f"use another name in the later handler (mypyc keeps the first type): {found}"


def test_the_checks_find_both_pitfalls() -> None:
    bad = ast.parse(
        "def f(fd, view):\n"
        "    view = view[os.write(fd, view):]\n"
        "    try:\n        pass\n    except KeyError as exc:\n        pass\n"
        "    try:\n        pass\n    except (ValueError, TypeError) as exc:\n        pass\n"
        "    return view[max(0, 1):len(view)]\n"
    )
    assert _calls_in_slices(bad) == [2]
    assert _rebound_except_names(bad) == [9]
