/* merge.c: a shard's catalog (a sharded run's: `peers run --shard K/N`) brought into the
 * collection's, in one transaction per shard. The shard is attached read-only in SQL and its rows
 * copied across by name and path (ids differ between catalogs): images the collection lacks,
 * classes, models, and each model's runs — every shard's run of one model with the same parameters
 * becomes one run of the collection's, so that the review queue, which reads each model's newest
 * run, sees every image as after a single machine's run. merged_runs remembers which shard runs
 * (and shard files) went into which run and how far: merging again adds only what a shard did
 * since (nothing, if it did nothing); a new run in a shard file already merged starts a new run
 * here (the peers run again). */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

#include <glib/gstdio.h>
#include <string.h>

/* One statement over the main and the attached catalog, run to its end; the first column of its
 * first row into *first when asked. Not cached: the shard's schema comes and goes. */
static gboolean
merge_sql (QrCatalog *self, const char *sql, const QrSqlArg *args, gint64 *first, gint64 *changes,
           const char *what, GError **error)
{
  sqlite3_stmt *stmt;
  int rc, i = 0;

  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return qr_catalog_sql_error (self, error, what);
  for (const QrSqlArg *a = args; a != NULL && a->type != QR_ARG_END; a++)
    {
      i++;
      if (a->type == QR_ARG_INT)
        sqlite3_bind_int64 (stmt, i, a->v.i);
      else if (a->type == QR_ARG_TEXT && a->v.t != NULL)
        sqlite3_bind_text (stmt, i, a->v.t, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, i);
    }
  if (first != NULL)
    *first = -1;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    if (first != NULL && *first < 0)
      *first = sqlite3_column_type (stmt, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return qr_catalog_sql_error (self, error, what);
  if (changes != NULL)
    *changes = sqlite3_changes64 (self->db);
  return TRUE;
}

/* The shard checked on a connection of its own before anything is attached: a catalog, whole,
 * of a schema this Quorum reads. */
static gboolean
check_shard (QrCatalog *self, const char *path, GError **error)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autofree char *problem = NULL;
  int version = -1;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: no such shard catalog", path);
      return FALSE;
    }
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    problem = g_strdup (db ? sqlite3_errmsg (db) : "cannot be opened");
  else if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL) != SQLITE_OK
           || sqlite3_step (stmt) != SQLITE_ROW)
    problem = g_strdup (sqlite3_errmsg (db));
  else if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    problem = g_strdup_printf ("damaged (%s)", (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  stmt = NULL;
  if (problem == NULL)
    {
      if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
        version = sqlite3_column_int (stmt, 0);
      sqlite3_finalize (stmt);
      if (version > QR_CATALOG_SCHEMA_VERSION)
        problem = g_strdup_printf ("written by a newer Quorum (schema %d; this one reads %d and older)", version,
                                   QR_CATALOG_SCHEMA_VERSION);
      else if (version < 5)
        problem = g_strdup_printf ("not a Quorum catalog of schema 5 or newer (schema %d)", version);
    }
  sqlite3_close (db);
  if (problem != NULL)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: not a shard catalog Quorum can merge: %s", path,
                   problem);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  gint64  id;
  char   *model;
  char   *params;
  char   *state;
  gint64  started_us, finished_us;
} ShardRun;

static void
shard_run_free (ShardRun *run)
{
  g_free (run->model);
  g_free (run->params);
  g_free (run->state);
  g_free (run);
}

static GPtrArray *
list_shard_runs (QrCatalog *self, GError **error)
{
  g_autoptr (GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) shard_run_free);
  sqlite3_stmt *stmt;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT r.id, m.name, r.params, r.state, r.started_us, r.finished_us "
                          "FROM shard.runs r JOIN shard.models m ON m.id = r.model_id ORDER BY r.id", -1, &stmt,
                          NULL) != SQLITE_OK)
    return qr_catalog_sql_error (self, error, "reading the shard's runs"), NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ShardRun *run = g_new0 (ShardRun, 1);
      run->id = sqlite3_column_int64 (stmt, 0);
      run->model = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      run->params = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      run->state = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      run->started_us = sqlite3_column_int64 (stmt, 4);
      run->finished_us = sqlite3_column_type (stmt, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64 (stmt, 5);
      g_ptr_array_add (runs, run);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return qr_catalog_sql_error (self, error, "reading the shard's runs"), NULL;
  return g_steal_pointer (&runs);
}

/* The refusals, read before anything is written: an image of the same path with other bytes (a
 * shard of another collection, or a file changed since), a model of the same name that is another
 * model. */
