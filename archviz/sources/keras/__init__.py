"""Keras model files read without TensorFlow: checked (:mod:`~archviz.sources.keras.files`), their
config's entries (:mod:`~archviz.sources.keras.entries`) turned into a graph
(:mod:`~archviz.sources.keras.reader`, with tf-keras's TF op layers by
:mod:`~archviz.sources.keras.tf_ops`), params from the weights' shapes
(:mod:`~archviz.sources.keras.weights`). Nothing in a file is ever run here."""

#: The names of the files archviz reads as Keras models (here, so that telling a model file from a preset
#: name imports no reader).
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
