/* tfjs.c: TF.js graph models: model.json (a TensorFlow GraphDef as JSON, plus a weights
 * manifest) and its .bin shards. Weights may be float32, int32, or quantised to float16 or
 * uint8/uint16 (value = q · scale + min); every weight file is checked against the manifest's
 * size before anything is read from it. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <json-glib/json-glib.h>

static gboolean
fail (const char *path, GError **error, int code, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (const char *path, GError **error, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QR_ENGINE_ERROR, code, "%s: %s", path, message);
  return FALSE;
}

/* json-glib warns when asked for a member that is not there: ask first. */
static JsonObject *
object_member (JsonObject *object, const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, name)) ? json_object_get_object_member (object, name)
                                                                         : NULL;
}

/* A member holding a string, else NULL (json-glib warns for a missing one and returns NULL for
 * one of another type). */
static const char *
string_member (JsonObject *object, const char *name)
{
  JsonNode *node;
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  node = json_object_get_member (object, name);
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node)
                                                                                         : NULL;
}

/* Element i of an array when it is an object, else NULL. */
static JsonObject *
object_element (JsonArray *array, guint i)
{
  JsonNode *node = json_array_get_element (array, i);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Element i of an array when it is a string, else NULL. */
static const char *
string_element (JsonArray *array, guint i)
{
  JsonNode *node = json_array_get_element (array, i);
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node)
                                                                                         : NULL;
}

static JsonArray *
array_member (JsonObject *object, const char *name)
{
  if (object == NULL || !json_object_has_member (object, name))
    return NULL;
  return JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, name)) ? json_object_get_array_member (object, name)
                                                                        : NULL;
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h >> 15) << 31, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
  float f;

  if (exponent == 0)
    {
      if (mantissa == 0)
        bits = sign;
      else
        {
          /* subnormal: normalise */
          int e = -1;
          do
            {
              e++;
              mantissa <<= 1;
            }
          while ((mantissa & 0x400) == 0);
          bits = sign | ((guint32) (127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
        }
    }
  else if (exponent == 31)
    bits = sign | 0x7F800000 | (mantissa << 13);
  else
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  memcpy (&f, &bits, sizeof f);
  return f;
}

static int
element_bytes (const char *dtype, const char *quantised)
{
  if (quantised != NULL)
    {
      if (g_str_equal (quantised, "float16") || g_str_equal (quantised, "uint16"))
        return 2;
      if (g_str_equal (quantised, "uint8"))
        return 1;
      return 0;
    }
  if (g_str_equal (dtype, "float32") || g_str_equal (dtype, "int32"))
    return 4;
  if (g_str_equal (dtype, "bool"))
    return 1;
  return 0;
}

static gboolean
read_shape (JsonArray *dims, QrShape *shape, const char *path, const char *name, GError **error)
{
  guint n = dims ? json_array_get_length (dims) : 0;

  if (n > QR_MAX_RANK)
    return fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "weight %s has rank %u (at most %d)", name, n, QR_MAX_RANK);
  shape->rank = (int) n;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (dims, i);
      gint64 d;
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        return fail (path, error, QR_ENGINE_ERROR_FORMAT, "weight %s: its shape is not a list of whole numbers", name);
      d = json_node_get_int (node);
      if (d < 0 || d > G_MAXINT)
        return fail (path, error, QR_ENGINE_ERROR_FORMAT, "weight %s has a bad dimension", name);
      shape->dims[i] = (int) d;
    }
  return TRUE;
}

