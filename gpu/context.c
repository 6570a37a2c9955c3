/* context.c: a CUDA context for the engine: device memory, the scratch area, cuDNN convolutions
 * with their algorithm chosen once per shape, and cuBLAS matmuls. Everything runs on one stream
 * per context, so two models (two contexts) run side by side on one GPU. */
#define G_LOG_DOMAIN "quorum-gpu"

#include "cuda-private.h"

#include <string.h>

/* The most workspace one convolution may ask for when its algorithm is chosen. */
#define MAX_WORKSPACE ((gsize) 512 << 20)
#define ALIGN(x) (((x) + 255) & ~(gsize) 255)

typedef struct
{
  cudnnTensorDescriptor_t      x_desc, y_desc;
  cudnnFilterDescriptor_t      w_desc;
  cudnnConvolutionDescriptor_t conv_desc;
  cudnnConvolutionFwdAlgo_t    algo;
  gsize                        workspace;
} ConvPlan;

static void
conv_plan_free (gpointer data)
{
  ConvPlan *plan = data;
  if (plan->x_desc != NULL)
    cudnnDestroyTensorDescriptor (plan->x_desc);
  if (plan->y_desc != NULL)
    cudnnDestroyTensorDescriptor (plan->y_desc);
  if (plan->w_desc != NULL)
    cudnnDestroyFilterDescriptor (plan->w_desc);
  if (plan->conv_desc != NULL)
    cudnnDestroyConvolutionDescriptor (plan->conv_desc);
  g_free (plan);
}

static gboolean
cuda_ok (cudaError_t status, const char *what, GError **error)
{
  if (status == cudaSuccess)
    return TRUE;
  g_set_error (error, QR_GPU_ERROR, status == cudaErrorMemoryAllocation ? QR_GPU_ERROR_OUT_OF_MEMORY
                                                                         : QR_GPU_ERROR_CUDA,
               "%s: %s", what, cudaGetErrorString (status));
  cudaGetLastError ();
  return FALSE;
}

static gboolean
cudnn_ok (cudnnStatus_t status, const char *what, GError **error)
{
  if (status == CUDNN_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, QR_GPU_ERROR, status == CUDNN_STATUS_NOT_SUPPORTED ? QR_GPU_ERROR_UNSUPPORTED
                                    : status == CUDNN_STATUS_ALLOC_FAILED ? QR_GPU_ERROR_OUT_OF_MEMORY
                                                                          : QR_GPU_ERROR_CUDA,
               "%s: cuDNN: %s", what, cudnnGetErrorString (status));
  return FALSE;
}

static gboolean
cublas_ok (cublasStatus_t status, const char *what, GError **error)
{
  if (status == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, QR_GPU_ERROR, status == CUBLAS_STATUS_ALLOC_FAILED ? QR_GPU_ERROR_OUT_OF_MEMORY
                                                                        : QR_GPU_ERROR_CUDA,
               "%s: cuBLAS status %d", what, (int) status);
  return FALSE;
}

const char *
qr_cuda_precision_name (QrCudaPrecision precision)
{
  switch (precision)
    {
    case QR_CUDA_FP32: return "fp32";
    case QR_CUDA_TF32: return "tf32";
    case QR_CUDA_FP16: return "fp16";
    default: return "?";
    }
}

