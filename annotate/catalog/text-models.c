/* text-models.c: what the caption model (DMSM) keeps in the catalog: each image's backbone
 * features, the training runs with their weights after each finished epoch, and the image
 * embeddings of the model in use. Vectors are float16 blobs (qr_float_to_half). */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"
#include "qr-dmsm.h"

#include <string.h>

static GBytes *
half_blob (const float *values, gsize n)
{
  guint16 *half = g_new (guint16, MAX (n, 1));
  qr_float_to_half (values, half, n);
  for (gsize i = 0; i < n; i++)
    half[i] = GUINT16_TO_LE (half[i]);
  return g_bytes_new_take (half, n * 2);
}

/* A float16 blob column into out (dim floats); FALSE when its size is not dim. */
static gboolean
read_half (sqlite3_stmt *stmt, int column, float *out, int dim)
{
  const guint16 *data = sqlite3_column_blob (stmt, column);
  int bytes = sqlite3_column_bytes (stmt, column);
  g_autofree guint16 *copy = NULL;

  if (data == NULL || bytes != dim * 2)
    return FALSE;
  copy = g_memdup2 (data, (gsize) bytes);
  for (int i = 0; i < dim; i++)
    copy[i] = GUINT16_FROM_LE (copy[i]);
  qr_half_to_float (copy, out, (gsize) dim);
  return TRUE;
}

gboolean
qr_catalog_set_image_features (QrCatalog *self, gint64 image_id, const char *backbone, const float *features, int dim,
                               GError **error)
{
  g_autoptr (GBytes) blob = half_blob (features, (gsize) dim);
  return qr_catalog_run (self, "INSERT OR REPLACE INTO image_features (image_id, backbone, data) VALUES (?1, ?2, ?3)",
                         QR_ARGS (QR_INT (image_id), QR_TEXT (backbone), QR_BLOB (blob)), error);
}

/* Rows of (id, blob) into ids and a dense array; rows whose blob is not dim long are an error. */
static gboolean
load_vectors (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, int dim, GArray **ids_out,
              float **data_out, GError **error)
{
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *data = g_array_new (FALSE, FALSE, sizeof (float));
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, args, what, error))
    {
      g_array_unref (data);
      return FALSE;
    }
  while (qr_rows_next (&rows))
    {
      gint64 id = sqlite3_column_int64 (rows.stmt, 0);
      g_array_set_size (data, data->len + (guint) dim);
      if (!read_half (rows.stmt, 1, &g_array_index (data, float, data->len - (guint) dim), dim))
        {
          qr_rows_end (&rows, NULL);
          g_array_unref (data);
          g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID,
                       "%s: %s: the vector of image %" G_GINT64_FORMAT " is not %d values long", self->db_path, what,
                       id, dim);
          return FALSE;
        }
      g_array_append_val (ids, id);
    }
  if (!qr_rows_end (&rows, error))
    {
      g_array_unref (data);
      return FALSE;
    }
  *ids_out = g_steal_pointer (&ids);
  *data_out = (float *) g_array_free (data, FALSE);
  return TRUE;
}

gboolean
qr_catalog_load_image_features (QrCatalog *self, const char *backbone, int dim, GArray **ids, float **features,
                                GError **error)
{
  return load_vectors (self, "SELECT image_id, data FROM image_features WHERE backbone = ?1 ORDER BY image_id",
                       QR_ARGS (QR_TEXT (backbone)), "reading image features", dim, ids, features, error);
}

GArray *
qr_catalog_images_without_features (QrCatalog *self, const char *backbone, GError **error)
{
  return qr_catalog_list_ids (self, "SELECT id FROM images WHERE state = 'ok' AND id NOT IN"
                                    " (SELECT image_id FROM image_features WHERE backbone = ?1) ORDER BY path",
                              QR_ARGS (QR_TEXT (backbone)), "listing images without features", error);
}

void
qr_text_model_record_free (QrTextModelRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->kind);
  g_free (r->state);
  g_free (r->backbone);
  g_free (r->vocabulary_hash);
  g_free (r->metrics);
  g_clear_pointer (&r->model, g_bytes_unref);
  g_clear_pointer (&r->trainer, g_bytes_unref);
  g_free (r);
}

