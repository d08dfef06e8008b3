"""Print a configuration template with its `${NAME}` placeholders filled from the environment.

`python -m scripts.render_template FILE`: every `${NAME}` (upper-case) must be set, or it
stops naming the missing ones; anything else (nginx's `$variables`) is left as it is.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import List, Mapping, Optional

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def render(template: str, environ: Mapping[str, str]) -> str:
    """`template` with each `${NAME}` replaced by `environ[NAME]`; KeyError lists the missing."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in environ})
    if missing:
        raise KeyError(", ".join(missing))
    return PLACEHOLDER.sub(lambda match: environ[match.group(1)], template)


def main(argv: Optional[List[str]] = None) -> int:
    """Render the file named in `argv` to standard output."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m scripts.render_template FILE", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render(Path(args[0]).read_text(), os.environ))
    except KeyError as error:
        print(f"{args[0]}: not set: {error.args[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
