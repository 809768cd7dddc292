"""Stages and blocks of an imported model, recovered from its layer names or from its graph.

A built model's names spell its hierarchy (``layer2.block1.conv1``); an imported model's do not,
so depth control, diagram clusters, the report's tree and per-stage budgets would see one flat
list. :func:`recover_structure` gives each layer a scope (stage, block):

1. **Names**: the naming schemes of keras.applications and keras-hub (``conv2_block1_1_conv``,
   ``block2a_expand_conv``, ``block_3_expand``, ``convnext_tiny_stage_1_block_2_...``,
   ``stack1_block2_...``), the scheme matching most layers winning. An unnamed layer
   (``add_5``) joins the layer before it.
2. **Graph**: otherwise, each merge that closes a residual branch makes a block, from the point
   where the branch leaves the main path to the merge (and the activation right after it). The
   search is linear in the graph (:data:`WALK_PER_LAYER`).
3. Blocks without a stage in their names are grouped into stages where the resolution changes;
   layers before the first block are the stem, after the last the head.
"""

from __future__ import annotations

import heapq
import re

from archviz.core.graph import Graph, Node

#: A scheme: (pattern, stage format, block format) for block layers, then patterns of the stem and the head.
#: ``{s}`` and ``{b}`` are the pattern's ``stage`` and ``block`` groups.
SCHEMES: dict[str, tuple[list[tuple[str, str | None, str]], str, str]] = {
    "resnet": (
        [(r"conv(?P<s>\d+)_block(?P<b>\d+)_.+", "conv{s}", "block{b}")],
        r"(conv1|pool1)_.+",
        r"post_bn|post_relu|avg_pool|max_pool|predictions",
    ),
    "keras-hub resnet": (
        [(r"stack(?P<s>\d+)_block(?P<b>\d+)_.+", "stack{s}", "block{b}")],
        r"conv1_.+|pool1_.+|stem_.+",
        r"post_.+",
    ),
    "efficientnet": (
        [(r"block(?P<s>\d+)(?P<b>[a-z])_.+", "stage{s}", "block{s}{b}")],
        r"stem_.+|rescaling(_\d+)?|normalization(_\d+)?",
        r"top_.+|avg_pool|max_pool|predictions",
    ),
    "mobilenet": (
        [
            (r"block_(?P<b>\d+)_.+", None, "block_{b}"),
            (r"expanded_conv_(?P<b>\d+)_.+", None, "block_{b}"),
            (r"expanded_conv_.+", None, "block_0"),
        ],
        r"Conv1|bn_Conv1|Conv1_relu|conv|conv_bn|rescaling",
        r"Conv_1|Conv_1_bn|out_relu|conv_1|conv_1_bn|conv_2|logits|flatten|dropout|predictions",
    ),
    "convnext": (
        [
            (r".+?_stage_(?P<s>\d+)_block_(?P<b>\d+)_.+", "stage_{s}", "block_{b}"),
            (r".+?_downsampling_(block|layernorm|conv)_(?P<d>\d+)", "stage_{d1}", "downsample"),
        ],
        r".+?_(prestem|stem).*",
        r".+?_head_.+",
    ),
    "xception": ([(r"block(?P<b>\d+)_.+", None, "block{b}")], r"(?!)", r"avg_pool|max_pool|predictions"),
}


def recover_structure(graph: Graph) -> None:
    """Give the layers of an imported ``graph`` stage and block scopes (see the module docstring);
    a graph whose names already have a hierarchy of stages and blocks (a traced subclassed model's
    ``layer1.block2.conv1``), or with no block to find, is left as it is. A nested model's layers are
    matched by their own names (``resnet50.conv2_block1_1_conv`` by ``conv2_block1_1_conv``)."""
    if graph.groups:
        return
    if graph.max_depth >= 3:  # named already (archviz's own export, a traced model): say what the groups are
        graph.set_scopes({}, _kinds_of_named_groups(graph))
        return
    nodes = [node for node in graph if node.op != "input"]
    blocks = _blocks_by_name(nodes) or _blocks_by_graph(graph, nodes)
    if not blocks:
        return
    scopes, groups = _stages(nodes, blocks)
    graph.set_scopes(scopes, groups)


def _kinds_of_named_groups(graph: Graph) -> dict[str, str]:
    """``layer2`` is a stage and ``layer2.block1`` a block; ``stem``, ``post`` and ``head`` are themselves."""
    kinds: dict[str, str] = {}
    for node in graph:
        path = node.path
        if len(path) >= 2:
            kinds.setdefault(path[0], path[0] if path[0] in ("stem", "post", "head") else "stage")
        if len(path) >= 3 and kinds[path[0]] == "stage":
            kinds.setdefault(".".join(path[:2]), "block")
    return kinds


# ---- blocks from names ------------------------------------------------------------------------


def _match(scheme: str, name: str) -> tuple[str | None, str] | str | None:
    """(stage, block) of a block layer, "stem" or "head", or None."""
    block_patterns, stem, head = SCHEMES[scheme]
    for pattern, stage, block in block_patterns:
        found = re.fullmatch(pattern, name)
        if found:
            values = found.groupdict()
            if "d" in values:  # a downsampling layer opens the next stage
                values["d1"] = str(int(values["d"]) + 1)
            return None if stage is None else stage.format(**values), block.format(**values)
    if re.fullmatch(stem, name):
        return "stem"
    if re.fullmatch(head, name):
        return "head"
    return None


