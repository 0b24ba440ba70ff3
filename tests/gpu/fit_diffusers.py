#!/usr/bin/env python3
"""fit_diffusers.py - on the GPU machine: `mlgate fit` for a diffusers pipeline against what PyTorch
really takes. Builds a FluxPipeline with random weights of FLUX.1's real widths (the transformer's
3072 = 24 x 128 hidden, T5-XXL's 4096 / 10240, CLIP-L's 768, FLUX.1's full 16-channel VAE) and fewer
layers (--full: all of them, 12 B + 4.7 B parameters), saves it with save_pretrained (no tokenizers:
the prompt embeddings are given, so nothing is downloaded), runs `mlgate fit DIR --json`, then for
each placement in a fresh process (all on the GPU, enable_model_cpu_offload, enable_sequential_cpu_
offload) the text encoders over their prompt lengths (77, 512 tokens of random ids) and one real
denoising step at SIDE x SIDE with the VAE decode, and prints mlgate's figures beside the measured:

  process = the CUDA context (device memory in use after torch's first allocation, before the load)
            + torch.cuda.max_memory_reserved()      -> against mlgate's GPU need of that placement
  stage peaks, all on the GPU: max_memory_allocated() during each component's forward minus what
            was allocated before it                  -> against mlgate's per-component activations

usage: fit_diffusers.py MLGATE [--side 1024] [--full] [--keep DIR]
       fit_diffusers.py MLGATE --cpu      (a check of the code paths on a CPU: tiny widths, 128 x 128,
                                           all on the "device" only - the offloads need CUDA - and no
                                           memory figures; needs torch, diffusers, transformers)

Needs torch (/opt/torch/.venv on the GPU machine has torch 2.11, transformers 5.17, accelerate 1.15,
huggingface_hub 1.33, safetensors, Pillow) and diffusers with its pure-python dependencies
(tests/gpu/diffusers_wheels.sh puts them in .carry/wheels). On the GPU machine:

  pip install --no-index --no-deps --target /tmp/dpk .carry/wheels/*.whl
  PYTHONPATH=/tmp/dpk /opt/torch/.venv/bin/python tests/gpu/fit_diffusers.py build/mlgate
"""
import json, os, shutil, subprocess, sys, tempfile

MIB = 1024 * 1024


