/* cuda-private.h: the context's insides, shared by context.c and kernels.cu. */
#pragma once

#include "qr-cuda.h"
#include "qr-gpu.h"

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cudnn.h>

struct _QrCuda
{
  int             device;
  char           *name;
  QrCudaPrecision precision;
  cudaStream_t    stream;
  cudnnHandle_t   cudnn;
  cublasHandle_t  cublas;
  void           *scratch;        /* FP16 copies, explicit padding, cuDNN workspace */
  gsize           scratch_bytes;
  gsize           scratch_wanted;
  GHashTable     *algos;          /* shape key → cudnnConvolutionFwdAlgo_t + 1, workspace in the high bits */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of one FP16 value; FP16 buffers are void * on the C side (cuda_fp16.h's __half is C++). */
#define QR_HALF_BYTES 2

/* Internal launchers for the convolution's FP16 path and weight layout. */
void qr_cuda_k_to_half      (cudaStream_t stream, const float *x, void *y_half, gsize n);
void qr_cuda_k_half_bias_act (cudaStream_t stream, const void *x_half, float *y, const float *bias, gsize rows,
                              int channels, int act, float alpha);
/* act (x + bias) in place on FP16 values: the epilogue of a convolution whose output stays in half */
void qr_cuda_k_half_bias_act_half (cudaStream_t stream, void *x_half, const float *bias, gsize rows, int channels,
                                   int act, float alpha);
void qr_cuda_k_weights      (cudaStream_t stream, const float *hwio, float *krsc, void *krsc_half, int kh, int kw,
                              int c, int oc);

#ifdef __cplusplus
}
#endif
