"""Summaries as a terminal table, Markdown, CSV and JSON. Nothing here computes a number."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from archviz.render.tables import csv_table, markdown_table, markdown_text, text_table, visible
from archviz.summary import Row, Summary
from archviz.units import exact, human, human_bytes

_NUMERIC = {3, 4, 5}


def shape_text(shape: Sequence[int]) -> str:
    """``56x56x256``; a dimension the model leaves open (-1) is ``?``."""
    return "x".join("?" if d < 0 else str(d) for d in shape)


def _columns(rows: list[Row], readable: bool) -> tuple[list[str], list[list[str]]]:
    number = human if readable else exact
    header = ["Layer", "Op", "Output shape", "Params", "MACs", "FLOPs"]
    body = []
    for row in rows:
        op = f"{row.op} {row.detail}" if readable and row.detail else row.op
        body.append([row.name, op, shape_text(row.output_shape), number(row.params),
                     number(row.macs if row.counted else None), number(row.flops)])
    return header, body


#: What a total that depends on the input size reads while the model leaves that size open, in every
#: format (the summary's totals, the report's cards, compare).
UNKNOWN = "unknown"
#: Why, and what to do about it.
OPEN_SIZE = "the input size is open, pass --input-shape H,W,C"


def total_text(value: int | None, unit: Callable[[int], str] = human) -> str:
    """The text of one total of :meth:`Summary.totals` in ``unit`` (:func:`human`, :func:`exact`,
    :func:`human_bytes`): :data:`UNKNOWN` where the totals say None (the input size is open)."""
    return UNKNOWN if value is None else unit(value)


def totals_lines(summary: Summary) -> list[tuple[str, str]]:
    """The totals as (label, text) pairs, shared by the table and Markdown renderers."""
    totals = summary.totals()
    open_size = f"{UNKNOWN}: {OPEN_SIZE}"

    def sized(key: str, text: str, complete: bool = True) -> str:
        if totals[key] is None:
            return open_size
        return text + ("" if complete else " (lower bound: some layers not counted)")

    return [
        ("Params", f"{exact(summary.params)} ({human(summary.params)}): {exact(summary.trainable_params)} trainable, "
                   f"{exact(summary.non_trainable_params)} non-trainable"),
        ("MACs", sized("macs", f"{total_text(totals['macs'], exact)} ({total_text(totals['macs'])}) "
                               f"multiply-accumulates", summary.macs_complete)),
        ("FLOPs", sized("flops", f"{total_text(totals['flops'], exact)} ({total_text(totals['flops'])}) "
                                 f"floating-point operations", summary.complete)),
        ("Param memory", f"{human_bytes(summary.param_bytes)} ({summary.dtype})"),
        ("Activation memory", sized("activation_bytes", f"{total_text(totals['activation_bytes'], human_bytes)} "
                                                        f"(batch {summary.batch_size}, {summary.dtype})")),
    ]


def _title(summary: Summary) -> str:
    options = summary.options
    parts = [summary.name]
    if options.get("input_shape"):
        parts.append(f"input {shape_text(options['input_shape'])}")
    if options.get("classes") and options.get("include_top", True):
        classes = options["classes"]
        parts.append(f"{classes} class" + ("" if classes == 1 else "es"))
    parts.append(f"batch {summary.batch_size}")
    if options.get("loader_reason"):
        parts.append(f"loaded with Keras: {options['loader_reason']}")
    return visible(", ".join(parts))


def depth_note(summary: Summary, depth: Any) -> list[str]:
    """One line when a depth was asked for that the model's structure cannot give."""
    if summary.max_depth == 1 and str(depth) in ("stages", "blocks", "1", "2"):
        return [f"(--depth {depth}: archviz found no stages or blocks in this model, so every layer is shown)"]
    return []


def render_table(summary: Summary, depth: Any = None) -> str:
    header, body = _columns(summary.rows(depth), readable=True)
    out = [_title(summary), *depth_note(summary, depth), *text_table(header, body, _NUMERIC)]
    label_width = max(len(label) for label, _ in totals_lines(summary))
    out += [f"{label + ':':<{label_width + 1}} {text}" for label, text in totals_lines(summary)]
    out += _warning_lines(summary)
    return "\n".join(out) + "\n"


def _warning_lines(summary: Summary) -> list[str]:
    if summary.size_open:  # every size-dependent layer is uncounted for that one reason
        return []
    lines = []
    for op, names in summary.uncounted.items():
        reason = summary.reasons.get(op, f"no rule for {op}")
        lines.append(visible(f"Not counted: {len(names)} layer(s) of type {op} ({', '.join(names[:3])}"
                             + (", ..." if len(names) > 3 else "") + f"): {reason}; params come from the model"))
    return lines


def render_markdown(summary: Summary, depth: Any = None) -> str:
    header, body = _columns(summary.rows(depth), readable=True)
    lines = [f"**{markdown_text(_title(summary))}**", *map(markdown_text, depth_note(summary, depth)), "",
             *markdown_table(header, body, _NUMERIC), ""]
    lines += markdown_table(["Total", ""], totals_lines(summary))
    lines += ["", *(f"> {markdown_text(line)}" for line in _warning_lines(summary))] if summary.uncounted else []
    return "\n".join(lines) + "\n"


def render_csv(summary: Summary, depth: Any = None) -> str:
    header = ["name", "op", "output_shape", "params", "trainable_params", "non_trainable_params", "macs", "flops",
              "activation_bytes"]
    body = [[row.name, row.op, shape_text(row.output_shape), row.params, row.trainable_params,
             row.non_trainable_params, row.macs if row.counted else "", "" if row.flops is None else row.flops,
             row.activation_bytes]
            for row in summary.rows(depth)]
    return csv_table(header, body)
