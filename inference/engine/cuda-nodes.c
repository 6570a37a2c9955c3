/* cuda-nodes.c: one node of a graph launched on the CUDA backend's stream: its tensors' device
 * memory, shapes and strides turned into the CUDA module's kernel calls (gpu/qr-cuda.h), with no
 * allocation and no synchronisation. Built only with CUDA. */
#define G_LOG_DOMAIN "quorum-engine"

#include "backend-cuda-private.h"
#include "qr-gpu.h"   /* its error codes */
#include "depthwise-tile.h"   /* which depthwise convolutions the tiled kernel takes */

#include <string.h>

gboolean
qr_cuda_backend_error (GError **error, GError *gpu_error, QrGraph *graph, const QrNode *node)
{
  int code = gpu_error->code == QR_GPU_ERROR_UNSUPPORTED ? QR_ENGINE_ERROR_UNSUPPORTED : QR_ENGINE_ERROR_SHAPE;
  if (node != NULL)
    g_set_error (error, QR_ENGINE_ERROR, code, "%s: node %s: %s", graph->source, node->name, gpu_error->message);
  else
    g_set_error (error, QR_ENGINE_ERROR, code, "%s: %s", graph->source, gpu_error->message);
  g_error_free (gpu_error);
  return FALSE;
}

static QrCudaAct
cuda_act (QrActivation act)
{
  switch (act)
    {
    case QR_ACT_RELU: return QR_CUDA_ACT_RELU;
    case QR_ACT_RELU6: return QR_CUDA_ACT_RELU6;
    case QR_ACT_LEAKY_RELU: return QR_CUDA_ACT_LEAKY_RELU;
    case QR_ACT_SIGMOID: return QR_CUDA_ACT_SIGMOID;
    case QR_ACT_HARD_SWISH: return QR_CUDA_ACT_HARD_SWISH;
    case QR_ACT_SWISH: return QR_CUDA_ACT_SWISH;
    case QR_ACT_MISH: return QR_CUDA_ACT_MISH;
    case QR_ACT_TANH: return QR_CUDA_ACT_TANH;
    case QR_ACT_EXP: return QR_CUDA_ACT_EXP;
    case QR_ACT_LOG: return QR_CUDA_ACT_LOG;
    case QR_ACT_SQRT: return QR_CUDA_ACT_SQRT;
    case QR_ACT_ERF: return QR_CUDA_ACT_ERF;
    case QR_ACT_NEG: return QR_CUDA_ACT_NEG;
    case QR_ACT_ABS: return QR_CUDA_ACT_ABS;
    case QR_ACT_RECIPROCAL: return QR_CUDA_ACT_RECIPROCAL;
    case QR_ACT_HARD_SIGMOID: return QR_CUDA_ACT_HARD_SIGMOID;
    case QR_ACT_CLIP: return QR_CUDA_ACT_CLIP;
    case QR_ACT_FLOOR: return QR_CUDA_ACT_FLOOR;
    case QR_ACT_CEIL: return QR_CUDA_ACT_CEIL;
    case QR_ACT_ROUND: return QR_CUDA_ACT_ROUND;
    case QR_ACT_NONE:
    default: return QR_CUDA_ACT_NONE;
    }
}

static QrShape *
shape (QrGraph *graph, int tensor)
{
  return &qr_graph_tensor (graph, tensor)->shape;
}

void
qr_cuda_backend_conv_params (QrCudaBackend *self, QrGraph *graph, const QrNode *node, QrCudaConv *p)
{
  QrShape *in = shape (graph, node->inputs[0]), *w = shape (graph, node->inputs[1]);
  QrShape *out = shape (graph, node->outputs[0]);

  memset (p, 0, sizeof *p);
  p->n = in->dims[0];
  p->h = in->dims[1];
  p->w = in->dims[2];
  p->c = in->dims[3];
  p->kh = w->dims[0];
  p->kw = w->dims[1];
  p->oc = w->dims[3];
  p->oh = out->dims[1];
  p->ow = out->dims[2];
  memcpy (p->stride, node->stride, sizeof p->stride);
  memcpy (p->dilation, node->dilation, sizeof p->dilation);
  memcpy (p->pads, node->pads, sizeof p->pads);
  p->act = cuda_act (node->act);
  p->alpha = node->alpha;
  p->x_half = self->half[node->inputs[0]];
  p->y_half = self->half[node->outputs[0]];
}

