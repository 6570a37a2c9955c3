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

#include "qr-darknet.h"
#include "engine-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  char    *key;
  char    *value;
  int      line;
} Option;

typedef struct
{
  char    *type;
  int      line;
  GArray  *options;   /* Option */
} Section;

static void
section_clear (gpointer data)
{
  Section *s = data;
  for (guint i = 0; s->options != NULL && i < s->options->len; i++)
    {
      Option *o = &g_array_index (s->options, Option, i);
      g_free (o->key);
      g_free (o->value);
    }
  g_clear_pointer (&s->options, g_array_unref);
  g_free (s->type);
}

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

static gboolean
fail_at (const char *path, int line, GError **error, int code, const char *format, ...) G_GNUC_PRINTF (5, 6);

static gboolean
fail_at (const char *path, int line, GError **error, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (line > 0)
    g_set_error (error, QR_ENGINE_ERROR, code, "%s:%d: %s", path, line, message);
  else
    g_set_error (error, QR_ENGINE_ERROR, code, "%s: %s", path, message);
  return FALSE;
}

static GArray *
parse_cfg (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GArray) sections = g_array_new (FALSE, TRUE, sizeof (Section));
  g_auto (GStrv) lines = NULL;

  g_array_set_clear_func (sections, section_clear);
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      fail_at (path, 0, error, QR_ENGINE_ERROR_IO, "%s", local->message);
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *eq;
      if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        continue;
      if (line[0] == '[')
        {
          char *end = strchr (line, ']');
          Section s = { 0 };
          if (end == NULL || end[1] != '\0')
            {
              fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "a section header must look like [name]");
              return NULL;
            }
          s.type = g_strstrip (g_strndup (line + 1, (gsize) (end - line - 1)));
          s.line = i + 1;
          s.options = g_array_new (FALSE, TRUE, sizeof (Option));
          g_array_append_val (sections, s);
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL || eq == line)
        {
          fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "expected key=value or [section], got \"%s\"", line);
          return NULL;
        }
      if (sections->len == 0)
        {
          fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "an option before the first [section]");
          return NULL;
        }
      {
        Section *s = &g_array_index (sections, Section, sections->len - 1);
        Option o;
        o.key = g_strstrip (g_strndup (line, (gsize) (eq - line)));
        o.value = g_strstrip (g_strdup (eq + 1));
        o.line = i + 1;
        /* a later value wins, as in Darknet */
        g_array_append_val (s->options, o);
      }
    }
  if (sections->len == 0)
    {
      fail_at (path, 0, error, QR_ENGINE_ERROR_FORMAT, "no sections: not a Darknet cfg");
      return NULL;
    }
  return g_steal_pointer (&sections);
}

static Option *
find_option (Section *s, const char *key)
{
  for (int i = (int) s->options->len - 1; i >= 0; i--)
    {
      Option *o = &g_array_index (s->options, Option, i);
      if (g_str_equal (o->key, key))
        return o;
    }
  return NULL;
}

static gboolean
opt_int (const char *path, Section *s, const char *key, int fallback, int *out, GError **error)
{
  Option *o = find_option (s, key);
  char *end;
  long v;

  *out = fallback;
  if (o == NULL)
    return TRUE;
  v = strtol (o->value, &end, 10);
  if (end == o->value || *end != '\0' || v < -1000000 || v > 1000000)
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a whole number", key, o->value);
  *out = (int) v;
  return TRUE;
}

static gboolean
opt_float (const char *path, Section *s, const char *key, float fallback, float *out, GError **error)
{
  Option *o = find_option (s, key);
  char *end;
  double v;

  *out = fallback;
  if (o == NULL)
    return TRUE;
  v = g_ascii_strtod (o->value, &end);
  if (end == o->value || *end != '\0' || !isfinite (v))
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a number", key, o->value);
  *out = (float) v;
  return TRUE;
}

