"""Sources: each reads one kind of input into the one layer graph.

* :mod:`~archviz.sources.zoo`: the presets, as data, and the builder that turns a config into a graph;
* :mod:`~archviz.sources.spec`: spec files (TOML), a config written by a user;
* :mod:`~archviz.sources.keras`: Keras model files read from their config, without TensorFlow;
* :mod:`~archviz.sources.onnx`: ONNX files read (and written) with the ``onnx`` package alone.

Live Keras models, and files only Keras can read, come through :mod:`archviz.backend`, the one
package that imports TensorFlow. May import: the shared modules, :mod:`archviz.ops`,
:mod:`archviz.core` and :mod:`archviz.backend` (lazily, inside a function). Never the library's
entry points (:mod:`archviz.api`), a study, a renderer or the CLI.
"""
