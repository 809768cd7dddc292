"""The preset registry: names to configs, listed by glob, with suggestions for typos.

A preset is registered as a name and the function that makes its config (:meth:`Registry.add`): a
config is made, checked and kept the first time it is asked for, so looking one preset up costs one
config, not the whole zoo. The registry refuses a second preset of the same name (case-insensitively),
and a function that makes a config of another name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator

from archviz.errors import SpecError, UnknownModelError
from archviz.limits import short
from archviz.sources.zoo.config import ResNetConfig

#: What makes a preset's config, when it is first asked for.
Factory = Callable[[], ResNetConfig]


class Registry:
    def __init__(self) -> None:
        self._factories: dict[str, tuple[str, Factory]] = {}  # lowered name -> (name, factory)
        self._configs: dict[str, ResNetConfig] = {}  # lowered name -> config, once made

    def add(self, name: str, factory: Factory) -> None:
        """Register the preset ``name``, whose config ``factory`` makes when it is first asked for."""
        key = name.lower()
        if key in self._factories:
            raise SpecError(f"a preset named {name!r} is already registered")
        self._factories[key] = (name, factory)

    def register(self, config: ResNetConfig) -> ResNetConfig:
        """Register a config that is already made."""
        self.add(config.name, lambda: config)
        self._configs[config.name.lower()] = config
        return config

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._factories

    def __iter__(self) -> Iterator[ResNetConfig]:
        return (self.get(name) for name in self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def get(self, name: str) -> ResNetConfig:
        key = name.lower()
        config = self._configs.get(key)
        if config is not None:
            return config
        try:
            registered, factory = self._factories[key]
        except KeyError:
            raise UnknownModelError(self.unknown_message(name)) from None
        config = factory()
        if config.name != registered:
            raise SpecError(f"the preset {registered!r} makes a config named {config.name!r}")
        self._configs[key] = config
        return config

    def names(self) -> list[str]:
        """The presets' names, in the order they were registered (no config is made)."""
        return [name for name, _ in self._factories.values()]

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
