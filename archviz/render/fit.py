"""fit's ranked variants as a table, with the objective in a sentence and the command that builds each.
Its number columns are the metric table's (:data:`~archviz.core.metrics.View.FIT`), then the depth."""

from __future__ import annotations

from archviz.core.metrics import METRICS_BY_KEY
from archviz.render.tables import text_table
from archviz.studies.fit import DEFAULT_LIMIT, FIT_METRICS, FitResult
from archviz.units import human_bytes


def render_table(result: FitResult, limit: int = DEFAULT_LIMIT) -> str:
    shown = result.shown(limit)
    params, macs, depth = (METRICS_BY_KEY[key] for key in ("params", "macs", "weighted_layers"))
    budget = f"at most {params.format(result.max_params)} {params.in_text}" + (
        f" and {macs.format(result.max_macs)} {macs.in_text}" if result.max_macs else ""
    )
    train = result.training
    if train is not None:
        budget += (
            f" and {human_bytes(train.max_memory)} to train at batch {train.batch_size:,} "
            f"({train.optimizer}, {train.dtype})"
        )
    lines = [
        f"{result.evaluated:,} variants evaluated in {result.seconds:.2f} s ({result.rate:,.0f}/s); "
        f"{result.within_budget:,} fit {budget}, {result.front_size} of them on the Pareto front."
    ]
    if not shown:
        return "\n".join(lines + ["No variant fits: raise the budget or try another --family."]) + "\n"
    lines.append(f"--objective {result.objective}: {result.ranking}")
    memory = [METRICS_BY_KEY["training_memory"]] if train is not None else []
    header = ["#", *(metric.title for metric in (*FIT_METRICS, depth, *memory)), "Command"]
    body = [
        [
            str(i),
            *(metric.format(v.totals[metric.key]) for metric in FIT_METRICS),
            str(v.weighted_layers),
            *(metric.format(v.training_memory) for metric in memory),
            v.command,
        ]
        for i, v in enumerate(shown, 1)
    ]
    lines += text_table(header, body, set(range(len(header) - 1)))
    if len(shown) < len(result.ranked):
        lines.append(f"{len(result.ranked) - len(shown):,} more: --limit 0 shows them all.")
    return "\n".join(lines) + "\n"
