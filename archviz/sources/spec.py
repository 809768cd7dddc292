"""Spec files: a :class:`ResNetConfig` written by a user in TOML.

A spec may start from a preset (``base = "resnet50-keras"``) and change any
field; ``[stem]`` and ``[[head]]`` describe the stem and the classifier head;
``[stages.N]`` changes stage N (``blocks``, ``width``, ``stride``,
``mid_width``, ``out_width``, ``shortcut``) and ``[stages.N.block.M]`` one
block of it. Every error names the key and, where it can be found, the line.
See ``examples/specs/`` for one spec per seed model.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from archviz.errors import RuntimeFailure, SpecError
from archviz.limits import MAX_KEY_PARTS, clip
from archviz.sources.zoo.config import BlockOverride, HeadLayer, HeadOp, ResNetConfig, Stem
from archviz.sources.zoo.registry import REGISTRY

_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(ResNetConfig)}
_TOP_KEYS = (set(_CONFIG_FIELDS) - {"overrides"}) | {"base", "stages"}
_STEM_KEYS = {f.name for f in dataclasses.fields(Stem)}
_HEAD_KEYS = {f.name for f in dataclasses.fields(HeadLayer)}
_STAGE_KEYS = {"blocks", "width", "stride", "mid_width", "out_width", "shortcut", "block"}
_BLOCK_KEYS = {"mid_width", "out_width", "stride", "shortcut"}
_TUPLE_FIELDS = {"layers", "widths", "strides", "input_shape"}
MAX_SPEC_BYTES = 1024 * 1024


class _Locator:
    """Finds the line of a key in the spec's text, for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str, table: str | None = None) -> int | None:
        start = 0
        if table is not None:
            header = re.compile(r"^\s*\[+\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]+")
            for number, line in enumerate(self.lines):
                if header.match(line):
                    start = number
                    break
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for number in range(start, len(self.lines)):
            if pattern.match(self.lines[number]):
                return number + 1
        return None

    def error(self, message: str, key: str | None = None, table: str | None = None) -> SpecError:
        line = self.line_of(key, table) if key else None
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return SpecError(f"{where}: {message}")


def _type_check(locator: _Locator, key: str, value: Any, table: str | None = None) -> Any:
    """Convert TOML values to the config's types, rejecting the wrong kind with the key's name."""
    if key in _TUPLE_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise locator.error(f"{key} must be a list of integers, got {value!r}", key, table)
        return tuple(value)
    if key == "conv_bias" and isinstance(value, bool):
        return "all" if value else "none"
    return value


