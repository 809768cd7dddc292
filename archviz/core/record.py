"""The typed record of a model, apart from its layers: where it came from and how it was read.

Sources fill it in (the zoo's builder, the Keras readers); the graph carries it into the summary,
and renderers read its fields. Its :meth:`ModelRecord.options` is the plain data the JSON record
has always had under ``model.options``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from archviz.datarecord import DataRecord


class Source(enum.StrEnum):
    """What kind of input a model was made from."""

    ZOO = "zoo"  # a preset or a spec file: a config the builder turned into layers
    KERAS = "keras"  # a Keras model object or file
    ONNX = "onnx"  # an ONNX file


class Loader(enum.StrEnum):
    """How a Keras file is read: config, archviz's reader (no TensorFlow, nothing in the file runs);
    keras, loaded by Keras; auto, the reader unless the file has a layer class it does not know."""

    AUTO = "auto"
    CONFIG = "config"
    KERAS = "keras"


class ModelRecord(DataRecord, frozen=True):
    """What is known of a model besides its layers.

    ``config`` is a zoo model's resolved options as plain data (the spec it could be written as);
    ``classes`` the classifier's outputs where the model has a top; ``loader`` and ``loader_reason``
    say how a Keras file was read, and why Keras read it where the config reader could not.
    """

    source: Source = Source.ZOO
    description: str = ""
    input_shape: tuple[int, ...] | None = None
    classes: int | None = None
    config: Mapping[str, Any] = {}
    keras_class: str | None = None
    loader: Loader | None = None
    loader_reason: str | None = None
    file: Mapping[str, Any] = {}  # what an ONNX file says of itself (producer, opset)
    notes: tuple[str, ...] = ()  # one line each, shown under a summary's title

    def with_input_shape(self, shape: tuple[int, ...]) -> ModelRecord:
        return self.replace(input_shape=tuple(shape))

    def options(self) -> dict[str, Any]:
        """The options as the JSON record gives them: a zoo model's config; a Keras model's class, input
        shape and loader; an ONNX file's producer, opset, layout and input shape."""
        if self.source is Source.ZOO:
            return dict(self.config)
        if self.source is Source.ONNX:
            found = dict(self.file)
            if self.input_shape is not None:
                found["input_shape"] = list(self.input_shape)
            return found
        options: dict[str, Any] = {"keras_class": self.keras_class}
        if self.input_shape is not None:
            options["input_shape"] = list(self.input_shape)
        if self.loader is not None:
            options["loader"] = str(self.loader)
        if self.loader_reason is not None:
            options["loader_reason"] = self.loader_reason
        return options
