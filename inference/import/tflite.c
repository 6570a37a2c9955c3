/* tflite.c: TensorFlow Lite flatbuffers into the engine's graph, read by hand (no
 * flatbuffers library): the Model table's operator codes, first subgraph and buffers.
 *
 * The flatbuffer is read through flatbuffer.c, which checks every offset against the file before
 * it is followed, so a damaged file is an error that names the byte, never a crash.
 *
 * TFLite is NHWC like the graph. Convolution filters are stored (out, kh, kw, in) and are
 * transposed to HWIO; depthwise filters (1, kh, kw, channels × multiplier) are already in the
 * graph's order. FLOAT16 constants are widened at load, so DEQUANTIZE of a constant is a
 * constant; INT32 constants (shapes, paddings) are held as floats like every other constant. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"
#include "qr-tflite.h"
#include "flatbuffer.h"

#include <math.h>
#include <string.h>

/* BuiltinOperator codes and option tables from TFLite's schema (schema.fbs). */
enum
{
  OP_ADD = 0,
  OP_AVERAGE_POOL_2D = 1,
  OP_CONCATENATION = 2,
  OP_CONV_2D = 3,
  OP_DEPTHWISE_CONV_2D = 4,
  OP_DEQUANTIZE = 6,
  OP_LOGISTIC = 14,
  OP_MAX_POOL_2D = 17,
  OP_MUL = 18,
  OP_RELU = 19,
  OP_RELU6 = 21,
  OP_RESHAPE = 22,
  OP_RESIZE_BILINEAR = 23,
  OP_SOFTMAX = 25,
  OP_PAD = 34,
  OP_TRANSPOSE = 39,
  OP_MEAN = 40,
  OP_SUB = 41,
  OP_SQUEEZE = 43,
  OP_RESIZE_NEAREST_NEIGHBOR = 97,
  OP_HARD_SWISH = 117,
};

enum { T_FLOAT32 = 0, T_FLOAT16 = 1, T_INT32 = 2, T_UINT8 = 3, T_INT64 = 4, T_INT8 = 9 };
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU_N1_TO_1 = 2, ACT_RELU6 = 3, ACT_TANH = 4 };

