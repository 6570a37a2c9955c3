/* detector.c: loading a detector and what it says about itself. A model file is offered to the
 * families (families.h) that read its ending, in the table's order; the first that takes it
 * loads it. Running and decoding are batch.c's, NMS nms.c's, each family's own work its file's
 * in families/. */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"
#include "qr-class-map.h"

#include <string.h>

#define QR_FAMILY(name) extern const QrDetectorFamily qr_family_##name;
#include "families.h"
#undef QR_FAMILY

const QrDetectorFamily *const qr_detector_families[] = {
#define QR_FAMILY(name) &qr_family_##name,
#include "families.h"
#undef QR_FAMILY
};
const guint qr_detector_n_families = G_N_ELEMENTS (qr_detector_families);

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
  if (self->data != NULL && self->family->free_data != NULL)
    self->family->free_data (self->data);
  g_strfreev (self->names);
  g_free (self->name);
  g_free (self->heat);
  g_free (self);
}

gboolean
qr_detector_take_graph (QrDetector *self, QrGraph *graph, int input_w, int input_h, GError **error)
{
  self->input_w = input_w;
  self->input_h = input_h;
  self->input_size = input_w;
  self->model = qr_model_new (graph, self->options.device, self->options.precision, self->options.n_threads, error);
  if (self->model == NULL)
    return FALSE;
  self->input = g_new0 (float, (gsize) input_w * (gsize) input_h * 3);
  return TRUE;
}

char **
qr_detector_read_names (const char *path, int expected)
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

char **
qr_detector_numbered_names (int n)
{
  GPtrArray *made = g_ptr_array_new ();

  for (int c = 0; c < n; c++)
    g_ptr_array_add (made, g_strdup_printf ("class %d", c));
  g_ptr_array_add (made, NULL);
  return (char **) g_ptr_array_free (made, FALSE);
}

static gboolean
has_suffix (const QrDetectorFamily *family, const char *path)
{
  for (guint i = 0; family->suffixes != NULL && family->suffixes[i] != NULL; i++)
    if (g_str_has_suffix (path, family->suffixes[i]))
      return TRUE;
  return family->companion != NULL && g_str_has_suffix (path, family->companion);
}

QrDetector *
qr_detector_load (const char *path, const QrDetectorOptions *options, GError **error)
{
  g_autoptr (GError) last = NULL;
  gboolean claimed = FALSE;

  for (guint i = 0; i < qr_detector_n_families && !claimed; i++)
    claimed = has_suffix (qr_detector_families[i], path);
  /* the families that read this ending, or, for an ending none claims, the catch-all ones */
  for (guint i = 0; i < qr_detector_n_families; i++)
    {
      const QrDetectorFamily *family = qr_detector_families[i];
      g_autoptr (QrDetector) self = NULL;
      QrFamilyMatch match;

      if (claimed ? !has_suffix (family, path) : !family->any_file)
        continue;
      self = g_new0 (QrDetector, 1);
      self->family = family;
      self->n_classes = 80;
      if (options != NULL)
        self->options = *options;
      else
        qr_detector_options_init (&self->options);
      g_clear_error (&last);
      match = family->load (self, path, &last);
      if (match == QR_FAMILY_LOADED)
        return g_steal_pointer (&self);
      if (match == QR_FAMILY_FAILED)
        break;
    }
  if (last == NULL)
    g_set_error (&last, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: no detector reads this file", path);
  g_propagate_error (error, g_steal_pointer (&last));
  return NULL;
}

const char *qr_detector_get_family (QrDetector *self) { return self->family->id; }
QrModel *qr_detector_get_model (QrDetector *self) { return self->model; }
int qr_detector_get_input_size (QrDetector *self) { return self->input_size; }
int qr_detector_get_n_classes (QrDetector *self) { return self->n_classes; }
const char *qr_detector_get_name (QrDetector *self) { return self->name; }
const char *qr_detector_get_format (QrDetector *self) { return self->family->format; }

void
qr_detector_get_input_dims (QrDetector *self, int *width, int *height)
{
  *width = self->input_w;
  *height = self->input_h;
}

const char *
qr_detector_get_class_name (QrDetector *self, int class_id)
{
  if (self->names != NULL)
    return class_id >= 0 && class_id < self->n_classes ? self->names[class_id] : "unknown";
  return qr_coco_class_name (class_id);
}
