/* blazeface.c: MediaPipe's BlazeFace, short range (TFLite, 128×128 fitted and centred, RGB −1..1,
 * one class, "face"). Anchors as MediaPipe makes them: strides 8, 16, 16, 16 (maps of the same
 * stride share a grid: 16×16 × 2 and 8×8 × 6), unit size — 896 in all; a box is (x, y, w, h)
 * offsets in input pixels from the anchor's centre (then 6 keypoints, unused); score
 * σ(clip (logit, ±100)); NMS at IoU 0.3 at most, as MediaPipe's face NMS. */
#define G_LOG_DOMAIN "quorum-detect"

#include "tflite-family.h"

static GArray *
make_anchors (int input)
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

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  QrTfliteAnchors *a;

  if (!qr_tflite_family_load (self, path, error))
    return QR_FAMILY_FAILED;
  a = self->data;
  if (!(a->coords == 16 && a->n_classes == 1 && a->n_anchors == 896 && self->input_w == 128 && self->input_h == 128))
    {
      qr_tflite_family_unknown (self, path, error);
      return QR_FAMILY_NOT_MINE;
    }
  a->anchors = make_anchors (128);
  self->n_classes = 1;
  self->names = g_new0 (char *, 2);
  self->names[0] = g_strdup ("face");
  g_assert ((int) a->anchors->len == a->n_anchors);
  return QR_FAMILY_LOADED;
}

/* Fitted and centred, sizes rounded. */
static void
place (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0)
{
  int nw = self->input_w, nh = self->input_h;
  float s = MIN ((float) nw / (float) image->width, (float) nh / (float) image->height);

  *w = CLAMP ((int) lroundf ((float) image->width * s), 1, nw);
  *h = CLAMP ((int) lroundf ((float) image->height * s), 1, nh);
  *x0 = (nw - *w) / 2;
  *y0 = (nh - *h) / 2;
}

static void
anchor_box (const QrDetector *self, const QrAnchor *an, const float *t, float *cx, float *cy, float *w, float *h)
{
  float in_w = (float) self->input_w, in_h = (float) self->input_h;

  *cx = an->cx + t[0] / in_w * an->w;
  *cy = an->cy + t[1] / in_h * an->h;
  *w = t[2] / in_w * an->w;
  *h = t[3] / in_h * an->h;
}

static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  qr_tflite_family_decode (self, dec, 0, anchor_box, out);
}

static void
nms (const QrDetector *self, GArray *detections)
{
  qr_detections_nms (detections, MIN (self->options.nms_iou, 0.3f));
}

static const char *const suffixes[] = { ".tflite", NULL };

const QrDetectorFamily qr_family_blazeface = {
  .id = "blazeface",
  .format = "tflite",
  .suffixes = suffixes,
  .load = load,
  .free_data = qr_tflite_family_free,
  .place = place,
  .write_input = qr_tflite_family_write_input,
  .input_format = { FALSE, { 0, 1, 2 }, { 127.5f, 127.5f, 127.5f }, { 127.5f, 127.5f, 127.5f }, -1 },
  .decode = decode,
  .nms = nms,
};