static gboolean
check_agrees (QrCatalog *self, const char *path, GError **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *what = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT s.path FROM shard.images s JOIN main.images m ON m.path = s.path "
                          "WHERE s.hash IS NOT NULL AND m.hash IS NOT NULL AND s.hash != m.hash LIMIT 1", -1, &stmt,
                          NULL) != SQLITE_OK)
    return qr_catalog_sql_error (self, error, "comparing the shard's images");
  if (sqlite3_step (stmt) == SQLITE_ROW)
    what = g_strdup_printf ("its image %s has other bytes than the collection's (a shard of another collection, or "
                            "the file changed since the shard ran)", (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  if (what == NULL)
    {
      if (sqlite3_prepare_v2 (self->db, "SELECT s.name, s.kind, m.kind, s.location, m.location FROM shard.models s "
                              "JOIN main.models m ON m.name = s.name WHERE s.kind != m.kind OR "
                              "(s.location IS NOT NULL AND m.location IS NOT NULL AND s.location != m.location) LIMIT 1",
                              -1, &stmt, NULL) != SQLITE_OK)
        return qr_catalog_sql_error (self, error, "comparing the shard's models");
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          const char *theirs = (const char *) sqlite3_column_text (stmt, 3), *ours = (const char *) sqlite3_column_text (stmt, 4);
          what = g_strdup_printf ("its model %s is a %s model%s%s, the collection's a %s model%s%s (another model of "
                                  "the same name)", (const char *) sqlite3_column_text (stmt, 0),
                                  (const char *) sqlite3_column_text (stmt, 1), theirs ? " at " : "", theirs ? theirs : "",
                                  (const char *) sqlite3_column_text (stmt, 2), ours ? " at " : "", ours ? ours : "");
        }
      sqlite3_finalize (stmt);
    }
  if (what != NULL)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_CONFLICT, "%s: not merged: %s", path, what);
      return FALSE;
    }
  return TRUE;
}

/* One shard run into the collection's run for its model and parameters: the run it went into
 * before (a resumed shard run), else the newest such run — unless that one already holds another
 * run of the same shard file, which makes this a new generation (the peers run again over the
 * collection): a new run then, so that the newest run of the model is the new generation's. */
static gboolean
merge_run (QrCatalog *self, const char *shard, const ShardRun *run, QrMergeStats *stats, GError **error)
{
  g_autofree char *group = g_strdup_printf ("%s\n%s", run->model, run->params ? run->params : "");
  g_autofree char *source = g_strdup_printf ("%s\n%" G_GINT64_FORMAT, group, run->started_us);
  gint64 run_id = -1, added = 0, images = 0, same_shard = 0;

  if (!merge_sql (self, "SELECT m.run_id FROM main.merged_runs m JOIN main.runs r ON r.id = m.run_id "
                  "WHERE m.source = ?1", QR_ARGS (QR_TEXT (source)), &run_id, NULL, "finding the merged run", error))
    return FALSE;
  if (run_id < 0)
    {
      if (!merge_sql (self, "SELECT max (m.run_id) FROM main.merged_runs m JOIN main.runs r ON r.id = m.run_id "
                      "WHERE m.grouping = ?1", QR_ARGS (QR_TEXT (group)), &run_id, NULL, "finding the merged run",
                      error))
        return FALSE;
      if (run_id >= 0
          && !merge_sql (self, "SELECT count (*) FROM main.merged_runs WHERE run_id = ?1 AND shard = ?2",
                         QR_ARGS (QR_INT (run_id), QR_TEXT (shard)), &same_shard, NULL, "finding the merged run", error))
        return FALSE;
      if (same_shard > 0)
        run_id = -1;
    }
  if (run_id < 0)
    {
      if (!merge_sql (self, "INSERT INTO main.runs (model_id, params, state, started_us, finished_us) "
                      "VALUES ((SELECT id FROM main.models WHERE name = ?1), ?2, ?3, ?4, ?5)",
                      QR_ARGS (QR_TEXT (run->model), QR_TEXT (run->params), QR_TEXT (run->state),
                               QR_INT (run->started_us), run->finished_us > 0 ? QR_INT (run->finished_us) : QR_NULL),
                      NULL, NULL, "adding a run", error))
        return FALSE;
      run_id = sqlite3_last_insert_rowid (self->db);
      stats->runs_added++;
    }
  /* the shard's finished images the merged run lacks: their boxes, then the images */
  if (!merge_sql (self,
                  "INSERT INTO main.detections (run_id, image_id, class_id, score, x1, y1, x2, y2) "
                  "SELECT ?1, mi.id, mc.id, d.score, d.x1, d.y1, d.x2, d.y2 FROM shard.detections d "
                  "JOIN shard.images si ON si.id = d.image_id JOIN main.images mi ON mi.path = si.path "
                  "JOIN shard.classes sc ON sc.id = d.class_id JOIN main.classes mc ON mc.name = sc.name "
                  "WHERE d.run_id = ?2 "
                  "AND EXISTS (SELECT 1 FROM shard.run_images sr WHERE sr.run_id = ?2 AND sr.image_id = d.image_id) "
                  "AND NOT EXISTS (SELECT 1 FROM main.run_images x WHERE x.run_id = ?1 AND x.image_id = mi.id) "
                  "ORDER BY d.id",
                  QR_ARGS (QR_INT (run_id), QR_INT (run->id)), NULL, &added, "copying the shard's boxes", error)
      || !merge_sql (self,
                     "INSERT INTO main.run_images (run_id, image_id) SELECT ?1, mi.id FROM shard.run_images sr "
                     "JOIN shard.images si ON si.id = sr.image_id JOIN main.images mi ON mi.path = si.path "
                     "WHERE sr.run_id = ?2 "
                     "AND NOT EXISTS (SELECT 1 FROM main.run_images x WHERE x.run_id = ?1 AND x.image_id = mi.id)",
                     QR_ARGS (QR_INT (run_id), QR_INT (run->id)), NULL, &images, "copying the shard's images done",
                     error))
    return FALSE;
  stats->detections_added += added;
  stats->run_images_added += images;
  /* this shard run's state, then the merged run's: done when every shard run in it is */
  if (!merge_sql (self, "INSERT INTO main.merged_runs (source, grouping, shard, run_id, state) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source) DO UPDATE SET state = excluded.state, "
                  "run_id = excluded.run_id",
                  QR_ARGS (QR_TEXT (source), QR_TEXT (group), QR_TEXT (shard), QR_INT (run_id), QR_TEXT (run->state)),
                  NULL, NULL, "remembering the shard's run", error)
      || !merge_sql (self, "UPDATE main.runs SET "
                     "state = CASE WHEN (SELECT count (*) FROM main.merged_runs WHERE run_id = ?1 AND state != 'done') = 0 "
                     "THEN 'done' ELSE 'cancelled' END, "
                     "started_us = min (started_us, ?2), finished_us = max (coalesce (finished_us, 0), ?3) WHERE id = ?1",
                     QR_ARGS (QR_INT (run_id), QR_INT (run->started_us), QR_INT (run->finished_us)), NULL, NULL,
                     "updating the merged run", error))
    return FALSE;
  return TRUE;
}

