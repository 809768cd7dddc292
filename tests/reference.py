"""Reference figures, each with its source (../shared/REFERENCE.md). Tests check archviz against them."""

TORCHVISION = "torchvision.models: num_params and _ops (GFLOPS column, one multiply-add = 1)"
KERAS = "keras.applications (Keras 3) count_params(), 224x224x3, 1000 classes"
PAPER_TABLE1 = "He et al. 2015, Table 1 (FLOPs = multiply-adds), exact values from REFERENCE.md"
PAPER_TABLE6 = "He et al. 2015, Table 6 (CIFAR-10 params, rounded as printed)"
SEEDS = "../shared/seeds, measured by running each seed's own code under TF 2.21 / Keras 3"

# preset -> (trainable params, MACs): torchvision's BN buffers are not parameters,
# so its num_params equals archviz's trainable params.
TORCHVISION_FIGURES = {
    "resnet18-torchvision": (11_689_512, 1_814_073_344),
    "resnet34-torchvision": (21_797_672, 3_663_761_408),
    "resnet50-torchvision": (25_557_032, 4_089_184_256),
    "resnet101-torchvision": (44_549_160, 7_801_405_440),
    "resnet152-torchvision": (60_192_808, 11_513_626_624),
    "resnext50_32x4d": (25_028_904, 4_230_479_872),
    "wide_resnet50_2": (68_883_240, 11_398_021_120),
}

# preset -> (total params, non-trainable params)
KERAS_FIGURES = {
    "resnet50-keras": (25_636_712, 53_120),
    "resnet101-keras": (44_707_176, 105_344),
    "resnet152-keras": (60_419_944, 151_424),
    "resnet50v2": (25_613_800, 45_440),
    "resnet101v2": (44_675_560, 97_664),
    "resnet152v2": (60_380_648, 143_744),
}

# the paper's own models (stride on the first 1x1): exact multiply-adds
PAPER_MACS = {
    "resnet18": 1_814_073_344,
    "resnet34": 3_663_761_408,
    "resnet50": 3_857_973_248,
    "resnet101": 7_570_194_432,
    "resnet152": 11_282_415_616,
}
# as printed in Table 1 (x10^9, truncated to one decimal)
PAPER_TABLE1_PRINTED = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}

# CIFAR-10, Table 6: params in millions as printed
PAPER_TABLE6 = {
    "resnet20": 0.27,
    "resnet32": 0.46,
    "resnet44": 0.66,
    "resnet56": 0.85,
    "resnet110": 1.7,
    "resnet1202": 19.4,
}

# later papers: (params in millions as printed, significant decimals, source)
LATER_PAPERS = {
    "resnext50_32x4d": (25.0, 1, "Xie et al. 2016, ResNeXt-50 (32x4d)"),
    "wrn-28-10": (36.5, 1, "Zagoruyko & Komodakis 2016, WRN-28-10"),
    "preact-resnet164": (1.7, 1, "He et al. 2016, Identity Mappings, CIFAR ResNet-164"),
    "preact-resnet1001": (10.2, 1, "He et al. 2016, Identity Mappings, CIFAR ResNet-1001"),
}
LATER_MACS = {  # GMACs as printed
    "resnext50_32x4d": (4.2, "Xie et al. 2016, Table"),
    "resnet50-torchvision": (4.1, "Xie et al. 2016: the ResNet-50 with its stride on the 3x3"),
}

# example spec -> (total params, non-trainable params)
SEED_FIGURES = {
    "seed000_resnet18.toml": (12_053_608, 7_808),
    "seed000_resnet34.toml": (22_735_912, 15_232),
    "seed003_resnet50_as_written.toml": (17_958_790, 51_072),
    "seed003_resnet50_corrected.toml": (23_600_006, 53_120),
    "seed004_mini_resnet.toml": (1_603_861, 3_648),
}

# seed 002: the famous comparison at 256 channels
BASIC_PAIR_WEIGHTS = 1_179_648  # 3x3x256x256 + 3x3x256x256
BOTTLENECK_WEIGHTS = 69_632  # 1x1x256x64 + 3x3x64x64 + 1x1x64x256

# tf.compat.v1.profiler (float_operation) on the frozen inference graph of keras.applications models
# (weights=None, 224x224x3, 1000 classes), measured with TensorFlow 2.21 / Keras 3.15 at batch 1.
# tests/test_tensorflow.py measures them again live; these keep the fast suite honest without TensorFlow.
PROFILER_FLOPS = {
    "resnet50-keras": 7_755_299_312,
    "resnet101-keras": 15_198_664_176,
    "resnet152-keras": 22_646_426_096,
    "resnet50v2": 6_992_475_632,
}
PROFILER_FLOPS_BATCH2 = {"resnet50-keras": 15_510_439_264}

# Receptive fields (size, effective stride, effective padding; one value for height and width), from
# Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks" (Distill 2019),
# their library's RECEPTIVE_FIELD_TABLE.md (TF-slim models, github.com/google-research/receptive_field).
RF_TABLE = "Araujo, Norris, Sim 2019, google-research/receptive_field RECEPTIVE_FIELD_TABLE.md"
# keras.applications model -> {Keras layer: (the table's end point, size, stride, padding)}. Padding None:
# not compared with the table, because TF-slim pads differently (its ResNet's stem max-pool is 'SAME', Keras's
# is explicit): the layer-by-layer comparison with the library on Keras's own graph checks it.
RF_FIGURES = {
    "ResNet50V2": {
        "conv2_block3_out": ("resnet_v2_50/block1", 35, 8, None),
        "conv3_block4_out": ("resnet_v2_50/block2", 99, 16, None),
        "conv4_block6_out": ("resnet_v2_50/block3", 291, 32, None),
        "conv5_block3_out": ("resnet_v2_50/block4", 483, 32, None),
    },
    "VGG16": {"block5_pool": ("vgg_16/pool5", 212, 32, 90)},
    "InceptionV3": {"mixed7": ("Mixed_6e", 927, 16, 442), "mixed10": ("Mixed_7c", 1311, 32, 618)},
}
# zoo preset -> (size, stride) at the end of each stage, 224x224: the same sizes as the table's ResNet-50
# block ends; the stride follows where each places it (the paper's first block, Keras V2's last).
RF_PRESET_STAGES = {
    "resnet50": ((35, 4), (99, 8), (291, 16), (483, 32)),
    "resnet50-keras": ((35, 4), (99, 8), (291, 16), (483, 32)),
    "resnet50v2": ((35, 8), (99, 16), (291, 32), (483, 32)),
}
GRADIENT_GRAPH = (
    "TensorFlow 2.21 / Keras 3: the training step's graph (GradientTape over reduce_sum of the outputs, "
    "batch 2), MACs of Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and MatMul from its shapes "
    "(archviz.backend.gradient)"
)
# preset -> MACs of one training step at batch 2 (forward, weight and input gradients)
TRAINING_MACS = {
    "resnet50-keras": 22_911_811_584,
    "resnet18-keras": 10_648_412_160,
    "resnet20": 242_421_504,
}
