/* cuda-nodes.c: one node of a graph launched on the CUDA backend's stream: its tensors' device
 * memory, shapes and strides turned into the CUDA module's kernel calls (gpu/qr-cuda.h), with no
 * allocation and no synchronisation. Built only with CUDA. */
#define G_LOG_DOMAIN "quorum-engine"

#include "backend-cuda-private.h"
#include "qr-gpu.h"   /* its error codes */

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
qr_cuda_backend_conv_params (QrGraph *graph, const QrNode *node, QrCudaConv *p)
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
        qr_cuda_backend_conv_params (graph, node, &conv);
        if (!api->conv2d (cuda, &conv, x, self->weights[id], node->n_inputs > 2 ? self->dev[node->inputs[2]] : NULL,
                             y, &gpu_error))
          return qr_cuda_backend_error (error, gpu_error, graph, node);
        break;
      }
    case QR_OP_DEPTHWISE:
      {
        QrShape *in = shape (graph, node->inputs[0]), *w = shape (graph, node->inputs[1]);
        QrCudaDepthwise p = { 0 };
        p.n = in->dims[0];
        p.h = in->dims[1];
        p.w = in->dims[2];
        p.c = in->dims[3];
        p.m = w->dims[3];
        p.kh = w->dims[0];
        p.kw = w->dims[1];
        p.oh = out->dims[1];
        p.ow = out->dims[2];
        memcpy (p.stride, node->stride, sizeof p.stride);
        memcpy (p.dilation, node->dilation, sizeof p.dilation);
        memcpy (p.pads, node->pads, sizeof p.pads);
        p.act = cuda_act (node->act);
        p.alpha = node->alpha;
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
      {
        static const QrCudaBinary ops[] = {
          [QR_OP_ADD] = QR_CUDA_ADD, [QR_OP_SUB] = QR_CUDA_SUB, [QR_OP_MUL] = QR_CUDA_MUL,
          [QR_OP_DIV] = QR_CUDA_DIV, [QR_OP_MAXIMUM] = QR_CUDA_MAX, [QR_OP_MINIMUM] = QR_CUDA_MIN,
        };
        int od[4];
        long long sa[4], sb[4];
        dims4 (out, od);
        broadcast_strides (shape (graph, node->inputs[0]), sa);
        broadcast_strides (shape (graph, node->inputs[1]), sb);
        api->binary (cuda, ops[node->op], x, self->dev[node->inputs[1]], y, od, sa, sb);
        break;
      }
    case QR_OP_ACTIVATION:
      api->unary (cuda, cuda_act (node->act), node->alpha, x, y, qr_shape_size (out));
      break;
    case QR_OP_MEAN:
      {
        QrShape *in = shape (graph, node->inputs[0]);
        int d4[4];
        gboolean reduced[4] = { FALSE, FALSE, FALSE, FALSE };
        dims4 (in, d4);
        for (int i = 0; i < node->n_axes; i++)
          reduced[4 - in->rank + node->axes[i]] = TRUE;
        api->mean (cuda, x, y, d4, reduced);
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
        gsize outer = 1, inner = 1, offset = 0;
        for (int d = 0; d < node->axis; d++)
          outer *= (gsize) out->dims[d];
        for (int d = node->axis + 1; d < out->rank; d++)
          inner *= (gsize) out->dims[d];
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
        gsize outer = 1, inner = 1, offset = 0;
        for (int d = 0; d < node->axis; d++)
          outer *= (gsize) in->dims[d];
        for (int d = node->axis + 1; d < in->rank; d++)
          inner *= (gsize) in->dims[d];
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
      {
        QrShape *a = shape (graph, node->inputs[0]);
        int k = node->transpose_a ? a->dims[0] : a->dims[1];
        if (!api->matmul (cuda, x, self->dev[node->inputs[1]], y, out->dims[0], out->dims[1], k, node->transpose_a,
                             node->transpose_b, &gpu_error))
          return qr_cuda_backend_error (error, gpu_error, graph, node);
        break;
      }
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
