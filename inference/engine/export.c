/* export.c: a planned graph written out as JSON (nodes in execution order, attributes,
 * batch-1 shapes) plus one raw little-endian float32 file of its constants, so that another
 * framework can execute exactly the network Quorum runs: bench/torch-peer.py does, to time
 * PyTorch beside us on the same GPU. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

const char *
qr_op_name (QrOpType op)
{
  static const char *const names[] = {
    [QR_OP_INPUT] = "input", [QR_OP_CONST] = "const", [QR_OP_CONV2D] = "conv2d", [QR_OP_DEPTHWISE] = "depthwise",
    [QR_OP_ADD] = "add", [QR_OP_SUB] = "sub", [QR_OP_MUL] = "mul", [QR_OP_DIV] = "div", [QR_OP_MAXIMUM] = "maximum",
    [QR_OP_MINIMUM] = "minimum", [QR_OP_ACTIVATION] = "activation", [QR_OP_MEAN] = "mean", [QR_OP_RESIZE] = "resize",
    [QR_OP_CONCAT] = "concat", [QR_OP_MAXPOOL] = "maxpool", [QR_OP_AVGPOOL] = "avgpool", [QR_OP_RESHAPE] = "reshape",
    [QR_OP_TRANSPOSE] = "transpose", [QR_OP_PAD] = "pad", [QR_OP_SPLIT] = "split", [QR_OP_SLICE] = "slice",
    [QR_OP_SOFTMAX] = "softmax", [QR_OP_MATMUL] = "matmul", [QR_OP_IDENTITY] = "identity",
    [QR_OP_SPARSE_TO_DENSE] = "sparse_to_dense", [QR_OP_CAST] = "cast", [QR_OP_POW] = "pow", [QR_OP_GATHER] = "gather",
    [QR_OP_GREATER] = "greater", [QR_OP_LESS] = "less", [QR_OP_GREATER_EQUAL] = "greater_equal",
    [QR_OP_LESS_EQUAL] = "less_equal", [QR_OP_EQUAL] = "equal", [QR_OP_UNSUPPORTED] = "unsupported",
  };
  return (guint) op < G_N_ELEMENTS (names) && names[op] != NULL ? names[op] : "unsupported";
}

static const char *
act_name (QrActivation act)
{
  static const char *const names[] = { "none", "relu", "relu6", "leaky_relu", "sigmoid", "hard_swish", "swish", "mish",
                                       "tanh", "exp", "log", "sqrt", "erf", "neg", "abs", "reciprocal",
                                       "hard_sigmoid", "clip", "floor", "ceil", "round" };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == QR_ACT_ROUND + 1);
  return (guint) act < G_N_ELEMENTS (names) ? names[act] : "none";
}

static void
add_ints (JsonBuilder *b, const char *key, const int *values, int n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_int_value (b, values[i]);
  json_builder_end_array (b);
}

static void
add_tensor_list (JsonBuilder *b, QrGraph *graph, const char *key, const int *ids, int n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_string_value (b, qr_graph_tensor (graph, ids[i])->name);
  json_builder_end_array (b);
}

static gboolean
export_graph (QrGraph *graph, const char *json_path, const char *bin_path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *tmp_bin = g_strconcat (bin_path, ".tmp", NULL);
  FILE *bin = fopen (tmp_bin, "wb");
  gint64 offset = 0;

  if (bin == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: cannot write", tmp_bin);
      return FALSE;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, graph->source);
  add_tensor_list (b, graph, "inputs", (const int *) graph->inputs->data, (int) graph->inputs->len);
  add_tensor_list (b, graph, "outputs", (const int *) graph->outputs->data, (int) graph->outputs->len);

  json_builder_set_member_name (b, "tensors");
  json_builder_begin_object (b);
  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      gsize n = qr_shape_size (&t->shape);
      if (t->producer < 0 && !t->is_const)
        continue;
      json_builder_set_member_name (b, t->name);
      json_builder_begin_object (b);
      add_ints (b, "shape", t->shape.dims, t->shape.rank);
      if (t->is_const && t->data != NULL)
        {
          json_builder_set_member_name (b, "offset");
          json_builder_add_int_value (b, offset);
          if (fwrite (t->data, sizeof (float), n, bin) != n)
            {
              fclose (bin);
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: write failed", tmp_bin);
              return FALSE;
            }
          offset += (gint64) (n * sizeof (float));
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->op == QR_OP_INPUT)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, node->name);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, qr_op_name (node->op));
      add_tensor_list (b, graph, "inputs", node->inputs, node->n_inputs);
      add_tensor_list (b, graph, "outputs", node->outputs, node->n_outputs);
      json_builder_set_member_name (b, "act");
      json_builder_add_string_value (b, act_name (node->act));
      json_builder_set_member_name (b, "alpha");
      json_builder_add_double_value (b, node->alpha);
      add_ints (b, "stride", node->stride, 2);
      add_ints (b, "dilation", node->dilation, 2);
      add_ints (b, "kernel", node->kernel, 2);
      add_ints (b, "pads", node->pads, 4);
      add_ints (b, "axes", node->axes, QR_MAX_RANK);
      json_builder_set_member_name (b, "n_axes");
      json_builder_add_int_value (b, node->n_axes);
      json_builder_set_member_name (b, "axis");
      json_builder_add_int_value (b, node->axis);
      json_builder_set_member_name (b, "keep_dims");
      json_builder_add_boolean_value (b, node->keep_dims);
      json_builder_set_member_name (b, "align_corners");
      json_builder_add_boolean_value (b, node->align_corners);
      json_builder_set_member_name (b, "half_pixel");
      json_builder_add_boolean_value (b, node->half_pixel);
      json_builder_set_member_name (b, "nearest");
      json_builder_add_boolean_value (b, node->resize_mode == QR_RESIZE_NEAREST);
      json_builder_set_member_name (b, "transpose_a");
      json_builder_add_boolean_value (b, node->transpose_a);
      json_builder_set_member_name (b, "transpose_b");
      json_builder_add_boolean_value (b, node->transpose_b);
      add_ints (b, "begin", node->begin, QR_MAX_RANK);
      add_ints (b, "step", node->step, QR_MAX_RANK);
      json_builder_set_member_name (b, "flops");
      json_builder_add_double_value (b, node->flops);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  if (fclose (bin) != 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: write failed", tmp_bin);
      return FALSE;
    }
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  if (!json_generator_to_file (gen, json_path, error))
    return FALSE;
  if (g_rename (tmp_bin, bin_path) != 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: cannot rename to %s", tmp_bin, bin_path);
      return FALSE;
    }
  return TRUE;
}

gboolean
qr_graph_export (QrGraph *graph, int planned_batch, const char *json_path, const char *bin_path, GError **error)
{
  gboolean ok;

  /* shapes at batch 1, then back to what the backend planned for */
  if (!qr_graph_infer_shapes (graph, 1, error))
    return FALSE;
  ok = export_graph (graph, json_path, bin_path, error);
  if (!qr_graph_infer_shapes (graph, planned_batch, ok ? error : NULL))
    return FALSE;
  return ok;
}