QrCuda *
qr_cuda_new (int device, QrCudaPrecision precision, GError **error)
{
  g_autofree QrCuda *cuda = NULL;
  struct cudaDeviceProp prop;
  int count = 0;

  if (cudaGetDeviceCount (&count) != cudaSuccess || count <= device)
    {
      cudaGetLastError ();
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_NO_DEVICE, "no CUDA device %d on this machine", device);
      return NULL;
    }
  if (!cuda_ok (cudaSetDevice (device), "selecting the GPU", error)
      || !cuda_ok (cudaGetDeviceProperties (&prop, device), "reading the GPU's properties", error))
    return NULL;
  cuda = g_new0 (QrCuda, 1);
  cuda->device = device;
  cuda->precision = precision;
  if (!cuda_ok (cudaStreamCreateWithFlags (&cuda->stream, cudaStreamNonBlocking), "creating a stream", error))
    return NULL;
  if (!cudnn_ok (cudnnCreate (&cuda->cudnn), "starting cuDNN", error))
    {
      cudaStreamDestroy (cuda->stream);
      return NULL;
    }
  if (!cublas_ok (cublasCreate (&cuda->cublas), "starting cuBLAS", error))
    {
      cudnnDestroy (cuda->cudnn);
      cudaStreamDestroy (cuda->stream);
      return NULL;
    }
  cudnnSetStream (cuda->cudnn, cuda->stream);
  cublasSetStream (cuda->cublas, cuda->stream);
  cublasSetMathMode (cuda->cublas, precision == QR_CUDA_FP32 ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH);
  cuda->name = g_strdup (prop.name);
  cuda->algos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, conv_plan_free);
  g_debug ("cuda:%d %s, %s, cuDNN %zu", device, prop.name, qr_cuda_precision_name (precision), cudnnGetVersion ());
  return g_steal_pointer (&cuda);
}

void
qr_cuda_free (QrCuda *cuda)
{
  if (cuda == NULL)
    return;
  cudaSetDevice (cuda->device);
  cudaStreamSynchronize (cuda->stream);
  if (cuda->scratch != NULL)
    cudaFree (cuda->scratch);
  g_hash_table_unref (cuda->algos);
  cublasDestroy (cuda->cublas);
  cudnnDestroy (cuda->cudnn);
  cudaStreamDestroy (cuda->stream);
  cudaGetLastError ();
  g_free (cuda->name);
  g_free (cuda);
}

QrCudaPrecision
qr_cuda_get_precision (QrCuda *cuda)
{
  return cuda->precision;
}

const char *
qr_cuda_device_name (QrCuda *cuda)
{
  return cuda->name;
}

void *
qr_cuda_alloc (QrCuda *cuda, gsize bytes, GError **error)
{
  void *ptr = NULL;
  cudaError_t status;

  cudaSetDevice (cuda->device);
  status = cudaMalloc (&ptr, MAX (bytes, 4));
  if (status != cudaSuccess)
    {
      cudaGetLastError ();
      g_set_error (error, QR_GPU_ERROR,
                   status == cudaErrorMemoryAllocation ? QR_GPU_ERROR_OUT_OF_MEMORY : QR_GPU_ERROR_CUDA,
                   "%s: could not allocate %.1f MB of GPU memory: %s", cuda->name, (double) bytes / 1e6,
                   cudaGetErrorString (status));
      return NULL;
    }
  return ptr;
}

void
qr_cuda_release (QrCuda *cuda, void *device_ptr)
{
  if (device_ptr != NULL)
    cudaFree (device_ptr);
}

/* Page-locked host memory: copies to and from it run at the bus's full speed (the outputs of a
 * batch of 64 CenterNet images are 350 MB). */
void *
qr_cuda_alloc_host (QrCuda *cuda, gsize bytes, GError **error)
{
  void *ptr = NULL;
  cudaError_t status;

  cudaSetDevice (cuda->device);
  status = cudaMallocHost (&ptr, MAX (bytes, 4));
  if (status != cudaSuccess)
    {
      cudaGetLastError ();
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_OUT_OF_MEMORY, "%s: could not allocate %.1f MB of page-locked memory: %s",
                   cuda->name, (double) bytes / 1e6, cudaGetErrorString (status));
      return NULL;
    }
  return ptr;
}

void
qr_cuda_release_host (QrCuda *cuda, void *host_ptr)
{
  (void) cuda;
  if (host_ptr != NULL)
    cudaFreeHost (host_ptr);
}

gboolean
qr_cuda_upload (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error)
{
  return cuda_ok (cudaMemcpyAsync (dst, src, bytes, cudaMemcpyHostToDevice, cuda->stream), "copying to the GPU", error);
}

gboolean
qr_cuda_download (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error)
{
  return cuda_ok (cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToHost, cuda->stream), "copying from the GPU",
                  error);
}

