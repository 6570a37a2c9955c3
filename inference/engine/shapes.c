/* shapes.c: shape inference, node by node, for a batch size. Parameters that TensorFlow passes as
 * constant tensors (axes, sizes, paddings, permutations) are read here and resolved into the
 * node's attributes, so the kernels never look at them again. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <math.h>
#include <string.h>

static gboolean
fail (QrGraph *graph, QrNode *node, GError **error, const char *what)
{
  g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: node %s: %s", graph->source, node->name, what);
  return FALSE;
}

/* The values of a constant input as integers; -1 when it is not constant. */
static int
const_ints (QrGraph *graph, int tensor, int *out, int max)
{
  QrTensor *t = qr_graph_tensor (graph, tensor);
  gsize n;

  if (!t->is_const)
    return -1;
  n = qr_shape_size (&t->shape);
  if (n > (gsize) max)
    return -1;
  for (gsize i = 0; i < n; i++)
    out[i] = (int) lrintf (t->data[i]);
  return (int) n;
}

static QrShape *
shape_of (QrGraph *graph, int tensor)
{
  return &qr_graph_tensor (graph, tensor)->shape;
}

/* A sliding window's numbers, as a model file may give them: strides, dilations and the kernel
 * from 1 to 4096, explicit pads from 0 to 4096 (a stride of 0 would divide by zero). */
static gboolean
window_ok (QrGraph *graph, QrNode *node, int k_h, int k_w, GError **error)
{
  const int limit = 4096;
  g_autofree char *what = NULL;

  for (int i = 0; i < 2 && what == NULL; i++)
    {
      if (node->stride[i] < 1 || node->stride[i] > limit)
        what = g_strdup_printf ("stride %d (from 1 to %d)", node->stride[i], limit);
      else if (node->dilation[i] < 1 || node->dilation[i] > limit)
        what = g_strdup_printf ("dilation %d (from 1 to %d)", node->dilation[i], limit);
    }
  if (what == NULL && (k_h < 1 || k_w < 1 || k_h > limit || k_w > limit))
    what = g_strdup_printf ("kernel %d × %d (from 1 to %d)", k_h, k_w, limit);
  for (int i = 0; i < 4 && what == NULL && node->padding == QR_PAD_EXPLICIT; i++)
    if (node->pads[i] < 0 || node->pads[i] > limit)
      what = g_strdup_printf ("padding %d (from 0 to %d)", node->pads[i], limit);
  if (what != NULL)
    return fail (graph, node, error, what);
  return TRUE;
}

static void
resolve_padding (QrNode *node, int in_h, int in_w, int k_h, int k_w, int *out_h, int *out_w)
{
  int eff_h = (k_h - 1) * node->dilation[0] + 1, eff_w = (k_w - 1) * node->dilation[1] + 1;

  if (node->padding == QR_PAD_SAME)
    {
      int total_h, total_w;
      *out_h = (in_h + node->stride[0] - 1) / node->stride[0];
      *out_w = (in_w + node->stride[1] - 1) / node->stride[1];
      total_h = MAX ((*out_h - 1) * node->stride[0] + eff_h - in_h, 0);
      total_w = MAX ((*out_w - 1) * node->stride[1] + eff_w - in_w, 0);
      node->pads[0] = total_h / 2;
      node->pads[1] = total_h - total_h / 2;
      node->pads[2] = total_w / 2;
      node->pads[3] = total_w - total_w / 2;
      return;
    }
  if (node->padding == QR_PAD_VALID)
    memset (node->pads, 0, sizeof node->pads);
  *out_h = (in_h + node->pads[0] + node->pads[1] - eff_h) / node->stride[0] + 1;
  *out_w = (in_w + node->pads[2] + node->pads[3] - eff_w) / node->stride[1] + 1;
}

static gboolean
broadcast (QrGraph *graph, QrNode *node, QrShape *out, GError **error)
{
  QrShape *a = shape_of (graph, node->inputs[0]), *b = shape_of (graph, node->inputs[1]);
  int rank = MAX (a->rank, b->rank);

  out->rank = rank;
  for (int i = 0; i < rank; i++)
    {
      int da = i - (rank - a->rank) >= 0 ? a->dims[i - (rank - a->rank)] : 1;
      int db = i - (rank - b->rank) >= 0 ? b->dims[i - (rank - b->rank)] : 1;
      if (da != db && da != 1 && db != 1)
        {
          g_autofree char *sa = qr_shape_to_string (a), *sb = qr_shape_to_string (b);
          g_autofree char *what = g_strdup_printf ("shapes %s and %s do not broadcast", sa, sb);
          return fail (graph, node, error, what);
        }
      out->dims[i] = MAX (da, db);
    }
  return TRUE;
}

