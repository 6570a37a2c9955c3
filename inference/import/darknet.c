/* darknet.c: Darknet .cfg + .weights into the engine's graph.
 *
 * The cfg is an INI-like list of sections; each section after [net] is a layer, numbered from 0,
 * and [route]/[shortcut] name earlier layers by absolute index or by offset (−1: the previous one).
 * Darknet lays activations out NCHW; the graph is NHWC, so convolution weights are transposed
 * from Darknet's (out, in, kh, kw) to HWIO while reading.
 *
 * The weights file: int32 major, minor, revision; then the number of images seen in training as
 * 64 bits when major·10 + minor ≥ 2 (and both are below 1000), else 32 bits; then float32 per
 * convolutional layer in file order: biases [n]; with batch_normalize also scales [n], rolling
 * mean [n], rolling variance [n]; then weights [n × in/groups × k × k]. Batch norm is folded at
 * import: s = scale / sqrt (variance + 1e-5), w' = w·s, b' = bias − mean·s (Darknet's ε).
 *
 * Shapes, as Darknet computes them: convolution out = (in + 2·pad − k) / stride + 1 with
 * pad = k/2 when pad=1 (else `padding`); maxpool out = (in + padding − k) / stride + 1 with
 * padding = k − 1 unless given, padding/2 of it before the first pixel, and padded taps ignored. */
#define G_LOG_DOMAIN "quorum-engine"

#include "darknet-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  const char    *cfg_path;
  const char    *weights_path;
  QrGraph       *graph;
  /* weights: read from a mapped file, or made up and written out */
  const guint8  *bytes;
  gsize          n_bytes;
  gsize          offset;     /* bytes taken so far, header included */
  gsize          needed;     /* bytes the network asks for, header included */
  GRand         *rand;
  GByteArray    *written;
  gboolean       residual;   /* the layer being built feeds a [shortcut] */
} Builder;

typedef struct
{
  int tensor;
  int h, w, c;
} Layer;

/* Weights --------------------------------------------------------------------------------- */

typedef enum { W_BIAS, W_SCALE, W_MEAN, W_VARIANCE, W_KERNEL, W_HEAD_BIAS, W_HEAD_KERNEL } WeightKind;

/* Takes count floats: from the file, or made up (fan_in scales the kernels). Past the end of a
 * short file the values are zero and only the count goes on, so that the error can say how
 * many bytes the network needs. */
static void
take (Builder *b, float *out, gsize count, WeightKind kind, int fan_in)
{
  gsize bytes = count * sizeof (float);

  b->needed += bytes;
  if (b->rand != NULL)
    {
      /* He-uniform kernels with gain 1 (a little under ReLU's √2, so deep stacks of residual
         adds stay in range), batch norm near identity */
      float limit = sqrtf (3.0f / (float) MAX (fan_in, 1));
      for (gsize i = 0; i < count; i++)
        {
          switch (kind)
            {
            case W_BIAS: out[i] = (float) g_rand_double_range (b->rand, -0.1, 0.1); break;
            /* residual branches start small, as in zero-initialised residual training, so
               that 23 shortcuts in a row do not grow the activations a hundredfold */
            case W_SCALE: out[i] = (float) (b->residual ? g_rand_double_range (b->rand, 0.1, 0.3)
                                                        : g_rand_double_range (b->rand, 0.8, 1.2)); break;
            case W_MEAN: out[i] = (float) g_rand_double_range (b->rand, -0.1, 0.1); break;
            case W_VARIANCE: out[i] = (float) g_rand_double_range (b->rand, 0.5, 1.5); break;
            case W_KERNEL: out[i] = (float) g_rand_double_range (b->rand, -limit, limit); break;
            /* convolutions without batch norm are the detection heads: spread their outputs
               so that made-up networks still give a range of scores and some boxes */
            case W_HEAD_BIAS: out[i] = (float) g_rand_double_range (b->rand, -1.0, 1.0); break;
            case W_HEAD_KERNEL: out[i] = (float) g_rand_double_range (b->rand, -3 * limit, 3 * limit); break;
            }
        }
      g_byte_array_append (b->written, (const guint8 *) out, (guint) bytes);
      b->offset += bytes;
      return;
    }
  if (b->offset + bytes <= b->n_bytes)
    {
      memcpy (out, b->bytes + b->offset, bytes);
      b->offset += bytes;
    }
  else
    memset (out, 0, bytes);
}

