/* qr-cuda.h: the device side of the engine's CUDA backend: a context (device, stream, cuDNN and
 * cuBLAS handles, one scratch area, an algorithm cache), device memory, cuDNN convolutions and our
 * own kernels (kernels.cu). Tensors are float32 NHWC in device memory, as the engine lays them out
 * on the CPU. This layer knows nothing of graphs: inference/engine/backend-cuda.c walks the graph and
 * calls these. Every call is asynchronous on the context's stream unless it says otherwise;
 * errors of launches are caught by the next call that checks (qr_cuda_sync at the latest). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QrCuda QrCuda;

typedef enum
{
  QR_CUDA_FP32,   /* FP32 math, no tensor cores: the reference */
  QR_CUDA_TF32,   /* FP32 storage, TF32 tensor cores in convolutions */
  QR_CUDA_FP16,   /* convolutions in FP16 with FP32 accumulation; activations FP32 between them, except
                     those the backend keeps in FP16 (QrCudaConv's x_half and y_half) */
} QrCudaPrecision;

/* The same activations, in the same order, as the engine's QrActivation. */
typedef enum
{
  QR_CUDA_ACT_NONE,
  QR_CUDA_ACT_RELU,
  QR_CUDA_ACT_RELU6,
  QR_CUDA_ACT_LEAKY_RELU,
  QR_CUDA_ACT_SIGMOID,
  QR_CUDA_ACT_HARD_SWISH,
  QR_CUDA_ACT_SWISH,
  QR_CUDA_ACT_MISH,
  /* element-wise functions of ONNX graphs: qr_cuda_unary only, never a convolution's epilogue */
  QR_CUDA_ACT_TANH,
  QR_CUDA_ACT_EXP,
  QR_CUDA_ACT_LOG,
  QR_CUDA_ACT_SQRT,
  QR_CUDA_ACT_ERF,
  QR_CUDA_ACT_NEG,
  QR_CUDA_ACT_ABS,
  QR_CUDA_ACT_RECIPROCAL,
  QR_CUDA_ACT_HARD_SIGMOID,   /* max (0, min (1, alpha · x + beta)) */
  QR_CUDA_ACT_CLIP,           /* min (max (x, alpha), beta) */
  QR_CUDA_ACT_FLOOR,
  QR_CUDA_ACT_CEIL,
  QR_CUDA_ACT_ROUND,          /* halves to even */
} QrCudaAct;

typedef enum
{
  QR_CUDA_ADD,
  QR_CUDA_SUB,
  QR_CUDA_MUL,
  QR_CUDA_DIV,
  QR_CUDA_MAX,
  QR_CUDA_MIN,
  QR_CUDA_POW,
  QR_CUDA_GREATER,         /* comparisons: 1 or 0 */
  QR_CUDA_LESS,
  QR_CUDA_GREATER_EQUAL,
  QR_CUDA_LESS_EQUAL,
  QR_CUDA_EQUAL,
} QrCudaBinary;

typedef enum
{
  QR_CUDA_REDUCE_MEAN,
  QR_CUDA_REDUCE_SUM,
  QR_CUDA_REDUCE_MAX,   /* NaN wins, as in NumPy and the CPU kernel */
  QR_CUDA_REDUCE_MIN,
} QrCudaReduce;

/* A context on device `device` (0 for the first). Fails with QR_GPU_ERROR_NO_DEVICE when there is
 * none, QR_GPU_ERROR_CUDA when the driver, cuDNN or cuBLAS cannot start. */
QrCuda     *qr_cuda_new            (int               device,
                                    QrCudaPrecision   precision,
                                    GError          **error);
void        qr_cuda_free           (QrCuda           *cuda);
QrCudaPrecision qr_cuda_get_precision (QrCuda        *cuda);
const char *qr_cuda_precision_name (QrCudaPrecision   precision);
/* "NVIDIA H100 80GB HBM3" */
const char *qr_cuda_device_name    (QrCuda           *cuda);

/* Device memory. Out of memory is QR_GPU_ERROR_OUT_OF_MEMORY, naming the size. */
void       *qr_cuda_alloc          (QrCuda           *cuda,
                                    gsize             bytes,
                                    GError          **error);
void        qr_cuda_release        (QrCuda           *cuda,
                                    void             *device_ptr);
/* Page-locked host memory, for the outputs the host reads after each run. */
void       *qr_cuda_alloc_host     (QrCuda           *cuda,
                                    gsize             bytes,
                                    GError          **error);
