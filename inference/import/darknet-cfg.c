/* darknet-cfg.c: reading a Darknet .cfg: an INI-like list of [sections] of key=value options
 * (# and ; start comments; a later value of a key wins, as in Darknet). Every option a section
 * may carry is listed here, those the forward pass reads and those only training reads (accepted
 * and ignored); anything else is an error naming its line, as are values that are not numbers. */
#define G_LOG_DOMAIN "quorum-engine"

#include <errno.h>
#include "darknet-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
qr_cfg_section_clear (gpointer data)
{
  QrCfgSection *s = data;
  for (guint i = 0; s->options != NULL && i < s->options->len; i++)
    {
      QrCfgOption *o = &g_array_index (s->options, QrCfgOption, i);
      g_free (o->key);
      g_free (o->value);
    }
  g_clear_pointer (&s->options, g_array_unref);
  g_free (s->type);
}
gboolean
qr_cfg_fail_at (const char *path, int line, GError **error, int code, const char *format, ...)
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

GArray *
qr_cfg_parse (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GArray) sections = g_array_new (FALSE, TRUE, sizeof (QrCfgSection));
  g_auto (GStrv) lines = NULL;

  g_array_set_clear_func (sections, qr_cfg_section_clear);
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      qr_cfg_fail_at (path, 0, error, QR_ENGINE_ERROR_IO, "%s", local->message);
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
          QrCfgSection s = { 0 };
          if (end == NULL || end[1] != '\0')
            {
              qr_cfg_fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "a section header must look like [name]");
              return NULL;
            }
          s.type = g_strstrip (g_strndup (line + 1, (gsize) (end - line - 1)));
          s.line = i + 1;
          s.options = g_array_new (FALSE, TRUE, sizeof (QrCfgOption));
          g_array_append_val (sections, s);
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL || eq == line)
        {
          qr_cfg_fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "expected key=value or [section], got \"%s\"", line);
          return NULL;
        }
      if (sections->len == 0)
        {
          qr_cfg_fail_at (path, i + 1, error, QR_ENGINE_ERROR_FORMAT, "an option before the first [section]");
          return NULL;
        }
      {
        QrCfgSection *s = &g_array_index (sections, QrCfgSection, sections->len - 1);
        QrCfgOption o;
        o.key = g_strstrip (g_strndup (line, (gsize) (eq - line)));
        o.value = g_strstrip (g_strdup (eq + 1));
        o.line = i + 1;
        /* a later value wins, as in Darknet */
        g_array_append_val (s->options, o);
      }
    }
  if (sections->len == 0)
    {
      qr_cfg_fail_at (path, 0, error, QR_ENGINE_ERROR_FORMAT, "no sections: not a Darknet cfg");
      return NULL;
    }
  return g_steal_pointer (&sections);
}

QrCfgOption *
qr_cfg_find_option (QrCfgSection *s, const char *key)
{
  for (int i = (int) s->options->len - 1; i >= 0; i--)
    {
      QrCfgOption *o = &g_array_index (s->options, QrCfgOption, i);
      if (g_str_equal (o->key, key))
        return o;
    }
  return NULL;
}

gboolean
qr_cfg_int (const char *path, QrCfgSection *s, const char *key, int fallback, int *out, GError **error)
{
  QrCfgOption *o = qr_cfg_find_option (s, key);
  char *end;
  long v;

  *out = fallback;
  if (o == NULL)
    return TRUE;
  errno = 0;
  v = strtol (o->value, &end, 10);
  if (end == o->value || *end != '\0')
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a whole number", key, o->value);
  if (errno == ERANGE || v < -1000000 || v > 1000000)
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT,
                           "%s: %s is out of range (from -1000000 to 1000000)", key, o->value);
  *out = (int) v;
  return TRUE;
}

gboolean
qr_cfg_float (const char *path, QrCfgSection *s, const char *key, float fallback, float *out, GError **error)
{
  QrCfgOption *o = qr_cfg_find_option (s, key);
  char *end;
  double v;

  *out = fallback;
  if (o == NULL)
    return TRUE;
  v = g_ascii_strtod (o->value, &end);
  if (end == o->value || *end != '\0' || !isfinite (v))
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a number", key, o->value);
  *out = (float) v;
  return TRUE;
}

/* A comma-separated list; returns the count, or −1 after an error. */
int
qr_cfg_list (const char *path, QrCfgSection *s, const char *key, float *out, int max, GError **error)
{
  QrCfgOption *o = qr_cfg_find_option (s, key);
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
          qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "%s: \"%s\" is not a number", key, p);
          return -1;
        }
      if (n == max)
        {
          qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "%s: more than %d values", key, max);
          return -1;
        }
      out[n++] = (float) v;
    }
  return n;
}

