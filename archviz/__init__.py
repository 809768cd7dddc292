"""archviz: exact parameters, MACs and FLOPs, diagrams and reports for convolutional networks.

>>> import archviz
>>> summary = archviz.analyze("resnet34")
>>> summary.to_dict()["totals"]["macs"]
3663761408

The public names are imported when first used (``archviz --version`` loads no model code).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it.
_PUBLIC = {
    "ArchvizError": "archviz.errors",
    "RuntimeFailure": "archviz.errors",
    "SpecError": "archviz.errors",
    "UnknownModelError": "archviz.errors",
    "UsageError": "archviz.errors",
    "Training": "archviz.core.training",
    "analyze": "archviz.api",
    "build_keras": "archviz.api",
    "diagram": "archviz.render.notebook",
    "load_config": "archviz.api",
    "load_graph": "archviz.api",
}

__all__ = [
    "ArchvizError",
    "RuntimeFailure",
    "SpecError",
    "UnknownModelError",
    "Training",
    "UsageError",
    "__version__",
    "analyze",
    "build_keras",
    "diagram",
    "load_config",
    "load_graph",
]

if TYPE_CHECKING:
    from archviz.api import analyze, build_keras, load_config, load_graph
    from archviz.core.training import Training
    from archviz.errors import ArchvizError, RuntimeFailure, SpecError, UnknownModelError, UsageError


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'archviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
