/* nanodet.c: NanoDet (416×416, TF.js; NCHW, BGR normalised as it was trained, fitted top-left).
 * Per stride 8, 16, 32 a class map [cells, 80] (sigmoid) and box distributions [cells, 4 × 11]:
 * each side is the softmax expectation of its 11 bins, times the stride, measured from the cell
 * centre (Li et al., Generalized Focal Loss, 2020). The heatmap is the stride-8 class map. */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"
#include "tfjs-family.h"

#include <string.h>

/* The outputs of one stride: class scores and box distributions. */
typedef struct
{
  int         stride;
  const char *scores;
  const char *boxes;
} Level;

typedef struct
{
  Level  levels[3];
  char  *names[6];
} Nanodet;

static void
nanodet_free (gpointer data)
{
  Nanodet *n = data;

  for (int i = 0; i < 6; i++)
    g_free (n->names[i]);
  g_free (n);
}

/* NanoDet's converted graph names its outputs Identity…; tell them apart by shape. */
static gboolean
find_levels (QrDetector *self, Nanodet *n, GError **error)
{
  static const char *const names[] = { "Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5" };
  int found = 0;

  for (int i = 0; i < 6; i++)
    {
      int rank, dims[4];
      const float *data = qr_model_get_output (self->model, names[i], &rank, dims);
      int cells, side, stride;
      if (data == NULL || rank != 3)
        continue;
      cells = dims[1];
      side = (int) lround (sqrt ((double) cells));
      if (side * side != cells)
        continue;
      stride = self->input_size / side;
      for (int l = 0; l < 3; l++)
        if ((8 << l) == stride)
          {
            n->levels[l].stride = stride;
            n->names[i] = g_strdup (names[i]);
            if (dims[2] == 80)
              n->levels[l].scores = n->names[i];
            else
              n->levels[l].boxes = n->names[i];
            found++;
          }
    }
  if (found != 6)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT,
                   "not a NanoDet model: expected class and box outputs at strides 8, 16 and 32");
      return FALSE;
    }
  return TRUE;
}

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  QrGraph *graph = qr_graph_load_tfjs (path, NULL, error);

  if (graph == NULL)
    return QR_FAMILY_FAILED;
  self->name = g_strdup ("nanodet");
  if (!qr_tfjs_family_take_graph (self, graph, path, TRUE, error))
    return QR_FAMILY_FAILED;
  self->data = g_new0 (Nanodet, 1);
  if (!find_levels (self, self->data, error))
    {
      g_prefix_error (error, "%s: ", path);
      return QR_FAMILY_FAILED;
    }
  return QR_FAMILY_LOADED;
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
        /* ImageNet's mean and std in BGR order */
        input[0 * plane + at] = ((float) p[2] - 103.53f) / 57.375f;
        input[1 * plane + at] = ((float) p[1] - 116.28f) / 57.12f;
        input[2 * plane + at] = ((float) p[0] - 123.675f) / 58.395f;
      }
}

/* Each stride's cells with a class at or above the threshold, kept by the engine (on the GPU when
 * the model runs there: only they come down), with their box distributions. */
static gboolean
ask_outputs (QrDetector *self, GError **error)
{
  const Nanodet *n = self->data;

  for (int l = 0; l < 3; l++)
    {
      int rank, dims[4];
      if (!qr_model_get_output_shape (self->model, n->levels[l].scores, &rank, dims) || rank != 3
          || !qr_model_select_rows (self->model, (guint) l, n->levels[l].scores, dims[2], 0, dims[2],
                                    n->levels[l].boxes, self->options.score_threshold, error))
        return FALSE;
    }
  return TRUE;
}

static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  const Nanodet *n = self->data;

  for (int l = 0; l < 3; l++)
    {
      int rank, sd[4];
      QrKeptRows kept;
      int C, bins, side;
      float stride = (float) n->levels[l].stride;

      if (!qr_model_get_rows (self->model, (guint) l, dec->item, &kept) || kept.with == NULL
          || !qr_model_get_output_shape (self->model, n->levels[l].scores, &rank, sd))
        continue;
      C = kept.width;
      bins = kept.with_width / 4;
      side = (int) lround (sqrt ((double) sd[1]));
      for (int r = 0; r < kept.n; r++)
        {
          const float *s = kept.values + (gsize) r * (gsize) C;
          int i = kept.index[r];
          float cx = ((float) (i % side) + 0.5f) * stride, cy = ((float) (i / side) + 0.5f) * stride;
          float dist[4];
          int best = 0;

          for (int c = 1; c < C; c++)
            if (s[c] > s[best])
              best = c;
          if (s[best] < self->options.score_threshold)
            continue;
          for (int k = 0; k < 4; k++)
            {
              const float *b = kept.with + (gsize) r * (gsize) kept.with_width + (gsize) k * (gsize) bins;
              float max = b[0], sum = 0, expect = 0;
              for (int j = 1; j < bins; j++)
                max = fmaxf (max, b[j]);
              for (int j = 0; j < bins; j++)
                {
                  float e = expf (b[j] - max);
                  sum += e;
                  expect += e * (float) j;
                }
              dist[k] = expect / sum * stride;
            }
          for (int c = 0; c < C; c++)
            {
              QrDetection d;
              if (s[c] < self->options.score_threshold)
                continue;
              d.class_id = c;
              d.score = s[c];
              d.x1 = (cx - dist[0]) / dec->fit.scale;
              d.y1 = (cy - dist[1]) / dec->fit.scale;
              d.x2 = (cx + dist[2]) / dec->fit.scale;
              d.y2 = (cy + dist[3]) / dec->fit.scale;
              g_array_append_val (out, d);
            }
        }
    }
}

static const float *
heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  const Nanodet *n = self->data;
  int rank, dims[4];
  const float *data = qr_model_get_output (self->model, n->levels[0].scores, &rank, dims);

  *rows = *cols = (int) lround (sqrt ((double) dims[1]));
  *classes = dims[2];
  *image_to_cell = self->fit.scale * (float) *cols / (float) self->input_size;
  return data;
}

static const char *const suffixes[] = { ".json", NULL };

const QrDetectorFamily qr_family_nanodet = {
  .id = "nanodet",
  .format = "tfjs",
  .suffixes = suffixes,
  .any_file = TRUE,
  .load = load,
  .free_data = nanodet_free,
  .place = qr_detector_place_top_left,
  .write_input = write_input,
  .input_format = { TRUE, { 2, 1, 0 }, { 103.53f, 116.28f, 123.675f }, { 57.375f, 57.12f, 58.395f }, 0 },
  .decode = decode,
  .heatmap = heatmap,
  .ask_outputs = ask_outputs,
};
