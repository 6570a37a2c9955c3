/* thumbnails.c: the thumbnails table: one small JPEG per image, with the longer side it was made
 * for and the file time it was made from, so that a changed file or size asks for a new one. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

gboolean
qr_catalog_put_thumbnail (QrCatalog   *self,
                          gint64       image_id,
                          int          max_side,
                          int          width,
                          int          height,
                          gint64       source_mtime_us,
                          GBytes      *jpeg,
                          GError     **error)
{
  return qr_catalog_run (self, "INSERT OR REPLACE INTO thumbnails"
                               " (image_id, max_side, width, height, source_mtime_us, jpeg)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         QR_ARGS (QR_INT (image_id), QR_INT (max_side), QR_INT (width), QR_INT (height),
                                  QR_INT (source_mtime_us), QR_BLOB (jpeg)), error);
}

GBytes *
qr_catalog_get_thumbnail (QrCatalog  *self,
                          gint64      image_id,
                          int        *width,
                          int        *height,
                          GError    **error)
{
  GBytes *bytes = NULL;
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT width, height, jpeg FROM thumbnails WHERE image_id = ?1",
                      QR_ARGS (QR_INT (image_id)), "reading a thumbnail", error))
    return NULL;
  if (qr_rows_next (&rows))
    {
      if (width)
        *width = sqlite3_column_int (rows.stmt, 0);
      if (height)
        *height = sqlite3_column_int (rows.stmt, 1);
      bytes = g_bytes_new (sqlite3_column_blob (rows.stmt, 2), (gsize) sqlite3_column_bytes (rows.stmt, 2));
    }
  else if (rows.rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND,
                 "no thumbnail for image %" G_GINT64_FORMAT, image_id);
  qr_rows_end (&rows, error);
  return bytes;
}

GPtrArray *
qr_catalog_list_missing_thumbnails (QrCatalog *self, int max_side, GError **error)
{
  return qr_catalog_list_image_rows (self,
                                     "SELECT i.id, i.path, i.size, i.mtime_us, i.width, i.height,"
                                     "       i.orientation, i.format, i.hash, i.state, i.reason"
                                     " FROM images i LEFT JOIN thumbnails t ON t.image_id = i.id"
                                     " WHERE i.state = 'ok' AND (t.image_id IS NULL OR t.max_side != ?1"
                                     "       OR t.source_mtime_us != i.mtime_us)"
                                     " ORDER BY i.path",
                                     QR_ARGS (QR_INT (max_side)), "listing images without thumbnails", error);
}