void        qr_cuda_release_host   (QrCuda           *cuda,
                                    void             *host_ptr);
gboolean    qr_cuda_upload         (QrCuda           *cuda,
                                    void             *dst,
                                    const void       *src,
                                    gsize             bytes,
                                    GError          **error);
gboolean    qr_cuda_download       (QrCuda           *cuda,
                                    void             *dst,
                                    const void       *src,
                                    gsize             bytes,
                                    GError          **error);
gboolean    qr_cuda_copy           (QrCuda           *cuda,
                                    void             *dst,
                                    const void       *src,
                                    gsize             bytes,
                                    GError          **error);
/* dst[o · dst_pitch + j] = src[o · src_pitch + j], j < width, o < rows (floats): concat, split. */
gboolean    qr_cuda_copy_2d        (QrCuda           *cuda,
                                    float            *dst,
                                    gsize             dst_pitch,
                                    const float      *src,
                                    gsize             src_pitch,
                                    gsize             width,
                                    gsize             rows,
                                    GError          **error);
/* Waits for the stream and reports any error a launch left. */
gboolean    qr_cuda_sync           (QrCuda           *cuda,
                                    GError          **error);
/* Reports (without waiting) an error the last launch left. */
gboolean    qr_cuda_check          (QrCuda           *cuda,
                                    const char       *what,
                                    GError          **error);

/* Convolutions. Weights are given on the host in the engine's HWIO layout; upload turns them into
 * the layout and type cuDNN wants (KRSC, FP16 when the context is FP16). */
typedef struct
{
  int         n, h, w, c;      /* input */
  int         oc, kh, kw;
  int         oh, ow;          /* output */
  int         stride[2];       /* h, w */
  int         dilation[2];
  int         pads[4];         /* top, bottom, left, right; unequal pads are padded explicitly */
  QrCudaAct   act;
  float       alpha;
  /* FP16 contexts only: x is already FP16 (no conversion; not with unequal pads), y is written as
   * FP16 (the backend keeps an activation in half between two convolutions) */
  int         x_half, y_half;
} QrCudaConv;

void       *qr_cuda_upload_conv_weights (QrCuda        *cuda,
                                         const float   *hwio,
                                         int            kh,
                                         int            kw,
                                         int            c,
                                         int            oc,
                                         GError       **error);
/* Chooses (and caches per shape) the algorithm, and grows the scratch area the convolution needs.
 * Called once per convolution when a network is planned; may run trial convolutions. */
gboolean    qr_cuda_conv2d_prepare (QrCuda           *cuda,
                                    const QrCudaConv *conv,
                                    GError          **error);
/* y = act (conv (x, w) + bias). bias may be NULL. */
gboolean    qr_cuda_conv2d         (QrCuda           *cuda,
                                    const QrCudaConv *conv,
                                    const float      *x,
                                    const void       *weights,
                                    const float      *bias,
                                    float            *y,
                                    GError          **error);
/* CUDA graphs: what is launched on the context's stream between capture_begin and capture_end
 * becomes one graph, replayed by graph_launch (a forward pass becomes one launch instead of
 * hundreds). A capture that fails leaves the stream usable and says why. */
gboolean    qr_cuda_capture_begin  (QrCuda           *cuda,
                                    GError          **error);
void       *qr_cuda_capture_end    (QrCuda           *cuda,
                                    GError          **error);
gboolean    qr_cuda_graph_launch   (QrCuda           *cuda,
                                    void             *graph,
                                    GError          **error);
void        qr_cuda_graph_free     (QrCuda           *cuda,
                                    void             *graph);

/* Bytes of device memory the context holds for itself (scratch, workspace). */
gsize       qr_cuda_get_scratch_bytes (QrCuda        *cuda);

/* C = op(A) · op(B), row-major, FP32 (TF32 allowed in TF32 and FP16 contexts). */
gboolean    qr_cuda_matmul         (QrCuda           *cuda,
                                    const float      *a,
                                    const float      *b,
                                    float            *c,
                                    int               m,
                                    int               n,
                                    int               k,
                                    gboolean          transpose_a,
                                    gboolean          transpose_b,
                                    GError          **error);

/* Batched products (attention's heads), row-major, one cuBLAS strided-batched GEMM: product i
 * reads A at a + i · stride_a and B at b + i · stride_b (a stride of 0 broadcasts one operand)
 * and writes C at c + i · m · n. lda and ldb are the operands' row lengths as stored. */
