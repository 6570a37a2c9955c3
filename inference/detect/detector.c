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
 * Boxes are kept when the objectness and the class score pass the threshold, as Darknet does.
 * SSD-MobileNetV2 (TFLite, 300×300 stretched, RGB scaled to −1..1): TF Object Detection API anchors
 * — six feature maps 19, 10, 5, 3, 2, 1; scales s_i = 0.2 + 0.75·i/5; the first map has (0.1, 1:1),
 * (0.2, 2:1), (0.2, 1:2), the others ratios 1, 2, 1/2, 3, 1/3 at s_i and 1:1 at √(s_i·s_{i+1})
 * (s_6 = 1); w = s·√r, h = s/√r, centres at (x + 0.5)/size — 1917 in all. Boxes (ty, tx, th, tw):
 * centre += t/10 · anchor size, size = exp (t/5) · anchor size; scores σ(logit), class 0 the
 * background.
 * BlazeFace (TFLite, 128×128 letterboxed, −1..1): MediaPipe's anchors — strides 8, 16, 16, 16
 * (maps of the same stride share a grid: 16×16 × 2 and 8×8 × 6), unit size; box = (x, y, w, h)
 * offsets in input pixels from the anchor centre; score σ(clip (logit, ±100)). */
#define G_LOG_DOMAIN "quorum-detect"

#include "qr-detector.h"
#include "qr-box.h"
#include "qr-darknet.h"
#include "qr-class-map.h"
#include "qr-tflite.h"
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

/* Where an image landed in the input: its scale (x and y) and the border before it. Preprocessing
 * writes only this and the input, so the images of a batch are prepared in parallel. */
typedef struct
{
  float scale, scale_x, scale_y, pad_x, pad_y;
} Fit;

struct _QrDetector
{
  QrDetectorKind     kind;
  QrModel           *model;
  QrDetectorOptions  options;
  int                input_size;
  float             *input;
  NanodetLevel       levels[3];
  char              *level_names[6];
  /* YOLO */
  QrDarknetInfo      darknet;
  char             **names;          /* NULL: COCO's */
  int                n_classes;
  char              *name;
  int                input_w, input_h;
  float             *heat;           /* the finest head's class scores, image part only */
  float             *batch_input;    /* inputs of a batch of more than one */
  int                batch_capacity;
  int                heat_rows, heat_cols;
  float              heat_to_cell;
  gint64             prepare_us, network_us, decode_us;   /* of the last detect */
  Fit                fit;            /* where the last detect's (first) image landed: the heatmap's */
  gboolean           heat_stale;     /* YOLO: heat is yet to be made for the last detect */
  /* SSD and BlazeFace */
  GArray            *anchors;        /* QrAnchor */
  char              *boxes_output, *scores_output;
};

typedef struct
{
  float cx, cy, w, h;   /* normalised to the input */
} QrAnchor;

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
  options->device = QR_DEVICE_AUTO;
  options->precision = QR_PRECISION_FP16;
}

void
qr_detector_free (QrDetector *self)
{
  if (self == NULL)
    return;
  qr_model_free (self->model);
  g_free (self->input);
  g_free (self->batch_input);
  for (int i = 0; i < 6; i++)
    g_free (self->level_names[i]);
  qr_darknet_info_clear (&self->darknet);
  if (self->anchors != NULL)
    g_array_unref (self->anchors);
  g_free (self->boxes_output);
  g_free (self->scores_output);
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
  self->model = qr_model_new (graph, self->options.device, self->options.precision, self->options.n_threads, error);
  if (self->model == NULL)
    return NULL;
  self->input = g_new0 (float, (gsize) self->input_w * (gsize) self->input_h * 3);
  return g_steal_pointer (&self);
}

/* TF Object Detection API SSD anchors for a 300×300 input (see the top of the file). */
static GArray *
ssd_anchors (void)
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

/* MediaPipe's BlazeFace (short range) anchors: unit boxes, 2 per cell at stride 8 and 6 per cell
 * at stride 16 (three layers of that stride share the grid). */
