# corpus_facts.sh - what docs/real-world.md established about real wheels, as checks.
# fact DESCRIPTION WHEEL-GLOB MEMBER-SUFFIX GPU STATUS   (sourced by test_corpus.sh)
fact "torch 2.5.1 (cu124) has no code for Blackwell"   'torch-2.5.1-*.whl' torch/lib/libtorch_cuda.so "RTX 5090" none
fact "torch 2.5.1 still runs on Pascal"                 'torch-2.5.1-*.whl' torch/lib/libtorch_cuda.so "GTX 1080 Ti" native
fact "current torch runs natively on GB10 (sm_121a)"   'torch-2.[1-9][0-9].*.whl' torch/lib/libtorch_cuda.so GB10 native
fact "current torch (CUDA 13) dropped Volta"            'torch-2.[1-9][0-9].*.whl' torch/lib/libtorch_cuda.so V100 none
fact "sgl-kernel stops at sm_120a: nothing for GB10"    'sgl_kernel-*.whl' sgl_kernel/sm100/common_ops.abi3.so GB10 none
fact "sgl-kernel's sm_120a code runs on an RTX 5090"    'sgl_kernel-*.whl' sgl_kernel/sm100/common_ops.abi3.so "RTX 5090" native
fact "vLLM's FlashAttention-3 is Hopper-only (sm_90a)"  'vllm-*.whl' vllm/vllm_flash_attn/_vllm_fa3_C.abi3.so B200 none
fact "vLLM's FlashAttention-3 runs on an H100"          'vllm-*.whl' vllm/vllm_flash_attn/_vllm_fa3_C.abi3.so H100 native
fact "vLLM's FA2 reaches Hopper only through PTX"       'vllm-*.whl' vllm/vllm_flash_attn/_vllm_fa2_C.abi3.so H100 jit
fact "onnxruntime-gpu's CUDA provider lacks sm_121"     'onnxruntime_gpu-*.whl' libonnxruntime_providers_cuda.so GB10 none
fact "bitsandbytes' CUDA 12.8 build runs on Blackwell"  'bitsandbytes-0.[5-9]*.whl' libbitsandbytes_cuda128.so "RTX 5090" native
fact "aarch64 cuRAND (CUDA 12.6) reaches GB10 only by PTX" 'nvidia_curand_cu12-*aarch64.whl' libcurand.so.10 GB10 jit
fact "aarch64 cuRAND (CUDA 12.6) is native on GH200"        'nvidia_curand_cu12-*aarch64.whl' libcurand.so.10 GH200 native
