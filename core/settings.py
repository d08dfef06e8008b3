"""The project's settings: typed, validated, with one set of defaults.

Every setting is read in this order, later winning: `.env.example` (the documented
defaults, the only ones), the project's `.env`, then the environment. A blank value means
the documented default. A bad value is an error that names the setting, where it came
from and what it must be. Python code calls :func:`settings`; the shell scripts get the
same values from `python -m core.settings --export` (scripts/env.sh).
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from dotenv import dotenv_values

PROJECT = Path(__file__).resolve().parent.parent
# The trained assistant (`make train`), relative to the project folder.
MODEL_FILE = Path("models") / "dry-needling.tar.gz"
MODEL_PATH = PROJECT / MODEL_FILE
# Offline model hub, no telemetry, quiet TensorFlow: the Makefile exports the same.
OFFLINE_ENV: Dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}

Parser = Callable[[str], Any]


class SettingsError(ValueError):
    """A settings file could not be read, or a setting has a bad value."""


def apply_offline_env() -> None:
    """Set the offline/quiet defaults, before Rasa or TensorFlow is imported."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


# --- kinds of value: each returns the typed value or raises ValueError saying what it must be


def text(value: str) -> str:
    """Any text."""
    return value


def whole(minimum: int, maximum: Optional[int] = None) -> Parser:
    """A whole number from `minimum` (to `maximum`)."""
    expected = f"a whole number from {minimum}" + (f" to {maximum}" if maximum else " up")

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(expected) from None
        if number < minimum or (maximum is not None and number > maximum):
            raise ValueError(expected)
        return number

    return parse


port = whole(1, 65535)


def choice(*options: str) -> Parser:
    """One of `options`."""

    def parse(value: str) -> str:
        if value.lower() not in options:
            raise ValueError("one of " + ", ".join(options))
        return value.lower()

    return parse


def phone(value: str) -> str:
    """A phone number as people write it: at least 7 digits."""
    if sum(character.isdigit() for character in value) < 7:
        raise ValueError("a phone number, e.g. (780) 761-3777")
    return value


def http_url(value: str) -> str:
    """An absolute http(s) URL, without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an http(s) URL, e.g. https://clinic.example")
    return value.rstrip("/")


def link(value: str) -> str:
    """An http(s) URL or a path on the page server (starting with /)."""
    if value.startswith("/") and not value.startswith("//"):
        return value
    return http_url(value)


def ports(value: str) -> Tuple[int, ...]:
    """Space-separated ports, at least one, none twice."""
    try:
        found = tuple(port(item) for item in value.split())
    except ValueError:
        raise ValueError("ports from 1 to 65535, separated by spaces") from None
    if not found or len(set(found)) != len(found):
        raise ValueError("one or more different ports, separated by spaces")
    return found


def origins(value: str) -> Tuple[str, ...]:
    """Space-separated http(s) origins."""
    return tuple(http_url(origin) for origin in value.split())


def optional(parse: Parser) -> Parser:
    """`parse`, or None for a blank value."""
    return lambda value: parse(value) if value else None


def setting(parse: Parser = text) -> Any:
    """A field read from the environment variable of the same name, upper-cased."""
    return field(metadata={"parse": parse})


@dataclass(frozen=True)
class Settings:
    """Every setting of `.env.example`, typed (the comments there say what each does)."""

    clinic_name: str = setting()
    clinic_phone: str = setting(phone)
    clinic_address: str = setting()
    rasa_port: int = setting(port)
    rasa_host: str = setting()
    action_port: int = setting(port)
    web_port: int = setting(port)
    web_host: str = setting()
    rasa_public_url: Optional[str] = setting(optional(http_url))
    tracker_db: str = setting()
    rasa_endpoints: str = setting()
    sanic_workers: int = setting(whole(1, 64))
    tf_intra_op_parallelism_threads: int = setting(whole(0))
    tf_inter_op_parallelism_threads: int = setting(whole(0))
    openblas_num_threads: int = setting(whole(1))
    cors_origins: Tuple[str, ...] = setting(origins)
    rasa_api_token: Optional[str] = setting(optional(text))
    max_message_chars: int = setting(whole(1))
    max_request_bytes: int = setting(whole(1024))
    reply_timeout_seconds: int = setting(whole(1))
    retention_days: int = setting(whole(1))
    privacy_url: str = setting(link)
    staff_db: str = setting()
    speedups: str = setting(choice("on", "off"))
    cluster_rasa_ports: Tuple[int, ...] = setting(ports)
    cluster_pg_port: int = setting(port)
    cluster_redis_port: int = setting(port)
    cluster_dir: str = setting()
    cluster_pg_password: Optional[str] = setting(optional(text))
    cluster_redis_password: Optional[str] = setting(optional(text))
    # The variables as read, for the shell and child processes: the settings (names
    # upper-case) and any other variable that .env sets (e.g. for endpoints.yml's ${...}).
    raw: Dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def env(self) -> Dict[str, str]:
        """The settings as environment variables (the documented default for blank ones)."""
        return dict(self.raw)


def setting_fields() -> List[Any]:
    """The fields of `Settings` read from the environment, in order."""
    return [item for item in fields(Settings) if "parse" in item.metadata]


def names() -> List[str]:
    """The environment variables of the settings, in `Settings`' order."""
    return [item.name.upper() for item in setting_fields()]