def _blocks_by_name(nodes: list[Node]) -> dict[str, tuple[str | None, str]] | None:
    """Each node's (stage, block), "stem" or "head", under the scheme that matches most layers; an
    unmatched layer takes the place of the layer before it. None when no scheme fits."""
    best, best_count = None, 0
    for scheme in SCHEMES:
        count = sum(isinstance(_match(scheme, _own(node)), tuple) for node in nodes)
        if count > best_count:
            best, best_count = scheme, count
    if best is None or best_count < max(3, len(nodes) // 4):
        return None
    places: dict[str, tuple[str | None, str] | str] = {}
    previous: tuple[str | None, str] | str = "stem"
    for node in nodes:
        place = _match(best, _own(node))
        if place is None:
            place = previous
        places[node.name] = previous = place
    return places  # type: ignore[return-value]


def _own(node: Node) -> str:
    """A layer's own name, without the names of the models it is nested in."""
    return node.name.rsplit(".", 1)[-1]


# ---- blocks from the graph ----------------------------------------------------------------------


#: How many layers the search for the forks of residual branches may visit, per layer of the graph:
#: a residual block is walked once (about 10 layers); a graph whose merges reach far back
#: (every add fed from the input) would cost n² and is left without blocks from the graph.
WALK_PER_LAYER = 16


def _fork(graph: Graph, sources: tuple[str, ...], order: dict[str, int], budget: list[int]) -> int | None:
    """The position of the last layer that every one of ``sources`` descends from (-1: none), found by
    walking back from them in reverse topological order until one layer is reached from every branch:
    the walk visits only the layers between the fork and the merge. None when ``budget`` runs out."""
    full = (1 << len(sources)) - 1
    reached: dict[str, int] = {}  # a layer -> the branches (bits) that reach it
    heap: list[tuple[int, str]] = []
    for bit, source in enumerate(sources):
        if source not in reached:
            heapq.heappush(heap, (-order[source], source))
        reached[source] = reached.get(source, 0) | 1 << bit
    while heap:
        _, name = heapq.heappop(heap)  # every layer after it that reaches it has been popped: its bits are all in
        if reached[name] == full:
            return order[name]
        budget[0] -= 1
        if budget[0] < 0:
            return None
        for parent in graph[name].inputs:
            if parent not in reached:
                heapq.heappush(heap, (-order[parent], parent))
            reached[parent] = reached.get(parent, 0) | reached[name]
    return -1


def _blocks_by_graph(graph: Graph, nodes: list[Node]) -> dict[str, tuple[str | None, str] | str] | None:
    """Residual blocks found from the graph: a merge of two branches closes a block that starts after
    the last layer both branches share."""
    order = {node.name: index for index, node in enumerate(graph)}
    consumers = graph.consumers()
    spans: list[tuple[int, int]] = []
    budget = [WALK_PER_LAYER * len(order) + 1_000]
    for node in nodes:
        if node.op != "add" or len(node.inputs) < 2:
            continue
        start = _fork(graph, node.inputs, order, budget)
        if start is None:
            return None
        end = order[node.name]
        after = consumers[node.name]
        if len(after) == 1 and graph[after[0]].op == "activation":
            end = order[after[0]]  # the activation that follows the merge belongs to the block
        spans.append((start, end))
    if not spans:
        return None
    places: dict[str, tuple[str | None, str] | str] = {}
    names = [node.name for node in graph]
    unplaced = _Unplaced(len(names))
    for number, (start, end) in enumerate(spans, 1):  # a layer belongs to the first block that spans it
        index = unplaced.next(start + 1)
        while index <= end:
            places[names[index]] = (None, f"block{number}")
            unplaced.take(index)
            index = unplaced.next(index + 1)
    last_end = spans[-1][1]
    previous: tuple[str | None, str] | str = "stem"
    for node in nodes:
        if node.name not in places:
            places[node.name] = "head" if order[node.name] > last_end else previous
        previous = places[node.name]
    return places


class _Unplaced:
    """The positions 0..n-1 not yet in a block: the next one from any position in near-constant time
    (a union-find of taken runs), so overlapping spans cost their layers once, not once per span."""

    def __init__(self, size: int) -> None:
        self.after = list(range(size + 1))  # after[i] == i: free (or the end); else a later candidate

    def next(self, index: int) -> int:
        root = index
        while self.after[root] != root:
            root = self.after[root]
        while self.after[index] != root:  # compress the path walked
            self.after[index], index = root, self.after[index]
        return root

    def take(self, index: int) -> None:
        self.after[index] = index + 1


# ---- stages -------------------------------------------------------------------------------------


def _resolution(node: Node) -> tuple[int, ...] | None:
    shape = node.declared.output_shape if node.declared is not None else None
    return tuple(shape[:-1]) if shape is not None and len(shape) > 1 else None


def _stages(nodes: list[Node], places: dict) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Scopes and group kinds: blocks without a named stage are grouped where their output resolution
    changes."""
    blocks: list[tuple[str | None, str]] = []
    resolution: dict[tuple[str | None, str], tuple[int, ...] | None] = {}
    for node in nodes:
        place = places[node.name]
        if isinstance(place, tuple):
            if place not in resolution:
                blocks.append(place)
            resolution[place] = _resolution(node) or resolution.get(place)
    stage_of: dict[tuple[str | None, str], str] = {}
    number, previous = 0, None
    for place in blocks:
        if place[0] is None:
            if resolution[place] != previous or number == 0:
                number += 1
            previous = resolution[place]
        stage_of[place] = place[0] or f"stage{number}"
    scopes: dict[str, tuple[str, ...]] = {}
    groups: dict[str, str] = {"stem": "stem", "head": "head"}
    for node in nodes:
        place = places[node.name]
        if isinstance(place, tuple):
            stage = stage_of[place]
            scopes[node.name] = (stage, place[1])
            groups[stage] = "stage"
            groups[f"{stage}.{place[1]}"] = "block"
        else:
            scopes[node.name] = (place,)
    return scopes, groups
