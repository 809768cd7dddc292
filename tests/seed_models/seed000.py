"""Seed 000: a TF2 subclassed ResNet-18/34. Every Conv2D keeps its default bias, every BN its
default epsilon; each BasicBlock has a `downsample` Sequential with a 1x1 conv (no BN), used
even where shapes match; `tf.nn.relu` after the add; GAP + Dense(num_classes)."""

import keras
import tensorflow as tf
from keras import layers


class BasicBlock(layers.Layer):
    def __init__(self, filters, stride=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(filters, (3, 3), strides=stride, padding="same")
        self.bn1 = layers.BatchNormalization()
        self.relu = layers.Activation("relu")
        self.conv2 = layers.Conv2D(filters, (3, 3), strides=1, padding="same")
        self.bn2 = layers.BatchNormalization()
        self.downsample = keras.Sequential([layers.Conv2D(filters, (1, 1), strides=stride)])

    def call(self, inputs, training=None):
        x = self.relu(self.bn1(self.conv1(inputs), training=training))
        out = self.bn2(self.conv2(x), training=training)
        identity = self.downsample(inputs)
        return tf.nn.relu(layers.add([out, identity]))


class ResNet(keras.Model):
    def __init__(self, layer_dims, num_classes=1000, **kwargs):
        super().__init__(**kwargs)
        self.stem = keras.Sequential(
            [
                layers.Conv2D(64, (7, 7), strides=(2, 2), padding="same"),
                layers.BatchNormalization(),
                layers.Activation("relu"),
                layers.MaxPool2D(pool_size=(3, 3), strides=(2, 2), padding="same"),
            ]
        )
        self.layer1 = self.build_resblock(64, layer_dims[0])
        self.layer2 = self.build_resblock(128, layer_dims[1], strides=2)
        self.layer3 = self.build_resblock(256, layer_dims[2], strides=2)
        self.layer4 = self.build_resblock(512, layer_dims[3], strides=2)
        self.avgpool = layers.GlobalAveragePooling2D()
        self.fc = layers.Dense(num_classes)

    @staticmethod
    def build_resblock(filters, blocks, strides=1):
        return keras.Sequential([BasicBlock(filters, strides)] + [BasicBlock(filters, 1) for _ in range(1, blocks)])

    def call(self, inputs, training=None):
        x = self.stem(inputs, training=training)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x, training=training)
        return self.fc(self.avgpool(x))


def resnet(layer_dims, input_shape=(224, 224, 3)):
    model = ResNet(layer_dims)
    model.build(input_shape=(None, *input_shape))
    return model
