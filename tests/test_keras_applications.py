"""Every constructor in keras.applications, imported: never a crash, Keras's own params, and archviz's
rules agreeing with Keras on every layer they count (shapes and params: any disagreement is a warning).

Built with weights=None, one at a time; models whose input size is open are built at 224x224 (331 for
NASNetLarge, the size it needs). The big ones are marked slow; CI runs them all.
"""

from __future__ import annotations

import gc

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import archviz  # noqa: E402

pytestmark = pytest.mark.tf

CONSTRUCTORS = sorted(
    name for name in dir(keras.applications) if name[:1].isupper() and callable(getattr(keras.applications, name))
)
QUICK = {"MobileNetV3Small", "MobileNetV2", "EfficientNetB0", "ResNet50", "Xception", "ConvNeXtTiny", "DenseNet121"}
SIZES = {"NASNetLarge": 331}


def build(name):
    constructor = getattr(keras.applications, name)
    model = constructor(weights=None)
    if any(d is None for d in model.input_shape[1:3]):
        size = SIZES.get(name, 224)
        keras.backend.clear_session()
        model = constructor(weights=None, input_shape=(size, size, 3))
    return model


def weights(model, trainable):
    import math

    return sum(math.prod(w.shape) for w in (model.trainable_weights if trainable else model.non_trainable_weights))


def test_the_sweep_covers_every_family():
    assert len(CONSTRUCTORS) >= 40
    assert {"ConvNeXtTiny", "EfficientNetV2B0", "MobileNetV3Large", "NASNetMobile", "InceptionResNetV2"} <= set(
        CONSTRUCTORS
    )


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in QUICK else pytest.mark.slow) for n in CONSTRUCTORS])
def test_every_keras_application(name):
    model = build(name)
    try:
        summary = archviz.analyze(model)
        assert summary.params == model.count_params()
        assert summary.trainable_params == weights(model, True)
        assert summary.non_trainable_params == weights(model, False)
        shapes = {}
        for layer in model.layers:
            shapes[layer.name] = tuple(-1 if d is None else d for d in layer.output.shape[1:])
        for record in summary.records:
            own = record.name.rsplit(".", 1)[-1]
            if own in shapes:
                assert record.output_shape == shapes[own], record.name
        assert summary.warnings == []
        assert summary.macs > 0 and summary.flops > summary.macs
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()