/* Reads every weight group: its shards, concatenated, hold its weights in manifest order. */
static gboolean
load_weights (QrGraph *graph, JsonArray *manifest, const char *dir, const char *path, GError **error)
{
  for (guint g = 0; g < json_array_get_length (manifest); g++)
    {
      JsonObject *group = object_element (manifest, g);
      JsonArray *paths = array_member (group, "paths");
      JsonArray *weights = array_member (group, "weights");
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      gsize expected = 0, offset = 0;

      if (paths == NULL || weights == NULL)
        return fail (path, error, QR_ENGINE_ERROR_FORMAT, "weights manifest group %u lacks paths or weights", g);
      for (guint w = 0; w < json_array_get_length (weights); w++)
        {
          JsonObject *o = object_element (weights, w);
          JsonObject *q = object_member (o, "quantization");
          QrShape shape;
          const char *name = string_member (o, "name"), *dtype = string_member (o, "dtype");
          const char *qtype = q ? string_member (q, "dtype") : NULL;
          int size;
          /* fuzz-tfjs found an entry without a name reaching json-glib's criticals */
          if (o == NULL || name == NULL || dtype == NULL || (q != NULL && qtype == NULL))
            return fail (path, error, QR_ENGINE_ERROR_FORMAT, "weights manifest group %u, weight %u: %s", g, w,
                         o == NULL ? "not an object" : name == NULL ? "no name" : dtype == NULL ? "no dtype"
                                                                                : "a quantization without a dtype");
          size = element_bytes (dtype, qtype);
          if (size == 0)
            return fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED,
                         "weight %s has dtype %s%s%s, which Quorum does not read (float32, int32 and bool; quantised "
                         "uint8, uint16 and float16)", name, dtype, q ? ", quantised as " : "", q ? qtype : "");
          if (!read_shape (array_member (o, "shape"), &shape, path, name, error))
            return FALSE;
          expected += qr_shape_size (&shape) * (gsize) size;
        }
      for (guint p = 0; p < json_array_get_length (paths); p++)
        {
          const char *shard_name = string_element (paths, p);
          g_autofree char *shard = NULL;
          g_autofree char *contents = NULL;
          gsize len = 0;
          if (shard_name == NULL || strchr (shard_name, '/') != NULL || g_str_equal (shard_name, ".."))
            return fail (path, error, QR_ENGINE_ERROR_FORMAT, "a weight shard name must be a file beside model.json");
          shard = g_build_filename (dir, shard_name, NULL);
          if (!g_file_get_contents (shard, &contents, &len, NULL))
            return fail (shard, error, QR_ENGINE_ERROR_WEIGHTS, "cannot read this weight file");
          g_byte_array_append (bytes, (guint8 *) contents, (guint) len);
        }
      if (bytes->len != expected)
        return fail (path, error, QR_ENGINE_ERROR_WEIGHTS,
                     "the weight files hold %u bytes, the manifest needs %" G_GSIZE_FORMAT " (%s)", bytes->len,
                     expected, bytes->len < expected ? "too short" : "too long");

      for (guint w = 0; w < json_array_get_length (weights); w++)
        {
          JsonObject *o = object_element (weights, w);   /* checked above */
          JsonObject *q = object_member (o, "quantization");
          const char *name = string_member (o, "name");
          const char *dtype = string_member (o, "dtype");
          const char *qtype = q ? string_member (q, "dtype") : NULL;
          int size = element_bytes (dtype, qtype);
          QrShape shape;
          gsize n;
          int id = qr_graph_add_tensor (graph, name);
          QrTensor *t = qr_graph_tensor (graph, id);
          const guint8 *src;

          read_shape (array_member (o, "shape"), &shape, path, name, NULL);
          n = qr_shape_size (&shape);
          t->shape = shape;
          t->is_const = TRUE;
          t->data = g_new0 (float, MAX (n, 1));
          /* an empty tensor reads nothing (with no shard at all the byte array has no data to point into) */
          if (n == 0)
            continue;
          src = bytes->data + offset;
          /* the element type is decided once per tensor, not per element (CenterNet has millions) */
          if (qtype != NULL && g_str_equal (qtype, "float16"))
            for (gsize i = 0; i < n; i++)
              {
                guint16 h;
                memcpy (&h, src + i * 2, 2);
                t->data[i] = half_to_float (GUINT16_FROM_LE (h));
              }
          else if (qtype != NULL)
            {
              double scale = json_object_get_double_member_with_default (q, "scale", 1.0);
              double min = json_object_get_double_member_with_default (q, "min", 0.0);
              for (gsize i = 0; i < n; i++)
                {
                  guint v = size == 1 ? src[i] : (guint) GUINT16_FROM_LE (((const guint16 *) src)[i]);
                  t->data[i] = (float) (v * scale + min);
                }
            }
          else if (g_str_equal (dtype, "float32"))
            memcpy (t->data, src, n * 4);
          else if (g_str_equal (dtype, "int32"))
            for (gsize i = 0; i < n; i++)
              {
                gint32 v;
                memcpy (&v, src + i * 4, 4);
                t->data[i] = (float) GINT32_FROM_LE (v);
              }
          else
            for (gsize i = 0; i < n; i++)
              t->data[i] = src[i] ? 1.0f : 0.0f;
          offset += n * (gsize) size;
        }
    }
  return TRUE;
}

