/* device.c: CUDA device discovery. A machine without a driver or a GPU is a normal case here,
 * never an abort: it answers 0 devices and Quorum carries on on the CPU. */
#define G_LOG_DOMAIN "quorum-gpu"

#include "qr-gpu.h"

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cudnn.h>

G_DEFINE_QUARK (quorum-gpu-error-quark, qr_gpu_error)

int
qr_gpu_device_count (void)
{
  int count = 0;

  if (cudaGetDeviceCount (&count) != cudaSuccess)
    {
      cudaGetLastError (); /* clear the sticky "no driver" error */
      return 0;
    }
  return count;
}

char *
qr_gpu_describe (GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  int count = 0, runtime = 0, driver = 0;
  cudaError_t status = cudaGetDeviceCount (&count);

  if (status != cudaSuccess || count == 0)
    {
      /* the runtime's words for a machine with no NVIDIA driver ("driver version is insufficient
       * for CUDA runtime version") read as if an update would help: say what is missing */
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_NO_DEVICE, "no CUDA device: %s",
                   status == cudaErrorInsufficientDriver ? "no NVIDIA driver able to run CUDA 13 (none, or an older one)"
                   : status == cudaErrorNoDevice         ? "no NVIDIA GPU on this machine"
                   : status != cudaSuccess               ? cudaGetErrorString (status)
                                                         : "none found");
      cudaGetLastError ();
      return NULL;
    }
  cudaRuntimeGetVersion (&runtime);
  cudaDriverGetVersion (&driver);
  for (int i = 0; i < count; i++)
    {
      struct cudaDeviceProp prop;
      if (cudaGetDeviceProperties (&prop, i) != cudaSuccess)
        continue;
      g_string_append_printf (text, "cuda:%d %s, %.1f GiB, compute %d.%d, %d SMs\n", i, prop.name,
                              (double) prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), prop.major,
                              prop.minor, prop.multiProcessorCount);
    }
  g_string_append_printf (text, "CUDA runtime %d.%d, driver %d.%d, cuDNN %zu, cuBLAS %d\n",
                          runtime / 1000, (runtime % 1000) / 10, driver / 1000, (driver % 1000) / 10,
                          cudnnGetVersion (), (int) cublasGetCudartVersion ());
  return g_string_free (g_steal_pointer (&text), FALSE);
}