static gboolean
read_header (Builder *b, GError **error)
{
  gint32 version[3];

  if (b->rand != NULL)
    {
      gint32 header[3] = { 0, 2, 5 };
      guint64 seen = 0;
      g_byte_array_append (b->written, (const guint8 *) header, sizeof header);
      g_byte_array_append (b->written, (const guint8 *) &seen, sizeof seen);
      b->offset = b->needed = sizeof header + sizeof seen;
      return TRUE;
    }
  if (b->n_bytes < sizeof version)
    return qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "%" G_GSIZE_FORMAT " bytes: too short for "
                    "a Darknet weights header", b->n_bytes);
  memcpy (version, b->bytes, sizeof version);
  if (version[0] < 0 || version[1] < 0)
    return qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "not a Darknet weights file (version %d.%d)",
                    version[0], version[1]);
  /* Darknet writes `seen` as a size_t since version 0.2 */
  b->offset = sizeof version
              + ((version[0] * 10 + version[1] >= 2 && version[0] < 1000 && version[1] < 1000) ? 8 : 4);
  b->needed = b->offset;
  if (b->offset > b->n_bytes)
    return qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "%" G_GSIZE_FORMAT " bytes: too short for "
                    "a Darknet weights header", b->n_bytes);
  return TRUE;
}

/* Graph building ----------------------------------------------------------------------------- */

static int
add_ints (QrGraph *graph, const char *name, int n, const int *values)
{
  float *data = g_new (float, n);
  int dims[1] = { n };
  for (int i = 0; i < n; i++)
    data[i] = (float) values[i];
  return qr_graph_add_const (graph, name, 1, dims, data);
}

static QrNode *
add_node (QrGraph *graph, QrOpType op, const char *name, const char *source_op, int output)
{
  QrNode *node = qr_graph_add_node (graph, op, name);
  node->source_op = g_strdup (source_op);
  node->outputs[node->n_outputs++] = output;
  qr_graph_tensor (graph, output)->producer = (int) graph->nodes->len - 1;
  return node;
}