def build(d, full, cpu):
    """The pipeline, saved to d in bf16 (float32 on a CPU check)."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    dev = "cpu" if cpu else "cuda"
    dtype = torch.float32 if cpu else torch.bfloat16
    heads, head_dim = (2, 32) if cpu else (24, 128)            # FLUX.1: 24 x 128 = 3072
    t5_d, t5_ff, t5_heads = (64, 128, 2) if cpu else (4096, 10240, 64)
    with torch.device(dev):
        transformer = FluxTransformer2DModel(
            patch_size=1, in_channels=64, num_layers=19 if full else 1, num_single_layers=38 if full else 2,
            attention_head_dim=head_dim, num_attention_heads=heads, joint_attention_dim=t5_d,
            pooled_projection_dim=768 if not cpu else 32, guidance_embeds=True,
            axes_dims_rope=(16, 56, 56) if not cpu else (8, 12, 12)).to(dtype)
        clip = CLIPTextModel(CLIPTextConfig(
            hidden_size=768 if not cpu else 32, intermediate_size=3072 if not cpu else 64,
            num_hidden_layers=12 if full else 1, num_attention_heads=12 if not cpu else 2,
            max_position_embeddings=77, vocab_size=49408, projection_dim=768 if not cpu else 32,
            hidden_act="quick_gelu")).to(dtype)
        t5 = T5EncoderModel(T5Config(
            d_model=t5_d, d_ff=t5_ff, d_kv=64 if not cpu else 32, num_heads=t5_heads, num_layers=24 if full else 1,
            vocab_size=32128, feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False)).to(dtype)
        # FLUX.1's VAE as it is (84 M parameters): the decode at SIDE is real
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=16, layers_per_block=2,
            down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
            block_out_channels=[128, 256, 512, 512] if not cpu else [32, 32, 64, 64], norm_num_groups=32,
            sample_size=1024, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
            use_post_quant_conv=False).to(dtype)
    sched = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                                            base_image_seq_len=256, max_image_seq_len=4096)
    pipe = FluxPipeline(scheduler=sched, vae=vae, text_encoder=clip, tokenizer=None, text_encoder_2=t5,
                        tokenizer_2=None, transformer=transformer)
    pipe.save_pretrained(d, safe_serialization=True)
    del pipe, transformer, clip, t5, vae
    if not cpu:
        torch.cuda.empty_cache()


def child(mode, d, side, cpu):
    """One placement in this process: prints a JSON line of what it measured."""
    import torch
    from diffusers import FluxPipeline

    dev = "cpu" if cpu else "cuda"
    dtype = torch.float32 if cpu else torch.bfloat16
    context = 0
    if not cpu:
        torch.zeros(1, device="cuda")                     # the context, and nothing else
        free, total = torch.cuda.mem_get_info()
        context = total - free - torch.cuda.memory_reserved()
    pipe = FluxPipeline.from_pretrained(d, dtype=dtype, tokenizer=None, tokenizer_2=None)
    if mode == "gpu":
        pipe.to(dev)
    elif mode == "model_offload":
        pipe.enable_model_cpu_offload()
    else:
        pipe.enable_sequential_cpu_offload()
    if not cpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    stages = {}

    def stage(name, fn):
        before = torch.cuda.memory_allocated() if not cpu else 0
        if not cpu:
            torch.cuda.reset_peak_memory_stats()
        with torch.inference_mode():
            out = fn()
        if not cpu:
            torch.cuda.synchronize()
            stages[name] = {"before": before, "peak": torch.cuda.max_memory_allocated(),
                            "reserved_peak": torch.cuda.max_memory_reserved()}
        return out

    g = torch.Generator(device="cpu").manual_seed(0)
    clip_ids = torch.randint(0, 49408, (1, 77), generator=g).to(dev)
    t5_ids = torch.randint(0, 32128, (1, 512), generator=g).to(dev)
    pooled = stage("text_encoder", lambda: pipe.text_encoder(clip_ids, output_hidden_states=False).pooler_output)
    embeds = stage("text_encoder_2", lambda: pipe.text_encoder_2(t5_ids, output_hidden_states=False)[0])
    latents = stage("transformer", lambda: pipe(prompt_embeds=embeds.to(dtype), pooled_prompt_embeds=pooled.to(dtype),
                                                height=side, width=side, num_inference_steps=1, guidance_scale=3.5,
                                                output_type="latent", generator=torch.Generator("cpu").manual_seed(0)
                                                ).images)

    def decode():
        lat = pipe._unpack_latents(latents, side, side, pipe.vae_scale_factor)
        lat = lat / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
        return pipe.vae.decode(lat.to(dtype), return_dict=False)[0]

    image = stage("vae", decode)
    assert tuple(image.shape[-2:]) == (side, side), image.shape
    res = {"mode": mode, "context": context, "stages": stages}
    if not cpu:
        res["max_allocated"] = max(s["peak"] for s in stages.values())
        res["max_reserved"] = max(s["reserved_peak"] for s in stages.values())
        free, total = torch.cuda.mem_get_info()
        res["in_use_at_end"] = total - free
    print("RESULT " + json.dumps(res), flush=True)


def gib(b):
    return f"{b / (1 << 30):7.2f} GiB"


def main():
    args = sys.argv[1:]
    if args and args[0] == "--child":
        _, mode, d, side, cpu = args
        child(mode, d, int(side), cpu == "1")
        return
    if not args:
        sys.exit(__doc__)
    mlgate, cpu, full = args[0], "--cpu" in args, "--full" in args
    side = int(args[args.index("--side") + 1]) if "--side" in args else (128 if cpu else 1024)
    keep = args[args.index("--keep") + 1] if "--keep" in args else None
    d = keep or tempfile.mkdtemp(prefix="mlgate-flux-")
    import torch, diffusers, transformers
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}, "
          f"{'CPU check' if cpu else torch.cuda.get_device_name(0)}; {'full' if full else 'shrunk'} FLUX.1 at {side}x{side}")
    try:
        if not os.path.exists(os.path.join(d, "model_index.json")):
            build(d, full, cpu)
        fit = subprocess.run([mlgate, "fit", d, "--json"] + (["--vram", "80G"] if cpu else []),
                             capture_output=True, text=True)
        if fit.returncode not in (0, 1):
            sys.exit(f"mlgate fit failed ({fit.returncode}): {fit.stderr}")
        f = json.loads(fit.stdout)
        comps = {c["name"]: c for c in f["components"]}
        print(f"mlgate: {f['pipeline']}, {len(comps)} components, weights {gib(f['weights'])}, "
              f"{f['image_tokens']} image + {f['text_tokens']} text tokens at 1024x1024 (its estimate is for 1024)")
        if side != 1024:
            print(f"  note: the run is at {side}x{side}; mlgate's activations are for 1024x1024")
        results = {}
        # the offloads need an accelerator: a CPU check runs the pipeline placed "on the device" only
        for mode in ("gpu",) if cpu else ("gpu", "model_offload", "sequential_offload"):
            p = subprocess.run([sys.executable, __file__, "--child", mode, d, str(side), "1" if cpu else "0"],
                               capture_output=True, text=True)
            line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
            if p.returncode or not line:
                print(f"  {mode}: failed ({p.returncode})\n{p.stderr[-3000:]}")
                continue
            results[mode] = json.loads(line[0][7:])
        if cpu:
            ok = "gpu" in results and set(results["gpu"].get("stages", {}) or {"ran": 1})
            print("CPU check: build, save, fit, load, both text encoders, one step and the decode ran" if ok
                  else "CPU check failed")
            sys.exit(0 if ok else 1)
        key = {"gpu": "all_on_gpu", "model_offload": "model_cpu_offload", "sequential_offload": "sequential_cpu_offload"}
        print(f"{'placement':22} {'mlgate GPU':>12} {'measured':>12} {'err':>8}   (measured: context + max reserved;"
              f" max allocated)")
        for mode, r in results.items():
            pred = f["placements"][key[mode]]["gpu"]
            meas = r["context"] + r["max_reserved"]
            print(f"{key[mode]:22} {gib(pred)} {gib(meas)} {100 * (pred - meas) / meas:+7.1f}%   "
                  f"(context {r['context'] / MIB:.0f} MiB; allocated {gib(r['max_allocated'])})")
        if "gpu" in results:
            print(f"{'stage (all on GPU)':22} {'mlgate act':>12} {'measured':>12} {'err':>8}   (peak - allocated before)")
            for name, s in results["gpu"]["stages"].items():
                pred = comps.get(name, {}).get("activations", 0)
                meas = s["peak"] - s["before"]
                err = f"{100 * (pred - meas) / meas:+7.1f}%" if meas else "      -"
                print(f"{name:22} {gib(pred)} {gib(meas)} {err}")
        print(json.dumps({"mlgate": f, "measured": results}), file=open(os.path.join(d, "fit_diffusers.json"), "w"))
    finally:
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
