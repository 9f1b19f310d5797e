"""Just enough parsing of Dockerfile, .dockerignore and compose YAML to test them without Docker or PyYAML.

Each parser raises ValueError on syntax it does not know rather than guessing, so a
file that grows beyond what they read makes the tests fail loudly instead of passing blind.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field

# -- Dockerfile ------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    args: str  # the rest of the line, continuations joined
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form RUN/CMD/ENTRYPOINT, else None."""
        text = self.args.strip()
        return json.loads(text) if text.startswith("[") else None


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


_KNOWN = {"FROM", "ARG", "ENV", "RUN", "COPY", "ADD", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK", "CMD",
          "ENTRYPOINT", "LABEL", "STOPSIGNAL", "VOLUME", "SHELL", "ONBUILD"}


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(ARGs declared before the first FROM with their defaults, stages in order)."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, args = logical.partition(" ")
        if keyword.upper() not in _KNOWN:
            raise ValueError(f"line {start}: unknown instruction {keyword!r}")
        if "<<" in args and keyword.upper() in ("RUN", "COPY"):
            raise ValueError(f"line {start}: heredocs are not understood by this parser")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        raise ValueError("the file ends inside a line continuation")

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            if len(words) not in (1, 3):
                raise ValueError(f"line {ins.line}: cannot read FROM {ins.args!r}")
            stages.append(Stage(base, name))
        elif not stages:
            if ins.keyword != "ARG":
                raise ValueError(f"line {ins.line}: only ARG may come before the first FROM")
            key, _, default = ins.args.partition("=")
            global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(ins)
    return global_args, stages


def healthcheck_command(ins: Instruction) -> list[str]:
    """The command of ``HEALTHCHECK [--opts] CMD ...`` as a list."""
    _, sep, command = ins.args.partition("CMD ")
    if not sep:
        raise ValueError(f"line {ins.line}: HEALTHCHECK without CMD")
    command = command.strip()
    return json.loads(command) if command.startswith("[") else shlex.split(command)


# -- .dockerignore ---------------------------------------------------------------------------


def dockerignore_excludes(patterns_text: str, path: str) -> bool:
    """Whether Docker leaves ``path`` (relative, '/'-separated) out of the build context: the last matching rule wins."""
    rules = [line.strip() for line in patterns_text.splitlines() if line.strip() and not line.strip().startswith("#")]
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]  # a rule on a parent covers its children
    excluded = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        pattern = pattern.strip("/")
        if pattern.startswith("**/"):
            tail = pattern[3:]
            hit = any(fnmatch.fnmatchcase(c.split("/")[-1], tail) or fnmatch.fnmatchcase(c, tail) for c in candidates)
        else:
            hit = any(fnmatch.fnmatchcase(c, pattern) and c.count("/") == pattern.count("/") for c in candidates)
        if hit:
            excluded = not negate
    return excluded


# -- a block-style YAML subset (what docker-compose.yml uses) ---------------------------------

_ENTRY = re.compile(r"^(?P<key>[A-Za-z0-9_.-]+):(?:\s+(?P<value>.*))?$")


def parse_yaml(text: str) -> dict:
    """Mappings, ``- `` lists, ``[a, b]`` flow lists and plain/quoted scalars (all kept as strings)."""
    lines: list[list] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if "\t" in line:
            raise ValueError(f"line {number}: tabs")
        lines.append([len(line) - len(line.lstrip(" ")), line.strip(), number])
    if not lines:
        return {}
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
        raise ValueError(f"line {lines[end][2]}: unexpected indentation")
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _block(lines: list[list], i: int, indent: int) -> tuple[object, int]:
    return _seq(lines, i, indent) if _is_item(lines[i][1]) else _map(lines, i, indent)


def _map(lines: list[list], i: int, indent: int) -> tuple[dict, int]:
    out: dict = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        match = _ENTRY.match(lines[i][1])
        if not match:
            raise ValueError(f"line {lines[i][2]}: not a `key: value` line: {lines[i][1]!r}")
        key, value = match.group("key"), match.group("value")
        if key in out:
            raise ValueError(f"line {lines[i][2]}: duplicate key {key!r}")
        i += 1
        if value:
            out[key] = _scalar(value, lines[i - 1][2])
        elif i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and _is_item(lines[i][1]))):
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    return out, i


def _seq(lines: list[list], i: int, indent: int) -> tuple[list, int]:
    out: list = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        item = lines[i][1][1:].strip()
        if not item:
            i += 1
            value, i = _block(lines, i, lines[i][0])
            out.append(value)
        elif _ENTRY.match(item):  # "- key: value" opens a mapping whose keys line up with `key`
            lines[i] = [indent + len(lines[i][1]) - len(item), item, lines[i][2]]
            value, i = _map(lines, i, lines[i][0])
            out.append(value)
        else:
            out.append(_scalar(item, lines[i][2]))
            i += 1
    return out, i


def _scalar(text: str, number: int) -> object:
    text = text.strip()
    if text[0] in "&*|>{!":
        raise ValueError(f"line {number}: anchors, block scalars, tags and flow maps are not supported")
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"line {number}: multi-line flow lists are not supported")
        inner = text[1:-1].strip()
        return [_scalar(part, number) for part in _split_flow(inner)] if inner else []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _split_flow(text: str) -> list[str]:
    parts, current, quote = [], "", None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts]
