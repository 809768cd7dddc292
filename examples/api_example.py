"""Using archviz from Python: where do ResNet-50's parameters and MACs go, stage by stage?

python examples/api_example.py
"""

import archviz

for name in ("resnet50", "resnet50-torchvision"):
    summary = archviz.analyze(name)
    print(f"{name}: {summary.params:,} params, {summary.macs:,} MACs, {summary.flops:,} FLOPs")
    for stage in summary.stage_rows():
        share = stage.macs / summary.macs
        print(f"  {stage.name:<7} {stage.params:>12,} params {stage.macs:>15,} MACs ({share:.0%} of the compute)")

# The seed-003 ResNet-50 as written carries a slip in stage 5; the spec shows what it costs.
written = archviz.analyze("examples/specs/seed003_resnet50_as_written.toml")
fixed = archviz.analyze("examples/specs/seed003_resnet50_corrected.toml")
print(f"seed 003 as written: {written.params:,} params; corrected: {fixed.params:,}")
