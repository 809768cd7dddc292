"""Seed 004: cats vs dogs. `mini_resnet` is a functional model of custom `Residual_Block` layers
(two 3x3 convs with BN; a 1x1 conv + BN shortcut where the stride is 2, else identity), after a
3x3/2 conv stem, with GAP, Dense(10, relu), Dense(1, sigmoid). `transfer_resnet50` puts a frozen
keras.applications ResNet50 base (weights=None here) in a Sequential with the same head."""

import keras
import tensorflow as tf


class ResidualBlock(keras.layers.Layer):
    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(filters, (3, 3), strides=strides, padding="same")
        self.bn1 = keras.layers.BatchNormalization()
        self.relu1 = keras.layers.Activation(tf.nn.relu)
        self.conv2 = keras.layers.Conv2D(filters, (3, 3), strides=1, padding="same")
        self.bn2 = keras.layers.BatchNormalization()
        if strides != 1:
            self.down_samples = keras.Sequential(
                [keras.layers.Conv2D(filters, (1, 1), strides=strides), keras.layers.BatchNormalization()]
            )
        else:
            self.down_samples = None

    def call(self, inputs, training=None):
        residual = inputs if self.down_samples is None else self.down_samples(inputs, training=training)
        x = self.relu1(self.bn1(self.conv1(inputs), training=training))
        x = self.bn2(self.conv2(x), training=training)
        return tf.nn.relu(keras.layers.add([x, residual]))


def mini_resnet():
    inputs = keras.Input(shape=(224, 224, 3))
    x = keras.layers.Conv2D(32, (3, 3), strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation(tf.nn.relu)(x)
    for filters, strides in [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2)]:
        x = ResidualBlock(filters, strides)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10, activation="relu")(x)
    x = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, x)


def transfer_resnet50():
    base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(224, 224, 3))
    base.trainable = False
    return keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            base,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
