"""The preset registry: names to configs, listed by glob, with suggestions for typos."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from archviz.errors import SpecError, UnknownModelError
from archviz.limits import short
from archviz.sources.zoo.config import ResNetConfig


class Registry:
    def __init__(self) -> None:
        self._presets: dict[str, ResNetConfig] = {}

    def register(self, config: ResNetConfig) -> ResNetConfig:
        key = config.name.lower()
        if key in self._presets:
            raise SpecError(f"a preset named {config.name!r} is already registered")
        self._presets[key] = config
        return config

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._presets

    def __iter__(self) -> Iterator[ResNetConfig]:
        return iter(self._presets.values())

    def __len__(self) -> int:
        return len(self._presets)

    def get(self, name: str) -> ResNetConfig:
        try:
            return self._presets[name.lower()]
        except KeyError:
            raise UnknownModelError(self.unknown_message(name)) from None

    def names(self) -> list[str]:
        return [config.name for config in self]

    def match(self, pattern: str = "*") -> list[ResNetConfig]:
        """Presets whose name (or family) matches a shell-style glob, case-insensitively."""
        pattern = pattern.lower()
        if not any(ch in pattern for ch in "*?["):
            pattern = f"*{pattern}*"
        return [
            c for c in self if fnmatch.fnmatchcase(c.name.lower(), pattern) or fnmatch.fnmatchcase(c.family, pattern)
        ]

    def suggestions(self, name: str, limit: int = 3) -> list[str]:
        if len(name) > 100:  # no preset name is anywhere near that long
            return []
        lowered = {n.lower(): n for n in self.names()}
        import difflib

        close = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.6)
        return [lowered[c] for c in close]

    def unknown_message(self, name: str) -> str:
        close = self.suggestions(name)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run 'archviz list' to see the presets"
        return f"unknown model {short(name)}: not a preset, a spec file (.toml) or a Keras file (.keras, .h5){hint}"


REGISTRY = Registry()