static gboolean
build_conv (Builder *b, QrCfgSection *s, int index, Layer *in, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  int filters, size, stride, pad, padding, groups, bn;
  QrActivation act;
  float alpha;
  gboolean depthwise;
  gsize per_filter, n_weights;
  g_autofree float *raw = NULL;
  float *bias, *kernel, *scale = NULL, *mean = NULL, *variance = NULL;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  g_autofree char *wname = g_strdup_printf ("layer_%d/weights", index);
  g_autofree char *bname = g_strdup_printf ("layer_%d/bias", index);
  int wdims[4], bdims[1];
  QrNode *node;

  if (!qr_cfg_int (path, s, "filters", 1, &filters, error) || !qr_cfg_int (path, s, "size", 1, &size, error)
      || !qr_cfg_int (path, s, "stride", 1, &stride, error) || !qr_cfg_int (path, s, "pad", 0, &pad, error)
      || !qr_cfg_int (path, s, "padding", 0, &padding, error) || !qr_cfg_int (path, s, "groups", 1, &groups, error)
      || !qr_cfg_int (path, s, "batch_normalize", 0, &bn, error) || !qr_cfg_activation (path, s, &act, &alpha, error))
    return FALSE;
  {
    int sx, sy;
    if (!qr_cfg_int (path, s, "stride_x", stride, &sx, error) || !qr_cfg_int (path, s, "stride_y", stride, &sy, error))
      return FALSE;
    if (sx != stride || sy != stride)
      return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[convolutional]: different x and y strides "
                      "are not supported");
  }
  if (!qr_cfg_require_default (path, s, "dilation", 1, error) || !qr_cfg_require_default (path, s, "binary", 0, error)
      || !qr_cfg_require_default (path, s, "xnor", 0, error) || !qr_cfg_require_default (path, s, "antialiasing", 0, error)
      || !qr_cfg_require_default (path, s, "deform", 0, error) || !qr_cfg_require_default (path, s, "coordconv", 0, error))
    return FALSE;
  if (qr_cfg_find_option (s, "share_index") != NULL)
    return qr_cfg_fail_at (path, qr_cfg_find_option (s, "share_index")->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
                    "share_index (weights shared between layers) is not supported");
  if (filters < 1 || size < 1 || stride < 1 || groups < 1)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[convolutional]: filters, size, stride and groups "
                    "must be positive");
  if (pad)
    padding = size / 2;
  if (in->c % groups != 0 || filters % groups != 0)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[convolutional]: groups=%d does not divide %d "
                    "input channels and %d filters", groups, in->c, filters);
  depthwise = groups > 1 && groups == in->c && groups == filters;
  if (groups > 1 && !depthwise)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[convolutional]: grouped convolutions "
                    "other than depthwise (groups = channels = filters) are not supported");

  out->h = (in->h + 2 * padding - size) / stride + 1;
  out->w = (in->w + 2 * padding - size) / stride + 1;
  out->c = filters;
  if (out->h <= 0 || out->w <= 0)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "layer %d: the output would be empty (input %d×%d)",
                    index, in->w, in->h);

  per_filter = (gsize) (in->c / groups) * (gsize) size * (gsize) size;
  n_weights = per_filter * (gsize) filters;
  /* before allocating anything: a damaged cfg (filters=900000) must not ask for gigabytes */
  {
    guint64 bytes = ((guint64) n_weights + (guint64) filters * (bn ? 4 : 1)) * sizeof (float);
    if (n_weights > (G_GUINT64_CONSTANT (1) << 30))
      return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "layer %d would have %" G_GSIZE_FORMAT
                      " weights: too large", index, n_weights);
    if (b->rand == NULL && b->needed + bytes > b->n_bytes)
      return qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "the file has %" G_GSIZE_FORMAT " bytes; the "
                      "network in %s needs at least %" G_GUINT64_FORMAT " by layer %d (%s:%d): short, truncated, or "
                      "another cfg's weights", b->n_bytes, path, (guint64) b->needed + bytes, index, path, s->line);
  }
  bias = g_new (float, filters);
  take (b, bias, (gsize) filters, bn ? W_BIAS : W_HEAD_BIAS, 0);
  if (bn)
    {
      scale = g_new (float, filters);
      mean = g_new (float, filters);
      variance = g_new (float, filters);
      take (b, scale, (gsize) filters, W_SCALE, 0);
      take (b, mean, (gsize) filters, W_MEAN, 0);
      take (b, variance, (gsize) filters, W_VARIANCE, 0);
    }
  raw = g_new (float, n_weights);
  take (b, raw, n_weights, bn ? W_KERNEL : W_HEAD_KERNEL, (int) per_filter);
  /* checked before folding: folding hides an infinite variance (its scale becomes 0) */
  {
    const struct { const char *what; const float *v; gsize n; } parts[] = {
      { "biases", bias, (gsize) filters }, { "scales", scale, bn ? (gsize) filters : 0 },
      { "rolling means", mean, bn ? (gsize) filters : 0 }, { "rolling variances", variance, bn ? (gsize) filters : 0 },
      { "weights", raw, n_weights } };
    for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
      for (gsize i = 0; i < parts[p].n; i++)
        if (!isfinite (parts[p].v[i]) || (parts[p].v == variance && parts[p].v[i] < 0))
          {
            g_autofree char *shown = g_strdup_printf ("%g", (double) parts[p].v[i]);
            gboolean negative = parts[p].v == variance && !isnan (parts[p].v[i]) && parts[p].v[i] < 0;
            const char *what = parts[p].what;
            g_free (bias);
            g_free (scale);
            g_free (mean);
            g_free (variance);
            return qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS,
                                   "layer %d (%s:%d): its %s hold %s at %" G_GSIZE_FORMAT "%s", index, path, s->line,
                                   what, shown, i, negative ? " (a variance is never negative)" : "");
          }
  }

  /* (out, in, kh, kw) → (kh, kw, in, out); depthwise: (kh, kw, channels, 1) */
  kernel = g_new (float, n_weights);
  for (int o = 0; o < filters; o++)
    {
      float s_o = bn ? scale[o] / sqrtf (variance[o] + 1e-5f) : 1.0f;
      int cin = in->c / groups;
      for (int i = 0; i < cin; i++)
        for (int ky = 0; ky < size; ky++)
          for (int kx = 0; kx < size; kx++)
            {
              float v = raw[(((gsize) o * (gsize) cin + (gsize) i) * (gsize) size + (gsize) ky) * (gsize) size + (gsize) kx];
              gsize at = depthwise ? ((gsize) ky * (gsize) size + (gsize) kx) * (gsize) filters + (gsize) o
                                   : (((gsize) ky * (gsize) size + (gsize) kx) * (gsize) cin + (gsize) i) * (gsize) filters + (gsize) o;
              kernel[at] = v * s_o;
            }
      if (bn)
        bias[o] -= mean[o] * s_o;
    }
  g_free (scale);
  g_free (mean);
  g_free (variance);

  wdims[0] = size;
  wdims[1] = size;
  wdims[2] = depthwise ? filters : in->c;
  wdims[3] = depthwise ? 1 : filters;
  bdims[0] = filters;
  out->tensor = qr_graph_add_tensor (b->graph, name);
  {
    int w_id = qr_graph_add_const (b->graph, wname, 4, wdims, kernel);
    int b_id = qr_graph_add_const (b->graph, bname, 1, bdims, bias);
    node = add_node (b->graph, depthwise ? QR_OP_DEPTHWISE : QR_OP_CONV2D, name, "convolutional", out->tensor);
    node->inputs[node->n_inputs++] = in->tensor;
    node->inputs[node->n_inputs++] = w_id;
    node->inputs[node->n_inputs++] = b_id;
  }
  node->stride[0] = node->stride[1] = stride;
  node->padding = QR_PAD_EXPLICIT;
  node->pads[0] = node->pads[1] = node->pads[2] = node->pads[3] = padding;
  node->act = act;
  node->alpha = alpha;
  return TRUE;
}

