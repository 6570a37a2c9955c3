/* ops-cpu.c: the CPU kernels, and which one runs a node. Convolutions are GEMMs (OpenBLAS SGEMM;
 * im2col only when the kernel is not 1×1/stride 1), except those with few output channels, which
 * run direct; depthwise convolutions sum blocks of channels in registers; bias and the activation
 * are applied to each block of output while it is in cache, sigmoid and swish with a vectorised
 * exponential. The kernels that vectorise are compiled for AVX-512, AVX2 and the baseline
 * (QR_CPU_CLONES). Every other kernel (ops-cpu-tensor.c) splits its outer loop across cores with
 * OpenMP. */
#define G_LOG_DOMAIN "quorum-engine"

#include "ops-cpu-private.h"

#include <math.h>
#include <string.h>
#include <cblas.h>
#include <omp.h>

/* Per calling thread: two models with different thread counts can run side by side. */
static _Thread_local int cpu_threads = 0;

/* How many floats the CPU's vectors hold: 16 with AVX-512, 8 with AVX2, else 4. It sets the
 * blocks of channels the direct and depthwise convolutions keep their sums in: a block wider than
 * a register is split across several and GCC spilled them (the AVX2 build ran NanoDet 3-4× slower
 * than with AVX2-sized blocks, CenterNet's depthwise layers 3×). QR_CPU_LANES (tools/cpu-variants.sh)
 * fixes it, so that a test build of the AVX2 or baseline kernels runs the blocks those CPUs would. */
static int
vector_lanes (void)
{
#if defined(QR_CPU_LANES)
  return QR_CPU_LANES;
#elif defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports ("avx512f") ? 16 : __builtin_cpu_supports ("avx2") ? 8 : 4;
#else
  return 4;
#endif
}

/* One pool of threads for everything: OpenMP. OpenBLAS runs single-threaded inside it, on a
 * block of rows per thread; letting both pools run makes each spin while the other works (seen:
 * a third of the time in sched_yield and GOMP's spin-wait). */
void
qr_cpu_set_threads (int n_threads)
{
  cpu_threads = n_threads > 0 ? n_threads : (int) g_get_num_processors ();
  openblas_set_num_threads (1);
  omp_set_num_threads (cpu_threads);
}

/* C[M×N] = A[M×K] · B[K×N], row-major, rows split across the threads. */
static void
gemm (int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
  int threads = MAX (cpu_threads, 1);
  int chunk = MAX ((M + threads - 1) / threads, 16);
  int blocks = (M + chunk - 1) / chunk;

  if (blocks <= 1)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
      return;
    }
#pragma omp parallel for schedule(static)
  for (int b = 0; b < blocks; b++)
    {
      int first = b * chunk, rows = MIN (chunk, M - first);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, N, K, 1.0f, A + (gsize) first * (gsize) lda, lda,
                   B, ldb, 0.0f, C + (gsize) first * (gsize) ldc, ldc);
    }
}

/* e^t for the vectoriser (expf is a call, which no loop vectorises), t within [−87, 88.3] (the
 * callers clamp), so that 2^k stays a normal float: e^t = 2^k · e^r, k the integer nearest
 * t·log2 e, r = t − k·ln 2 (ln 2 in two parts, so r keeps its bits), e^r from a polynomial (the
 * classic single-precision coefficients), 2^k built in a float's exponent bits. Inlined into the
 * loops of each clone that call it. */
static inline __attribute__ ((always_inline)) float
exp_for_vectors (float t)
{
  float k = rintf (t * 1.44269504088896341f);   /* SSE4.1's roundps: a conversion with a branch would not vectorise */
  float r = t - k * 0.693359375f, p;
  union { gint32 i; float f; } two_k;

  r = r - k * -2.12194440e-4f;
  p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  two_k.i = ((gint32) k + 127) << 23;
  return p * two_k.f;
}

/* sigmoid (x) = 1 / (1 + e^−x) and swish (x) = x · sigmoid (x). Beyond −x = 88.3 the exponential
 * is taken as infinite (sigmoid 0 where the true value is below 5·10⁻³⁹). Within 1e-6 relative
 * of double precision elsewhere (test-engine). */
static inline __attribute__ ((always_inline)) void
sigmoid_swish_row (float *row, gsize n, gboolean swish)
{
  for (gsize i = 0; i < n; i++)
    {
      float x = row[i], t = -x, e;
      t = t > 88.3f ? 88.3f : t;
      t = t < -87.0f ? -87.0f : t;
      e = exp_for_vectors (t);   /* computed whatever x, so that the choice below is a select, not a branch */
      e = -x > 88.3f ? INFINITY : e;
      row[i] = swish ? x / (e + 1.0f) : 1.0f / (e + 1.0f);
    }
}

