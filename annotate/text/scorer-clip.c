/* scorer-clip.c: a user's CLIP model (ONNX, qr-clip.h) as a scorer (qr-scorer.h). The images'
 * embeddings are computed once (qr_clip_embed_collection: resumable, a batch of rows per
 * transaction) and stored, unit length, as image features under a key naming the model's folder
 * and its files' sizes and times: "clip:HASH:/path/to/folder". A text's embedding, unit length,
 * scores an image by the cosine; search is one product over the stored rows. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"
#include "qr-clip.h"
#include "qr-engine.h"
#include "qr-vectors.h"
#include "embedding-table.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLIP_PREFIX "clip:"
#define CLIP_ROWS_PER_COMMIT 64

struct _QrClipScorer
{
  GObject     parent_instance;

  /* Owned references */
  QrCatalog  *catalog;
  QrClip     *clip;
  QrEmbeddingTable table;   /* each image's unit embedding */
  int         dim;
  char       *title;
};

static void qr_clip_scorer_iface_init (QrScorerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QrClipScorer, qr_clip_scorer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (QR_TYPE_SCORER, qr_clip_scorer_iface_init))

static void
qr_clip_scorer_finalize (GObject *object)
{
  QrClipScorer *self = QR_CLIP_SCORER (object);

  g_clear_object (&self->catalog);
  g_clear_pointer (&self->clip, qr_clip_free);
  qr_embedding_table_clear (&self->table);
  g_free (self->title);
  G_OBJECT_CLASS (qr_clip_scorer_parent_class)->finalize (object);
}

static void
qr_clip_scorer_class_init (QrClipScorerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_clip_scorer_finalize;
}

static void
qr_clip_scorer_init (QrClipScorer *self)
{
}

static void
normalise (float *v, int n)
{
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += (double) v[i] * v[i];
  if (sum > 0)
    for (int i = 0; i < n; i++)
      v[i] = (float) (v[i] / sqrt (sum));
}

char *
qr_clip_feature_key (const char *dir, GError **error)
{
  g_autofree char *absolute = realpath (dir, NULL);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *const names[] = { "onnx/vision_model.onnx", "onnx/text_model.onnx", "vision_model.onnx",
                                "text_model.onnx", "onnx/model.onnx", "model.onnx", "preprocessor_config.json" };

  if (absolute == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir, g_strerror (errno));
      return NULL;
    }
  /* the files' sizes and times: a model replaced in the same folder is another model */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (absolute, names[i], NULL);
      GStatBuf st;
      g_autofree char *line = NULL;
      if (g_stat (path, &st) != 0)
        continue;
      line = g_strdup_printf ("%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", names[i], (gint64) st.st_size,
                              (gint64) st.st_mtime);
      g_checksum_update (sum, (const guchar *) line, -1);
    }
  return g_strdup_printf (CLIP_PREFIX "%.12s:%s", g_checksum_get_string (sum), absolute);
}

