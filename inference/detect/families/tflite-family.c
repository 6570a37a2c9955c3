/* tflite-family.c: what the TFLite anchor detectors (the SSD, BlazeFace) share: loading, the
 * −1..1 input, and turning an anchor's decoded box and scores into detections. */
#define G_LOG_DOMAIN "quorum-detect"

#include "tflite-family.h"
#include "qr-tflite.h"

#include <string.h>

void
qr_tflite_family_free (gpointer data)
{
  QrTfliteAnchors *a = data;

  if (a->anchors != NULL)
    g_array_unref (a->anchors);
  g_free (a->boxes_output);
  g_free (a->scores_output);
  g_free (a);
}

gboolean
qr_tflite_family_load (QrDetector *self, const char *path, GError **error)
{
  QrGraph *graph = qr_graph_load_tflite (path, error);
  g_auto (GStrv) outputs = NULL;
  QrTfliteAnchors *a;
  int rank, dims[4];

  if (graph == NULL)
    return FALSE;
  outputs = qr_graph_get_output_names (graph);
  qr_graph_get_input_shape (graph, &rank, dims);
  if (rank != 4 || dims[3] != 3 || g_strv_length (outputs) != 2)
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: not a detector Quorum knows (it wants an "
                   "RGB NHWC input and two outputs: boxes and scores)", path);
      return FALSE;
    }
  if (!qr_detector_take_graph (self, graph, dims[2], dims[1], error))
    return FALSE;
  a = self->data = g_new0 (QrTfliteAnchors, 1);
  for (int i = 0; i < 2; i++)
    {
      if (qr_model_get_output (self->model, outputs[i], &rank, dims) == NULL || rank != 3)
        continue;
      if (dims[2] == 4 || dims[2] == 16)
        {
          a->boxes_output = g_strdup (outputs[i]);
          a->coords = dims[2];
          a->n_anchors = dims[1];
        }
      else
        {
          a->scores_output = g_strdup (outputs[i]);
          a->n_classes = dims[2];
        }
    }
  if (a->boxes_output == NULL || a->scores_output == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: no [anchors, 4 or 16] box output beside a "
                   "score output", path);
      return FALSE;
    }
  {
    g_autofree char *base = g_path_get_basename (path);
    *strrchr (base, '.') = '\0';
    self->name = g_steal_pointer (&base);
  }
  return TRUE;
}

void
qr_tflite_family_unknown (QrDetector *self, const char *path, GError **error)
{
  const QrTfliteAnchors *a = self->data;

  g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %d anchors with %d box values and %d "
               "classes at %d×%d: neither the standard SSD-MobileNetV2 (1917 anchors, 300×300) nor BlazeFace (896, "
               "128×128)", path, a->n_anchors, a->coords, a->n_classes, self->input_w, self->input_h);
}

void
qr_tflite_family_write_input (const QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int nw = self->input_w, nh = self->input_h, w = fitted->width, h = fitted->height;

  /* −1..1, as MediaPipe feeds them; the border black */
  for (gsize i = 0; i < (gsize) nw * (gsize) nh * 3; i++)
    input[i] = -1.0f;
  for (int y = 0; y < h; y++)
    {
      const guint8 *p = fitted->pixels + (gsize) y * (gsize) w * 3;
      float *q = input + ((gsize) (y + y0) * (gsize) nw + (gsize) x0) * 3;
      for (int k = 0; k < w * 3; k++)
        q[k] = (float) p[k] / 127.5f - 1.0f;
    }
}

void
qr_tflite_family_decode (const QrDetector *self, const QrDecode *dec, int first, QrAnchorBoxFunc box_of, GArray *out)
{
  const QrTfliteAnchors *a = self->data;
  int rank, bd[4], sd[4];
  const float *boxes = qr_detector_item_output (self, dec, a->boxes_output, &rank, bd);
  const float *scores = qr_detector_item_output (self, dec, a->scores_output, &rank, sd);
  float in_w = (float) self->input_w, in_h = (float) self->input_h;
  int K = sd[2];

  for (guint i = 0; i < a->anchors->len; i++)
    {
      const float *s = scores + (gsize) i * (gsize) K;
      float cx, cy, w, h;

      box_of (self, &g_array_index (a->anchors, QrAnchor, i), boxes + (gsize) i * (gsize) bd[2], &cx, &cy, &w, &h);
      for (int c = first; c < K; c++)
        {
          float score = qr_sigmoid (CLAMP (s[c], -100.0f, 100.0f));
          QrDetection d;
          if (score < self->options.score_threshold)
            continue;
          d.class_id = c - first;
          d.score = score;
          d.x1 = ((cx - w / 2) * in_w - dec->fit.pad_x) / dec->fit.scale_x;
          d.x2 = ((cx + w / 2) * in_w - dec->fit.pad_x) / dec->fit.scale_x;
          d.y1 = ((cy - h / 2) * in_h - dec->fit.pad_y) / dec->fit.scale_y;
          d.y2 = ((cy + h / 2) * in_h - dec->fit.pad_y) / dec->fit.scale_y;
          g_array_append_val (out, d);
        }
    }
}
