/* detector.c: the COCO detectors' pre- and post-processing.
 * CenterNet (MobileNetV3, 512×512, NHWC, RGB 0..255): class heatmap [128, 128, 80] after a
 * sigmoid and box sides [128, 128, 4] in input pixels; a detection is a heatmap peak (equal to the
 * 3×3 max around it, as the model's own graph decides) at cell (x, y): box = (4x − l, 4y − t,
 * 4x + r, 4y + b). The graph is cut before its own top-k so that C does the decoding.
 * NanoDet (416×416, NCHW): per stride 8, 16, 32 a class map [cells, 80] (sigmoid) and box
 * distributions [cells, 4 × 11]: the softmax expectation of each side's 11 bins, times the
 * stride, measured from the cell centre (Li et al., Generalized Focal Loss, 2020).
 * YOLO (Darknet, NHWC here, RGB 0..1, letterboxed): per head, per cell (i, j) of a W × H grid and
 * per anchor (aw, ah), raw t = (tx, ty, tw, th, to, classes…):
 *   [yolo]  x = (i + σ(tx)·s − (s − 1)/2) / W,  w = exp (tw)·aw / net_w,  objectness σ(to),
 *           class score = objectness · σ(t_c); s = scale_x_y;
 *           with new_coords=1 the network applied the sigmoid already: σ(·) is the identity
 *           and w = 4·tw²·aw / net_w;
 *   [region] (YOLOv2) x = (i + σ(tx)) / W,  w = exp (tw)·aw / W (anchors in cells), class score
 *           = σ(to) · softmax (t_classes).
 * Boxes are kept when the objectness and the class score pass the threshold, as Darknet does. */
#define G_LOG_DOMAIN "quorum-detect"

#include "qr-detector.h"
#include "qr-box.h"
#include "qr-darknet.h"
#include "qr-class-map.h"
#include "engine-private.h"

#include <math.h>
#include <string.h>

static const char *const coco_names[80] = {
  "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
  "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
  "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
  "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
  "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
  "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
  "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
  "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
  "hair drier", "toothbrush",
};

static const char *const centernet_outputs[] = { "tower_0/keypoints", "tower_0/wh", NULL };

/* NanoDet's outputs, per stride: class scores and box distributions. */
typedef struct
{
  int         stride;
  const char *scores;
  const char *boxes;
} NanodetLevel;

struct _QrDetector
{
  QrDetectorKind     kind;
  QrModel           *model;
  QrDetectorOptions  options;
  int                input_size;
  float             *input;
  float              scale;          /* image → input pixels, of the last run */
  NanodetLevel       levels[3];
  char              *level_names[6];
  /* YOLO */
  QrDarknetInfo      darknet;
  char             **names;          /* NULL: COCO's */
  int                n_classes;
  char              *name;
  int                input_w, input_h;
  float              scale_x, scale_y, pad_x, pad_y;   /* of the last letterbox */
  float             *heat;           /* the finest head's class scores, image part only */
  int                heat_rows, heat_cols;
  float              heat_to_cell;
};

const char *
qr_coco_class_name (int class_id)
{
  return class_id >= 0 && class_id < 80 ? coco_names[class_id] : "unknown";
}

void
qr_detector_options_init (QrDetectorOptions *options)
{
  options->score_threshold = 0.25f;
  options->nms_iou = 0.5f;
  options->max_detections = 100;
  options->n_threads = 0;
  options->flip = FALSE;
}

void
qr_detector_free (QrDetector *self)
{
  if (self == NULL)
    return;
  qr_model_free (self->model);
  g_free (self->input);
  for (int i = 0; i < 6; i++)
    g_free (self->level_names[i]);
  qr_darknet_info_clear (&self->darknet);
  g_strfreev (self->names);
  g_free (self->name);
  g_free (self->heat);
  g_free (self);
}

/* NanoDet's converted graph names its outputs Identity…; tell them apart by shape. */
static gboolean
find_nanodet_levels (QrDetector *self, GError **error)
{
  QrGraph *graph = NULL;
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
            self->levels[l].stride = stride;
            self->level_names[i] = g_strdup (names[i]);
            if (dims[2] == 80)
              self->levels[l].scores = self->level_names[i];
            else
              self->levels[l].boxes = self->level_names[i];
            found++;
          }
    }
  (void) graph;
  if (found != 6)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT,
                   "not a NanoDet model: expected class and box outputs at strides 8, 16 and 32");
      return FALSE;
    }
  return TRUE;
}