/* A comma-separated list; returns the count, or −1 after an error. */
static int
opt_list (const char *path, Section *s, const char *key, float *out, int max, GError **error)
{
  Option *o = find_option (s, key);
  g_auto (GStrv) parts = NULL;
  int n = 0;

  if (o == NULL)
    return 0;
  parts = g_strsplit (o->value, ",", -1);
  for (int i = 0; parts[i] != NULL; i++)
    {
      char *p = g_strstrip (parts[i]), *end;
      double v;
      if (p[0] == '\0' && parts[i + 1] == NULL)
        break; /* a trailing comma */
      v = g_ascii_strtod (p, &end);
      if (end == p || *end != '\0' || !isfinite (v))
        {
          fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a number", key, p);
          return -1;
        }
      if (n == max)
        {
          fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "%s: more than %d values", key, max);
          return -1;
        }
      out[n++] = (float) v;
    }
  return n;
}

/* Every option a section may carry: those the forward pass reads, and those only training reads
 * (accepted and ignored). Anything else is an error naming its line. */
static const char *const net_options[] = {
  "batch", "subdivisions", "width", "height", "channels", "momentum", "decay", "angle", "saturation",
  "exposure", "hue", "learning_rate", "burn_in", "max_batches", "policy", "steps", "scales", "step", "gamma",
  "power", "mosaic", "mixup", "cutmix", "flip", "blur", "letter_box", "max_crop", "min_crop", "aspect",
  "adam", "B1", "B2", "eps", "inputs", "max_chart_loss", "track", "time_steps", "optimized_memory",
  "workspace_size_limit_MB", "label_smooth_eps", "gaussian_noise", "resize_step", "ema_alpha",
  "dynamic_minibatch", "loss_scale", "mosaic_bound", "contrastive", "unsupervised", "rand_seed", NULL,
};
static const char *const conv_options[] = {
  "filters", "size", "stride", "stride_x", "stride_y", "pad", "padding", "groups", "batch_normalize",
  "activation", "dilation", "binary", "xnor", "antialiasing", "share_index", "flipped", "dot", "bin_output",
  "assisted_excitation", "cbn", "sway", "rotate", "stretch", "stretch_sway", "deform", "coordconv", NULL,
};
static const char *const maxpool_options[] = {
  "size", "stride", "stride_x", "stride_y", "padding", "maxpool_depth", "out_channels", "antialiasing", NULL,
};
static const char *const route_options[] = { "layers", "groups", "group_id", "stopbackward", NULL };
static const char *const shortcut_options[] = { "from", "activation", "weights_type", "weights_normalization", NULL };
static const char *const upsample_options[] = { "stride", "scale", NULL };
static const char *const yolo_options[] = {
  "mask", "anchors", "classes", "num", "jitter", "ignore_thresh", "truth_thresh", "random", "scale_x_y",
  "new_coords", "iou_normalizer", "cls_normalizer", "obj_normalizer", "delta_normalizer", "iou_loss",
  "iou_thresh", "iou_thresh_kind", "nms_kind", "beta_nms", "max_delta", "resize", "objectness_smooth",
  "counters_per_class", "label_smooth_eps", "focal_loss", "max", "track_history_size", "sim_thresh",
  "dets_for_track", "dets_for_show", "track_ciou_norm", "embedding_layer", "map", "show_details", NULL,
};
static const char *const region_options[] = {
  "anchors", "bias_match", "classes", "coords", "num", "softmax", "jitter", "rescore", "object_scale",
  "noobject_scale", "class_scale", "coord_scale", "absolute", "thresh", "random", "log", "sqrt", "background",
  "max", "focus", NULL,
};
static const char *const dropout_options[] = { "probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs", NULL };

static gboolean
check_options (const char *path, Section *s, const char *const *known, GError **error)
{
  for (guint i = 0; i < s->options->len; i++)
    {
      Option *o = &g_array_index (s->options, Option, i);
      if (!g_strv_contains (known, o->key))
        return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "unknown option \"%s\" in [%s]", o->key, s->type);
    }
  return TRUE;
}

/* An option that must keep its default for the forward pass Quorum implements. */
static gboolean
require_default (const char *path, Section *s, const char *key, int expected, GError **error)
{
  int v;
  if (!opt_int (path, s, key, expected, &v, error))
    return FALSE;
  if (v != expected)
    return fail_at (path, find_option (s, key)->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
                    "%s=%d is not supported (only %d)", key, v, expected);
  return TRUE;
}

