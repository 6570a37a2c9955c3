/* rewrite.c: the load-time rewrites qr_graph_finish applies, in this order: constants folded
 * (every node whose inputs are constants runs once on the CPU), identities dropped, the transposes
 * of ONNX-converted graphs pushed down until they cancel, zero pads, per-channel scales and biases
 * folded into the convolutions, MobileNetV3's hard-swish and exported SiLUs recognised, and activations fused into
 * the convolution before them. Each keeps what the graph computes. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <math.h>
#include <string.h>

/* Replaces every use of tensor `from` by `to`. */
static void
rewire (QrGraph *graph, int from, int to)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] == from)
          node->inputs[i] = to;
    }

}

static gboolean
all_inputs_const (QrGraph *graph, QrNode *node)
{
  for (int i = 0; i < node->n_inputs; i++)
    if (!qr_graph_tensor (graph, node->inputs[i])->is_const)
      return FALSE;
  return node->n_inputs > 0;
}

gboolean
qr_graph_fold_node (QrGraph *graph, QrNode *node, int batch, GError **error)
{
  g_autofree float *scratch = NULL;

  if (!qr_graph_infer_shapes_node (graph, node, batch, error))
    return FALSE;
  for (int o = 0; o < node->n_outputs; o++)
    {
      QrTensor *t = qr_graph_tensor (graph, node->outputs[o]);
      g_free (t->data);
      t->data = g_new0 (float, MAX (qr_shape_size (&t->shape), 1));
    }
  scratch = g_new0 (float, MAX (qr_cpu_scratch_size (graph, node), 1));
  if (!qr_cpu_run_node (graph, node, scratch, error))
    return FALSE;
  for (int o = 0; o < node->n_outputs; o++)
    {
      QrTensor *t = qr_graph_tensor (graph, node->outputs[o]);
      t->is_const = TRUE;
      t->producer = -1;
    }
  node->dead = TRUE;
  return TRUE;
}

static gboolean
fold_constants (QrGraph *graph, GError **error)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->dead || node->op == QR_OP_INPUT || !all_inputs_const (graph, node))
        continue;
      if (!qr_graph_fold_node (graph, node, 1, error))
        return FALSE;
    }
  return TRUE;
}

static int
single_consumer (QrGraph *graph, int tensor, int *consumer_node)
{
  int found = -1, count = 0;

  for (guint k = 0; k < graph->order->len; k++)
    {
      int id = g_array_index (graph->order, int, k);
      QrNode *node = qr_graph_node (graph, id);
      if (node->dead)
        continue;
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] == tensor)
          {
            count++;
            found = id;
          }
    }
  *consumer_node = found;
  return count;
}

static gboolean
const_scalar (QrGraph *graph, int tensor, float *value)
{
  QrTensor *t = qr_graph_tensor (graph, tensor);
  if (!t->is_const || qr_shape_size (&t->shape) != 1)
    return FALSE;
  *value = t->data[0];
  return TRUE;
}

/* MobileNetV3's hard-swish arrives as four ops: a = c·x (c ≈ 1/6; float16 weights make it
 * 0.16663), b = x + 3, r = relu6 (b), y = a · r. One activation node, y = c · x · relu6 (x + 3),
 * keeps c exactly and replaces them; it then fuses into the convolution before it. */
