/* detector.c: the COCO detectors' pre- and post-processing.
 * CenterNet (MobileNetV3, 512×512, NHWC, RGB 0..255): class heatmap [128, 128, 80] after a
 * sigmoid and box sides [128, 128, 4] in input pixels; a detection is a heatmap peak (equal to the
 * 3×3 max around it, as the model's own graph decides) at cell (x, y): box = (4x − l, 4y − t,
 * 4x + r, 4y + b). The graph is cut before its own top-k so that C does the decoding.
 * NanoDet (416×416, NCHW): per stride 8, 16, 32 a class map [cells, 80] (sigmoid) and box
 * distributions [cells, 4 × 11]: the softmax expectation of each side's 11 bins, times the
 * stride, measured from the cell centre (Li et al., Generalized Focal Loss, 2020). */
#define G_LOG_DOMAIN "quorum-detect"

#include "qr-detector.h"
#include "qr-box.h"
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
int qr_detector_get_n_classes (QrDetector *self) { return 80; }

const char *
qr_detector_get_name (QrDetector *self)
{
  return self->kind == QR_DETECTOR_CENTERNET ? "centernet" : "nanodet";
}

const char *
qr_detector_get_class_name (QrDetector *self, int class_id)
{
  return qr_coco_class_name (class_id);
}

float
qr_detector_preprocess (QrDetector *self, const QrImage *image, float *input)
{
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
  else
    decode_nanodet (self, image, detections);
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
