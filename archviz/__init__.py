"""archviz: exact parameters, MACs and FLOPs, diagrams and reports for convolutional networks.

>>> import archviz
>>> summary = archviz.analyze("resnet34")
>>> summary.to_dict()["totals"]["macs"]
3663761408
"""

__version__ = "0.1.0"

from archviz.errors import ArchvizError, RuntimeFailure, SpecError, UnknownModelError, UsageError  # noqa: E402
from archviz.models import analyze, build_keras, load_config, load_graph  # noqa: E402

__all__ = ["ArchvizError", "RuntimeFailure", "SpecError", "UnknownModelError", "UsageError", "__version__",
           "analyze", "build_keras", "load_config", "load_graph"]