/* Stores n embeddings (normalised here) for ids, committing every CLIP_ROWS_PER_COMMIT rows. */
static gboolean
store_embeddings (QrCatalog *catalog, const char *key, const gint64 *ids, float *embeddings, int n, int dim,
                  guint *in_batch, GError **error)
{
  for (int k = 0; k < n; k++)
    {
      float *e = embeddings + (gsize) k * (gsize) dim;
      normalise (e, dim);
      if (*in_batch == 0 && !qr_catalog_begin (catalog, error))
        return FALSE;
      if (!qr_catalog_set_image_features (catalog, ids[k], key, e, dim, error))
        {
          qr_catalog_rollback (catalog);
          *in_batch = 0;
          return FALSE;
        }
      if (++*in_batch == CLIP_ROWS_PER_COMMIT)
        {
          *in_batch = 0;
          if (!qr_catalog_commit (catalog, error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
qr_clip_embed_collection (QrCatalog *catalog, const char *dir, QrDevice device, QrProgressFunc progress,
                          gpointer progress_data, QrAbortFunc abort, gpointer abort_data, guint *computed,
                          guint *failed, GError **error)
{
  g_autofree char *key = qr_clip_feature_key (dir, error);
  g_autoptr (QrClip) clip = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree float *inputs = NULL, *embeddings = NULL;
  gint64 pending[QR_CLIP_BATCH];
  guint done = 0, in_batch = 0;
  int n_pending = 0, dim;
  gsize item;

  *computed = *failed = 0;
  if (key == NULL || (clip = qr_clip_load (dir, device, error)) == NULL
      || (ids = qr_catalog_images_without_features (catalog, key, error)) == NULL)
    return FALSE;
  dim = qr_clip_get_dim (clip);
  item = (gsize) qr_clip_get_image_size (clip) * (gsize) qr_clip_get_image_size (clip) * 3;
  inputs = g_new (float, item * QR_CLIP_BATCH);
  embeddings = g_new (float, (gsize) dim * QR_CLIP_BATCH);
  /* images are read and prepared QR_CLIP_BATCH at a time, then run through the tower together */
  for (guint i = 0; i <= ids->len; i++)
    {
      gint64 id = i < ids->len ? g_array_index (ids, gint64, i) : -1;
      g_autoptr (QrImageRecord) record = NULL;
      g_autoptr (QrImage) image = NULL;
      g_autoptr (GError) local = NULL;
      g_autofree char *path = NULL;

      if (n_pending > 0 && (n_pending == QR_CLIP_BATCH || i == ids->len))
        {
          if (!qr_clip_embed_inputs (clip, inputs, n_pending, embeddings, &local))
            {
              /* one bad run costs its images, not the job */
              g_debug ("%d images: no embeddings: %s", n_pending, local->message);
              *failed += (guint) n_pending;
              g_clear_error (&local);
            }
          else if (!store_embeddings (catalog, key, pending, embeddings, n_pending, dim, &in_batch, error))
            return FALSE;
          else
            *computed += (guint) n_pending;
          done += (guint) n_pending;
          n_pending = 0;
          if (progress != NULL)
            progress (done, ids->len, progress_data);
        }
      if (i == ids->len)
        break;
      if (abort != NULL && abort (abort_data))
        {
          if (in_batch > 0 && !qr_catalog_commit (catalog, error))
            return FALSE;
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED,
                       "stopped after %u of %u images' embeddings (those are kept)", done, ids->len);
          return FALSE;
        }
      if ((record = qr_catalog_get_image (catalog, id, error)) == NULL)
        {
          if (in_batch > 0)
            qr_catalog_rollback (catalog);
          return FALSE;
        }
      path = g_build_filename (qr_catalog_get_root (catalog), record->path, NULL);
      image = qr_image_load (path, NULL, 0, &local);
      if (image == NULL)
        {
          g_debug ("%s: no embedding: %s", path, local->message);
          (*failed)++;
          done++;
          continue;
        }
      qr_clip_preprocess (clip, image, inputs + (gsize) n_pending * item);
      pending[n_pending++] = id;
    }
  if (in_batch > 0 && !qr_catalog_commit (catalog, error))
    return FALSE;
  return TRUE;
}

QrScorer *
qr_clip_scorer_new (QrCatalog *catalog, GError **error)
{
  g_autoptr (QrClipScorer) self = g_object_new (QR_TYPE_CLIP_SCORER, NULL);
  g_autoptr (GPtrArray) keys = qr_catalog_list_feature_backbones (catalog, CLIP_PREFIX, error);
  g_autofree float *floats = NULL;
  g_autofree char *name = NULL;
  const char *key, *dir;
  GArray *ids = NULL;

  if (keys == NULL)
    return NULL;
  if (keys->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no CLIP embeddings in this collection: compute them "
                   "(Compute CLIP Embeddings… in the app's menu, or quorum embed --model CLIP_FOLDER --collection DIR)");
      return NULL;
    }
  key = keys->pdata[0];
  dir = strchr (key + strlen (CLIP_PREFIX), ':');
  if (dir == NULL || dir[1] != '/')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the stored CLIP embeddings' key %s names no folder",
                   key);
      return NULL;
    }
  dir++;
  self->catalog = g_object_ref (catalog);
  if ((self->clip = qr_clip_load_text (dir, QR_DEVICE_AUTO, error)) == NULL)
    return NULL;
  {
    g_autofree char *current = qr_clip_feature_key (dir, NULL);
    if (g_strcmp0 (current, key) != 0)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the CLIP model in %s changed since it embedded "
                     "this collection: embed it again (quorum embed --model %s --collection …)", dir, dir);
        return NULL;
      }
  }
  self->dim = qr_clip_get_dim (self->clip);
  if (!qr_catalog_load_image_features (catalog, key, self->dim, &ids, &floats, error))
    return NULL;
  qr_embedding_table_init (&self->table, ids, floats, self->dim);
  name = g_path_get_basename (dir);
  self->title = g_strdup_printf ("CLIP (%s)", name);
  return QR_SCORER (g_steal_pointer (&self));
}

static const char *
clip_get_name (QrScorer *scorer)
{
  return "clip";
}

static const char *
clip_get_title (QrScorer *scorer)
{
  return QR_CLIP_SCORER (scorer)->title;
}

