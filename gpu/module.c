/* module.c: libquorum-cuda.so's one export, the table of its functions (qr-cuda-api.h). */
#include "qr-cuda-api.h"
#include "qr-gpu.h"

#include <gmodule.h>

static const QrCudaApi api = {
  QR_CUDA_API_VERSION,
  qr_gpu_device_count,
  qr_gpu_describe,
  qr_cuda_new,
  qr_cuda_free,
  qr_cuda_get_precision,
  qr_cuda_precision_name,
  qr_cuda_device_name,
  qr_cuda_alloc,
  qr_cuda_release,
  qr_cuda_upload,
  qr_cuda_download,
  qr_cuda_copy,
  qr_cuda_copy_2d,
  qr_cuda_sync,
  qr_cuda_check,
  qr_cuda_upload_conv_weights,
  qr_cuda_conv2d_prepare,
  qr_cuda_conv2d,
  qr_cuda_get_scratch_bytes,
  qr_cuda_matmul,
  qr_cuda_depthwise,
  qr_cuda_binary,
  qr_cuda_unary,
  qr_cuda_reduce,
  qr_cuda_resize,
  qr_cuda_pool,
  qr_cuda_gather,
  qr_cuda_pad,
  qr_cuda_softmax,
  qr_cuda_capture_begin,
  qr_cuda_capture_end,
  qr_cuda_graph_launch,
  qr_cuda_graph_free,
  qr_cuda_place_input,
  qr_cuda_alloc_host,
  qr_cuda_release_host,
  qr_cuda_resize_u8,
  qr_cuda_matmul_batched,
  qr_cuda_arg_reduce,
  qr_cuda_take,
  qr_cuda_scatter_rows,
  qr_cuda_unit_rows,
  qr_cuda_unit_rows_backward,
  qr_cuda_tanh_backward,
  qr_cuda_pair_softmax_loss,
  qr_cuda_adam,
  qr_cuda_bias_act,
  qr_cuda_peaks,
  qr_cuda_select_rows,
};

G_MODULE_EXPORT const QrCudaApi *
qr_cuda_module_api (void)
{
  return &api;
}
