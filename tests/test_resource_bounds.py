"""Resources bounded by design (issue 15, point 4): each hostile input here, small on disk, ends in one
result or in one line on stderr with the right exit code, within 10 s and 1 GiB.

Every case runs the real command line in a subprocess whose address space is limited to 1 GiB
(``RLIMIT_AS``) and whose time is limited to 10 s. None of these paths may load TensorFlow, whose
import alone reserves more address space than that: ``export`` and ``bench`` must refuse a model too
big for the machine before TensorFlow loads. The inputs are written as Keras writes them (config JSON
and an HDF5 weights file), without Keras, so the whole module takes seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
import zipfile

import pytest

from archviz.limits import MAX_CONFIG_VALUES, MAX_KEY_PARTS, MAX_NAME_PARTS, MAX_RANK

ADDRESS_SPACE = 2**30
SECONDS = 10


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def archviz(*args, cwd):
    """The command line in a real process under 1 GiB of address space; more than 10 s fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "archviz", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        preexec_fn=_limited,
        timeout=SECONDS,
    )


def one_line(result, code):
    """The one ``archviz: error:`` line of a run that exited with ``code``."""
    lines = result.stderr.decode().splitlines()
    assert result.returncode == code and len(lines) == 1 and lines[0].startswith("archviz: error: "), (
        result.returncode,
        result.stderr.decode()[-2000:],
    )
    return lines[0]


def succeeded(result):
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result.stdout.decode()


# ---- Keras files written by hand --------------------------------------------------------------------


def tensor(layer, shape, call=0):
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [layer, call, 0]},
    }


def layer(cls, name, calls, **config):
    """A Keras 3 layer entry; ``calls`` is a list of calls, each a list of (layer, call, shape) inputs."""
    nodes = []
    for inputs in calls:
        tensors = [tensor(source, shape, call) for source, call, shape in inputs]
        nodes.append({"args": [tensors if len(tensors) > 1 else tensors[0]], "kwargs": {}})
    return {
        "module": "keras.layers",
        "class_name": cls,
        "name": name,
        "registered_name": None,
        "config": {"name": name, "trainable": True, **config},
        "inbound_nodes": nodes,
    }


def input_layer(batch_shape, name="x"):
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "name": name,
        "registered_name": None,
        "config": {"name": name, "batch_shape": batch_shape, "dtype": "float32"},
        "inbound_nodes": [],
    }


def dense(name, source, units=8, width=8, call=0):
    return layer("Dense", name, [[(source, call, (width,))]], units=units, activation="linear", use_bias=True)


def functional(layers, output, call=0):
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "registered_name": "Functional",
        "config": {
            "name": "hostile",
            "trainable": True,
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [[output, call, 0]],
        },
    }


def weights_h5(shapes):
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        for name, shape in shapes.items():
            handle.create_dataset(name, shape=shape, dtype="float32")
    return buffer.getvalue()


def dense_weights(count, units=8, width=8):
    """The weights Keras writes for ``count`` Dense(8) layers on 8 inputs (dense, dense_1, ...)."""
    shapes = {}
    for index in range(count):
        path = "layers/dense" + (f"_{index}" if index else "")
        shapes[f"{path}/vars/0"], shapes[f"{path}/vars/1"] = (width, units), (units,)
    return shapes


