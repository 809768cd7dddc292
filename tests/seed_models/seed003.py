"""Seed 003: the Keras functional ResNet50 for 64x64x3 SIGNS images and 6 classes: zero padding 3,
7x7/2 conv, BN, ReLU, 3x3/2 max-pool (no padding); convolutional and identity blocks with the stride
on the first 1x1 and a bias on every conv; AveragePooling2D(2), Flatten, Dense(6, softmax). As
written, stage 5's identity blocks use filters [256, 256, 2048]."""

import keras
from keras import layers


def identity_block(x, f, filters, stage, block):
    f1, f2, f3 = filters
    base = f"{stage}{block}"
    shortcut = x
    x = layers.Conv2D(f1, 1, padding="valid", name=f"res{base}_branch2a")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2a")(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(f2, f, padding="same", name=f"res{base}_branch2b")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2b")(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(f3, 1, padding="valid", name=f"res{base}_branch2c")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2c")(x)
    return layers.Activation("relu")(layers.add([x, shortcut]))


def convolutional_block(x, f, filters, stage, block, s=2):
    f1, f2, f3 = filters
    base = f"{stage}{block}"
    shortcut = x
    x = layers.Conv2D(f1, 1, strides=s, padding="valid", name=f"res{base}_branch2a")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2a")(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(f2, f, padding="same", name=f"res{base}_branch2b")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2b")(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(f3, 1, padding="valid", name=f"res{base}_branch2c")(x)
    x = layers.BatchNormalization(axis=3, name=f"bn{base}_branch2c")(x)
    shortcut = layers.Conv2D(f3, 1, strides=s, padding="valid", name=f"res{base}_branch1")(shortcut)
    shortcut = layers.BatchNormalization(axis=3, name=f"bn{base}_branch1")(shortcut)
    return layers.Activation("relu")(layers.add([x, shortcut]))


def resnet50(input_shape=(64, 64, 3), classes=6, corrected=False):
    inputs = keras.Input(input_shape)
    x = layers.ZeroPadding2D((3, 3))(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1")(x)
    x = layers.BatchNormalization(axis=3, name="bn_conv1")(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    plan = [
        (2, [64, 64, 256], 1, "bc"),
        (3, [128, 128, 512], 2, "bcd"),
        (4, [256, 256, 1024], 2, "bcdef"),
        (5, [512, 512, 2048], 2, "bc"),
    ]
    for stage, filters, stride, identity_names in plan:
        x = convolutional_block(x, 3, filters, stage, "a", s=stride)
        for block in identity_names:
            written = [256, 256, 2048] if stage == 5 and not corrected else filters
            x = identity_block(x, 3, written, stage, block)
    x = layers.AveragePooling2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(classes, activation="softmax", name=f"fc{classes}")(x)
    return keras.Model(inputs, x, name="ResNet50")