/* mish (x) = x · tanh (ln (1 + e^x)) = x · n / (n + 2) with n = e^x · (e^x + 2); x is clamped to
 * [−87, 20] inside the exponential (from 20 up the ratio is 1 in floats). YOLOv4's activation. */
static inline __attribute__ ((always_inline)) void
mish_row (float *row, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      float x = row[i], t = x, e, m;
      t = t > 20.0f ? 20.0f : t;
      t = t < -87.0f ? -87.0f : t;
      e = exp_for_vectors (t);
      m = e * (e + 2.0f);
      row[i] = x * (m / (m + 2.0f));
    }
}

QR_CPU_CLONES void
qr_cpu_activate_row (float *row, gsize n, QrActivation act, float alpha, float beta)
{
  switch (act)
    {
    case QR_ACT_NONE: break;
    case QR_ACT_SIGMOID:
      sigmoid_swish_row (row, n, FALSE);   /* constants, so that each loop has no branch */
      break;
    case QR_ACT_SWISH:
      sigmoid_swish_row (row, n, TRUE);
      break;
    case QR_ACT_MISH:
      mish_row (row, n);
      break;
    case QR_ACT_RELU:
      for (gsize i = 0; i < n; i++)
        row[i] = row[i] > 0 ? row[i] : 0;
      break;
    case QR_ACT_RELU6:
      for (gsize i = 0; i < n; i++)
        row[i] = row[i] < 0 ? 0 : row[i] > 6 ? 6 : row[i];
      break;
    case QR_ACT_LEAKY_RELU:
      for (gsize i = 0; i < n; i++)
        row[i] = row[i] > 0 ? row[i] : alpha * row[i];
      break;
    case QR_ACT_HARD_SWISH:
      for (gsize i = 0; i < n; i++)
        {
          float x = row[i], t = x + 3.0f;
          t = t < 0 ? 0 : t > 6 ? 6 : t;
          row[i] = alpha * x * t;
        }
      break;
    default:
      for (gsize i = 0; i < n; i++)
        row[i] = activate (row[i], act, alpha, beta);
    }
}

/* Softmax over each of `rows` rows of n values, x to y (which may be x), through the vectorised
 * exponential (YOLOv8's DFL, 8400 × 4 rows of 16: 2.6 -> 0.3 ms a run; attention's rows). A
 * value more than 87 below its row's largest counts as 0 (its true share is below 2·10⁻³⁸). */
QR_CPU_CLONES void
qr_cpu_softmax_rows (const float *x, float *y, gsize rows, int n)
{
  for (gsize r = 0; r < rows; r++)
    {
      const float *a = x + r * (gsize) n;
      float *b = y + r * (gsize) n, max = -INFINITY, sum = 0;
      for (int i = 0; i < n; i++)
        max = a[i] > max ? a[i] : max;
      for (int i = 0; i < n; i++)
        {
          float t = a[i] - max, e;
          e = exp_for_vectors (t < -87.0f ? -87.0f : t);
          b[i] = t < -87.0f ? 0.0f : e;
        }
      for (int i = 0; i < n; i++)
        sum += b[i];
      for (int i = 0; i < n; i++)
        b[i] /= sum;
    }
}

/* rows of channels: out = act (out + bias), a block of rows at a time */
QR_CPU_CLONES static void
bias_activate_rows (float *out, gsize rows, int channels, const float *bias, QrActivation act, float alpha,
                    float beta)
{
  if (bias != NULL)
    for (gsize r = 0; r < rows; r++)
      {
        float *row = out + r * (gsize) channels;
        for (int c = 0; c < channels; c++)
          row[c] += bias[c];
      }
  qr_cpu_activate_row (out, rows * (gsize) channels, act, alpha, beta);
}

static void
bias_activate (float *out, gsize rows, int channels, const float *bias, QrActivation act, float alpha, float beta)
{
  gsize chunk = MAX ((gsize) 1, 4096 / (gsize) MAX (channels, 1));   /* about 16 KB a block */
  gssize blocks = (gssize) ((rows + chunk - 1) / chunk);

  if (bias == NULL && act == QR_ACT_NONE)
    return;
#pragma omp parallel for schedule(static)
  for (gssize b = 0; b < blocks; b++)
    {
      gsize first = (gsize) b * chunk;
      bias_activate_rows (out + first * (gsize) channels, MIN (chunk, rows - first), channels, bias, act, alpha, beta);
    }
}