static GArray *
blazeface_anchors (int input)
{
  static const int strides[4] = { 8, 16, 16, 16 };
  GArray *anchors = g_array_new (FALSE, FALSE, sizeof (QrAnchor));

  for (int l = 0; l < 4;)
    {
      int last = l, per_cell = 0, size = (input + strides[l] - 1) / strides[l];
      while (last < 4 && strides[last] == strides[l])
        last++, per_cell += 2;   /* aspect 1, and the interpolated scale, also 1:1 */
      for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
          for (int k = 0; k < per_cell; k++)
            {
              QrAnchor a = { ((float) x + 0.5f) / (float) size, ((float) y + 0.5f) / (float) size, 1.0f, 1.0f };
              g_array_append_val (anchors, a);
            }
      l = last;
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
          char **names = read_names (full, n);
          if (names != NULL)
            return names;
        }
    }
  return NULL;
}

static QrDetector *
load_tflite (QrDetector *self_in, const char *path, GError **error)
{
  g_autoptr (QrDetector) self = self_in;
  QrGraph *graph = qr_graph_load_tflite (path, error);
  g_auto (GStrv) outputs = NULL;
  int rank, dims[4], n_anchors = 0, n_classes = 0, coords = 0;

  if (graph == NULL)
    return NULL;
  outputs = qr_graph_get_output_names (graph);
  qr_graph_get_input_shape (graph, &rank, dims);
  if (rank != 4 || dims[3] != 3 || g_strv_length (outputs) != 2)
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: not a detector Quorum knows (it wants an "
                   "RGB NHWC input and two outputs: boxes and scores)", path);
      return NULL;
    }
  self->input_h = dims[1];
  self->input_w = dims[2];
  self->input_size = self->input_w;
  self->model = qr_model_new (graph, self->options.device, self->options.precision, self->options.n_threads, error);
  if (self->model == NULL)
    return NULL;
  for (int i = 0; i < 2; i++)
    {
      const float *data = qr_model_get_output (self->model, outputs[i], &rank, dims);
      (void) data;
      if (rank != 3)
        continue;
      if (dims[2] == 4 || dims[2] == 16)
        {
          self->boxes_output = g_strdup (outputs[i]);
          coords = dims[2];
          n_anchors = dims[1];
        }
      else
        {
          self->scores_output = g_strdup (outputs[i]);
          n_classes = dims[2];
        }
    }
  if (self->boxes_output == NULL || self->scores_output == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: no [anchors, 4 or 16] box output beside a "
                   "score output", path);
      return NULL;
    }
  if (coords == 16 && n_classes == 1 && n_anchors == 896 && self->input_w == 128 && self->input_h == 128)
    {
      self->kind = QR_DETECTOR_BLAZEFACE;
      self->anchors = blazeface_anchors (128);
      self->n_classes = 1;
      self->names = g_new0 (char *, 2);
      self->names[0] = g_strdup ("face");
    }
  else if (coords == 4 && n_anchors == 1917 && self->input_w == 300 && self->input_h == 300 && n_classes >= 2)
    {
      self->kind = QR_DETECTOR_SSD;
      self->anchors = ssd_anchors ();
      /* class 0 is the background: the detector's classes are the rest */
      self->n_classes = n_classes - 1;
      self->names = find_labels (path, n_classes);
      if (self->names == NULL)
        {
          GPtrArray *made = g_ptr_array_new ();
          for (int c = 0; c < n_classes; c++)
            g_ptr_array_add (made, g_strdup_printf ("class %d", c));
          g_ptr_array_add (made, NULL);
          self->names = (char **) g_ptr_array_free (made, FALSE);
        }
      /* drop the background's name so that index c is class c */
      g_free (self->names[0]);
      memmove (self->names, self->names + 1, sizeof (char *) * (gsize) n_classes);
    }
  else
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %d anchors with %d box values and %d "
                   "classes at %d×%d: neither the standard SSD-MobileNetV2 (1917 anchors, 300×300) nor BlazeFace (896, "
                   "128×128)", path, n_anchors, coords, n_classes, self->input_w, self->input_h);
      return NULL;
    }
  g_assert ((int) self->anchors->len == n_anchors);
  {
    g_autofree char *base = g_path_get_basename (path);
    *strrchr (base, '.') = '\0';
    self->name = g_steal_pointer (&base);
  }
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
  if (g_str_has_suffix (path, ".tflite"))
    return load_tflite (g_steal_pointer (&self), path, error);

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
  self->model = qr_model_new (graph, self->options.device, self->options.precision, self->options.n_threads, error);
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
    case QR_DETECTOR_SSD:
    case QR_DETECTOR_BLAZEFACE:
    default: return self->name;
    }
}

