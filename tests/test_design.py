"""The design's promises, checked: one definition per op and per word, no import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

from archviz.conventions import CONVENTIONS
from archviz.ops import KERAS_CLASSES, OPS, Family
from archviz.render.diagram import FAMILY_STYLE

PACKAGE = ROOT / "archviz"


# ---- one op, one definition ----------------------------------------------------------------


def test_every_family_can_be_drawn():
    assert set(Family) <= set(FAMILY_STYLE)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_can_be_counted_drawn_and_exported(name):
    op = OPS[name]
    assert op.name == name and isinstance(op.family, Family) and op.family is not Family.UNKNOWN
    assert callable(op.shape) and callable(op.cost) and callable(op.label)
    if name != "input":  # an input is a keras.Input, not a layer
        assert op.write is not None, f"{name} can be built but not exported to Keras"


def test_every_imported_keras_class_maps_to_an_exportable_op():
    assert KERAS_CLASSES
    for keras_class, op in KERAS_CLASSES.items():
        assert op.write is not None, f"{keras_class} is imported as {op.name}, which cannot be exported"


def test_the_builder_uses_only_ops_of_the_table():
    source = (PACKAGE / "sources" / "zoo" / "builder.py").read_text()
    used = set(re.findall(r'graph\.add\([^,]+, "([a-z0-9_]+)"', source))
    assert used and used <= set(OPS)


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted({op.name for key, op in KERAS_CLASSES.items() if "." not in key}))
def test_keras_round_trip_of_each_op(name):
    """Export an op to its Keras layer, read the layer's config back: the same attributes."""
    pytest.importorskip("keras")
    from archviz.backend.keras_export import to_keras
    from archviz.backend.keras_import import graph_from_keras
    from archviz.core.analysis import analyze_graph
    from archviz.core.graph import Graph

    examples = {
        "conv2d": {
            "filters": 4,
            "kernel": (3, 3),
            "strides": (2, 2),
            "padding": "same",
            "dilation": (1, 1),
            "use_bias": False,
            "activation": "relu",
        },
        "depthwise_conv2d": {
            "kernel": (3, 3),
            "strides": (1, 1),
            "padding": "valid",
            "dilation": (1, 1),
            "depth_multiplier": 2,
            "use_bias": True,
        },
        "batch_norm": {"epsilon": 1.001e-05, "center": True, "scale": False},
        "activation": {"fn": "swish"},
        "dense": {"units": 5, "use_bias": True, "activation": "softmax"},
        "zero_pad2d": {"padding": ((1, 2), (3, 0))},
        "zero_pad3d": {"padding": ((0, 0), (0, 0), (1, 1))},
        "reshape": {"target_shape": (4, 16, 3)},
        "max_pool2d": {"pool": (3, 3), "strides": (2, 2), "padding": "same"},
        "avg_pool2d": {"pool": (2, 2), "strides": (2, 2), "padding": "valid"},
        "global_avg_pool2d": {"keepdims": True},
        "global_max_pool2d": {"keepdims": False},
        "flatten": {},
        "add": {},
        "multiply": {},
        "concat": {},
        "dropout": {"rate": 0.25},
    }
    from test_ops_keras import ROUND_TRIP, ROUND_TRIP_INPUTS  # the examples of the ops tested there

    examples.update(ROUND_TRIP)
    graph = Graph("round-trip")
    x = graph.add("input", "input", shape=ROUND_TRIP_INPUTS.get(name, (8, 8, 3)))
    inputs = (x, x) if OPS[name].family == Family.MERGE else x
    if name == "zero_pad3d":
        inputs = graph.add("volume", "reshape", x, target_shape=(8, 8, 3, 1))
    graph.add("layer", name, inputs, **examples[name])
    model = to_keras(graph)
    imported = graph_from_keras(model)
    layer = imported["layer"]
    assert layer.op == name
    assert dict(layer.attrs) == examples[name]
    assert analyze_graph(imported).records[-1].output_shape == analyze_graph(graph).records[-1].output_shape


# ---- the counting conventions are written once -----------------------------------------------


def test_the_docs_quote_the_conventions():
    page = (ROOT / "docs" / "conventions.md").read_text()
    section = page.split("# Counting conventions\n", 1)[1].split("\n#", 1)[0]
    bullets = [" ".join(item.split()) for item in section.split("\n- ")[1:]]
    assert bullets == [text for _, text in CONVENTIONS]


