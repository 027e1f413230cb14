#!/usr/bin/env python3
"""Export a Sample4Geo checkpoint to ONNX plus the model card georank reads.

Sample4Geo (Skyy93/Sample4Geo) trains one timm `convnext_base.fb_in22k_ft_in1k_384` shared
by the ground and the aerial view and compares L2-normalised features by dot product. This
script loads its `.pth` (a TimmModel state dict: "model." + timm names, plus logit_scale;
DataParallel's "module." prefix is stripped too), rebuilds the backbone and writes

  OUT/<stem>.onnx        one shared branch: input "image" N x 3 x H x W (dynamic N, H, W),
                         output "embedding" N x 1024, L2-normalised (opset 17)
  OUT/<stem>.card.json   ground 384x768, aerial 384x384, ImageNet mean/std, RGB, NCHW

Then:  georank embed --model OUT/<stem>.onnx ...

Needs torch (>= 1.13). With timm installed the backbone is timm's own ConvNeXt; without it,
a plain-PyTorch ConvNeXt with timm's parameter names (scripts/encoder_export.py) is used.
When both are available their outputs are compared before exporting.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encoder_export as ee  # noqa: E402


def size(text):
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, got '{text}'")
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise argparse.ArgumentTypeError(f"{text}: height and width must be positive multiples of 32")
    return h, w


def timm_backbone(name, state):
    import timm  # noqa: PLC0415 (optional dependency)

    model = timm.create_model(name, pretrained=False, num_classes=0)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"checkpoint does not fit timm '{name}': missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="Sample4Geo .pth (or a timm ConvNeXt state dict)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--stem", default="sample4geo", help="file name stem (default: sample4geo)")
    ap.add_argument("--name", default=None, help="model name recorded in the card")
    ap.add_argument("--ground-size", type=size, default=(384, 768), metavar="HxW", help="default 384x768")
    ap.add_argument("--aerial-size", type=size, default=(384, 384), metavar="HxW", help="default 384x384")
    ap.add_argument("--layout", choices=ee.LAYOUTS, default="shared",
                    help="shared (default): one single-input file for both views; dual: one file "
                         "with ground and aerial inputs; separate: one file per view")
    ap.add_argument("--backbone", choices=("auto", "timm", "builtin"), default="auto",
                    help="auto (default): timm when installed, else the built-in ConvNeXt")
    ap.add_argument("--timm-model", default="convnext_base.fb_in22k_ft_in1k_384")
    args = ap.parse_args()

    try:
        raw = torch.load(args.checkpoint, map_location="cpu")
        state = ee.clean_state_dict(raw)
        builtin = ee.convnext_from_state_dict(state)
    except Exception as e:  # noqa: BLE001 (one clear line for any unreadable checkpoint)
        sys.exit(f"export_sample4geo: cannot use checkpoint {args.checkpoint}: {e}")

    backbone = builtin
    use_timm = args.backbone == "timm"
    if args.backbone == "auto":
        try:
            import timm  # noqa: F401, PLC0415
            use_timm = True
        except ImportError:
            use_timm = False
    if use_timm:
        backbone = timm_backbone(args.timm_model, state)
        x = torch.randn(1, 3, *args.aerial_size, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            diff = (backbone(x) - builtin(x)).abs().max().item()
        if diff > 1e-4:
            print(f"export_sample4geo: warning: timm and the built-in ConvNeXt differ by {diff:.2e}",
                  file=sys.stderr)
        backbone.widths, backbone.depths = builtin.widths, builtin.depths

    name = args.name or os.path.splitext(os.path.basename(args.checkpoint))[0]
    description = (f"Sample4Geo ConvNeXt (widths {builtin.widths}, depths {builtin.depths}) "
                   f"from {os.path.basename(args.checkpoint)} via {'timm' if use_timm else 'built-in ConvNeXt'}")
    card = ee.export(backbone, args.out, name, args.ground_size, args.aerial_size, layout=args.layout,
                     stem=args.stem, description=description)
    print(card)


if __name__ == "__main__":
    main()