/* Attributes */

static JsonObject *
attr (JsonObject *node, const char *name)
{
  return object_member (object_member (node, "attr"), name);
}

static char *
attr_string (JsonObject *node, const char *name)
{
  JsonObject *a = attr (node, name);
  const char *b64 = a ? string_member (a, "s") : NULL;
  gsize len = 0;
  guchar *raw;

  if (b64 == NULL)
    return NULL;
  raw = g_base64_decode (b64, &len);
  {
    char *text = g_strndup ((const char *) raw, len);
    g_free (raw);
    return text;
  }
}

static int
attr_int (JsonObject *node, const char *name, int fallback)
{
  JsonObject *a = attr (node, name);
  JsonNode *v = a && json_object_has_member (a, "i") ? json_object_get_member (a, "i") : NULL;

  if (v == NULL)
    return fallback;
  /* TF.js writes 64-bit ints as strings */
  return json_node_get_value_type (v) == G_TYPE_STRING ? atoi (json_node_get_string (v)) : (int) json_node_get_int (v);
}

static gboolean
attr_bool (JsonObject *node, const char *name)
{
  JsonObject *a = attr (node, name);
  return a ? json_object_get_boolean_member_with_default (a, "b", FALSE) : FALSE;
}

static double
attr_float (JsonObject *node, const char *name, double fallback)
{
  JsonObject *a = attr (node, name);
  return a && json_object_has_member (a, "f") ? json_object_get_double_member (a, "f") : fallback;
}

static int
attr_ints (JsonObject *node, const char *name, int *out, int max)
{
  JsonObject *a = attr (node, name);
  JsonArray *items = array_member (object_member (a, "list"), "i");
  int n = items ? (int) json_array_get_length (items) : 0;

  for (int i = 0; i < n && i < max; i++)
    {
      JsonNode *v = json_array_get_element (items, (guint) i);
      /* TF.js writes 64-bit ints as strings */
      out[i] = json_node_get_value_type (v) == G_TYPE_STRING ? atoi (json_node_get_string (v))
                                                             : (int) json_node_get_int (v);
    }
  return n;
}

static gboolean
conv_attributes (QrNode *qn, JsonObject *node, const char *path, GError **error)
{
  int v[8];
  g_autofree char *padding = attr_string (node, "padding");
  g_autofree char *format = attr_string (node, "data_format");

  if (format != NULL && !g_str_equal (format, "NHWC"))
    return fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: data format %s (only NHWC)", qn->name, format);
  if (attr_ints (node, "strides", v, 4) == 4)
    qn->stride[0] = v[1], qn->stride[1] = v[2];
  if (attr_ints (node, "dilations", v, 4) == 4)
    qn->dilation[0] = v[1], qn->dilation[1] = v[2];
  if (attr_ints (node, "ksize", v, 4) == 4)
    qn->kernel[0] = v[1], qn->kernel[1] = v[2];
  if (padding == NULL || g_str_equal (padding, "VALID"))
    qn->padding = QR_PAD_VALID;
  else if (g_str_equal (padding, "SAME"))
    qn->padding = QR_PAD_SAME;
  else if (g_str_equal (padding, "EXPLICIT"))
    {
      qn->padding = QR_PAD_EXPLICIT;
      if (attr_ints (node, "explicit_paddings", v, 8) != 8)
        return fail (path, error, QR_ENGINE_ERROR_FORMAT, "node %s: explicit padding needs 8 values", qn->name);
      qn->pads[0] = v[2], qn->pads[1] = v[3], qn->pads[2] = v[4], qn->pads[3] = v[5];
    }
  else
    return fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: padding %s", qn->name, padding);
  return TRUE;
}

