/*
 * cuerrors.c - CUDA driver error codes as words, and what each means for a user.
 * One table: the numbers are CUresult values (stable ABI), the meanings are ours.
 */
#include "mlgate/binaries.h"

static const struct {
    int code;
    const char *name;
    const char *meaning;
} errors[] = {
    {0, "CUDA_SUCCESS", "success"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of GPU memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "the driver was not initialised"},
    {4, "CUDA_ERROR_DEINITIALIZED", "the driver is shutting down"},
    {34, "CUDA_ERROR_STUB_LIBRARY", "libcuda.so is the toolkit's stub, not the driver's library"},
    {35, "CUDA_ERROR_INSUFFICIENT_DRIVER", "the driver is older than the CUDA runtime needs"},
    {46, "CUDA_ERROR_DEVICE_UNAVAILABLE", "the GPU is busy or unavailable (compute mode?)"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable GPU is visible"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "the image is not a valid CUDA module (empty fatbin?)"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "no valid CUDA context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {221, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND", "the PTX JIT compiler library was not found"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"},
    {223, "CUDA_ERROR_JIT_COMPILATION_DISABLED", "PTX JIT compilation was disabled"},
    {300, "CUDA_ERROR_INVALID_SOURCE", "invalid source"},
    {301, "CUDA_ERROR_FILE_NOT_FOUND", "file not found"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", "forward compatibility is not supported on this device"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const char *mg_cu_name(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].name;
    return "CUDA_ERROR_?";
}

const char *mg_cu_meaning(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return errors[i].meaning;
    return "an error mlgate has no words for";
}
