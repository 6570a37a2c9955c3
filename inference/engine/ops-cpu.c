/* ops-cpu.c: the CPU kernels, and which one runs a node. Convolutions are GEMMs (OpenBLAS SGEMM;
 * im2col only when the kernel is not 1×1/stride 1), depthwise convolutions run channel-innermost
 * so the compiler vectorises them; bias and the activation are applied in the same pass over the
 * output. Every other kernel (ops-cpu-tensor.c) splits its outer loop across cores with OpenMP. */
#define G_LOG_DOMAIN "quorum-engine"

#include "ops-cpu-private.h"

#include <math.h>
#include <string.h>
#include <cblas.h>
#include <omp.h>

/* Per calling thread: two models with different thread counts can run side by side. */
static _Thread_local int cpu_threads = 0;

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

static void
bias_activate (float *out, gsize rows, int channels, const float *bias, QrActivation act, float alpha, float beta)
{
  if (bias == NULL && act == QR_ACT_NONE)
    return;
#pragma omp parallel for schedule(static)
  for (gssize r = 0; r < (gssize) rows; r++)
    {
      float *row = out + (gsize) r * (gsize) channels;
      if (bias != NULL)
        for (int c = 0; c < channels; c++)
          row[c] += bias[c];
      switch (act)
        {
        case QR_ACT_NONE: break;
        case QR_ACT_RELU:
          for (int c = 0; c < channels; c++)
            row[c] = row[c] > 0 ? row[c] : 0;
          break;
        case QR_ACT_RELU6:
          for (int c = 0; c < channels; c++)
            row[c] = row[c] < 0 ? 0 : row[c] > 6 ? 6 : row[c];
          break;
        case QR_ACT_HARD_SWISH:
          for (int c = 0; c < channels; c++)
            {
              float x = row[c], t = x + 3.0f;
              t = t < 0 ? 0 : t > 6 ? 6 : t;
              row[c] = alpha * x * t;
            }
          break;
        default:
          for (int c = 0; c < channels; c++)
            row[c] = activate (row[c], act, alpha, beta);
        }
    }
}

gsize
qr_cpu_scratch_size (QrGraph *graph, const QrNode *node)
{
  if (node->op == QR_OP_CONV2D)
    {
      QrShape *w = shape (graph, node->inputs[1]);
      QrShape *out = shape (graph, node->outputs[0]);
      gboolean direct = w->dims[0] == 1 && w->dims[1] == 1 && node->stride[0] == 1 && node->stride[1] == 1
                        && node->pads[0] == 0 && node->pads[1] == 0 && node->pads[2] == 0 && node->pads[3] == 0;
      if (!direct)
        return (gsize) out->dims[1] * (gsize) out->dims[2] * (gsize) w->dims[0] * (gsize) w->dims[1]
               * (gsize) w->dims[2];
    }
  return 0;
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
 * threads (OpenBLAS itself runs single-threaded under the engine's OpenMP). */
static void
gemm_t (gboolean ta, gboolean tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
        int ldc)
{
  int threads = MAX (cpu_threads, 1);
  int chunk = MAX ((M + threads - 1) / threads, 16);
  int blocks = (M + chunk - 1) / chunk;

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
