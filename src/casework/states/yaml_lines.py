"""A safe YAML reader that remembers line numbers, so every problem can say where it is.

Two departures from PyYAML's SafeLoader, both on purpose:
- only `true`/`false` are booleans: `on`, `off`, `yes`, `no` stay strings (a trigger or state
  named `on` must not become True);
- a key given twice in one mapping is an error instead of silently keeping the last one.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class LDict(dict[str, Any]):
    """A mapping read from YAML: `line` of the mapping, `lines[key]` of each key."""

    line: int
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LList(list[Any]):
    """A sequence read from YAML: `line` of the sequence, `lines[i]` of each item."""

    line: int
    lines: list[int]


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}")


def load_with_lines(text: str) -> Any:
    """Parse one YAML document into LDict/LList/scalars. Raises YamlSyntaxError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _convert(node, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, str(exc.problem or exc)) from None
    finally:
        loader.dispose()


def _convert(node: Node, loader: _Loader) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        result = LDict()
        result.line, result.lines = line, {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlSyntaxError(key_node.start_mark.line + 1, "a key must be a plain value")
            key = str(loader.construct_object(key_node))
            key_line = key_node.start_mark.line + 1
            if key in result:
                raise YamlSyntaxError(key_line, f"key {key!r} given twice")
            result[key] = _convert(value_node, loader)
            result.lines[key] = key_line
        return result
    if isinstance(node, SequenceNode):
        items = LList(_convert(item, loader) for item in node.value)
        items.line = line
        items.lines = [item.start_mark.line + 1 for item in node.value]
        return items
    return loader.construct_object(node, deep=True)
