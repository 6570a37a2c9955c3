/* labels.c: what people say is in the images: classes (one row per name), labels (boxes with
 * their source and provenance, deleted softly so that undo and export can see them)
 * and each image's review state (reviewed, skipped). */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

static const char *const label_sources[] = { "imported", "drawn", "accepted" };

const char *
qr_label_source_to_string (QrLabelSource source)
{
  return (guint) source < G_N_ELEMENTS (label_sources) ? label_sources[source] : "unknown";
}

static QrLabelSource
label_source_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (label_sources); i++)
    if (g_strcmp0 (s, label_sources[i]) == 0)
      return (QrLabelSource) i;
  return QR_LABEL_SOURCE_IMPORTED;
}

void
qr_label_record_free (QrLabelRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->class_name);
  g_free (record);
}

/* Classes */

gint64
qr_catalog_ensure_class (QrCatalog *self, const char *name, GError **error)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), -1);
  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID,
                           "a class needs a non-empty UTF-8 name");
      return -1;
    }
  return qr_catalog_insert (self, "INSERT INTO classes (name) VALUES (?1)"
                                  " ON CONFLICT (name) DO UPDATE SET name = name RETURNING id",
                            QR_ARGS (QR_TEXT (name)), "adding a class", error);
}

GPtrArray *
qr_catalog_list_classes (QrCatalog *self, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT name FROM classes ORDER BY id", NULL, "listing classes", error))
    return NULL;
  while (qr_rows_next (&rows))
    g_ptr_array_add (names, qr_rows_text (&rows, 0));
  return qr_rows_end (&rows, error) ? g_steal_pointer (&names) : NULL;
}

GHashTable *
qr_catalog_class_names (QrCatalog *self, GError **error)
{
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT id, name FROM classes", NULL, "listing classes", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      gint64 id = sqlite3_column_int64 (rows.stmt, 0);
      g_hash_table_insert (names, g_memdup2 (&id, sizeof id), qr_rows_text (&rows, 1));
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&names) : NULL;
}

/* Labels */