/* Where a convolution or a depthwise one reads: the image's and the kernel's sizes, stride, top
 * and left padding, dilation; the output's width and channels. */
typedef struct
{
  int H, W, C, KH, KW, sy, sx, top, left, dy, dx, OW, OC;
} ConvGeometry;

static ConvGeometry
geometry_of (const QrNode *node, const QrShape *in, const QrShape *w, const QrShape *out)
{
  ConvGeometry g = { in->dims[1], in->dims[2], in->dims[3], w->dims[0], w->dims[1], node->stride[0], node->stride[1],
                     node->pads[0], node->pads[2], node->dilation[0], node->dilation[1], out->dims[2], out->dims[3] };
  return g;
}

#define DIRECT_MAX_TAPS 64
#define DIRECT_PIXELS 8          /* output pixels summed together */
#define DIRECT_MAX_C 128         /* the zeros an outside tap reads */

/* Whether a convolution runs direct rather than as (im2col and) a GEMM: up to 128 input and
 * output channels. There OpenBLAS's SGEMM, with N this narrow, spent more time than the products
 * need (YOLOv8's 16- and 32-channel 3×3 convolutions at 13–44 GFLOP/s on 2 cores; on one core,
 * N of 64–128 at 69–90 GFLOP/s with the im2col copy, 82–100 for a 1×1, against the direct loop's
 * 95–104 and 98–125). With more channels the weights a block of 16 outputs reads (taps × C rows,
 * OC apart) no longer stay in the cache, and OpenBLAS, which packs them, was faster (3×3, C = OC
 * = 256: 101 against 61). */
static gboolean
direct_conv (int C, int KH, int KW, int OC)
{
  return OC <= 128 && OC % 8 == 0 && KH * KW <= DIRECT_MAX_TAPS && C <= DIRECT_MAX_C;
}

gsize
qr_cpu_scratch_size (QrGraph *graph, const QrNode *node)
{
  if (node->op == QR_OP_CONV2D)
    {
      QrShape *w = shape (graph, node->inputs[1]);
      QrShape *out = shape (graph, node->outputs[0]);
      gboolean direct = direct_conv (w->dims[2], w->dims[0], w->dims[1], w->dims[3])
                        || (w->dims[0] == 1 && w->dims[1] == 1 && node->stride[0] == 1 && node->stride[1] == 1
                        && node->pads[0] == 0 && node->pads[1] == 0 && node->pads[2] == 0 && node->pads[3] == 0);
      if (!direct)
        return (gsize) out->dims[1] * (gsize) out->dims[2] * (gsize) w->dims[0] * (gsize) w->dims[1]
               * (gsize) w->dims[2];
    }
  return 0;
}

/* One output row of a convolution computed directly, eight output pixels at a time (eight
 * independent sums, so the adds do not wait on each other), the output channels in blocks of 16,
 * 8 and 4, none wider than the CPU's vectors (`lanes`: a block one register), in registers: each
 * weight vector is loaded once for the eight pixels, each input value broadcast straight from
 * memory into its multiply-add. (Four pixels with two vectors each ran slower: GCC read the weights
 * again in every multiply-add. Four pixels of 16 channels, the kernel before, managed 95-104
 * GFLOP/s on one Zen 5 core; eight, 130-150.) The sums run over spans of input that are
 * contiguous in memory and whose weights are too (HWIO): where the eight pixels' taps are all
 * inside the image and the kernel is not dilated across, one span a kernel row (KW·C values: a
 * 3-channel stem's 9 rather than 3 taps of 3); elsewhere one a tap, taps outside the image reading
 * zeros. Kernel rows outside the image are skipped. Bias added, no activation. */