gint64
qr_catalog_add_text_model (QrCatalog *self, const char *kind, const char *backbone, const char *vocabulary_hash,
                           gint64 fold_seed, int epochs, GError **error)
{
  gint64 now = g_get_real_time ();
  return qr_catalog_insert (self, "INSERT INTO text_models (kind, backbone, vocabulary_hash, fold_seed, epochs,"
                                  " created_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
                            QR_ARGS (QR_TEXT (kind), QR_TEXT (backbone), QR_TEXT (vocabulary_hash), QR_INT (fold_seed),
                                     QR_INT (epochs), QR_INT (now)),
                            "adding a caption model", error);
}

gboolean
qr_catalog_save_text_model_epoch (QrCatalog *self, gint64 model_id, int epoch, const char *metrics, GBytes *model,
                                  GBytes *trainer, GError **error)
{
  return qr_catalog_run (self, "UPDATE text_models SET epoch = ?2, metrics = ?3, model = ?4, trainer = ?5,"
                               " updated_us = ?6 WHERE id = ?1",
                         QR_ARGS (QR_INT (model_id), QR_INT (epoch), QR_TEXT (metrics), QR_BLOB (model),
                                  trainer ? QR_BLOB (trainer) : QR_NULL, QR_INT (g_get_real_time ())),
                         error);
}

gboolean
qr_catalog_finish_text_model (QrCatalog *self, gint64 model_id, GArray *ids, const float *embeddings, int dim,
                              GError **error)
{
  if (!qr_catalog_begin (self, error))
    return FALSE;
  if (!qr_catalog_run (self, "DELETE FROM image_embeddings WHERE model_id IN (SELECT id FROM text_models"
                             " WHERE kind = (SELECT kind FROM text_models WHERE id = ?1))",
                       QR_ARGS (QR_INT (model_id)), error)
      /* retired: their metrics stay, their weights go (nothing reads them; a retrain would
       * otherwise leave every earlier model's weights in the catalog) */
      || !qr_catalog_run (self, "UPDATE text_models SET state = 'retired', trainer = NULL, model = NULL, updated_us = ?2"
                                " WHERE state != 'retired' AND id != ?1"
                                " AND kind = (SELECT kind FROM text_models WHERE id = ?1)",
                          QR_ARGS (QR_INT (model_id), QR_INT (g_get_real_time ())), error)
      || !qr_catalog_run (self, "UPDATE text_models SET state = 'ready', trainer = NULL, updated_us = ?2 WHERE id = ?1",
                          QR_ARGS (QR_INT (model_id), QR_INT (g_get_real_time ())), error))
    goto fail;
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (GBytes) blob = half_blob (embeddings + (gsize) i * (gsize) dim, (gsize) dim);
      if (!qr_catalog_run (self, "INSERT INTO image_embeddings (model_id, image_id, data) VALUES (?1, ?2, ?3)",
                           QR_ARGS (QR_INT (model_id), QR_INT (g_array_index (ids, gint64, i)), QR_BLOB (blob)), error))
        goto fail;
    }
  return qr_catalog_commit (self, error);
fail:
  qr_catalog_rollback (self);
  return FALSE;
}

