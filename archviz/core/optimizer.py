"""The optimizers whose state a training step's memory counts: a vocabulary of its own, so that the command
line declares ``--optimizer`` without importing the training walk (:mod:`archviz.core.training`)."""

from __future__ import annotations

import enum


class Optimizer(enum.StrEnum):
    """The optimizer whose state is counted: sgd keeps none, momentum (SGD with momentum) 1 value per
    trainable parameter, adam and adamw 2 (the first and second moments).

    >>> Optimizer("adamw").slots
    2
    """

    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"
    ADAMW = "adamw"

    @property
    def slots(self) -> int:
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]
