"""ConvNeXt dual encoder export shared by scripts/export_sample4geo.py and
src/fixtures/make_encoder.py.

Contents:
  * ConvNeXt: a plain-PyTorch ConvNeXt with timm's module structure and parameter names
    (stem.0/stem.1, stages.N.downsample.0/1, stages.N.blocks.M.{conv_dw,norm,mlp.fc1,mlp.fc2,
    gamma}, head.norm), so a timm `convnext_*` state dict loads into it unchanged.
  * L2Encoder: backbone -> L2-normalised embedding, one view per call (Sample4Geo shares
    one backbone between the ground and the aerial view).
  * export(): writes the ONNX file(s) in one of three layouts and the model card georank reads.

Only torch (1.13+) and the standard library are needed; the `onnx` Python package is not.
"""

import inspect
import json
import math
import os
import re
import struct
import warnings
import zlib

import torch
import torch.nn.functional as F
from torch import nn

CARD_FORMAT = "georank-encoder-card/1"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CONVNEXT_BASE = {"widths": [128, 256, 512, 1024], "depths": [3, 3, 27, 3]}
LAYOUTS = ("shared", "dual", "separate")


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (timm.layers.LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 conv, channels-last LayerNorm, MLP (GELU), layer scale, residual."""

    def __init__(self, dim, mlp_ratio=4, ls_init_value=1e-6, eps=1e-6):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(mlp_ratio * dim))
        self.gamma = nn.Parameter(ls_init_value * torch.ones(dim))

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = x.permute(0, 2, 3, 1)
        x = self.mlp(self.norm(x))
        x = x.permute(0, 3, 1, 2)
        x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        return x + shortcut


class ConvNeXtStage(nn.Module):
    def __init__(self, in_dim, out_dim, depth, downsample, eps=1e-6):
        super().__init__()
        if downsample:
            self.downsample = nn.Sequential(LayerNorm2d(in_dim, eps=eps),
                                            nn.Conv2d(in_dim, out_dim, kernel_size=2, stride=2))
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_dim, eps=eps) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class Head(nn.Module):
    """Global average pooling + LayerNorm (timm's NormMlpClassifierHead with num_classes=0)."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.norm = LayerNorm2d(dim, eps=eps)

    def forward(self, x):
        x = x.mean((2, 3), keepdim=True)
        return self.norm(x).flatten(1)


class ConvNeXt(nn.Module):
    """timm ConvNeXt feature extractor (num_classes=0): NCHW image -> pooled, normed features."""

    def __init__(self, widths, depths, eps=1e-6):
        super().__init__()
        self.widths = list(widths)
        self.depths = list(depths)
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], kernel_size=4, stride=4),
                                  LayerNorm2d(widths[0], eps=eps))
        stages = []
        for i, (w, d) in enumerate(zip(widths, depths)):
            stages.append(ConvNeXtStage(widths[i - 1] if i else w, w, d, downsample=i > 0, eps=eps))
        self.stages = nn.Sequential(*stages)
        self.head = Head(widths[-1], eps=eps)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def randomize_(model, seed):
    """Gives every parameter a non-trivial random value (layer scale near 0.5 instead of timm's
    1e-6, LayerNorm affine away from identity) so that every block visibly changes the output
    and a wrong operator cannot hide. Deterministic per seed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(0.25 + 0.5 * torch.rand(p.shape, generator=g))
            elif p.dim() == 1 and ("norm" in name or name.startswith("stem.1") or "downsample.0" in name):
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
    return model


class L2Encoder(nn.Module):
    """One view: backbone features -> unit-length embedding (Sample4Geo normalises before the
    dot product)."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, image):
        return F.normalize(self.backbone(image), dim=-1)


class DualEncoder(nn.Module):
    """Ground and aerial inputs through one shared backbone, two embeddings out."""

    def __init__(self, backbone):
        super().__init__()
        self.branch = L2Encoder(backbone)

    def forward(self, ground, aerial):
        return self.branch(ground), self.branch(aerial)


# ---- checkpoints ---------------------------------------------------------------------------