def load_spec(path: str | Path) -> ResNetConfig:
    """Read a spec file into a config. Errors name the file, the line and the key."""
    path = Path(path)
    text = _read_text(path)
    _check_key_parts(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise SpecError(f"{path}: invalid spec: tables or arrays nested too deeply") from None
    except ValueError:  # Python refuses to read an integer of more than 4,300 digits
        raise SpecError(f"{path}: invalid spec: a number of thousands of digits") from None
    return config_from_dict(data, _Locator(path, text), default_name=path.stem)


#: What can hold a dot that is not a key's: comments, and strings of the four kinds (multi-line ones may
#: end in up to two extra quotes). Each alternative ends at its first possible end, so one scan is linear.
_TOML_NOT_KEYS = re.compile(
    r'#[^\n]*|"""(?:[^\\]|\\.)*?"""(?!")|\'\'\'.*?\'\'\'(?!\')|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'', re.DOTALL
)
#: A run of text since the line, table, list or value began: a key, a header's name or a value. Outside
#: strings only keys hold many dots (a number or a date has one), and the parser reads a key's parts
#: before it finds a missing ``=``, so every run is counted. Nothing is matched twice: the scan is linear.
_TOML_RUN = re.compile(r"[^\n{,\[\]=]+")


def _check_key_parts(path: Path, text: str) -> None:
    """Refuse, before the TOML parser sees it, a key or ``[table]`` header with more than
    :data:`MAX_KEY_PARTS` dotted parts: the parser's cost grows with the square of a key's parts (50,000
    parts: gigabytes). Dots in comments and strings (multi-line ones too) are not counted; the two
    scans are linear in the text. A string becomes ``s`` and keeps its line breaks, so lines still count."""
    if text.count(".") < MAX_KEY_PARTS:
        return
    bare = _TOML_NOT_KEYS.sub(lambda m: "" if m[0].startswith("#") else "s" + "\n" * m[0].count("\n"), text)
    for key in _TOML_RUN.finditer(bare):
        if key[0].count(".") >= MAX_KEY_PARTS:
            number = bare.count("\n", 0, key.start()) + 1
            raise SpecError(
                f"{path}:{number}: a key with more than {MAX_KEY_PARTS} dotted parts; a spec's keys have a few"
            )


def _read_text(path: Path) -> str:
    """The spec's text: a regular file of at most :data:`MAX_SPEC_BYTES`, UTF-8 (a byte-order mark is fine)."""
    from archviz.fileio import open_regular

    try:
        with open_regular(path, "spec") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise RuntimeFailure(f"cannot read spec {clip(str(path))}: {error.strerror or error}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: a spec file is at most {MAX_SPEC_BYTES // 1024} KiB; this one is larger")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None


def config_from_dict(
    data: dict[str, Any], locator: _Locator | None = None, *, default_name: str = "spec"
) -> ResNetConfig:
    locator = locator or _Locator(Path("<spec>"), "")
    for key in data:
        if key not in _TOP_KEYS:
            close = _close(key, _TOP_KEYS)
            raise locator.error(f"unknown key {key!r}{close}", key)
    base_name = data.get("base")
    if base_name is not None:
        if not isinstance(base_name, str) or base_name not in REGISTRY:
            raise locator.error(
                REGISTRY.unknown_message(str(base_name)).replace("unknown model", "unknown base"), "base"
            )
        config = REGISTRY.get(base_name)
    else:
        config = None
    changes: dict[str, Any] = {"name": data.get("name", default_name)}
    for key, value in data.items():
        if key in ("base", "stages", "stem", "head", "name"):
            continue
        changes[key] = _type_check(locator, key, value)
    if "stem" in data:
        changes["stem"] = _stem(locator, data["stem"], config.stem if config else Stem())
    if "head" in data:
        changes["head"] = _head(locator, data["head"])
    try:
        config = config.replace(**changes) if config else ResNetConfig(**changes)
    except SpecError as error:
        raise locator.error(str(error), _key_in(str(error), changes)) from None
    except TypeError as error:
        raise locator.error(f"invalid value: {error}") from None
    if "stages" in data:
        config = _apply_stages(locator, config, data["stages"])
    return config


def _key_in(message: str, changes: dict[str, Any]) -> str | None:
    for key in changes:
        if message.startswith(key):
            return key
    return None


def _close(key: str, choices: set[str]) -> str:
    import difflib

    match = difflib.get_close_matches(key, sorted(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _stem(locator: _Locator, table: Any, base: Stem) -> Stem:
    if not isinstance(table, dict):
        raise locator.error("stem must be a table ([stem])", "stem")
    for key in table:
        if key not in _STEM_KEYS:
            raise locator.error(f"unknown key {key!r} in [stem]{_close(key, _STEM_KEYS)}", key, "stem")
    values = {key: _type_check(locator, key, value, "stem") for key, value in table.items()}
    return dataclasses.replace(base, **values)


def _head(locator: _Locator, layers: Any) -> tuple[HeadLayer, ...]:
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise locator.error("head must be an array of tables ([[head]])", "head")
    result = []
    for layer in layers:
        for key in layer:
            if key not in _HEAD_KEYS:
                raise locator.error(f"unknown key {key!r} in [[head]]{_close(key, _HEAD_KEYS)}", key, "head")
        if "op" not in layer:
            raise locator.error("every [[head]] layer needs an op", None)
        if layer["op"] not in tuple(HeadOp):
            raise locator.error(f"head op must be one of {', '.join(HeadOp)}; got {layer['op']!r}", "op", "head")
        result.append(HeadLayer(**layer))
    return tuple(result)


def _apply_stages(locator: _Locator, config: ResNetConfig, stages: Any) -> ResNetConfig:
    if not isinstance(stages, dict):
        raise locator.error("stages must be a table of stage numbers ([stages.1], [stages.2], ...)", "stages")
    layers, widths, strides = list(config.layers), list(config.widths), list(config.strides)
    overrides = list(config.overrides)
    for key, table in stages.items():
        if not (key.isascii() and key.isdigit()) or not 1 <= int(key) <= len(layers):
            raise locator.error(f"[stages.{key}]: stages are numbered 1 to {len(layers)}")
        number, section = int(key), f"stages.{key}"
        if not isinstance(table, dict):
            raise locator.error(f"[{section}] must be a table")
        for field in table:
            if field not in _STAGE_KEYS:
                raise locator.error(f"unknown key {field!r} in [{section}]{_close(field, _STAGE_KEYS)}", field, section)
        for field, target in (("blocks", layers), ("width", widths), ("stride", strides)):
            if field in table:
                value = table[field]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise locator.error(
                        f"[{section}] {field} must be a positive integer, got {value!r}", field, section
                    )
                target[number - 1] = value
        stage_fields = {k: table[k] for k in ("mid_width", "out_width", "shortcut") if k in table}
        if stage_fields:
            overrides.append(BlockOverride(stage=number, **stage_fields))
        blocks = table.get("block", {})
        if not isinstance(blocks, dict):
            raise locator.error(f"[{section}.block] must be a table of block numbers", "block", section)
        for index, block_table in blocks.items():
            block_section = f"{section}.block.{index}"
            if not (index.isascii() and index.isdigit()):
                raise locator.error(f"[{block_section}]: blocks are numbered from 1")
            if not isinstance(block_table, dict):
                raise locator.error(f"[{block_section}] must be a table")
            for field in block_table:
                if field not in _BLOCK_KEYS:
                    raise locator.error(
                        f"unknown key {field!r} in [{block_section}]{_close(field, _BLOCK_KEYS)}", field, block_section
                    )
            overrides.append(BlockOverride(stage=number, block=int(index), **block_table))
    try:
        return config.replace(
            layers=tuple(layers), widths=tuple(widths), strides=tuple(strides), overrides=tuple(overrides)
        )
    except SpecError as error:
        raise locator.error(str(error)) from None
