/* centernet.c: CenterNet (MobileNetV3, 512×512, TF.js; NHWC, RGB 0..255, fitted top-left, zero
 * border). Outputs: a class heatmap [128, 128, 80] after a sigmoid and box sides [128, 128, 4] in
 * input pixels; a detection is a heatmap peak (equal to the 3×3 max around it, as the model's own
 * graph decides) at cell (x, y): box = (4x − l, 4y − t, 4x + r, 4y + b). The graph is cut before
 * its own top-k so that C does the decoding. The heatmap is the class map itself. */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"
#include "tfjs-family.h"

#include <string.h>

#define HEATMAP "tower_0/keypoints"
#define SIDES "tower_0/wh"

static const char *const outputs[] = { HEATMAP, SIDES, NULL };

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  QrGraph *graph = qr_graph_load_tfjs (path, outputs, &local);

  if (graph == NULL)
    {
      /* not a CenterNet graph: the next TF.js family's */
      gboolean other = g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT)
                       && strstr (local->message, "no tensor") != NULL;
      g_propagate_error (error, g_steal_pointer (&local));
      return other ? QR_FAMILY_NOT_MINE : QR_FAMILY_FAILED;
    }
  self->name = g_strdup ("centernet");
  return qr_tfjs_family_take_graph (self, graph, path, FALSE, error) ? QR_FAMILY_LOADED : QR_FAMILY_FAILED;
}

static void
write_input (const QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int size = self->input_size, w = fitted->width, h = fitted->height;
  gsize plane = (gsize) size * (gsize) size;

  memset (input, 0, plane * 3 * sizeof (float));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *p = fitted->pixels + ((gsize) y * (gsize) w + (gsize) x) * 3;
        gsize at = (gsize) y * (gsize) size + (gsize) x;
        input[at * 3 + 0] = p[0];
        input[at * 3 + 1] = p[1];
        input[at * 3 + 2] = p[2];
      }
}

/* The peaks come from the engine (found on the GPU when the model runs there: only they come
 * down, not the 5 MB heatmap of each image), each with the box sides at its cell. */
static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  int n, rank, hd[4];
  const QrPeak *peaks = qr_model_get_peaks (self->model, dec->item, &n);
  float stride;

  if (!qr_model_get_output_shape (self->model, HEATMAP, &rank, hd) || rank != 4)
    return;
  stride = (float) self->input_size / (float) hd[2];
  for (int i = 0; i < n; i++)
    {
      const QrPeak *p = &peaks[i];
      QrDetection d;

      d.class_id = p->c;
      d.score = p->value;
      d.x1 = (stride * (float) p->x - p->row[0]) / dec->fit.scale;
      d.y1 = (stride * (float) p->y - p->row[1]) / dec->fit.scale;
      d.x2 = (stride * (float) p->x + p->row[2]) / dec->fit.scale;
      d.y2 = (stride * (float) p->y + p->row[3]) / dec->fit.scale;
      g_array_append_val (out, d);
    }
}

static gboolean
ask_outputs (QrDetector *self, GError **error)
{
  return qr_model_set_peaks (self->model, HEATMAP, SIDES, self->options.score_threshold, error);
}

static const float *
heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  int rank, dims[4];
  const float *data = qr_model_get_output (self->model, HEATMAP, &rank, dims);

  *rows = dims[1];
  *cols = dims[2];
  *classes = dims[3];
  *image_to_cell = self->fit.scale * (float) *cols / (float) self->input_size;
  return data;
}

static const char *const suffixes[] = { ".json", NULL };

const QrDetectorFamily qr_family_centernet = {
  .id = "centernet",
  .format = "tfjs",
  .suffixes = suffixes,
  .any_file = TRUE,
  .load = load,
  .place = qr_detector_place_top_left,
  .write_input = write_input,
  .input_format = { FALSE, { 0, 1, 2 }, { 0, 0, 0 }, { 1, 1, 1 }, 0 },
  .decode = decode,
  .heatmap = heatmap,
  .ask_outputs = ask_outputs,
};