static void
recognise_hard_swish (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *mul2 = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrNode *mul1 = NULL, *relu6 = NULL, *add = NULL;
      int x = -1;
      float c = 0, three = 0;

      if (mul2->dead || mul2->op != QR_OP_MUL)
        continue;
      for (int side = 0; side < 2 && relu6 == NULL; side++)
        {
          QrTensor *a = qr_graph_tensor (graph, mul2->inputs[side]);
          QrTensor *r = qr_graph_tensor (graph, mul2->inputs[1 - side]);
          if (a->producer < 0 || r->producer < 0)
            continue;
          mul1 = qr_graph_node (graph, a->producer);
          relu6 = qr_graph_node (graph, r->producer);
          if (mul1->op != QR_OP_MUL || relu6->op != QR_OP_ACTIVATION || relu6->act != QR_ACT_RELU6)
            relu6 = NULL;
        }
      if (relu6 == NULL || qr_graph_tensor (graph, relu6->inputs[0])->producer < 0)
        continue;
      add = qr_graph_node (graph, qr_graph_tensor (graph, relu6->inputs[0])->producer);
      if (add->op != QR_OP_ADD)
        continue;
      /* mul1 = c · x, add = x + 3 */
      for (int side = 0; side < 2; side++)
        if (const_scalar (graph, mul1->inputs[side], &c))
          x = mul1->inputs[1 - side];
      if (x < 0 || fabsf (c - 1.0f / 6.0f) > 1e-3f)
        continue;
      if (!((add->inputs[0] == x && const_scalar (graph, add->inputs[1], &three))
            || (add->inputs[1] == x && const_scalar (graph, add->inputs[0], &three)))
          || three != 3.0f)
        continue;
      {
        int c1, c2, c3;
        if (single_consumer (graph, mul1->outputs[0], &c1) != 1 || single_consumer (graph, add->outputs[0], &c2) != 1
            || single_consumer (graph, relu6->outputs[0], &c3) != 1 || qr_graph_is_output (graph, mul1->outputs[0])
            || qr_graph_is_output (graph, add->outputs[0]) || qr_graph_is_output (graph, relu6->outputs[0]))
          continue;
      }
      mul1->dead = add->dead = relu6->dead = TRUE;
      mul2->op = QR_OP_ACTIVATION;
      mul2->act = QR_ACT_HARD_SWISH;
      mul2->alpha = c;
      mul2->inputs[0] = x;
      mul2->n_inputs = 1;
    }
}

/* SiLU as ONNX exporters write it (PyTorch's nn.SiLU, Ultralytics' every convolution): s =
 * sigmoid (x), y = x · s. One swish node on x replaces both when s feeds only the product; x then
 * feeds only the swish, which fuses into the convolution before it — one pass over the output
 * instead of three. */
static void
recognise_swish (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *mul = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrNode *sig = NULL;
      int x = -1, consumer;

      if (mul->dead || mul->op != QR_OP_MUL || mul->n_inputs != 2 || mul->act != QR_ACT_NONE)
        continue;
      for (int side = 0; side < 2 && x < 0; side++)
        {
          QrTensor *s = qr_graph_tensor (graph, mul->inputs[side]);
          if (s->producer < 0)
            continue;
          sig = qr_graph_node (graph, s->producer);
          if (!sig->dead && sig->op == QR_OP_ACTIVATION && sig->act == QR_ACT_SIGMOID && sig->n_inputs == 1
              && sig->inputs[0] == mul->inputs[1 - side])
            x = mul->inputs[1 - side];
        }
      if (x < 0 || single_consumer (graph, sig->outputs[0], &consumer) != 1
          || qr_graph_is_output (graph, sig->outputs[0]))
        continue;
      sig->dead = TRUE;
      mul->op = QR_OP_ACTIVATION;
      mul->act = QR_ACT_SWISH;
      mul->alpha = mul->beta = 0;
      mul->inputs[0] = x;
      mul->n_inputs = 1;
    }
}

