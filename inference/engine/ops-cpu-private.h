/* ops-cpu-private.h: what the CPU kernels' two files share: ops-cpu.c (convolutions, matmul and
 * the dispatch) and ops-cpu-tensor.c (element-wise, reductions, resizing, layout). */
#pragma once

#include "engine-private.h"

#include <math.h>

G_BEGIN_DECLS

static inline float
activate (float x, QrActivation act, float alpha, float beta)
{
  switch (act)
    {
    case QR_ACT_RELU: return x > 0 ? x : 0;
    case QR_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case QR_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case QR_ACT_SIGMOID: return 1.0f / (1.0f + expf (-x));
    case QR_ACT_HARD_SWISH:
      {
        float r = x + 3.0f;
        r = r < 0 ? 0 : r > 6 ? 6 : r;
        return alpha * x * r;
      }
    case QR_ACT_SWISH: return x / (1.0f + expf (-x));
    case QR_ACT_MISH: return x * tanhf (log1pf (expf (x)));
    case QR_ACT_TANH: return tanhf (x);
    case QR_ACT_EXP: return expf (x);
    case QR_ACT_LOG: return logf (x);
    case QR_ACT_SQRT: return sqrtf (x);
    case QR_ACT_ERF: return erff (x);
    case QR_ACT_NEG: return -x;
    case QR_ACT_ABS: return fabsf (x);
    case QR_ACT_RECIPROCAL: return 1.0f / x;
    case QR_ACT_HARD_SIGMOID: return fmaxf (0.0f, fminf (1.0f, alpha * x + beta));
    case QR_ACT_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case QR_ACT_FLOOR: return floorf (x);
    case QR_ACT_CEIL: return ceilf (x);
    case QR_ACT_ROUND: return nearbyintf (x);   /* the default rounding mode: halves to even */
    case QR_ACT_NONE:
    default: return x;
    }
}

/* Kernels compiled three times, for AVX-512, AVX2 and the x86-64-v2 baseline, the one the CPU
 * runs best chosen when the program loads (GCC's target_clones). Clang (the fuzzing build) gets
 * the baseline alone. Their vectors are GCC's vector types, 16 floats wide whatever the clone:
 * one AVX-512 register, two AVX ones or four SSE ones. */
#ifdef QR_CPU_CLONES
/* given on the command line: a test build of one variant */
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QR_CPU_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QR_CPU_CLONES
#endif

/* row[0 .. n) = act (row[0 .. n)), vectorised for the common activations */
void qr_cpu_activate_row (float *row, gsize n, QrActivation act, float alpha, float beta);
void qr_cpu_softmax_rows (const float *x, float *y, gsize rows, int n);


static inline float *
data (QrGraph *graph, int tensor)
{
  return qr_graph_tensor (graph, tensor)->data;
}

static inline QrShape *
shape (QrGraph *graph, int tensor)
{
  return &qr_graph_tensor (graph, tensor)->shape;
}

void qr_cpu_binary (QrGraph *graph, QrNode *node);
void qr_cpu_unary (QrGraph *graph, QrNode *node);
void qr_cpu_mean (QrGraph *graph, QrNode *node);
void qr_cpu_resize (QrGraph *graph, QrNode *node);
void qr_cpu_concat (QrGraph *graph, QrNode *node);
void qr_cpu_pool (QrGraph *graph, QrNode *node);
void qr_cpu_transpose (QrGraph *graph, QrNode *node);
void qr_cpu_pad (QrGraph *graph, QrNode *node);
void qr_cpu_split (QrGraph *graph, QrNode *node);
void qr_cpu_softmax (QrGraph *graph, QrNode *node);
void qr_cpu_sparse_to_dense (QrGraph *graph, QrNode *node);
void qr_cpu_slice (QrGraph *graph, QrNode *node);
void qr_cpu_gather (QrGraph *graph, QrNode *node);

G_END_DECLS