/* One class name per line (blank lines skipped), each turned into the name peers vote under
 * (qr-class-map.h); NULL when the file is missing or has another number of names. */
static char **
read_names (const char *path, int expected)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *names;
  int n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  names = g_ptr_array_new ();
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (line[0] == '\0')
        continue;
      g_ptr_array_add (names, g_strdup (qr_class_map_lookup (line)));
      n++;
    }
  g_ptr_array_add (names, NULL);
  if (n != expected)
    {
      g_strfreev ((char **) g_ptr_array_free (names, FALSE));
      return NULL;
    }
  return (char **) g_ptr_array_free (names, FALSE);
}

static QrDetector *
load_darknet (QrDetector *self_in, const char *path, GError **error)
{
  g_autoptr (QrDetector) self = self_in;
  g_autofree char *stem = g_strndup (path, strlen (path) - (g_str_has_suffix (path, ".cfg") ? 4 : 8));
  g_autofree char *cfg = g_strconcat (stem, ".cfg", NULL);
  g_autofree char *weights = g_strconcat (stem, ".weights", NULL);
  g_autofree char *names_path = g_strconcat (stem, ".names", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *coco_path = g_build_filename (dir, "coco.names", NULL);
  QrGraph *graph;
  int classes;

  graph = qr_graph_load_darknet (cfg, weights, 0, 0, &self->darknet, error);
  if (graph == NULL)
    return NULL;
  self->kind = QR_DETECTOR_YOLO;
  self->input_w = self->darknet.width;
  self->input_h = self->darknet.height;
  self->input_size = self->input_w;
  if (self->darknet.channels != 3)
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %d input channels (a detector takes RGB)",
                   cfg, self->darknet.channels);
      return NULL;
    }
  classes = self->darknet.heads[0].classes;
  for (int h = 1; h < self->darknet.n_heads; h++)
    if (self->darknet.heads[h].classes != classes)
      {
        qr_graph_free (graph);
        g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: the heads differ in their classes", cfg);
        return NULL;
      }
  self->n_classes = classes;
  self->names = read_names (names_path, classes);
  if (self->names == NULL)
    self->names = read_names (coco_path, classes);
  if (self->names == NULL && classes != 80)
    {
      GPtrArray *made = g_ptr_array_new ();
      for (int c = 0; c < classes; c++)
        g_ptr_array_add (made, g_strdup_printf ("class %d", c));
      g_ptr_array_add (made, NULL);
      self->names = (char **) g_ptr_array_free (made, FALSE);
    }
  self->name = g_path_get_basename (stem);
  self->model = qr_model_new_cpu (graph, self->options.n_threads, error);
  if (self->model == NULL)
    return NULL;
  self->input = g_new0 (float, (gsize) self->input_w * (gsize) self->input_h * 3);
  return g_steal_pointer (&self);
}