const char *
qr_detector_get_format (QrDetector *self)
{
  switch (self->kind)
    {
    case QR_DETECTOR_YOLO: return "darknet";
    case QR_DETECTOR_SSD:
    case QR_DETECTOR_BLAZEFACE: return "tflite";
    case QR_DETECTOR_CENTERNET:
    case QR_DETECTOR_NANODET:
    default: return "tfjs";
    }
}

const char *
qr_detector_get_class_name (QrDetector *self, int class_id)
{
  if (self->names != NULL)
    return class_id >= 0 && class_id < self->n_classes ? self->names[class_id] : "unknown";
  return qr_coco_class_name (class_id);
}

/* What decoding one batch item needs besides the model's outputs: its place in the batch and its
 * letterbox. Items decode in parallel, each with its own. yolo_heat fills heat. */
typedef struct
{
  int     item;
  Fit     fit;
  float  *heat;
  int     heat_rows, heat_cols;
  float   heat_to_cell;
} Decode;

/* Where an image goes in the input, for every detector: the size it is resized to, its top-left
 * corner, and the Fit the decoders use. YOLO: Darknet's letterbox (centred); SSD: stretched;
 * BlazeFace: fitted and centred; CenterNet and NanoDet: fitted top-left. */
static void
placement (QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0, Fit *fit)
{
  int nw = self->input_w, nh = self->input_h;

  *x0 = *y0 = 0;
  if (self->kind == QR_DETECTOR_YOLO)
    {
      if ((double) nw / image->width < (double) nh / image->height)
        {
          *w = nw;
          *h = MAX (1, (int) ((gint64) image->height * nw / image->width));
        }
      else
        {
          *h = nh;
          *w = MAX (1, (int) ((gint64) image->width * nh / image->height));
        }
      *x0 = (nw - *w) / 2;
      *y0 = (nh - *h) / 2;
    }
  else if (self->kind == QR_DETECTOR_SSD)
    {
      *w = nw;
      *h = nh;
    }
  else if (self->kind == QR_DETECTOR_BLAZEFACE)
    {
      float s = MIN ((float) nw / (float) image->width, (float) nh / (float) image->height);
      *w = CLAMP ((int) lroundf ((float) image->width * s), 1, nw);
      *h = CLAMP ((int) lroundf ((float) image->height * s), 1, nh);
      *x0 = (nw - *w) / 2;
      *y0 = (nh - *h) / 2;
    }
  else
    {
      int size = self->input_size;
      float scale = MIN ((float) size / (float) image->width, (float) size / (float) image->height);
      *w = MAX (1, MIN (size, (int) lroundf ((float) image->width * scale)));
      *h = MAX (1, MIN (size, (int) lroundf ((float) image->height * scale)));
    }
  fit->scale = fit->scale_x = (float) *w / (float) image->width;
  fit->scale_y = (float) *h / (float) image->height;
  fit->pad_x = (float) *x0;
  fit->pad_y = (float) *y0;
}

/* The CPU's input writers, one per value convention (the same as input_format () describes for a
 * backend that places images itself). */
static void
write_unit (QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int nw = self->input_w, nh = self->input_h, w = fitted->width, h = fitted->height;

  /* YOLO: 0..1, the border 0.5 */
  for (gsize i = 0; i < (gsize) nw * (gsize) nh * 3; i++)
    input[i] = 0.5f;
  for (int y = 0; y < h; y++)
    {
      const guint8 *p = fitted->pixels + (gsize) y * (gsize) w * 3;
      float *q = input + ((gsize) (y + y0) * (gsize) nw + (gsize) x0) * 3;
      for (int k = 0; k < w * 3; k++)
        q[k] = (float) p[k] * (1.0f / 255.0f);
    }
}

