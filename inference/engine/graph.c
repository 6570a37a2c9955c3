/* graph.c: the graph IR: building, cutting at the chosen outputs, ordering, the memory plan, and
 * finishing a graph for use (unsupported ops refused, the load-time rewrites of rewrite.c, shape
 * inference for batch 1). */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (quorum-engine-error-quark, qr_engine_error)

gsize
qr_shape_size (const QrShape *shape)
{
  gsize n = 1;
  for (int i = 0; i < shape->rank; i++)
    n *= (gsize) MAX (shape->dims[i], 0);
  return n;
}

gboolean
qr_shape_equal (const QrShape *a, const QrShape *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return TRUE;
}

char *
qr_shape_to_string (const QrShape *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < shape->rank; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", shape->dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
tensor_free (QrTensor *t)
{
  g_free (t->name);
  if (t->is_const)
    g_free (t->data);
  g_free (t);
}

QrGraph *
qr_graph_new (const char *source)
{
  QrGraph *graph = g_new0 (QrGraph, 1);

  graph->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) tensor_free);
  graph->nodes = g_array_new (FALSE, TRUE, sizeof (QrNode));
  graph->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  graph->inputs = g_array_new (FALSE, FALSE, sizeof (int));
  graph->outputs = g_array_new (FALSE, FALSE, sizeof (int));
  graph->order = g_array_new (FALSE, FALSE, sizeof (int));
  graph->source = g_strdup (source);
  return graph;
}

void
qr_graph_free (QrGraph *graph)
{
  if (graph == NULL)
    return;
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      g_free (g_array_index (graph->nodes, QrNode, i).name);
      g_free (g_array_index (graph->nodes, QrNode, i).source_op);
    }
  g_array_unref (graph->nodes);
  g_hash_table_unref (graph->by_name);
  g_ptr_array_unref (graph->tensors);
  g_array_unref (graph->inputs);
  g_array_unref (graph->outputs);
  g_array_unref (graph->order);
  g_free (graph->source);
  g_free (graph);
}

int
qr_graph_add_tensor (QrGraph *graph, const char *name)
{
  QrTensor *t = g_new0 (QrTensor, 1);

  t->name = g_strdup (name);
  t->producer = -1;
  t->buffer = -1;
  g_ptr_array_add (graph->tensors, t);
  g_hash_table_insert (graph->by_name, t->name, GINT_TO_POINTER (graph->tensors->len));
  return (int) graph->tensors->len - 1;
}

int
qr_graph_add_const (QrGraph *graph, const char *name, int rank, const int *dims, float *data)
{
  int id = qr_graph_add_tensor (graph, name);
  QrTensor *t = qr_graph_tensor (graph, id);
  t->is_const = TRUE;
  t->shape.rank = rank;
  if (rank > 0)
    memcpy (t->shape.dims, dims, sizeof (int) * (gsize) rank);
  t->data = data;
  return id;
}

int
qr_graph_find_tensor (QrGraph *graph, const char *name)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (graph->by_name, name)) - 1;
}

QrTensor *
qr_graph_tensor (QrGraph *graph, int id)
{
  return graph->tensors->pdata[id];
}

QrNode *
qr_graph_node (QrGraph *graph, int id)
{
  return &g_array_index (graph->nodes, QrNode, id);
}

QrNode *
qr_graph_add_node (QrGraph *graph, QrOpType op, const char *name)
{
  QrNode node = { 0 };

  node.op = op;
  node.name = g_strdup (name);
  node.stride[0] = node.stride[1] = 1;
  node.dilation[0] = node.dilation[1] = 1;
  node.alpha = 0.2f; /* TensorFlow's LeakyRelu default */
  g_array_append_val (graph->nodes, node);
  return &g_array_index (graph->nodes, QrNode, graph->nodes->len - 1);
}

guint
qr_graph_get_n_nodes (QrGraph *graph)
{
  guint n = 0;
  for (guint i = 0; i < graph->order->len; i++)
    n++;
  return n;
}

gboolean
qr_graph_get_input_shape (QrGraph *graph, int *rank, int *dims)
{
  QrTensor *t;

  if (graph->inputs->len == 0)
    return FALSE;
  t = qr_graph_tensor (graph, g_array_index (graph->inputs, int, 0));
  *rank = t->shape.rank;
  for (int i = 0; i < t->shape.rank; i++)
    dims[i] = t->shape.dims[i];
  dims[0] = 1;
  return TRUE;
}