/* fp16 → fp32 (the same conversion the TF.js importer uses) */
static float
half (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  float f;
  if (exp == 0)
    {
      f = ldexpf ((float) mant, -24);
      return sign ? -f : f;
    }
  if (exp == 31)
    bits = sign | 0x7f800000 | (mant << 13);
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

typedef struct
{
  QrFlatbuffer      buf;
  QrGraph *graph;
  gsize    buffers;        /* the Model's buffers vector */
  gsize    tensors;        /* the subgraph's tensors vector */
  guint32  n_tensors;
  int     *ids;            /* TFLite tensor index → graph tensor id */
} Reader;

static gboolean
fail (Reader *r, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Reader *r, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (!r->buf.failed)
    g_set_error (r->buf.error, QR_ENGINE_ERROR, code, "%s: %s", r->buf.path, message);
  r->buf.failed = TRUE;
  return FALSE;
}

/* Makes graph tensor for TFLite tensor i: constants get their data (as floats). */
static gboolean
make_tensor (Reader *r, guint32 i)
{
  QrFlatbuffer *b = &r->buf;
  gsize t = qr_fb_vec_table (b, r->tensors, i);
  gsize shape = qr_fb_ref (b, t, 0);
  guint32 rank = qr_fb_vec_len (b, shape, 4);
  int type = (int) qr_fb_int (b, t, 1, 1, T_FLOAT32);
  guint32 buffer = (guint32) qr_fb_int (b, t, 2, 4, 0);
  g_autofree char *name = qr_fb_string (b, t, 3);
  g_autofree char *unique = NULL;
  QrTensor *tensor;
  int id;

  if (b->failed)
    return FALSE;
  if (rank > QR_MAX_RANK)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tensor %s has rank %u (at most %d)", name, rank, QR_MAX_RANK);
  if (name[0] == '\0' || qr_graph_find_tensor (r->graph, name) >= 0)
    unique = g_strdup_printf ("%s#%u", name, i);
  id = qr_graph_add_tensor (r->graph, unique ? unique : name);
  r->ids[i] = id;
  tensor = qr_graph_tensor (r->graph, id);
  tensor->shape.rank = (int) rank;
  for (guint32 d = 0; d < rank; d++)
    {
      gint32 v = qr_fb_vec_int (b, shape, d);
      tensor->shape.dims[d] = v > 0 ? v : 1;
    }

  /* buffer 0 is the empty sentinel; a constant has a non-empty one */
  if (buffer != 0)
    {
      guint32 n_buffers = qr_fb_vec_len (b, r->buffers, 4);
      gsize bt, data, offset;
      const guint8 *bytes = NULL;
      gsize n_bytes = 0, count = qr_shape_size (&tensor->shape), element;

      if (buffer >= n_buffers)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s names buffer %u of %u", name, buffer, n_buffers);
      bt = qr_fb_vec_table (b, r->buffers, buffer);
      data = qr_fb_ref (b, bt, 0);
      offset = (gsize) qr_fb_u64 (b, bt, 1);
      if (data != 0)
        {
          n_bytes = qr_fb_vec_len (b, data, 1);
          bytes = b->data + data + 4;
        }
      else if (offset > 1)
        {
          guint64 size = qr_fb_u64 (b, bt, 2);
          if (offset > b->size || size > b->size - offset)
            return fail (r, QR_ENGINE_ERROR_WEIGHTS, "tensor %s: its data (%" G_GUINT64_FORMAT " bytes at %" G_GSIZE_FORMAT
                         ") lies past the end of the file", name, size, offset);
          bytes = b->data + offset;
          n_bytes = (gsize) size;
        }
      if (b->failed)
        return FALSE;
      if (n_bytes == 0)
        return TRUE;  /* an activation */
      element = type == T_FLOAT32 || type == T_INT32 ? 4 : type == T_FLOAT16 ? 2 : type == T_INT64 ? 8
                : type == T_UINT8 || type == T_INT8 ? 1 : 0;
      if (element == 0 || type == T_UINT8 || type == T_INT8)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tensor %s: constants of type %d (quantised integers) are not "
                     "supported", name, type);
      if (n_bytes != count * element)
        return fail (r, QR_ENGINE_ERROR_WEIGHTS, "tensor %s: %" G_GSIZE_FORMAT " bytes of data for %" G_GSIZE_FORMAT
                     " values of %" G_GSIZE_FORMAT " bytes", name, n_bytes, count, element);
      tensor->is_const = TRUE;
      tensor->data = g_new (float, MAX (count, 1));
      for (gsize k = 0; k < count; k++)
        {
          const guint8 *p = bytes + k * element;
          switch (type)
            {
            case T_FLOAT32: { guint32 v; memcpy (&v, p, 4); v = GUINT32_FROM_LE (v); memcpy (&tensor->data[k], &v, 4); break; }
            case T_FLOAT16: { guint16 v; memcpy (&v, p, 2); tensor->data[k] = half (GUINT16_FROM_LE (v)); break; }
            case T_INT32: { gint32 v; memcpy (&v, p, 4); tensor->data[k] = (float) GINT32_FROM_LE (v); break; }
            case T_INT64: { gint64 v; memcpy (&v, p, 8); tensor->data[k] = (float) GINT64_FROM_LE (v); break; }
            default: break;
            }
        }
    }
  return TRUE;
}

static gboolean
activation (Reader *r, int fused, QrActivation *act, const char *op_name)
{
  switch (fused)
    {
    case ACT_NONE: *act = QR_ACT_NONE; return TRUE;
    case ACT_RELU: *act = QR_ACT_RELU; return TRUE;
    case ACT_RELU6: *act = QR_ACT_RELU6; return TRUE;
    default:
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s: fused activation %d is not supported", op_name, fused);
    }
}

