"""Generate the benchmark corpus (bench/corpus/*.tz) from published shapes.

Run: .venv/bin/python -m bench.make_corpus   (the generated files are committed)
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"

GEMM_SHAPES = [(16, 512, 128), (1024, 16, 256), (256, 1024, 256), (512, 256, 16),
               (1024, 1024, 1024)]
GEMV_SHAPES = [(512, 16), (1024, 256), (256, 1024), (1024, 1024)]
# ResNet-18 conv layers (C, H, W, K, R, S, stride, pad), as in TVM's and AMOS's tables
RESNET18 = [(3, 224, 224, 64, 7, 7, 2, 3), (64, 56, 56, 64, 3, 3, 1, 1),
            (64, 56, 56, 64, 1, 1, 1, 0), (64, 56, 56, 128, 3, 3, 2, 1),
            (64, 56, 56, 128, 1, 1, 2, 0), (128, 28, 28, 128, 3, 3, 1, 1),
            (128, 28, 28, 256, 3, 3, 2, 1), (128, 28, 28, 256, 1, 1, 2, 0),
            (256, 14, 14, 256, 3, 3, 1, 1), (256, 14, 14, 512, 3, 3, 2, 1),
            (256, 14, 14, 512, 1, 1, 2, 0), (512, 7, 7, 512, 3, 3, 1, 1)]

GEMM_VARIANTS = {
    # name: (A type, B type, C type, B layout, cast)
    "u8i8_nt": ("u8", "i8", "i32", "nt", "i32"),
    "u8i8_nn": ("u8", "i8", "i32", "nn", "i32"),
    "i8i8_nn": ("i8", "i8", "i32", "nn", "i32"),
    "f16f32_nn": ("f16", "f16", "f32", "nn", "f32"),
    "bf16f32_nt": ("bf16", "bf16", "f32", "nt", "f32"),
    "f32_nn": ("f32", "f32", "f32", "nn", ""),
}


def gemm(name: str, m: int, n: int, k: int, variant: str) -> str:
    ta, tb, tc, layout, cast = GEMM_VARIANTS[variant]
    bshape, bload = (f"{n}, {k}", "B[j, k]") if layout == "nt" else (f"{k}, {n}", "B[k, j]")
    a, b = (f"{cast}(A[i, k])", f"{cast}({bload})") if cast else ("A[i, k]", bload)
    return f"""# GEMM {m}x{n}x{k} ({variant}): shape from the AMOS / UNIT evaluation tables
kernel {name} {{
  in  A: {ta}[{m}, {k}]
  in  B: {tb}[{bshape}]
  out C: {tc}[{m}, {n}]
  for i in 0..{m} {{
    for j in 0..{n} {{
      C[i, j] = 0
      for k in 0..{k} {{
        C[i, j] += {a} * {b}
      }}
    }}
  }}
}}
"""


def gemv(name: str, m: int, k: int) -> str:
    return f"""# GEMV {m}x{k} (u8 x i8 -> i32): shape from the AMOS evaluation tables
kernel {name} {{
  in  W: i8[{m}, {k}]
  in  x: u8[{k}]
  out y: i32[{m}]
  for i in 0..{m} {{
    y[i] = 0
    for k in 0..{k} {{
      y[i] += i32(x[k]) * i32(W[i, k])
    }}
  }}
}}
"""


def conv_nhwc(name: str, c: int, h: int, w: int, kk: int, r: int, s: int, st: int,
              p: int) -> str:
    oh, ow = (h + 2 * p - r) // st + 1, (w + 2 * p - s) // st + 1
    return f"""# ResNet-18 conv C={c} H={h} W={w} K={kk} {r}x{s} stride {st} pad {p} (NHWC, input