static void
write_signed (QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int nw = self->input_w, nh = self->input_h, w = fitted->width, h = fitted->height;

  /* SSD and BlazeFace: −1..1, as MediaPipe feeds them; BlazeFace's border black */
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

static void
write_tfjs (QrDetector *self, const QrImage *fitted, float *input)
{
  int size = self->input_size, w = fitted->width, h = fitted->height;
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
}

static void
preprocess (QrDetector *self, const QrImage *image, float *input, Fit *fit)
{
  int w, h, x0, y0;
  g_autoptr (QrImage) fitted = NULL;

  placement (self, image, &w, &h, &x0, &y0, fit);
  fitted = qr_image_resize (image, w, h);
  if (self->kind == QR_DETECTOR_YOLO)
    write_unit (self, fitted, x0, y0, input);
  else if (self->kind == QR_DETECTOR_SSD || self->kind == QR_DETECTOR_BLAZEFACE)
    write_signed (self, fitted, x0, y0, input);
  else
    write_tfjs (self, fitted, input);
}

float
qr_detector_preprocess (QrDetector *self, const QrImage *image, float *input)
{
  Fit fit;

  preprocess (self, image, input, &fit);
  return fit.scale;
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

/* Darknet's DIoU: IoU − (d² / c²)^beta, d the centres' distance, c the enclosing box's diagonal. */
static float
diou (const QrDetection *k, const QrDetection *d, float beta)
{
  float cw = fmaxf (k->x2, d->x2) - fminf (k->x1, d->x1), ch = fmaxf (k->y2, d->y2) - fminf (k->y1, d->y1);
  float c = cw * cw + ch * ch, dx = (k->x1 + k->x2 - d->x1 - d->x2) / 2, dy = (k->y1 + k->y2 - d->y1 - d->y2) / 2;
  float overlap = qr_box_iou (k, d);
  return c > 0 ? overlap - powf ((dx * dx + dy * dy) / c, beta) : overlap;
}

/* Greedy per-class NMS, best first; beta < 0: plain IoU, else DIoU. */
static void
nms (GArray *detections, float iou, float beta)
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
          if (k->class_id == d->class_id && (beta < 0 ? qr_box_iou (k, d) : diou (k, d, beta)) > iou)
            keep = FALSE;
        }
      if (keep)
        g_array_index (detections, QrDetection, kept++) = *d;
    }
  g_array_set_size (detections, kept);
}

void
qr_detections_nms (GArray *detections, float iou)
{
  nms (detections, iou, -1);
}

void
qr_detections_nms_diou (GArray *detections, float iou, float beta)
{
  nms (detections, iou, MAX (beta, 0.0f));
}

/* An output of the batch item being decoded (outputs are batch-major). */
static const float *
item_output (const QrDetector *self, const Decode *dec, const char *name, int *rank, int *dims)
{
  const float *data = qr_model_get_output (self->model, name, rank, dims);
  gsize per_item = 1;

  if (data == NULL || dec->item == 0)
    return data;
  for (int d = 1; d < *rank; d++)
    per_item *= (gsize) dims[d];
  return data + per_item * (gsize) dec->item;
}

static void
decode_centernet (const QrDetector *self, const Decode *dec, GArray *out)
{
  int rank, hd[4], wd[4];
  const float *heat = item_output (self, dec, "tower_0/keypoints", &rank, hd);
  const float *wh = item_output (self, dec, "tower_0/wh", &rank, wd);
  int H = hd[1], W = hd[2], C = hd[3];
  float stride = (float) self->input_size / (float) W, thr = self->options.score_threshold;

  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        const float *cell = heat + ((gsize) y * (gsize) W + (gsize) x) * (gsize) C;
        int any = 0;

        /* almost every cell is below the threshold in every class: a branch-free pass (vectorised)
         * finds the few that are not */
        for (int c = 0; c < C; c++)
          any |= cell[c] >= thr;
        if (!any)
          continue;
        for (int c = 0; c < C; c++)
          {
            float v = cell[c];
            gboolean peak = TRUE;
            const float *side;
            QrDetection d;

            if (v < thr)
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
            d.x1 = (stride * (float) x - side[0]) / dec->fit.scale;
            d.y1 = (stride * (float) y - side[1]) / dec->fit.scale;
            d.x2 = (stride * (float) x + side[2]) / dec->fit.scale;
            d.y2 = (stride * (float) y + side[3]) / dec->fit.scale;
            g_array_append_val (out, d);
          }
      }
}

