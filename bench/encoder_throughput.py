#!/usr/bin/python3
"""PyTorch side of bench_encoder_throughput: runs the fixture's ConvNeXt (rebuilt from the
size and seed recorded in its reference.json) on the very input tensors the C++ side fed ONNX
Runtime, and prints one JSON object with images/s per view and the embeddings of the
distinct inputs (for the cross-check). Random weights: throughput only.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import encoder_export as ee  # noqa: E402
from make_encoder import SIZES  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixture", required=True, help="folder written by make_encoder.py")
    ap.add_argument("--inputs", required=True,
                    help="JSON: {view: {file, n_distinct, height, width}}; files hold float32 NCHW tensors")
    ap.add_argument("--n", type=int, required=True, help="images per view (distinct inputs repeated)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    reference = json.load(open(os.path.join(args.fixture, "reference.json")))
    shape = SIZES[reference["size"]]
    torch.manual_seed(reference["seed"])
    backbone = ee.randomize_(ee.ConvNeXt(shape["widths"], shape["depths"]), reference["seed"]).eval()
    branch = ee.L2Encoder(backbone).eval()

    inputs = json.load(open(args.inputs))
    result = {"threads": args.threads, "batch": args.batch, "n": args.n, "torch": torch.__version__}
    with torch.inference_mode():
        for view, spec in inputs.items():
            x = np.fromfile(spec["file"], dtype=np.float32)
            x = torch.from_numpy(x.reshape(spec["n_distinct"], 3, spec["height"], spec["width"]))
            distinct = branch(x)
            batches = []
            for start in range(0, args.n, args.batch):
                idx = [i % spec["n_distinct"] for i in range(start, min(args.n, start + args.batch))]
                batches.append(x[idx].contiguous())
            branch(batches[0])  # warm-up, as on the ONNX Runtime side
            t0 = time.perf_counter()
            for b in batches:
                branch(b)
            seconds = time.perf_counter() - t0
            result[view] = {"images_per_s": args.n / seconds, "seconds": seconds,
                            "embeddings": distinct.numpy().astype(float).tolist()}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
