/* qr-gpu.h: what the CUDA side of Quorum can see. Only built when CUDA is; callers outside gpu/
 * test QUORUM_HAVE_CUDA in the one place that picks a backend. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QR_GPU_ERROR (qr_gpu_error_quark ())
GQuark qr_gpu_error_quark (void);

typedef enum
{
  QR_GPU_ERROR_NO_DEVICE,
  QR_GPU_ERROR_CUDA,
  QR_GPU_ERROR_OUT_OF_MEMORY,
  QR_GPU_ERROR_UNSUPPORTED,
} QrGpuError;

/* Number of usable CUDA devices; 0 (and no error) when the driver or GPU is absent. */
int    qr_gpu_device_count (void);
/* One line per device (name, memory, compute capability) plus the cuDNN and cuBLAS versions. */
char  *qr_gpu_describe     (GError **error);

G_END_DECLS