static void
decode_nanodet (const QrDetector *self, const Decode *dec, GArray *out)
{
  for (int l = 0; l < 3; l++)
    {
      int rank, sd[4], bd[4];
      const float *scores = item_output (self, dec, self->levels[l].scores, &rank, sd);
      const float *boxes = item_output (self, dec, self->levels[l].boxes, &rank, bd);
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
              d.x1 = (cx - dist[0]) / dec->fit.scale;
              d.y1 = (cy - dist[1]) / dec->fit.scale;
              d.x2 = (cx + dist[2]) / dec->fit.scale;
              d.y2 = (cy + dist[3]) / dec->fit.scale;
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

static float
cell_objectness (const QrDarknetHead *head, const float *t)
{
  return head->new_coords ? t[4] : sigmoid (t[4]);
}

/* A cell-anchor's class scores (objectness × class probability) into probs. */
static void
cell_class_scores (const QrDarknetHead *head, const float *t, float obj, float *probs)
{
  int K = head->classes;

  if (head->region)
    {
      float max = t[5], sum = 0;
      for (int c = 1; c < K; c++)
        max = fmaxf (max, t[5 + c]);
      for (int c = 0; c < K; c++)
        sum += probs[c] = expf (t[5 + c] - max);
      for (int c = 0; c < K; c++)
        probs[c] = obj * probs[c] / sum;
    }
  else if (head->new_coords)
    for (int c = 0; c < K; c++)
      probs[c] = obj * t[5 + c];
  else
    for (int c = 0; c < K; c++)
      probs[c] = obj * sigmoid (t[5 + c]);
}

/* The head with the finest grid: the heatmap's. */
static int
finest_head (const QrDetector *self, const Decode *dec)
{
  int finest = 0, finest_cols = 0;

  for (int h = 0; h < self->darknet.n_heads; h++)
    {
      int rank, dims[4];
      item_output (self, dec, self->darknet.heads[h].output, &rank, dims);
      if (dims[2] > finest_cols)
        {
          finest = h;
          finest_cols = dims[2];
        }
    }
  return finest;
}

/* The finest head's class scores, max over its anchors, over the grid cells that fall on the
 * image (not on the letterbox's border): computed when asked for (qr_detector_get_heatmap), as
 * it costs every cell's every class score, which decoding skips for empty cells. */
static void
yolo_heat (const QrDetector *self, Decode *dec)
{
  const QrDarknetHead *head = &self->darknet.heads[finest_head (self, dec)];
  int rank, dims[4];
  const float *raw = item_output (self, dec, head->output, &rank, dims);
  int H = dims[1], W = dims[2], C = dims[3], K = head->classes;
  int c0 = (int) floorf (dec->fit.pad_x * (float) W / (float) self->input_w);
  int r0 = (int) floorf (dec->fit.pad_y * (float) H / (float) self->input_h);
  int cols = MAX (1, W - 2 * c0), rows = MAX (1, H - 2 * r0);
  g_autofree float *probs = g_new (float, K);

  dec->heat = g_new0 (float, (gsize) rows * (gsize) cols * (gsize) K);
  dec->heat_rows = rows;
  dec->heat_cols = cols;
  dec->heat_to_cell = dec->fit.scale_x * (float) W / (float) self->input_w;
  for (int j = r0; j < r0 + rows && j < H; j++)
    for (int i = c0; i < c0 + cols && i < W; i++)
      for (int a = 0; a < head->n_anchors; a++)
        {
          const float *t = raw + ((gsize) j * (gsize) W + (gsize) i) * (gsize) C + (gsize) a * (gsize) (5 + K);
          float *cell = dec->heat + ((gsize) (j - r0) * (gsize) cols + (gsize) (i - c0)) * (gsize) K;
          cell_class_scores (head, t, cell_objectness (head, t), probs);
          for (int c = 0; c < K; c++)
            cell[c] = fmaxf (cell[c], probs[c]);
        }
}

/* Decodes every head (see the top of the file). */
static void
decode_yolo (const QrDetector *self, Decode *dec, GArray *out)
{
  float thresh = self->options.score_threshold;

  for (int h = 0; h < self->darknet.n_heads; h++)
    {
      const QrDarknetHead *head = &self->darknet.heads[h];
      int rank, dims[4];
      const float *raw = item_output (self, dec, head->output, &rank, dims);
      int H = dims[1], W = dims[2], C = dims[3], K = head->classes, stride = 5 + K;
      float s = head->scale_x_y;
      g_autofree float *probs = g_new (float, K);

      for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++)
          for (int a = 0; a < head->n_anchors; a++)
            {
              const float *t = raw + ((gsize) j * (gsize) W + (gsize) i) * (gsize) C + (gsize) a * (gsize) stride;
              float aw = head->anchors[2 * a], ah = head->anchors[2 * a + 1];
              float obj = cell_objectness (head, t), bx, by, bw, bh;

              /* most cells hold nothing: their class scores are left to the heatmap */
              if (obj <= thresh)
                continue;
              if (head->region)
                {
                  bx = ((float) i + sigmoid (t[0])) / (float) W;
                  by = ((float) j + sigmoid (t[1])) / (float) H;
                  bw = expf (t[2]) * aw / (float) W;
                  bh = expf (t[3]) * ah / (float) H;
                }
              else if (head->new_coords)
                {
                  bx = ((float) i + t[0] * s - 0.5f * (s - 1.0f)) / (float) W;
                  by = ((float) j + t[1] * s - 0.5f * (s - 1.0f)) / (float) H;
                  bw = t[2] * t[2] * 4.0f * aw / (float) self->input_w;
                  bh = t[3] * t[3] * 4.0f * ah / (float) self->input_h;
                }
              else
                {
                  bx = ((float) i + sigmoid (t[0]) * s - 0.5f * (s - 1.0f)) / (float) W;
                  by = ((float) j + sigmoid (t[1]) * s - 0.5f * (s - 1.0f)) / (float) H;
                  bw = expf (t[2]) * aw / (float) self->input_w;
                  bh = expf (t[3]) * ah / (float) self->input_h;
                }
              cell_class_scores (head, t, obj, probs);
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
                  d.x1 = (bx - bw / 2 - dec->fit.pad_x) / dec->fit.scale_x;
                  d.x2 = (bx + bw / 2 - dec->fit.pad_x) / dec->fit.scale_x;
                  d.y1 = (by - bh / 2 - dec->fit.pad_y) / dec->fit.scale_y;
                  d.y2 = (by + bh / 2 - dec->fit.pad_y) / dec->fit.scale_y;
                  g_array_append_val (out, d);
                }
            }
    }
}

