"""The core: the layer graph, the one analysis walk, and the summary it produces.

* :mod:`~archviz.core.graph`: framework-neutral layers with stable hierarchical names;
* :mod:`~archviz.core.record`: the typed record of a model besides its layers;
* :mod:`~archviz.core.analysis`: the walk that applies the op table (:mod:`archviz.ops`);
* :mod:`~archviz.core.summary` and :mod:`~archviz.core.metrics`: per-layer records and totals, described
  by one metric table;
* :mod:`~archviz.core.training`: a training step's cost, imported only when one is asked for (its
  optimizers in :mod:`~archviz.core.optimizer`);
* :mod:`~archviz.core.hierarchy`: stages and blocks recovered from an imported graph;
* :mod:`~archviz.core.memory`: what a model needs in memory, checked before TensorFlow runs it;
* :mod:`~archviz.core.summary_html`: a summary's own HTML table, for Jupyter's ``_repr_html_`` (jinja2, lazily).

May import: the shared modules (errors, limits, units) and :mod:`archviz.ops`. Never a source, a
study, a renderer, the CLI or a framework.
"""