void
qr_cuda_backend_depthwise_params (QrCudaBackend *self, QrGraph *graph, const QrNode *node, QrCudaDepthwise *p)
{
  QrShape *in = shape (graph, node->inputs[0]), *w = shape (graph, node->inputs[1]);
  QrShape *out = shape (graph, node->outputs[0]);

  memset (p, 0, sizeof *p);
  p->n = in->dims[0];
  p->h = in->dims[1];
  p->w = in->dims[2];
  p->c = in->dims[3];
  p->m = w->dims[3];
  p->kh = w->dims[0];
  p->kw = w->dims[1];
  p->oh = out->dims[1];
  p->ow = out->dims[2];
  memcpy (p->stride, node->stride, sizeof p->stride);
  memcpy (p->dilation, node->dilation, sizeof p->dilation);
  memcpy (p->pads, node->pads, sizeof p->pads);
  p->act = cuda_act (node->act);
  p->alpha = node->alpha;
  p->x_half = self->half[node->inputs[0]];
  p->y_half = self->half[node->outputs[0]];
  p->generic = self->depthwise_generic;
}

gboolean
qr_cuda_backend_depthwise_tiled (QrCudaBackend *self, QrGraph *graph, const QrNode *node)
{
  QrCudaDepthwise p;

  qr_cuda_backend_depthwise_params (self, graph, node, &p);
  return qr_dw_tile_variant (&p, self->dev[node->inputs[0]], self->dev[node->inputs[1]],
                             node->n_inputs > 2 ? self->dev[node->inputs[2]] : NULL, self->dev[node->outputs[0]]) != 0;
}

/* A shape right-aligned in 4 dimensions. */
static void
dims4 (const QrShape *s, int out[4])
{
  for (int d = 0; d < 4; d++)
    out[d] = 1;
  for (int d = 0; d < s->rank; d++)
    out[4 - s->rank + d] = s->dims[d];
}

/* Strides of `s` broadcast against a rank-4 output: 0 where s has 1 or no dimension. */
static void
broadcast_strides (const QrShape *s, long long strides[4])
{
  int d4[4];
  long long stride = 1;

  dims4 (s, d4);
  for (int d = 3; d >= 0; d--)
    {
      strides[d] = d4[d] == 1 ? 0 : stride;
      stride *= d4[d];
    }
}

/* MatMul as the CPU kernel reads it (ops-cpu.c): the last two dimensions are the matrices, the
 * others (at most two, rank ≤ 4) batches broadcast NumPy's way. */