/* SSD and BlazeFace: anchors plus offsets (see the top of the file). */
static void
decode_anchors (const QrDetector *self, const Decode *dec, GArray *out)
{
  int rank, bd[4], sd[4];
  const float *boxes = item_output (self, dec, self->boxes_output, &rank, bd);
  const float *scores = item_output (self, dec, self->scores_output, &rank, sd);
  gboolean face = self->kind == QR_DETECTOR_BLAZEFACE;
  int first = face ? 0 : 1, K = sd[2];
  float in_w = (float) self->input_w, in_h = (float) self->input_h;

  for (guint i = 0; i < self->anchors->len; i++)
    {
      const QrAnchor *a = &g_array_index (self->anchors, QrAnchor, i);
      const float *t = boxes + (gsize) i * (gsize) bd[2];
      const float *s = scores + (gsize) i * (gsize) K;
      float cx, cy, w, h;

      if (face)
        {
          cx = a->cx + t[0] / in_w * a->w;
          cy = a->cy + t[1] / in_h * a->h;
          w = t[2] / in_w * a->w;
          h = t[3] / in_h * a->h;
        }
      else
        {
          cy = a->cy + t[0] / 10.0f * a->h;
          cx = a->cx + t[1] / 10.0f * a->w;
          h = expf (t[2] / 5.0f) * a->h;
          w = expf (t[3] / 5.0f) * a->w;
        }
      for (int c = first; c < K; c++)
        {
          float score = sigmoid (CLAMP (s[c], -100.0f, 100.0f));
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

typedef struct
{
  Fit      fit;
  QrImage *mirrored;
  QrImage *fitted;     /* for a backend that places inputs itself */
  int      x0, y0;
} BatchItem;

/* The value each detector wants from a pixel (as preprocess () writes it). */
static void
input_format (QrDetector *self, QrInputFormat *f)
{
  static const QrInputFormat plain = { FALSE, { 0, 1, 2 }, { 0, 0, 0 }, { 1, 1, 1 }, 0 };
  static const QrInputFormat nanodet = { TRUE, { 2, 1, 0 }, { 103.53f, 116.28f, 123.675f }, { 57.375f, 57.12f, 58.395f },
                                         0 };
  static const QrInputFormat yolo = { FALSE, { 0, 1, 2 }, { 0, 0, 0 }, { 255, 255, 255 }, 0.5f };
  static const QrInputFormat signed_unit = { FALSE, { 0, 1, 2 }, { 127.5f, 127.5f, 127.5f }, { 127.5f, 127.5f, 127.5f },
                                             -1 };

  *f = self->kind == QR_DETECTOR_NANODET ? nanodet
       : self->kind == QR_DETECTOR_YOLO  ? yolo
       : self->kind == QR_DETECTOR_SSD || self->kind == QR_DETECTOR_BLAZEFACE ? signed_unit
                                                                                : plain;
}

/* Whether the GPU resizes too (the default; QUORUM_GPU_RESIZE=0 resizes on the CPU, to compare). */
static gboolean
resize_on_device (void)
{
  return g_strcmp0 (g_getenv ("QUORUM_GPU_RESIZE"), "0") != 0;
}

/* The batch through a backend that places 8-bit images itself: the decoded images go as they
 * are (resized there, as qr_image_resize would) or resized here in parallel. FALSE with error as
 * qr_model_run_placed; items' Fits are filled. */
static gboolean
run_placed (QrDetector *self, const QrImage *const *images, int n, BatchItem *items, gint64 *prepared,
            QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_autofree QrInputImage *placed = g_new0 (QrInputImage, n);
  gboolean on_device = resize_on_device ();
  QrInputFormat format;

#pragma omp parallel for schedule(dynamic) if (n > 1 && !on_device)
  for (int b = 0; b < n; b++)
    {
      const QrImage *image = items[b].mirrored ? items[b].mirrored : images[b];
      const QrImage *source = image;
      int w, h;
      placement (self, image, &w, &h, &items[b].x0, &items[b].y0, &items[b].fit);
      if (!on_device)
        source = items[b].fitted = qr_image_resize (image, w, h);
      placed[b].pixels = source->pixels;
      placed[b].src_w = source->width;
      placed[b].src_h = source->height;
      placed[b].w = w;
      placed[b].h = h;
      placed[b].x0 = items[b].x0;
      placed[b].y0 = items[b].y0;
    }
  input_format (self, &format);
  *prepared = g_get_monotonic_time ();
  return qr_model_run_placed (self->model, placed, n, &format, self->input_w, self->input_h, abort, abort_data, error);
}

static GArray *
decode_item (const QrDetector *self, Decode *dec, const QrImage *image, gboolean mirrored)
{
  GArray *detections = g_array_new (FALSE, FALSE, sizeof (QrDetection));

  if (self->kind == QR_DETECTOR_CENTERNET)
    decode_centernet (self, dec, detections);
  else if (self->kind == QR_DETECTOR_NANODET)
    decode_nanodet (self, dec, detections);
  else if (self->kind == QR_DETECTOR_YOLO)
    decode_yolo (self, dec, detections);
  else
    decode_anchors (self, dec, detections);
  if (self->kind == QR_DETECTOR_YOLO && self->darknet.heads[0].nms == QR_DARKNET_NMS_DIOU)
    qr_detections_nms_diou (detections, self->options.nms_iou, self->darknet.heads[0].beta_nms);
  else if (self->kind == QR_DETECTOR_BLAZEFACE)
    qr_detections_nms (detections, MIN (self->options.nms_iou, 0.3f)); /* MediaPipe's face NMS */
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
      if (mirrored)
        {
          float x1 = (float) image->width - d->x2, x2 = (float) image->width - d->x1;
          d->x1 = x1;
          d->x2 = x2;
        }
    }
  return detections;
}

GPtrArray *
qr_detector_detect_batch (QrDetector *self, const QrImage *const *images, int n, QrAbortFunc abort,
                          gpointer abort_data, GError **error)
{
  gsize per_image = (gsize) self->input_w * (gsize) self->input_h * 3;
  g_autofree BatchItem *items = g_new0 (BatchItem, MAX (n, 1));
  GPtrArray *results = NULL;
  float *input = self->input;
  gint64 start = g_get_monotonic_time (), prepared = start;
  gboolean ran;

  g_return_val_if_fail (n >= 1, NULL);
  if (n > 1)
    {
      if (n > self->batch_capacity)
        {
          g_free (self->batch_input);
          self->batch_input = g_try_new (float, per_image * (gsize) n);
          self->batch_capacity = self->batch_input != NULL ? n : 0;
          if (self->batch_input == NULL)
            {
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: not enough memory for a batch of %d",
                           self->name, n);
              return NULL;
            }
        }
      input = self->batch_input;
    }
  if (self->options.flip)
    for (int b = 0; b < n; b++)
      items[b].mirrored = mirror (images[b]);
  ran = FALSE;
  if (qr_model_can_place_input (self->model))
    {
      g_autoptr (GError) local = NULL;
      ran = run_placed (self, images, n, items, &prepared, abort, abort_data, &local);
      /* handed over to the CPU mid-way (a batch too big for the GPU): prepare the inputs here */
      if (!ran && !(g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED)
                    && !qr_model_can_place_input (self->model)))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          goto out;
        }
    }
  if (!ran)
    {
      /* the images of a batch are resized in parallel */
#pragma omp parallel for schedule(dynamic) if (n > 1)
      for (int b = 0; b < n; b++)
        preprocess (self, items[b].mirrored ? items[b].mirrored : images[b], input + per_image * (gsize) b,
                    &items[b].fit);
      prepared = g_get_monotonic_time ();
      ran = qr_model_run (self->model, input, n, abort, abort_data, error);
    }
  if (ran)
    {
      g_autofree Decode *decs = g_new0 (Decode, n);
      g_autofree GArray **found = g_new0 (GArray *, n);
      gint64 decoding = g_get_monotonic_time ();

      /* items decode in parallel; the first keeps its heatmap */
#pragma omp parallel for schedule(dynamic) if (n > 1)
      for (int b = 0; b < n; b++)
        {
          decs[b].item = b;
          decs[b].fit = items[b].fit;
          found[b] = decode_item (self, &decs[b], items[b].mirrored ? items[b].mirrored : images[b],
                                  items[b].mirrored != NULL);
        }
      results = g_ptr_array_new_full ((guint) n, (GDestroyNotify) g_array_unref);
      for (int b = 0; b < n; b++)
        g_ptr_array_add (results, found[b]);
      /* the heatmap is the first item's (YOLO's made when asked for) */
      g_clear_pointer (&self->heat, g_free);
      self->fit = items[0].fit;
      self->heat_stale = self->kind == QR_DETECTOR_YOLO;
      self->prepare_us = prepared - start;
      self->network_us = decoding - prepared;
      self->decode_us = g_get_monotonic_time () - decoding;
    }
