#!/usr/bin/python3
"""Parameter counts of the zoo's models, built independently in PyTorch.

Provenance for the goldens in zoo_test.cc. Run with Debian's python3-torch:

  /usr/bin/python3 training/models/testdata/param_counts.py

Each net is written here from its paper / reference layout, not from the C++:
  - CIFAR ResNet-20/32/56: Distiller distiller/models/cifar10/resnet_cifar.py
    (BasicBlock, 1x1 conv + BN projection shortcut where the shape changes).
  - ResNet-18/50 for 32x32: kuangliu/pytorch-cifar models/resnet.py (3x3 stem,
    no max-pool, projection shortcuts), torchvision's module names.
  - MobileNet-v1: Howard et al. 2017 Table 1 with a bias-free conv before each BN.
  - QuantNet: the thesis in seeds/004, Table 4.1.
It prints "name parameters buffers" per model, as the C++ counts them
(buffers: BatchNorm running mean and variance, not num_batches_tracked).
"""
import torch
from torch import nn


def bn_conv(cin, cout, k, s, groups=1):
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = bn_conv(cin, planes, 3, stride)
        self.conv2, self.bn2 = bn_conv(planes, planes, 3, 1)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(*bn_conv(cin, planes, 1, stride))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = bn_conv(cin, planes, 1, 1)
        self.conv2, self.bn2 = bn_conv(planes, planes, 3, stride)
        self.conv3, self.bn3 = bn_conv(planes, planes * 4, 1, 1)
        self.downsample = None
        if stride != 1 or cin != planes * 4:
            self.downsample = nn.Sequential(*bn_conv(cin, planes * 4, 1, stride))


class ResNet(nn.Module):
    def __init__(self, block, blocks, widths, num_classes):
        super().__init__()
        self.conv1, self.bn1 = bn_conv(3, widths[0], 3, 1)
        cin = widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            layer = []
            for j in range(n):
                layer.append(block(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w * block.expansion
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*layer))
        self.fc = nn.Linear(cin, num_classes)


class MobileNetV1(nn.Module):
    # (out channels, stride) of the 13 depthwise-separable blocks, Table 1.
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + \
             [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, num_classes, alpha=1.0):
        super().__init__()
        width = lambda c: max(int(c * alpha), 8)
        layers = bn_conv(3, width(32), 3, 2)
        cin = width(32)
        for c, s in self.BLOCKS:
            layers += bn_conv(cin, cin, 3, s, groups=cin) + bn_conv(cin, width(c), 1, 1)
            cin = width(c)
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)


def quantnet(num_outputs):
    return nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.Conv2d(32, 64, 3, 2, 1),
                         nn.Linear(64 * 8 * 8, 128), nn.Linear(128, 16), nn.Linear(16, num_outputs))


def counts(model):
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if "num_batches" not in n)
    return params, buffers


MODELS = [
    ("resnet20_c10", lambda: ResNet(Basic, [3] * 3, [16, 32, 64], 10)),
    ("resnet32_c10", lambda: ResNet(Basic, [5] * 3, [16, 32, 64], 10)),
    ("resnet56_c10", lambda: ResNet(Basic, [9] * 3, [16, 32, 64], 10)),
    ("resnet56_c100", lambda: ResNet(Basic, [9] * 3, [16, 32, 64], 100)),
    ("resnet18_c10", lambda: ResNet(Basic, [2, 2, 2, 2], [64, 128, 256, 512], 10)),
    ("resnet18_c100", lambda: ResNet(Basic, [2, 2, 2, 2], [64, 128, 256, 512], 100)),
    ("resnet50_c10", lambda: ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 10)),
    ("resnet50_c100", lambda: ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], 100)),
    ("mobilenet_v1_1.0_c1000", lambda: MobileNetV1(1000)),
    ("mobilenet_v1_1.0_c10", lambda: MobileNetV1(10)),
    ("mobilenet_v1_0.5_c10", lambda: MobileNetV1(10, 0.5)),
    ("mobilenet_v1_0.25_c10", lambda: MobileNetV1(10, 0.25)),
    ("quantnet_1", lambda: quantnet(1)),
    ("quantnet_2", lambda: quantnet(2)),
    ("quantnet_10", lambda: quantnet(10)),
]

if __name__ == "__main__":
    for name, make in MODELS:
        print(name, *counts(make()))