def write_keras(path, config, weights=None, text=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", text if text is not None else json.dumps(config))
        archive.writestr("model.weights.h5", weights_h5(weights or {}))
    return path


def chain_of_dense(names):
    """An 8-vector input, then a Dense(8) per name, each on the one before."""
    layers, previous = [input_layer([None, 8])], "x"
    for name in names:
        layers.append(dense(name, previous))
        previous = name
    return functional(layers, previous), dense_weights(len(names))


def deep_names(count, parts, distinct=True):
    """``count`` names of ``parts`` dotted parts each (each its own groups when ``distinct``)."""
    return [
        ".".join([f"g{index if distinct else 0}p{part}" for part in range(parts - 1)] + [f"d{index}"])
        for index in range(count)
    ]


# ---- cubic growth with the depth of names -----------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["diagram", "--depth", "layers", "-o", "x.svg"], ["report", "-o", "x.html"], ["summary"]]
)
def test_a_name_of_1500_parts_is_one_line(tmp_path, command):
    write_keras(tmp_path / "deep.keras", *chain_of_dense(deep_names(1, 1_500)))
    line = one_line(archviz(command[0], "deep.keras", *command[1:], cwd=tmp_path), 2)
    assert line.endswith(f"has 1,500 dotted parts; archviz reads at most {MAX_NAME_PARTS}")


def test_names_at_the_limit_draw_and_report_in_linear_time(tmp_path):
    """15 layers of 64-part names (960 nested clusters): each cluster's lines are written once."""
    write_keras(tmp_path / "deep.keras", *chain_of_dense(deep_names(15, MAX_NAME_PARTS)))
    succeeded(archviz("diagram", "deep.keras", "--depth", "layers", "--full", "-o", "x.svg", cwd=tmp_path))
    svg = (tmp_path / "x.svg").read_text()
    assert svg.count('class="cluster"') == 15 * (MAX_NAME_PARTS - 1)
    succeeded(archviz("report", "deep.keras", "-o", "x.html", cwd=tmp_path))
    html = (tmp_path / "x.html").read_text()
    assert html.count("data-parent=") == 1 + 15 * MAX_NAME_PARTS  # the input, and every group and layer


def test_too_many_clusters_or_table_rows_are_one_line(tmp_path):
    write_keras(tmp_path / "wide.keras", *chain_of_dense(deep_names(100, MAX_NAME_PARTS)))  # 6,300 groups
    line = one_line(archviz("diagram", "wide.keras", "--depth", "layers", "--full", "-o", "x.svg", cwd=tmp_path), 2)
    assert "more than 5,000 groups to draw as clusters" in line
    folded = archviz("diagram", "wide.keras", "--depth", "layers", "-o", "x.svg", cwd=tmp_path)  # without --full
    note = folded.stderr.decode()
    assert folded.returncode == 0 and "has more than 5,000 groups to draw as clusters" in note
    assert "drew --depth blocks --collapse instead; --full draws it as asked" in note
    (tmp_path / "x.svg").unlink()
    line = one_line(archviz("report", "wide.keras", "-o", "x.html", cwd=tmp_path), 2)
    assert "the dotted names of its 101 layers make at least 1,101 groups for the report's layer table" in line
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "x.svg").exists()


# ---- configs whose memory the byte limit does not bound ---------------------------------------------