@functools.lru_cache(maxsize=32)
def _file_values(path: Path, _version: Tuple[int, int]) -> Dict[str, str]:
    """A settings file's values, stripped; read again only when the file changes."""
    return {key: (value or "").strip() for key, value in dotenv_values(path).items()}


def read_files(project: Path = PROJECT) -> List[Tuple[str, Dict[str, str]]]:
    """`.env.example` (which must exist) and `.env`, as (source, values) layers."""
    example = project / ".env.example"
    if not example.exists():
        raise SettingsError(f"{example} is missing: it documents every setting and its default")
    layers = [(".env.example", example)]
    if (project / ".env").exists():
        layers.append((".env", project / ".env"))
    return [(source, dict(_file_values(path, _stamp(path)))) for source, path in layers]


def _stamp(path: Path) -> Tuple[int, int]:
    """When a file last changed, and its size: a changed file is read again."""
    status = path.stat()
    return status.st_mtime_ns, status.st_size


def load(project: Path = PROJECT, environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings of `project`, with `environ` (default: this process's) winning."""
    environ = os.environ if environ is None else environ
    layers = [*read_files(project), ("the environment", dict(environ))]
    defaults = layers[0][1]
    values: Dict[str, Any] = {}
    raw: Dict[str, str] = {}
    problems = []
    for item in setting_fields():
        name = item.name.upper()
        if name not in defaults:
            problems.append(f"{name} is not in .env.example: every setting is documented there")
            continue
        source, value = ".env.example", defaults[name]
        for layer, layer_values in layers[1:]:
            if layer_values.get(name, "").strip():
                source, value = layer, layer_values[name].strip()
        try:
            values[item.name] = item.metadata["parse"](value)
        except ValueError as error:
            problems.append(f"{name}={value!r} (from {source}): must be {error}")
        raw[name] = value
    for _source, layer_values in layers[1:-1]:  # other variables of .env, e.g. for endpoints.yml
        for name, value in layer_values.items():
            raw.setdefault(name, environ.get(name, value))
    if problems:
        raise SettingsError("Bad settings:\n  " + "\n  ".join(problems))
    return Settings(**values, raw=raw)


def settings() -> Settings:
    """This process's settings: the project's files (parsed again only when they change),
    then its environment (read each call, so a variable set at run time counts)."""
    return load()


def export_lines(current: Settings) -> str:
    """Shell `export` lines for every setting, quoted for bash."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in current.env().items())


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m core.settings --export` (for scripts/env.sh) or `--check`."""
    parser = argparse.ArgumentParser(prog="python -m core.settings", description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="print `export NAME=value` lines for bash")
    parser.add_argument("--check", action="store_true", help="only check the settings")
    args = parser.parse_args(argv)
    try:
        current = settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.export:
        sys.stdout.write(export_lines(current))
    elif not args.check:
        for name, value in current.env().items():
            print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