/* conv → activation, when the convolution's output feeds nothing else. */
static void
fuse_activations (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *act = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrTensor *in;
      QrNode *conv;
      int consumer;

      if (act->dead || act->op != QR_OP_ACTIVATION)
        continue;
      in = qr_graph_tensor (graph, act->inputs[0]);
      if (in->producer < 0 || qr_graph_is_output (graph, act->inputs[0]))
        continue;
      conv = qr_graph_node (graph, in->producer);
      if ((conv->op != QR_OP_CONV2D && conv->op != QR_OP_DEPTHWISE) || conv->act != QR_ACT_NONE
          || single_consumer (graph, act->inputs[0], &consumer) != 1)
        continue;
      conv->act = act->act;
      conv->alpha = act->alpha;
      conv->beta = act->beta;
      /* The convolution now writes the activation's tensor. */
      conv->outputs[0] = act->outputs[0];
      qr_graph_tensor (graph, act->outputs[0])->producer = in->producer;
      act->dead = TRUE;
    }
}

static void
drop_identities (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->dead || (node->op != QR_OP_IDENTITY && node->op != QR_OP_CAST))
        continue;
      if (qr_graph_is_output (graph, node->outputs[0]))
        {
          /* An output named by an Identity (tower_0/keypoints): the producer writes it directly. */
          QrTensor *src = qr_graph_tensor (graph, node->inputs[0]);
          QrTensor *dst = qr_graph_tensor (graph, node->outputs[0]);
          if (src->producer < 0 || src->is_const || qr_graph_is_output (graph, node->inputs[0])
              || qr_graph_node (graph, src->producer)->op == QR_OP_INPUT)
            continue;
          {
            int consumer;
            if (single_consumer (graph, node->inputs[0], &consumer) != 1)
              continue;
          }
          {
            QrNode *producer = qr_graph_node (graph, src->producer);
            for (int o = 0; o < producer->n_outputs; o++)
              if (producer->outputs[o] == node->inputs[0])
                producer->outputs[o] = node->outputs[0];
            dst->producer = src->producer;
          }
          node->dead = TRUE;
          continue;
        }
      rewire (graph, node->outputs[0], node->inputs[0]);
      node->dead = TRUE;
    }
}

/* Transposes from converted ONNX models (NanoDet: NCHW → NHWC around every convolution) are
 * pushed down past element-wise ops and pads until two meet and cancel: op (T (x)) = T (op' (x)),
 * with op's constants permuted to match. */
static int
const_values (QrGraph *graph, int tensor, int *out, int max)
{
  QrTensor *t = qr_graph_tensor (graph, tensor);
  gsize n = qr_shape_size (&t->shape);

  if (!t->is_const || n > (gsize) max)
    return -1;
  for (gsize i = 0; i < n; i++)
    out[i] = (int) lrintf (t->data[i]);
  return (int) n;
}

static int
new_const (QrGraph *graph, const char *base, const QrShape *shape, float *data)
{
  g_autofree char *name = g_strdup_printf ("%s/rewritten-%u", base, graph->tensors->len);
  int id = qr_graph_add_tensor (graph, name);
  QrTensor *t = qr_graph_tensor (graph, id);

  t->is_const = TRUE;
  t->shape = *shape;
  t->data = data;
  return id;
}

static int
perm_const (QrGraph *graph, const char *base, const int *perm, int rank)
{
  QrShape shape = { 1, { rank } };
  float *data = g_new (float, rank);
  for (int i = 0; i < rank; i++)
    data[i] = (float) perm[i];
  return new_const (graph, base, &shape, data);
}

/* c' = transpose (c expanded to rank 4, q). */
static int
transpose_const (QrGraph *graph, int tensor, const int *q)
{
  QrTensor *c = qr_graph_tensor (graph, tensor);
  QrShape in = { 4, { 1, 1, 1, 1 } }, out = { 4, { 0 } };
  gsize in_strides[4], stride = 1, n = qr_shape_size (&c->shape);
  float *data = g_new (float, MAX (n, 1));

  for (int d = 0; d < c->shape.rank; d++)
    in.dims[4 - c->shape.rank + d] = c->shape.dims[d];
  for (int d = 3; d >= 0; d--)
    {
      in_strides[d] = stride;
      stride *= (gsize) in.dims[d];
    }
  for (int d = 0; d < 4; d++)
    out.dims[d] = in.dims[q[d]];
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i, src = 0;
      for (int d = 3; d >= 0; d--)
        {
          gsize idx = rest % (gsize) out.dims[d];
          rest /= (gsize) out.dims[d];
          src += idx * in_strides[q[d]];
        }
      data[i] = c->data[src];
    }
  return new_const (graph, c->name, &out, data);
}