static gboolean
run_matmul (QrCudaBackend *self, QrGraph *graph, QrNode *node, GError **error)
{
  QrShape *a = shape (graph, node->inputs[0]), *b = shape (graph, node->inputs[1]);
  QrShape *o = shape (graph, node->outputs[0]);
  const float *A = self->dev[node->inputs[0]], *B = self->dev[node->inputs[1]];
  float *C = self->dev[node->outputs[0]];
  int rank = o->rank, M = o->dims[rank - 2], N = o->dims[rank - 1];
  int K = node->transpose_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
  int lead_a = a->dims[a->rank - 1], lead_b = b->dims[b->rank - 1];
  long long mat_a = (long long) a->dims[a->rank - 2] * lead_a, mat_b = (long long) b->dims[b->rank - 2] * lead_b;
  gsize batches = qr_shape_size (o) / ((gsize) M * (gsize) N);
  int ob[2] = { 1, 1 }, da[2] = { 1, 1 }, db[2] = { 1, 1 };
  gboolean a_full = TRUE, a_one = TRUE, b_full = TRUE, b_one = TRUE;

  if (M == 0 || N == 0)
    return TRUE;
  if (batches == 1)
    return self->api->matmul (self->cuda, A, B, C, M, N, K, node->transpose_a, node->transpose_b, error);
  if (!node->transpose_a && qr_shape_size (b) == (gsize) K * (gsize) N && qr_shape_size (a) == batches * (gsize) M * (gsize) K)
    /* one B for every batch (a Linear layer on tokens): the batches are rows of one product */
    return self->api->matmul (self->cuda, A, B, C, (int) (batches * (gsize) M), N, K, FALSE, node->transpose_b, error);
  /* the batch dimensions right-aligned in two */
  for (int d = 0; d < rank - 2; d++)
    {
      int slot = 2 - (rank - 2) + d, pa = d - (rank - a->rank), pb = d - (rank - b->rank);
      ob[slot] = o->dims[d];
      da[slot] = pa >= 0 ? a->dims[pa] : 1;
      db[slot] = pb >= 0 ? b->dims[pb] : 1;
    }
  for (int s = 0; s < 2; s++)
    {
      a_full = a_full && da[s] == ob[s];
      a_one = a_one && da[s] == 1;
      b_full = b_full && db[s] == ob[s];
      b_one = b_one && db[s] == 1;
    }
  if ((a_full || a_one) && (b_full || b_one))
    return self->api->matmul_batched (self->cuda, A, B, C, M, N, K, node->transpose_a, node->transpose_b,
                                      (int) batches, a_one ? 0 : mat_a, b_one ? 0 : mat_b, error);
  /* mixed broadcasting ([2, 1, M, K] · [1, 3, K, N]): one strided batch per outer index */
  for (int i = 0; i < ob[0]; i++)
    {
      long long offset_a = (da[0] == 1 ? 0 : (long long) i) * da[1] * mat_a;
      long long offset_b = (db[0] == 1 ? 0 : (long long) i) * db[1] * mat_b;
      if (!self->api->matmul_batched (self->cuda, A + offset_a, B + offset_b, C + (gsize) i * ob[1] * M * N, M, N, K,
                                      node->transpose_a, node->transpose_b, ob[1], da[1] == 1 ? 0 : mat_a,
                                      db[1] == 1 ? 0 : mat_b, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
qr_cuda_backend_run_node (QrCudaBackend *self, QrGraph *graph, QrNode *node, int id, GError **error)
{
  const QrCudaApi *api = self->api;
  QrCuda *cuda = self->cuda;
  float *y = self->dev[node->outputs[0]];
  const float *x = node->n_inputs > 0 ? self->dev[node->inputs[0]] : NULL;
  QrShape *out = shape (graph, node->outputs[0]);
  GError *gpu_error = NULL;

  switch (node->op)
    {
    case QR_OP_CONV2D:
      {
        QrCudaConv conv;
        qr_cuda_backend_conv_params (self, graph, node, &conv);
        if (!api->conv2d (cuda, &conv, x, self->weights[id], node->n_inputs > 2 ? self->dev[node->inputs[2]] : NULL,
                             y, &gpu_error))
          return qr_cuda_backend_error (error, gpu_error, graph, node);
        break;
      }
    case QR_OP_DEPTHWISE:
      {
        QrCudaDepthwise p;
        qr_cuda_backend_depthwise_params (self, graph, node, &p);
        api->depthwise (cuda, &p, x, self->dev[node->inputs[1]],
                           node->n_inputs > 2 ? self->dev[node->inputs[2]] : NULL, y);
        break;
      }
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
    case QR_OP_EQUAL:
      {
        static const QrCudaBinary ops[] = {
          [QR_OP_ADD] = QR_CUDA_ADD, [QR_OP_SUB] = QR_CUDA_SUB, [QR_OP_MUL] = QR_CUDA_MUL,
          [QR_OP_DIV] = QR_CUDA_DIV, [QR_OP_MAXIMUM] = QR_CUDA_MAX, [QR_OP_MINIMUM] = QR_CUDA_MIN,
          [QR_OP_POW] = QR_CUDA_POW, [QR_OP_GREATER] = QR_CUDA_GREATER, [QR_OP_LESS] = QR_CUDA_LESS,
          [QR_OP_GREATER_EQUAL] = QR_CUDA_GREATER_EQUAL, [QR_OP_LESS_EQUAL] = QR_CUDA_LESS_EQUAL,
          [QR_OP_EQUAL] = QR_CUDA_EQUAL,
        };
        int od[4];
        long long sa[4], sb[4];
        dims4 (out, od);
        broadcast_strides (shape (graph, node->inputs[0]), sa);
        broadcast_strides (shape (graph, node->inputs[1]), sb);
        api->binary (cuda, ops[node->op], x, self->dev[node->inputs[1]], y, od, sa, sb,
                     (self->half[node->inputs[0]] ? QR_CUDA_HALF_A : 0) | (self->half[node->inputs[1]] ? QR_CUDA_HALF_B : 0)
                       | (self->half[node->outputs[0]] ? QR_CUDA_HALF_Y : 0));
        break;
      }
    case QR_OP_ACTIVATION:
      api->unary (cuda, cuda_act (node->act), node->alpha, node->beta, x, y, qr_shape_size (out),
                  (self->half[node->inputs[0]] ? QR_CUDA_HALF_A : 0) | (self->half[node->outputs[0]] ? QR_CUDA_HALF_Y : 0));
      break;
    case QR_OP_MEAN:
      {
        static const QrCudaReduce reductions[] = {
          [QR_REDUCE_MEAN] = QR_CUDA_REDUCE_MEAN, [QR_REDUCE_SUM] = QR_CUDA_REDUCE_SUM,
          [QR_REDUCE_MAX] = QR_CUDA_REDUCE_MAX, [QR_REDUCE_MIN] = QR_CUDA_REDUCE_MIN,
        };
        QrShape *in = shape (graph, node->inputs[0]);
        int d4[4];
        gboolean reduced[4] = { FALSE, FALSE, FALSE, FALSE };
        if (node->reduce == QR_REDUCE_ARGMAX || node->reduce == QR_REDUCE_ARGMIN)
          {
            int axis = node->axes[0];
            gsize outer, inner;
            qr_shape_around (in, axis, &outer, &inner);
            api->arg_reduce (cuda, x, y, outer, in->dims[axis], inner, node->reduce == QR_REDUCE_ARGMAX,
                             node->select_last);
            break;
          }
        dims4 (in, d4);
        for (int i = 0; i < node->n_axes; i++)
          reduced[4 - in->rank + node->axes[i]] = TRUE;
        api->reduce (cuda, reductions[node->reduce], x, y, d4, reduced);
        break;
      }
    case QR_OP_GATHER:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        gsize outer, inner;
        qr_shape_around (in, node->axis, &outer, &inner);
        api->take (cuda, x, self->dev[node->inputs[1]], y, outer, in->dims[node->axis],
                   qr_shape_size (shape (graph, node->inputs[1])), inner);
        break;
      }
    case QR_OP_RESIZE:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        api->resize (cuda, x, y, in->dims[0], in->dims[1], in->dims[2], in->dims[3], out->dims[1], out->dims[2],
                        node->resize_mode == QR_RESIZE_NEAREST, node->align_corners, node->half_pixel);
        break;
      }
    case QR_OP_CONCAT:
      {
        gsize outer, inner, offset = 0;
        qr_shape_around (out, node->axis, &outer, &inner);
        for (int i = 0; i < node->n_inputs - 1; i++)
          {
            QrShape *s = shape (graph, node->inputs[i]);
            gsize chunk = (gsize) s->dims[node->axis] * inner, row = (gsize) out->dims[node->axis] * inner;
            if (!api->copy_2d (cuda, y + offset, row, self->dev[node->inputs[i]], chunk, chunk, outer, &gpu_error))
              return qr_cuda_backend_error (error, gpu_error, graph, node);
            offset += chunk;
          }
        break;
      }
    case QR_OP_MAXPOOL:
    case QR_OP_AVGPOOL:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        api->pool (cuda, x, y, in->dims[0], in->dims[1], in->dims[2], in->dims[3], out->dims[1], out->dims[2],
                      node->kernel[0], node->kernel[1], node->stride[0], node->stride[1], node->pads[0], node->pads[2],
                      node->op == QR_OP_MAXPOOL);
        break;
      }
    case QR_OP_TRANSPOSE:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        long long in_strides[QR_MAX_RANK], s4[4] = { 0, 0, 0, 0 }, stride = 1;
        int od[4];
        for (int d = in->rank - 1; d >= 0; d--)
          {
            in_strides[d] = stride;
            stride *= in->dims[d];
          }
        dims4 (out, od);
        for (int d = 0; d < out->rank; d++)
          s4[4 - out->rank + d] = in_strides[node->axes[d]];
        api->gather (cuda, x, y, od, 0, s4);
        break;
      }
    case QR_OP_PAD:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        int id4[4], od4[4], before[4] = { 0, 0, 0, 0 };
        float value = node->n_inputs > 2 ? qr_graph_tensor (graph, node->inputs[2])->data[0] : 0.0f;
        dims4 (in, id4);
        dims4 (out, od4);
        for (int d = 0; d < in->rank; d++)
          before[4 - in->rank + d] = node->axes[d];
        api->pad (cuda, x, y, id4, od4, before, value);
        break;
      }
    case QR_OP_SPLIT:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        gsize outer, inner, offset = 0;
        qr_shape_around (in, node->axis, &outer, &inner);
        for (int i = 0; i < node->n_outputs; i++)
          {
            QrShape *s = shape (graph, node->outputs[i]);
            gsize chunk = (gsize) s->dims[node->axis] * inner, row = (gsize) in->dims[node->axis] * inner;
            if (!api->copy_2d (cuda, self->dev[node->outputs[i]], chunk, x + offset, row, chunk, outer, &gpu_error))
              return qr_cuda_backend_error (error, gpu_error, graph, node);
            offset += chunk;
          }
        break;
      }
    case QR_OP_SOFTMAX:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        int last = in->dims[in->rank - 1];
        api->softmax (cuda, x, y, qr_shape_size (in) / (gsize) last, last);
        break;
      }
    case QR_OP_MATMUL:
      if (!run_matmul (self, graph, node, &gpu_error))
        return qr_cuda_backend_error (error, gpu_error, graph, node);
      break;
    case QR_OP_SLICE:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        long long strides[QR_MAX_RANK], s4[4] = { 0, 0, 0, 0 }, stride = 1, offset = 0;
        int counts[4] = { 1, 1, 1, 1 };
        for (int d = in->rank - 1; d >= 0; d--)
          {
            strides[d] = stride;
            stride *= in->dims[d];
          }
        for (int d = 0; d < in->rank; d++)
          {
            counts[4 - in->rank + d] = node->axes[d];
            s4[4 - in->rank + d] = (long long) node->step[d] * strides[d];
            offset += (long long) node->begin[d] * strides[d];
          }
        api->gather (cuda, x, y, counts, offset, s4);
        break;
      }
    case QR_OP_RESHAPE:
    case QR_OP_IDENTITY:
    case QR_OP_CAST:
      if (!api->copy (cuda, y, x, qr_shape_size (out) * sizeof (float), &gpu_error))
        return qr_cuda_backend_error (error, gpu_error, graph, node);
      break;
    default:
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: node %s: no CUDA kernel for this op",
                   graph->source, node->name);
      return FALSE;
    }
  if (!api->check (cuda, node->name, &gpu_error))
    return qr_cuda_backend_error (error, gpu_error, graph, node);
  return TRUE;
}
