/* ultralytics.c: Ultralytics YOLO detectors exported to ONNX (`yolo export format=onnx`: YOLOv8,
 * YOLO11 and the others with the same head; YOLOv5's `export.py --include onnx`). The export takes images N × 3 × H × W, RGB 0..1,
 * letterboxed (fitted, centred, the border grey 114), and gives one output [N, 4 + C, A]: per
 * anchor A the box's centre, width and height in input pixels and C class scores already through
 * a sigmoid. Ultralytics writes its metadata into the file (names as a Python dict, imgsz, stride,
 * task): the class names come from there, through the class map.
 *
 * YOLOv5's export gives [N, A, 5 + C] instead: per box its centre and size, an objectness and C
 * class scores, all through a sigmoid (three anchor boxes per cell); its head holds rank-5
 * tensors, so the engine runs it one image at a time (see the ONNX importer).
 *
 * Decoding is Ultralytics' predictor's: per anchor the best class, kept when its score passes the
 * threshold; NMS per class. YOLOv5's: a box whose objectness passes the threshold scores each
 * class as objectness × class score, and its best class is kept when that passes it too. The
 * heatmap is the finest level's class scores (the first anchors are its cells, row by row; for
 * YOLOv5 the best of the cell's three anchors, objectness × class). */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"
#include "qr-class-map.h"
#include "qr-onnx.h"

#include <string.h>

typedef struct
{
  char *output;       /* the output's name */
  int   anchors;      /* A */
  int   finest_rows, finest_cols;   /* the first level's grid (stride 8) */
  gboolean v5;        /* YOLOv5's layout: [N, A, 5 + C] */
} Ultralytics;

static void
ultralytics_free (gpointer data)
{
  Ultralytics *u = data;
  g_free (u->output);
  g_free (u);
}

/* Ultralytics' names: a Python dict's repr, {0: 'person', 1: "o'clock", …}, keys 0 … n−1 in
 * order. NULL when it is not that. */