gboolean    qr_cuda_matmul_batched (QrCuda           *cuda,
                                    const float      *a,
                                    const float      *b,
                                    float            *c,
                                    int               m,
                                    int               n,
                                    int               k,
                                    gboolean          transpose_a,
                                    gboolean          transpose_b,
                                    int               batches,
                                    long long         stride_a,
                                    long long         stride_b,
                                    GError          **error);

/* Our kernels (kernels.cu); launched on the context's stream. Shapes of rank < 4 are passed
 * right-aligned in 4 dims with 1s in front. */
typedef struct
{
  int      n, h, w, c, m;     /* input NHWC, channel multiplier */
  int      kh, kw, oh, ow;
  int      stride[2], dilation[2], pads[4];
  QrCudaAct act;
  float    alpha;
  int      x_half, y_half;    /* FP16 input / output: only where qr_dw_tile_variant is not 0 */
  int      generic;           /* the generic kernel even where the tiled one would do (to compare) */
} QrCudaDepthwise;

void qr_cuda_depthwise  (QrCuda *cuda, const QrCudaDepthwise *p, const float *x, const float *w, const float *bias,
                         float *y);
/* Which operands of qr_cuda_binary and qr_cuda_unary (x as A) are FP16 activations, not floats. */
#define QR_CUDA_HALF_A 1
#define QR_CUDA_HALF_B 2
#define QR_CUDA_HALF_Y 4

/* out[i] = a[ia] op b[ib] with per-dimension strides (0 along broadcast dimensions). */
void qr_cuda_binary     (QrCuda *cuda, QrCudaBinary op, const float *a, const float *b, float *y,
                         const int out_dims[4], const long long a_strides[4], const long long b_strides[4],
                         int halves);
void qr_cuda_unary      (QrCuda *cuda, QrCudaAct act, float alpha, float beta, const float *x, float *y, gsize n,
                         int halves);
/* Mean, sum, max or min over the dimensions flagged in `reduced` (input padded to rank 4). */
void qr_cuda_reduce     (QrCuda *cuda, QrCudaReduce op, const float *x, float *y, const int dims[4],
                         const gboolean reduced[4]);
/* x as outer × dim × inner: y[o, i] = the index along dim of the largest (smallest) value, as a
 * float; the first one, or the last with select_last; a NaN wins. */
void qr_cuda_arg_reduce (QrCuda *cuda, const float *x, float *y, gsize outer, int dim, gsize inner, gboolean is_max,
                         gboolean select_last);
/* NumPy's take: x as outer × dim × inner, y[o, i, r] = x[o, indices[i], r] for i < n; indices are
 * floats holding whole numbers, negative ones count from the end, one out of range gives zeros. */
void qr_cuda_take       (QrCuda *cuda, const float *x, const float *indices, float *y, gsize outer, int dim, gsize n,
                         gsize inner);
void qr_cuda_resize     (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow,
                         gboolean nearest, gboolean align_corners, gboolean half_pixel);
void qr_cuda_pool       (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow,
                         int kh, int kw, int sh, int sw, int pad_top, int pad_left, gboolean is_max);
/* y[out index] = x[Σ idx_d · in_strides[d]] over out_dims. Transpose and strided slices. */
void qr_cuda_gather     (QrCuda *cuda, const float *x, float *y, const int out_dims[4], const long long offset,
                         const long long in_strides[4]);
/* y = value, then x copied in at offsets (pads before each dimension). */
void qr_cuda_pad        (QrCuda *cuda, const float *x, float *y, const int in_dims[4], const int out_dims[4],
                         const int before[4], float value);
void qr_cuda_softmax    (QrCuda *cuda, const float *x, float *y, gsize rows, int last);
void qr_cuda_bias_act   (QrCuda *cuda, float *y, const float *bias, gsize rows, int channels, QrCudaAct act,
                         float alpha);

/* Training the caption model (inference/text/dmsm-cuda.c): its loss, gradients and Adam on the GPU.
 * Each mirrors a loop of inference/text/dmsm.c. */
/* dense = 0 (rows × cols), then dense[row[k] · cols + col[k]] = val[k] for k < nnz: sparse bags of
 * trigrams as a dense matrix for cuBLAS (no two nonzeros share a place). */
void qr_cuda_scatter_rows (QrCuda *cuda, float *dense, int rows, int cols, const int *row, const int *col,
                           const float *val, gsize nnz);