gboolean
qr_cuda_copy (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error)
{
  if (dst == src || bytes == 0)
    return TRUE;
  return cuda_ok (cudaMemcpyAsync (dst, src, bytes, cudaMemcpyDeviceToDevice, cuda->stream), "copying on the GPU",
                  error);
}

gboolean
qr_cuda_copy_2d (QrCuda *cuda, float *dst, gsize dst_pitch, const float *src, gsize src_pitch, gsize width, gsize rows,
                 GError **error)
{
  if (width == 0 || rows == 0)
    return TRUE;
  return cuda_ok (cudaMemcpy2DAsync (dst, dst_pitch * sizeof (float), src, src_pitch * sizeof (float),
                                     width * sizeof (float), rows, cudaMemcpyDeviceToDevice, cuda->stream),
                  "copying on the GPU", error);
}

gboolean
qr_cuda_sync (QrCuda *cuda, GError **error)
{
  return cuda_ok (cudaStreamSynchronize (cuda->stream), "running on the GPU", error);
}

gboolean
qr_cuda_check (QrCuda *cuda, const char *what, GError **error)
{
  return cuda_ok (cudaPeekAtLastError (), what, error);
}

gsize
qr_cuda_get_scratch_bytes (QrCuda *cuda)
{
  return cuda->scratch_bytes;
}

void *
qr_cuda_upload_conv_weights (QrCuda *cuda, const float *hwio, int kh, int kw, int c, int oc, GError **error)
{
  gsize n = (gsize) kh * (gsize) kw * (gsize) c * (gsize) oc;
  gboolean half = cuda->precision == QR_CUDA_FP16;
  float *staging = qr_cuda_alloc (cuda, n * sizeof (float), error);
  void *out;

  if (staging == NULL)
    return NULL;
  out = qr_cuda_alloc (cuda, n * (half ? QR_HALF_BYTES : sizeof (float)), error);
  if (out == NULL || !qr_cuda_upload (cuda, staging, hwio, n * sizeof (float), error))
    {
      qr_cuda_release (cuda, out);
      qr_cuda_release (cuda, staging);
      return NULL;
    }
  qr_cuda_k_weights (cuda->stream, staging, half ? NULL : out, half ? out : NULL, kh, kw, c, oc);
  if (!qr_cuda_sync (cuda, error))
    {
      qr_cuda_release (cuda, out);
      out = NULL;
    }
  qr_cuda_release (cuda, staging);
  return out;
}

static gboolean
asymmetric (const QrCudaConv *conv)
{
  return conv->pads[0] != conv->pads[1] || conv->pads[2] != conv->pads[3];
}

/* Scratch layout for one convolution: [explicitly padded input, float][input, half][output, half]
 * [cuDNN workspace]. */
typedef struct
{
  gsize padded, half_x, half_y, workspace, total;
} Layout;

static Layout
layout (QrCuda *cuda, const QrCudaConv *conv, gsize workspace)
{
  Layout l = { 0 };
  gboolean half = cuda->precision == QR_CUDA_FP16;
  gsize ph = (gsize) (conv->h + conv->pads[0] + conv->pads[1]), pw = (gsize) (conv->w + conv->pads[2] + conv->pads[3]);
  gsize in = asymmetric (conv) ? (gsize) conv->n * ph * pw * (gsize) conv->c
                               : (gsize) conv->n * (gsize) conv->h * (gsize) conv->w * (gsize) conv->c;

  l.padded = 0;
  l.half_x = ALIGN (asymmetric (conv) ? in * sizeof (float) : 0);
  l.half_y = l.half_x + ALIGN (half ? in * QR_HALF_BYTES : 0);
  l.workspace = l.half_y + ALIGN (half ? (gsize) conv->n * (gsize) conv->oh * (gsize) conv->ow * (gsize) conv->oc
                                           * QR_HALF_BYTES : 0);
  l.total = l.workspace + ALIGN (workspace);
  return l;
}

