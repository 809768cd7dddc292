"""fit's ranked variants as a table, with the objective in a sentence and the command that builds each."""

from __future__ import annotations

from archviz.render.tables import text_table
from archviz.studies.fit import DEFAULT_LIMIT, FitResult
from archviz.units import human, human_bytes


def render_table(result: FitResult, limit: int = DEFAULT_LIMIT) -> str:
    shown = result.shown(limit)
    budget = f"at most {human(result.max_params)} params" + (
        f" and {human(result.max_macs)} MACs" if result.max_macs else ""
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
    memory = ["Train memory"] if train is not None else []
    header = ["#", "Params", "MACs", "Weighted layers", *memory, "Command"]
    body = [
        [
            str(i),
            human(v.params),
            human(v.macs),
            str(v.weighted_layers),
            *([human_bytes(v.training_memory)] if v.training_memory is not None else []),
            v.command,
        ]
        for i, v in enumerate(shown, 1)
    ]
    lines += text_table(header, body, set(range(len(header) - 1)))
    if len(shown) < len(result.ranked):
        lines.append(f"{len(result.ranked) - len(shown):,} more: --limit 0 shows them all.")
    return "\n".join(lines) + "\n"
