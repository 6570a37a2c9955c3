/* captions.c: an image's captions as stored: added (imported, typed, accepted from suggestions)
 * with their source, edited, and deleted softly so that undo can bring them back. Scoring them is
 * annotate/text/'s work. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

void
qr_caption_record_free (QrCaptionRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->text);
  g_free (r->source);
  g_free (r);
}

gint64
qr_catalog_add_caption (QrCatalog *self, gint64 image_id, const char *text, const char *source, GError **error)
{
  return qr_catalog_insert (self, "INSERT INTO captions (image_id, text, source, created_us)"
                                  " VALUES (?1, ?2, ?3, ?4) RETURNING id",
                            QR_ARGS (QR_INT (image_id), QR_TEXT (text), QR_TEXT (source), QR_INT (g_get_real_time ())),
                            "adding a caption", error);
}

GPtrArray *
qr_catalog_list_captions (QrCatalog *self, gint64 image_id, GError **error)
{
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT text FROM captions WHERE image_id = ?1 AND deleted_us IS NULL ORDER BY id",
                      QR_ARGS (QR_INT (image_id)), "listing captions", error))
    return NULL;
  while (qr_rows_next (&rows))
    g_ptr_array_add (texts, qr_rows_text (&rows, 0));
  return qr_rows_end (&rows, error) ? g_steal_pointer (&texts) : NULL;
}

static GPtrArray *
caption_rows (QrCatalog *self, const char *where, gint64 arg, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_caption_record_free);
  g_autofree char *sql = g_strdup_printf ("SELECT id, image_id, text, source, modified_us IS NOT NULL FROM captions"
                                          " WHERE deleted_us IS NULL AND %s ORDER BY image_id, id", where);
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, QR_ARGS (QR_INT (arg)), "listing captions", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrCaptionRecord *r = g_new0 (QrCaptionRecord, 1);
      r->id = sqlite3_column_int64 (rows.stmt, 0);
      r->image_id = sqlite3_column_int64 (rows.stmt, 1);
      r->text = qr_rows_text (&rows, 2);
      r->source = qr_rows_text (&rows, 3);
      r->modified = sqlite3_column_int (rows.stmt, 4) != 0;
      g_ptr_array_add (out, r);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&out) : NULL;
}

GPtrArray *
qr_catalog_list_caption_records (QrCatalog *self, gint64 image_id, GError **error)
{
  return caption_rows (self, "(?1 < 0 OR image_id = ?1)", image_id, error);
}

QrCaptionRecord *
qr_catalog_get_caption (QrCatalog *self, gint64 caption_id, GError **error)
{
  g_autoptr (GPtrArray) found = caption_rows (self, "id = ?1", caption_id, error);

  if (found == NULL)
    return NULL;
  if (found->len == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no caption %" G_GINT64_FORMAT, caption_id);
      return NULL;
    }
  return g_ptr_array_steal_index (found, 0);
}

gboolean
qr_catalog_set_caption_text (QrCatalog *self, gint64 caption_id, const char *text, GError **error)
{
  return qr_catalog_run (self, "UPDATE captions SET text = ?2, modified_us = ?3 WHERE id = ?1",
                         QR_ARGS (QR_INT (caption_id), QR_TEXT (text), QR_INT (g_get_real_time ())), error);
}

gboolean
qr_catalog_set_caption_deleted (QrCatalog *self, gint64 caption_id, gboolean deleted, GError **error)
{
  return qr_catalog_run (self, "UPDATE captions SET deleted_us = ?2 WHERE id = ?1",
                         QR_ARGS (QR_INT (caption_id), deleted ? QR_INT (g_get_real_time ()) : QR_ID (-1)), error);
}