QR_CPU_CLONES static void
conv_row_direct (const float *xn, const float *weights, const float *bias, const ConvGeometry *g, int oy,
                 const float *zeros, int lanes, float *y)
{
  const int C = g->C, OC = g->OC;

  for (int ox0 = 0; ox0 < g->OW; ox0 += DIRECT_PIXELS)
    {
      const float *src[DIRECT_PIXELS][DIRECT_MAX_TAPS];
      gsize woff[DIRECT_MAX_TAPS];
      int pixels = MIN (DIRECT_PIXELS, g->OW - ox0), ob = 0, spans = 0, len;
      int first = ox0 * g->sx - g->left, last = (ox0 + pixels - 1) * g->sx - g->left + (g->KW - 1) * g->dx;
      gboolean rows = (g->dx == 1 || g->KW == 1) && first >= 0 && last < g->W;

      len = rows ? g->KW * C : C;
      for (int ky = 0; ky < g->KH; ky++)
        {
          int iy = oy * g->sy - g->top + ky * g->dy;
          if (iy < 0 || iy >= g->H)
            continue;
          for (int kx = 0; kx < (rows ? 1 : g->KW); kx++)
            {
              for (int p = 0; p < DIRECT_PIXELS; p++)
                {
                  /* a missing pixel of a part group reads the first one's values */
                  int ix = (ox0 + (p < pixels ? p : 0)) * g->sx - g->left + kx * g->dx;
                  src[p][spans] = ix < 0 || ix >= g->W ? zeros
                                                       : xn + ((gsize) iy * (gsize) g->W + (gsize) ix) * (gsize) C;
                }
              woff[spans++] = (gsize) (ky * g->KW + kx) * (gsize) C * (gsize) OC;
            }
        }
#define DIRECT_STORE(P, A)                                                                                    \
          if (pixels > P)                                                                                     \
            memcpy (y + (gsize) (ox0 + P) * (gsize) OC + (gsize) ob, &A, sizeof A);
#define DIRECT_BLOCK(WIDTH)                                                                                   \
      for (; ob + WIDTH <= OC; ob += WIDTH)                                                                   \
        {                                                                                                     \
          typedef float Vec __attribute__ ((vector_size (WIDTH * sizeof (float))));                           \
          Vec a0 = { 0 }, a1, a2, a3, a4, a5, a6, a7, w;                                                      \
          if (bias != NULL)                                                                                   \
            memcpy (&a0, bias + ob, sizeof a0);                                                               \
          a1 = a2 = a3 = a4 = a5 = a6 = a7 = a0;                                                              \
          for (int t = 0; t < spans; t++)                                                                     \
            {                                                                                                 \
              const float *s0 = src[0][t], *s1 = src[1][t], *s2 = src[2][t], *s3 = src[3][t];                 \
              const float *s4 = src[4][t], *s5 = src[5][t], *s6 = src[6][t], *s7 = src[7][t];                 \
              const float *wt = weights + woff[t] + (gsize) ob;                                               \
              for (int ic = 0; ic < len; ic++)                                                                \
                {                                                                                             \
                  memcpy (&w, wt + (gsize) ic * (gsize) OC, sizeof w);                                        \
                  a0 += s0[ic] * w;                                                                           \
                  a1 += s1[ic] * w;                                                                           \
                  a2 += s2[ic] * w;                                                                           \
                  a3 += s3[ic] * w;                                                                           \
                  a4 += s4[ic] * w;                                                                           \
                  a5 += s5[ic] * w;                                                                           \
                  a6 += s6[ic] * w;                                                                           \
                  a7 += s7[ic] * w;                                                                           \
                }                                                                                             \
            }                                                                                                 \
          memcpy (y + (gsize) ox0 * (gsize) OC + (gsize) ob, &a0, sizeof a0);                                 \
          DIRECT_STORE (1, a1) DIRECT_STORE (2, a2) DIRECT_STORE (3, a3)                                      \
          DIRECT_STORE (4, a4) DIRECT_STORE (5, a5) DIRECT_STORE (6, a6) DIRECT_STORE (7, a7)                 \
        }
      if (lanes >= 16)
        DIRECT_BLOCK (16)
      if (lanes >= 8)
        DIRECT_BLOCK (8)
      DIRECT_BLOCK (4)
#undef DIRECT_BLOCK
#undef DIRECT_STORE
    }
}

