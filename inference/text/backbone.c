/* backbone.c: CenterNet's MobileNetV3 backbone as the caption model's image encoder
 * (qr-backbone.h). The graph is the detector's own model file cut at the backbone's last map;
 * the image is placed as CenterNet places it (scaled so the longer side is 512, top-left, zero
 * border), so the cells that see the image are known and the border's cells are left out of the
 * mean. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-backbone.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const char *name;
  const char *tensor;   /* the map to cut at */
  int         size;     /* input side */
} BackboneKind;

static const BackboneKind kinds[] = {
  { "centernet", "tower_0/extern1/hard_swish/mul_1", 512 },
};

static const char *const names[] = { "centernet", NULL };

struct _QrBackbone
{
  const BackboneKind *kind;
  QrModel            *model;
  int                 channels, rows, cols;
  float              *input;
};

const char *const *
qr_backbone_list_names (void)
{
  return names;
}

QrBackbone *
qr_backbone_new (const char *name, const char *path, QrDevice device, GError **error)
{
  g_autoptr (QrBackbone) self = g_new0 (QrBackbone, 1);
  const char *outputs[2] = { NULL, NULL };
  QrGraph *graph;
  int rank, dims[8];

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i].name, name))
      self->kind = &kinds[i];
  if (self->kind == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "no backbone named “%s” (there is: centernet)", name);
      return NULL;
    }
  outputs[0] = self->kind->tensor;
  graph = qr_graph_load_tfjs (path, outputs, error);
  if (graph == NULL)
    {
      g_prefix_error (error, "%s as the %s backbone: ", path, name);
      return NULL;
    }
  self->model = qr_model_new (graph, device, QR_PRECISION_FP32, 0, error);
  if (self->model == NULL)
    return NULL;
  /* the map's size from a run on an empty input */
  self->input = g_new0 (float, (gsize) self->kind->size * (gsize) self->kind->size * 3);
  if (!qr_model_run (self->model, self->input, 1, NULL, NULL, error))
    return NULL;
  if (qr_model_get_output (self->model, self->kind->tensor, &rank, dims) == NULL || rank != 4)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: the backbone's map is not [1, rows, cols, channels]", path);
      return NULL;
    }
  self->rows = dims[1];
  self->cols = dims[2];
  self->channels = dims[3];
  return g_steal_pointer (&self);
}

void
qr_backbone_free (QrBackbone *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->model, qr_model_free);
  g_free (self->input);
  g_free (self);
}

const char *
qr_backbone_get_name (QrBackbone *self)
{
  return self->kind->name;
}

int
qr_backbone_get_channels (QrBackbone *self)
{
  return self->channels;
}

gboolean
qr_backbone_run (QrBackbone *self, const QrImage *image, float *pooled, float **map, int *rows, int *cols,
                 double *cell_size, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  int size = self->kind->size, C = self->channels, rank, dims[8];
  double scale = (double) size / MAX (image->width, image->height);
  int w = MAX (1, MIN (size, (int) lround (image->width * scale)));
  int h = MAX (1, MIN (size, (int) lround (image->height * scale)));
  g_autoptr (QrImage) fitted = qr_image_resize (image, w, h);
  const float *out;
  double stride = (double) size / self->cols;
  int used_cols = MAX (1, MIN (self->cols, (int) ceil (w / stride)));
  int used_rows = MAX (1, MIN (self->rows, (int) ceil (h / stride)));

  memset (self->input, 0, sizeof (float) * (gsize) size * (gsize) size * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        self->input[((gsize) y * size + x) * 3 + c] = fitted->pixels[((gsize) y * w + x) * 3 + c];
  if (!qr_model_run (self->model, self->input, 1, abort, abort_data, error))
    return FALSE;
  out = qr_model_get_output (self->model, self->kind->tensor, &rank, dims);
  memset (pooled, 0, sizeof (float) * (gsize) C);
  for (int r = 0; r < used_rows; r++)
    for (int k = 0; k < used_cols; k++)
      for (int c = 0; c < C; c++)
        pooled[c] += out[((gsize) r * self->cols + k) * C + c];
  for (int c = 0; c < C; c++)
    pooled[c] /= (float) (used_rows * used_cols);
  if (map != NULL)
    {
      *map = g_new (float, (gsize) used_rows * used_cols * C);
      for (int r = 0; r < used_rows; r++)
        memcpy (*map + (gsize) r * used_cols * C, out + (gsize) r * self->cols * C, sizeof (float) * (gsize) used_cols * C);
      *rows = used_rows;
      *cols = used_cols;
      *cell_size = stride / scale;
    }
  return TRUE;
}