static QrNode *
node_for (Reader *r, QrOpType op, const char *source, int output)
{
  QrTensor *t = qr_graph_tensor (r->graph, output);
  QrNode *node = qr_graph_add_node (r->graph, op, t->name);
  node->source_op = g_strdup (source);
  node->outputs[node->n_outputs++] = output;
  t->producer = (int) r->graph->nodes->len - 1;
  return node;
}

/* An element-wise node followed, when the op fused one, by its activation. */
static void
with_activation (Reader *r, QrNode *node, QrActivation act)
{
  int out, mid;
  g_autofree char *mid_name = NULL;
  QrNode *a;
  if (act == QR_ACT_NONE)
    return;
  out = node->outputs[0];
  mid_name = g_strconcat (qr_graph_tensor (r->graph, out)->name, "/pre-activation", NULL);
  mid = qr_graph_add_tensor (r->graph, mid_name);
  node->outputs[0] = mid;
  qr_graph_tensor (r->graph, mid)->producer = qr_graph_tensor (r->graph, out)->producer;
  a = node_for (r, QR_OP_ACTIVATION, "fused activation", out);
  a->inputs[a->n_inputs++] = mid;
  a->act = act;
}

static gboolean
padding (Reader *r, int value, QrNode *node)
{
  if (value != 0 && value != 1)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%s: padding %d", node->name, value);
  node->padding = value == 0 ? QR_PAD_SAME : QR_PAD_VALID;
  return TRUE;
}

