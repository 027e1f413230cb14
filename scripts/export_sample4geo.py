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
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"{text}: height and width must be positive")
    if h % 32 or w % 32:
        # Sample4Geo trains CVUSA/CVACT at 140x768: the stride-32 stages floor such sizes, in
        # PyTorch and in the exported graph alike.
        print(f"export_sample4geo: note: {text} is not a multiple of 32; ConvNeXt's strided stages "
              "round it down, as in training", file=sys.stderr)
    return h, w


class TimmTooOld(Exception):
    pass


def load_checkpoint(path, trust):
    """torch.load without running code from the file: Sample4Geo saves plain tensors, which
    weights_only=True reads (torch >= 2.6 makes it the default and refuses anything else)."""
    if trust:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # a torch without the argument (< 1.13)
        return torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001
        if "weights_only" in str(e) or "Unsupported" in str(e) or "global" in str(e).lower():
            raise ValueError(f"it holds more than tensors, which weights_only loading refuses ({e}); "
                             "re-save its state_dict, or pass --trust-checkpoint to unpickle it "
                             "(that runs code from the file)") from e
        raise


def timm_backbone(name, state):
    import timm  # noqa: PLC0415 (optional dependency)

    try:
        model = timm.create_model(name, pretrained=False, num_classes=0)
    except RuntimeError as e:  # timm < 0.8 names models without the ".fb_in22k_ft_in1k_384" tag
        raise TimmTooOld(f"timm {getattr(timm, '__version__', '?')} does not know '{name}' ({e}); "
                         "timm >= 0.8 does") from e
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
    ap.add_argument("--trust-checkpoint", action="store_true",
                    help="unpickle a checkpoint that holds more than tensors (runs code from the file)")
    args = ap.parse_args()

    dropped = []
    try:
        raw = load_checkpoint(args.checkpoint, args.trust_checkpoint)
        state = ee.clean_state_dict(raw, dropped)
        builtin = ee.convnext_from_state_dict(state)
    except Exception as e:  # noqa: BLE001 (one clear line for any unreadable checkpoint)
        sys.exit(f"export_sample4geo: cannot use checkpoint {args.checkpoint}: {e}")
    print(f"export_sample4geo: {len(state)} backbone tensors loaded strictly"
          + (f"; dropped {len(dropped)}: {', '.join(dropped)}" if dropped else ""))

    backbone = builtin
    use_timm = args.backbone == "timm"
    if args.backbone == "auto":
        try:
            import timm  # noqa: F401, PLC0415
            use_timm = True
        except ImportError:
            use_timm = False
    elif use_timm:
        try:
            import timm  # noqa: F401, PLC0415
        except ImportError:
            sys.exit("export_sample4geo: --backbone timm needs the timm package (>= 0.8), which is not "
                     "installed; --backbone builtin (or auto) uses the built-in ConvNeXt")
    if use_timm:
        try:
            backbone = timm_backbone(args.timm_model, state)
        except TimmTooOld as e:
            if args.backbone == "timm":
                sys.exit(f"export_sample4geo: {e}")
            print(f"export_sample4geo: warning: {e}; using the built-in ConvNeXt", file=sys.stderr)
            use_timm = False
    if use_timm:
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