def empty_objects(megabytes):
    """A tiny model whose config carries ``megabytes`` MiB of ``{},`` under a key nobody reads."""
    config, _ = chain_of_dense(["fc"])
    return json.dumps(config)[:-1] + ', "unused": [' + "{}," * (megabytes * 2**20 // 3) + "{}]}"


def test_64_mib_of_empty_objects_in_a_keras_file_is_one_line(tmp_path):
    write_keras(tmp_path / "objects.keras", None, dense_weights(1), text=empty_objects(63))
    assert (tmp_path / "objects.keras").stat().st_size < 100_000
    line = one_line(archviz("summary", "objects.keras", cwd=tmp_path), 1)
    assert line.endswith(f"holds more than {MAX_CONFIG_VALUES:,} JSON values (the limit)")


def test_64_mib_of_empty_objects_in_an_h5_file_is_one_line(tmp_path):
    import h5py

    with h5py.File(tmp_path / "objects.h5", "w", libver="latest") as handle:
        handle.attrs["model_config"] = empty_objects(60)
    line = one_line(archviz("summary", "objects.h5", cwd=tmp_path), 1)
    assert line.endswith("the model_config attribute holds more than 2,000,000 JSON values (the limit)")


@pytest.mark.parametrize("filler", ['"",', "[]", "{}", '"[",', "[" * 1000 + "]" * 1000])
def test_60_mib_of_strings_or_brackets_in_a_keras_file_is_one_line(tmp_path, filler):
    """Counted without a list of pieces or an array per bracket: 60 MiB of ``"",`` split on every quote,
    and ``[][]`` (one value by commas, 30 million containers) counted with an int64 per bracket, took
    gigabytes before the count refused."""
    config, _ = chain_of_dense(["fc"])
    text = json.dumps(config)[:-1] + ', "unused": [' + filler * (60 * 2**20 // len(filler)) + '""]}'
    write_keras(tmp_path / "filler.keras", None, dense_weights(1), text=text)
    assert (tmp_path / "filler.keras").stat().st_size < 300_000
    line = one_line(archviz("summary", "filler.keras", cwd=tmp_path), 1)
    assert line.endswith(f"holds more than {MAX_CONFIG_VALUES:,} JSON values (the limit)")


def test_the_scan_carries_strings_and_pairs_across_chunks():
    """Strings and ``[]`` cut by the scan's chunk boundary are counted as the parser sees them."""
    from archviz.sources.keras.files import _CHUNK, json_shape

    for cut in range(_CHUNK - 3, _CHUNK + 3):
        text = " " * cut + '[[], "a,[{b", {}, [1]]'
        assert json_shape(text.encode()) == (6, 2), cut


@pytest.mark.slow
def test_a_config_just_under_the_value_limit_is_read(tmp_path):
    config, weights = chain_of_dense(["fc"])
    nested = '{"a":{"b":{}}},' * (MAX_CONFIG_VALUES // 3 - 100)  # the costliest values: small dicts
    write_keras(tmp_path / "many.keras", None, weights, text=json.dumps(config)[:-1] + f', "unused": [{nested}1]}}')
    assert "Params:            72" in succeeded(archviz("summary", "many.keras", cwd=tmp_path))


def test_the_value_count_and_depth_match_the_parser():
    from archviz.sources.keras.files import json_depth, json_values, nesting_depth

    def values(item):
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
        return 1 + sum(values(child) for child in children)

    for item in [1, "a,b", [], {}, [[], {}], {'k\\"[': [1, "x\\\\", {"y": "]}{,"}], "e": []}, [[[[{"a": None}]]]]]:
        for text in (json.dumps(item), json.dumps(item, indent=2), json.dumps(item, ensure_ascii=False)):
            assert (json_values(text.encode()), json_depth(text.encode())) == (values(item), nesting_depth(item))


# ---- quadratic paths -------------------------------------------------------------------------------


def test_one_layer_called_30000_times(tmp_path):
    calls = [[("x", 0, (8,))]] + [[("fc", index, (8,))] for index in range(29_999)]
    fc = layer("Dense", "fc", calls, units=8, activation="linear", use_bias=True)
    write_keras(
        tmp_path / "shared.keras", functional([input_layer([None, 8]), fc], "fc", call=29_999), dense_weights(1)
    )
    out = succeeded(archviz("summary", "shared.keras", "--format", "json", cwd=tmp_path))
    summary = json.loads(out)
    assert summary["totals"]["params"] == 72 and summary["totals"]["macs"] == 30_000 * 64
    assert summary["layers"][-1]["name"] == "fc_29999"


def test_5000_layers_with_compressed_weights(tmp_path):
    """A re-zipped archive compresses model.weights.h5; h5py's seeks back in it would decompress it again
    each time (n² for n layers), so it is unpacked once."""
    write_keras(tmp_path / "many.keras", *chain_of_dense([f"fc{index}" for index in range(5_000)]))
    assert zipfile.ZipFile(tmp_path / "many.keras").getinfo("model.weights.h5").compress_type == zipfile.ZIP_DEFLATED
    out = succeeded(archviz("summary", "many.keras", "--format", "json", cwd=tmp_path))
    assert json.loads(out)["totals"]["params"] == 5_000 * 72


def adds(count, skip_from_input):
    """A chain of ``count`` adds: each of the one before with itself, or with the input."""
    layers, previous = [input_layer([None, 8])], "x"
    for index in range(count):
        other = "x" if skip_from_input else previous
        layers.append(layer("Add", f"add{index}", [[(previous, 0, (8,)), (other, 0, (8,))]]))
        previous = f"add{index}"
    return functional(layers, previous)


@pytest.mark.parametrize("skip_from_input", [False, True])
def test_a_chain_of_15000_adds(tmp_path, skip_from_input):
    """Structure recovery walks back from each merge only to its fork; a graph whose merges all reach
    back to the input (n² steps) runs out of its linear budget and is left without blocks."""
    write_keras(tmp_path / "adds.keras", adds(15_000, skip_from_input))
    out = succeeded(archviz("summary", "adds.keras", "--depth", "layers", "--format", "json", cwd=tmp_path))
    assert len(json.loads(out)["layers"]) == 15_001


def test_an_input_of_rank_1000000(tmp_path):
    config, weights = chain_of_dense(["fc"])
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, *[1] * 999_999, 8]
    write_keras(tmp_path / "rank.keras", config, weights)
    line = one_line(archviz("summary", "rank.keras", cwd=tmp_path), 1)
    assert line.endswith(f"input 'x' has 1,000,001 dimensions; a tensor has at most {MAX_RANK}")


def test_a_spec_key_of_50000_parts(tmp_path):
    (tmp_path / "key.toml").write_text('base = "resnet20"\n' + ".".join(["a"] * 50_000) + " = 1\n")
    line = one_line(archviz("summary", "key.toml", cwd=tmp_path), 2)
    assert (
        line == f"archviz: error: key.toml:2: a key with more than {MAX_KEY_PARTS} dotted parts; a spec's keys "
        f"have a few"
    )


def test_dots_in_spec_strings_are_not_key_parts(tmp_path):
    (tmp_path / "dots.toml").write_text('base = "resnet20"\ndescription = "' + "." * 500 + '"\n')
    assert "Params:" in succeeded(archviz("summary", "dots.toml", cwd=tmp_path))


# ---- a FIFO never blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.toml", "x.keras", "x.h5"])
def test_a_fifo_as_the_model_is_one_line(tmp_path, name):
    os.mkfifo(tmp_path / name)
    assert one_line(archviz("summary", name, cwd=tmp_path), 1).endswith(f"{name}: not a regular file")


# ---- numbers too large for a float -----------------------------------------------------------------


def test_a_batch_dimension_of_10_to_the_400_is_one_line(tmp_path):
    config, weights = chain_of_dense(["fc"])
    config["config"]["layers"][0]["config"]["batch_shape"] = [10**400, 8]
    write_keras(tmp_path / "batch.keras", config, weights)
    assert one_line(archviz("summary", "batch.keras", cwd=tmp_path), 1).endswith(
        "input 'x' has no input shape (a list of sizes up to 2**63 - 1)"
    )


def upsampling(size, times=2):
    """``times`` UpSampling2D layers by ``size`` on a 4x4x3 input."""
    layers, previous, side = [input_layer([None, 4, 4, 3])], "x", 4
    for index in range(times):
        layers.append(
            layer(
                "UpSampling2D",
                f"up{index}",
                [[(previous, 0, (side, side, 3))]],
                size=[size, size],
                interpolation="nearest",
                data_format="channels_last",
            )
        )
        previous, side = f"up{index}", side * size
    return functional(layers, previous)


def test_an_upsampling_of_10_to_the_200_is_one_line(tmp_path):
    write_keras(tmp_path / "up.keras", upsampling(10**200, times=1))
    assert "an output dimension of 4000000000" in one_line(archviz("summary", "up.keras", cwd=tmp_path), 2)


@pytest.mark.parametrize(
    "command",
    [
        ["summary"],
        ["summary", "--format", "markdown"],
        ["summary", "--format", "csv"],
        ["summary", "--format", "json"],
        ["report", "-o", "x.html"],
    ],
)
def test_counts_beyond_a_float_format_everywhere(tmp_path, command):
    """Two upsamplings by 2**29 make 2**122 activations a sample: more bytes than a float holds at batch 10**6."""
    write_keras(tmp_path / "up.keras", upsampling(2**29))
    result = archviz(command[0], "up.keras", "--batch-size", "1000000", *command[1:], cwd=tmp_path)
    out = succeeded(result) + ((tmp_path / "x.html").read_text() if command[0] == "report" else "")
    total = 1_000_000 * 4 * 3 * (16 + 16 * 2**58 + 16 * 2**116)
    if command[1:] == ["--format", "json"]:
        assert json.loads(out)["totals"]["activation_bytes"] == total
    elif command[1:] == ["--format", "csv"]:
        header, *_, last = csv.reader(io.StringIO(out))
        assert last[header.index("activation_bytes")] == str(1_000_000 * 4 * 3 * 16 * 2**116)  # exact, for machines
    else:
        assert "e+" in out  # an exponent, for people


def test_an_open_input_of_65536_squared_formats(tmp_path):
    conv = layer(
        "Conv2D",
        "conv",
        [[("x", 0, (None, None, 3))]],
        filters=8,
        kernel_size=[3, 3],
        strides=[1, 1],
        padding="same",
        data_format="channels_last",
        dilation_rate=[1, 1],
        groups=1,
        activation="linear",
        use_bias=True,
    )
    write_keras(
        tmp_path / "open.keras",
        functional([input_layer([None, None, None, 3]), conv], "conv"),
        {"layers/conv2d/vars/0": (3, 3, 3, 8), "layers/conv2d/vars/1": (8,)},
    )
    for command in (["summary"], ["summary", "--format", "markdown"], ["report", "-o", "x.html"]):
        succeeded(
            archviz(
                command[0],
                "open.keras",
                "--input-shape",
                "65536,65536,3",
                "--batch-size",
                "1000000",
                *command[1:],
                cwd=tmp_path,
            )
        )


def test_formatters_take_any_integer():
    from archviz.units import exact, human, human_bytes

    assert human(10**400) == "1.00e+400" and human(-(2**4032)).startswith("-5.66e+1213")
    assert human_bytes(10**400).endswith(" TiB") and human_bytes(2**4032).startswith("5.15e+1201")
    assert human(25_636_712) == "25.6 M" and human_bytes(102_760_448) == "98.0 MiB"  # unchanged below
    assert exact(10**400).count(",") == 133


# ---- too big for this machine: refused before TensorFlow --------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", "resnet18", "--width-multiplier", "64", "-o", "x.keras"],
        ["export", "wide.toml", "-o", "x.keras"],
        ["bench", "resnet18", "--width-multiplier", "64"],
        ["bench", "resnet20", "--input-shape", "65536,65536,3", "--batch-size", "1000000"],
    ],
)
def test_a_model_too_big_for_the_machine_is_refused_before_tensorflow(tmp_path, command):
    from archviz.core.memory import available

    if "resnet18" in command and (available() or 0) > 400 * 2**30:  # 341 GiB would be enough here
        pytest.skip("this machine has the memory resnet18 at width x64 needs")
    (tmp_path / "wide.toml").write_text('base = "resnet20"\nwidths = [65536, 65536, 65536]\n')
    line = one_line(archviz(*command, cwd=tmp_path), 1)
    assert " would need at least " in line and " of memory in Keras (2 x " in line and " is available" in line
    assert not (tmp_path / "x.keras").exists()