static gboolean
fused_ops (QrNode *qn, JsonObject *node, const char *path, GError **error)
{
  JsonObject *a = attr (node, "fused_ops");
  JsonArray *items = array_member (object_member (a, "list"), "s");

  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      gsize len;
      const char *item = string_element (items, i);
      g_autofree guchar *raw = g_base64_decode (item ? item : "", &len);
      g_autofree char *op = g_strndup ((const char *) raw, len);

      if (g_str_equal (op, "BiasAdd"))
        continue;
      if (g_str_equal (op, "Relu"))
        qn->act = QR_ACT_RELU;
      else if (g_str_equal (op, "Relu6"))
        qn->act = QR_ACT_RELU6;
      else if (g_str_equal (op, "LeakyRelu"))
        qn->act = QR_ACT_LEAKY_RELU, qn->alpha = (float) attr_float (node, "leakyrelu_alpha", 0.2);
      else if (g_str_equal (op, "Sigmoid"))
        qn->act = QR_ACT_SIGMOID;
      else
        return fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: fused op %s is not supported", qn->name, op);
    }
  return TRUE;
}

typedef struct
{
  const char *tf;
  QrOpType    op;
  QrActivation act;
} OpMap;

static const OpMap op_map[] = {
  { "_FusedConv2D", QR_OP_CONV2D, 0 },
  { "Conv2D", QR_OP_CONV2D, 0 },
  { "FusedDepthwiseConv2dNative", QR_OP_DEPTHWISE, 0 },
  { "DepthwiseConv2dNative", QR_OP_DEPTHWISE, 0 },
  { "Add", QR_OP_ADD, 0 },
  { "AddV2", QR_OP_ADD, 0 },
  { "BiasAdd", QR_OP_ADD, 0 },
  { "Sub", QR_OP_SUB, 0 },
  { "Mul", QR_OP_MUL, 0 },
  { "RealDiv", QR_OP_DIV, 0 },
  { "Div", QR_OP_DIV, 0 },
  { "Maximum", QR_OP_MAXIMUM, 0 },
  { "Minimum", QR_OP_MINIMUM, 0 },
  { "Relu", QR_OP_ACTIVATION, QR_ACT_RELU },
  { "Relu6", QR_OP_ACTIVATION, QR_ACT_RELU6 },
  { "LeakyRelu", QR_OP_ACTIVATION, QR_ACT_LEAKY_RELU },
  { "Sigmoid", QR_OP_ACTIVATION, QR_ACT_SIGMOID },
  { "Mean", QR_OP_MEAN, 0 },
  { "ResizeBilinear", QR_OP_RESIZE, 0 },
  { "ResizeNearestNeighbor", QR_OP_RESIZE, 0 },
  { "ConcatV2", QR_OP_CONCAT, 0 },
  { "MaxPool", QR_OP_MAXPOOL, 0 },
  { "AvgPool", QR_OP_AVGPOOL, 0 },
  { "Reshape", QR_OP_RESHAPE, 0 },
  { "Transpose", QR_OP_TRANSPOSE, 0 },
  { "Pad", QR_OP_PAD, 0 },
  { "PadV2", QR_OP_PAD, 0 },
  { "SplitV", QR_OP_SPLIT, 0 },
  { "Softmax", QR_OP_SOFTMAX, 0 },
  { "MatMul", QR_OP_MATMUL, 0 },
  { "Identity", QR_OP_IDENTITY, 0 },
  { "Cast", QR_OP_CAST, 0 },
  { "SparseToDense", QR_OP_SPARSE_TO_DENSE, 0 },
  { "Slice", QR_OP_SLICE, 0 },
  { "FusedBatchNorm", QR_OP_MUL, 0 },
  { "FusedBatchNormV3", QR_OP_MUL, 0 },
  { "StridedSlice", QR_OP_SLICE, 0 },
};

typedef struct
{
  int   output;   /* the batch norm's tensor, now written by the Add */
  int   mid;      /* the Mul's output */
  int   shift;
  char *name;
} PendingAdd;

static void
pending_add_clear (gpointer data)
{
  g_free (((PendingAdd *) data)->name);
}

static char *
strip_output_zero (const char *name)
{
  if (g_str_has_suffix (name, ":0"))
    return g_strndup (name, strlen (name) - 2);
  return g_strdup (name);
}

