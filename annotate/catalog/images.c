/* images.c: the images table: one row per file of the collection (its path relative to the root,
 * size, time, displayed size, EXIF orientation, format, hash) and its state: ok, unreadable (with
 * the reason) or missing (the file went away; its labels are kept in case it returns). */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

static const char *const image_states[] = { "ok", "unreadable", "missing" };

const char *
qr_image_state_to_string (QrImageState state)
{
  return (guint) state < G_N_ELEMENTS (image_states) ? image_states[state] : "unknown";
}

static QrImageState
image_state_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (image_states); i++)
    if (g_strcmp0 (s, image_states[i]) == 0)
      return (QrImageState) i;
  return QR_IMAGE_STATE_UNREADABLE;
}

QrImageRecord *
qr_image_record_new (void)
{
  QrImageRecord *record = g_new0 (QrImageRecord, 1);
  record->orientation = 1;
  return record;
}

void
qr_image_record_free (QrImageRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->path);
  g_free (record->format);
  g_free (record->hash);
  g_free (record->reason);
  g_free (record);
}

QrImageRecord *
qr_catalog_image_from_row (QrRows *rows)
{
  sqlite3_stmt *stmt = rows->stmt;
  QrImageRecord *r = qr_image_record_new ();

  r->id = sqlite3_column_int64 (stmt, 0);
  r->path = qr_rows_text (rows, 1);
  r->size = sqlite3_column_int64 (stmt, 2);
  r->mtime_us = sqlite3_column_int64 (stmt, 3);
  r->width = sqlite3_column_int (stmt, 4);
  r->height = sqlite3_column_int (stmt, 5);
  r->orientation = sqlite3_column_int (stmt, 6);
  r->format = qr_rows_text (rows, 7);
  r->hash = qr_rows_text (rows, 8);
  r->state = image_state_from_string ((const char *) sqlite3_column_text (stmt, 9));
  r->reason = qr_rows_text (rows, 10);
  return r;
}

GPtrArray *
qr_catalog_list_image_rows (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what,
                            GError **error)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_image_record_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, args, what, error))
    return NULL;
  while (qr_rows_next (&rows))
    g_ptr_array_add (records, qr_catalog_image_from_row (&rows));
  return qr_rows_end (&rows, error) ? g_steal_pointer (&records) : NULL;
}

gboolean
qr_catalog_put_image (QrCatalog      *self,
                      QrImageRecord  *record,
                      GError        **error)
{
  gint64 id;

  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (record != NULL && record->path != NULL, FALSE);

  id = qr_catalog_insert (self,
                          "INSERT INTO images (path, size, mtime_us, width, height, orientation, format, hash,"
                          "                    state, reason, added_us, updated_us)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
                          " ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_us = excluded.mtime_us,"
                          "  width = excluded.width, height = excluded.height,"
                          "  orientation = excluded.orientation, format = excluded.format,"
                          "  hash = excluded.hash, state = excluded.state, reason = excluded.reason,"
                          "  updated_us = excluded.updated_us"
                          " RETURNING id",
                          QR_ARGS (QR_TEXT (record->path), QR_INT (record->size), QR_INT (record->mtime_us),
                                   QR_INT (record->width), QR_INT (record->height),
                                   QR_INT (CLAMP (record->orientation, 1, 8)), QR_TEXT (record->format),
                                   QR_TEXT (record->hash), QR_TEXT (qr_image_state_to_string (record->state)),
                                   QR_TEXT (record->reason), QR_INT (g_get_real_time ())),
                          record->path, error);
  if (id < 0)
    return FALSE;
  record->id = id;
  return TRUE;
}

gboolean
qr_catalog_move_image (QrCatalog   *self,
                       gint64       id,
                       const char  *new_path,
                       GError     **error)
{
  return qr_catalog_run (self, "UPDATE images SET path = ?2, updated_us = ?3 WHERE id = ?1",
                         QR_ARGS (QR_INT (id), QR_TEXT (new_path), QR_INT (g_get_real_time ())), error);
}

gboolean
qr_catalog_set_image_state (QrCatalog    *self,
                            gint64        id,
                            QrImageState  state,
                            const char   *reason,
                            GError      **error)
{
  return qr_catalog_run (self, "UPDATE images SET state = ?2, reason = ?3, updated_us = ?4 WHERE id = ?1",
                         QR_ARGS (QR_INT (id), QR_TEXT (qr_image_state_to_string (state)), QR_TEXT (reason),
                                  QR_INT (g_get_real_time ())), error);
}

static QrImageRecord *
get_one_image (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, GError **error)
{
  QrImageRecord *record = NULL;
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, args, "reading an image", error))
    return NULL;
  if (qr_rows_next (&rows))
    record = qr_catalog_image_from_row (&rows);
  else if (rows.rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no image %s in the catalog", what);
  qr_rows_end (&rows, error);
  return record;
}

QrImageRecord *
qr_catalog_get_image (QrCatalog *self, gint64 id, GError **error)
{
  g_autofree char *what = g_strdup_printf ("with id %" G_GINT64_FORMAT, id);

  return get_one_image (self, "SELECT " QR_IMAGE_COLUMNS " FROM images WHERE id = ?1", QR_ARGS (QR_INT (id)), what,
                        error);
}

QrImageRecord *
qr_catalog_find_image (QrCatalog *self, const char *path, GError **error)
{
  return get_one_image (self, "SELECT " QR_IMAGE_COLUMNS " FROM images WHERE path = ?1", QR_ARGS (QR_TEXT (path)),
                        path, error);
}

GPtrArray *
qr_catalog_list_images (QrCatalog *self, int state, GError **error)
{
  return qr_catalog_list_image_rows (self, "SELECT " QR_IMAGE_COLUMNS " FROM images"
                                           " WHERE ?1 IS NULL OR state = ?1 ORDER BY path",
                                     QR_ARGS (QR_TEXT (state >= 0 ? qr_image_state_to_string (state) : NULL)),
                                     "listing images", error);
}

GArray *
qr_catalog_list_image_ids (QrCatalog *self, int state, GError **error)
{
  return qr_catalog_list_ids (self, "SELECT id FROM images WHERE ?1 IS NULL OR state = ?1 ORDER BY path",
                              QR_ARGS (QR_TEXT (state >= 0 ? qr_image_state_to_string (state) : NULL)),
                              "listing images", error);
}

GArray *
qr_catalog_find_by_name (QrCatalog *self, const char *part, GError **error)
{
  return qr_catalog_list_ids (self, "SELECT id FROM images WHERE state IN ('ok', 'unreadable')"
                                    " AND instr (lower (path), lower (?1)) > 0 ORDER BY state = 'unreadable', path",
                              QR_ARGS (QR_TEXT (part)), "finding images by name", error);
}
