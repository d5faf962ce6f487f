"""No module of src/casework over 450 lines and no function over 80, unless the code says why:
a comment containing "long:" on the line just above the function (above its decorators), or
"long:" in the module's docstring. Migrations are generated and left out."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "casework"
MODULE_LINES = 450
FUNCTION_LINES = 80
REASON = "long:"


def oversized(path: Path, root: Path = SRC) -> list[str]:
    """What in `path` is over the limits without a reason given (named from `root`)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    found = []
    if len(lines) > MODULE_LINES and REASON not in (ast.get_docstring(tree) or ""):
        found.append(f"{path.relative_to(root)}: {len(lines)} lines")
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first >= 2 else ""
        if length > FUNCTION_LINES and not (above.startswith("#") and REASON in above):
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found


def sources() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.relative_to(SRC).parts]


def test_no_module_or_function_is_long_without_saying_why() -> None:
    found = [problem for path in sources() for problem in oversized(path)]
    assert not found, "too long, with no '# long: why' comment:\n" + "\n".join(found)


def test_a_reason_above_the_function_or_in_the_docstring_lets_it_be(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(FUNCTION_LINES))
    plain = tmp_path / "plain.py"
    plain.write_text(f"def f():\n{body}", encoding="utf-8")
    said = tmp_path / "said.py"
    said.write_text(f"# long: one hot loop, kept whole for speed\n@staticmethod\ndef f():\n{body}")
    module = tmp_path / "module.py"
    module.write_text('"""A module.\n\nlong: a table."""\n' + "x = 1\n" * MODULE_LINES)
    assert oversized(plain, tmp_path) == [f"plain.py:1 f: {FUNCTION_LINES + 1} lines"]
    assert oversized(said, tmp_path) == []
    assert oversized(module, tmp_path) == []
    module.write_text('"""A module."""\n' + "x = 1\n" * MODULE_LINES)
    assert oversized(module, tmp_path) == [f"module.py: {MODULE_LINES + 1} lines"]
