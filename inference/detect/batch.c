/* batch.c: running any detector over a batch of images. Each image is placed in the input as its
 * family says (resized here in parallel, or handed as 8-bit pixels to a backend that places them
 * itself), the network runs once for the batch, and the items decode in parallel: the family's
 * decoder, its NMS, the best max_detections kept, boxes clamped to the image and, for the
 * mirrored test-time variant, mirrored back. */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"

#include <math.h>
#include <string.h>

void
qr_detector_place_top_left (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0)
{
  int size = self->input_size;
  float scale = MIN ((float) size / (float) image->width, (float) size / (float) image->height);

  *x0 = *y0 = 0;
  *w = MAX (1, MIN (size, (int) lroundf ((float) image->width * scale)));
  *h = MAX (1, MIN (size, (int) lroundf ((float) image->height * scale)));
}

/* Where an image goes in the input (the family's rule) and the fit the decoders use. */
static void
placement (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0, QrFit *fit)
{
  self->family->place (self, image, w, h, x0, y0);
  fit->scale = fit->scale_x = (float) *w / (float) image->width;
  fit->scale_y = (float) *h / (float) image->height;
  fit->pad_x = (float) *x0;
  fit->pad_y = (float) *y0;
}

static void
preprocess (const QrDetector *self, const QrImage *image, float *input, QrFit *fit)
{
  int w, h, x0, y0;
  g_autoptr (QrImage) fitted = NULL;

  placement (self, image, &w, &h, &x0, &y0, fit);
  fitted = qr_image_resize (image, w, h);
  self->family->write_input (self, fitted, x0, y0, input);
}

float
qr_detector_preprocess (QrDetector *self, const QrImage *image, float *input)
{
  QrFit fit;

  preprocess (self, image, input, &fit);
  return fit.scale;
}

const float *
qr_detector_item_output (const QrDetector *self, const QrDecode *dec, const char *name, int *rank, int *dims)
{
  const float *data = qr_model_get_output (self->model, name, rank, dims);
  gsize per_item = 1;

  if (data == NULL || dec->item == 0)
    return data;
  for (int d = 1; d < *rank; d++)
    per_item *= (gsize) dims[d];
  return data + per_item * (gsize) dec->item;
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
  QrFit    fit;
  QrImage *mirrored;
  QrImage *fitted;     /* for a backend that places inputs itself */
  int      x0, y0;
} BatchItem;

/* Whether the GPU resizes too (the default; QUORUM_GPU_RESIZE=0 resizes on the CPU, to compare). */
static gboolean
resize_on_device (void)
{
  return g_strcmp0 (g_getenv ("QUORUM_GPU_RESIZE"), "0") != 0;
}

/* The batch through a backend that places 8-bit images itself: the decoded images go as they
 * are (resized there, as qr_image_resize would) or resized here in parallel. FALSE with error as
 * qr_model_run_placed; items' fits are filled. */
static gboolean
run_placed (QrDetector *self, const QrImage *const *images, int n, BatchItem *items, gint64 *prepared,
            QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_autofree QrInputImage *placed = g_new0 (QrInputImage, n);
  gboolean on_device = resize_on_device ();

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
  *prepared = g_get_monotonic_time ();
  return qr_model_run_placed (self->model, placed, n, &self->family->input_format, self->input_w, self->input_h, abort,
                              abort_data, error);
}