def test_the_memory_rule():
    from archviz.api import analyze
    from archviz.core.memory import check_fits, needed

    summary = analyze("resnet20", batch_size=10)
    params, activations = 2 * summary.param_bytes, max(r.activation_bytes for r in summary.records)
    assert needed(summary, run=False)[0] == params
    assert needed(summary, run=True)[0] == params + 2 * activations + 10 * 32 * 32 * 3 * 4
    check_fits(summary, run=True, memory=params + 2 * activations + 10 * 32 * 32 * 3 * 4)
    with pytest.raises(Exception, match=r"^resnet20 would need at least \d\.\d MiB .*: try a smaller --batch-size$"):
        check_fits(summary, run=True, memory=params + 1)
    with pytest.raises(Exception, match=r"is available$"):
        check_fits(summary, run=False, memory=params - 1)


def test_available_memory_is_the_least_of_the_machine_and_the_cgroup(tmp_path):
    """Kernel files as a container shows them: the cgroup's room is often far below MemAvailable."""
    from archviz.core.memory import available

    meminfo, v2, v1 = tmp_path / "meminfo", tmp_path / "v2", tmp_path / "v1"
    v2.mkdir()
    (v1 / "memory").mkdir(parents=True)
    meminfo.write_text("MemTotal:       65536000 kB\nMemFree:  100 kB\nMemAvailable:   32000000 kB\n")
    assert available(meminfo, tmp_path / "none") == 32_000_000 * 1024
    (v2 / "memory.max").write_text("2147483648\n")
    (v2 / "memory.current").write_text("1073741824\n")
    (v2 / "memory.stat").write_text("anon 900000000\nfile 173741824\ninactive_file 100000000\n")
    assert available(meminfo, v2) == 2**31 - 2**30 + 100_000_000  # inactive file cache is reclaimable
    (v2 / "memory.max").write_text("max\n")  # no limit: the machine's
    assert available(meminfo, v2) == 32_000_000 * 1024
    (v1 / "memory" / "memory.limit_in_bytes").write_text("536870912\n")
    (v1 / "memory" / "memory.usage_in_bytes").write_text("436870912\n")
    (v1 / "memory" / "memory.stat").write_text("cache 5\ntotal_inactive_file 1000\n")
    assert available(meminfo, v1) == 100_000_000 + 1000
    (v1 / "memory" / "memory.usage_in_bytes").write_text("636870912\n")  # over the limit: nothing is left
    assert available(meminfo, v1) == 0
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert available(tmp_path / "no-meminfo", v1) == 9223372036854771712 - 636870912 + 1000
    assert available(tmp_path / "no-meminfo", tmp_path / "none") is not None  # the free pages