gint64
qr_catalog_add_label (QrCatalog     *self,
                      gint64         image_id,
                      gint64         class_id,
                      const QrBox   *box,
                      QrLabelSource  source,
                      const char    *provenance,
                      GError       **error)
{
  if (!qr_catalog_check_box (box, error))
    return -1;
  /* No RETURNING: imports add a million of these, and last_insert_rowid is free. */
  if (!qr_catalog_run (self, "INSERT INTO labels (image_id, class_id, x1, y1, x2, y2, source, provenance,"
                             "                     created_us, modified_us)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                       QR_ARGS (QR_INT (image_id), QR_INT (class_id), QR_BOX (box),
                                QR_TEXT (qr_label_source_to_string (source)), QR_TEXT (provenance),
                                QR_INT (g_get_real_time ())), error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

/* FALSE with NOT_FOUND when the last statement changed no label. */
static gboolean
changed_a_label (QrCatalog *self, gint64 label_id, GError **error)
{
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no label with id %" G_GINT64_FORMAT, label_id);
      return FALSE;
    }
  return TRUE;
}

gboolean
qr_catalog_delete_label (QrCatalog *self, gint64 label_id, GError **error)
{
  return qr_catalog_run (self, "UPDATE labels SET deleted_us = ?2, modified_us = ?2 WHERE id = ?1 AND deleted_us IS NULL",
                         QR_ARGS (QR_INT (label_id), QR_INT (g_get_real_time ())), error)
         && changed_a_label (self, label_id, error);
}

gboolean
qr_catalog_update_label (QrCatalog *self, gint64 label_id, gint64 class_id, const QrBox *box, GError **error)
{
  /* modified_us strictly later than created_us, even within the same microsecond */
  return qr_catalog_check_box (box, error)
         && qr_catalog_run (self, "UPDATE labels SET class_id = ?2, x1 = ?3, y1 = ?4, x2 = ?5, y2 = ?6, modified_us = ?7"
                                  " WHERE id = ?1",
                            QR_ARGS (QR_INT (label_id), QR_INT (class_id), QR_BOX (box), QR_INT (g_get_real_time () + 1)),
                            error)
         && changed_a_label (self, label_id, error);
}

gboolean
qr_catalog_undelete_label (QrCatalog *self, gint64 label_id, GError **error)
{
  return qr_catalog_run (self, "UPDATE labels SET deleted_us = NULL, modified_us = ?2 WHERE id = ?1",
                         QR_ARGS (QR_INT (label_id), QR_INT (g_get_real_time ())), error);
}

gboolean
qr_catalog_get_label (QrCatalog *self, gint64 label_id, gint64 *class_id, QrBox *box, GError **error)
{
  QrRows rows;
  gboolean found;

  if (!qr_rows_start (&rows, self, "SELECT class_id, x1, y1, x2, y2 FROM labels WHERE id = ?1",
                      QR_ARGS (QR_INT (label_id)), "reading a label", error))
    return FALSE;
  found = qr_rows_next (&rows);
  if (found)
    {
      *class_id = sqlite3_column_int64 (rows.stmt, 0);
      qr_rows_box (&rows, 1, box);
    }
  else if (rows.rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no label with id %" G_GINT64_FORMAT, label_id);
  qr_rows_end (&rows, error);
  return found;
}

gboolean
qr_catalog_set_label_crowd (QrCatalog *self, gint64 label_id, gboolean iscrowd, GError **error)
{
  return qr_catalog_run (self, "UPDATE labels SET iscrowd = ?2 WHERE id = ?1",
                         QR_ARGS (QR_INT (label_id), QR_INT (iscrowd ? 1 : 0)), error);
}

gboolean
qr_catalog_set_label_detection (QrCatalog *self, gint64 label_id, gint64 detection_id, GError **error)
{
  return qr_catalog_run (self, "UPDATE labels SET detection_id = ?2 WHERE id = ?1",
                         QR_ARGS (QR_INT (label_id), QR_INT (detection_id)), error);
}

GPtrArray *
qr_catalog_list_labels (QrCatalog *self, QrLabelFilter filter, GError **error)
{
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_label_record_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "SELECT l.id, l.image_id, c.name, l.x1, l.y1, l.x2, l.y2, l.source, l.iscrowd,"
                      "       l.modified_us > l.created_us, l.class_id"
                      " FROM labels l JOIN classes c ON c.id = l.class_id"
                      " WHERE l.deleted_us IS NULL"
                      "   AND (?1 = 0"
                      "        OR (?1 = 1 AND l.image_id IN (SELECT image_id FROM review"
                      "                                      WHERE state = 'reviewed'))"
                      "        OR (?1 = 2 AND (l.source != 'imported' OR l.modified_us > l.created_us)))"
                      " ORDER BY l.image_id, l.id",
                      QR_ARGS (QR_INT (filter)), "listing labels", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrLabelRecord *r = g_new0 (QrLabelRecord, 1);
      r->id = sqlite3_column_int64 (rows.stmt, 0);
      r->image_id = sqlite3_column_int64 (rows.stmt, 1);
      r->class_name = qr_rows_text (&rows, 2);
      qr_rows_box (&rows, 3, &r->box);
      r->source = label_source_from_string ((const char *) sqlite3_column_text (rows.stmt, 7));
      r->iscrowd = sqlite3_column_int (rows.stmt, 8) != 0;
      r->modified = sqlite3_column_int (rows.stmt, 9) != 0;
      r->class_id = sqlite3_column_int64 (rows.stmt, 10);
      g_ptr_array_add (labels, r);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&labels) : NULL;
}

/* Review state */

gboolean
qr_catalog_set_reviewed (QrCatalog *self, gint64 image_id, const char *state, GError **error)
{
  return qr_catalog_run (self, "INSERT INTO review (image_id, state, updated_us) VALUES (?1, ?2, ?3)"
                               " ON CONFLICT (image_id) DO UPDATE SET state = excluded.state,"
                               "  updated_us = excluded.updated_us",
                         QR_ARGS (QR_INT (image_id), QR_TEXT (state), QR_INT (g_get_real_time ())), error);
}

char *
qr_catalog_get_reviewed (QrCatalog *self, gint64 image_id, GError **error)
{
  QrRows rows;
  char *state = NULL;

  if (!qr_rows_start (&rows, self, "SELECT state FROM review WHERE image_id = ?1", QR_ARGS (QR_INT (image_id)),
                      "reading an image's review state", error))
    return NULL;
  if (qr_rows_next (&rows))
    state = qr_rows_text (&rows, 0);
  if (!qr_rows_end (&rows, error))
    {
      g_free (state);
      return NULL;
    }
  return state ? state : g_strdup ("unreviewed");
}

gint64
qr_catalog_count_open_items (QrCatalog *self, gint64 image_id, GError **error)
{
  QrRows rows;
  gint64 n = -1;

  if (!qr_rows_start (&rows, self, "SELECT count(*) FROM mistakes m WHERE m.image_id = ?1 AND " QR_UNDECIDED,
                      QR_ARGS (QR_INT (image_id)), "counting an image's open review items", error))
    return -1;
  if (qr_rows_next (&rows))
    n = sqlite3_column_int64 (rows.stmt, 0);
  return qr_rows_end (&rows, error) ? n : -1;
}

gint64
qr_catalog_get_label_image (QrCatalog *self, gint64 label_id, GError **error)
{
  QrRows rows;
  gint64 image_id = -1;

  if (!qr_rows_start (&rows, self, "SELECT image_id FROM labels WHERE id = ?1", QR_ARGS (QR_INT (label_id)),
                      "reading a label", error))
    return -1;
  if (qr_rows_next (&rows))
    image_id = sqlite3_column_int64 (rows.stmt, 0);
  else if (rows.rc == SQLITE_DONE)
    {
      qr_rows_end (&rows, NULL);
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no label with id %" G_GINT64_FORMAT, label_id);
      return -1;
    }
  return qr_rows_end (&rows, error) ? image_id : -1;
}

GArray *
qr_catalog_list_reviewed_ids (QrCatalog *self, GError **error)
{
  return qr_catalog_list_ids (self, "SELECT image_id FROM review WHERE state = 'reviewed' ORDER BY image_id", NULL,
                              "listing reviewed images", error);
}

/* Imports */

void
qr_import_record_free (QrImportRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->digest);
  g_free (r->format);
  g_free (r->path);
  g_free (r);
}