/* Every option a section may carry: those the forward pass reads, and those only training reads
 * (accepted and ignored). Anything else is an error naming its line. */
const char *const qr_cfg_net_options[] = {
  "batch", "subdivisions", "width", "height", "channels", "momentum", "decay", "angle", "saturation",
  "exposure", "hue", "learning_rate", "burn_in", "max_batches", "policy", "steps", "scales", "step", "gamma",
  "power", "mosaic", "mixup", "cutmix", "flip", "blur", "letter_box", "max_crop", "min_crop", "aspect",
  "adam", "B1", "B2", "eps", "inputs", "max_chart_loss", "track", "time_steps", "optimized_memory",
  "workspace_size_limit_MB", "label_smooth_eps", "gaussian_noise", "resize_step", "ema_alpha",
  "dynamic_minibatch", "loss_scale", "mosaic_bound", "contrastive", "unsupervised", "rand_seed", NULL,
};
const char *const qr_cfg_conv_options[] = {
  "filters", "size", "stride", "stride_x", "stride_y", "pad", "padding", "groups", "batch_normalize",
  "activation", "dilation", "binary", "xnor", "antialiasing", "share_index", "flipped", "dot", "bin_output",
  "assisted_excitation", "cbn", "sway", "rotate", "stretch", "stretch_sway", "deform", "coordconv", NULL,
};
const char *const qr_cfg_maxpool_options[] = {
  "size", "stride", "stride_x", "stride_y", "padding", "maxpool_depth", "out_channels", "antialiasing", NULL,
};
const char *const qr_cfg_route_options[] = { "layers", "groups", "group_id", "stopbackward", NULL };
const char *const qr_cfg_shortcut_options[] = { "from", "activation", "weights_type", "weights_normalization", NULL };
const char *const qr_cfg_upsample_options[] = { "stride", "scale", NULL };
const char *const qr_cfg_yolo_options[] = {
  "mask", "anchors", "classes", "num", "jitter", "ignore_thresh", "truth_thresh", "random", "scale_x_y",
  "new_coords", "iou_normalizer", "cls_normalizer", "obj_normalizer", "delta_normalizer", "iou_loss",
  "iou_thresh", "iou_thresh_kind", "nms_kind", "beta_nms", "max_delta", "resize", "objectness_smooth",
  "counters_per_class", "label_smooth_eps", "focal_loss", "max", "track_history_size", "sim_thresh",
  "dets_for_track", "dets_for_show", "track_ciou_norm", "embedding_layer", "map", "show_details", NULL,
};
const char *const qr_cfg_region_options[] = {
  "anchors", "bias_match", "classes", "coords", "num", "softmax", "jitter", "rescore", "object_scale",
  "noobject_scale", "class_scale", "coord_scale", "absolute", "thresh", "random", "log", "sqrt", "background",
  "max", "focus", NULL,
};
const char *const qr_cfg_dropout_options[] = { "probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs", NULL };

gboolean
qr_cfg_check_options (const char *path, QrCfgSection *s, const char *const *known, GError **error)
{
  for (guint i = 0; i < s->options->len; i++)
    {
      QrCfgOption *o = &g_array_index (s->options, QrCfgOption, i);
      if (!g_strv_contains (known, o->key))
        return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_FORMAT, "unknown option \"%s\" in [%s]", o->key, s->type);
    }
  return TRUE;
}

/* An option that must keep its default for the forward pass Quorum implements. */
gboolean
qr_cfg_require_default (const char *path, QrCfgSection *s, const char *key, int expected, GError **error)
{
  int v;
  if (!qr_cfg_int (path, s, key, expected, &v, error))
    return FALSE;
  if (v != expected)
    return qr_cfg_fail_at (path, qr_cfg_find_option (s, key)->line, error, QR_ENGINE_ERROR_UNSUPPORTED,
                    "%s=%d is not supported (only %d)", key, v, expected);
  return TRUE;
}

gboolean
qr_cfg_activation (const char *path, QrCfgSection *s, QrActivation *act, float *alpha, GError **error)
{
  QrCfgOption *o = qr_cfg_find_option (s, "activation");
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
    return qr_cfg_fail_at (path, o->line, error, QR_ENGINE_ERROR_UNSUPPORTED, "activation \"%s\" is not supported "
                    "(linear, leaky, relu, logistic, mish, swish are)", name);
  return TRUE;
}