static gboolean
build_maxpool (Builder *b, QrCfgSection *s, int index, Layer *in, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  int size, stride, padding, sx, sy;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  QrNode *node;

  if (!qr_cfg_int (path, s, "size", 1, &size, error) || !qr_cfg_int (path, s, "stride", 1, &stride, error)
      || !qr_cfg_int (path, s, "stride_x", stride, &sx, error) || !qr_cfg_int (path, s, "stride_y", stride, &sy, error)
      || !qr_cfg_int (path, s, "padding", size - 1, &padding, error)
      || !qr_cfg_require_default (path, s, "maxpool_depth", 0, error) || !qr_cfg_require_default (path, s, "antialiasing", 0, error))
    return FALSE;
  if (sx != stride || sy != stride)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[maxpool]: different x and y strides are not "
                    "supported");
  if (size < 1 || stride < 1 || padding < 0)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[maxpool]: size and stride must be positive");
  out->h = (in->h + padding - size) / stride + 1;
  out->w = (in->w + padding - size) / stride + 1;
  out->c = in->c;
  if (out->h <= 0 || out->w <= 0)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "layer %d: the output would be empty", index);
  out->tensor = qr_graph_add_tensor (b->graph, name);
  node = add_node (b->graph, QR_OP_MAXPOOL, name, "maxpool", out->tensor);
  node->inputs[node->n_inputs++] = in->tensor;
  node->kernel[0] = node->kernel[1] = size;
  node->stride[0] = node->stride[1] = stride;
  node->padding = QR_PAD_EXPLICIT;
  node->pads[0] = node->pads[2] = padding / 2;
  node->pads[1] = node->pads[3] = padding - padding / 2;
  return TRUE;
}

/* An earlier layer named by absolute index or negative offset. */
static gboolean
resolve_layer (const char *path, QrCfgOption *o, float value, int index, int *out, GError **error)
{
  int v = (int) value;
  if ((float) v != value)
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: %g is not a layer index", o->key, value);
  if (v < 0)
    v += index;
  if (v < 0 || v >= index)
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: layer %d does not come before layer %d",
                    o->key, (int) value, index);
  *out = v;
  return TRUE;
}