QrDetector *
qr_detector_load (const char *path, const QrDetectorOptions *options, GError **error)
{
  g_autoptr (QrDetector) self = g_new0 (QrDetector, 1);
  g_autoptr (GError) local = NULL;
  QrGraph *graph;
  int rank, dims[4];

  if (options != NULL)
    self->options = *options;
  else
    qr_detector_options_init (&self->options);

  self->n_classes = 80;
  if (g_str_has_suffix (path, ".cfg") || g_str_has_suffix (path, ".weights"))
    return load_darknet (g_steal_pointer (&self), path, error);

  graph = qr_graph_load_tfjs (path, centernet_outputs, &local);
  if (graph != NULL)
    self->kind = QR_DETECTOR_CENTERNET;
  else if (g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT) && strstr (local->message, "no tensor"))
    {
      g_clear_error (&local);
      graph = qr_graph_load_tfjs (path, NULL, error);
      if (graph == NULL)
        return NULL;
      self->kind = QR_DETECTOR_NANODET;
    }
  else
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  qr_graph_get_input_shape (graph, &rank, dims);
  if (rank != 4 || (self->kind == QR_DETECTOR_CENTERNET && dims[3] != 3)
      || (self->kind == QR_DETECTOR_NANODET && dims[1] != 3))
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: an unexpected input shape for a detector", path);
      return NULL;
    }
  self->input_size = self->kind == QR_DETECTOR_CENTERNET ? dims[1] : dims[2];
  self->input_w = self->input_h = self->input_size;
  self->model = qr_model_new_cpu (graph, self->options.n_threads, error);
  if (self->model == NULL)
    return NULL;
  if (self->kind == QR_DETECTOR_NANODET && !find_nanodet_levels (self, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  self->input = g_new0 (float, (gsize) self->input_size * (gsize) self->input_size * 3);
  return g_steal_pointer (&self);
}

QrDetectorKind qr_detector_get_kind (QrDetector *self) { return self->kind; }
QrModel *qr_detector_get_model (QrDetector *self) { return self->model; }
int qr_detector_get_input_size (QrDetector *self) { return self->input_size; }
int qr_detector_get_n_classes (QrDetector *self) { return self->n_classes; }

void
qr_detector_get_input_dims (QrDetector *self, int *width, int *height)
{
  *width = self->input_w;
  *height = self->input_h;
}

const char *
qr_detector_get_name (QrDetector *self)
{
  switch (self->kind)
    {
    case QR_DETECTOR_CENTERNET: return "centernet";
    case QR_DETECTOR_NANODET: return "nanodet";
    case QR_DETECTOR_YOLO:
    default: return self->name;
    }
}

const char *
qr_detector_get_class_name (QrDetector *self, int class_id)
{
  if (self->names != NULL)
    return class_id >= 0 && class_id < self->n_classes ? self->names[class_id] : "unknown";
  return qr_coco_class_name (class_id);
}

/* Darknet's letterbox: the image scaled to fit (integer sizes, as Darknet rounds them), centred,
 * the border 0.5; values 0..1, NHWC, RGB. */
static float
letterbox (QrDetector *self, const QrImage *image, float *input)
{
  int nw = self->input_w, nh = self->input_h, w, h, x0, y0;
  g_autoptr (QrImage) fitted = NULL;

  if ((double) nw / image->width < (double) nh / image->height)
    {
      w = nw;
      h = MAX (1, (int) ((gint64) image->height * nw / image->width));
    }
  else
    {
      h = nh;
      w = MAX (1, (int) ((gint64) image->width * nh / image->height));
    }
  x0 = (nw - w) / 2;
  y0 = (nh - h) / 2;
  fitted = qr_image_resize (image, w, h);
  for (gsize i = 0; i < (gsize) nw * (gsize) nh * 3; i++)
    input[i] = 0.5f;
  for (int y = 0; y < h; y++)
    {
      const guint8 *p = fitted->pixels + (gsize) y * (gsize) w * 3;
      float *q = input + ((gsize) (y + y0) * (gsize) nw + (gsize) x0) * 3;
      for (int k = 0; k < w * 3; k++)
        q[k] = (float) p[k] * (1.0f / 255.0f);
    }
  self->scale_x = (float) w / (float) image->width;
  self->scale_y = (float) h / (float) image->height;
  self->pad_x = (float) x0;
  self->pad_y = (float) y0;
  return self->scale_x;
}

float
qr_detector_preprocess (QrDetector *self, const QrImage *image, float *input)
{
  if (self->kind == QR_DETECTOR_YOLO)
    return letterbox (self, image, input);
  int size = self->input_size;
  float scale = MIN ((float) size / (float) image->width, (float) size / (float) image->height);
  int w = MAX (1, MIN (size, (int) lroundf ((float) image->width * scale)));
  int h = MAX (1, MIN (size, (int) lroundf ((float) image->height * scale)));
  g_autoptr (QrImage) fitted = qr_image_resize (image, w, h);
  gsize plane = (gsize) size * (gsize) size;

  memset (input, 0, plane * 3 * sizeof (float));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *p = fitted->pixels + ((gsize) y * (gsize) w + (gsize) x) * 3;
        gsize at = (gsize) y * (gsize) size + (gsize) x;
        if (self->kind == QR_DETECTOR_CENTERNET)
          {
            /* NHWC, RGB, 0..255 */
            input[at * 3 + 0] = p[0];
            input[at * 3 + 1] = p[1];
            input[at * 3 + 2] = p[2];
          }
        else
          {
            /* NCHW, BGR, normalised as NanoDet was trained (ImageNet mean and std in BGR order) */
            input[0 * plane + at] = ((float) p[2] - 103.53f) / 57.375f;
            input[1 * plane + at] = ((float) p[1] - 116.28f) / 57.12f;
            input[2 * plane + at] = ((float) p[0] - 123.675f) / 58.395f;
          }
      }
  return (float) w / (float) image->width;
}