static char *
conv_key (QrCuda *cuda, const QrCudaConv *c)
{
  gboolean asym = asymmetric (c);
  return g_strdup_printf ("%d %d %d %d > %d %dx%d s%d,%d d%d,%d p%d,%d %s", c->n,
                          asym ? c->h + c->pads[0] + c->pads[1] : c->h, asym ? c->w + c->pads[2] + c->pads[3] : c->w,
                          c->c, c->oc, c->kh, c->kw, c->stride[0], c->stride[1], c->dilation[0], c->dilation[1],
                          asym ? 0 : c->pads[0], asym ? 0 : c->pads[2], qr_cuda_precision_name (cuda->precision));
}

static ConvPlan *
find_plan (QrCuda *cuda, const QrCudaConv *conv, GError **error)
{
  g_autofree char *key = conv_key (cuda, conv);
  ConvPlan *plan = g_hash_table_lookup (cuda->algos, key);
  cudnnDataType_t type = cuda->precision == QR_CUDA_FP16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  gboolean asym = asymmetric (conv);
  int h = asym ? conv->h + conv->pads[0] + conv->pads[1] : conv->h;
  int w = asym ? conv->w + conv->pads[2] + conv->pads[3] : conv->w;
  int on, oc, oh, ow, found = 0;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];

  if (plan != NULL)
    return plan;
  plan = g_new0 (ConvPlan, 1);
  if (!cudnn_ok (cudnnCreateTensorDescriptor (&plan->x_desc), key, error)
      || !cudnn_ok (cudnnCreateTensorDescriptor (&plan->y_desc), key, error)
      || !cudnn_ok (cudnnCreateFilterDescriptor (&plan->w_desc), key, error)
      || !cudnn_ok (cudnnCreateConvolutionDescriptor (&plan->conv_desc), key, error)
      || !cudnn_ok (cudnnSetTensor4dDescriptor (plan->x_desc, CUDNN_TENSOR_NHWC, type, conv->n, conv->c, h, w), key,
                    error)
      || !cudnn_ok (cudnnSetFilter4dDescriptor (plan->w_desc, type, CUDNN_TENSOR_NHWC, conv->oc, conv->c, conv->kh,
                                                conv->kw), key, error)
      || !cudnn_ok (cudnnSetConvolution2dDescriptor (plan->conv_desc, asym ? 0 : conv->pads[0],
                                                     asym ? 0 : conv->pads[2], conv->stride[0], conv->stride[1],
                                                     conv->dilation[0], conv->dilation[1], CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT), key, error)
      || !cudnn_ok (cudnnSetConvolutionMathType (plan->conv_desc,
                                                 cuda->precision == QR_CUDA_FP32 ? CUDNN_FMA_MATH
                                                 : cuda->precision == QR_CUDA_TF32 ? CUDNN_DEFAULT_MATH
                                                                                   : CUDNN_TENSOR_OP_MATH), key, error)
      || !cudnn_ok (cudnnGetConvolution2dForwardOutputDim (plan->conv_desc, plan->x_desc, plan->w_desc, &on, &oc, &oh,
                                                           &ow), key, error))
    {
      conv_plan_free (plan);
      return NULL;
    }
  if (on != conv->n || oc != conv->oc || oh != conv->oh || ow != conv->ow)
    {
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_UNSUPPORTED,
                   "%s: cuDNN makes a %d×%d×%d×%d output where the engine expects %d×%d×%d×%d", key, on, oh, ow, oc,
                   conv->n, conv->oh, conv->ow, conv->oc);
      conv_plan_free (plan);
      return NULL;
    }
  if (!cudnn_ok (cudnnSetTensor4dDescriptor (plan->y_desc, CUDNN_TENSOR_NHWC, type, on, oc, oh, ow), key, error))
    {
      conv_plan_free (plan);
      return NULL;
    }
  /* Timed trials, fastest first; the first that works within the workspace limit wins. */
  if (cudnnFindConvolutionForwardAlgorithm (cuda->cudnn, plan->x_desc, plan->w_desc, plan->conv_desc, plan->y_desc,
                                            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf) != CUDNN_STATUS_SUCCESS)
    found = 0;
  for (int i = 0; i < found; i++)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= MAX_WORKSPACE)
      {
        plan->algo = perf[i].algo;
        plan->workspace = perf[i].memory;
        g_debug ("%s: algorithm %d, %.3f ms, workspace %.1f MB", key, (int) perf[i].algo, (double) perf[i].time,
                 (double) perf[i].memory / 1e6);
        g_hash_table_insert (cuda->algos, g_steal_pointer (&key), plan);
        return plan;
      }
  /* No trial ran (a busy GPU, too little memory for the trials): ask the heuristics. */
  if (cudnnGetConvolutionForwardAlgorithm_v7 (cuda->cudnn, plan->x_desc, plan->w_desc, plan->conv_desc, plan->y_desc,
                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf) == CUDNN_STATUS_SUCCESS)
    for (int i = 0; i < found; i++)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= MAX_WORKSPACE)
        {
          plan->algo = perf[i].algo;
          plan->workspace = perf[i].memory;
          g_hash_table_insert (cuda->algos, g_steal_pointer (&key), plan);
          return plan;
        }
  g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_UNSUPPORTED, "%s: cuDNN has no algorithm for this convolution", key);
  conv_plan_free (plan);
  return NULL;
}

