/* models.c: what the models say: models (peers, with the fold they did not see in training),
 * their runs over the collection (resumable: run_images records each image done), the runs'
 * detections, and what the viewer draws for an image (its labels and each model's latest run). */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

void
qr_model_record_free (QrModelRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record->kind);
  g_free (record->location);
  g_free (record);
}

gint64
qr_catalog_add_model (QrCatalog   *self,
                      const char  *name,
                      const char  *kind,
                      const char  *location,
                      GError     **error)
{
  return qr_catalog_insert (self, "INSERT INTO models (name, kind, location, added_us)"
                                  " VALUES (?1, ?2, ?3, ?4) RETURNING id",
                            QR_ARGS (QR_TEXT (name), QR_TEXT (kind), QR_TEXT (location), QR_INT (g_get_real_time ())),
                            "adding a model", error);
}

gboolean
qr_catalog_set_model_fold (QrCatalog *self, const char *name, int held_out_fold, int n_folds, gint64 seed,
                           GError **error)
{
  return qr_catalog_run (self, "UPDATE models SET held_out_fold = ?2, n_folds = ?3, fold_seed = ?4 WHERE name = ?1",
                         QR_ARGS (QR_TEXT (name), n_folds > 0 ? QR_INT (held_out_fold) : QR_NULL,
                                  n_folds > 0 ? QR_INT (n_folds) : QR_NULL, QR_INT (seed)), error);
}

GPtrArray *
qr_catalog_list_models (QrCatalog *self, GError **error)
{
  g_autoptr (GPtrArray) models = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_model_record_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "SELECT m.id, m.name, m.kind, m.location,"
                      "  (SELECT count(*) FROM runs r WHERE r.model_id = m.id),"
                      "  (SELECT count(*) FROM detections d JOIN runs r ON r.id = d.run_id WHERE r.model_id = m.id),"
                      "  m.held_out_fold, m.n_folds, m.fold_seed"
                      " FROM models m ORDER BY m.id", NULL, "listing models", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrModelRecord *m = g_new0 (QrModelRecord, 1);
      m->id = sqlite3_column_int64 (rows.stmt, 0);
      m->name = qr_rows_text (&rows, 1);
      m->kind = qr_rows_text (&rows, 2);
      m->location = qr_rows_text (&rows, 3);
      m->runs = sqlite3_column_int64 (rows.stmt, 4);
      m->detections = sqlite3_column_int64 (rows.stmt, 5);
      m->held_out_fold = (int) qr_rows_id (&rows, 6);
      m->n_folds = sqlite3_column_type (rows.stmt, 7) == SQLITE_NULL ? 0 : sqlite3_column_int (rows.stmt, 7);
      m->fold_seed = sqlite3_column_int64 (rows.stmt, 8);
      g_ptr_array_add (models, m);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&models) : NULL;
}