float
qr_box_iou (const QrDetection *a, const QrDetection *b)
{
  return qr_iou_xyxy (a->x1, a->y1, a->x2, a->y2, b->x1, b->y1, b->x2, b->y2);
}

static int
by_score (gconstpointer a, gconstpointer b)
{
  float sa = ((const QrDetection *) a)->score, sb = ((const QrDetection *) b)->score;
  return sa < sb ? 1 : sa > sb ? -1 : 0;
}

void
qr_detections_nms (GArray *detections, float iou)
{
  guint kept = 0;

  g_array_sort (detections, by_score);
  for (guint i = 0; i < detections->len; i++)
    {
      QrDetection *d = &g_array_index (detections, QrDetection, i);
      gboolean keep = TRUE;
      for (guint j = 0; j < kept && keep; j++)
        {
          QrDetection *k = &g_array_index (detections, QrDetection, j);
          if (k->class_id == d->class_id && qr_box_iou (k, d) > iou)
            keep = FALSE;
        }
      if (keep)
        g_array_index (detections, QrDetection, kept++) = *d;
    }
  g_array_set_size (detections, kept);
}

void
qr_detections_nms_diou (GArray *detections, float iou, float beta)
{
  guint kept = 0;

  g_array_sort (detections, by_score);
  for (guint i = 0; i < detections->len; i++)
    {
      QrDetection *d = &g_array_index (detections, QrDetection, i);
      gboolean keep = TRUE;
      for (guint j = 0; j < kept && keep; j++)
        {
          QrDetection *k = &g_array_index (detections, QrDetection, j);
          float cw, ch, c, dx, dy, diou;
          if (k->class_id != d->class_id)
            continue;
          cw = fmaxf (k->x2, d->x2) - fminf (k->x1, d->x1);
          ch = fmaxf (k->y2, d->y2) - fminf (k->y1, d->y1);
          c = cw * cw + ch * ch;
          dx = (k->x1 + k->x2 - d->x1 - d->x2) / 2;
          dy = (k->y1 + k->y2 - d->y1 - d->y2) / 2;
          diou = qr_box_iou (k, d);
          if (c > 0)
            diou -= powf ((dx * dx + dy * dy) / c, beta);
          if (diou > iou)
            keep = FALSE;
        }
      if (keep)
        g_array_index (detections, QrDetection, kept++) = *d;
    }
  g_array_set_size (detections, kept);
}

static void
decode_centernet (QrDetector *self, const QrImage *image, GArray *out)
{
  int rank, hd[4], wd[4];
  const float *heat = qr_model_get_output (self->model, "tower_0/keypoints", &rank, hd);
  const float *wh = qr_model_get_output (self->model, "tower_0/wh", &rank, wd);
  int H = hd[1], W = hd[2], C = hd[3];
  float stride = (float) self->input_size / (float) W;

  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < C; c++)
        {
          float v = heat[((gsize) y * (gsize) W + (gsize) x) * (gsize) C + (gsize) c];
          gboolean peak = TRUE;
          const float *side;
          QrDetection d;

          if (v < self->options.score_threshold)
            continue;
          /* a peak: no larger value in the 3×3 window (SAME max pooling, then equality) */
          for (int dy = -1; dy <= 1 && peak; dy++)
            for (int dx = -1; dx <= 1 && peak; dx++)
              {
                int yy = y + dy, xx = x + dx;
                if (yy >= 0 && yy < H && xx >= 0 && xx < W
                    && heat[((gsize) yy * (gsize) W + (gsize) xx) * (gsize) C + (gsize) c] > v)
                  peak = FALSE;
              }
          if (!peak)
            continue;
          side = wh + ((gsize) y * (gsize) W + (gsize) x) * 4;
          d.class_id = c;
          d.score = v;
          d.x1 = (stride * (float) x - side[0]) / self->scale;
          d.y1 = (stride * (float) y - side[1]) / self->scale;
          d.x2 = (stride * (float) x + side[2]) / self->scale;
          d.y2 = (stride * (float) y + side[3]) / self->scale;
          g_array_append_val (out, d);
        }
}

