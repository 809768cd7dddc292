"""Keras model files read without TensorFlow: checked (:mod:`~archviz.sources.keras.files`), their
config's entries (:mod:`~archviz.sources.keras.entries`) turned into a graph
(:mod:`~archviz.sources.keras.reader`, with tf-keras's TF op layers by
:mod:`~archviz.sources.keras.tf_ops`), params from the weights' shapes
(:mod:`~archviz.sources.keras.weights`). Nothing in a file is ever run here."""

from archviz.sources import KERAS_SUFFIXES  # noqa: F401  (defined with the other sources' suffixes)
