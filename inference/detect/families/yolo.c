/* yolo.c: Darknet YOLO (a .cfg with its .weights beside it: YOLOv2 … YOLOv7; NHWC here, RGB 0..1,
 * Darknet's letterbox: centred, the border 0.5). Per head, per cell (i, j) of a W × H grid and
 * per anchor (aw, ah), raw t = (tx, ty, tw, th, to, classes…):
 *   [yolo]  x = (i + σ(tx)·s − (s − 1)/2) / W,  w = exp (tw)·aw / net_w,  objectness σ(to),
 *           class score = objectness · σ(t_c); s = scale_x_y;
 *           with new_coords=1 the network applied the sigmoid already: σ(·) is the identity
 *           and w = 4·tw²·aw / net_w;
 *   [region] (YOLOv2) x = (i + σ(tx)) / W,  w = exp (tw)·aw / W (anchors in cells), class score
 *           = σ(to) · softmax (t_classes).
 * Boxes are kept when the objectness and the class score pass the threshold, as Darknet does;
 * NMS is greedy or DIoU as the cfg says. Class names: STEM.names, else coco.names beside it,
 * else COCO's for 80 classes. The heatmap (the finest head's class scores) is made on demand. */
#define G_LOG_DOMAIN "quorum-detect"

#include "detector-private.h"
#include "qr-darknet.h"

#include <math.h>
#include <string.h>

static void
darknet_free (gpointer data)
{
  qr_darknet_info_clear (data);
  g_free (data);
}

static QrFamilyMatch
load (QrDetector *self, const char *path, GError **error)
{
  g_autofree char *stem = g_strndup (path, strlen (path) - (g_str_has_suffix (path, ".cfg") ? 4 : 8));
  g_autofree char *cfg = g_strconcat (stem, ".cfg", NULL);
  g_autofree char *weights = g_strconcat (stem, ".weights", NULL);
  g_autofree char *names_path = g_strconcat (stem, ".names", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *coco_path = g_build_filename (dir, "coco.names", NULL);
  QrDarknetInfo *darknet = self->data = g_new0 (QrDarknetInfo, 1);
  QrGraph *graph;
  int classes;

  graph = qr_graph_load_darknet (cfg, weights, 0, 0, darknet, error);
  if (graph == NULL)
    return QR_FAMILY_FAILED;
  if (darknet->channels != 3)
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: %d input channels (a detector takes RGB)",
                   cfg, darknet->channels);
      return QR_FAMILY_FAILED;
    }
  classes = darknet->heads[0].classes;
  for (int h = 1; h < darknet->n_heads; h++)
    if (darknet->heads[h].classes != classes)
      {
        qr_graph_free (graph);
        g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: the heads differ in their classes", cfg);
        return QR_FAMILY_FAILED;
      }
  self->n_classes = classes;
  self->names = qr_detector_read_names (names_path, classes);
  if (self->names == NULL)
    self->names = qr_detector_read_names (coco_path, classes);
  if (self->names == NULL && classes != 80)
    self->names = qr_detector_numbered_names (classes);
  self->name = g_path_get_basename (stem);
  return qr_detector_take_graph (self, graph, darknet->width, darknet->height, error) ? QR_FAMILY_LOADED
                                                                                       : QR_FAMILY_FAILED;
}