static void
decode_nanodet (QrDetector *self, const QrImage *image, GArray *out)
{
  for (int l = 0; l < 3; l++)
    {
      int rank, sd[4], bd[4];
      const float *scores = qr_model_get_output (self->model, self->levels[l].scores, &rank, sd);
      const float *boxes = qr_model_get_output (self->model, self->levels[l].boxes, &rank, bd);
      int cells = sd[1], C = sd[2], bins = bd[2] / 4, side = (int) lround (sqrt ((double) cells));
      float stride = (float) self->levels[l].stride;

      for (int i = 0; i < cells; i++)
        {
          const float *s = scores + (gsize) i * (gsize) C;
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
              const float *b = boxes + (gsize) i * (gsize) bd[2] + (gsize) k * (gsize) bins;
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
              d.x1 = (cx - dist[0]) / self->scale;
              d.y1 = (cy - dist[1]) / self->scale;
              d.x2 = (cx + dist[2]) / self->scale;
              d.y2 = (cy + dist[3]) / self->scale;
              g_array_append_val (out, d);
            }
        }
    }
}

static inline float
sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* Decodes every head (see the top of the file); keeps the finest head's class scores as the
 * heatmap, cut to the part of the letterbox the image covers. */
static void
decode_yolo (QrDetector *self, const QrImage *image, GArray *out)
{
  float thresh = self->options.score_threshold;
  int finest = 0, finest_cols = 0;

  for (int h = 0; h < self->darknet.n_heads; h++)
    {
      int rank, dims[4];
      qr_model_get_output (self->model, self->darknet.heads[h].output, &rank, dims);
      if (dims[2] > finest_cols)
        {
          finest = h;
          finest_cols = dims[2];
        }
    }

  for (int h = 0; h < self->darknet.n_heads; h++)
    {
      const QrDarknetHead *head = &self->darknet.heads[h];
      int rank, dims[4];
      const float *raw = qr_model_get_output (self->model, head->output, &rank, dims);
      int H = dims[1], W = dims[2], C = dims[3], K = head->classes, stride = 5 + K;
      float s = head->scale_x_y;
      g_autofree float *probs = g_new (float, K);
      float *heat = NULL;
      int r0 = 0, c0 = 0, rows = H, cols = W;

      if (h == finest)
        {
          /* the grid cells that fall on the image, not on the letterbox's border */
          c0 = (int) floorf (self->pad_x * (float) W / (float) self->input_w);
          r0 = (int) floorf (self->pad_y * (float) H / (float) self->input_h);
          cols = MAX (1, W - 2 * c0);
          rows = MAX (1, H - 2 * r0);
          g_free (self->heat);
          self->heat = heat = g_new0 (float, (gsize) rows * (gsize) cols * (gsize) K);
          self->heat_rows = rows;
          self->heat_cols = cols;
          self->heat_to_cell = self->scale_x * (float) W / (float) self->input_w;
        }

      for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++)
          for (int a = 0; a < head->n_anchors; a++)
            {
              const float *t = raw + ((gsize) j * (gsize) W + (gsize) i) * (gsize) C + (gsize) a * (gsize) stride;
              float obj, bx, by, bw, bh;
              float aw = head->anchors[2 * a], ah = head->anchors[2 * a + 1];

              if (head->region)
                {
                  float max = t[5], sum = 0;
                  obj = sigmoid (t[4]);
                  bx = ((float) i + sigmoid (t[0])) / (float) W;
                  by = ((float) j + sigmoid (t[1])) / (float) H;
                  bw = expf (t[2]) * aw / (float) W;
                  bh = expf (t[3]) * ah / (float) H;
                  for (int c = 1; c < K; c++)
                    max = fmaxf (max, t[5 + c]);
                  for (int c = 0; c < K; c++)
                    sum += probs[c] = expf (t[5 + c] - max);
                  for (int c = 0; c < K; c++)
                    probs[c] = obj * probs[c] / sum;
                }
              else if (head->new_coords)
                {
                  obj = t[4];
                  bx = ((float) i + t[0] * s - 0.5f * (s - 1.0f)) / (float) W;
                  by = ((float) j + t[1] * s - 0.5f * (s - 1.0f)) / (float) H;
                  bw = t[2] * t[2] * 4.0f * aw / (float) self->input_w;
                  bh = t[3] * t[3] * 4.0f * ah / (float) self->input_h;
                  for (int c = 0; c < K; c++)
                    probs[c] = obj * t[5 + c];
                }
              else
                {
                  obj = sigmoid (t[4]);
                  bx = ((float) i + sigmoid (t[0]) * s - 0.5f * (s - 1.0f)) / (float) W;
                  by = ((float) j + sigmoid (t[1]) * s - 0.5f * (s - 1.0f)) / (float) H;
                  bw = expf (t[2]) * aw / (float) self->input_w;
                  bh = expf (t[3]) * ah / (float) self->input_h;
                  for (int c = 0; c < K; c++)
                    probs[c] = obj * sigmoid (t[5 + c]);
                }
              if (heat != NULL && j >= r0 && j < r0 + rows && i >= c0 && i < c0 + cols)
                {
                  float *cell = heat + ((gsize) (j - r0) * (gsize) cols + (gsize) (i - c0)) * (gsize) K;
                  for (int c = 0; c < K; c++)
                    cell[c] = fmaxf (cell[c], probs[c]);
                }
              if (obj <= thresh)
                continue;
              bx *= (float) self->input_w;
              by *= (float) self->input_h;
              bw *= (float) self->input_w;
              bh *= (float) self->input_h;
              for (int c = 0; c < K; c++)
                {
                  QrDetection d;
                  if (probs[c] <= thresh)
                    continue;
                  d.class_id = c;
                  d.score = probs[c];
                  d.x1 = (bx - bw / 2 - self->pad_x) / self->scale_x;
                  d.x2 = (bx + bw / 2 - self->pad_x) / self->scale_x;
                  d.y1 = (by - bh / 2 - self->pad_y) / self->scale_y;
                  d.y2 = (by + bh / 2 - self->pad_y) / self->scale_y;
                  g_array_append_val (out, d);
                }
            }
    }
  (void) image;
}