static gboolean
parse_activation (const char *path, Section *s, QrActivation *act, float *alpha, GError **error)
{
  Option *o = find_option (s, "activation");
  const char *name = o != NULL ? o->value : "logistic";

  *alpha = 0.1f;
  if (g_str_equal (name, "linear"))
    *act = QR_ACT_NONE;
  else if (g_str_equal (name, "leaky"))
    *act = QR_ACT_LEAKY_RELU;
  else if (g_str_equal (name, "relu"))
    *act = QR_ACT_RELU;
  else if (g_str_equal (name, "logistic"))
    *act = QR_ACT_SIGMOID;
  else if (g_str_equal (name, "mish"))
    *act = QR_ACT_MISH;
  else if (g_str_equal (name, "swish"))
    *act = QR_ACT_SWISH;
  else
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "activation \"%s\" is not supported "
                    "(linear, leaky, relu, logistic, mish, swish are)", name);
  return TRUE;
}

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
    return fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "%" G_GSIZE_FORMAT " bytes: too short for "
                    "a Darknet weights header", b->n_bytes);
  memcpy (version, b->bytes, sizeof version);
  if (version[0] < 0 || version[1] < 0)
    return fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "not a Darknet weights file (version %d.%d)",
                    version[0], version[1]);
  /* Darknet writes `seen` as a size_t since version 0.2 */
  b->offset = sizeof version
              + ((version[0] * 10 + version[1] >= 2 && version[0] < 1000 && version[1] < 1000) ? 8 : 4);
  b->needed = b->offset;
  if (b->offset > b->n_bytes)
    return fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "%" G_GSIZE_FORMAT " bytes: too short for "
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
build_conv (Builder *b, Section *s, int index, Layer *in, Layer *out, GError **error)
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

  if (!opt_int (path, s, "filters", 1, &filters, error) || !opt_int (path, s, "size", 1, &size, error)
      || !opt_int (path, s, "stride", 1, &stride, error) || !opt_int (path, s, "pad", 0, &pad, error)
      || !opt_int (path, s, "padding", 0, &padding, error) || !opt_int (path, s, "groups", 1, &groups, error)
      || !opt_int (path, s, "batch_normalize", 0, &bn, error) || !parse_activation (path, s, &act, &alpha, error))
    return FALSE;
  {
    int sx, sy;
    if (!opt_int (path, s, "stride_x", stride, &sx, error) || !opt_int (path, s, "stride_y", stride, &sy, error))
      return FALSE;
    if (sx != stride || sy != stride)
      return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[convolutional]: different x and y strides "
                      "are not supported");
  }
  if (!require_default (path, s, "dilation", 1, error) || !require_default (path, s, "binary", 0, error)
      || !require_default (path, s, "xnor", 0, error) || !require_default (path, s, "antialiasing", 0, error)
      || !require_default (path, s, "deform", 0, error) || !require_default (path, s, "coordconv", 0, error))
    return FALSE;
  if (find_option (s, "share_index") != NULL)
    return fail_at (path, find_option (s, "share_index")->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
                    "share_index (weights shared between layers) is not supported");
  if (filters < 1 || size < 1 || stride < 1 || groups < 1)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[convolutional]: filters, size, stride and groups "
                    "must be positive");
  if (pad)
    padding = size / 2;
  if (in->c % groups != 0 || filters % groups != 0)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[convolutional]: groups=%d does not divide %d "
                    "input channels and %d filters", groups, in->c, filters);
  depthwise = groups > 1 && groups == in->c && groups == filters;
  if (groups > 1 && !depthwise)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[convolutional]: grouped convolutions "
                    "other than depthwise (groups = channels = filters) are not supported");

  out->h = (in->h + 2 * padding - size) / stride + 1;
  out->w = (in->w + 2 * padding - size) / stride + 1;
  out->c = filters;
  if (out->h <= 0 || out->w <= 0)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "layer %d: the output would be empty (input %d×%d)",
                    index, in->w, in->h);

  per_filter = (gsize) (in->c / groups) * (gsize) size * (gsize) size;
  n_weights = per_filter * (gsize) filters;
  /* before allocating anything: a damaged cfg (filters=900000) must not ask for gigabytes */
  {
    guint64 bytes = ((guint64) n_weights + (guint64) filters * (bn ? 4 : 1)) * sizeof (float);
    if (n_weights > (G_GUINT64_CONSTANT (1) << 30))
      return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "layer %d would have %" G_GSIZE_FORMAT
                      " weights: too large", index, n_weights);
    if (b->rand == NULL && b->needed + bytes > b->n_bytes)
      return fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "the file has %" G_GSIZE_FORMAT " bytes; the "
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
build_maxpool (Builder *b, Section *s, int index, Layer *in, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  int size, stride, padding, sx, sy;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  QrNode *node;

  if (!opt_int (path, s, "size", 1, &size, error) || !opt_int (path, s, "stride", 1, &stride, error)
      || !opt_int (path, s, "stride_x", stride, &sx, error) || !opt_int (path, s, "stride_y", stride, &sy, error)
      || !opt_int (path, s, "padding", size - 1, &padding, error)
      || !require_default (path, s, "maxpool_depth", 0, error) || !require_default (path, s, "antialiasing", 0, error))
    return FALSE;
  if (sx != stride || sy != stride)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[maxpool]: different x and y strides are not "
                    "supported");
  if (size < 1 || stride < 1 || padding < 0)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[maxpool]: size and stride must be positive");
  out->h = (in->h + padding - size) / stride + 1;
  out->w = (in->w + padding - size) / stride + 1;
  out->c = in->c;
  if (out->h <= 0 || out->w <= 0)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "layer %d: the output would be empty", index);
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
resolve_layer (const char *path, Option *o, float value, int index, int *out, GError **error)
{
  int v = (int) value;
  if ((float) v != value)
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: %g is not a layer index", o->key, value);
  if (v < 0)
    v += index;
  if (v < 0 || v >= index)
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: layer %d does not come before layer %d",
                    o->key, (int) value, index);
  *out = v;
  return TRUE;
}

