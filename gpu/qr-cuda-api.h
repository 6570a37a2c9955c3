/* qr-cuda-api.h: the CUDA side as a table of functions. The CUDA code (gpu/) is built as a module,
 * libquorum-cuda.so, that the engine opens only when a model is asked to run on CUDA: a process
 * that never does so never loads cuDNN or cuBLAS (a third of a second and 200 MB each start),
 * and a build with CUDA still starts on a machine without the CUDA libraries. The module exports
 * one function, qr_cuda_module_api, returning this table; inference/engine/cuda-loader.c finds and opens
 * it. Each entry is the qr-cuda.h / qr-gpu.h function of the same name. */
#pragma once

#include "qr-cuda.h"

G_BEGIN_DECLS

#define QR_CUDA_API_VERSION 8

typedef struct
{
  int          version;   /* QR_CUDA_API_VERSION */
  int        (*device_count)        (void);
  char      *(*describe)            (GError **error);
  QrCuda    *(*new)                 (int device, QrCudaPrecision precision, GError **error);
  void       (*free)                (QrCuda *cuda);
  QrCudaPrecision (*get_precision)  (QrCuda *cuda);
  const char *(*precision_name)     (QrCudaPrecision precision);
  const char *(*device_name)        (QrCuda *cuda);
  void      *(*alloc)               (QrCuda *cuda, gsize bytes, GError **error);
  void       (*release)             (QrCuda *cuda, void *device_ptr);
  gboolean   (*upload)              (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error);
  gboolean   (*download)            (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error);
  gboolean   (*copy)                (QrCuda *cuda, void *dst, const void *src, gsize bytes, GError **error);
  gboolean   (*copy_2d)             (QrCuda *cuda, float *dst, gsize dst_pitch, const float *src, gsize src_pitch,
                                     gsize width, gsize rows, GError **error);
  gboolean   (*sync)                (QrCuda *cuda, GError **error);
  gboolean   (*check)               (QrCuda *cuda, const char *what, GError **error);
  void      *(*upload_conv_weights) (QrCuda *cuda, const float *hwio, int kh, int kw, int c, int oc, GError **error);
  gboolean   (*conv2d_prepare)      (QrCuda *cuda, const QrCudaConv *conv, GError **error);
  gboolean   (*conv2d)              (QrCuda *cuda, const QrCudaConv *conv, const float *x, const void *weights,
                                     const float *bias, float *y, GError **error);
  gsize      (*get_scratch_bytes)   (QrCuda *cuda);
  gboolean   (*matmul)              (QrCuda *cuda, const float *a, const float *b, float *c, int m, int n, int k,
                                     gboolean transpose_a, gboolean transpose_b, GError **error);
  void       (*depthwise)           (QrCuda *cuda, const QrCudaDepthwise *p, const float *x, const float *w,
                                     const float *bias, float *y);
  void       (*binary)              (QrCuda *cuda, QrCudaBinary op, const float *a, const float *b, float *y,
                                     const int out_dims[4], const long long a_strides[4], const long long b_strides[4],
                                     int halves);
  void       (*unary)               (QrCuda *cuda, QrCudaAct act, float alpha, float beta, const float *x, float *y,
                                     gsize n, int halves);
  void       (*reduce)              (QrCuda *cuda, QrCudaReduce op, const float *x, float *y, const int dims[4],
                                     const gboolean reduced[4]);
  void       (*resize)              (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow,
                                     gboolean nearest, gboolean align_corners, gboolean half_pixel);
  void       (*pool)                (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow,
                                     int kh, int kw, int sh, int sw, int pad_top, int pad_left, gboolean is_max);
  void       (*gather)              (QrCuda *cuda, const float *x, float *y, const int out_dims[4], const long long offset,
                                     const long long in_strides[4]);
  void       (*pad)                 (QrCuda *cuda, const float *x, float *y, const int in_dims[4], const int out_dims[4],
                                     const int before[4], float value);
  void       (*softmax)             (QrCuda *cuda, const float *x, float *y, gsize rows, int last);
  gboolean   (*capture_begin)       (QrCuda *cuda, GError **error);
  void      *(*capture_end)         (QrCuda *cuda, GError **error);
  gboolean   (*graph_launch)        (QrCuda *cuda, void *graph, GError **error);
  void       (*graph_free)          (QrCuda *cuda, void *graph);
  void       (*place_input)         (QrCuda *cuda, const guint8 *fitted, int w, int h, int x0, int y0,
                                     const QrCudaInputFormat *format, float *dst);
  void      *(*alloc_host)          (QrCuda *cuda, gsize bytes, GError **error);
  void       (*release_host)        (QrCuda *cuda, void *host_ptr);
  void       (*resize_u8)           (QrCuda *cuda, const guint8 *src, int sw, int sh, int dw, int dh,
                                     const QrCudaTaps *x, const QrCudaTaps *y, float *tmp, guint8 *dst);
  gboolean   (*matmul_batched)      (QrCuda *cuda, const float *a, const float *b, float *c, int m, int n, int k,
                                     gboolean transpose_a, gboolean transpose_b, int batches, long long stride_a,
                                     long long stride_b, GError **error);
  void       (*arg_reduce)          (QrCuda *cuda, const float *x, float *y, gsize outer, int dim, gsize inner,
                                     gboolean is_max, gboolean select_last);
  void       (*take)                (QrCuda *cuda, const float *x, const float *indices, float *y, gsize outer, int dim,
                                     gsize n, gsize inner);
  /* version 6: training the caption model */
  void       (*scatter_rows)        (QrCuda *cuda, float *dense, int rows, int cols, const int *row, const int *col,
                                     const float *val, gsize nnz);
  void       (*unit_rows)           (QrCuda *cuda, const float *a, float *u, float *norm, int rows, int cols);
  void       (*unit_rows_backward)  (QrCuda *cuda, const float *u, const float *a, const float *norm, float *g,
                                     int rows, int cols);
  void       (*tanh_backward)       (QrCuda *cuda, float *g, const float *a, gsize n);
  void       (*pair_softmax_loss)   (QrCuda *cuda, const float *c, float gamma, int n, float *dc, float *loss,
                                     float *lse);
  void       (*adam)                (QrCuda *cuda, float *p, const float *g, float *m, float *v, gsize n, float lr,
                                     double beta1, double beta2, double eps, double c1, double c2);
  void       (*bias_act)            (QrCuda *cuda, float *y, const float *bias, gsize rows, int channels,
                                     QrCudaAct act, float alpha);
  /* version 7: decoding on the GPU */
  void       (*peaks)               (QrCuda *cuda, const float *map, const float *rows, int n, int h, int w, int c,
                                     int k, float threshold, int cap, int *count, float *entries);
  void       (*select_rows)         (QrCuda *cuda, const float *x, const float *with, gsize rows, int width,
                                     int first, int count, int with_width, float threshold, int cap, int *total,
                                     float *entries);
} QrCudaApi;

/* The module's one export. */
const QrCudaApi *qr_cuda_module_api (void);

/* In the engine (inference/engine/cuda-loader.c): the module's table, opened on first call; NULL with an
 * error saying why when it cannot be had. */
const QrCudaApi *qr_cuda_api        (GError **error);

G_END_DECLS