/* The permutation of a 4-D transpose that produces tensor, or FALSE. */
static gboolean
transposed_by (QrGraph *graph, int tensor, int *perm, int *source)
{
  QrTensor *t = qr_graph_tensor (graph, tensor);
  QrNode *node;

  if (t->producer < 0)
    return FALSE;
  node = qr_graph_node (graph, t->producer);
  if (node->dead || node->op != QR_OP_TRANSPOSE || const_values (graph, node->inputs[1], perm, QR_MAX_RANK) != 4)
    return FALSE;
  *source = node->inputs[0];
  return TRUE;
}

/* U (T (x)) → T (U' (x)) for the node u_id, whose data inputs are all transposed by the same
 * permutation p: U reads the untransposed tensors, and a new transpose after it restores its
 * output. Two transposes that meet cancel, or merge into one. */
static gboolean
push_transpose (QrGraph *graph, int u_id)
{
  QrNode *u = qr_graph_node (graph, u_id);
  int p[4], x = -1, data_inputs, inverse[4];
  int u_out, mid, perm_id;
  QrNode *t;

  if (u->dead || u->n_outputs < 1 || (u->n_outputs > 1 && u->op != QR_OP_SPLIT))
    return FALSE;
  for (int j = 0; j < u->n_outputs; j++)
    if (qr_graph_is_output (graph, u->outputs[j]))
      return FALSE;
  u_out = u->outputs[0];

  if (u->op == QR_OP_TRANSPOSE)
    {
      int q[4], r[4];
      gboolean identity = TRUE;
      if (!transposed_by (graph, u->inputs[0], p, &x) || const_values (graph, u->inputs[1], q, QR_MAX_RANK) != 4)
        return FALSE;
      for (int i = 0; i < 4; i++)
        {
          r[i] = p[q[i]];
          identity &= r[i] == i;
        }
      if (identity)
        {
          rewire (graph, u_out, x);
          u->dead = TRUE;
        }
      else
        {
          u->inputs[0] = x;
          u->inputs[1] = perm_const (graph, u->name, r, 4);
        }
      return TRUE;
    }

  switch (u->op)
    {
    case QR_OP_ACTIVATION:
    case QR_OP_PAD:
    case QR_OP_SPLIT:
      data_inputs = 1;
      break;
    case QR_OP_SLICE:
      /* rank-changing masks would need the permutation changed too */
      if (u->shrink_mask || u->ellipsis_mask || u->new_axis_mask)
        return FALSE;
      for (int i = 1; i < u->n_inputs; i++)
        if (!qr_graph_tensor (graph, u->inputs[i])->is_const || qr_shape_size (&qr_graph_tensor (graph, u->inputs[i])->shape) != 4)
          return FALSE;
      data_inputs = 1;
      break;
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
    case QR_OP_CONCAT:
      data_inputs = u->op == QR_OP_CONCAT ? u->n_inputs - 1 : 2;
      break;
    default:
      return FALSE;
    }

  /* Every non-constant data input must come from a transpose by the same p. */
  {
    int sources[QR_MAX_INPUTS], n_transposed = 0;
    for (int i = 0; i < data_inputs; i++)
      {
        int q[4], src;
        QrTensor *in = qr_graph_tensor (graph, u->inputs[i]);
        sources[i] = -1;
        if (in->is_const)
          {
            if (u->op == QR_OP_CONCAT || in->shape.rank > 4)
              return FALSE;
            continue;
          }
        if (!transposed_by (graph, u->inputs[i], q, &src))
          return FALSE;
        if (n_transposed > 0 && memcmp (q, p, sizeof p) != 0)
          return FALSE;
        memcpy (p, q, sizeof p);
        sources[i] = src;
        n_transposed++;
      }
    if (n_transposed == 0)
      return FALSE;
    for (int i = 0; i < 4; i++)
      inverse[p[i]] = i;

    /* Rewrite U in the untransposed layout. */
    if (u->op == QR_OP_PAD)
      {
        int pads[8];
        QrShape shape = { 2, { 4, 2 } };
        float *values;
        if (const_values (graph, u->inputs[1], pads, 8) != 8)
          return FALSE;
        values = g_new (float, 8);
        for (int i = 0; i < 4; i++)
          {
            values[2 * p[i]] = (float) pads[2 * i];
            values[2 * p[i] + 1] = (float) pads[2 * i + 1];
          }
        u->inputs[1] = new_const (graph, u->name, &shape, values);
      }
    else if (u->op == QR_OP_SLICE)
      {
        /* begin, end or size, and steps: one value per axis, axis i of the transposed tensor
           being axis p[i] of the source; the masks' bits likewise */
        int begin_mask = 0, end_mask = 0;
        for (int k = 1; k < u->n_inputs; k++)
          {
            QrShape shape = { 1, { 4 } };
            const float *old = qr_graph_tensor (graph, u->inputs[k])->data;
            float *values = g_new (float, 4);
            for (int i = 0; i < 4; i++)
              values[p[i]] = old[i];
            u->inputs[k] = new_const (graph, u->name, &shape, values);
          }
        for (int i = 0; i < 4; i++)
          {
            begin_mask |= ((u->begin_mask >> i) & 1) << p[i];
            end_mask |= ((u->end_mask >> i) & 1) << p[i];
          }
        u->begin_mask = begin_mask;
        u->end_mask = end_mask;
      }
    else if (u->op == QR_OP_CONCAT || u->op == QR_OP_SPLIT)
      {
        int axis;
        QrShape scalar = { 0, { 0 } };
        float *value = g_new (float, 1);
        int axis_input = u->op == QR_OP_SPLIT ? 2 : u->n_inputs - 1;
        if (u->op == QR_OP_SPLIT && u->n_inputs != 3)
          {
            g_free (value);
            return FALSE;
          }
        if (const_values (graph, u->inputs[axis_input], &axis, 1) != 1 || axis < -4 || axis > 3)
          {
            g_free (value);
            return FALSE;
          }
        if (axis < 0)
          axis += 4;
        *value = (float) p[axis];
        u->inputs[axis_input] = new_const (graph, u->name, &scalar, value);
      }
    for (int i = 0; i < data_inputs; i++)
      {
        if (sources[i] >= 0)
          u->inputs[i] = sources[i];
        else
          u->inputs[i] = transpose_const (graph, u->inputs[i], inverse);
      }
  }

  /* x → U' → mid → T (p) → u_out, for each of U's outputs */
  perm_id = perm_const (graph, u->name, p, 4);
  for (int j = 0, n_outputs = u->n_outputs; j < n_outputs; j++)
    {
      g_autofree char *name = NULL, *mid_name = NULL;
      u = qr_graph_node (graph, u_id);
      u_out = u->outputs[j];
      /* tensor names are unique (the exporter and the outputs go by them) */
      mid_name = g_strdup_printf ("%s/untransposed-%u", u->name, graph->tensors->len);
      mid = qr_graph_add_tensor (graph, mid_name);
      u = qr_graph_node (graph, u_id);
      u->outputs[j] = mid;
      qr_graph_tensor (graph, mid)->producer = u_id;
      name = j == 0 ? g_strdup_printf ("%s/pushed-transpose", u->name) : g_strdup_printf ("%s/pushed-transpose-%d", u->name, j);
      t = qr_graph_add_node (graph, QR_OP_TRANSPOSE, name); /* may move the node array: u is stale now */
      t->source_op = g_strdup ("Transpose");
      t->inputs[t->n_inputs++] = mid;
      t->inputs[t->n_inputs++] = perm_id;
      t->outputs[t->n_outputs++] = u_out;
      qr_graph_tensor (graph, u_out)->producer = (int) graph->nodes->len - 1;
    }
  return TRUE;
}