static QrImage *
mirror (const QrImage *image)
{
  QrImage *out = qr_image_new (image->width, image->height);
  for (int y = 0; y < image->height; y++)
    for (int x = 0; x < image->width; x++)
      memcpy (out->pixels + ((gsize) y * (gsize) image->width + (gsize) x) * 3,
              image->pixels + ((gsize) y * (gsize) image->width + (gsize) (image->width - 1 - x)) * 3, 3);
  return out;
}

GArray *
qr_detector_detect (QrDetector *self, const QrImage *image, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  GArray *detections;
  g_autoptr (QrImage) mirrored = self->options.flip ? mirror (image) : NULL;

  if (mirrored != NULL)
    image = mirrored;
  self->scale = qr_detector_preprocess (self, image, self->input);
  if (!qr_model_run (self->model, self->input, 1, abort, abort_data, error))
    return NULL;
  detections = g_array_new (FALSE, FALSE, sizeof (QrDetection));
  if (self->kind == QR_DETECTOR_CENTERNET)
    decode_centernet (self, image, detections);
  else if (self->kind == QR_DETECTOR_NANODET)
    decode_nanodet (self, image, detections);
  else
    decode_yolo (self, image, detections);
  if (self->kind == QR_DETECTOR_YOLO && self->darknet.heads[0].nms == QR_DARKNET_NMS_DIOU)
    qr_detections_nms_diou (detections, self->options.nms_iou, self->darknet.heads[0].beta_nms);
  else
    qr_detections_nms (detections, self->options.nms_iou);
  if (detections->len > (guint) self->options.max_detections)
    g_array_set_size (detections, (guint) self->options.max_detections);
  for (guint i = 0; i < detections->len; i++)
    {
      QrDetection *d = &g_array_index (detections, QrDetection, i);
      d->x1 = CLAMP (d->x1, 0, (float) image->width);
      d->x2 = CLAMP (d->x2, 0, (float) image->width);
      d->y1 = CLAMP (d->y1, 0, (float) image->height);
      d->y2 = CLAMP (d->y2, 0, (float) image->height);
      if (mirrored != NULL)
        {
          float x1 = (float) image->width - d->x2, x2 = (float) image->width - d->x1;
          d->x1 = x1;
          d->x2 = x2;
        }
    }
  return detections;
}

const float *
qr_detector_get_heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  int rank, dims[4];
  const float *data;

  if (self->kind == QR_DETECTOR_YOLO)
    {
      *rows = self->heat_rows;
      *cols = self->heat_cols;
      *classes = self->n_classes;
      *image_to_cell = self->heat_to_cell;
      return self->heat;
    }
  if (self->kind == QR_DETECTOR_CENTERNET)
    {
      data = qr_model_get_output (self->model, "tower_0/keypoints", &rank, dims);
      *rows = dims[1];
      *cols = dims[2];
      *classes = dims[3];
    }
  else
    {
      data = qr_model_get_output (self->model, self->levels[0].scores, &rank, dims);
      *rows = *cols = (int) lround (sqrt ((double) dims[1]));
      *classes = dims[2];
    }
  *image_to_cell = self->scale * (float) *cols / (float) self->input_size;
  return data;
}