/* Ordering */

/* Depth first from node_id, with a stack of its own (a model file can chain any number of nodes;
 * recursion would run out of stack): each node after its inputs' producers. */
static gboolean
visit (QrGraph *graph, int node_id, guint8 *state, GError **error)
{
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (int) * 2);   /* node, next input */
  int top[2] = { node_id, 0 };

  if (state[node_id] == 2)
    return TRUE;
  state[node_id] = 1;
  g_array_append_val (stack, top);
  while (stack->len > 0)
    {
      int *frame = &g_array_index (stack, int, (stack->len - 1) * 2);
      QrNode *node = qr_graph_node (graph, frame[0]);

      if (frame[1] < node->n_inputs)
        {
          QrTensor *t = qr_graph_tensor (graph, node->inputs[frame[1]++]);
          int next[2] = { t->producer, 0 };
          if (t->producer < 0 || state[t->producer] == 2)
            continue;
          if (state[t->producer] == 1)
            {
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: the graph has a cycle through %s",
                           graph->source, qr_graph_node (graph, t->producer)->name);
              return FALSE;
            }
          state[t->producer] = 1;
          g_array_append_val (stack, next);
          continue;
        }
      state[frame[0]] = 2;
      g_array_append_val (graph->order, frame[0]);
      g_array_set_size (stack, stack->len - 1);
    }
  return TRUE;
}

/* Orders the nodes that the outputs need (everything else is cut away). */
gboolean
qr_graph_order_nodes (QrGraph *graph, GError **error)
{
  g_autofree guint8 *state = g_new0 (guint8, graph->nodes->len);

  g_array_set_size (graph->order, 0);
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, g_array_index (graph->outputs, int, i));
      if (t->producer >= 0 && !visit (graph, t->producer, state, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
qr_graph_is_output (QrGraph *graph, int tensor)
{
  for (guint i = 0; i < graph->outputs->len; i++)
    if (g_array_index (graph->outputs, int, i) == tensor)
      return TRUE;
  return FALSE;
}

GArray *
qr_graph_plan_buffers (QrGraph *graph)
{
  GArray *buffers = g_array_new (FALSE, FALSE, sizeof (QrPlannedBuffer));
  g_autoptr (GArray) busy = g_array_new (FALSE, TRUE, sizeof (gboolean));

  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      t->last_use = -1;
      if (!t->is_const)
        t->buffer = -1;
    }
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      for (int i = 0; i < node->n_inputs; i++)
        qr_graph_tensor (graph, node->inputs[i])->last_use = (int) k;
    }
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      for (int o = 0; o < node->n_outputs; o++)
        {
          QrTensor *t = qr_graph_tensor (graph, node->outputs[o]);
          gsize size = qr_shape_size (&t->shape);
          int best = -1;
          for (guint b = 0; b < buffers->len; b++)
            {
              gsize have = g_array_index (buffers, QrPlannedBuffer, b).size;
              if (!g_array_index (busy, gboolean, b) && have >= size
                  && (best < 0 || have < g_array_index (buffers, QrPlannedBuffer, best).size))
                best = (int) b;
            }
          if (best < 0)
            {
              QrPlannedBuffer b = { MAX (size, 1), node->outputs[o] };
              g_array_append_val (buffers, b);
              g_array_set_size (busy, buffers->len);
              best = (int) buffers->len - 1;
            }
          g_array_index (busy, gboolean, best) = TRUE;
          t->buffer = best;
        }
      for (int i = 0; i < node->n_inputs; i++)
        {
          QrTensor *t = qr_graph_tensor (graph, node->inputs[i]);
          if (!t->is_const && t->buffer >= 0 && t->last_use == (int) k && !qr_graph_is_output (graph, node->inputs[i])
              && t->producer >= 0 && qr_graph_node (graph, t->producer)->op != QR_OP_INPUT)
            g_array_index (busy, gboolean, t->buffer) = FALSE;
        }
    }
  return buffers;
}
static void
count_consumers (QrGraph *graph)
{
  for (guint i = 0; i < graph->tensors->len; i++)
    qr_graph_tensor (graph, (int) i)->n_consumers = 0;
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->dead)
        continue;
      for (int i = 0; i < node->n_inputs; i++)
        qr_graph_tensor (graph, node->inputs[i])->n_consumers++;
    }
}