# given already padded by {p}); layer list as in TVM's ResNet-18 workloads
kernel {name} {{
  in  X: u8[1, {h + 2 * p}, {w + 2 * p}, {c}]
  in  F: i8[{r}, {s}, {c}, {kk}]
  out Y: i32[1, {oh}, {ow}, {kk}]
  for oh in 0..{oh} {{
    for ow in 0..{ow} {{
      for ko in 0..{kk} {{
        Y[0, oh, ow, ko] = 0
        for rh in 0..{r} {{
          for rw in 0..{s} {{
            for c in 0..{c} {{
              Y[0, oh, ow, ko] += i32(X[0, {st} * oh + rh, {st} * ow + rw, c])
                * i32(F[rh, rw, c, ko])
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""


def conv_nchw(name: str, c: int, h: int, w: int, kk: int, r: int, s: int, st: int,
              p: int) -> str:
    oh, ow = (h + 2 * p - r) // st + 1, (w + 2 * p - s) // st + 1
    return f"""# ResNet-18 conv C={c} H={h} W={w} K={kk} {r}x{s} stride {st} pad {p} (NCHW / KCRS,
# input given already padded by {p})
kernel {name} {{
  in  X: u8[1, {c}, {h + 2 * p}, {w + 2 * p}]
  in  F: i8[{kk}, {c}, {r}, {s}]
  out Y: i32[1, {kk}, {oh}, {ow}]
  for ko in 0..{kk} {{
    for oh in 0..{oh} {{
      for ow in 0..{ow} {{
        Y[0, ko, oh, ow] = 0
        for c in 0..{c} {{
          for rh in 0..{r} {{
            for rw in 0..{s} {{
              Y[0, ko, oh, ow] += i32(X[0, c, {st} * oh + rh, {st} * ow + rw])
                * i32(F[ko, c, rh, rw])
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""


BERT = """# BERT-base attention, 12 heads, 128 tokens, 64 per head (quantised u8 x i8):
# QK^T (scores) and P V (context), the batched GEMMs of the AMOS evaluation
kernel bert_qkt {
  in  Q: u8[12, 128, 64]
  in  K: i8[12, 128, 64]
  out S: i32[12, 128, 128]
  for h in 0..12 {
    for i in 0..128 {
      for j in 0..128 {
        S[h, i, j] = 0
        for d in 0..64 {
          S[h, i, j] += i32(Q[h, i, d]) * i32(K[h, j, d])
        }
      }
    }
  }
}

kernel bert_pv {
  in  P: u8[12, 128, 128]
  in  V: i8[12, 128, 64]
  out O: i32[12, 128, 64]
  for h in 0..12 {
    for i in 0..128 {
      for d in 0..64 {
        O[h, i, d] = 0
        for j in 0..128 {
          O[h, i, d] += i32(P[h, i, j]) * i32(V[h, j, d])
        }
      }
    }
  }
}
"""

MISC = """# conv1d as in ByteNet (dilated residual blocks: d = 512 channels, kernel 3,
# dilation 4; 128 time steps, input given already padded)
kernel bytenet_conv1d {
  in  X: u8[136, 512]
  in  F: i8[3, 512, 512]
  out Y: i32[128, 512]
  for t in 0..128 {
    for ko in 0..512 {
      Y[t, ko] = 0
      for r in 0..3 {
        for c in 0..512 {
          Y[t, ko] += i32(X[t + 4 * r, c]) * i32(F[r, c, ko])
        }
      }
    }
  }
}

# MobileNet-V2 depthwise 3x3, 144 channels at 56x56, stride 1 (input padded by 1):
# each channel has its own filter, the reduction is only the 9 taps
kernel mobilenet_depthwise {
  in  X: u8[58, 58, 144]
  in  F: i8[3, 3, 144]
  out Y: i32[56, 56, 144]
  for h in 0..56 {
    for w in 0..56 {
      for c in 0..144 {
        Y[h, w, c] = 0
        for rh in 0..3 {
          for rw in 0..3 {
            Y[h, w, c] += i32(X[h + rh, w + rw, c]) * i32(F[rh, rw, c])
          }
        }
      }
    }
  }
}

# ShuffleNet grouped 1x1 conv, groups = 3, 240 -> 240 channels at 28x28
kernel shufflenet_grouped {
  in  X: u8[28, 28, 3, 80]
  in  F: i8[3, 80, 80]
  out Y: i32[28, 28, 3, 80]
  for h in 0..28 {
    for w in 0..28 {
      for g in 0..3 {
        for ko in 0..80 {
          Y[h, w, g, ko] = 0
          for c in 0..80 {
            Y[h, w, g, ko] += i32(X[h, w, g, c]) * i32(F[g, c, ko])
          }
        }
      }
    }
  }
}

# dilated 3x3 conv (dilation 2), 64 -> 64 channels at 28x28 (DeepLab-style atrous)
kernel dilated_conv2d {
  in  X: u8[32, 32, 64]
  in  F: i8[3, 3, 64, 64]
  out Y: i32[28, 28, 64]
  for h in 0..28 {
    for w in 0..28 {
      for ko in 0..64 {
        Y[h, w, ko] = 0
        for rh in 0..3 {
          for rw in 0..3 {
            for c in 0..64 {
              Y[h, w, ko] += i32(X[h + 2 * rh, w + 2 * rw, c]) * i32(F[rh, rw, c, ko])
            }
          }
        }
      }
    }
  }
}

# transposed 3x3 conv, stride 2, 32 -> 32 channels, 14x14 -> 29x29 (DCGAN-style
# upsampling), written as a gather with a divisibility guard
kernel transposed_conv2d {
  in  X: u8[14, 14, 32]
  in  F: i8[3, 3, 32, 32]
  out Y: i32[29, 29, 32]
  for h in 0..29 {
    for w in 0..29 {
      for ko in 0..32 {
        Y[h, w, ko] = 0
      }
    }
  }
  for ih in 0..14 {
    for iw in 0..14 {
      for rh in 0..3 {
        for rw in 0..3 {
          for ko in 0..32 {
            for c in 0..32 {
              Y[2 * ih + rh, 2 * iw + rw, ko] += i32(X[ih, iw, c]) * i32(F[rh, rw, c, ko])
            }
          }
        }
      }
    }
  }
}
"""

NONTENSOR = """# Non-tensor work that must not be tensorized wrongly.

# softmax over the last axis of a 64x128 f32 matrix
kernel softmax {
  in  X: f32[64, 128]
  out Y: f32[64, 128]
  local m: f32[64]
  local s: f32[64]
  for i in 0..64 {
    m[i] = -inf
    for j in 0..128 {
      m[i] = max(m[i], X[i, j])
    }
  }
  for i in 0..64 {
    s[i] = 0
    for j in 0..128 {
      s[i] += exp(X[i, j] - m[i])
    }
  }
  for i in 0..64 {
    for j in 0..128 {
      Y[i, j] = exp(X[i, j] - m[i]) / s[i]
    }
  }
}

# RMSNorm (LLaMA) of 32 rows of 256
kernel rmsnorm {
  in  X: f32[32, 256]
  in  G: f32[256]
  out Y: f32[32, 256]
  local ss: f32[32]
  for i in 0..32 {
    ss[i] = 0
    for j in 0..256 {
      ss[i] += X[i, j] * X[i, j]
    }
  }
  for i in 0..32 {
    for j in 0..256 {
      Y[i, j] = X[i, j] * G[j] / sqrt(ss[i] / 256.0 + 0.00001)
    }
  }
}

# an elementwise blend of two u8 images with a u8 alpha
kernel blend {
  in  A: u8[64, 64]
  in  B: u8[64, 64]
  in  alpha: u8[64, 64]
  out Y: u8[64, 64]
  for i in 0..64 {
    for j in 0..64 {
      Y[i, j] = u8((u16(A[i, j]) * u16(alpha[i, j])
                    + u16(B[i, j]) * (255 - u16(alpha[i, j]))) / 255)
    }
  }
}

# 2x2 max-pool, stride 2, of a 64x64x16 u8 image: a max reduction, not a sum
kernel maxpool {
  in  X: u8[64, 64, 16]
  out Y: u8[32, 32, 16]
  for h in 0..32 {
    for w in 0..32 {
      for c in 0..16 {
        Y[h, w, c] = 0
        for rh in 0..2 {
          for rw in 0..2 {
            Y[h, w, c] = max(Y[h, w, c], X[2 * h + rh, 2 * w + rw, c])
          }
        }
      }
    }
  }
}

# an inclusive prefix sum of 4096 i32 values
kernel prefix_sum {
  in  A: i32[4096]
  out S: i32[4096]
  S[0] = A[0]
  for i in 1..4096 {
    S[i] = S[i - 1] + A[i]
  }
}
"""


def _write(path: Path, text: str) -> None:
    """Write a corpus file in the canonical form of `tensorize fmt` (comments kept)."""
    from tensorize.ir.parser import parse
    from tensorize.ir.printer import format_module

    path.write_text(format_module(parse(text, path.name)))


def main() -> None:
    """Write the corpus files."""
    HERE.mkdir(exist_ok=True)
    parts = []
    for m, n, k in GEMM_SHAPES:
        for variant in GEMM_VARIANTS:
            parts.append(gemm(f"gemm_{variant}_{m}x{n}x{k}", m, n, k, variant))
    _write(HERE / "gemm.tz", "\n".join(parts))
    _write(HERE / "gemv.tz", "\n".join(gemv(f"gemv_{m}x{k}", m, k)
                                            for m, k in GEMV_SHAPES))
    _write(HERE / "bert.tz", BERT)
    nhwc, nchw = [], []
    for i, layer in enumerate(RESNET18, 1):
        nhwc.append(conv_nhwc(f"resnet18_conv{i}_nhwc", *layer))
        nchw.append(conv_nchw(f"resnet18_conv{i}_nchw", *layer))
    _write(HERE / "resnet18_nhwc.tz", "\n".join(nhwc))
    _write(HERE / "resnet18_nchw.tz", "\n".join(nchw))
    _write(HERE / "conv_misc.tz", MISC)
    _write(HERE / "nontensor.tz", NONTENSOR)
    write_manifest()


NONTENSOR_WHY = {
    "softmax": "exp, max and division: no intrinsic computes them",
    "rmsnorm": "a sum of squares feeds a sqrt and a division: no accumulating intrinsic fits",
    "blend": "elementwise, no reduction",
    "maxpool": "a max reduction: every intrinsic here sums",
    "prefix_sum": "each element reads the one before: not a reduction per element",
    "mobilenet_depthwise": "each channel has its own filter: a tile would need per-lane "
                           "activations and a 4-deep reduction, but there are 9 taps in 3x3",
}


def _dtype_class(kernel: str) -> str:
    for variant in GEMM_VARIANTS:
        if kernel.startswith(f"gemm_{variant}_"):
            return variant.split("_")[0]
    return "u8i8"


def expectation(kernel: str, target: str) -> tuple[str | None, str]:
    """The intrinsic we expect for ``kernel`` on ``target``, with the reason."""
    if kernel in NONTENSOR_WHY:
        return None, NONTENSOR_WHY[kernel]
    cls = _dtype_class(kernel)
    small_k = kernel.endswith("x16") and kernel.startswith("gemm_")
    if target == "x86":
        if cls == "u8i8":
            return "x86.avx512_vnni.vpdpbusd_bcast", "u8 x i8 -> i32: 16 lanes x 4 per call"
        if cls == "i8i8":
            return None, "VNNI takes u8 x i8; there is no i8 x i8 form in AVX-512"
        return None, "a float reduction in IEEE mode cannot be reordered into tiles"
    if target == "arm":
        if kernel.startswith("gemv_"):
            return None, ("y has one output dimension; the 2x2 mmla tile needs two, and "
                          "usdot/sdot need lanes on both operands or signed activations")
        if kernel.startswith("resnet18_conv1_"):
            return None, ("C = 3 with 7x7 taps: no reduction loop or fused suffix of "
                          "them (3, 7, 21, 147) is a multiple of mmla's 8")
        table = {"u8i8": "arm.neon.usmmla", "i8i8": "arm.neon.smmla",
                 "bf16f32": "arm.neon.bfmmla", "f32": "arm.neon.fmla_lane"}
        if cls in table:
            return table[cls], "the 2x2(x8) matrix multiply-accumulate (or fmla by element)"
        return None, "no f16 NEON spec in the library"
    if target == "nvidia":
        if cls == "i8i8":
            if small_k:
                return "nvidia.dp4a.s32", "K = 16 is less than mma.m16n8k32's K"
            return "nvidia.mma.m16n8k32_s8_s32", "s8 x s8 -> s32 mma"
        if cls == "f16f32":
            return "nvidia.mma.m16n8k16_f16_f32", "f16 x f16 -> f32 mma (real mode)"
        if cls == "u8i8":
            return None, "mma.s8 and dp4a.s32 take signed A; the program's A is u8"
        return None, f"no {cls} mma spec in the library"
    raise ValueError(target)


TARGETS = {"x86": "ieee", "arm": "real", "nvidia": "real"}


def write_manifest() -> None:
    """bench/corpus/manifest.json: per kernel and target, the outcome we expect."""
    import json
    import re

    entries = []
    for path in sorted(HERE.glob("*.tz")):
        for name in re.findall(r"^kernel (\w+)", path.read_text(), flags=re.M):
            for target, fp in TARGETS.items():
                expect, why = expectation(name, target)
                entries.append({"file": path.name, "kernel": name, "target": target,
                                "fp": fp, "expect": expect, "why": why})
    (HERE / "manifest.json").write_text(json.dumps({"entries": entries}, indent=1) + "\n")


if __name__ == "__main__":
    main()