gboolean
qr_cuda_conv2d_prepare (QrCuda *cuda, const QrCudaConv *conv, GError **error)
{
  ConvPlan *plan = find_plan (cuda, conv, error);
  Layout l;

  if (plan == NULL)
    return FALSE;
  l = layout (cuda, conv, plan->workspace);
  if (l.total > cuda->scratch_bytes)
    {
      void *bigger;
      if (!qr_cuda_sync (cuda, error))
        return FALSE;
      bigger = qr_cuda_alloc (cuda, l.total, error);
      if (bigger == NULL)
        return FALSE;
      qr_cuda_release (cuda, cuda->scratch);
      cuda->scratch = bigger;
      cuda->scratch_bytes = l.total;
    }
  return TRUE;
}

gboolean
qr_cuda_conv2d (QrCuda *cuda, const QrCudaConv *conv, const float *x, const void *weights, const float *bias,
                float *y, GError **error)
{
  ConvPlan *plan = find_plan (cuda, conv, error);
  gboolean half = cuda->precision == QR_CUDA_FP16;
  const float one = 1.0f, zero = 0.0f;
  const void *input = x;
  void *output = y;
  char *base = cuda->scratch;
  Layout l;

  if (plan == NULL)
    return FALSE;
  l = layout (cuda, conv, plan->workspace);
  if (l.total > cuda->scratch_bytes)
    {
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_CUDA, "a convolution ran before it was prepared");
      return FALSE;
    }
  if ((conv->x_half || conv->y_half) && (!half || (conv->x_half && asymmetric (conv))))
    {
      g_set_error (error, QR_GPU_ERROR, QR_GPU_ERROR_UNSUPPORTED, "a convolution with %s in FP16 %s",
                   conv->x_half ? "its input" : "its output", half ? "and unequal pads" : "in an FP32 context");
      return FALSE;
    }
  if (asymmetric (conv))
    {
      int in_dims[4] = { conv->n, conv->h, conv->w, conv->c };
      int out_dims[4] = { conv->n, conv->h + conv->pads[0] + conv->pads[1], conv->w + conv->pads[2] + conv->pads[3],
                          conv->c };
      int before[4] = { 0, conv->pads[0], conv->pads[2], 0 };
      qr_cuda_pad (cuda, x, (float *) (base + l.padded), in_dims, out_dims, before, 0.0f);
      input = base + l.padded;
    }
  if (half)
    {
      gsize n_in = (gsize) conv->n * (gsize) (conv->h + conv->pads[0] + conv->pads[1])
                   * (gsize) (conv->w + conv->pads[2] + conv->pads[3]) * (gsize) conv->c;
      if (!asymmetric (conv))
        n_in = (gsize) conv->n * (gsize) conv->h * (gsize) conv->w * (gsize) conv->c;
      /* an input kept in half by the backend needs no conversion, an output kept in half is
         written in place */
      if (!conv->x_half)
        {
          qr_cuda_k_to_half (cuda->stream, input, base + l.half_x, n_in);
          input = base + l.half_x;
        }
      output = conv->y_half ? (void *) y : (void *) (base + l.half_y);
    }
  if (!cudnn_ok (cudnnConvolutionForward (cuda->cudnn, &one, plan->x_desc, input, plan->w_desc, weights,
                                          plan->conv_desc, plan->algo, base + l.workspace, plan->workspace, &zero,
                                          plan->y_desc, output), "convolution", error))
    return FALSE;
  if (conv->y_half)
    qr_cuda_k_half_bias_act_half (cuda->stream, y, bias, (gsize) conv->n * (gsize) conv->oh * (gsize) conv->ow,
                                  conv->oc, conv->act, conv->alpha);
  else if (half)
    qr_cuda_k_half_bias_act (cuda->stream, output, y, bias,
                             (gsize) conv->n * (gsize) conv->oh * (gsize) conv->ow, conv->oc, conv->act, conv->alpha);
  else
    qr_cuda_bias_act (cuda, y, bias, (gsize) conv->n * (gsize) conv->oh * (gsize) conv->ow, conv->oc, conv->act,
                      conv->alpha);
  return TRUE;
}