static void
conv2d (QrGraph *graph, QrNode *node, float *scratch)
{
  QrShape *in = shape (graph, node->inputs[0]), *w = shape (graph, node->inputs[1]);
  QrShape *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]), *weights = data (graph, node->inputs[1]);
  const float *bias = node->n_inputs > 2 ? data (graph, node->inputs[2]) : NULL;
  float *y = data (graph, node->outputs[0]);
  int N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
  int KH = w->dims[0], KW = w->dims[1], OC = w->dims[3];
  int OH = out->dims[1], OW = out->dims[2];
  int K = KH * KW * C;
  gsize rows = (gsize) OH * (gsize) OW;

  if (direct_conv (C, KH, KW, OC))
    {
      static const float zeros[DIRECT_MAX_C] = { 0 };
      ConvGeometry g = geometry_of (node, in, w, out);
      int lanes = vector_lanes ();
#pragma omp parallel for collapse(2) schedule(static)
      for (int n = 0; n < N; n++)
        for (int oy = 0; oy < OH; oy++)
          {
            float *row = y + ((gsize) n * (gsize) OH + (gsize) oy) * (gsize) OW * (gsize) OC;
            conv_row_direct (x + (gsize) n * (gsize) H * (gsize) W * (gsize) C, weights, bias, &g, oy, zeros, lanes,
                             row);
            qr_cpu_activate_row (row, (gsize) OW * (gsize) OC, node->act, node->alpha, node->beta);
          }
      return;
    }
  if (qr_cpu_scratch_size (graph, node) == 0)
    {
      /* 1×1, stride 1: the input already is the [N·H·W, C] matrix. */
      gemm (N * H * W, OC, C, x, C, weights, OC, y, OC);
    }
  else
    for (int n = 0; n < N; n++)
      {
        const float *xn = x + (gsize) n * (gsize) H * (gsize) W * (gsize) C;
        /* im2col: one row per output pixel, columns in HWIO order (ky, kx, c). */
#pragma omp parallel for schedule(static)
        for (int oy = 0; oy < OH; oy++)
          for (int ox = 0; ox < OW; ox++)
            {
              float *row = scratch + ((gsize) oy * (gsize) OW + (gsize) ox) * (gsize) K;
              for (int ky = 0; ky < KH; ky++)
                {
                  int iy = oy * node->stride[0] - node->pads[0] + ky * node->dilation[0];
                  for (int kx = 0; kx < KW; kx++)
                    {
                      int ix = ox * node->stride[1] - node->pads[2] + kx * node->dilation[1];
                      float *dst = row + ((gsize) ky * (gsize) KW + (gsize) kx) * (gsize) C;
                      if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                        memset (dst, 0, sizeof (float) * (gsize) C);
                      else
                        memcpy (dst, xn + ((gsize) iy * (gsize) W + (gsize) ix) * (gsize) C, sizeof (float) * (gsize) C);
                    }
                }
            }
        gemm ((int) rows, OC, K, scratch, K, weights, OC, y + (gsize) n * rows * (gsize) OC, OC);
      }
  bias_activate (y, (gsize) N * rows, OC, bias, node->act, node->alpha, node->beta);
}

#define DEPTHWISE_MAX_TAPS 64

/* One output row of a depthwise convolution with one output per channel, in blocks of 16, 8 and 4
 * channels in registers, none wider than the CPU's vectors (`lanes`), bias first, taps in kernel
 * order, as the plain loop sums. Where the row's kernel rows are all inside the image, four output
 * pixels whose taps are all inside go together: their taps lie at the same offsets from each
 * pixel's corner (found once for the row) and each weight vector is loaded once for the four.
 * Other pixels find their taps inside the image one by one. No activation. */