static char **
parse_names (const char *text)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while (g_ascii_isspace (*p))
    p++;
  if (*p++ != '{')
    return NULL;
  for (;;)
    {
      g_autoptr (GString) name = g_string_new (NULL);
      char *end;
      gint64 key;
      char quote;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '}' && names->len > 0)
        break;
      key = g_ascii_strtoll (p, &end, 10);
      if (end == p || key != (gint64) names->len)
        return NULL;
      p = end;
      while (g_ascii_isspace (*p))
        p++;
      if (*p++ != ':')
        return NULL;
      while (g_ascii_isspace (*p))
        p++;
      quote = *p++;
      if (quote != '\'' && quote != '"')
        return NULL;
      while (*p != quote)
        {
          if (*p == '\0')
            return NULL;
          if (*p == '\\' && p[1] != '\0')
            p++;
          g_string_append_c (name, *p++);
        }
      p++;
      if (name->len == 0 || !g_utf8_validate (name->str, -1, NULL))
        return NULL;
      g_ptr_array_add (names, g_strdup (qr_class_map_lookup (name->str)));
      while (g_ascii_isspace (*p))
        p++;
      if (*p == ',')
        p++;
      else if (*p != '}')
        return NULL;
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  g_autoptr (GHashTable) meta = qr_onnx_model_metadata (path, error);
  QrOnnxOptions options = { .nhwc_input = TRUE, .any_batch = TRUE };
  g_autoptr (QrGraph) graph = NULL;
  g_auto (GStrv) names = NULL;
  const char *task, *names_text;
  Ultralytics *u;
  QrTensor *in, *out;
  int n_names = -1, channels, anchors, in_h, in_w, cells;
  gboolean v5;

  if (meta == NULL)
    return QR_FAMILY_FAILED;
  task = g_hash_table_lookup (meta, "task");
  if (task != NULL && strcmp (task, "detect") != 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: an Ultralytics %s model (Quorum reads "
                   "detect models)", path, task);
      return QR_FAMILY_FAILED;
    }
  names_text = g_hash_table_lookup (meta, "names");
  if (names_text != NULL)
    {
      names = parse_names (names_text);
      if (names == NULL)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: the names in its metadata are not "
                       "a dict of class numbers 0, 1, … to quoted names", path);
          return QR_FAMILY_FAILED;
        }
      n_names = (int) g_strv_length (names);
    }
  graph = qr_graph_load_onnx (path, &options, error);
  if (graph == NULL)
    return QR_FAMILY_FAILED;
  if (graph->inputs->len != 1 || graph->outputs->len != 1)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %u outputs (an Ultralytics detector has "
                   "one, [batch, 4 + classes, anchors])", path, graph->outputs->len);
      return QR_FAMILY_FAILED;
    }
  in = qr_graph_tensor (graph, g_array_index (graph->inputs, int, 0));
  out = qr_graph_tensor (graph, g_array_index (graph->outputs, int, 0));
  in_h = in->shape.dims[1];
  in_w = in->shape.dims[2];
  if (in->shape.dims[3] != 3)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %d input channels (a detector takes RGB)",
                   path, in->shape.dims[3]);
      return QR_FAMILY_FAILED;
    }
  /* [N, 4 + C, A] (v8, 11) or [N, A, 5 + C] (v5): the anchors outnumber the channels */
  v5 = out->shape.rank == 3 && out->shape.dims[1] > out->shape.dims[2];
  channels = out->shape.rank == 3 ? out->shape.dims[v5 ? 2 : 1] : 0;
  anchors = out->shape.rank == 3 ? out->shape.dims[v5 ? 1 : 2] : 0;
  if (channels <= (v5 ? 5 : 4) || anchors <= channels || (n_names > 0 && channels != (v5 ? 5 : 4) + n_names))
    {
      g_autofree char *shape = qr_shape_to_string (&out->shape);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: its output %s is %s, not the [batch, 4 + "
                   "classes, anchors] of an Ultralytics YOLOv8/YOLO11 detector or the [batch, anchors, 5 + classes] "
                   "of a YOLOv5%s", path, out->name, shape, n_names > 0 ? " with its metadata's classes" : "");
      return QR_FAMILY_FAILED;
    }
  /* the finest level: stride 8 (anchors = cells at strides 8, 16 and 32 when it is that; three
     anchor boxes a cell for v5) */
  cells = (in_h / 8) * (in_w / 8);
  u = self->data = g_new0 (Ultralytics, 1);
  u->output = g_strdup (out->name);
  u->anchors = anchors;
  u->v5 = v5;
  if (in_h % 32 == 0 && in_w % 32 == 0 && anchors == (v5 ? 3 : 1) * (cells + cells / 4 + cells / 16))
    {
      u->finest_rows = in_h / 8;
      u->finest_cols = in_w / 8;
    }
  self->n_classes = channels - (v5 ? 5 : 4);
  self->names = names != NULL ? g_steal_pointer (&names) : self->n_classes == 80 ? NULL
                                                          : qr_detector_numbered_names (self->n_classes);
  {
    g_autofree char *base = g_path_get_basename (path);
    self->name = g_strndup (base, strlen (base) - strlen (".onnx"));
  }
  return qr_detector_take_graph (self, g_steal_pointer (&graph), in_w, in_h, error) ? QR_FAMILY_LOADED
                                                                                     : QR_FAMILY_FAILED;
}

/* Ultralytics' letterbox: scaled to fit, sizes rounded, centred with the left and top border
 * rounded from (border / 2 − 0.1), the rounding half to even as Python's round. */
static void
place (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0)
{
  int nw = self->input_w, nh = self->input_h;
  double r = MIN ((double) nh / image->height, (double) nw / image->width);

  *w = CLAMP ((int) nearbyint (image->width * r), 1, nw);
  *h = CLAMP ((int) nearbyint (image->height * r), 1, nh);
  *x0 = CLAMP ((int) nearbyint ((nw - *w) / 2.0 - 0.1), 0, nw - *w);
  *y0 = CLAMP ((int) nearbyint ((nh - *h) / 2.0 - 0.1), 0, nh - *h);
}

static void
write_input (const QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int nw = self->input_w, nh = self->input_h, w = fitted->width, h = fitted->height;

  for (gsize i = 0; i < (gsize) nw * (gsize) nh * 3; i++)
    input[i] = 114.0f / 255.0f;
  for (int y = 0; y < h; y++)
    {
      const guint8 *p = fitted->pixels + (gsize) y * (gsize) w * 3;
      float *q = input + ((gsize) (y + y0) * (gsize) nw + (gsize) x0) * 3;
      for (int k = 0; k < w * 3; k++)
        q[k] = (float) p[k] / 255.0f;
    }
}