# ---- no import cycle -------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every archviz module and the archviz modules it imports (at the top or inside a function)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base])
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert "archviz.core.analysis" in graph and "archviz.ops" in graph["archviz.core.analysis"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


#: The packages from the bottom up: each may import only the ones before it (at the top of a module or
#: inside a function), as each package's docstring says. The shared modules are errors, limits, units,
#: fileio, conventions and datarecord; ``archviz`` itself re-exports the library's entry points (archviz.api).
LAYERS = ["shared", "ops", "core", "backend", "sources", "api", "studies", "render", "cli", "__main__"]
SHARED = {
    "archviz.errors",
    "archviz.limits",
    "archviz.units",
    "archviz.fileio",
    "archviz.conventions",
    "archviz.datarecord",
}


def _layer(module: str) -> str:
    if module in SHARED:
        return "shared"
    if module == "archviz":
        return "api"
    return module.split(".")[1]


def test_packages_import_only_the_packages_below_them():
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if LAYERS.index(_layer(target)) > LAYERS.index(_layer(source))
    )
    assert not upward, upward
    assert set(map(_layer, import_graph())) == set(LAYERS)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# ---- each word defined once: the command line's choices come from the library -----------------


def _choices(command_name: str) -> dict[str, tuple]:
    import click

    from archviz.cli import cli

    command = cli.get_command(None, command_name)
    return {param.name: tuple(param.type.choices) for param in command.params if isinstance(param.type, click.Choice)}


def test_command_line_choices_come_from_the_library():
    from archviz.core.analysis import DType
    from archviz.core.record import Loader
    from archviz.core.summary import Summary
    from archviz.core.training import Optimizer
    from archviz.render.formats import DIAGRAM_FORMATS, RANKDIRS, formats
    from archviz.sources.zoo.config import STEMS, BlockType, Shortcut, StrideOn
    from archviz.studies.bench import Benchmark
    from archviz.studies.blocks import BlockComparison
    from archviz.studies.catalog import Catalog
    from archviz.studies.compare import SORT_KEYS, Comparison
    from archviz.studies.fit import FAMILIES, OBJECTIVES, FitResult

    model = {"block": tuple(BlockType), "shortcut": tuple(Shortcut), "stem": tuple(STEMS), "stride_on": tuple(StrideOn)}
    files = {**model, "loader": tuple(Loader)}
    expected = {
        "summary": {**files, "dtype": tuple(DType), "optimizer": tuple(Optimizer), "fmt": formats(Summary)},
        "compare": {
            **files,
            "dtype": tuple(DType),
            "optimizer": tuple(Optimizer),
            "fmt": formats(Comparison),
            "sort": SORT_KEYS,
        },
        "diagram": {**files, "fmt": DIAGRAM_FORMATS, "rankdir": RANKDIRS},
        "report": {**files, "dtype": tuple(DType), "optimizer": tuple(Optimizer)},
        "export": model,
        "bench": {**files, "fmt": formats(Benchmark)},
        "list": {"fmt": formats(Catalog)},
        "fit": {
            "family": tuple(FAMILIES),
            "objective": tuple(OBJECTIVES),
            "dtype": tuple(DType),
            "optimizer": tuple(Optimizer),
            "fmt": formats(FitResult),
        },
        "blocks": {"fmt": formats(BlockComparison)},
    }
    for command, choices in expected.items():
        assert _choices(command) == {key: tuple(value) for key, value in choices.items()}, command


def test_every_model_command_takes_every_model_option():
    from archviz.api import CONFIG_OPTIONS
    from archviz.cli import cli

    for name in ("summary", "compare", "diagram", "report", "export", "bench"):
        params = {param.name for param in cli.get_command(None, name).params}
        assert set(CONFIG_OPTIONS) <= params, name
        assert (name == "export") != ({"unsafe", "custom_objects"} <= params), name


def test_common_options_come_first_in_help():
    from archviz.cli import cli

    for name in ("summary", "diagram", "report", "compare"):
        order = [param.name for param in cli.get_command(None, name).params]
        assert order.index("output") < order.index("layers"), name


def test_every_named_renderer_exists():
    """The format dispatch names its renderers as text (so that a command's options import none of them):
    each name must resolve to a function of the result type's renderer module."""
    from archviz.render.formats import RENDERERS, renderer

    for type_name, table in RENDERERS.items():
        result_type = type(type_name, (), {})
        for fmt in table:
            assert callable(renderer(result_type, fmt)), (type_name, fmt)


def test_no_two_modules_share_a_name():
    """A module's name says what it is: two modules share one only where one renders the other's result
    (studies/compare.py and render/compare.py)."""
    names: dict[str, list[Path]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            names.setdefault(path.stem, []).append(path.parent.relative_to(PACKAGE))
    shared = {name: sorted(map(str, places)) for name, places in names.items() if len(places) > 1}
    assert all(places == ["render", "studies"] for places in shared.values()), shared


def test_the_package_exports_what_it_names():
    """``archviz``'s public names are imported when first used; the list and the lazy table agree."""
    import archviz

    assert set(archviz.__all__) == {"__version__", *archviz._PUBLIC}
    assert all(getattr(archviz, name) is not None for name in archviz.__all__)