QR_CPU_CLONES static void
depthwise_row (const float *xn, const float *weights, const float *bias, const ConvGeometry *g, int oy, int lanes,
               float *y)
{
  const int C = g->C, taps = g->KH * g->KW, top = oy * g->sy - g->top;
  gboolean rows_inside = top >= 0 && top + (g->KH - 1) * g->dy < g->H;
  gsize offset[DEPTHWISE_MAX_TAPS];
  int ox = 0;

  for (int ky = 0; ky < g->KH; ky++)
    for (int kx = 0; kx < g->KW; kx++)
      offset[ky * g->KW + kx] = ((gsize) (ky * g->dy) * (gsize) g->W + (gsize) (kx * g->dx)) * (gsize) C;
  while (ox < g->OW)
    {
      int left = ox * g->sx - g->left;
      if (rows_inside && ox + 4 <= g->OW && left >= 0 && (ox + 3) * g->sx - g->left + (g->KW - 1) * g->dx < g->W)
        {
          const float *corner[4];
          int c = 0;
          for (int p = 0; p < 4; p++)
            corner[p] = xn + ((gsize) top * (gsize) g->W + (gsize) ((ox + p) * g->sx - g->left)) * (gsize) C;
#define DEPTHWISE_FOUR(WIDTH)                                                                                 \
          for (; c + WIDTH <= C; c += WIDTH)                                                                  \
            {                                                                                                 \
              typedef float Vec __attribute__ ((vector_size (WIDTH * sizeof (float))));                       \
              Vec a0 = { 0 }, a1, a2, a3, v, w;                                                               \
              if (bias != NULL)                                                                               \
                memcpy (&a0, bias + c, sizeof a0);                                                            \
              a1 = a2 = a3 = a0;                                                                              \
              for (int t = 0; t < taps; t++)                                                                  \
                {                                                                                             \
                  memcpy (&w, weights + (gsize) t * (gsize) C + (gsize) c, sizeof w);                         \
                  memcpy (&v, corner[0] + offset[t] + c, sizeof v);                                           \
                  a0 += v * w;                                                                                \
                  memcpy (&v, corner[1] + offset[t] + c, sizeof v);                                           \
                  a1 += v * w;                                                                                \
                  memcpy (&v, corner[2] + offset[t] + c, sizeof v);                                           \
                  a2 += v * w;                                                                                \
                  memcpy (&v, corner[3] + offset[t] + c, sizeof v);                                           \
                  a3 += v * w;                                                                                \
                }                                                                                             \
              memcpy (y + (gsize) ox * (gsize) C + c, &a0, sizeof a0);                                        \
              memcpy (y + (gsize) (ox + 1) * (gsize) C + c, &a1, sizeof a1);                                  \
              memcpy (y + (gsize) (ox + 2) * (gsize) C + c, &a2, sizeof a2);                                  \
              memcpy (y + (gsize) (ox + 3) * (gsize) C + c, &a3, sizeof a3);                                  \
            }
          if (lanes >= 16)
            DEPTHWISE_FOUR (16)
          if (lanes >= 8)
            DEPTHWISE_FOUR (8)
          DEPTHWISE_FOUR (4)
#undef DEPTHWISE_FOUR
          for (; c < C; c++)
            for (int p = 0; p < 4; p++)
              {
                float acc = bias != NULL ? bias[c] : 0.0f;
                for (int t = 0; t < taps; t++)
                  acc += corner[p][offset[t] + (gsize) c] * weights[(gsize) t * (gsize) C + (gsize) c];
                y[(gsize) (ox + p) * (gsize) C + (gsize) c] = acc;
              }
          ox += 4;
          continue;
        }
      {
        const float *src[DEPTHWISE_MAX_TAPS], *wt[DEPTHWISE_MAX_TAPS];
        float *out = y + (gsize) ox * (gsize) C;
        int n = 0, c = 0;

        for (int ky = 0; ky < g->KH; ky++)
          {
            int iy = top + ky * g->dy;
            if (iy < 0 || iy >= g->H)
              continue;
            for (int kx = 0; kx < g->KW; kx++)
              {
                int ix = left + kx * g->dx;
                if (ix < 0 || ix >= g->W)
                  continue;
                src[n] = xn + ((gsize) iy * (gsize) g->W + (gsize) ix) * (gsize) C;
                wt[n] = weights + (gsize) (ky * g->KW + kx) * (gsize) C;
                n++;
              }
          }
#define DEPTHWISE_BLOCK(WIDTH)                                                                                \
        for (; c + WIDTH <= C; c += WIDTH)                                                                    \
          {                                                                                                   \
            typedef float Vec __attribute__ ((vector_size (WIDTH * sizeof (float))));                         \
            Vec acc = { 0 }, a, b;                                                                            \
            if (bias != NULL)                                                                                 \
              memcpy (&acc, bias + c, sizeof acc);                                                            \
            for (int t = 0; t < n; t++)                                                                       \
              {                                                                                               \
                memcpy (&a, src[t] + c, sizeof a);                                                            \
                memcpy (&b, wt[t] + c, sizeof b);                                                             \
                acc += a * b;                                                                                 \
              }                                                                                               \
            memcpy (out + c, &acc, sizeof acc);                                                               \
          }
        if (lanes >= 16)
          DEPTHWISE_BLOCK (16)
        if (lanes >= 8)
          DEPTHWISE_BLOCK (8)
        DEPTHWISE_BLOCK (4)
#undef DEPTHWISE_BLOCK
        for (; c < C; c++)
          {
            float acc = bias != NULL ? bias[c] : 0.0f;
            for (int t = 0; t < n; t++)
              acc += src[t][c] * wt[t][c];
            out[c] = acc;
          }
        ox++;
      }
    }
}