static gboolean
build_route (Builder *b, Section *s, int index, Layer *layers, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  float values[QR_MAX_INPUTS];
  int n, groups, group_id, parts[QR_MAX_INPUTS], n_parts = 0;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  Option *o = find_option (s, "layers");

  if (o == NULL)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[route] needs layers=");
  n = opt_list (path, s, "layers", values, QR_MAX_INPUTS - 1, error);
  if (n < 0 || !opt_int (path, s, "groups", 1, &groups, error) || !opt_int (path, s, "group_id", 0, &group_id, error))
    return FALSE;
  if (n == 0)
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "[route] needs at least one layer");
  if (groups < 1 || group_id < 0 || group_id >= groups)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[route]: group_id=%d outside groups=%d", group_id,
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
        return fail_at (path, o->line, error, QR_ENGINE_ERROR_SHAPE, "[route]: layer %d is %d×%d, layer %d is %d×%d",
                        from, src->w, src->h, (int) values[0] < 0 ? (int) values[0] + index : (int) values[0],
                        out->w, out->h);
      if (src->c % groups != 0)
        return fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "[route]: groups=%d does not divide %d channels",
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
build_shortcut (Builder *b, Section *s, int index, Layer *layers, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  float values[2];
  int n, from = 0;
  QrActivation act;
  float alpha;
  Option *o = find_option (s, "from"), *wt = find_option (s, "weights_type");
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  g_autofree char *sum_name = g_strdup_printf ("layer_%d/sum", index);
  Layer *prev = &layers[index - 1], *other;
  QrNode *node;

  if (o == NULL)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[shortcut] needs from=");
  n = opt_list (path, s, "from", values, 2, error);
  if (n < 0 || !parse_activation (path, s, &act, &alpha, error))
    return FALSE;
  if (find_option (s, "activation") == NULL)
    act = QR_ACT_NONE; /* Darknet's shortcut defaults to linear */
  if (n != 1)
    return fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[shortcut] from more than one layer is not "
                    "supported");
  if (wt != NULL && !g_str_equal (wt->value, "none"))
    return fail_at (path, wt->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "weighted shortcuts are not supported");
  if (!resolve_layer (path, o, values[0], index, &from, error))
    return FALSE;
  other = &layers[from];
  if (other->h != prev->h || other->w != prev->w || other->c != prev->c)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[shortcut]: layer %d (%d×%d×%d) and layer %d "
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
build_upsample (Builder *b, Section *s, int index, Layer *in, Layer *out, GError **error)
{
  const char *path = b->cfg_path;
  int stride;
  float scale;
  g_autofree char *name = g_strdup_printf ("layer_%d", index);
  g_autofree char *sname = g_strdup_printf ("layer_%d/size", index);
  QrNode *node;

  if (!opt_int (path, s, "stride", 2, &stride, error) || !opt_float (path, s, "scale", 1.0f, &scale, error))
    return FALSE;
  if (stride < 1)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[upsample]: stride=%d (downsampling) is not "
                    "supported", stride);
  if (scale != 1.0f)
    return fail_at (path, find_option (s, "scale")->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
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
build_head (Builder *b, Section *s, gboolean region, int index, Layer *in, QrDarknetInfo *info, GError **error)
{
  const char *path = b->cfg_path;
  QrDarknetHead head = { 0 };
  float anchors[2 * 64], mask[16];
  int n_anchor_values, n_mask, num, coords = 4, new_coords = 0;
  Option *kind;

  if (!opt_int (path, s, "classes", 20, &head.classes, error) || !opt_int (path, s, "num", 1, &num, error)
      || !opt_float (path, s, "scale_x_y", 1.0f, &head.scale_x_y, error)
      || !opt_float (path, s, "beta_nms", 0.6f, &head.beta_nms, error)
      || !opt_int (path, s, "new_coords", 0, &new_coords, error))
    return FALSE;
  if (region && !opt_int (path, s, "coords", 4, &coords, error))
    return FALSE;
  n_anchor_values = opt_list (path, s, "anchors", anchors, G_N_ELEMENTS (anchors), error);
  if (n_anchor_values < 0)
    return FALSE;
  n_mask = region ? 0 : opt_list (path, s, "mask", mask, G_N_ELEMENTS (mask), error);
  if (n_mask < 0)
    return FALSE;
  if (num < 1 || num > 64 || n_anchor_values != 2 * num)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[%s]: num=%d needs %d anchor values, there are %d",
                    s->type, num, 2 * num, n_anchor_values);
  if (coords != 4)
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[region]: coords=%d (only 4)", coords);
  if (region)
    {
      int softmax;
      if (!opt_int (path, s, "softmax", 0, &softmax, error))
        return FALSE;
      if (num > 16)
        return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[region]: more than 16 anchors");
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
            return fail_at (path, find_option (s, "mask")->line, error, QR_ENGINE_ERROR_FORMAT,
                            "mask: anchor %d of %d", a, num);
          head.anchors[2 * i] = anchors[2 * a];
          head.anchors[2 * i + 1] = anchors[2 * a + 1];
        }
    }
  head.region = region;
  head.new_coords = new_coords != 0;
  kind = find_option (s, "nms_kind");
  if (kind == NULL || g_str_equal (kind->value, "greedynms") || g_str_equal (kind->value, "default"))
    head.nms = QR_DARKNET_NMS_GREEDY;
  else if (g_str_equal (kind->value, "diounms"))
    head.nms = QR_DARKNET_NMS_DIOU;
  else
    return fail_at (path, kind->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "nms_kind=%s (greedynms and diounms are "
                    "supported)", kind->value);
  if (head.classes < 1 || in->c != head.n_anchors * (head.classes + 5))
    return fail_at (path, s->line, error, QR_ENGINE_ERROR_SHAPE, "[%s]: the layer before has %d channels; %d anchors × "
                    "(%d classes + 5) = %d", s->type, in->c, head.n_anchors, head.classes,
                    head.n_anchors * (head.classes + 5));
  if (info != NULL)
    {
      if (info->n_heads == (int) G_N_ELEMENTS (info->heads))
        return fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "more than %d detection heads",
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
  g_autoptr (GArray) sections = parse_cfg (path, error);
  g_autoptr (QrGraph) graph = NULL;
  g_autofree Layer *layers = NULL;
  Section *net;
  Layer input = { 0 };

  if (sections == NULL)
    return NULL;
  net = &g_array_index (sections, Section, 0);
  if (!g_str_equal (net->type, "net") && !g_str_equal (net->type, "network"))
    {
      fail_at (path, net->line, error, QR_ENGINE_ERROR_FORMAT, "the first section must be [net], not [%s]", net->type);
      return NULL;
    }
  if (!check_options (path, net, net_options, error) || !opt_int (path, net, "width", 416, &input.w, error)
      || !opt_int (path, net, "height", 416, &input.h, error) || !opt_int (path, net, "channels", 3, &input.c, error))
    return NULL;
  if (width > 0)
    input.w = width;
  if (height > 0)
    input.h = height;
  if (input.w < 1 || input.h < 1 || input.c < 1 || input.w > 8192 || input.h > 8192)
    {
      fail_at (path, net->line, error, QR_ENGINE_ERROR_FORMAT, "[net]: an input of %d×%d×%d", input.w, input.h, input.c);
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
      Section *s = &g_array_index (sections, Section, i);
      int index = (int) i - 1;
      Layer *prev = index > 0 ? &layers[index - 1] : &input;
      Layer *out = &layers[index];
      gboolean ok;

      b->residual = i + 1 < sections->len && g_str_equal (g_array_index (sections, Section, i + 1).type, "shortcut");
      if (g_str_equal (s->type, "convolutional") || g_str_equal (s->type, "conv"))
        ok = check_options (path, s, conv_options, error) && build_conv (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "maxpool") || g_str_equal (s->type, "max"))
        ok = check_options (path, s, maxpool_options, error) && build_maxpool (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "route"))
        ok = check_options (path, s, route_options, error) && build_route (b, s, index, layers, out, error);
      else if (g_str_equal (s->type, "shortcut"))
        ok = index > 0 && check_options (path, s, shortcut_options, error)
             && build_shortcut (b, s, index, layers, out, error);
      else if (g_str_equal (s->type, "upsample"))
        ok = check_options (path, s, upsample_options, error) && build_upsample (b, s, index, prev, out, error);
      else if (g_str_equal (s->type, "yolo") || g_str_equal (s->type, "region"))
        {
          ok = check_options (path, s, g_str_equal (s->type, "yolo") ? yolo_options : region_options, error)
               && build_head (b, s, g_str_equal (s->type, "region"), index, prev, info, error);
          *out = *prev;
        }
      else if (g_str_equal (s->type, "dropout"))
        {
          ok = check_options (path, s, dropout_options, error);
          *out = *prev; /* the identity at inference */
        }
      else if (g_str_equal (s->type, "reorg") || g_str_equal (s->type, "connected") || g_str_equal (s->type, "avgpool")
               || g_str_equal (s->type, "softmax") || g_str_equal (s->type, "local") || g_str_equal (s->type, "crop")
               || g_str_equal (s->type, "scale_channels") || g_str_equal (s->type, "sam")
               || g_str_equal (s->type, "implicit_add") || g_str_equal (s->type, "implicit_mul")
               || g_str_equal (s->type, "gaussian_yolo") || g_str_equal (s->type, "cost")
               || g_str_equal (s->type, "reorg3d") || g_str_equal (s->type, "batchnorm"))
        ok = fail_at (path, s->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "[%s] layers are not supported yet", s->type);
      else
        ok = fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "unknown section [%s]", s->type);
      if (!ok)
        {
          if (index == 0 && g_str_equal (s->type, "shortcut"))
            fail_at (path, s->line, error, QR_ENGINE_ERROR_FORMAT, "[shortcut] as the first layer");
          return NULL;
        }
    }
  if (graph->outputs->len == 0)
    {
      fail_at (path, 0, error, QR_ENGINE_ERROR_FORMAT, "no [yolo] or [region] layer: not a detector");
      return NULL;
    }
  if (b->rand == NULL && b->needed != b->n_bytes)
    {
      fail_at (b->weights_path, 0, error, QR_ENGINE_ERROR_WEIGHTS, "the file has %" G_GSIZE_FORMAT " bytes; the "
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
      fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "%s%s", local->message,
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
        fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "cannot rename %s into place", tmp);
      else
        fail_at (weights_path, 0, error, QR_ENGINE_ERROR_IO, "%s", local->message);
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}
