"""`make staff-user NAME=<name>`: create a console account or reset its password.

The password is read from standard input: asked twice (not shown) at a terminal, else
one line (for scripts: `printf '%s\\n' "$PASSWORD" | make staff-user NAME=anna`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Callable, Optional, Sequence, TextIO

from console.accounts import AccountError, StaffStore, check_name, check_password, staff_db_path
from core.settings import SettingsError


def read_password(
    stdin: TextIO, ask: Callable[[str], str] = getpass.getpass, terminal: Optional[bool] = None
) -> str:
    """The new password: typed twice at a terminal (they must match), else one line of `stdin`."""
    if terminal if terminal is not None else stdin.isatty():
        first = check_password(ask("New password: "))
        if ask("The same password again: ") != first:
            raise AccountError("The two passwords differ: nothing was changed.")
        return first
    line = stdin.readline()
    if not line:
        raise AccountError("No password on standard input: nothing was changed.")
    return check_password(line.rstrip("\r\n"))


def who_ran_it() -> str:
    """The audit log's name for a change made at this machine's terminal."""
    try:
        return f"{getpass.getuser()} (terminal)"
    except (KeyError, OSError):
        return "terminal"


def main(argv: Optional[Sequence[str]] = None, stdin: TextIO = sys.stdin) -> int:
    """Create or reset one account; 0 on success, 2 with a message on bad input."""
    parser = argparse.ArgumentParser(prog="make staff-user NAME=<name>", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the user name staff type to sign in")
    args = parser.parse_args(argv)
    try:
        name = check_name(args.name)
        password = read_password(stdin)
        store = StaffStore(staff_db_path())
        created = store.set_password(name, password, who_ran_it())
    except (AccountError, SettingsError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(f"{'Created the account' if created else 'Changed the password of'} {name!r} "
          f"({store.path}). Sign in at /staff/ on the clinic's page server.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