static void
depthwise (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]), *w = shape (graph, node->inputs[1]);
  QrShape *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]), *weights = data (graph, node->inputs[1]);
  const float *bias = node->n_inputs > 2 ? data (graph, node->inputs[2]) : NULL;
  float *y = data (graph, node->outputs[0]);
  int N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
  int KH = w->dims[0], KW = w->dims[1], M = w->dims[3];
  int OH = out->dims[1], OW = out->dims[2], OC = C * M;

  if (M == 1 && KH * KW <= DEPTHWISE_MAX_TAPS)
    {
      ConvGeometry g = geometry_of (node, in, w, out);
      int lanes = vector_lanes ();
#pragma omp parallel for collapse(2) schedule(static)
      for (int n = 0; n < N; n++)
        for (int oy = 0; oy < OH; oy++)
          {
            float *row = y + ((gsize) n * (gsize) OH + (gsize) oy) * (gsize) OW * (gsize) OC;
            depthwise_row (x + (gsize) n * (gsize) H * (gsize) W * (gsize) C, weights, bias, &g, oy, lanes, row);
            qr_cpu_activate_row (row, (gsize) OW * (gsize) OC, node->act, node->alpha, node->beta);
          }
      return;
    }
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        {
          float *acc = y + (((gsize) n * (gsize) OH + (gsize) oy) * (gsize) OW + (gsize) ox) * (gsize) OC;
          for (int c = 0; c < OC; c++)
            acc[c] = bias ? bias[c] : 0.0f;
          for (int ky = 0; ky < KH; ky++)
            {
              int iy = oy * node->stride[0] - node->pads[0] + ky * node->dilation[0];
              if (iy < 0 || iy >= H)
                continue;
              for (int kx = 0; kx < KW; kx++)
                {
                  int ix = ox * node->stride[1] - node->pads[2] + kx * node->dilation[1];
                  const float *src, *wt;
                  if (ix < 0 || ix >= W)
                    continue;
                  src = x + (((gsize) n * (gsize) H + (gsize) iy) * (gsize) W + (gsize) ix) * (gsize) C;
                  wt = weights + ((gsize) ky * (gsize) KW + (gsize) kx) * (gsize) OC;
                  if (M == 1)
                    for (int c = 0; c < C; c++)
                      acc[c] += src[c] * wt[c];
                  else
                    for (int c = 0; c < C; c++)
                      for (int m = 0; m < M; m++)
                        acc[c * M + m] += src[c] * wt[c * M + m];
                }
            }
          if (node->act != QR_ACT_NONE)
            for (int c = 0; c < OC; c++)
              acc[c] = activate (acc[c], node->act, node->alpha, node->beta);
        }
}

/* C[M×N] = op(A) · op(B), row-major, op a transpose where asked; C's rows split across the
 * threads, or its columns when the rows are few (CLIP's 50 tokens: 78 -> 74 ms an image on 2
 * cores). OpenBLAS itself runs single-threaded under the engine's OpenMP. */
static void
gemm_t (gboolean ta, gboolean tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
        int ldc)
{
  int threads = MAX (cpu_threads, 1);
  int chunk = MAX ((M + threads - 1) / threads, 16);
  int blocks = (M + chunk - 1) / chunk;

  if (threads > 1 && M < 64 * threads && N >= 128 * threads)
    {
      /* few rows (one image's tokens): the columns split instead, each thread a full-height product */
      int cols = ((N + threads - 1) / threads + 15) / 16 * 16;
      int parts = (N + cols - 1) / cols;
#pragma omp parallel for schedule(static)
      for (int p = 0; p < parts; p++)
        {
          int first = p * cols, width = MIN (cols, N - first);
          const float *bp = tb ? B + (gsize) first * (gsize) ldb : B + first;
          cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, width, K, 1.0f,
                       A, lda, bp, ldb, 0.0f, C + first, ldc);
        }
      return;
    }
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (int b = 0; b < blocks; b++)
    {
      int first = b * chunk, rows = MIN (chunk, M - first);
      /* row `first` of op(A): a row of A, or a column of A when transposed */
      const float *a = ta ? A + first : A + (gsize) first * (gsize) lda;
      cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, rows, N, K, 1.0f, a,
                   lda, B, ldb, 0.0f, C + (gsize) first * (gsize) ldc, ldc);
    }
}