gint64
qr_catalog_find_model (QrCatalog *self, const char *name, GError **error)
{
  QrRows rows;
  gint64 id = -1;

  if (!qr_rows_start (&rows, self, "SELECT id FROM models WHERE name = ?1", QR_ARGS (QR_TEXT (name)),
                      "finding a model", error))
    return -1;
  if (qr_rows_next (&rows))
    id = sqlite3_column_int64 (rows.stmt, 0);
  else if (rows.rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no model named '%s' in this collection", name);
  qr_rows_end (&rows, error);
  return id;
}

gboolean
qr_catalog_remove_model (QrCatalog *self, const char *name, GError **error)
{
  if (!qr_catalog_run (self, "DELETE FROM models WHERE name = ?1", QR_ARGS (QR_TEXT (name)), error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no model named '%s' in this collection", name);
      return FALSE;
    }
  return TRUE;
}

/* Runs */

gint64
qr_catalog_start_run (QrCatalog   *self,
                      gint64       model_id,
                      const char  *params_json,
                      GError     **error)
{
  return qr_catalog_insert (self, "INSERT INTO runs (model_id, params, started_us) VALUES (?1, ?2, ?3) RETURNING id",
                            QR_ARGS (QR_INT (model_id), QR_TEXT (params_json), QR_INT (g_get_real_time ())),
                            "starting a run", error);
}

gboolean
qr_catalog_finish_run (QrCatalog   *self,
                       gint64       run_id,
                       const char  *state,
                       GError     **error)
{
  return qr_catalog_run (self, "UPDATE runs SET state = ?2, finished_us = ?3 WHERE id = ?1",
                         QR_ARGS (QR_INT (run_id), QR_TEXT (state), QR_INT (g_get_real_time ())), error);
}

/* The first column of the query's first row as an id; -1 (no error) when there is no row. */
static gint64
optional_id (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, GError **error)
{
  QrRows rows;
  gint64 id = -1;

  if (!qr_rows_start (&rows, self, sql, args, what, error))
    return -1;
  if (qr_rows_next (&rows))
    id = sqlite3_column_int64 (rows.stmt, 0);
  return qr_rows_end (&rows, error) ? id : -1;
}

gint64
qr_catalog_find_resumable_run (QrCatalog *self, gint64 model_id, const char *params_json, GError **error)
{
  gint64 id = optional_id (self, "SELECT id FROM runs WHERE model_id = ?1 AND params IS ?2 AND state != 'failed'"
                                 " ORDER BY id DESC LIMIT 1",
                           QR_ARGS (QR_INT (model_id), QR_TEXT (params_json)), "finding a run", error);

  /* a run being resumed is running again */
  if (id > 0 && !qr_catalog_run (self, "UPDATE runs SET state = 'running', finished_us = NULL WHERE id = ?1",
                                 QR_ARGS (QR_INT (id)), error))
    return -1;
  return id;
}

gint64
qr_catalog_latest_run (QrCatalog *self, gint64 model_id, GError **error)
{
  return optional_id (self, "SELECT id FROM runs WHERE model_id = ?1 AND state != 'failed' ORDER BY id DESC LIMIT 1",
                      QR_ARGS (QR_INT (model_id)), "finding a run", error);
}

char *
qr_catalog_get_run_params (QrCatalog *self, gint64 run_id, GError **error)
{
  QrRows rows;
  char *params = NULL;

  if (!qr_rows_start (&rows, self, "SELECT params FROM runs WHERE id = ?1", QR_ARGS (QR_INT (run_id)),
                      "reading a run", error))
    return NULL;
  if (qr_rows_next (&rows))
    params = qr_rows_text (&rows, 0);
  qr_rows_end (&rows, error);
  return params;
}

GPtrArray *
qr_catalog_list_images_to_run (QrCatalog *self, gint64 run_id, GError **error)
{
  return qr_catalog_list_image_rows (self, "SELECT " QR_IMAGE_COLUMNS " FROM images WHERE state = 'ok' AND id NOT IN"
                                           " (SELECT image_id FROM run_images WHERE run_id = ?1) ORDER BY path",
                                     QR_ARGS (QR_INT (run_id)), "listing images to run", error);
}

gboolean
qr_catalog_mark_run_image (QrCatalog *self, gint64 run_id, gint64 image_id, GError **error)
{
  return qr_catalog_run (self, "INSERT OR IGNORE INTO run_images (run_id, image_id) VALUES (?1, ?2)",
                         QR_ARGS (QR_INT (run_id), QR_INT (image_id)), error);
}

/* Detections */

gint64
qr_catalog_add_detection (QrCatalog   *self,
                          gint64       run_id,
                          gint64       image_id,
                          gint64       class_id,
                          double       score,
                          const QrBox *box,
                          GError     **error)
{
  if (!qr_catalog_check_box (box, error))
    return -1;
  return qr_catalog_insert (self, "INSERT INTO detections (run_id, image_id, class_id, score, x1, y1, x2, y2)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                            QR_ARGS (QR_INT (run_id), QR_INT (image_id), QR_INT (class_id), QR_REAL (score),
                                     QR_BOX (box)), "adding a detection", error);
}

GArray *
qr_catalog_list_detections (QrCatalog *self, gint64 run_id, GError **error)
{
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (QrDetectionRecord));
  QrRows rows;

  if (!qr_rows_start (&rows, self, "SELECT id, image_id, class_id, score, x1, y1, x2, y2 FROM detections"
                                   " WHERE run_id = ?1 ORDER BY image_id, id",
                      QR_ARGS (QR_INT (run_id)), "listing detections", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrDetectionRecord d;
      d.id = sqlite3_column_int64 (rows.stmt, 0);
      d.image_id = sqlite3_column_int64 (rows.stmt, 1);
      d.class_id = sqlite3_column_int64 (rows.stmt, 2);
      d.score = (float) sqlite3_column_double (rows.stmt, 3);
      qr_rows_box (&rows, 4, &d.box);
      g_array_append_val (out, d);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&out) : NULL;
}

gboolean
qr_catalog_get_detection (QrCatalog *self, gint64 detection_id, gint64 *image_id, gint64 *class_id, QrBox *box,
                          GError **error)
{
  QrRows rows;
  gboolean found;

  if (!qr_rows_start (&rows, self, "SELECT image_id, class_id, x1, y1, x2, y2 FROM detections WHERE id = ?1",
                      QR_ARGS (QR_INT (detection_id)), "reading a detection", error))
    return FALSE;
  found = qr_rows_next (&rows);
  if (found)
    {
      *image_id = sqlite3_column_int64 (rows.stmt, 0);
      *class_id = sqlite3_column_int64 (rows.stmt, 1);
      qr_rows_box (&rows, 2, box);
    }
  else if (rows.rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no detection with id %" G_GINT64_FORMAT,
                 detection_id);
  qr_rows_end (&rows, error);
  return found;
}

/* What the viewer draws */

void
qr_overlay_box_free (QrOverlayBox *box)
{
  if (box == NULL)
    return;
  g_free (box->class_name);
  g_free (box->source);
  g_free (box);
}

GPtrArray *
qr_catalog_list_overlays (QrCatalog *self, gint64 image_id, GError **error)
{
  g_autoptr (GPtrArray) boxes = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_overlay_box_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "SELECT l.id, c.name, 'label', 1.0, l.x1, l.y1, l.x2, l.y2, 1 FROM labels l"
                      " JOIN classes c ON c.id = l.class_id WHERE l.image_id = ?1 AND l.deleted_us IS NULL"
                      " UNION ALL "
                      "SELECT d.id, c.name, m.name, d.score, d.x1, d.y1, d.x2, d.y2, 0 FROM detections d"
                      " JOIN classes c ON c.id = d.class_id JOIN runs r ON r.id = d.run_id"
                      " JOIN models m ON m.id = r.model_id"
                      " WHERE d.image_id = ?1 AND r.id = (SELECT max (r2.id) FROM runs r2"
                      "   WHERE r2.model_id = m.id AND r2.state != 'failed')"
                      /* an accepted box is drawn once, as its label */
                      " AND NOT EXISTS (SELECT 1 FROM labels l2 WHERE l2.detection_id = d.id"
                      "   AND l2.deleted_us IS NULL)"
                      /* a box rejected in the viewer (R/X) is not drawn again */
                      " AND NOT EXISTS (SELECT 1 FROM rejections x WHERE x.detection_id = d.id)"
                      " ORDER BY 9 DESC, 3, 4 DESC",
                      QR_ARGS (QR_INT (image_id)), "listing an image's boxes", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrOverlayBox *b = g_new0 (QrOverlayBox, 1);
      b->id = sqlite3_column_int64 (rows.stmt, 0);
      b->class_name = qr_rows_text (&rows, 1);
      b->source = qr_rows_text (&rows, 2);
      b->score = (float) sqlite3_column_double (rows.stmt, 3);
      qr_rows_box (&rows, 4, &b->box);
      b->is_label = sqlite3_column_int (rows.stmt, 8) != 0;
      g_ptr_array_add (boxes, b);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&boxes) : NULL;
}
