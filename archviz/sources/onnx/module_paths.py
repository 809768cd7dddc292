"""Layer names and stages of an ONNX graph from the module paths its exporter wrote.

torch's exporter names a node after the modules it runs in: ``/layer1/layer1.0/conv1/Conv`` is the
``Conv`` of module ``layer1.0.conv1`` (each part of the path is a module's name inside its parent's,
``layer1.0`` already qualified). A layer is named after its module (``layer1.0.conv1``), or its module
and op where a module runs several (``layer1.0.Add``). A top-level module holding modules that hold
modules (``layer1``) is a stage, each of its children (``layer1.0``) a block; the layers before the
first stage are the stem, after the last the head (a top-level module named ``stem``, ``post`` or ``head``
keeps its name). A file without module paths keeps its node names,
and :func:`archviz.core.hierarchy.recover_structure` finds its blocks from the graph.
"""

from __future__ import annotations

from collections import Counter

from archviz.core.graph import Graph
from archviz.errors import RuntimeFailure
from archviz.limits import MAX_NAME_PARTS, short

#: archviz's own groups outside the stages, kept where a file's top-level modules have their names
#: (archviz's ONNX export writes ``/post/bn/BatchNormalization``).
OWN_GROUPS = ("stem", "post", "head")


def module_path(onnx_name: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(the path's parts, their qualified module names, the op part) of a node name: ``/layer1/layer1.0/conv1/Conv``
    -> ``(layer1, layer1.0, conv1)``, ``(layer1, layer1.0, layer1.0.conv1)``, ``Conv``."""
    if not onnx_name.startswith("/"):
        return (), (), onnx_name
    if onnx_name.count("/") > MAX_NAME_PARTS + 1:  # checked before the parts and their prefixes are built
        raise RuntimeFailure(
            f"node name {short(onnx_name)} has {onnx_name.count('/'):,} path parts; "
            f"archviz reads at most {MAX_NAME_PARTS}"
        )
    parts = tuple(part for part in onnx_name.split("/") if part)
    if not parts:
        return (), (), onnx_name
    modules, qualified, current = parts[:-1], [], ""
    for index, part in enumerate(modules):
        previous = modules[index - 1] if index else ""
        if previous and part.startswith(previous + "."):
            current = current[: len(current) - len(previous)] + part
        else:
            current = f"{current}.{part}" if current else part
        qualified.append(current)
    return modules, tuple(qualified), parts[-1]


def layer_names(onnx_names: list[str]) -> dict[str, str]:
    """Each node name's layer name: its module (``layer1.0.conv1``) where that module runs one node and
    holds no other module, else the module and the op (``layer1.0.Add``); a name without a path is itself."""
    paths = {name: module_path(name) for name in onnx_names}
    modules = Counter(path[1][-1] for path in paths.values() if path[1])
    parents = {q for path in paths.values() for q in path[1][:-1]}
    names = {}
    for name, (_, qualified, leaf) in paths.items():
        if not qualified:
            names[name] = leaf.strip("/") or name
        elif modules[qualified[-1]] == 1 and qualified[-1] not in parents:
            names[name] = qualified[-1]
        else:
            names[name] = f"{qualified[-1]}.{leaf}"
    return names


def set_structure(graph: Graph, onnx_names: dict[str, str]) -> bool:
    """Scope every layer by the module paths of ``onnx_names`` (layer -> ONNX node name); False (nothing
    set) when the names have no stage. A layer without a node of its own (a held operand) joins the
    layer that reads it."""
    paths = {layer: module_path(name)[0] for layer, name in onnx_names.items()}
    stages = {path[0] for path in paths.values() if len(path) >= 3}
    if not stages:
        return False
    places: dict[str, tuple[str, ...]] = {}
    for layer, path in paths.items():
        if path and path[0] in OWN_GROUPS and path[0] not in stages:
            places[layer] = (path[0],)
        elif path and path[0] in stages:
            stage = path[0]
            block = path[1].removeprefix(stage + ".") if len(path) >= 2 else None
            places[layer] = (stage, block) if block else (stage,)
    order = [node.name for node in graph if node.op != "input"]
    staged = [index for index, layer in enumerate(order) if layer in places and places[layer][0] in stages]
    first, last = staged[0], staged[-1]
    consumers = graph.consumers()
    scopes: dict[str, tuple[str, ...]] = {}
    groups = {"stem": "stem", "head": "head"}
    previous: tuple[str, ...] = ("stem",)
    for index, layer in enumerate(order):
        if layer not in onnx_names and consumers[layer]:
            reader = consumers[layer][0]
            place = places.get(reader)
        else:
            place = places.get(layer)
        if place is None:
            place = ("stem",) if index < first else ("head",) if index > last else previous[:1]
        scopes[layer] = previous = place
        if len(place) == 2:
            groups[place[0]] = "stage"
            groups[".".join(place)] = "block"
        elif place[0] in stages:
            groups[place[0]] = "stage"
        else:
            groups[place[0]] = place[0]
    graph.set_scopes(scopes, groups)
    return True