static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  const Ultralytics *u = self->data;
  int rank, dims[4];
  const float *raw = qr_detector_item_output (self, dec, u->output, &rank, dims);
  int C = self->n_classes;
  gsize A = (gsize) u->anchors;
  float thresh = self->options.score_threshold;

  if (u->v5)
    {
      gsize no = (gsize) C + 5;
      for (gsize a = 0; a < A; a++)
        {
          const float *p = raw + a * no;
          float best = 0;
          int best_c = 0;
          if (!(p[4] > thresh))
            continue;
          for (int c = 0; c < C; c++)
            if (p[5 + c] * p[4] > best)
              best = p[5 + c] * p[4], best_c = c;
          if (best > thresh)
            {
              QrDetection d;
              d.class_id = best_c;
              d.score = best;
              d.x1 = (p[0] - p[2] / 2 - dec->fit.pad_x) / dec->fit.scale_x;
              d.x2 = (p[0] + p[2] / 2 - dec->fit.pad_x) / dec->fit.scale_x;
              d.y1 = (p[1] - p[3] / 2 - dec->fit.pad_y) / dec->fit.scale_y;
              d.y2 = (p[1] + p[3] / 2 - dec->fit.pad_y) / dec->fit.scale_y;
              g_array_append_val (out, d);
            }
        }
      return;
    }
  for (gsize a = 0; a < A; a++)
    {
      float best = raw[4 * A + a];
      int best_c = 0;
      for (int c = 1; c < C; c++)
        {
          float v = raw[(4 + (gsize) c) * A + a];
          if (v > best)
            best = v, best_c = c;
        }
      if (best > thresh)
        {
          float cx = raw[a], cy = raw[A + a], bw = raw[2 * A + a], bh = raw[3 * A + a];
          QrDetection d;
          d.class_id = best_c;
          d.score = best;
          d.x1 = (cx - bw / 2 - dec->fit.pad_x) / dec->fit.scale_x;
          d.x2 = (cx + bw / 2 - dec->fit.pad_x) / dec->fit.scale_x;
          d.y1 = (cy - bh / 2 - dec->fit.pad_y) / dec->fit.scale_y;
          d.y2 = (cy + bh / 2 - dec->fit.pad_y) / dec->fit.scale_y;
          g_array_append_val (out, d);
        }
    }
}

/* The finest level's class scores over the cells on the image (not the border). */
static const float *
heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  const Ultralytics *u = self->data;

  if (u->finest_rows == 0)
    return NULL;
  if (self->heat_stale)
    {
      QrDecode dec = { 0 };
      int rank, dims[4], R = u->finest_rows, W = u->finest_cols, C = self->n_classes;
      const float *raw;
      int c0, r0, nc, nr;

      dec.fit = self->fit;
      raw = qr_detector_item_output (self, &dec, u->output, &rank, dims);
      c0 = (int) floorf (self->fit.pad_x / 8.0f);
      r0 = (int) floorf (self->fit.pad_y / 8.0f);
      nc = MAX (1, W - 2 * c0);
      nr = MAX (1, R - 2 * r0);
      g_clear_pointer (&self->heat, g_free);
      self->heat = g_new0 (float, (gsize) nr * (gsize) nc * (gsize) C);
      for (int j = 0; j < nr && j + r0 < R; j++)
        for (int i = 0; i < nc && i + c0 < W; i++)
          for (int c = 0; c < C; c++)
            {
              gsize cell = (gsize) (j + r0) * (gsize) W + (gsize) (i + c0);
              float v = 0;
              if (u->v5)
                /* the finest level's anchors are [3, R, W]: the cell's best of three */
                for (gsize k = 0; k < 3; k++)
                  {
                    const float *p = raw + (k * (gsize) R * (gsize) W + cell) * ((gsize) C + 5);
                    v = MAX (v, p[4] * p[5 + c]);
                  }
              else
                v = raw[(4 + (gsize) c) * (gsize) u->anchors + cell];
              self->heat[((gsize) j * (gsize) nc + (gsize) i) * (gsize) C + (gsize) c] = v;
            }
      self->heat_rows = nr;
      self->heat_cols = nc;
      self->heat_to_cell = self->fit.scale_x / 8.0f;
      self->heat_stale = FALSE;
    }
  *rows = self->heat_rows;
  *cols = self->heat_cols;
  *classes = self->n_classes;
  *image_to_cell = self->heat_to_cell;
  return self->heat;
}

static const char *const suffixes[] = { ".onnx", NULL };

const QrDetectorFamily qr_family_ultralytics = {
  .id = "ultralytics",
  .format = "onnx",
  .suffixes = suffixes,
  .load = load,
  .free_data = ultralytics_free,
  .place = place,
  .write_input = write_input,
  .input_format = { FALSE, { 0, 1, 2 }, { 0, 0, 0 }, { 255, 255, 255 }, 114.0f / 255.0f },
  .decode = decode,
  .heatmap = heatmap,
};