static gboolean
build_route (Builder *b, QrCfgSection *s, int index, Layer *layers, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  float values[QR_MAX_INPUTS];
  int n, groups, group_id, parts[QR_MAX_INPUTS], n_parts = 0;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  QrCfgOption *o = qr_cfg_find_option (s, "layers");

  if (o == NULL)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[route] needs layers=");
  n = qr_cfg_list (path, s, "layers", values, QR_MAX_INPUTS - 1, error);
  if (n < 0 || !qr_cfg_int (path, s, "groups", 1, &groups, error) || !qr_cfg_int (path, s, "group_id", 0, &group_id, error))
    return FALSE;
  if (n == 0)
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "[route] needs at least one layer");
  if (groups < 1 || group_id < 0 || group_id >= groups)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[route]: group_id=%d outside groups=%d", group_id,
                    groups);
  out->c = 0;
  for (int i = 0; i < n; i++)
    {
      int from = 0;
      Layer *src;
      if (!resolve_layer (path, o, values[i], index, &from, error))
        return FALSE;
      src = &layers[from];
      if (i == 0)
        {
          out->h = src->h;
          out->w = src->w;
        }
      else if (src->h != out->h || src->w != out->w)
        return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_SHAPE, "[route]: layer %d is %d×%d, layer %d is %d×%d",
                        from, src->w, src->h, (int) values[0] < 0 ? (int) values[0] + index : (int) values[0],
                        out->w, out->h);
      if (src->c % groups != 0)
        return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "[route]: groups=%d does not divide %d channels",
                        groups, src->c);
      if (groups == 1)
        parts[n_parts++] = src->tensor;
      else
        {
          /* channels [group_id · c/groups, (group_id + 1) · c/groups) of this input */
          int cs = src->c / groups;
          int begin[4] = { 0, 0, 0, group_id * cs }, size[4] = { -1, -1, -1, cs };
          g_autofree char *sname = g_strdup_printf ("layer_%d/group_%d", index, i);
          g_autofree char *bname = g_strdup_printf ("layer_%d/group_%d/begin", index, i);
          g_autofree char *zname = g_strdup_printf ("layer_%d/group_%d/size", index, i);
          int t = qr_graph_add_tensor (b->graph, n == 1 ? name : sname);
          int bt = add_ints (b->graph, bname, 4, begin), zt = add_ints (b->graph, zname, 4, size);
          QrNode *node = add_node (b->graph, QR_OP_SLICE, n == 1 ? name : sname, "route", t);
          node->inputs[node->n_inputs++] = src->tensor;
          node->inputs[node->n_inputs++] = bt;
          node->inputs[node->n_inputs++] = zt;
          parts[n_parts++] = t;
        }
      out->c += src->c / groups;
    }
  if (n_parts == 1)
    {
      out->tensor = parts[0];
      return TRUE;
    }
  {
    int axis = 3;
    g_autofree char *aname = g_strdup_printf ("layer_%d/axis", index);
    int at = add_ints (b->graph, aname, 1, &axis);
    QrNode *node;
    out->tensor = qr_graph_add_tensor (b->graph, name);
    node = add_node (b->graph, QR_OP_CONCAT, name, "route", out->tensor);
    for (int i = 0; i < n_parts; i++)
      node->inputs[node->n_inputs++] = parts[i];
    node->inputs[node->n_inputs++] = at;
  }
  return TRUE;
}

static gboolean
build_shortcut (Builder *b, QrCfgSection *s, int index, Layer *layers, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  float values[2];
  int n, from = 0;
  QrActivation act;
  float alpha;
  QrCfgOption *o = qr_cfg_find_option (s, "from"), *wt = qr_cfg_find_option (s, "weights_type");
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  g_autofree char *sum_name = g_strdup_printf ("layer_%d/sum", index);
  Layer *prev = &layers[index - 1], *other;
  QrNode *node;

  if (o == NULL)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[shortcut] needs from=");
  n = qr_cfg_list (path, s, "from", values, 2, error);
  if (n < 0 || !qr_cfg_activation (path, s, &act, &alpha, error))
    return FALSE;
  if (qr_cfg_find_option (s, "activation") == NULL)
    act = QR_ACT_NONE; /* Darknet's shortcut defaults to linear */
  if (n != 1)
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[shortcut] from more than one layer is not "
                    "supported");
  if (wt != NULL && !g_str_equal (wt->value, "none"))
    return qr_cfg_fail_at (path, wt->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "weighted shortcuts are not supported");
  if (!resolve_layer (path, o, values[0], index, &from, error))
    return FALSE;
  other = &layers[from];
  if (other->h != prev->h || other->w != prev->w || other->c != prev->c)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[shortcut]: layer %d (%d×%d×%d) and layer %d "
                    "(%d×%d×%d) differ in shape", from, other->w, other->h, other->c, index - 1, prev->w, prev->h,
                    prev->c);
  *out = *prev;
  out->tensor = qr_graph_add_tensor (b->graph, act == QR_ACT_NONE ? name : sum_name);
  node = add_node (b->graph, QR_OP_ADD, act == QR_ACT_NONE ? name : sum_name, "shortcut", out->tensor);
  node->inputs[node->n_inputs++] = prev->tensor;
  node->inputs[node->n_inputs++] = other->tensor;
  if (act != QR_ACT_NONE)
    {
      int sum = out->tensor;
      out->tensor = qr_graph_add_tensor (b->graph, name);
      node = add_node (b->graph, QR_OP_ACTIVATION, name, "shortcut", out->tensor);
      node->inputs[node->n_inputs++] = sum;
      node->act = act;
      node->alpha = alpha;
    }
  return TRUE;
}