gboolean
qr_catalog_merge_shard (QrCatalog *self, const char *path, QrMergeStats *stats, GError **error)
{
  g_autoptr (GPtrArray) runs = NULL;
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  gboolean ok = FALSE;
  gint64 n;

  memset (stats, 0, sizeof *stats);
  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  if (self->read_only)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_READ_ONLY, "%s: the catalog is read-only, so merging is not "
                   "possible here", self->db_path);
      return FALSE;
    }
  if (g_strcmp0 (absolute, self->db_path) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_CONFLICT, "%s: is the collection's own catalog", path);
      return FALSE;
    }
  if (!check_shard (self, path, error))
    return FALSE;
  if (!merge_sql (self, "ATTACH DATABASE ?1 AS shard", QR_ARGS (QR_TEXT (absolute)), NULL, NULL, "opening the shard",
                  error))
    return FALSE;
  if (!check_agrees (self, path, error) || !qr_catalog_begin (self, error))
    goto detach;
  if (!merge_sql (self, "INSERT INTO main.images (path, size, mtime_us, width, height, orientation, format, hash, state, "
                  "reason, added_us, updated_us) SELECT path, size, mtime_us, width, height, orientation, format, hash, "
                  "state, reason, added_us, updated_us FROM shard.images s "
                  "WHERE NOT EXISTS (SELECT 1 FROM main.images m WHERE m.path = s.path) ORDER BY s.path",
                  NULL, NULL, &n, "adding the shard's images", error))
    goto rollback;
  stats->images_added = n;
  if (!merge_sql (self, "INSERT OR IGNORE INTO main.classes (name) SELECT name FROM shard.classes ORDER BY id", NULL, NULL,
                  NULL, "adding the shard's classes", error)
      || !merge_sql (self, "INSERT INTO main.models (name, kind, location, enabled, added_us, held_out_fold, n_folds, "
                     "fold_seed) SELECT name, kind, location, enabled, added_us, held_out_fold, n_folds, fold_seed "
                     "FROM shard.models s WHERE NOT EXISTS (SELECT 1 FROM main.models m WHERE m.name = s.name) "
                     "ORDER BY s.id", NULL, NULL, &n, "adding the shard's models", error))
    goto rollback;
  stats->models_added = n;
  if ((runs = list_shard_runs (self, error)) == NULL)
    goto rollback;
  for (guint i = 0; i < runs->len; i++)
    if (!merge_run (self, absolute, runs->pdata[i], stats, error))
      goto rollback;
  if (!qr_catalog_commit (self, error))
    goto rollback;
  ok = TRUE;
  goto detach;
rollback:
  qr_catalog_rollback (self);
detach:
  merge_sql (self, "DETACH DATABASE shard", NULL, NULL, NULL, "closing the shard", NULL);
  return ok;
}