void
qr_graph_compact_order (QrGraph *graph)
{
  guint j = 0;
  for (guint k = 0; k < graph->order->len; k++)
    {
      int id = g_array_index (graph->order, int, k);
      if (!qr_graph_node (graph, id)->dead)
        g_array_index (graph->order, int, j++) = id;
    }
  g_array_set_size (graph->order, j);
}

/* Numbers are checked at the door: a weight that is NaN or infinite would reach every score after
 * it (and NaN passes any threshold test written as "below"). After the load-time rewrites too:
 * folding a batch norm with a negative variance makes NaN out of finite numbers. */
static gboolean
check_finite (QrGraph *graph, gboolean folded, GError **error)
{
  /* what live nodes read: 1 as a pad's fill value only (it may be −∞: padding before a max
   * pool), 3 as an additive attention mask only (an add read by softmaxes alone: −∞ masks a
   * position out), 4 otherwise (it must be finite) */
  g_autofree guint8 *use = g_new0 (guint8, MAX (graph->tensors->len, 1));
  g_autofree guint8 *read_by = g_new0 (guint8, MAX (graph->tensors->len, 1));   /* 1 softmax, 2 other */
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      QrNode *node = qr_graph_node (graph, (int) i);
      for (int k = 0; !node->dead && k < node->n_inputs; k++)
        read_by[node->inputs[k]] |= node->op == QR_OP_SOFTMAX ? 1 : 2;
    }
  for (guint i = 0; i < graph->outputs->len; i++)
    read_by[g_array_index (graph->outputs, int, i)] |= 2;
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      QrNode *node = qr_graph_node (graph, (int) i);
      gboolean mask = node->op == QR_OP_ADD && node->n_outputs == 1 && read_by[node->outputs[0]] == 1;
      for (int k = 0; !node->dead && k < node->n_inputs; k++)
        use[node->inputs[k]] = MAX (use[node->inputs[k]], node->op == QR_OP_PAD && k == 2 ? 1 : mask ? 3 : 4);
    }
  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      gsize n;
      if (!t->is_const || t->data == NULL || use[i] == 0)
        continue;
      n = qr_shape_size (&t->shape);
      for (gsize k = 0; k < n; k++)
        if (isnan (t->data[k])
            || (isinf (t->data[k]) && !(use[i] == 1 && n == 1) && !(use[i] == 3 && t->data[k] < 0)))
          {
            g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS,
                         folded ? "%s: weights folded into %s hold %s at %" G_GSIZE_FORMAT " (a batch norm with a "
                                  "negative variance?)"
                                : "%s: weight %s holds %s at %" G_GSIZE_FORMAT,
                         graph->source, t->name ? t->name : "(unnamed)", isnan (t->data[k]) ? "NaN" : "an infinity",
                         k);
            return FALSE;
          }
    }
  return TRUE;
}

gboolean
qr_graph_finish (QrGraph *graph, GError **error)
{
  if (!qr_graph_order_nodes (graph, error))
    return FALSE;
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->op == QR_OP_UNSUPPORTED)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED,
                       "%s: node %s: op %s is not supported (cut the graph before it, or it needs an engine "
                       "that has it)", graph->source, node->name, node->source_op);
          return FALSE;
        }
    }
  if (!check_finite (graph, FALSE, error) || !qr_graph_rewrite (graph, error)
      || !check_finite (graph, TRUE, error) || !qr_graph_order_nodes (graph, error))
    return FALSE;
  qr_graph_compact_order (graph);
  count_consumers (graph);
  if (g_getenv ("QUORUM_DUMP_GRAPH") != NULL)
    for (guint k = 0; k < graph->order->len; k++)
      {
        QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
        g_printerr ("%3u %-14s act %d in", k, node->source_op ? node->source_op : "?", node->act);
        for (int i = 0; i < node->n_inputs; i++)
          {
            QrTensor *t = qr_graph_tensor (graph, node->inputs[i]);
            g_printerr (" %s%d", t->is_const ? "c" : "", t->producer);
          }
        g_printerr ("  (%s)\n", node->name);
      }
  return qr_graph_infer_shapes (graph, 1, error);
}