def clean_state_dict(state, dropped=None):
    """Backbone parameters of a Sample4Geo/timm checkpoint: unwraps {"state_dict": ...} and
    {"model": ...}, strips DataParallel's "module.", torch.compile's "_orig_mod." and
    Sample4Geo's "model." prefixes (in any order), drops logit_scale and any classifier
    (head.fc). The names of dropped entries are appended to `dropped` when given."""
    if isinstance(state, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
                break
    out = {}
    for k, v in state.items():
        if not torch.is_tensor(v):
            if dropped is not None:
                dropped.append(k)
            continue
        original = k
        stripped = True
        while stripped:
            stripped = False
            for prefix in ("module.", "_orig_mod.", "model."):
                if k.startswith(prefix):
                    k = k[len(prefix):]
                    stripped = True
        if k == "logit_scale" or k.startswith("head.fc."):
            if dropped is not None:
                dropped.append(original)
            continue
        out[k] = v
    return out


def convnext_from_state_dict(state):
    """Builds the matching ConvNeXt (widths and depths read from the parameter shapes) and
    loads the state dict strictly."""
    if "stem.0.weight" not in state:
        raise ValueError("not a timm ConvNeXt state dict: no 'stem.0.weight' "
                         f"(first keys: {list(state)[:5]})")
    widths, depths = [], []
    for i in range(16):
        key = f"stages.{i}.blocks.0.conv_dw.weight"
        if key not in state:
            break
        widths.append(state[key].shape[0])
        blocks = {int(m.group(1)) for k in state
                  if (m := re.match(rf"stages\.{i}\.blocks\.(\d+)\.", k))}
        depths.append(max(blocks) + 1)
    model = ConvNeXt(widths, depths)
    model.load_state_dict(state, strict=True)
    return model.eval()


def sample4geo_checkpoint(backbone):
    """A state dict as Sample4Geo's training saves it (TimmModel: "model." + timm names, plus
    logit_scale)."""
    state = {"model." + k: v.detach().clone() for k, v in backbone.state_dict().items()}
    state["logit_scale"] = torch.tensor(math.log(1 / 0.07))
    return state


# ---- export --------------------------------------------------------------------------------

def _export(module, args, path, input_names, output_names, dynamic_axes):
    tmp = path + ".tmp"
    # torch 1.13 warns about its own constant nodes; the exported graph is unaffected.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
    extra = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        extra["dynamo"] = False  # torch >= 2.9 defaults to the dynamo exporter; keep TorchScript's
    with torch.no_grad():
        torch.onnx.export(module, args, tmp, opset_version=17, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes,
                          do_constant_folding=True, **extra)
    os.replace(tmp, path)


def export(backbone, out_dir, name, ground_hw, aerial_hw, layout="shared", stem="encoder",
           random_weights=False, description="", card_file=None):
    """Writes the ONNX file(s) and the model card (`card_file`, default `<stem>.card.json`)
    into out_dir; returns the card path.

    layout "shared":   one file, input "image" (dynamic batch, height, width) used by both
                       views (Sample4Geo shares its backbone; the smallest and fastest form).
    layout "dual":     one file with inputs "ground" and "aerial" and outputs
                       "ground_embedding" and "aerial_embedding" (independent batch axes).
    layout "separate": `<stem>.ground.onnx` and `<stem>.aerial.onnx`, each fixed-size
                       "image" -> "embedding".
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    os.makedirs(out_dir, exist_ok=True)
    backbone = backbone.eval()
    (gh, gw), (ah, aw) = ground_hw, aerial_hw
    ground_x = torch.zeros(1, 3, gh, gw)
    aerial_x = torch.zeros(1, 3, ah, aw)
    branch = L2Encoder(backbone).eval()
    with torch.no_grad():
        dim = int(branch(aerial_x).shape[-1])

    if layout == "shared":
        file = stem + ".onnx"
        _export(branch, (ground_x,), os.path.join(out_dir, file), ["image"], ["embedding"],
                {"image": {0: "batch", 2: "height", 3: "width"}, "embedding": {0: "batch"}})
        ground = {"model": file, "input": "image", "output": "embedding"}
        aerial = dict(ground)
    elif layout == "dual":
        file = stem + ".onnx"
        _export(DualEncoder(backbone).eval(), (ground_x, aerial_x), os.path.join(out_dir, file),
                ["ground", "aerial"], ["ground_embedding", "aerial_embedding"],
                {"ground": {0: "batch_ground"}, "aerial": {0: "batch_aerial"},
                 "ground_embedding": {0: "batch_ground"}, "aerial_embedding": {0: "batch_aerial"}})
        ground = {"model": file, "input": "ground", "output": "ground_embedding"}
        aerial = {"model": file, "input": "aerial", "output": "aerial_embedding"}
    else:
        files = {v: f"{stem}.{v}.onnx" for v in ("ground", "aerial")}
        for view, x in (("ground", ground_x), ("aerial", aerial_x)):
            _export(branch, (x,), os.path.join(out_dir, files[view]), ["image"], ["embedding"],
                    {"image": {0: "batch"}, "embedding": {0: "batch"}})
        ground = {"model": files["ground"], "input": "image", "output": "embedding"}
        aerial = {"model": files["aerial"], "input": "image", "output": "embedding"}

    ground.update(height=gh, width=gw)
    aerial.update(height=ah, width=aw)
    card = {
        "format": CARD_FORMAT,
        "name": name,
        "description": description,
        "layout": layout,
        "ground": ground,
        "aerial": aerial,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "channel_order": "RGB",
        "data_layout": "NCHW",
        "pixel_scale": 255.0,
        "resize": "bilinear",
        "l2_normalized": True,
        "embedding_dim": dim,
        "random_weights": bool(random_weights),
        "architecture": {"family": "convnext", "widths": list(map(int, backbone.widths)),
                         "depths": list(map(int, backbone.depths))}
        if hasattr(backbone, "widths") else {},
        "opset": 17,
    }
    card_path = os.path.join(out_dir, card_file or stem + ".card.json")
    with open(card_path + ".tmp", "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    os.replace(card_path + ".tmp", card_path)
    return card_path


def preprocess(rgb_u8, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """uint8 HxWx3 tensor -> normalised 1x3xHxW float32 (what georank feeds the model)."""
    x = rgb_u8.permute(2, 0, 1).unsqueeze(0).float() / 255.0
    m = torch.tensor(mean).reshape(1, 3, 1, 1)
    s = torch.tensor(std).reshape(1, 3, 1, 1)
    return (x - m) / s


def resize_u8(rgb_u8, height, width):
    """Bilinear resize (half-pixel centres, no antialias) rounded half up to uint8: the
    semantics of georank::resize(ResizeFilter::bilinear)."""
    x = rgb_u8.permute(2, 0, 1).unsqueeze(0).double()
    y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    y = torch.floor(y + 0.5).clamp(0, 255)
    return y[0].permute(1, 2, 0).to(torch.uint8)


def write_png(path, rgb_u8):
    """Minimal 8-bit RGB PNG writer (no PIL on the build machines)."""
    h, w, _ = rgb_u8.shape
    raw = b"".join(b"\x00" + bytes(rgb_u8[y].flatten().tolist()) for y in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    with open(path + ".tmp", "wb") as f:
        f.write(png)
    os.replace(path + ".tmp", path)
