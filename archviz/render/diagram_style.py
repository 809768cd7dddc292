"""The look of a diagram, shared by its views: the colours of op families and groups, the shortcut's
colour, the font, and the limits of what one diagram draws."""

from __future__ import annotations

from archviz.errors import UsageError
from archviz.ops import Family

#: DejaVu Sans is installed with Graphviz on Debian (the report's CSS names it too); the others stand in
#: for it where a standalone SVG is opened on a machine without it.
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

GROUP = "group"  # the style of a node that stands for a stage or a block

#: Fill, border and legend name of each op family (colour-blind-safe hues, light fills), and of groups.
FAMILY_STYLE: dict[str, tuple[str, str, str]] = {
    Family.IO: ("#eeeeee", "#777777", "input"),
    Family.CONV: ("#dbe8f6", "#2f6aa3", "convolution"),
    Family.NORM: ("#fde7cf", "#c46a00", "normalization"),
    Family.ACTIVATION: ("#e1f2dc", "#3c8a2e", "activation"),
    Family.POOL: ("#ece1f0", "#7d4e91", "pooling"),
    Family.MERGE: ("#fbdcdc", "#b33a3a", "add / concat"),
    Family.DENSE: ("#d8f0ee", "#287c76", "dense"),
    Family.RESHAPE: ("#f3f3e6", "#8a8a55", "padding / reshape"),
    Family.REGULARIZATION: ("#f0f0f0", "#999999", "dropout"),
    Family.UNKNOWN: ("#ffffff", "#000000", "not counted"),
    GROUP: ("#f7f7fb", "#4a4a6a", "stage / block"),
}
SHORTCUT_COLOR = "#b33a3a"
#: The graphviz ``group`` of the main path's nodes (input, stem, each block's body and add, head): dot
#: keeps a group's edges straight, so the network reads down one line and its shortcuts bypass it.
SPINE = "spine"
#: The weight of an edge along the main path (dot multiplies it by 100 inside a group): high enough that
#: a stage's caption or a shortcut's label beside it never bends the line. A shortcut's weight is 0.
SPINE_WEIGHT = "10"

#: Nodes one diagram may have: dot's layout time grows faster than the node count, and
#: ResNet-1202 drawn layer by layer has about 4,200.
MAX_DRAWN_NODES = 5_000
#: The most clusters (groups) a diagram draws: dot lays out each like a node; ResNet-1202 has 603,
#: and 64-part names on 80 layers make 5,000.
MAX_DRAWN_CLUSTERS = 5_000


class DiagramTooLarge(UsageError):
    """A diagram with more nodes than :data:`MAX_DRAWN_NODES` or more clusters than :data:`MAX_DRAWN_CLUSTERS`."""