static gboolean
add_operator (Reader *r, gsize op, int code, const char *op_name)
{
  QrFlatbuffer *b = &r->buf;
  gsize ins = qr_fb_ref (b, op, 1), outs = qr_fb_ref (b, op, 2), opts = qr_fb_ref (b, op, 4);
  guint32 n_in = qr_fb_vec_len (b, ins, 4), n_out = qr_fb_vec_len (b, outs, 4);
  int in[QR_MAX_INPUTS] = { 0 }, out;
  QrNode *node;
  QrActivation act = QR_ACT_NONE;

  if (b->failed)
    return FALSE;
  if (n_out != 1)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "op %s with %u outputs", op_name, n_out);
  if (n_in > QR_MAX_INPUTS)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "op %s with %u inputs", op_name, n_in);
  for (guint32 i = 0; i < n_in; i++)
    {
      gint32 t = qr_fb_vec_int (b, ins, i);
      if (t < -1 || t >= (gint32) r->n_tensors)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "op %s reads tensor %d of %u", op_name, t, r->n_tensors);
      in[i] = t < 0 ? -1 : r->ids[t];
    }
  {
    gint32 t = qr_fb_vec_int (b, outs, 0);
    if (t < 0 || t >= (gint32) r->n_tensors)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "op %s writes tensor %d of %u", op_name, t, r->n_tensors);
    out = r->ids[t];
    /* an op's output holds no data of its own (fuzz-tflite: a DEQUANTIZE into a constant replaced
       its data, and the old buffer leaked) */
    if (qr_graph_tensor (r->graph, out)->is_const)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "op %s writes tensor %d, which holds constant data", op_name, t);
  }
  /* the inputs each op reads must be there: -1 marks an optional input left out, and
     fuzz-tflite found a DEQUANTIZE whose only input was -1 */
  {
    guint32 required;
    switch (code)
      {
      case OP_CONV_2D: case OP_DEPTHWISE_CONV_2D: case OP_ADD: case OP_SUB: case OP_MUL: case OP_PAD:
      case OP_TRANSPOSE: case OP_MEAN: case OP_RESIZE_BILINEAR: case OP_RESIZE_NEAREST_NEIGHBOR:
        required = 2;
        break;
      case OP_CONCATENATION:
        required = MAX (n_in, 1);
        break;
      default:
        required = 1;
        break;
      }
    if (n_in < required)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "op %s has %u inputs, it needs %u", op_name, n_in, required);
    for (guint32 i = 0; i < required; i++)
      if (in[i] < 0)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "op %s: input %u is left out, and it is needed", op_name, i);
  }

  switch (code)
    {
    case OP_DEQUANTIZE:
      {
        QrTensor *src = qr_graph_tensor (r->graph, in[0]), *dst = qr_graph_tensor (r->graph, out);
        if (src->is_const)
          {
            /* the fp16 values were widened when read: the output is that constant */
            dst->is_const = TRUE;
            dst->data = g_memdup2 (src->data, qr_shape_size (&src->shape) * sizeof (float));
            dst->shape = src->shape;
            return TRUE;
          }
        node = node_for (r, QR_OP_IDENTITY, op_name, out);
        node->inputs[node->n_inputs++] = in[0];
        return TRUE;
      }

    case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D:
      {
        gboolean depthwise = code == OP_DEPTHWISE_CONV_2D;
        QrTensor *w = qr_graph_tensor (r->graph, in[1]);
        int O, KH, KW, I, wid;
        if (n_in < 2 || !w->is_const || w->shape.rank != 4)
          return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s: needs constant 4-D filters", op_name);
        O = w->shape.dims[0];
        KH = w->shape.dims[1];
        KW = w->shape.dims[2];
        I = w->shape.dims[3];
        if (depthwise)
          {
            int dims[4] = { KH, KW, I, 1 };
            int mult = (int) qr_fb_int (b, opts, 3, 4, 1);
            if (mult < 1 || O != 1)
              return fail (r, QR_ENGINE_ERROR_FORMAT, "%s: depthwise filters of shape (%d, %d, %d, %d)", op_name, O, KH, KW, I);
            /* (1, kh, kw, C·m) is (kh, kw, C, m) in memory */
            dims[2] = I / mult;
            dims[3] = mult;
            {
              g_autofree char *name = g_strconcat (w->name, "/hwcm", NULL);
              wid = qr_graph_add_const (r->graph, name, 4, dims, g_memdup2 (w->data, qr_shape_size (&w->shape) * sizeof (float)));
            }
          }
        else
          {
            int dims[4] = { KH, KW, I, O };
            float *t = g_new (float, qr_shape_size (&w->shape));
            g_autofree char *name = g_strconcat (w->name, "/hwio", NULL);
            for (int o = 0; o < O; o++)
              for (int y = 0; y < KH; y++)
                for (int x = 0; x < KW; x++)
                  for (int i = 0; i < I; i++)
                    t[(((gsize) y * KW + x) * I + i) * O + o] = w->data[(((gsize) o * KH + y) * KW + x) * I + i];
            wid = qr_graph_add_const (r->graph, name, 4, dims, t);
          }
        node = node_for (r, depthwise ? QR_OP_DEPTHWISE : QR_OP_CONV2D, op_name, out);
        node->inputs[node->n_inputs++] = in[0];
        node->inputs[node->n_inputs++] = wid;
        if (n_in > 2 && in[2] >= 0)
          node->inputs[node->n_inputs++] = in[2];
        if (!padding (r, (int) qr_fb_int (b, opts, 0, 1, 0), node))
          return FALSE;
        node->stride[1] = (int) qr_fb_int (b, opts, 1, 4, 1);
        node->stride[0] = (int) qr_fb_int (b, opts, 2, 4, 1);
        if (!activation (r, (int) qr_fb_int (b, opts, depthwise ? 4 : 3, 1, 0), &node->act, op_name))
          return FALSE;
        node->dilation[1] = (int) qr_fb_int (b, opts, depthwise ? 5 : 4, 4, 1);
        node->dilation[0] = (int) qr_fb_int (b, opts, depthwise ? 6 : 5, 4, 1);
        if (node->stride[0] < 1 || node->stride[1] < 1 || node->dilation[0] < 1 || node->dilation[1] < 1)
          return fail (r, QR_ENGINE_ERROR_FORMAT, "%s: strides and dilations must be positive", node->name);
        return TRUE;
      }

    case OP_MAX_POOL_2D:
    case OP_AVERAGE_POOL_2D:
      node = node_for (r, code == OP_MAX_POOL_2D ? QR_OP_MAXPOOL : QR_OP_AVGPOOL, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      if (!padding (r, (int) qr_fb_int (b, opts, 0, 1, 0), node))
        return FALSE;
      node->stride[1] = (int) qr_fb_int (b, opts, 1, 4, 1);
      node->stride[0] = (int) qr_fb_int (b, opts, 2, 4, 1);
      node->kernel[1] = (int) qr_fb_int (b, opts, 3, 4, 1);
      node->kernel[0] = (int) qr_fb_int (b, opts, 4, 4, 1);
      if (node->stride[0] < 1 || node->stride[1] < 1 || node->kernel[0] < 1 || node->kernel[1] < 1)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "%s: pool sizes and strides must be positive", node->name);
      if (!activation (r, (int) qr_fb_int (b, opts, 5, 1, 0), &act, op_name))
        return FALSE;
      with_activation (r, node, act);
      return TRUE;

    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
      if (n_in != 2)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "%s needs two inputs", op_name);
      node = node_for (r, code == OP_ADD ? QR_OP_ADD : code == OP_SUB ? QR_OP_SUB : QR_OP_MUL, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      node->inputs[node->n_inputs++] = in[1];
      if (!activation (r, (int) qr_fb_int (b, opts, 0, 1, 0), &act, op_name))
        return FALSE;
      with_activation (r, node, act);
      return TRUE;

    case OP_RELU:
    case OP_RELU6:
    case OP_LOGISTIC:
    case OP_HARD_SWISH:
      node = node_for (r, QR_OP_ACTIVATION, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      node->act = code == OP_RELU ? QR_ACT_RELU : code == OP_RELU6 ? QR_ACT_RELU6 : code == OP_LOGISTIC ? QR_ACT_SIGMOID
                                                                                                          : QR_ACT_HARD_SWISH;
      node->alpha = 1.0f / 6.0f;
      return TRUE;

    case OP_SOFTMAX:
      if (qr_fb_int (b, opts, 0, 4, 0) != 0)
        {
          float beta;
          gsize at = qr_fb_field (b, opts, 0);
          guint32 bits = qr_fb_u32 (b, at);
          memcpy (&beta, &bits, 4);
          if (beta != 1.0f)
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s: softmax with beta %g", op_name, beta);
        }
      node = node_for (r, QR_OP_SOFTMAX, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      return TRUE;

    case OP_CONCATENATION:
      {
        int axis = (int) qr_fb_int (b, opts, 0, 4, 0), dims[1] = { 1 };
        float *value = g_new (float, 1);
        g_autofree char *name = g_strconcat (qr_graph_tensor (r->graph, out)->name, "/axis", NULL);
        if (n_in < 1 || n_in > QR_MAX_INPUTS - 1)
          {
            g_free (value);
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s with %u inputs", op_name, n_in);
          }
        node = node_for (r, QR_OP_CONCAT, op_name, out);
        for (guint32 i = 0; i < n_in; i++)
          node->inputs[node->n_inputs++] = in[i];
        value[0] = (float) axis;
        node->inputs[node->n_inputs++] = qr_graph_add_const (r->graph, name, 1, dims, value);
        if (!activation (r, (int) qr_fb_int (b, opts, 1, 1, 0), &act, op_name))
          return FALSE;
        with_activation (r, node, act);
        return TRUE;
      }

    case OP_RESHAPE:
    case OP_SQUEEZE:
      {
        /* the output tensor's own shape is the target (the new_shape option and the shape
           input say the same for the models Quorum reads) */
        QrTensor *o = qr_graph_tensor (r->graph, out);
        int dims[1] = { o->shape.rank };
        float *shape = g_new (float, MAX (o->shape.rank, 1));
        g_autofree char *name = g_strconcat (o->name, "/shape", NULL);
        for (int d = 0; d < o->shape.rank; d++)
          shape[d] = (float) o->shape.dims[d];
        if (o->shape.rank > 0)
          shape[0] = -1; /* the batch */
        node = node_for (r, QR_OP_RESHAPE, op_name, out);
        node->inputs[node->n_inputs++] = in[0];
        node->inputs[node->n_inputs++] = qr_graph_add_const (r->graph, name, 1, dims, shape);
        return TRUE;
      }

    case OP_PAD:
    case OP_TRANSPOSE:
    case OP_MEAN:
      if (n_in != 2 || !qr_graph_tensor (r->graph, in[1])->is_const)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s needs a constant second input", op_name);
      node = node_for (r, code == OP_PAD ? QR_OP_PAD : code == OP_TRANSPOSE ? QR_OP_TRANSPOSE : QR_OP_MEAN, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      node->inputs[node->n_inputs++] = in[1];
      if (code == OP_MEAN)
        node->keep_dims = qr_fb_int (b, opts, 0, 1, 0) != 0;
      return TRUE;

    case OP_RESIZE_BILINEAR:
    case OP_RESIZE_NEAREST_NEIGHBOR:
      if (n_in != 2 || !qr_graph_tensor (r->graph, in[1])->is_const)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s needs a constant size", op_name);
      node = node_for (r, QR_OP_RESIZE, op_name, out);
      node->inputs[node->n_inputs++] = in[0];
      node->inputs[node->n_inputs++] = in[1];
      node->resize_mode = code == OP_RESIZE_BILINEAR ? QR_RESIZE_BILINEAR : QR_RESIZE_NEAREST;
      node->align_corners = qr_fb_int (b, opts, code == OP_RESIZE_BILINEAR ? 2 : 0, 1, 0) != 0;
      node->half_pixel = qr_fb_int (b, opts, code == OP_RESIZE_BILINEAR ? 3 : 1, 1, 0) != 0;
      return TRUE;

    default:
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "op %s (builtin code %d) is not supported", op_name, code);
    }
}

static const char *
op_name_of (int code)
{
  switch (code)
    {
    case OP_ADD: return "ADD";
    case OP_AVERAGE_POOL_2D: return "AVERAGE_POOL_2D";
    case OP_CONCATENATION: return "CONCATENATION";
    case OP_CONV_2D: return "CONV_2D";
    case OP_DEPTHWISE_CONV_2D: return "DEPTHWISE_CONV_2D";
    case OP_DEQUANTIZE: return "DEQUANTIZE";
    case OP_LOGISTIC: return "LOGISTIC";
    case OP_MAX_POOL_2D: return "MAX_POOL_2D";
    case OP_MUL: return "MUL";
    case OP_RELU: return "RELU";
    case OP_RELU6: return "RELU6";
    case OP_RESHAPE: return "RESHAPE";
    case OP_RESIZE_BILINEAR: return "RESIZE_BILINEAR";
    case OP_SOFTMAX: return "SOFTMAX";
    case OP_PAD: return "PAD";
    case OP_TRANSPOSE: return "TRANSPOSE";
    case OP_MEAN: return "MEAN";
    case OP_SUB: return "SUB";
    case OP_SQUEEZE: return "SQUEEZE";
    case OP_RESIZE_NEAREST_NEIGHBOR: return "RESIZE_NEAREST_NEIGHBOR";
    case OP_HARD_SWISH: return "HARD_SWISH";
    default: return "unknown";
    }
}

QrGraph *
qr_graph_load_tflite (const char *path, GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (QrGraph) graph = NULL;
  g_autofree int *codes = NULL;
  g_autofree int *ids = NULL;
  Reader r = { 0 };
  QrFlatbuffer *b = &r.buf;
  gsize model, opcodes, subgraphs, subgraph, operators, inputs, outputs;
  guint32 n_codes, n_ops, n_inputs, n_outputs;

  mapped = g_mapped_file_new (path, FALSE, &local);
  if (mapped == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  b->data = (const guint8 *) g_mapped_file_get_contents (mapped);
  b->size = g_mapped_file_get_length (mapped);
  b->path = path;
  b->error = error;
  if (b->size < 8 || memcmp (b->data + 4, "TFL3", 4) != 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: not a TFLite model (no TFL3 identifier)", path);
      return NULL;
    }
  graph = qr_graph_new (path);
  r.graph = graph;
  model = qr_fb_u32 (b, 0);
  opcodes = qr_fb_ref (b, model, 1);
  subgraphs = qr_fb_ref (b, model, 2);
  r.buffers = qr_fb_ref (b, model, 4);
  n_codes = qr_fb_vec_len (b, opcodes, 4);
  if (b->failed)
    return NULL;
  if (qr_fb_vec_len (b, subgraphs, 4) < 1)
    {
      fail (&r, QR_ENGINE_ERROR_FORMAT, "no subgraph");
      return NULL;
    }
  codes = g_new (int, MAX (n_codes, 1));
  for (guint32 i = 0; i < n_codes; i++)
    {
      gsize oc = qr_fb_vec_table (b, opcodes, i);
      int deprecated = (int) qr_fb_int (b, oc, 0, 1, 0), builtin = (int) qr_fb_int (b, oc, 3, 4, 0);
      codes[i] = MAX (deprecated, builtin);
      if (codes[i] == 32)
        {
          g_autofree char *custom = qr_fb_string (b, oc, 1);
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: custom op %s is not supported", path,
                       custom);
          return NULL;
        }
    }
  subgraph = qr_fb_vec_table (b, subgraphs, 0);
  r.tensors = qr_fb_ref (b, subgraph, 0);
  inputs = qr_fb_ref (b, subgraph, 1);
  outputs = qr_fb_ref (b, subgraph, 2);
  operators = qr_fb_ref (b, subgraph, 3);
  r.n_tensors = qr_fb_vec_len (b, r.tensors, 4);
  n_inputs = qr_fb_vec_len (b, inputs, 4);
  n_outputs = qr_fb_vec_len (b, outputs, 4);
  n_ops = qr_fb_vec_len (b, operators, 4);
  if (b->failed)
    return NULL;
  ids = r.ids = g_new (int, MAX (r.n_tensors, 1));
  for (guint32 i = 0; i < r.n_tensors; i++)
    if (!make_tensor (&r, i))
      return NULL;

  if (n_inputs != 1)
    {
      fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "the model has %u inputs (one is supported)", n_inputs);
      return NULL;
    }
  for (guint32 i = 0; i < n_inputs; i++)
    {
      gint32 t = qr_fb_vec_int (b, inputs, i);
      QrNode *node;
      if (t < 0 || t >= (gint32) r.n_tensors)
        {
          fail (&r, QR_ENGINE_ERROR_FORMAT, "input tensor %d of %u", t, r.n_tensors);
          return NULL;
        }
      node = node_for (&r, QR_OP_INPUT, "input", ids[t]);
      (void) node;
      g_array_append_val (graph->inputs, ids[t]);
    }
  for (guint32 k = 0; k < n_ops; k++)
    {
      gsize op = qr_fb_vec_table (b, operators, k);
      guint32 index = (guint32) qr_fb_int (b, op, 0, 4, 0);
      if (b->failed)
        return NULL;
      if (index >= n_codes)
        {
          fail (&r, QR_ENGINE_ERROR_FORMAT, "operator %u names opcode %u of %u", k, index, n_codes);
          return NULL;
        }
      if (!add_operator (&r, op, codes[index], op_name_of (codes[index])))
        return NULL;
    }
  for (guint32 i = 0; i < n_outputs; i++)
    {
      gint32 t = qr_fb_vec_int (b, outputs, i);
      if (t < 0 || t >= (gint32) r.n_tensors)
        {
          fail (&r, QR_ENGINE_ERROR_FORMAT, "output tensor %d of %u", t, r.n_tensors);
          return NULL;
        }
      g_array_append_val (graph->outputs, ids[t]);
    }
  if (b->failed || !qr_graph_finish (graph, error))
    return NULL;
  return g_steal_pointer (&graph);
}

char **
qr_graph_get_output_names (QrGraph *graph)
{
  char **names = g_new0 (char *, graph->outputs->len + 1);
  for (guint i = 0; i < graph->outputs->len; i++)
    names[i] = g_strdup (qr_graph_tensor (graph, g_array_index (graph->outputs, int, i))->name);
  return names;
}