def test_a_compressed_weights_member_declaring_too_much_is_refused_before_unpacking(tmp_path):
    """A re-zipped archive whose weights member inflates 60 KB into 60 MB is refused by its declared size,
    before a byte is written: the run may write no file larger than 1 MiB (``RLIMIT_FSIZE``)."""
    config, weights = chain_of_dense(["fc"])
    write_keras(tmp_path / "ok.keras", config, weights)
    with (
        zipfile.ZipFile(tmp_path / "ok.keras") as archive,
        zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        bomb.writestr("config.json", archive.read("config.json"))
        bomb.writestr("model.weights.h5", archive.read("model.weights.h5") + bytes(60 * 2**20))
    assert (tmp_path / "bomb.keras").stat().st_size < 100_000

    def limited():
        _limited()
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))

    result = subprocess.run(
        [sys.executable, "-m", "archviz", "summary", "bomb.keras"],
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=limited,
        timeout=SECONDS,
        check=False,
    )
    line = one_line(result, 1)
    assert line.startswith("archviz: error: bomb.keras: refused: model.weights.h5 unpacks to more than ")
    assert line.endswith("(100 times its compressed size, at most 1,073,741,824; Keras stores it uncompressed)")
    assert "Params:            72" in succeeded(archviz("summary", "ok.keras", cwd=tmp_path))  # deflated, small: read
