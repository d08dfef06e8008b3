"""Round-trip YAML with ruamel: comments, order, quoting and layout survive an edit.

A file is only edited when loading and dumping it unchanged gives back the very same
bytes; otherwise the tool refuses rather than reformat someone's file.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Optional, Tuple, Union

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from retrain.errors import UserError

Container = Union[CommentedMap, CommentedSeq]


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


class Document:
    """One YAML file loaded for a round-trip edit."""

    def __init__(self, path: Path, text: str) -> None:
        """Parse `text` (the content of `path`), noting whether it round-trips exactly."""
        self.path = path
        self.original = text
        try:
            _, indent, offset = load_yaml_guess_indent(text)
        except Exception as error:  # ruamel raises many error types
            raise UserError(f"{path} is not valid YAML: {error}") from error
        indent, offset = indent or 2, offset or 0
        # The first layout that gives back the very same text is the file's layout.
        self.exact = False
        for layout in ((2, indent, offset), (indent, indent, offset), (2, 2, 0), (2, 4, 2)):
            self._yaml = _yaml(*layout)
            self.data = self._yaml.load(text)
            self.baseline = self.dump()  # compared with later dumps to see whether it was edited
            if self.baseline == text:
                self.exact = True
                return

    @property
    def edited(self) -> bool:
        """Whether the data was changed since loading."""
        return self.dump() != self.baseline

    def check_editable(self) -> None:
        """Refuse to edit a file whose layout would not survive the round trip."""
        if not self.exact:
            raise UserError(
                f"{self.path} is laid out in a way this tool cannot keep exactly as it is, so it "
                "will not edit it. Ask whoever maintains the assistant to tidy it."
            )

    @classmethod
    def load(cls, path: Path) -> "Document":
        """Read and parse a file."""
        return cls(path, path.read_text(encoding="utf-8"))

    def dump(self) -> str:
        """The document as text."""
        out = io.StringIO()
        self._yaml.dump(self.data, out)
        return out.getvalue()


def _last_slot(node: Any) -> Optional[Tuple[Container, Any]]:
    """The innermost (container, key or index) that ends `node`, where trailing blank
    lines and comments are attached."""
    slot = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        slot = (node, key)
        node = node[key]
    return slot


def trailing(node: Any) -> Optional[CommentToken]:
    """The blank lines / comments that follow `node` in the file, if any."""
    slot = _last_slot(node)
    if slot is None:
        return None
    container, key = slot
    entry = container.ca.items.get(key)
    if not entry:
        return None
    return entry[2] if isinstance(container, CommentedMap) else entry[0]


def set_trailing(node: Any, token: Optional[CommentToken]) -> None:
    """Replace what follows `node` in the file (None: nothing, the next item follows)."""
    slot = _last_slot(node)
    if slot is None:
        return
    container, key = slot
    if isinstance(container, CommentedMap):
        entry = container.ca.items.setdefault(key, [None, None, None, None])
        entry[2] = token
    else:
        entry = container.ca.items.setdefault(key, [None, None])
        entry[0] = token


def blank_line() -> CommentToken:
    """A separator of one empty line."""
    return CommentToken("\n", CommentMark(0), None)


def insert_after(seq_or_map: Container, position: int, key: Any, value: Any) -> None:
    """Insert an item after the item at `position`, keeping the file's separators.

    The new item takes over whatever followed the previous item (blank lines, a
    comment introducing the next section); the previous item is then followed by a
    blank line if the file separates items that way, else by nothing.
    """
    items = list(seq_or_map.values()) if isinstance(seq_or_map, CommentedMap) else list(seq_or_map)
    previous = items[position]
    old = trailing(previous)
    uses_blank_lines = any(
        (tok := trailing(item)) is not None and tok.value.startswith("\n") for item in items
    )
    if isinstance(seq_or_map, CommentedMap):
        seq_or_map.insert(position + 1, key, value)
    else:
        seq_or_map.insert(position + 1, value)
    set_trailing(value, copy.deepcopy(old) if old is not None else None)
    set_trailing(previous, blank_line() if uses_blank_lines else None)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's content in one step (a crash leaves the old or the new file)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