static gboolean
sink_transposes (QrGraph *graph, GError **error)
{
  for (int round = 0; round < 1000; round++)
    {
      gboolean changed = FALSE;
      for (guint k = 0; k < graph->order->len; k++)
        if (push_transpose (graph, g_array_index (graph->order, int, k)))
          {
            changed = TRUE;
            break; /* the order is stale: recompute it */
          }
      if (!changed)
        return TRUE;
      if (!qr_graph_order_nodes (graph, error))
        return FALSE;
      qr_graph_compact_order (graph);
    }
  return TRUE;
}

/* Pad (zeros, on H and W only) → convolution with VALID padding: explicit padding instead. The
 * same before max pooling when the pad value is below any input (the pooling ignores it). */
static void
fuse_pads (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *pad = qr_graph_node (graph, g_array_index (graph->order, int, k));
      int pads[8], consumer;
      float value;
      QrNode *next;

      if (pad->dead || pad->op != QR_OP_PAD || const_values (graph, pad->inputs[1], pads, 8) != 8
          || pads[0] || pads[1] || pads[6] || pads[7] || qr_graph_is_output (graph, pad->outputs[0])
          || single_consumer (graph, pad->outputs[0], &consumer) != 1)
        continue;
      value = pad->n_inputs > 2 ? qr_graph_tensor (graph, pad->inputs[2])->data[0] : 0.0f;
      next = qr_graph_node (graph, consumer);
      if (next->inputs[0] != pad->outputs[0] || next->padding == QR_PAD_SAME)
        continue;
      if ((next->op == QR_OP_CONV2D || next->op == QR_OP_DEPTHWISE || next->op == QR_OP_AVGPOOL) && value != 0.0f)
        continue;
      if (next->op == QR_OP_AVGPOOL)
        continue; /* TensorFlow's average excludes padding, a Pad op's zeros count: not the same */
      if (next->op == QR_OP_MAXPOOL && value > -1e30f)
        continue;
      if (next->op != QR_OP_CONV2D && next->op != QR_OP_DEPTHWISE && next->op != QR_OP_MAXPOOL)
        continue;
      if (next->padding == QR_PAD_VALID)
        memset (next->pads, 0, sizeof next->pads);
      next->padding = QR_PAD_EXPLICIT;
      next->pads[0] += pads[2];
      next->pads[1] += pads[3];
      next->pads[2] += pads[4];
      next->pads[3] += pads[5];
      next->inputs[0] = pad->inputs[0];
      pad->dead = TRUE;
    }
}

