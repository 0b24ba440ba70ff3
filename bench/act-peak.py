#!/usr/bin/env python3
"""act-peak.py - on a CPU, the peak of live activation bytes of one FLUX.1 step and of FLUX.1's VAE
decode, to check the factors of lib/models/fit_st.c (DIT_FACTOR, VAE_FACTOR) before a GPU run: every
tensor an op returns (a TorchDispatchMode) is counted while its storage lives; weights and inputs are
not. Real widths (3072 hidden, 4096 + 512 tokens; the 16-channel VAE), one double- and one single-stream
block, bf16.   usage: act-peak.py flux | act-peak.py vae [SIDE]   (needs torch and diffusers)
"""
import sys, time, weakref, torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

class Peak(TorchDispatchMode):
    def __init__(s):
        super().__init__(); s.live = 0; s.peak = 0; s.seen = {}
    def __torch_dispatch__(s, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                st = t.untyped_storage()
                key = st.data_ptr()
                if key in s.seen or st.nbytes() == 0: continue
                n = st.nbytes(); s.seen[key] = n; s.live += n; s.peak = max(s.peak, s.live)
                def gone(key=key, n=n):
                    s.live -= n; s.seen.pop(key, None)
                weakref.finalize(st, gone)
        return out

def measure(fn):
    with torch.inference_mode(), Peak() as p:
        t = time.time(); out = fn(); dt = time.time() - t
    return p.peak, dt, out

which = sys.argv[1]
dt = torch.bfloat16
if which == "flux":
    from diffusers import FluxTransformer2DModel
    m = FluxTransformer2DModel(patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=128,
                               num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
                               guidance_embeds=True, axes_dims_rope=(16, 56, 56)).to(dt).eval()
    img, txt = 4096, 512
    hs = torch.randn(1, img, 64, dtype=dt); enc = torch.randn(1, txt, 4096, dtype=dt)
    pooled = torch.randn(1, 768, dtype=dt); t = torch.tensor([1.0]); g = torch.tensor([3.5])
    ids = torch.zeros(img, 3); ids[:, 1] = torch.arange(img) // 64; ids[:, 2] = torch.arange(img) % 64
    tids = torch.zeros(txt, 3)
    peak, sec, _ = measure(lambda: m(hidden_states=hs, encoder_hidden_states=enc, pooled_projections=pooled, timestep=t,
                                     img_ids=ids, txt_ids=tids, guidance=g, return_dict=False))
    inputs = hs.nbytes + enc.nbytes
    print(f"flux 1 double + 1 single, {img}+{txt} tokens: peak {peak/2**20:.0f} MiB in {sec:.0f}s = "
          f"{peak / ((img + txt) * 3072 * 2):.1f} x tokens x hidden x 2 bytes")
else:
    from diffusers import AutoencoderKL
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    v = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=16, layers_per_block=2,
                      down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                      block_out_channels=[128, 256, 512, 512], norm_num_groups=32, use_quant_conv=False,
                      use_post_quant_conv=False).to(dt).eval()
    lat = torch.randn(1, 16, side // 8, side // 8, dtype=dt)
    peak, sec, _ = measure(lambda: v.decode(lat, return_dict=False)[0])
    print(f"vae decode {side}x{side}: peak {peak/2**20:.0f} MiB in {sec:.0f}s = "
          f"{peak / (side * side * 256 * 2):.2f} x pixels x 256 x 2 bytes")