static gboolean
build_upsample (Builder *b, QrCfgSection *s, int index, Layer *in, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  int stride;
  float scale;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  g_autofree char *sname = g_strdup_printf ("layer_%d/size", index);
  QrNode *node;

  if (!qr_cfg_int (path, s, "stride", 2, &stride, error) || !qr_cfg_float (path, s, "scale", 1.0f, &scale, error))
    return FALSE;
  if (stride < 1)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[upsample]: stride=%d (downsampling) is not "
                    "supported", stride);
  if (scale != 1.0f)
    return qr_cfg_fail_at (path, qr_cfg_find_option (s, "scale")->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
                    "[upsample]: scale other than 1 is not supported");
  out->h = in->h * stride;
  out->w = in->w * stride;
  out->c = in->c;
  out->tensor = qr_graph_add_tensor (b->graph, name);
  {
    int size[2] = { out->h, out->w };
    int st = add_ints (b->graph, sname, 2, size);
    node = add_node (b->graph, QR_OP_RESIZE, name, "upsample", out->tensor);
    node->inputs[node->n_inputs++] = in->tensor;
    node->inputs[node->n_inputs++] = st;
  }
  node->resize_mode = QR_RESIZE_NEAREST;
  return TRUE;
}

static gboolean
build_head (Builder *b, QrCfgSection *s, gboolean region, int index, Layer *in, QrDarknetInfo *info, GError **error)
{
  const char *path = b->cfg_path;
  QrDarknetHead head = { 0 };
  float anchors[2 * 64], mask[16];
  int n_anchor_values, n_mask, num, coords = 4, new_coords = 0;
  QrCfgOption *kind;

  if (!qr_cfg_int (path, s, "classes", 20, &head.classes, error) || !qr_cfg_int (path, s, "num", 1, &num, error)
      || !qr_cfg_float (path, s, "scale_x_y", 1.0f, &head.scale_x_y, error)
      || !qr_cfg_float (path, s, "beta_nms", 0.6f, &head.beta_nms, error)
      || !qr_cfg_int (path, s, "new_coords", 0, &new_coords, error))
    return FALSE;
  if (region && !qr_cfg_int (path, s, "coords", 4, &coords, error))
    return FALSE;
  n_anchor_values = qr_cfg_list (path, s, "anchors", anchors, G_N_ELEMENTS (anchors), error);
  if (n_anchor_values < 0)
    return FALSE;
  n_mask = region ? 0 : qr_cfg_list (path, s, "mask", mask, G_N_ELEMENTS (mask), error);
  if (n_mask < 0)
    return FALSE;
  if (num < 1 || num > 64 || n_anchor_values != 2 * num)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[%s]: num=%d needs %d anchor values, there are %d",
                    s->type, num, 2 * num, n_anchor_values);
  if (coords != 4)
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[region]: coords=%d (only 4)", coords);
  if (region)
    {
      int softmax;
      if (!qr_cfg_int (path, s, "softmax", 0, &softmax, error))
        return FALSE;
      if (num > 16)
        return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[region]: more than 16 anchors");
      head.n_anchors = num;
      memcpy (head.anchors, anchors, sizeof (float) * 2 * (gsize) num);
    }
  else
    {
      if (n_mask == 0)
        {
          n_mask = MIN (num, 16);
          for (int i = 0; i < n_mask; i++)
            mask[i] = (float) i;
        }
      head.n_anchors = n_mask;
      for (int i = 0; i < n_mask; i++)
        {
          int a = (int) mask[i];
          if (a < 0 || a >= num)
            return qr_cfg_fail_at (path, qr_cfg_find_option (s, "mask")->line, error, QR_ENGINE_ERROR_FORMAT,
                            "mask: anchor %d of %d", a, num);
          head.anchors[2 * i] = anchors[2 * a];
          head.anchors[2 * i + 1] = anchors[2 * a + 1];
        }
    }
  head.region = region;
  head.new_coords = new_coords != 0;
  kind = qr_cfg_find_option (s, "nms_kind");
  if (kind == NULL || g_str_equal (kind->value, "greedynms") || g_str_equal (kind->value, "default"))
    head.nms = QR_DARKNET_NMS_GREEDY;
  else if (g_str_equal (kind->value, "diounms"))
    head.nms = QR_DARKNET_NMS_DIOU;
  else
    return qr_cfg_fail_at (path, kind->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "nms_kind=%s (greedynms and diounms are "
                    "supported)", kind->value);
  if (head.classes < 1 || in->c != head.n_anchors * (head.classes + 5))
    return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "[%s]: the layer before has %d channels; %d anchors × "
                    "(%d classes + 5) = %d", s->type, in->c, head.n_anchors, head.classes,
                    head.n_anchors * (head.classes + 5));
  if (info != NULL)
    {
      if (info->n_heads == (int) G_N_ELEMENTS (info->heads))
        return qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "more than %d detection heads",
                        (int) G_N_ELEMENTS (info->heads));
      head.output = g_strdup (qr_graph_tensor (b->graph, in->tensor)->name);
      info->heads[info->n_heads++] = head;
    }
  g_array_append_val (b->graph->outputs, in->tensor);
  (void) index;
  return TRUE;
}

