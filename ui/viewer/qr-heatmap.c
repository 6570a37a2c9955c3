/* qr-heatmap.c: see qr-heatmap.h. Scores rarely pass 0.6, so they are stretched by 1.6 before
 * colouring: peaks read as bright. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-heatmap.h"
#include "qr-class-map.h"

#include <math.h>

struct _QrHeatmap
{
  float  *data;      /* rows × cols × classes */
  int     rows, cols, classes;
  double  cell_size;
  char  **names;     /* the detector's class names */
};

void
qr_heatmap_free (QrHeatmap *heat)
{
  if (heat == NULL)
    return;
  g_free (heat->data);
  g_strfreev (heat->names);
  g_free (heat);
}

static gboolean
cancelled (gpointer data)
{
  return g_cancellable_is_cancelled (data);
}

QrHeatmap *
qr_heatmap_compute (const char *path, QrDetector **detector, GMutex *lock, GCancellable *cancellable, GError **error)
{
  g_autoptr (QrImage) image = qr_image_load (path, NULL, 0, error);
  g_autoptr (GArray) found = NULL;
  const float *scores;
  float to_cell;
  QrHeatmap *heat;

  if (image == NULL)
    return NULL;
  g_mutex_lock (lock);
  if (*detector == NULL)
    {
      g_autofree char *model = qr_find_model ("centernet", error);
      *detector = model ? qr_detector_load (model, NULL, error) : NULL;
    }
  if (*detector == NULL || (found = qr_detector_detect (*detector, image, cancelled, cancellable, error)) == NULL)
    {
      g_mutex_unlock (lock);
      return NULL;
    }
  heat = g_new0 (QrHeatmap, 1);
  scores = qr_detector_get_heatmap (*detector, &heat->rows, &heat->cols, &heat->classes, &to_cell);
  heat->data = g_memdup2 (scores, sizeof (float) * (gsize) heat->rows * (gsize) heat->cols * (gsize) heat->classes);
  heat->names = g_new0 (char *, heat->classes + 1);
  for (int c = 0; c < heat->classes; c++)
    heat->names[c] = g_strdup (qr_detector_get_class_name (*detector, c));
  g_mutex_unlock (lock);
  heat->cell_size = 1.0 / to_cell;
  return heat;
}

void
qr_heatmap_ramp (float score, guint8 *rgba)
{
  float v = CLAMP (score * 1.6f, 0, 1);
  rgba[0] = (guint8) (255 * MIN (1, v * 2));
  rgba[1] = (guint8) (255 * CLAMP (v * 2 - 0.6, 0, 1));
  rgba[2] = (guint8) (255 * CLAMP (v * 3 - 2, 0, 1));
  rgba[3] = (guint8) (255 * v);
}

static GdkTexture *
colour (QrHeatmap *heat, int only, const gboolean *wanted)
{
  guint8 *rgba;
  g_autoptr (GBytes) bytes = NULL;

  rgba = g_malloc ((gsize) heat->rows * (gsize) heat->cols * 4);
  for (int i = 0; i < heat->rows * heat->cols; i++)
    {
      const float *cell = heat->data + (gsize) i * (gsize) heat->classes;
      float v = 0;
      if (wanted != NULL)
        {
          for (int c = 0; c < heat->classes; c++)
            if (wanted[c])
              v = fmaxf (v, cell[c]);
        }
      else if (only >= 0)
        v = cell[only];
      else
        for (int c = 0; c < heat->classes; c++)
          v = fmaxf (v, cell[c]);
      qr_heatmap_ramp (v, rgba + (gsize) i * 4);
    }
  bytes = g_bytes_new_take (rgba, (gsize) heat->rows * (gsize) heat->cols * 4);
  return gdk_memory_texture_new (heat->cols, heat->rows, GDK_MEMORY_R8G8B8A8, bytes, (gsize) heat->cols * 4);
}

GdkTexture *
qr_heatmap_colour (QrHeatmap *heat, const char *class_name, const char **shown)
{
  int only = -1;

  for (int c = 0; class_name != NULL && c < heat->classes && only < 0; c++)
    if (g_str_equal (heat->names[c], class_name))
      only = c;
  *shown = only >= 0 ? heat->names[only] : NULL;
  return colour (heat, only, NULL);
}

GdkTexture *
qr_heatmap_colour_classes (QrHeatmap *heat, const char *const *classes)
{
  g_autofree gboolean *wanted = g_new0 (gboolean, MAX (heat->classes, 1));

  for (int c = 0; c < heat->classes; c++)
    wanted[c] = g_strv_contains (classes, qr_class_map_lookup (heat->names[c]));
  return colour (heat, -1, wanted);
}

double
qr_heatmap_get_cell_size (QrHeatmap *heat)
{
  return heat->cell_size;
}