gboolean
qr_cuda_matmul (QrCuda *cuda, const float *a, const float *b, float *c, int m, int n, int k, gboolean transpose_a,
                gboolean transpose_b, GError **error)
{
  const float one = 1.0f, zero = 0.0f;

  /* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ. */
  return cublas_ok (cublasSgemm (cuda->cublas, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b, transpose_b ? k : n, a,
                                 transpose_a ? m : k, &zero, c, n), "matmul", error);
}

gboolean
qr_cuda_matmul_batched (QrCuda *cuda, const float *a, const float *b, float *c, int m, int n, int k,
                        gboolean transpose_a, gboolean transpose_b, int batches, long long stride_a, long long stride_b,
                        GError **error)
{
  const float one = 1.0f, zero = 0.0f;

  /* as qr_cuda_matmul, each product transposed into cuBLAS's column-major order */
  return cublas_ok (cublasSgemmStridedBatched (cuda->cublas, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                               transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b,
                                               transpose_b ? k : n, stride_b, a, transpose_a ? m : k, stride_a, &zero,
                                               c, n, (long long) m * n, batches),
                    "batched matmul", error);
}

gboolean
qr_cuda_capture_begin (QrCuda *cuda, GError **error)
{
  return cuda_ok (cudaStreamBeginCapture (cuda->stream, cudaStreamCaptureModeThreadLocal), "starting a CUDA graph",
                  error);
}

void *
qr_cuda_capture_end (QrCuda *cuda, GError **error)
{
  cudaGraph_t graph = NULL;
  cudaGraphExec_t exec = NULL;
  cudaError_t status = cudaStreamEndCapture (cuda->stream, &graph);

  if (status != cudaSuccess || graph == NULL)
    {
      if (graph != NULL)
        cudaGraphDestroy (graph);
      cuda_ok (status != cudaSuccess ? status : cudaErrorStreamCaptureInvalidated, "capturing a CUDA graph", error);
      return NULL;
    }
  status = cudaGraphInstantiate (&exec, graph, 0);
  cudaGraphDestroy (graph);
  if (!cuda_ok (status, "instantiating a CUDA graph", error))
    return NULL;
  return exec;
}

gboolean
qr_cuda_graph_launch (QrCuda *cuda, void *graph, GError **error)
{
  return cuda_ok (cudaGraphLaunch ((cudaGraphExec_t) graph, cuda->stream), "launching a CUDA graph", error);
}

void
qr_cuda_graph_free (QrCuda *cuda, void *graph)
{
  if (graph != NULL)
    cudaGraphExecDestroy ((cudaGraphExec_t) graph);
}