void
qr_darknet_info_clear (QrDarknetInfo *info)
{
  for (int i = 0; i < info->n_heads; i++)
    g_free (info->heads[i].output);
  memset (info, 0, sizeof *info);
}

static QrGraph *
build (Builder *b, int width, int height, QrDarknetInfo *info, GError **error)
{
  const char *path = b->cfg_path;
  g_autoptr (GArray) sections = qr_cfg_parse (path, error);
  g_autoptr (QrGraph) graph = NULL;
  g_autofree Layer *layers = NULL;
  QrCfgSection *net;
  Layer input = { 0 };

  if (sections == NULL)
    return NULL;
  net = &g_array_index (sections, QrCfgSection, 0);
  if (!g_str_equal (net->type, "net") && !g_str_equal (net->type, "network"))
    {
      qr_cfg_fail_at (path, net->line, error, QR_ENGINE_ERROR_FORMAT, "the first section must be [net], not [%s]", net->type);
      return NULL;
    }
  if (!qr_cfg_check_options (path, net, qr_cfg_net_options, error) || !qr_cfg_int (path, net, "width", 416, &input.w, error)
      || !qr_cfg_int (path, net, "height", 416, &input.h, error) || !qr_cfg_int (path, net, "channels", 3, &input.c, error))
    return NULL;
  if (width > 0)
    input.w = width;
  if (height > 0)
    input.h = height;
  if (input.w < 1 || input.h < 1 || input.c < 1 || input.w > 8192 || input.h > 8192)
    {
      qr_cfg_fail_at (path, net->line, error, QR_ENGINE_ERROR_FORMAT, "[net]: an input of %d×%d×%d", input.w, input.h, input.c);
      return NULL;
    }
  if (info != NULL)
    {
      memset (info, 0, sizeof *info);
      info->width = input.w;
      info->height = input.h;
      info->channels = input.c;
    }

  graph = qr_graph_new (path);
  b->graph = graph;
  input.tensor = qr_graph_add_tensor (graph, "input");
  {
    QrNode *node = add_node (graph, QR_OP_INPUT, "input", "net", input.tensor);
    QrTensor *t = qr_graph_tensor (graph, input.tensor);
    (void) node;
    t->shape.rank = 4;
    t->shape.dims[0] = 1;
    t->shape.dims[1] = input.h;
    t->shape.dims[2] = input.w;
    t->shape.dims[3] = input.c;
    g_array_append_val (graph->inputs, input.tensor);
  }
  if (!read_header (b, error))
    return NULL;

  layers = g_new0 (Layer, sections->len);
  for (guint i = 1; i < sections->len; i++)
    {
      QrCfgSection *s = &g_array_index (sections, QrCfgSection, i);
      int index = (int) i - 1;
      Layer *prev = index > 0 ? &layers[index - 1] : &input;
      Layer *out = &layers[index];
      gboolean ok;

      b->residual = i + 1 < sections->len && g_str_equal (g_array_index (sections, QrCfgSection, i + 1).type, "shortcut");
      if (g_str_equal (s->type, "convolutional") || g_str_equal (s->type, "conv"))
        ok = qr_cfg_check_options (path, s, qr_cfg_conv_options, error) && build_conv (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "maxpool") || g_str_equal (s->type, "max"))
        ok = qr_cfg_check_options (path, s, qr_cfg_maxpool_options, error) && build_maxpool (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "route"))
        ok = qr_cfg_check_options (path, s, qr_cfg_route_options, error) && build_route (b, s, index, layers, out, error);
      else if (g_str_equal (s->type, "shortcut"))
        ok = index > 0 && qr_cfg_check_options (path, s, qr_cfg_shortcut_options, error)
             && build_shortcut (b, s, index, layers, out, error);
      else if (g_str_equal (s->type, "upsample"))
        ok = qr_cfg_check_options (path, s, qr_cfg_upsample_options, error) && build_upsample (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "yolo") || g_str_equal (s->type, "region"))
        {
          ok = qr_cfg_check_options (path, s, g_str_equal (s->type, "yolo") ? qr_cfg_yolo_options : qr_cfg_region_options, error)
               && build_head (b, s, g_str_equal (s->type, "region"), index, prev, info, error);
          *out = *prev;
        }
      else if (g_str_equal (s->type, "dropout"))
        {
          ok = qr_cfg_check_options (path, s, qr_cfg_dropout_options, error);
          *out = *prev; /* the identity at inference */
        }
      else if (g_str_equal (s->type, "reorg") || g_str_equal (s->type, "connected") || g_str_equal (s->type, "avgpool")
               || g_str_equal (s->type, "softmax") || g_str_equal (s->type, "local") || g_str_equal (s->type, "crop")
               || g_str_equal (s->type, "scale_channels") || g_str_equal (s->type, "sam")
               || g_str_equal (s->type, "implicit_add") || g_str_equal (s->type, "implicit_mul")
               || g_str_equal (s->type, "gaussian_yolo") || g_str_equal (s->type, "cost")
               || g_str_equal (s->type, "reorg3d") || g_str_equal (s->type, "batchnorm"))
        ok = qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[%s] layers are not supported yet", s->type);
      else
        ok = qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "unknown section [%s]", s->type);
      if (!ok)
        {
          if (index == 0 && g_str_equal (s->type, "shortcut"))
            qr_cfg_fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[shortcut] as the first layer");
          return NULL;
        }
    }
  if (graph->outputs->len == 0)
    {
      qr_cfg_fail_at (path, 0, error, QR_ENGINE_ERROR_FORMAT, "no [yolo] or [region] layer: not a detector");
      return NULL;
    }
  if (b->rand == NULL && b->needed != b->n_bytes)
    {
      qr_cfg_fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "the file has %" G_GSIZE_FORMAT " bytes; the "
               "network in %s needs %" G_GSIZE_FORMAT " (header included): %s",
               b->n_bytes, path, b->needed, b->needed > b->n_bytes ? "short: truncated, or another cfg's weights"
                                                                    : "too long: another cfg's weights?");
      return NULL;
    }
  return g_steal_pointer (&graph);
}

