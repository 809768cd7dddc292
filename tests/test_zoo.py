"""The registry and the config options of the zoo."""

import pytest

import archviz
from archviz.errors import SpecError, UnknownModelError
from archviz.sources.zoo import REGISTRY, Registry, ResNetConfig, build, plan


def test_registry_refuses_a_duplicate_name():
    registry = Registry()
    registry.register(ResNetConfig(name="x"))
    with pytest.raises(SpecError, match="already registered"):
        registry.register(ResNetConfig(name="X"))


def test_a_preset_is_made_when_first_asked_for_and_kept():
    made = []

    def factory() -> ResNetConfig:
        made.append(1)
        return ResNetConfig(name="Lazy")

    registry = Registry()
    registry.add("Lazy", factory)
    assert "lazy" in registry and registry.names() == ["Lazy"] and not made
    assert registry.get("LAZY") is registry.get("lazy") and made == [1]
    with pytest.raises(SpecError, match="already registered"):
        registry.add("LAZY", factory)


def test_a_preset_must_make_a_config_of_its_own_name():
    registry = Registry()
    registry.add("one", lambda: ResNetConfig(name="two"))
    with pytest.raises(SpecError, match="makes a config named 'two'"):
        registry.get("one")


def test_the_real_registry_has_unique_names():
    names = [c.name.lower() for c in REGISTRY]
    assert len(names) == len(set(names))


def test_glob_listing():
    assert [c.name for c in REGISTRY.match("resnet*-keras")] == [f"resnet{d}-keras" for d in (18, 34, 50, 101, 152)]
    assert {c.name for c in REGISTRY.match("cifar")} == {f"resnet{d}" for d in (20, 32, 44, 56, 110, 1202)}
    assert "wrn-28-10" in {c.name for c in REGISTRY.match("wide")}


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownModelError, match="did you mean resnet50"):
        REGISTRY.get("resnt50")


@pytest.mark.parametrize("family", ["resnet", "preact", "cifar", "resnext", "wide", "plain"])
def test_every_family_has_presets(family):
    assert REGISTRY.match(family)


def test_issue_preset_coverage():
    required = [
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        *[f"resnet{d}-{f}" for d in (18, 34, 50, 101, 152) for f in ("torchvision", "keras")],
        "resnet50v2",
        "resnet101v2",
        "resnet152v2",
        "preact-resnet18",
        "preact-resnet34",
        "preact-resnet164",
        "preact-resnet1001",
        *[f"resnet{d}" for d in (20, 32, 44, 56, 110, 1202)],
        "resnext50_32x4d",
        "resnext101_32x8d",
        "resnext101_64x4d",
        "wide_resnet50_2",
        "wide_resnet101_2",
        "wrn-28-10",
        "plain-18",
        "plain-34",
        *[f"plain-{d}" for d in (20, 32, 44, 56, 110)],
    ]
    missing = [name for name in required if name not in REGISTRY]
    assert not missing


def test_cifar_option_b_adds_projections():
    a = archviz.analyze("resnet20")
    b = archviz.analyze("resnet20", shortcut="B")
    assert "pad_shortcut" in {r.op for r in a.records}
    assert b.params > a.params
    assert {r.op for r in b.records if r.name.endswith(".shortcut")} == {"conv2d"}


def test_option_c_projects_every_block_and_none_removes_shortcuts():
    c = build(archviz.load_config("resnet18", shortcut="C"))
    assert sum(1 for n in c if n.name.endswith(".shortcut")) == 8
    plain = build(archviz.load_config("resnet18", shortcut="none"))
    assert not any(n.op == "add" for n in plain)
    assert archviz.analyze("resnet18", shortcut="none").params == archviz.analyze("plain-18").params


def test_plain_and_residual_share_the_body():
    assert archviz.analyze("plain-34").macs < archviz.analyze("resnet34").macs
    assert archviz.analyze("resnet20").params == archviz.analyze("plain-20").params  # option A is free


def test_stride_placement():
    first = plan(archviz.load_config("resnet50"))
    assert [b.stride for b in first[1]] == [2, 1, 1, 1]
    v2 = plan(archviz.load_config("resnet50v2"))
    assert [b.stride for b in v2[0]] == [1, 1, 2]
    assert [b.shortcut for b in v2[0]] == ["projection", "identity", "max_pool"]
    assert archviz.analyze("resnet50", stride_on="middle").macs == archviz.analyze("resnet50-torchvision").macs


def test_input_shape_and_classes():
    summary = archviz.analyze("resnet18", input_shape=(64, 64, 3), classes=10)
    assert summary.records[-1].output_shape == (10,)
    assert summary.trainable_params == 11_689_512 - 513 * 1000 + 513 * 10
    assert archviz.analyze("resnet18", input_shape="112").records[0].output_shape == (112, 112, 3)


def test_include_top_false_drops_the_head():
    summary = archviz.analyze("resnet50-keras", include_top=False)
    assert summary.records[-1].output_shape == (7, 7, 2048)
    assert summary.params == 25_636_712 - 2048 * 1000 - 1000  # keras ResNet50(include_top=False): 23,587,712


def test_width_multiplier_scales_widths():
    half = archviz.analyze("resnet18", width_multiplier=0.5)
    assert half.rows(1)[-2].output_shape == (7, 7, 256)
    assert half.params < archviz.analyze("resnet18").params / 3


def test_groups_and_width_per_group_make_resnext():
    assert (
        archviz.analyze("resnet50-torchvision", groups=32, width_per_group=4).params
        == archviz.analyze("resnext50_32x4d").params
    )


def test_groups_on_basic_blocks_is_refused():
    with pytest.raises(SpecError, match="bottleneck"):
        archviz.analyze("resnet18", groups=2)


def test_conv_bias_and_stems():
    # one bias per output channel of every conv: 64 (stem) + 4x64 + (4x128 + 128) + (4x256 + 256) + (4x512 + 512)
    assert archviz.analyze("resnet18", conv_bias=True).params - archviz.analyze("resnet18").params == 4800
    assert archviz.analyze("resnet18", conv_bias=True).params == archviz.analyze("resnet18-keras").params
    deep = archviz.analyze("resnet50", stem="deep")
    assert [r.name for r in deep.records if r.name.startswith("stem.conv")] == [
        "stem.conv1",
        "stem.conv2",
        "stem.conv3",
    ]
    cifar = archviz.analyze("resnet18", stem="cifar", input_shape=(32, 32, 3))
    assert cifar.rows(1)[1].output_shape == (32, 32, 16)


def test_config_validation_names_the_field():
    for changes, field in [
        ({"layers": (2, 0)}, "layers"),
        ({"widths": (64,)}, "widths"),
        ({"shortcut": "D"}, "shortcut"),
        ({"bn_epsilon": 0}, "bn_epsilon"),
        ({"classes": -1}, "classes"),
        ({"input_shape": (0, 4, 3)}, "input_shape"),
    ]:
        with pytest.raises(SpecError, match=field):
            REGISTRY.get("resnet18").replace(**changes)
    with pytest.raises(SpecError, match="unknown option 'colour'"):
        REGISTRY.get("resnet18").replace(colour="red")