GPtrArray *
qr_catalog_find_imports (QrCatalog *self, const char *digest, const char *path, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_import_record_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "SELECT id, digest, format, path, labels, captions, at_us FROM imports"
                      " WHERE (?1 IS NOT NULL AND digest = ?1) OR (?1 IS NULL AND path = ?2) ORDER BY id DESC",
                      QR_ARGS (QR_TEXT (digest), QR_TEXT (path)), "reading the imports", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrImportRecord *r = g_new0 (QrImportRecord, 1);
      r->id = sqlite3_column_int64 (rows.stmt, 0);
      r->digest = qr_rows_text (&rows, 1);
      r->format = qr_rows_text (&rows, 2);
      r->path = qr_rows_text (&rows, 3);
      r->labels = sqlite3_column_int64 (rows.stmt, 4);
      r->captions = sqlite3_column_int64 (rows.stmt, 5);
      r->at_us = sqlite3_column_int64 (rows.stmt, 6);
      g_ptr_array_add (out, r);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&out) : NULL;
}

gint64
qr_catalog_add_import (QrCatalog *self, const char *digest, const char *format, const char *path, GError **error)
{
  if (!qr_catalog_run (self, "INSERT INTO imports (digest, format, path, labels, captions, at_us)"
                             " VALUES (?1, ?2, ?3, 0, 0, ?4)",
                       QR_ARGS (QR_TEXT (digest), QR_TEXT (format), QR_TEXT (path), QR_INT (g_get_real_time ())),
                       error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

gboolean
qr_catalog_set_import_counts (QrCatalog *self, gint64 import_id, gint64 labels, gint64 captions, GError **error)
{
  return qr_catalog_run (self, "UPDATE imports SET labels = ?2, captions = ?3 WHERE id = ?1",
                         QR_ARGS (QR_INT (import_id), QR_INT (labels), QR_INT (captions)), error);
}

gboolean
qr_catalog_delete_import_data (QrCatalog *self, gint64 import_id, gint64 *labels, gint64 *captions, GError **error)
{
  g_autofree char *prefix = g_strdup_printf ("import %" G_GINT64_FORMAT ": %%", import_id);
  gint64 now = g_get_real_time ();

  if (!qr_catalog_run (self, "UPDATE labels SET deleted_us = ?2, modified_us = ?2"
                             " WHERE deleted_us IS NULL AND provenance LIKE ?1",
                       QR_ARGS (QR_TEXT (prefix), QR_INT (now)), error))
    return FALSE;
  *labels = sqlite3_changes (self->db);
  if (!qr_catalog_run (self, "UPDATE captions SET deleted_us = ?2, modified_us = ?2"
                             " WHERE deleted_us IS NULL AND source LIKE ?1",
                       QR_ARGS (QR_TEXT (prefix), QR_INT (now)), error))
    return FALSE;
  *captions = sqlite3_changes (self->db);
  return TRUE;
}