/* Darknet's letterbox: fitted and centred, sizes truncated as Darknet does. */
static void
place (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0, int *y0)
{
  int nw = self->input_w, nh = self->input_h;

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

static void
write_input (const QrDetector *self, const QrImage *fitted, int x0, int y0, float *input)
{
  int nw = self->input_w, nh = self->input_h, w = fitted->width, h = fitted->height;

  /* 0..1, the border 0.5 */
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

static float
cell_objectness (const QrDarknetHead *head, const float *t)
{
  return head->new_coords ? t[4] : qr_sigmoid (t[4]);
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
      probs[c] = obj * qr_sigmoid (t[5 + c]);
}

/* Decodes every head (see the top of the file). */
/* Each head's cell-anchors whose objectness might pass the threshold, kept by the engine (on the
 * GPU when the model runs there: only they come down). The raw objectness is compared before its
 * sigmoid, with the threshold's logit less a margin far wider than float rounding: a few more
 * rows than pass, never fewer; decode applies the threshold exactly. */
static gboolean
ask_outputs (QrDetector *self, GError **error)
{
  const QrDarknetInfo *darknet = self->data;
  double t = self->options.score_threshold;

  for (int h = 0; h < darknet->n_heads && h < QR_SELECT_SLOTS; h++)
    {
      const QrDarknetHead *head = &darknet->heads[h];
      float thr = head->new_coords ? (float) t
                  : t <= 0 ? -INFINITY
                  : t >= 1 ? INFINITY
                           : (float) (log (t / (1 - t)) - 1e-3);
      if (!qr_model_select_rows (self->model, (guint) h, head->output, 5 + head->classes, 4, 1, NULL, thr, error))
        return FALSE;
    }
  return TRUE;
}

static void
decode (const QrDetector *self, const QrDecode *dec, GArray *out)
{
  const QrDarknetInfo *darknet = self->data;
  float thresh = self->options.score_threshold;

  for (int h = 0; h < darknet->n_heads; h++)
    {
      const QrDarknetHead *head = &darknet->heads[h];
      int rank, dims[4];
      QrKeptRows kept;
      int H, W;
      float s = head->scale_x_y;
      g_autofree float *probs = g_new (float, head->classes);

      if (!qr_model_get_rows (self->model, (guint) h, dec->item, &kept)
          || !qr_model_get_output_shape (self->model, head->output, &rank, dims))
        continue;
      H = dims[1];
      W = dims[2];
      for (int r = 0; r < kept.n; r++)
        {
          const float *t = kept.values + (gsize) r * (gsize) kept.width;
          int cell = kept.index[r] / head->n_anchors, a = kept.index[r] % head->n_anchors;
          int i = cell % W, j = cell / W;
          float aw = head->anchors[2 * a], ah = head->anchors[2 * a + 1];
          float obj = cell_objectness (head, t), bx, by, bw, bh;

          /* most cells hold nothing: their class scores are left to the heatmap */
          if (obj <= thresh)
            continue;
          if (head->region)
            {
              bx = ((float) i + qr_sigmoid (t[0])) / (float) W;
              by = ((float) j + qr_sigmoid (t[1])) / (float) H;
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
              bx = ((float) i + qr_sigmoid (t[0]) * s - 0.5f * (s - 1.0f)) / (float) W;
              by = ((float) j + qr_sigmoid (t[1]) * s - 0.5f * (s - 1.0f)) / (float) H;
              bw = expf (t[2]) * aw / (float) self->input_w;
              bh = expf (t[3]) * ah / (float) self->input_h;
            }
          cell_class_scores (head, t, obj, probs);
          bx *= (float) self->input_w;
          by *= (float) self->input_h;
          bw *= (float) self->input_w;
          bh *= (float) self->input_h;
          for (int c = 0; c < head->classes; c++)
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

static void
nms (const QrDetector *self, GArray *detections)
{
  const QrDarknetInfo *darknet = self->data;

  if (darknet->heads[0].nms == QR_DARKNET_NMS_DIOU)
    qr_detections_nms_diou (detections, self->options.nms_iou, darknet->heads[0].beta_nms);
  else
    qr_detections_nms (detections, self->options.nms_iou);
}

/* The head with the finest grid: the heatmap's. */
static int
finest_head (const QrDetector *self)
{
  const QrDarknetInfo *darknet = self->data;
  int finest = 0, finest_cols = 0;

  for (int h = 0; h < darknet->n_heads; h++)
    {
      int rank, dims[4];
      if (!qr_model_get_output_shape (self->model, darknet->heads[h].output, &rank, dims) || rank != 4)
        continue;
      if (dims[2] > finest_cols)
        {
          finest = h;
          finest_cols = dims[2];
        }
    }
  return finest;
}

/* The finest head's class scores, max over its anchors, over the grid cells that fall on the
 * image (not on the letterbox's border): made when asked for, as it costs every cell's every
 * class score, which decoding skips for empty cells. */
static void
make_heat (QrDetector *self, const QrDecode *dec)
{
  const QrDarknetInfo *darknet = self->data;
  const QrDarknetHead *head = &darknet->heads[finest_head (self)];
  int rank, dims[4];
  const float *raw = qr_detector_item_output (self, dec, head->output, &rank, dims);
  int H = dims[1], W = dims[2], C = dims[3], K = head->classes;
  int c0 = (int) floorf (dec->fit.pad_x * (float) W / (float) self->input_w);
  int r0 = (int) floorf (dec->fit.pad_y * (float) H / (float) self->input_h);
  int cols = MAX (1, W - 2 * c0), rows = MAX (1, H - 2 * r0);
  g_autofree float *probs = g_new (float, K);

  self->heat = g_new0 (float, (gsize) rows * (gsize) cols * (gsize) K);
  self->heat_rows = rows;
  self->heat_cols = cols;
  self->heat_to_cell = dec->fit.scale_x * (float) W / (float) self->input_w;
  for (int j = r0; j < r0 + rows && j < H; j++)
    for (int i = c0; i < c0 + cols && i < W; i++)
      for (int a = 0; a < head->n_anchors; a++)
        {
          const float *t = raw + ((gsize) j * (gsize) W + (gsize) i) * (gsize) C + (gsize) a * (gsize) (5 + K);
          float *cell = self->heat + ((gsize) (j - r0) * (gsize) cols + (gsize) (i - c0)) * (gsize) K;
          cell_class_scores (head, t, cell_objectness (head, t), probs);
          for (int c = 0; c < K; c++)
            cell[c] = fmaxf (cell[c], probs[c]);
        }
}

static const float *
heatmap (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell)
{
  if (self->heat_stale)
    {
      QrDecode dec = { 0 };
      dec.fit = self->fit;
      g_clear_pointer (&self->heat, g_free);
      make_heat (self, &dec);
      self->heat_stale = FALSE;
    }
  *rows = self->heat_rows;
  *cols = self->heat_cols;
  *classes = self->n_classes;
  *image_to_cell = self->heat_to_cell;
  return self->heat;
}

static const char *const suffixes[] = { ".cfg", NULL };

const QrDetectorFamily qr_family_yolo = {
  .id = "yolo",
  .format = "darknet",
  .suffixes = suffixes,
  .companion = ".weights",
  .load = load,
  .free_data = darknet_free,
  .place = place,
  .write_input = write_input,
  .input_format = { FALSE, { 0, 1, 2 }, { 0, 0, 0 }, { 255, 255, 255 }, 0.5f },
  .decode = decode,
  .nms = nms,
  .heatmap = heatmap,
  .ask_outputs = ask_outputs,
};