QrGraph *
qr_graph_load_darknet (const char *cfg_path, const char *weights_path, int width, int height, QrDarknetInfo *info,
                       GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (QrGraph) graph = NULL;
  Builder b = { 0 };

  mapped = g_mapped_file_new (weights_path, FALSE, &local);
  if (mapped == NULL)
    {
      qr_cfg_fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "%s%s", local->message,
               g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? " (Quorum ships no Darknet weights: put the model's .weights file beside its .cfg, with the same name)"
                 : "");
      return NULL;
    }
  b.cfg_path = cfg_path;
  b.weights_path = weights_path;
  b.bytes = (const guint8 *) g_mapped_file_get_contents (mapped);
  b.n_bytes = g_mapped_file_get_length (mapped);
  graph = build (&b, width, height, info, error);
  if (graph == NULL || !qr_graph_finish (graph, error))
    {
      if (info != NULL)
        qr_darknet_info_clear (info);
      return NULL;
    }
  return g_steal_pointer (&graph);
}

gboolean
qr_darknet_write_random_weights (const char *cfg_path, const char *weights_path, guint32 seed, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (QrGraph) graph = NULL;
  g_autoptr (GByteArray) written = g_byte_array_new ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree char *tmp = g_strconcat (weights_path, ".tmp", NULL);
  Builder b = { 0 };

  b.cfg_path = cfg_path;
  b.weights_path = weights_path;
  b.rand = rand;
  b.written = written;
  graph = build (&b, 0, 0, NULL, error);
  if (graph == NULL)
    return FALSE;
  if (!g_file_set_contents (tmp, (const char *) written->data, (gssize) written->len, &local)
      || g_rename (tmp, weights_path) != 0)
    {
      if (local == NULL)
        qr_cfg_fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "cannot rename %s into place", tmp);
      else
        qr_cfg_fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "%s", local->message);
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}