static gboolean
clip_prepare (QrScorer *scorer, QrScorerText *text, GError **error)
{
  QrClipScorer *self = QR_CLIP_SCORER (scorer);
  g_autofree float *vector = g_new (float, self->dim);

  if (!qr_clip_embed_text (self->clip, text->text, vector, NULL, error))
    return FALSE;
  normalise (vector, self->dim);
  text->data = g_steal_pointer (&vector);
  return TRUE;
}

static void
clip_release (QrScorer *scorer, QrScorerText *text)
{
  g_clear_pointer (&text->data, g_free);
}

static gboolean
clip_score (QrScorer *scorer, QrScorerText *text, gint64 image_id, QrTextMode mode, QrScore *out, GError **error)
{
  qr_embedding_table_score (&QR_CLIP_SCORER (scorer)->table, text->data, image_id, 3,
                            "no CLIP embedding for this image (quorum embed --collection makes the missing ones)", out);
  return TRUE;
}

static GArray *
clip_search (QrScorer *scorer, QrScorerText *text, guint top, GCancellable *cancellable, GError **error)
{
  return qr_embedding_table_search (&QR_CLIP_SCORER (scorer)->table, text->data, top, 3, cancellable, error);
}

static gboolean
clip_rank_own (QrScorer *scorer, QrScorerText *const *texts, const gint64 *own, guint n, QrOwnImageRank *out,
              GError **error)
{
  g_autofree const float **vectors = g_new (const float *, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    vectors[i] = texts[i]->data;
  qr_embedding_table_rank_own (&QR_CLIP_SCORER (scorer)->table, vectors, own, n, out);
  return TRUE;
}

static GArray *
clip_candidates (QrScorer *scorer, GError **error)
{
  return g_array_ref (QR_CLIP_SCORER (scorer)->table.ids);
}

/* Where the phrase is: each ViT patch's embedding (through the final layer norm and projection)
 * against the text's, over the crop the model sees; the map covers the whole image in cells of a
 * patch's size, those outside the crop 0. Patch cosines are not calibrated as scores: the map
 * runs from its lowest (0) to its highest (1). */
static float *
clip_phrase_map (QrScorer *scorer, QrScorerText *text, const char *image_path, GCancellable *cancellable,
                 int *rows, int *cols, double *cell_size, GError **error)
{
  QrClipScorer *self = QR_CLIP_SCORER (scorer);
  int side = qr_clip_get_image_size (self->clip), grid;
  g_autoptr (QrImage) image = NULL;
  g_autofree float *input = NULL, *patches = NULL, *cosines = NULL;
  const float *t = text->data;
  double x0, y0, crop, cell;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
  float *map;

  if ((image = qr_image_load (image_path, NULL, 0, error)) == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  input = g_new (float, (gsize) side * (gsize) side * 3);
  qr_clip_preprocess (self->clip, image, input);
  if ((patches = qr_clip_patch_embeddings (self->clip, input, &grid, error)) == NULL)
    return NULL;
  cosines = g_new (float, (gsize) grid * (gsize) grid);
  for (int p = 0; p < grid * grid; p++)
    {
      float *v = patches + (gsize) p * (gsize) self->dim;
      double dot = 0;
      normalise (v, self->dim);
      for (int k = 0; k < self->dim; k++)
        dot += (double) v[k] * t[k];
      cosines[p] = (float) dot;
      lo = MIN (lo, cosines[p]);
      hi = MAX (hi, cosines[p]);
    }
  qr_clip_crop_box (self->clip, image, &x0, &y0, &crop);
  cell = crop / grid;
  *cols = MAX (1, (int) ceil (image->width / cell));
  *rows = MAX (1, (int) ceil (image->height / cell));
  *cell_size = cell;
  map = g_new0 (float, (gsize) *rows * (gsize) *cols);
  for (int r = 0; r < *rows; r++)
    for (int c = 0; c < *cols; c++)
      {
        /* the patch under the cell's centre */
        int pc = (int) floor (((c + 0.5) * cell - x0) / cell), pr = (int) floor (((r + 0.5) * cell - y0) / cell);
        if (pc >= 0 && pc < grid && pr >= 0 && pr < grid)
          map[(gsize) r * (gsize) *cols + (gsize) c] = hi > lo ? (cosines[pr * grid + pc] - lo) / (hi - lo) : 0.0f;
      }
  return map;
}

static void
qr_clip_scorer_iface_init (QrScorerInterface *iface)
{
  iface->get_name = clip_get_name;
  iface->get_title = clip_get_title;
  iface->prepare = clip_prepare;
  iface->release = clip_release;
  iface->score = clip_score;
  iface->candidates = clip_candidates;
  iface->search = clip_search;
  iface->rank_own = clip_rank_own;
  iface->phrase_map = clip_phrase_map;
}
