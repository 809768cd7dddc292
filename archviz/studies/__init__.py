"""Studies: questions answered with many summaries, each returning a result object that
:mod:`archviz.render` writes in any format.

* :mod:`~archviz.studies.compare`: several models' budgets side by side;
* :mod:`~archviz.studies.blocks`: block designs at the same width (the bottleneck arithmetic);
* :mod:`~archviz.studies.fit`: the variants of a family that fit a budget;
* :mod:`~archviz.studies.catalog`: the presets;
* :mod:`~archviz.studies.bench`: timed forward passes of the real Keras model (TensorFlow, lazily).

May import: the shared modules, :mod:`archviz.ops`, :mod:`archviz.core`, :mod:`archviz.backend`
(lazily), :mod:`archviz.sources` and :mod:`archviz.api`. Never a renderer or the CLI.
"""