static GArray *
decode_item (const QrDetector *self, const QrDecode *dec, const QrImage *image, gboolean mirrored)
{
  GArray *detections = g_array_new (FALSE, FALSE, sizeof (QrDetection));

  self->family->decode (self, dec, detections);
  /* no NaN or infinity goes on: not into NMS (NaN passes "not below the threshold" and every
   * comparison there), nor the catalog or JSON */
  for (guint i = detections->len; i-- > 0;)
    {
      const QrDetection *d = &g_array_index (detections, QrDetection, i);
      if (!isfinite (d->score) || !isfinite (d->x1) || !isfinite (d->y1) || !isfinite (d->x2) || !isfinite (d->y2))
        g_array_remove_index_fast (detections, i);
    }
  if (self->family->nms != NULL)
    self->family->nms (self, detections);
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

/* The input of a batch of n: the single-image buffer, or one grown to n items. */
static float *
batch_input (QrDetector *self, int n, GError **error)
{
  gsize per_image = (gsize) self->input_w * (gsize) self->input_h * 3;

  if (n == 1)
    return self->input;
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
  return self->batch_input;
}

GPtrArray *
qr_detector_detect_batch (QrDetector *self, const QrImage *const *images, int n, QrAbortFunc abort,
                          gpointer abort_data, GError **error)
{
  gsize per_image = (gsize) self->input_w * (gsize) self->input_h * 3;
  g_autofree BatchItem *items = g_new0 (BatchItem, MAX (n, 1));
  GPtrArray *results = NULL;
  float *input;
  gint64 start = g_get_monotonic_time (), prepared = start;
  gboolean ran;

  g_return_val_if_fail (n >= 1, NULL);
  if (n > 1 && qr_model_get_fixed_batch (self->model) == 1)
    {
      /* a model that takes one image at a time (a YOLOv5 head holds rank-5 tensors; the engine
         runs them with the batch left out): the batch one by one, the last one's timings kept */
      results = g_ptr_array_new_full ((guint) n, (GDestroyNotify) g_array_unref);
      for (int b = 0; b < n; b++)
        {
          g_autoptr (GPtrArray) one = qr_detector_detect_batch (self, &images[b], 1, abort, abort_data, error);
          if (one == NULL)
            {
              g_clear_pointer (&results, g_ptr_array_unref);
              return NULL;
            }
          g_ptr_array_add (results, g_array_ref (one->pdata[0]));
        }
      return results;
    }
  input = batch_input (self, n, error);
  if (input == NULL)
    return NULL;
  if (self->family->ask_outputs != NULL && !self->family->ask_outputs (self, error))
    return NULL;
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
      g_autofree QrDecode *decs = g_new0 (QrDecode, n);
      g_autofree GArray **found = g_new0 (GArray *, n);
      gint64 decoding = g_get_monotonic_time ();

      /* items decode in parallel */
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
      /* the heatmap is the first item's (made when asked for, where the family makes it) */
      g_clear_pointer (&self->heat, g_free);
      self->fit = items[0].fit;
      self->heat_stale = TRUE;
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
  if (self->family->heatmap == NULL)
    {
      *rows = *cols = *classes = 0;
      *image_to_cell = 1;
      return NULL;
    }
  return self->family->heatmap (self, rows, cols, classes, image_to_cell);
}

int
qr_detector_get_decode_side (QrDetector *self)
{
  /* QUORUM_DECODE_SCALE=0: images decode whole, to compare */
  if (g_strcmp0 (g_getenv ("QUORUM_DECODE_SCALE"), "0") == 0)
    return 0;
  return MAX (self->input_w, self->input_h);
}

void
qr_detections_to_full (GArray *detections, const QrImage *image)
{
  float sx, sy;

  if (image->full_width <= 0 || image->full_height <= 0
      || (image->full_width == image->width && image->full_height == image->height))
    return;
  sx = (float) image->full_width / (float) image->width;
  sy = (float) image->full_height / (float) image->height;
  for (guint i = 0; i < detections->len; i++)
    {
      QrDetection *d = &g_array_index (detections, QrDetection, i);
      d->x1 = MIN (d->x1 * sx, (float) image->full_width);
      d->x2 = MIN (d->x2 * sx, (float) image->full_width);
      d->y1 = MIN (d->y1 * sy, (float) image->full_height);
      d->y2 = MIN (d->y2 * sy, (float) image->full_height);
    }
}