static void
matmul (QrGraph *graph, QrNode *node)
{
  QrShape *a = shape (graph, node->inputs[0]), *b = shape (graph, node->inputs[1]), *o = shape (graph, node->outputs[0]);
  int rank = o->rank, M = o->dims[rank - 2], N = o->dims[rank - 1];
  int K = node->transpose_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
  gsize batches = qr_shape_size (o) / ((gsize) M * (gsize) N);
  const float *A = data (graph, node->inputs[0]), *B = data (graph, node->inputs[1]);
  float *C = data (graph, node->outputs[0]);

  if (M == 0 || N == 0)
    return;
  if (K > 0 && !node->transpose_a && qr_shape_size (b) == (gsize) K * (gsize) N
      && qr_shape_size (a) == batches * (gsize) M * (gsize) K)
    {
      /* one B for every batch (a Linear layer on [L, N, D] tokens, CLIP's sequence-first layout):
         the batches are rows of one product, B packed once instead of once per token */
      gemm_t (FALSE, node->transpose_b, (int) (batches * (gsize) M), N, K, A, K, B, b->dims[b->rank - 1], C, N);
      return;
    }
  if (batches == 1 && K > 0)
    {
      gemm_t (node->transpose_a, node->transpose_b, M, N, K, A, a->dims[a->rank - 1], B, b->dims[b->rank - 1], C, N);
      return;
    }
  /* batched products (attention's heads): the batches across the threads */
#pragma omp parallel for schedule(static) if (batches > 1)
  for (gsize i = 0; i < batches; i++)
    {
      /* the batch index, broadcast to each operand's leading dimensions */
      gsize rest = i, ia = 0, ib = 0, sa = 1, sb = 1;
      for (int d = rank - 3; d >= 0; d--)
        {
          int od = o->dims[d], idx = (int) (rest % (gsize) od);
          int pa = d - (rank - a->rank), pb = d - (rank - b->rank);
          int da = pa >= 0 ? a->dims[pa] : 1, db = pb >= 0 ? b->dims[pb] : 1;
          rest /= (gsize) od;
          ia += (gsize) (da == 1 ? 0 : idx) * sa;
          ib += (gsize) (db == 1 ? 0 : idx) * sb;
          sa *= (gsize) da;
          sb *= (gsize) db;
        }
      if (K == 0)
        {
          memset (C + i * (gsize) M * (gsize) N, 0, sizeof (float) * (gsize) M * (gsize) N);
          continue;
        }
      cblas_sgemm (CblasRowMajor, node->transpose_a ? CblasTrans : CblasNoTrans,
                   node->transpose_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                   A + ia * (gsize) a->dims[a->rank - 2] * (gsize) a->dims[a->rank - 1], a->dims[a->rank - 1],
                   B + ib * (gsize) b->dims[b->rank - 2] * (gsize) b->dims[b->rank - 1], b->dims[b->rank - 1], 0.0f,
                   C + i * (gsize) M * (gsize) N, N);
    }
}

gboolean
qr_cpu_run_node (QrGraph *graph, QrNode *node, float *scratch, GError **error)
{
  switch (node->op)
    {
    case QR_OP_CONV2D: conv2d (graph, node, scratch); break;
    case QR_OP_DEPTHWISE: depthwise (graph, node); break;
    case QR_OP_ADD:
    case QR_OP_SUB:
    case QR_OP_MUL:
    case QR_OP_DIV:
    case QR_OP_MAXIMUM:
    case QR_OP_MINIMUM:
    case QR_OP_POW:
    case QR_OP_GREATER:
    case QR_OP_LESS:
    case QR_OP_GREATER_EQUAL:
    case QR_OP_LESS_EQUAL:
    case QR_OP_EQUAL: qr_cpu_binary (graph, node); break;
    case QR_OP_ACTIVATION: qr_cpu_unary (graph, node); break;
    case QR_OP_MEAN: qr_cpu_mean (graph, node); break;
    case QR_OP_RESIZE: qr_cpu_resize (graph, node); break;
    case QR_OP_CONCAT: qr_cpu_concat (graph, node); break;
    case QR_OP_MAXPOOL:
    case QR_OP_AVGPOOL: qr_cpu_pool (graph, node); break;
    case QR_OP_TRANSPOSE: qr_cpu_transpose (graph, node); break;
    case QR_OP_PAD: qr_cpu_pad (graph, node); break;
    case QR_OP_SPLIT: qr_cpu_split (graph, node); break;
    case QR_OP_SOFTMAX: qr_cpu_softmax (graph, node); break;
    case QR_OP_MATMUL: matmul (graph, node); break;
    case QR_OP_SPARSE_TO_DENSE: qr_cpu_sparse_to_dense (graph, node); break;
    case QR_OP_SLICE: qr_cpu_slice (graph, node); break;
    case QR_OP_GATHER: qr_cpu_gather (graph, node); break;
    case QR_OP_RESHAPE:
    case QR_OP_IDENTITY:
    case QR_OP_CAST:
      {
        float *dst = data (graph, node->outputs[0]), *src = data (graph, node->inputs[0]);
        if (dst != src)
          memcpy (dst, src, qr_shape_size (shape (graph, node->outputs[0])) * sizeof (float));
        break;
      }
    default:
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: node %s: no CPU kernel for this op",
                   graph->source, node->name);
      return FALSE;
    }
  return TRUE;
}