/* Convolution (no activation) → Mul by a constant vector, one per output channel: the scale goes
 * into the weights and bias (a batch norm the converter left as Mul/Add folds this way). */
static void
fold_scales (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *mul = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrTensor *in, *c, *w;
      QrNode *conv;
      int side = -1, consumer, channels;
      gsize n;
      float *weights;

      if (mul->dead || mul->op != QR_OP_MUL)
        continue;
      for (int i = 0; i < 2; i++)
        if (qr_graph_tensor (graph, mul->inputs[i])->is_const)
          side = i;
      if (side < 0)
        continue;
      in = qr_graph_tensor (graph, mul->inputs[1 - side]);
      c = qr_graph_tensor (graph, mul->inputs[side]);
      if (in->producer < 0 || qr_graph_is_output (graph, mul->inputs[1 - side]))
        continue;
      conv = qr_graph_node (graph, in->producer);
      if ((conv->op != QR_OP_CONV2D && conv->op != QR_OP_DEPTHWISE) || conv->act != QR_ACT_NONE
          || single_consumer (graph, mul->inputs[1 - side], &consumer) != 1)
        continue;
      w = qr_graph_tensor (graph, conv->inputs[1]);
      channels = conv->op == QR_OP_CONV2D ? w->shape.dims[3] : w->shape.dims[2] * w->shape.dims[3];
      if (qr_shape_size (&c->shape) != (gsize) channels || c->shape.dims[c->shape.rank - 1] != channels)
        continue;
      /* New constants: the old ones may be shared with other nodes. */
      n = qr_shape_size (&w->shape);
      weights = g_memdup2 (w->data, n * sizeof (float));
      for (gsize i = 0; i < n; i++)
        weights[i] *= c->data[i % (gsize) channels];
      conv->inputs[1] = new_const (graph, w->name, &w->shape, weights);
      if (conv->n_inputs > 2)
        {
          QrTensor *b = qr_graph_tensor (graph, conv->inputs[2]);
          float *bias = g_memdup2 (b->data, (gsize) channels * sizeof (float));
          for (int i = 0; i < channels; i++)
            bias[i] *= c->data[i];
          conv->inputs[2] = new_const (graph, b->name, &b->shape, bias);
        }
      conv->outputs[0] = mul->outputs[0];
      qr_graph_tensor (graph, mul->outputs[0])->producer = in->producer;
      mul->dead = TRUE;
    }
}

