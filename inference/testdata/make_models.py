#!/usr/bin/python3
"""Writes ONNX models exported by PyTorch, a fixed input and PyTorch's output.

The ONNX importer's tests compare our XNNPACK outputs with PyTorch's on these
files, so that the importer is checked against models another exporter wrote,
not only against graphs our tests build. Bazel runs this from genrules
(inference/testdata/BUILD) with Debian's /usr/bin/python3, python3-torch and
python3-torchvision; nothing is downloaded (weights are random, never
pretrained).

  /usr/bin/python3 inference/testdata/make_models.py --model resnet18 --out_dir /tmp/m

writes, for each model NAME:
  NAME.onnx          opset 14, batch dimension as listed in MODELS below
  NAME_input.bin     the input, float32 little-endian, NCHW, row-major
  NAME_output.bin    PyTorch's output for it (eval mode), float32, row-major

Making the numbers meaningful (environment.md): with torchvision's default
initialisation and fresh BatchNorm statistics (mean 0, var 1) MobileNetV2's
logits are ~1e-9, so any runtime "matches" within 1e-4. Here every
BatchNorm's running statistics are calibrated on random images (train-mode
forward passes with cumulative averaging), then its affine parameters are
randomised, so activations stay O(1) through the network and logits are
O(0.1..10).

ResNet-18 and the small model are exported with TrainingMode.PRESERVE on an
eval-mode model, which keeps BatchNormalization nodes (TrainingMode.EVAL would
let the exporter fold them into the convolutions); MobileNetV2 with EVAL, as
users usually export. Costs about 10 s per torchvision model on one core.
"""

import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 14


class SmallNet(nn.Module):
    """Every operator the importer lowers, in the forms PyTorch exports them.

    Conv+BN+ReLU, MaxPool with ceil_mode, a dilated depthwise conv,
    Hardswish, a grouped 1x1 conv, squeeze-excite (GlobalAveragePool, Sigmoid,
    broadcast Mul), AvgPool with count_include_pad, a residual Add followed by a
    BatchNorm that cannot be folded, x.view(x.size(0), -1) on a 4x4 map (Shape,
    Gather, Unsqueeze, Concat, Reshape with a spatial flatten), Linear,
    MatMul with a constant, Clip, Softmax.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 7 without ceil_mode
        self.dw = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 16, 1, groups=2)
        self.bn3 = nn.BatchNorm2d(16)
        self.se_reduce = nn.Conv2d(16, 4, 1)
        self.se_expand = nn.Conv2d(4, 16, 1)
        self.shortcut = nn.Conv2d(8, 16, 1, bias=False)
        self.bn_after_add = nn.BatchNorm2d(16)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.matmul_weight = nn.Parameter(torch.randn(32, 10) * 0.2)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))          # [N, 8, 16, 16]
        x = self.pool1(x)                              # [N, 8, 8, 8] (ceil_mode)
        y = F.hardswish(self.bn2(self.dw(x)))
        y = self.bn3(self.grouped(y))                  # [N, 16, 8, 8]
        s = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(F.adaptive_avg_pool2d(y, 1)))))
        y = y * s
        x = self.bn_after_add(y + self.shortcut(x))   # BN after Add: multiply + add
        x = self.pool2(x)                              # [N, 16, 4, 4]
        x = x.view(x.size(0), -1)                      # spatial flatten, CHW order
        x = torch.clamp(self.fc1(x), -1.0, 3.0)
        x = x @ self.matmul_weight
        return F.softmax(x * 4.0, dim=1)


def calibrate_and_randomise_batchnorm(model, input_shape, generator, batches=2):
    """Running statistics from random images; then random affine parameters."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*input_shape, generator=generator))
        for bn in bns:
            bn.weight.copy_(torch.empty_like(bn.weight).uniform_(0.5, 1.5, generator=generator))
            bn.bias.copy_(torch.randn(bn.bias.shape, generator=generator) * 0.2)
            # Jitter the statistics too, so folding is not the identity anywhere.
            bn.running_mean.add_(torch.randn(bn.running_mean.shape, generator=generator) * 0.05)
            bn.running_var.mul_(torch.empty_like(bn.running_var).uniform_(0.8, 1.25,
                                                                          generator=generator))
    model.eval()


def build(name, generator):
    """(model, input shape, export mode, dynamic axes) for `name`."""
    preserve = torch.onnx.TrainingMode.PRESERVE
    if name == "small_cnn":
        return SmallNet(), (2, 3, 16, 16), preserve, {"input": {0: "batch"}}
    import torchvision  # only the two torchvision models need it
    if name == "resnet18":
        return torchvision.models.resnet18(weights=None), (1, 3, 224, 224), preserve, None
    if name == "mobilenet_v2":
        return (torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224),
                torch.onnx.TrainingMode.EVAL, None)
    raise ValueError(f"unknown model {name!r}")


MODELS = ["small_cnn", "resnet18", "mobilenet_v2"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)  # parameter initialisation
    generator = torch.Generator().manual_seed(args.seed)
    model, input_shape, mode, dynamic_axes = build(args.model, generator)
    calibrate_and_randomise_batchnorm(model, (4,) + input_shape[1:], generator)

    x = torch.randn(*input_shape, generator=generator)
    with torch.no_grad():
        y = model(x)
    os.makedirs(args.out_dir, exist_ok=True)
    prefix = os.path.join(args.out_dir, args.model)
    torch.onnx.export(model, x, prefix + ".onnx", opset_version=OPSET, training=mode,
                      do_constant_folding=(mode == torch.onnx.TrainingMode.EVAL),
                      input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic_axes)
    x.numpy().astype("<f4").tofile(prefix + "_input.bin")
    y.numpy().astype("<f4").tofile(prefix + "_output.bin")
    print(f"{args.model}: input {list(x.shape)} output {list(y.shape)} "
          f"|output| max {y.abs().max().item():.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