QrGraph *
qr_graph_load_tfjs (const char *path, const char *const *outputs, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (QrGraph) graph = qr_graph_new (path);
  g_autoptr (GArray) pending_adds = g_array_new (FALSE, FALSE, sizeof (PendingAdd));
  JsonObject *root, *topology;
  JsonArray *nodes, *manifest;

  g_array_set_clear_func (pending_adds, pending_add_clear);

  if (!json_parser_load_from_file (parser, path, &local))
    {
      int code = local->domain == G_FILE_ERROR ? QR_ENGINE_ERROR_IO : QR_ENGINE_ERROR_FORMAT;
      /* json-glib's parse errors already start with the path: not twice */
      if (g_str_has_prefix (local->message, path))
        g_set_error_literal (error, QR_ENGINE_ERROR, code, local->message);
      else
        fail (path, error, code, "%s", local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      fail (path, error, QR_ENGINE_ERROR_FORMAT, "an empty file, not a TF.js model.json");
      return NULL;
    }
  root = JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)) ? json_node_get_object (json_parser_get_root (parser)) : NULL;
  topology = object_member (root, "modelTopology");
  nodes = array_member (topology, "node");
  manifest = array_member (root, "weightsManifest");
  if (nodes == NULL || manifest == NULL)
    {
      fail (path, error, QR_ENGINE_ERROR_FORMAT, "not a TF.js graph model (no modelTopology.node or weightsManifest)");
      return NULL;
    }
  if (!load_weights (graph, manifest, dir, path, error))
    return NULL;

  /* First pass: every node's output tensors, so inputs can name nodes defined later. */
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = object_element (nodes, i);
      const char *name = string_member (n, "name");
      const char *op = string_member (n, "op") ? string_member (n, "op") : "";
      QrNode *qn;
      int n_out = 1;

      if (name == NULL)
        {
          fail (path, error, QR_ENGINE_ERROR_FORMAT, "node %u has no name", i);
          return NULL;
        }
      if (g_str_equal (op, "Const"))
        {
          if (qr_graph_find_tensor (graph, name) < 0)
            {
              fail (path, error, QR_ENGINE_ERROR_WEIGHTS, "constant %s has no weights in the manifest", name);
              return NULL;
            }
          continue;
        }
      qn = qr_graph_add_node (graph, QR_OP_UNSUPPORTED, name);
      qn->source_op = g_strdup (op);
      if (g_str_equal (op, "SplitV") || g_str_equal (op, "Split"))
        {
          n_out = CLAMP (attr_int (n, "num_split", 1), 1, QR_MAX_OUTPUTS);
        }
      else if (g_str_equal (op, "TopKV2"))
        n_out = 2;
      for (int o = 0; o < n_out; o++)
        {
          g_autofree char *tname = o == 0 ? g_strdup (name) : g_strdup_printf ("%s:%d", name, o);
          int id = qr_graph_add_tensor (graph, tname);
          QrNode *current = qr_graph_node (graph, (int) graph->nodes->len - 1);
          qr_graph_tensor (graph, id)->producer = (int) graph->nodes->len - 1;
          current->outputs[current->n_outputs++] = id;
        }
    }

  /* Second pass: ops, attributes, inputs. */
  for (guint i = 0, node_id = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = object_element (nodes, i);
      const char *op = string_member (n, "op") ? string_member (n, "op") : "";
      JsonArray *inputs = array_member (n, "input");
      QrNode *qn;

      if (g_str_equal (op, "Const"))
        continue;
      qn = qr_graph_node (graph, (int) node_id++);
      for (guint k = 0; k < G_N_ELEMENTS (op_map); k++)
        if (g_str_equal (op, op_map[k].tf))
          {
            qn->op = op_map[k].op;
            qn->act = op_map[k].act;
          }
      if (g_str_equal (op, "Placeholder"))
        {
          JsonObject *a = attr (n, "shape");
          JsonArray *dims = array_member (object_member (a, "shape"), "dim");
          QrTensor *t = qr_graph_tensor (graph, qn->outputs[0]);
          qn->op = QR_OP_INPUT;
          t->shape.rank = dims ? (int) MIN (json_array_get_length (dims), QR_MAX_RANK) : 0;
          for (int d = 0; d < t->shape.rank; d++)
            {
              JsonObject *dim = object_element (dims, (guint) d);
              const char *size = string_member (dim, "size") ? string_member (dim, "size") : "-1";
              int v = atoi (size);
              t->shape.dims[d] = v > 0 ? v : 1;
            }
          g_array_append_val (graph->inputs, qn->outputs[0]);
          continue;
        }
      for (guint k = 0; inputs != NULL && k < json_array_get_length (inputs); k++)
        {
          const char *input = string_element (inputs, k);
          g_autofree char *iname = NULL;
          int id;
          if (input == NULL)
            {
              fail (path, error, QR_ENGINE_ERROR_FORMAT, "node %s: input %u is not a name", qn->name, k);
              return NULL;
            }
          if (input[0] == '^')
            continue; /* a control dependency */
          iname = strip_output_zero (input);
          id = qr_graph_find_tensor (graph, iname);
          if (id < 0)
            {
              fail (path, error, QR_ENGINE_ERROR_FORMAT, "node %s reads %s, which no node or weight provides",
                    qn->name, input);
              return NULL;
            }
          if (qn->n_inputs == QR_MAX_INPUTS)
            {
              fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s has more than %d inputs", qn->name,
                    QR_MAX_INPUTS);
              return NULL;
            }
          qn->inputs[qn->n_inputs++] = id;
        }
      if (g_str_has_prefix (op, "FusedBatchNorm"))
        {
          /* y = (x − mean) / sqrt (var + ε) · γ + β  =  x · s + (β − mean · s): a Mul now, an Add
           * appended below; both then fold into the convolution before them. */
          int ids[5];
          QrShape shape;
          float *scale, *shift;
          double eps = attr_float (n, "epsilon", 1e-3);
          gsize channels;
          g_autofree char *format = attr_string (n, "data_format");
          if (qn->n_inputs != 5 || (format != NULL && !g_str_equal (format, "NHWC")))
            {
              fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: a batch norm needs 5 inputs, NHWC", qn->name);
              return NULL;
            }
          for (int k = 1; k < 5; k++)
            {
              ids[k] = qn->inputs[k];
              if (!qr_graph_tensor (graph, ids[k])->is_const)
                {
                  fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: batch norm parameters must be constant", qn->name);
                  return NULL;
                }
            }
          shape = qr_graph_tensor (graph, ids[1])->shape;
          channels = qr_shape_size (&shape);
          for (int k = 2; k < 5; k++)
            if (qr_shape_size (&qr_graph_tensor (graph, ids[k])->shape) != channels)
              {
                fail (path, error, QR_ENGINE_ERROR_SHAPE, "node %s: batch norm parameters differ in length", qn->name);
                return NULL;
              }
          scale = g_new (float, MAX (channels, 1));
          shift = g_new (float, MAX (channels, 1));
          for (gsize c = 0; c < channels; c++)
            {
              float gamma = qr_graph_tensor (graph, ids[1])->data[c], beta = qr_graph_tensor (graph, ids[2])->data[c];
              float mean = qr_graph_tensor (graph, ids[3])->data[c], var = qr_graph_tensor (graph, ids[4])->data[c];
              if (!(var + (float) eps > 0))
                {
                  fail (path, error, QR_ENGINE_ERROR_WEIGHTS,
                        "node %s: batch norm variance %g at channel %" G_GSIZE_FORMAT " (a negative variance)", qn->name,
                        (double) var, c);
                  g_free (scale);
                  g_free (shift);
                  return NULL;
                }
              scale[c] = gamma / sqrtf (var + (float) eps);
              shift[c] = beta - mean * scale[c];
            }
          {
            g_autofree char *scale_name = g_strconcat (qn->name, "/folded-scale", NULL);
            g_autofree char *shift_name = g_strconcat (qn->name, "/folded-shift", NULL);
            g_autofree char *mid_name = g_strconcat (qn->name, "/scaled", NULL);
            int scale_id = qr_graph_add_tensor (graph, scale_name), shift_id = qr_graph_add_tensor (graph, shift_name);
            int mid = qr_graph_add_tensor (graph, mid_name);
            PendingAdd pending;
            qr_graph_tensor (graph, scale_id)->is_const = TRUE;
            qr_graph_tensor (graph, scale_id)->shape = shape;
            qr_graph_tensor (graph, scale_id)->data = scale;
            qr_graph_tensor (graph, shift_id)->is_const = TRUE;
            qr_graph_tensor (graph, shift_id)->shape = shape;
            qr_graph_tensor (graph, shift_id)->data = shift;
            qn->n_inputs = 2;
            qn->inputs[1] = scale_id;
            pending.output = qn->outputs[0];
            pending.mid = mid;
            pending.shift = shift_id;
            pending.name = g_strdup (qn->name);
            qn->outputs[0] = mid;
            qr_graph_tensor (graph, mid)->producer = (int) node_id - 1;
            g_array_append_val (pending_adds, pending);
          }
          continue;
        }
      switch (qn->op)
        {
        case QR_OP_CONV2D:
        case QR_OP_DEPTHWISE:
          if (!conv_attributes (qn, n, path, error) || !fused_ops (qn, n, path, error))
            return NULL;
          if (qn->n_inputs < 2 || qn->n_inputs > 3)
            {
              fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "node %s: a convolution with %d inputs", qn->name,
                    qn->n_inputs);
              return NULL;
            }
          break;
        case QR_OP_MAXPOOL:
        case QR_OP_AVGPOOL:
          if (!conv_attributes (qn, n, path, error))
            return NULL;
          break;
        case QR_OP_ACTIVATION:
          if (qn->act == QR_ACT_LEAKY_RELU)
            qn->alpha = (float) attr_float (n, "alpha", 0.2);
          break;
        case QR_OP_MEAN:
          qn->keep_dims = attr_bool (n, "keep_dims");
          break;
        case QR_OP_RESIZE:
          qn->align_corners = attr_bool (n, "align_corners");
          qn->half_pixel = attr_bool (n, "half_pixel_centers");
          qn->resize_mode = g_str_equal (op, "ResizeBilinear") ? QR_RESIZE_BILINEAR : QR_RESIZE_NEAREST;
          break;
        case QR_OP_SLICE:
          qn->strided = g_str_equal (op, "StridedSlice");
          qn->begin_mask = attr_int (n, "begin_mask", 0);
          qn->end_mask = attr_int (n, "end_mask", 0);
          qn->shrink_mask = attr_int (n, "shrink_axis_mask", 0);
          qn->ellipsis_mask = attr_int (n, "ellipsis_mask", 0);
          qn->new_axis_mask = attr_int (n, "new_axis_mask", 0);
          break;
        case QR_OP_MATMUL:
          qn->transpose_a = attr_bool (n, "transpose_a");
          qn->transpose_b = attr_bool (n, "transpose_b");
          break;
        default:
          break;
        }
    }

  for (guint i = 0; i < pending_adds->len; i++)
    {
      PendingAdd *pending = &g_array_index (pending_adds, PendingAdd, i);
      g_autofree char *name = g_strconcat (pending->name, "/shift", NULL);
      QrNode *add = qr_graph_add_node (graph, QR_OP_ADD, name);
      add->source_op = g_strdup ("FusedBatchNorm");
      add->inputs[add->n_inputs++] = pending->mid;
      add->inputs[add->n_inputs++] = pending->shift;
      add->outputs[add->n_outputs++] = pending->output;
      qr_graph_tensor (graph, pending->output)->producer = (int) graph->nodes->len - 1;
    }

  /* Outputs: those asked for, else the signature's. */
  if (outputs != NULL)
    for (guint i = 0; outputs[i] != NULL; i++)
      {
        g_autofree char *name = strip_output_zero (outputs[i]);
        int id = qr_graph_find_tensor (graph, name);
        if (id < 0)
          {
            fail (path, error, QR_ENGINE_ERROR_FORMAT, "the model has no tensor %s", outputs[i]);
            return NULL;
          }
        g_array_append_val (graph->outputs, id);
      }
  else
    {
      JsonObject *outs = object_member (object_member (root, "signature"), "outputs");
      g_autoptr (GList) members = outs ? json_object_get_members (outs) : NULL;
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonObject *o = json_object_get_object_member (outs, l->data);
          g_autofree char *name = strip_output_zero (string_member (o, "name") ? string_member (o, "name") : l->data);
          int id = qr_graph_find_tensor (graph, name);
          if (id >= 0)
            g_array_append_val (graph->outputs, id);
        }
      if (graph->outputs->len == 0)
        {
          fail (path, error, QR_ENGINE_ERROR_FORMAT, "the model names no outputs: say which to use");
          return NULL;
        }
    }
  if (graph->inputs->len != 1)
    {
      fail (path, error, QR_ENGINE_ERROR_UNSUPPORTED, "the model has %u inputs (one is supported)", graph->inputs->len);
      return NULL;
    }
  if (!qr_graph_finish (graph, error))
    return NULL;
  return g_steal_pointer (&graph);
}
