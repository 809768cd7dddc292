"""fit's ranked variants as a table, with the objective in a sentence and the command that builds each."""

from __future__ import annotations

from archviz.render.tables import text_table
from archviz.studies.fit import DEFAULT_LIMIT, FitResult
from archviz.units import human


def render_table(result: FitResult, limit: int = DEFAULT_LIMIT) -> str:
    shown = result.shown(limit)
    budget = f"at most {human(result.max_params)} params" + (
        f" and {human(result.max_macs)} MACs" if result.max_macs else ""
    )
    lines = [
        f"{result.evaluated:,} variants evaluated in {result.seconds:.2f} s ({result.rate:,.0f}/s); "
        f"{result.within_budget:,} fit {budget}, {result.front_size} of them on the Pareto front."
    ]
    if not shown:
        return "\n".join(lines + ["No variant fits: raise the budget or try another --family."]) + "\n"
    lines.append(f"--objective {result.objective}: {result.ranking}")
    header = ["#", "Params", "MACs", "Weighted layers", "Command"]
    body = [[str(i), human(v.params), human(v.macs), str(v.weighted_layers), v.command] for i, v in enumerate(shown, 1)]
    lines += text_table(header, body, {0, 1, 2, 3})
    if len(shown) < len(result.ranked):
        lines.append(f"{len(result.ranked) - len(shown):,} more: --limit 0 shows them all.")
    return "\n".join(lines) + "\n"