/* Convolution without bias → Add (a constant vector, one per output channel): the bias. */
static void
fuse_bias (QrGraph *graph)
{
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *add = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrTensor *in, *c;
      QrNode *conv;
      int side = -1, consumer;

      if (add->dead || add->op != QR_OP_ADD)
        continue;
      for (int i = 0; i < 2; i++)
        if (qr_graph_tensor (graph, add->inputs[i])->is_const)
          side = i;
      if (side < 0)
        continue;
      in = qr_graph_tensor (graph, add->inputs[1 - side]);
      c = qr_graph_tensor (graph, add->inputs[side]);
      if (in->producer < 0 || qr_graph_is_output (graph, add->inputs[1 - side]))
        continue;
      conv = qr_graph_node (graph, in->producer);
      if ((conv->op != QR_OP_CONV2D && conv->op != QR_OP_DEPTHWISE) || conv->n_inputs != 2 || conv->act != QR_ACT_NONE
          || single_consumer (graph, add->inputs[1 - side], &consumer) != 1)
        continue;
      {
        QrShape *w = &qr_graph_tensor (graph, conv->inputs[1])->shape;
        int channels = conv->op == QR_OP_CONV2D ? w->dims[3] : w->dims[2] * w->dims[3];
        gboolean vector = qr_shape_size (&c->shape) == (gsize) channels && c->shape.rank >= 1
                          && c->shape.dims[c->shape.rank - 1] == channels;
        if (!vector)
          continue;
      }
      conv->inputs[conv->n_inputs++] = add->inputs[side];
      conv->outputs[0] = add->outputs[0];
      qr_graph_tensor (graph, add->outputs[0])->producer = in->producer;
      add->dead = TRUE;
    }
}

gboolean
qr_graph_rewrite (QrGraph *graph, GError **error)
{
  if (!fold_constants (graph, error))
    return FALSE;
  qr_graph_compact_order (graph);
  drop_identities (graph);
  qr_graph_compact_order (graph);
  if (!sink_transposes (graph, error))
    return FALSE;
  fuse_pads (graph);
  qr_graph_compact_order (graph);
  fold_scales (graph);
  qr_graph_compact_order (graph);
  fuse_bias (graph);
  qr_graph_compact_order (graph);
  recognise_hard_swish (graph);
  recognise_swish (graph);
  qr_graph_compact_order (graph);
  fuse_activations (graph);
  qr_graph_compact_order (graph);
  return TRUE;
}