/* Per row of a (rows × cols): norm[r] = |a_r|, u_r = a_r / norm[r] (0 where norm[r] ≤ 1e-12). */
void qr_cuda_unit_rows    (QrCuda *cuda, const float *a, float *u, float *norm, int rows, int cols);
/* Back through unit rows of tanh outputs, in place on g (dL/du → dL/dz before the tanh):
 * g_r = ((g_r − u_r (u_r · g_r)) / norm[r]) ⊙ (1 − a_r²); 0 where norm[r] ≤ 1e-12. */
void qr_cuda_unit_rows_backward (QrCuda *cuda, const float *u, const float *a, const float *norm, float *g, int rows,
                                 int cols);
/* g ⊙= 1 − a² (back through tanh whose outputs are a). */
void qr_cuda_tanh_backward (QrCuda *cuda, float *g, const float *a, gsize n);
/* The DMSM loss over C (n × n cosines, image rows, caption columns) with S = γ C: per j,
 * loss[j] = (lse (S row j) − S_jj + lse (S column j) − S_jj) / 2n, and dC = dL/dC. lse: 2n floats of
 * scratch. */
void qr_cuda_pair_softmax_loss (QrCuda *cuda, const float *c, float gamma, int n, float *dc, float *loss,
                                float *lse);
/* Adam on n values: m = β1 m + (1 − β1) g, v = β2 v + (1 − β2) g², p −= lr (m / c1) / (√(v / c2) + ε),
 * c1 and c2 the bias corrections 1 − β^step. */
void qr_cuda_adam         (QrCuda *cuda, float *p, const float *g, float *m, float *v, gsize n, float lr, double beta1,
                           double beta2, double eps, double c1, double c2);

/* Decoding on the GPU (issue 19): the peaks of a keypoint heatmap, so that only they come down.
 * For each of n items of map [h, w, c]: a value at or above threshold with no greater value of its
 * channel among the 8 cells around is a peak; count[b] (zeroed here) counts item b's, and the
 * first cap of them (in no set order) are written at entries + (b · cap + slot) · (2 + k): the
 * index (y · w + x) · c + channel as an int's bits, the value, then rows' k values at the cell
 * (rows [n, h, w, k]; NULL when k is 0). h · w · c must fit an int. */
void qr_cuda_peaks (QrCuda *cuda, const float *map, const float *rows, int n, int h, int w, int c, int k,
                    float threshold, int cap, int *count, float *entries);

/* Decoding on the GPU: rows kept by a threshold, so that only they come down. Of the `rows` rows
 * of width floats at x (a whole batch's), a row whose largest value among channels first … first +
 * count − 1 is at or above threshold takes a slot from *total (zeroed here), and the first cap (in
 * no set order) are written at entries + slot · (1 + width + with_width): the row's number as an
 * int's bits, its values, then the same row of with (with_width floats; with NULL when 0). rows
 * must fit an int. */
void qr_cuda_select_rows (QrCuda *cuda, const float *x, const float *with, gsize rows, int width, int first, int count,
                          int with_width, float threshold, int cap, int *total, float *entries);

/* Preprocessing: how a fitted 8-bit RGB image becomes one item of a network's input. */
typedef struct
{
  int   width, height;    /* the input item */
  int   nchw;             /* planar (NanoDet) rather than interleaved */
  int   perm[3];          /* input channel c reads the image's channel perm[c] (BGR: 2, 1, 0) */
  float sub[3], div[3];   /* value = (pixel − sub) / div */
  float fill;             /* outside the image */
} QrCudaInputFormat;

/* Writes one input item at dst from the w×h image at fitted (device memory, RGB bytes) placed
 * with its top-left corner at (x0, y0). */
void qr_cuda_place_input (QrCuda *cuda, const guint8 *fitted, int w, int h, int x0, int y0,
                          const QrCudaInputFormat *format, float *dst);

/* One axis of the engine's resize (inference/image/image-private.h's QrTaps), in device memory. */
typedef struct
{
  const int   *first;
  const int   *count;
  const float *weights;
  int          max_taps;
} QrCudaTaps;

/* Resizes the sw×sh RGB bytes at src to dw×dh at dst as qr_image_resize does, the same sums in
 * the same order without fused multiply-adds, so the bytes are the CPU's: rows first into tmp
 * (sh × dw × 3 floats), then columns, rounded and clamped. */
void qr_cuda_resize_u8 (QrCuda *cuda, const guint8 *src, int sw, int sh, int dw, int dh, const QrCudaTaps *x,
                        const QrCudaTaps *y, float *tmp, guint8 *dst);

G_END_DECLS