gboolean
qr_graph_infer_shapes_node (QrGraph *graph, QrNode *node, int batch, GError **error)
{
  /* the fewest inputs each op reads (a model file may give fewer) */
  static const int min_inputs[QR_N_OPS] = {
    [QR_OP_CONV2D] = 2, [QR_OP_DEPTHWISE] = 2, [QR_OP_ADD] = 2, [QR_OP_SUB] = 2, [QR_OP_MUL] = 2,
    [QR_OP_DIV] = 2, [QR_OP_MAXIMUM] = 2, [QR_OP_MINIMUM] = 2, [QR_OP_ACTIVATION] = 1, [QR_OP_MEAN] = 1,
    [QR_OP_RESIZE] = 2, [QR_OP_CONCAT] = 1, [QR_OP_MAXPOOL] = 1, [QR_OP_AVGPOOL] = 1, [QR_OP_RESHAPE] = 2,
    [QR_OP_TRANSPOSE] = 2, [QR_OP_PAD] = 2, [QR_OP_SPLIT] = 3, [QR_OP_SLICE] = 3, [QR_OP_SOFTMAX] = 1,
    [QR_OP_MATMUL] = 2, [QR_OP_IDENTITY] = 1, [QR_OP_SPARSE_TO_DENSE] = 4, [QR_OP_CAST] = 1,
    [QR_OP_POW] = 2, [QR_OP_GATHER] = 2, [QR_OP_GREATER] = 2, [QR_OP_LESS] = 2, [QR_OP_GREATER_EQUAL] = 2,
    [QR_OP_LESS_EQUAL] = 2, [QR_OP_EQUAL] = 2,
  };
  QrShape out = { 0 };
  QrShape *in;
  int values[64];

  if ((int) node->op >= 0 && node->op < QR_N_OPS && node->n_inputs < min_inputs[node->op])
    {
      g_autofree char *what = g_strdup_printf ("%d inputs where the op needs %d", node->n_inputs,
                                               min_inputs[node->op]);
      return fail (graph, node, error, what);
    }
  in = node->n_inputs > 0 ? shape_of (graph, node->inputs[0]) : NULL;

  switch (node->op)
    {
    case QR_OP_INPUT:
    case QR_OP_CONST:
      return TRUE;

    case QR_OP_CONV2D:
    case QR_OP_DEPTHWISE:
      {
        QrShape *w = shape_of (graph, node->inputs[1]);
        int oh, ow;
        if (in->rank != 4 || w->rank != 4)
          return fail (graph, node, error, "a convolution needs 4-D input and weights");
        if (node->op == QR_OP_CONV2D && w->dims[2] != in->dims[3])
          return fail (graph, node, error, "the weights' input channels differ from the input's (grouped "
                                           "convolutions are not supported)");
        if (node->op == QR_OP_DEPTHWISE && w->dims[2] != in->dims[3])
          return fail (graph, node, error, "the depthwise weights' channels differ from the input's");
        if (!window_ok (graph, node, w->dims[0], w->dims[1], error))
          return FALSE;
        resolve_padding (node, in->dims[1], in->dims[2], w->dims[0], w->dims[1], &oh, &ow);
        if (oh <= 0 || ow <= 0)
          return fail (graph, node, error, "the output would be empty");
        out.rank = 4;
        out.dims[0] = in->dims[0];
        out.dims[1] = oh;
        out.dims[2] = ow;
        out.dims[3] = node->op == QR_OP_CONV2D ? w->dims[3] : w->dims[2] * w->dims[3];
        if (node->n_inputs > 2 && qr_shape_size (shape_of (graph, node->inputs[2])) != (gsize) out.dims[3])
          return fail (graph, node, error, "the bias length differs from the output channels");
        node->flops = 2.0 * oh * ow * out.dims[3] * w->dims[0] * w->dims[1]
                      * (node->op == QR_OP_CONV2D ? w->dims[2] : 1);
        break;
      }

    case QR_OP_MAXPOOL:
    case QR_OP_AVGPOOL:
      {
        int oh, ow;
        if (in->rank != 4)
          return fail (graph, node, error, "pooling needs a 4-D input");
        if (!window_ok (graph, node, node->kernel[0], node->kernel[1], error))
          return FALSE;
        resolve_padding (node, in->dims[1], in->dims[2], node->kernel[0], node->kernel[1], &oh, &ow);
        if (oh <= 0 || ow <= 0)
          return fail (graph, node, error, "the output would be empty");
        out = *in;
        out.dims[1] = oh;
        out.dims[2] = ow;
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
      if (!broadcast (graph, node, &out, error))
        return FALSE;
      break;

    case QR_OP_ACTIVATION:
    case QR_OP_SOFTMAX:
    case QR_OP_IDENTITY:
    case QR_OP_CAST:
      out = *in;
      break;

    case QR_OP_MEAN:
      {
        int n = node->n_inputs > 1 ? const_ints (graph, node->inputs[1], values, QR_MAX_RANK) : -1;
        if (n < 0)
          return fail (graph, node, error, "the reduction axes must be constant");
        node->n_axes = n;
        out.rank = 0;
        for (int i = 0; i < n; i++)
          node->axes[i] = values[i] < 0 ? values[i] + in->rank : values[i];
        for (int d = 0; d < in->rank; d++)
          {
            gboolean reduced = FALSE;
            for (int i = 0; i < n; i++)
              reduced |= node->axes[i] == d;
            if (!reduced)
              out.dims[out.rank++] = in->dims[d];
            else if (node->keep_dims)
              out.dims[out.rank++] = 1;
          }
        break;
      }

    case QR_OP_RESIZE:
      if (in->rank != 4 || const_ints (graph, node->inputs[1], values, 2) != 2)
        return fail (graph, node, error, "a resize needs a 4-D input and a constant size");
      out = *in;
      out.dims[1] = values[0];
      out.dims[2] = values[1];
      break;

    case QR_OP_CONCAT:
      {
        int n_data = node->n_inputs - 1;
        if (const_ints (graph, node->inputs[n_data], values, 1) != 1)
          return fail (graph, node, error, "the concat axis must be constant");
        node->axis = values[0] < 0 ? values[0] + in->rank : values[0];
        out = *in;
        out.dims[node->axis] = 0;
        for (int i = 0; i < n_data; i++)
          {
            QrShape *s = shape_of (graph, node->inputs[i]);
            if (s->rank != in->rank)
              return fail (graph, node, error, "concatenated tensors differ in rank");
            for (int d = 0; d < s->rank; d++)
              if (d != node->axis && s->dims[d] != in->dims[d])
                return fail (graph, node, error, "concatenated tensors differ outside the axis");
            out.dims[node->axis] += s->dims[node->axis];
          }
        break;
      }

    case QR_OP_RESHAPE:
      {
        int n = const_ints (graph, node->inputs[1], values, QR_MAX_RANK + 1);
        gsize total = qr_shape_size (in), known = 1;
        int unknown = -1;
        if (n < 0 || n > QR_MAX_RANK)
          return fail (graph, node, error, "a reshape needs a constant shape of rank 4 at most");
        out.rank = n;
        for (int i = 0; i < n; i++)
          {
            out.dims[i] = values[i] == 0 ? in->dims[i] : values[i];
            if (out.dims[i] == -1)
              unknown = i;
            else
              known *= (gsize) out.dims[i];
          }
        /* Converted graphs often say 1 for the batch ([1, -1, 80], [1, 3, 13, 13]): where the
         * input carries the batch planned for, so does the output. */
        if (n > 0 && values[0] == 1 && batch > 1 && in->rank > 0 && in->dims[0] == batch
            && (unknown >= 0 || known * (gsize) batch == total))
          out.dims[0] = batch, known *= (gsize) batch;
        if (unknown >= 0)
          {
            if (known == 0 || total % known != 0)
              return fail (graph, node, error, "the reshape does not divide the input");
            out.dims[unknown] = (int) (total / known);
          }
        else if (known != total)
          return fail (graph, node, error, "the reshape changes the number of elements");
        break;
      }

    case QR_OP_TRANSPOSE:
      {
        int n = const_ints (graph, node->inputs[1], values, QR_MAX_RANK);
        if (n != in->rank)
          return fail (graph, node, error, "a transpose needs a constant permutation of the input's rank");
        out.rank = n;
        for (int i = 0; i < n; i++)
          {
            node->axes[i] = values[i];
            out.dims[i] = in->dims[values[i]];
          }
        node->n_axes = n;
        break;
      }

    case QR_OP_PAD:
      {
        int n = const_ints (graph, node->inputs[1], values, 2 * QR_MAX_RANK);
        if (n != 2 * in->rank)
          return fail (graph, node, error, "paddings must be constant, two per dimension");
        out = *in;
        for (int d = 0; d < in->rank; d++)
          {
            if (values[2 * d] < 0 || values[2 * d + 1] < 0)
              return fail (graph, node, error, "negative padding");
            node->axes[d] = values[2 * d];   /* before */
            out.dims[d] += values[2 * d] + values[2 * d + 1];
          }
        break;
      }

    case QR_OP_SPLIT:
      {
        int axis_value, n = const_ints (graph, node->inputs[1], values, QR_MAX_OUTPUTS);
        int offset = 0, unknown = -1;
        if (n != node->n_outputs || const_ints (graph, node->inputs[2], &axis_value, 1) != 1)
          return fail (graph, node, error, "a split needs constant sizes, one per output, and a constant axis");
        node->axis = axis_value < 0 ? axis_value + in->rank : axis_value;
        for (int i = 0; i < n; i++)
          {
            if (values[i] == -1)
              unknown = i;
            else
              offset += values[i];
          }
        if (unknown >= 0)
          values[unknown] = in->dims[node->axis] - offset;
        offset = 0;
        for (int i = 0; i < n; i++)
          {
            QrShape s = *in;
            s.dims[node->axis] = values[i];
            offset += values[i];
            qr_graph_tensor (graph, node->outputs[i])->shape = s;
          }
        if (offset != in->dims[node->axis])
          return fail (graph, node, error, "the split sizes do not add up to the axis");
        return TRUE;
      }

    case QR_OP_MATMUL:
      {
        /* 2-D, or batches of matrices whose leading dimensions broadcast (NumPy's matmul) */
        QrShape *b = shape_of (graph, node->inputs[1]);
        int m, k, k2, nn, rank = MAX (in->rank, b->rank);
        double batches = 1;
        if (in->rank < 2 || b->rank < 2)
          return fail (graph, node, error, "matmul needs tensors of rank 2 or more");
        if (rank > 2 && (node->transpose_a || node->transpose_b))
          return fail (graph, node, error, "a batched matmul with transposed operands");
        m = node->transpose_a ? in->dims[in->rank - 1] : in->dims[in->rank - 2];
        k = node->transpose_a ? in->dims[in->rank - 2] : in->dims[in->rank - 1];
        k2 = node->transpose_b ? b->dims[b->rank - 1] : b->dims[b->rank - 2];
        nn = node->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
        if (k != k2)
          return fail (graph, node, error, "matmul inner dimensions differ");
        out.rank = rank;
        for (int d = 0; d < rank - 2; d++)
          {
            int da = d - (rank - in->rank) >= 0 ? in->dims[d - (rank - in->rank)] : 1;
            int db = d - (rank - b->rank) >= 0 ? b->dims[d - (rank - b->rank)] : 1;
            if (da != db && da != 1 && db != 1)
              return fail (graph, node, error, "matmul batch dimensions do not broadcast");
            out.dims[d] = MAX (da, db);
            batches *= out.dims[d];
          }
        out.dims[rank - 2] = m;
        out.dims[rank - 1] = nn;
        node->flops = 2.0 * m * nn * k * batches;
        break;
      }

    case QR_OP_SPARSE_TO_DENSE:
      {
        int n = const_ints (graph, node->inputs[1], values, QR_MAX_RANK);
        if (n < 0)
          return fail (graph, node, error, "SparseToDense needs a constant output shape");
        {
          QrShape *indices = shape_of (graph, node->inputs[0]);
          gsize n_idx = indices->rank > 0 ? (gsize) indices->dims[0] : 1;
          int width = indices->rank > 1 ? indices->dims[1] : 1;
          gsize n_values = qr_shape_size (shape_of (graph, node->inputs[2]));
          gsize total = 1;
          if (n == 0 || indices->rank > 2 || width < 1 || width > n)
            return fail (graph, node, error, "SparseToDense's indices do not fit its output shape");
          if (n_values != 1 && n_values != n_idx)
            return fail (graph, node, error, "SparseToDense needs one value, or one per index");
          if (qr_shape_size (shape_of (graph, node->inputs[3])) < 1)
            return fail (graph, node, error, "SparseToDense needs a default value");
          for (int i = 0; i < n; i++)
            {
              if (values[i] < 1 || values[i] > (1 << 24) || (total *= (gsize) values[i]) > ((gsize) 1 << 28))
                return fail (graph, node, error, "SparseToDense's output shape is empty or too large");
            }
        }
        out.rank = n;
        for (int i = 0; i < n; i++)
          out.dims[i] = values[i];
        break;
      }

    case QR_OP_SLICE:
      {
        int b[QR_MAX_RANK], e[QR_MAX_RANK], st[QR_MAX_RANK] = { 1, 1, 1, 1 };
        int rank = in->rank;
        if (const_ints (graph, node->inputs[1], b, QR_MAX_RANK) != rank
            || const_ints (graph, node->inputs[2], e, QR_MAX_RANK) != rank
            || (node->strided && node->n_inputs > 3 && const_ints (graph, node->inputs[3], st, QR_MAX_RANK) != rank))
          return fail (graph, node, error, "a slice needs constant begin, end or size (and strides), one per dimension");
        if (node->ellipsis_mask || node->new_axis_mask)
          return fail (graph, node, error, "slices with ellipsis or new axes are not supported");
        out.rank = 0;
        for (int d = 0; d < rank; d++)
          {
            int dim = in->dims[d], first, last, count;
            if (!node->strided)
              {
                first = b[d];
                count = e[d] < 0 ? dim - first : e[d];
                st[d] = 1;
              }
            else
              {
                if (st[d] == 0)
                  return fail (graph, node, error, "a slice step of 0");
                first = b[d] < 0 ? b[d] + dim : b[d];
                last = e[d] < 0 ? e[d] + dim : e[d];
                if (node->begin_mask & (1 << d))
                  first = st[d] > 0 ? 0 : dim - 1;
                if (node->end_mask & (1 << d))
                  last = st[d] > 0 ? dim : -1;
                first = st[d] > 0 ? CLAMP (first, 0, dim) : CLAMP (first, -1, dim - 1);
                last = st[d] > 0 ? CLAMP (last, 0, dim) : CLAMP (last, -1, dim - 1);
                if (node->shrink_mask & (1 << d))
                  last = first + 1, st[d] = 1;
                count = st[d] > 0 ? MAX (0, (last - first + st[d] - 1) / st[d]) : MAX (0, (first - last - st[d] - 1) / -st[d]);
              }
            if (first < 0 || first > dim || count < 0 || first + (count - 1) * st[d] >= dim
                || first + (count - 1) * st[d] < 0)
              {
                if (count > 0)
                  return fail (graph, node, error, "the slice reaches outside the input");
              }
            node->begin[d] = first;
            node->step[d] = st[d];
            node->axes[d] = count;
            if (!(node->strided && (node->shrink_mask & (1 << d))))
              out.dims[out.rank++] = count;
          }
        node->n_axes = rank;
        break;
      }
    case QR_OP_GATHER:
      {
        QrShape *idx = shape_of (graph, node->inputs[1]);
        if (node->axis < 0 || node->axis >= in->rank)
          return fail (graph, node, error, "the gather axis is outside the data's rank");
        out.rank = in->rank - 1 + idx->rank;
        if (out.rank > QR_MAX_RANK)
          return fail (graph, node, error, "the gather's result would have rank over 4");
        for (int d = 0; d < node->axis; d++)
          out.dims[d] = in->dims[d];
        for (int d = 0; d < idx->rank; d++)
          out.dims[node->axis + d] = idx->dims[d];
        for (int d = node->axis + 1; d < in->rank; d++)
          out.dims[d - 1 + idx->rank] = in->dims[d];
        break;
      }
    case QR_OP_UNSUPPORTED:
      return fail (graph, node, error, "this op is not supported");
    }

  qr_graph_tensor (graph, node->outputs[0])->shape = out;
  return TRUE;
}

gboolean
qr_graph_infer_shapes (QrGraph *graph, int batch, GError **error)
{
  if (graph->fixed_batch > 0)
    batch = graph->fixed_batch;
  for (guint i = 0; i < graph->inputs->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, g_array_index (graph->inputs, int, i));
      t->shape.dims[0] = batch;
    }
  for (guint k = 0; k < graph->order->len; k++)
    if (!qr_graph_infer_shapes_node (graph, qr_graph_node (graph, g_array_index (graph->order, int, k)), batch,
                                     error))
      return FALSE;
  graph->planned_batch = batch;
  return TRUE;
}