static QrTextModelRecord *
text_model_row (QrCatalog *self, const char *sql, const char *kind, GError **error)
{
  QrTextModelRecord *r = NULL;
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, QR_ARGS (QR_TEXT (kind)), "reading the caption model", error))
    return NULL;
  if (qr_rows_next (&rows))
    {
      const void *blob;
      r = g_new0 (QrTextModelRecord, 1);
      r->id = sqlite3_column_int64 (rows.stmt, 0);
      r->kind = qr_rows_text (&rows, 1);
      r->state = qr_rows_text (&rows, 2);
      r->backbone = qr_rows_text (&rows, 3);
      r->vocabulary_hash = qr_rows_text (&rows, 4);
      r->fold_seed = sqlite3_column_int64 (rows.stmt, 5);
      r->epoch = sqlite3_column_int (rows.stmt, 6);
      r->epochs = sqlite3_column_int (rows.stmt, 7);
      r->metrics = qr_rows_text (&rows, 8);
      if ((blob = sqlite3_column_blob (rows.stmt, 9)) != NULL)
        r->model = g_bytes_new (blob, (gsize) sqlite3_column_bytes (rows.stmt, 9));
      if ((blob = sqlite3_column_blob (rows.stmt, 10)) != NULL)
        r->trainer = g_bytes_new (blob, (gsize) sqlite3_column_bytes (rows.stmt, 10));
      r->created_us = sqlite3_column_int64 (rows.stmt, 11);
      r->updated_us = sqlite3_column_int64 (rows.stmt, 12);
    }
  if (!qr_rows_end (&rows, error))
    g_clear_pointer (&r, qr_text_model_record_free);
  return r;
}

#define TEXT_MODEL_COLUMNS "id, kind, state, backbone, vocabulary_hash, fold_seed, epoch, epochs, metrics, model," \
                           " trainer, created_us, updated_us"

QrTextModelRecord *
qr_catalog_get_text_model (QrCatalog *self, const char *kind, GError **error)
{
  return text_model_row (self, "SELECT " TEXT_MODEL_COLUMNS " FROM text_models WHERE kind = ?1"
                               " AND (state = 'ready' OR (state = 'training' AND epoch > 0 AND model IS NOT NULL))"
                               " ORDER BY state = 'ready' DESC, id DESC LIMIT 1",
                         kind, error);
}

QrTextModelRecord *
qr_catalog_get_unfinished_text_model (QrCatalog *self, const char *kind, GError **error)
{
  return text_model_row (self, "SELECT " TEXT_MODEL_COLUMNS " FROM text_models WHERE kind = ?1 AND state = 'training'"
                               " ORDER BY id DESC LIMIT 1",
                         kind, error);
}

gboolean
qr_catalog_load_image_embeddings (QrCatalog *self, gint64 model_id, int dim, GArray **ids, float **embeddings,
                                  GError **error)
{
  *ids = NULL;
  if (!load_vectors (self, "SELECT image_id, data FROM image_embeddings WHERE model_id = ?1 ORDER BY image_id",
                     QR_ARGS (QR_INT (model_id)), "reading image embeddings", dim, ids, embeddings, error))
    return FALSE;
  if ((*ids)->len == 0)
    {
      g_clear_pointer (ids, g_array_unref);
      g_clear_pointer (embeddings, g_free);
      return FALSE;
    }
  return TRUE;
}

int
qr_catalog_get_feature_dim (QrCatalog *self, const char *backbone, GError **error)
{
  int dim = 0;
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT length (data) / 2 FROM image_features WHERE backbone = ?1 LIMIT 1",
                      QR_ARGS (QR_TEXT (backbone)), "reading image features", error))
    return -1;
  if (qr_rows_next (&rows))
    dim = sqlite3_column_int (rows.stmt, 0);
  return qr_rows_end (&rows, error) ? dim : -1;
}

GPtrArray *
qr_catalog_list_feature_backbones (QrCatalog *self, const char *prefix, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT backbone FROM image_features WHERE substr (backbone, 1, length (?1)) = ?1 "
                      "GROUP BY backbone ORDER BY count (*) DESC, backbone",
                      QR_ARGS (QR_TEXT (prefix)), "reading image features", error))
    return NULL;
  while (qr_rows_next (&rows))
    g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (rows.stmt, 0)));
  if (!qr_rows_end (&rows, error))
    return NULL;
  return g_steal_pointer (&names);
}

gint64
qr_catalog_count_image_features (QrCatalog *self, const char *backbone, GError **error)
{
  gint64 n = 0;
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT count (*) FROM image_features WHERE backbone = ?1",
                      QR_ARGS (QR_TEXT (backbone)), "counting image features", error))
    return -1;
  if (qr_rows_next (&rows))
    n = sqlite3_column_int64 (rows.stmt, 0);
  return qr_rows_end (&rows, error) ? n : -1;
}
