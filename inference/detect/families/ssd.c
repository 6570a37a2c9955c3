/* ssd.c: SSD-MobileNetV2 (TFLite, Open Images or any TF Object Detection API export without its
 * post-processing: 300×300 stretched, RGB −1..1). Anchors as the API makes them: six feature
 * maps 19, 10, 5, 3, 2, 1; scales s_i = 0.2 + 0.75·i/5; the first map has (0.1, 1:1), (0.2, 2:1),
 * (0.2, 1:2), the others ratios 1, 2, 1/2, 3, 1/3 at s_i and 1:1 at √(s_i·s_{i+1}) (s_6 = 1);
 * w = s·√r, h = s/√r, centres at (x + 0.5)/size — 1917 in all. Boxes (ty, tx, th, tw): centre +=
 * t/10 · anchor size, size = exp (t/5) · anchor size; scores σ(logit), class 0 the background.
 * Class names from a .labels file beside the model whose stem begins the model's. */
#define G_LOG_DOMAIN "quorum-detect"

#include "tflite-family.h"

#include <string.h>

static GArray *
make_anchors (void)
{
  static const int sizes[6] = { 19, 10, 5, 3, 2, 1 };
  static const float ratios[5] = { 1.0f, 2.0f, 0.5f, 3.0f, 1.0f / 3.0f };
  GArray *anchors = g_array_new (FALSE, FALSE, sizeof (QrAnchor));

  for (int l = 0; l < 6; l++)
    {
      float scale = 0.2f + 0.75f * (float) l / 5.0f, next = l == 5 ? 1.0f : 0.2f + 0.75f * (float) (l + 1) / 5.0f;
      float spec[6][2];
      int n = 0;
      if (l == 0)
        {
          spec[n][0] = 0.1f, spec[n++][1] = 1.0f;
          spec[n][0] = scale, spec[n++][1] = 2.0f;
          spec[n][0] = scale, spec[n++][1] = 0.5f;
        }
      else
        {
          for (int r = 0; r < 5; r++)
            spec[n][0] = scale, spec[n++][1] = ratios[r];
          spec[n][0] = sqrtf (scale * next), spec[n++][1] = 1.0f;
        }
      for (int y = 0; y < sizes[l]; y++)
        for (int x = 0; x < sizes[l]; x++)
          for (int k = 0; k < n; k++)
            {
              QrAnchor a;
              a.cx = ((float) x + 0.5f) / (float) sizes[l];
              a.cy = ((float) y + 0.5f) / (float) sizes[l];
              a.w = spec[k][0] * sqrtf (spec[k][1]);
              a.h = spec[k][0] / sqrtf (spec[k][1]);
              g_array_append_val (anchors, a);
            }
    }
  return anchors;
}

/* The labels file for a TFLite model: STEM.labels, else a .labels beside it whose stem begins the
 * model's (ssd_mobilenetv2_oidv4.labels for ssd_mobilenetv2_oidv4_fp16.tflite). */
static char **
find_labels (const char *path, int n)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr (GDir) d = NULL;
  const char *entry;
  char *dot = strrchr (base, '.');

  if (dot != NULL)
    *dot = '\0';
  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *stem = NULL;
      if (!g_str_has_suffix (entry, ".labels"))
        continue;
      stem = g_strndup (entry, strlen (entry) - 7);
      if (g_str_has_prefix (base, stem))
        {
          g_autofree char *full = g_build_filename (dir, entry, NULL);
          char **names = qr_detector_read_names (full, n);
          if (names != NULL)
            return names;
        }
    }
  return NULL;
}

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  QrTfliteAnchors *a;
  int n_classes;

  if (!qr_tflite_family_load (self, path, error))
    return QR_FAMILY_FAILED;
  a = self->data;
  n_classes = a->n_classes;
  if (!(a->coords == 4 && a->n_anchors == 1917 && self->input_w == 300 && self->input_h == 300 && n_classes >= 2))
    {
      qr_tflite_family_unknown (self, path, error);
      return QR_FAMILY_NOT_MINE;
    }
  a->anchors = make_anchors ();
  /* class 0 is the background: the detector's classes are the rest */
  self->n_classes = n_classes - 1;
  self->names = find_labels (path, n_classes);
  if (self->names == NULL)
    self->names = qr_detector_numbered_names (n_classes);
  /* drop the background's name so that index c is class c */
  g_free (self->names[0]);
  memmove (self->names, self->names + 1, sizeof (char *) * (gsize) n_classes);
  g_assert ((int) a->anchors->len == a->n_anchors);
  return QR_FAMILY_LOADED;
}

/* Stretched over the whole input. */
static void
place (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0)
{
  *x0 = *y0 = 0;
  *w = self->input_w;
  *h = self->input_h;
}

static void
anchor_box (const QrDetector *self, const QrAnchor *an, const float *t, float *cx, float *cy, float *w, float *h)
{
  *cy = an->cy + t[0] / 10.0f * an->h;
  *cx = an->cx + t[1] / 10.0f * an->w;
  *h = expf (t[2] / 5.0f) * an->h;
  *w = expf (t[3] / 5.0f) * an->w;
}

static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  qr_tflite_family_decode (self, dec, 1, anchor_box, out);
}

static const char *const suffixes[] = { ".tflite", NULL };

const QrDetectorFamily qr_family_ssd = {
  .id = "ssd",
  .format = "tflite",
  .suffixes = suffixes,
  .load = load,
  .free_data = qr_tflite_family_free,
  .place = place,
  .write_input = qr_tflite_family_write_input,
  .input_format = { FALSE, { 0, 1, 2 }, { 127.5f, 127.5f, 127.5f }, { 127.5f, 127.5f, 127.5f }, -1 },
  .decode = decode,
};