out:
  for (int b = 0; b < n; b++)
    {
      g_clear_pointer (&items[b].mirrored, qr_image_free);
      g_clear_pointer (&items[b].fitted, qr_image_free);
    }
  return results;
}

GArray *
qr_detector_detect (QrDetector *self, const QrImage *image, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_autoptr (GPtrArray) results = qr_detector_detect_batch (self, &image, 1, abort, abort_data, error);

  if (results == NULL)
    return NULL;
  return g_array_ref (g_ptr_array_index (results, 0));
}

void
qr_detector_get_timings (QrDetector *self, double *prepare_ms, double *network_ms, double *decode_ms)
{
  *prepare_ms = (double) self->prepare_us / 1000.0;
  *network_ms = (double) self->network_us / 1000.0;
  *decode_ms = (double) self->decode_us / 1000.0;
}

const float *
qr_detector_get_heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  int rank, dims[4];
  const float *data;

  if (self->kind == QR_DETECTOR_SSD || self->kind == QR_DETECTOR_BLAZEFACE)
    {
      /* anchors of several sizes share no one grid: no heatmap */
      *rows = *cols = *classes = 0;
      *image_to_cell = 1;
      return NULL;
    }
  if (self->kind == QR_DETECTOR_YOLO)
    {
      if (self->heat_stale)
        {
          Decode dec = { 0 };
          dec.fit = self->fit;
          yolo_heat (self, &dec);
          self->heat = dec.heat;
          self->heat_rows = dec.heat_rows;
          self->heat_cols = dec.heat_cols;
          self->heat_to_cell = dec.heat_to_cell;
          self->heat_stale = FALSE;
        }
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
  *image_to_cell = self->fit.scale * (float) *cols / (float) self->input_size;
  return data;
}
