/* test-catalog.c: the catalog's schema, migrations, default location and constraints. */
#include "qr-catalog.h"
#include "qr-history.h"
#include "qr-review.h"
#include "qr-dataset.h"
#include "test-util.h"

#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;      /* a collection folder */
  char *db;       /* its catalog, outside the folder */
  char *tmp;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "images", NULL);
  f->db = g_build_filename (f->tmp, "catalog.sqlite", NULL);
  g_mkdir (f->dir, 0700);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
  g_free (f->db);
}

static gint64
query_int (const char *db_path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
exec_sql (const char *db_path, const char *sql)
{
  sqlite3 *db;
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_schema_fresh (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  const char *tables[] = { "images", "classes", "models", "runs", "run_images", "detections", "labels",
                           "review", "thumbnails", "collection", "captions", "mistakes", "decisions",
                           "rejections" };
  QrCatalogStats stats;

  g_assert_no_error (error);
  g_assert_cmpint (qr_catalog_get_schema_version (catalog), ==, QR_CATALOG_SCHEMA_VERSION);
  g_assert_cmpint (query_int (f->db, "PRAGMA user_version"), ==, QR_CATALOG_SCHEMA_VERSION);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM sqlite_schema WHERE name = '%s'",
                                              tables[i]);
      g_assert_cmpint (query_int (f->db, sql), ==, 1);
    }
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.images, ==, 0);
  g_assert_true (qr_catalog_check_integrity (catalog, &error));
  /* WAL mode persists in the file. */
  {
    sqlite3 *db;
    sqlite3_stmt *stmt;
    sqlite3_open (f->db, &db);
    sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }
  /* The collection folder itself is untouched. */
  {
    g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
    g_assert_null (g_dir_read_name (d));
  }
}

static void
test_reopen_keeps_data (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  g_autoptr (QrImageRecord) again = NULL;

  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_assert_no_error (error);
    record->path = g_strdup ("a/b.jpg");
    record->size = 1234;
    record->mtime_us = 42;
    record->width = 640;
    record->height = 480;
    record->orientation = 6;
    record->format = g_strdup ("jpeg");
    record->hash = g_strdup ("abc");
    g_assert_true (qr_catalog_put_image (catalog, record, &error));
    g_assert_cmpint (record->id, >, 0);
  }
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_assert_no_error (error);
    again = qr_catalog_find_image (catalog, "a/b.jpg", &error);
    g_assert_no_error (error);
    g_assert_cmpint (again->id, ==, record->id);
    g_assert_cmpint (again->orientation, ==, 6);
    g_assert_cmpint (again->width, ==, 640);
    g_assert_cmpstr (again->hash, ==, "abc");
    g_assert_cmpint (again->state, ==, QR_IMAGE_STATE_OK);
    /* Upsert by path keeps the id. */
    record->size = 99;
    g_assert_true (qr_catalog_put_image (catalog, record, &error));
    g_assert_cmpint (record->id, ==, again->id);
  }
  g_assert_cmpint (query_int (f->db, "SELECT size FROM images"), ==, 99);
}

static void
test_newer_schema_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;

  g_clear_object (&catalog);
  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_no_error (error);
  g_clear_object (&catalog);
  exec_sql (f->db, "PRAGMA user_version = 99");
  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_null (catalog);
  g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, f->db));
  /* Nothing was changed: still version 99. */
  g_assert_cmpint (query_int (f->db, "PRAGMA user_version"), ==, 99);
}

static void
test_migration_from_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;

  /* An SQLite file at version 0 (made by sqlite3 itself) is migrated forward. */
  exec_sql (f->db, "CREATE TABLE scratch (x); INSERT INTO scratch VALUES (1);");
  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (f->db, "PRAGMA user_version"), ==, QR_CATALOG_SCHEMA_VERSION);
  g_assert_cmpint (query_int (f->db, "SELECT x FROM scratch"), ==, 1);
}

static void
test_migration_v1_to_v2 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  QrBox box = { 1, 2, 3, 4 };
  gint64 cls;

  record->path = g_strdup ("a.jpg");
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  cls = qr_catalog_ensure_class (catalog, "cat", &error);
  g_assert_cmpint (qr_catalog_add_label (catalog, record->id, cls, &box, QR_LABEL_SOURCE_DRAWN, NULL, &error),
                   >, 0);
  g_clear_object (&catalog);

  /* Turn the file back into what schema 1 wrote, with its label. */
  exec_sql (f->db, "DROP TABLE merged_runs; DROP TABLE imports; DROP TABLE image_embeddings; DROP TABLE text_models; DROP TABLE image_features;"
                   "ALTER TABLE models DROP COLUMN held_out_fold; ALTER TABLE models DROP COLUMN n_folds;"
                   "ALTER TABLE models DROP COLUMN fold_seed;"
                   "DROP TABLE rejections; DROP TABLE mistakes; DROP TABLE decisions;"
                   "DROP TABLE captions; DROP INDEX labels_image; ALTER TABLE labels DROP COLUMN iscrowd;"
                   "CREATE INDEX labels_image ON labels (image_id) WHERE deleted_us IS NULL;"
                   "PRAGMA user_version = 1;");
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'captions'"), ==, 0);

  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (f->db, "PRAGMA user_version"), ==, QR_CATALOG_SCHEMA_VERSION);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM labels WHERE iscrowd = 0"), ==, 1);
  g_assert_cmpint (qr_catalog_add_caption (catalog, record->id, "a cat on a mat", "test", &error), >, 0);
  g_assert_no_error (error);
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;

  test_write_bytes (f->db, "this is not an SQLite file, just some text that is long enough", 63);
  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_null (catalog);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, f->db));
  g_clear_error (&error);
  catalog = qr_catalog_open ("/no/such/folder", f->db, &error);
  g_assert_null (catalog);
}

static void
test_default_path (Fixture *f, gconstpointer data)
{
  g_autofree char *data_home = g_build_filename (f->tmp, "xdg", NULL);
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;

  /* g_get_user_data_dir() is read once per process, so this test runs in a subprocess. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  path = qr_catalog_default_path (f->dir);
  g_assert_true (g_str_has_prefix (path, data_home));
  g_assert_true (g_str_has_suffix (path, ".sqlite"));
  g_assert_nonnull (strstr (path, "/quorum/collections/images-"));
  /* Keyed by the absolute path: the same folder spelled differently maps to the same file. */
  {
    g_autofree char *spelled = g_build_filename (f->dir, "..", "images", NULL);
    other = qr_catalog_default_path (spelled);
  }
  g_assert_cmpstr (path, ==, other);
  catalog = qr_catalog_open (f->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qr_catalog_get_db_path (catalog), ==, path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}

static void
test_constraints (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  QrBox box = { 10, 20, 110, 220 };
  QrBox bad = { 50, 20, 10, 220 };
  gint64 cls, model, run, det, label;
  QrCatalogStats stats;

  record->path = g_strdup ("x.png");
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  cls = qr_catalog_ensure_class (catalog, "dog", &error);
  g_assert_cmpint (cls, >, 0);
  g_assert_cmpint (qr_catalog_ensure_class (catalog, "dog", &error), ==, cls);
  g_assert_cmpint (qr_catalog_ensure_class (catalog, "", &error), ==, -1);
  g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID);
  g_clear_error (&error);

  model = qr_catalog_add_model (catalog, "centernet", "tfjs", "/models/centernet.json", &error);
  run = qr_catalog_start_run (catalog, model, "{}", &error);
  det = qr_catalog_add_detection (catalog, run, record->id, cls, 0.9, &box, &error);
  g_assert_no_error (error);
  g_assert_cmpint (det, >, 0);
  g_assert_true (qr_catalog_finish_run (catalog, run, "done", &error));

  /* Foreign keys are enforced: no detection of an image that does not exist. */
  g_assert_cmpint (qr_catalog_add_detection (catalog, run, 9999, cls, 0.5, &box, &error), ==, -1);
  g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL);
  g_clear_error (&error);
  /* Boxes with negative size are refused. */
  g_assert_cmpint (qr_catalog_add_label (catalog, record->id, cls, &bad, QR_LABEL_SOURCE_DRAWN, NULL,
                                         &error), ==, -1);
  g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID);
  g_clear_error (&error);

  label = qr_catalog_add_label (catalog, record->id, cls, &box, QR_LABEL_SOURCE_ACCEPTED,
                                "run 1 detection 1", &error);
  g_assert_cmpint (label, >, 0);
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 1);
  /* Deleting is soft: the row stays with its provenance, for undo and retraining. */
  g_assert_true (qr_catalog_delete_label (catalog, label, &error));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 0);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM labels WHERE deleted_us IS NOT NULL"), ==, 1);
  g_assert_false (qr_catalog_delete_label (catalog, label, &error));
  g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (qr_catalog_set_reviewed (catalog, record->id, "reviewed", &error));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.reviewed, ==, 1);
  g_assert_cmpint (stats.detections, ==, 1);
  g_assert_cmpint (stats.models, ==, 1);
  g_assert_cmpint (stats.runs, ==, 1);
}

static void
test_transaction_rollback (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  QrCatalogStats stats;

  g_assert_true (qr_catalog_begin (catalog, &error));
  for (int i = 0; i < 10; i++)
    {
      g_autoptr (QrImageRecord) r = qr_image_record_new ();
      r->path = g_strdup_printf ("%d.jpg", i);
      g_assert_true (qr_catalog_put_image (catalog, r, &error));
    }
  qr_catalog_rollback (catalog);
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.images, ==, 0);
}

static void
test_history (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrHistory) history = qr_history_new (catalog);
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  QrBox box = { 10, 10, 50, 50 }, moved = { 20, 20, 60, 60 }, got;
  gint64 dog, cat, label, model, run, det, accepted, class_id;
  QrCatalogStats stats;

  record->path = g_strdup ("a.jpg");
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  cat = qr_catalog_ensure_class (catalog, "cat", &error);

  /* draw, move and relabel, delete: each in the catalog at once */
  label = qr_history_add_label (history, record->id, dog, &box, QR_LABEL_SOURCE_DRAWN, "test", &error);
  g_assert_cmpint (label, >, 0);
  g_assert_true (qr_history_update_label (history, label, cat, &moved, &error));
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, cat);
  g_assert_cmpfloat (got.x1, ==, 20);
  g_assert_true (qr_history_delete_label (history, label, &error));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 0);

  /* undo all three, in reverse */
  g_assert_true (qr_history_undo (history, &error));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 1);
  g_assert_true (qr_history_undo (history, &error));
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, dog);
  g_assert_cmpfloat (got.x1, ==, 10);
  g_assert_true (qr_history_undo (history, &error));
  g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
  g_assert_cmpint (stats.labels, ==, 0);
  g_assert_false (qr_history_can_undo (history));

  /* redo twice: drawn again, then moved and relabelled */
  g_assert_true (qr_history_redo (history, &error));
  g_assert_true (qr_history_redo (history, &error));
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, cat);
  g_assert_true (qr_history_can_redo (history));
  /* a new edit drops the redo stack */
  model = qr_catalog_add_model (catalog, "centernet", "tfjs", NULL, &error);
  run = qr_catalog_start_run (catalog, model, "{}", &error);
  det = qr_catalog_add_detection (catalog, run, record->id, dog, 0.9, &box, &error);
  accepted = qr_history_accept_detection (history, det, &error);
  g_assert_no_error (error);
  g_assert_cmpint (accepted, >, 0);
  g_assert_false (qr_history_can_redo (history));
  {
    g_autoptr (GPtrArray) corrected = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_CORRECTED, &error);
    g_assert_cmpuint (corrected->len, ==, 2); /* a drawn label and an accepted one */
  }
}

static void
test_views (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  const char *names[] = { "b.jpg", "a.jpg", "c.jpg", "broken.jpg" };
  gint64 ids[4], counts[QR_VIEW_N_COUNTS], dog, cat;
  QrBox box = { 1, 1, 5, 5 };
  g_autoptr (GArray) all = NULL, unlabeled = NULL, labeled = NULL, bad = NULL, dogs = NULL, newest = NULL;
  g_autoptr (GArray) class_ids = NULL, class_labelled = NULL, class_predicted = NULL;
  g_autoptr (GPtrArray) class_names = NULL;
  gint64 model;

  for (int i = 0; i < 4; i++)
    {
      g_autoptr (QrImageRecord) r = qr_image_record_new ();
      r->path = g_strdup (names[i]);
      r->mtime_us = 100 * (i + 1);
      r->state = i == 3 ? QR_IMAGE_STATE_UNREADABLE : QR_IMAGE_STATE_OK;
      g_assert_true (qr_catalog_put_image (catalog, r, &error));
      ids[i] = r->id;
    }
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  cat = qr_catalog_ensure_class (catalog, "cat", &error);
  g_assert_cmpint (qr_catalog_add_label (catalog, ids[0], dog, &box, QR_LABEL_SOURCE_DRAWN, NULL, &error), >, 0);
  model = qr_catalog_add_model (catalog, "m", "tfjs", NULL, &error);
  {
    gint64 run = qr_catalog_start_run (catalog, model, "{}", &error);
    g_assert_cmpint (qr_catalog_add_detection (catalog, run, ids[2], dog, 0.5, &box, &error), >, 0);
    g_assert_cmpint (qr_catalog_add_detection (catalog, run, ids[2], cat, 0.5, &box, &error), >, 0);
  }
  all = qr_catalog_list_view (catalog, QR_VIEW_ALL, 0, QR_SORT_NAME, &error);
  unlabeled = qr_catalog_list_view (catalog, QR_VIEW_UNLABELED, 0, QR_SORT_NAME, &error);
  labeled = qr_catalog_list_view (catalog, QR_VIEW_LABELED, 0, QR_SORT_NAME, &error);
  bad = qr_catalog_list_view (catalog, QR_VIEW_UNREADABLE, 0, QR_SORT_NAME, &error);
  dogs = qr_catalog_list_view (catalog, QR_VIEW_CLASS, dog, QR_SORT_NAME, &error);
  newest = qr_catalog_list_view (catalog, QR_VIEW_ALL, 0, QR_SORT_NEWEST, &error);
  g_assert_no_error (error);
  /* by name, unreadable last: a, b, c, broken */
  g_assert_cmpuint (all->len, ==, 4);
  g_assert_cmpint (g_array_index (all, gint64, 0), ==, ids[1]);
  g_assert_cmpint (g_array_index (all, gint64, 3), ==, ids[3]);
  g_assert_cmpuint (unlabeled->len, ==, 2);
  g_assert_cmpuint (labeled->len, ==, 1);
  g_assert_cmpuint (bad->len, ==, 1);
  g_assert_cmpuint (dogs->len, ==, 2);  /* a label on b, a detection on c */
  g_assert_cmpint (g_array_index (newest, gint64, 0), ==, ids[2]);
  g_assert_true (qr_catalog_count_views (catalog, 0.0, counts, &error));
  /* disagreement: c has model boxes and no label; b's dog label has no model box to confirm it */
  g_assert_cmpint (counts[5], ==, 1);
  g_assert_cmpint (counts[6], ==, 1);
  {
    g_autoptr (GArray) predicted = qr_catalog_list_view_scored (catalog, QR_VIEW_PREDICTED_UNLABELED, 0, QR_SORT_NAME,
                                                                 0.3, &error);
    g_autoptr (GArray) unconfirmed = qr_catalog_list_view_scored (catalog, QR_VIEW_UNCONFIRMED, 0, QR_SORT_NAME,
                                                                   0.3, &error);
    g_autoptr (GArray) none = qr_catalog_list_view_scored (catalog, QR_VIEW_PREDICTED_UNLABELED, 0, QR_SORT_NAME,
                                                            0.6, &error);
    g_assert_cmpuint (predicted->len, ==, 1);
    g_assert_cmpint (g_array_index (predicted, gint64, 0), ==, ids[2]);
    g_assert_cmpuint (unconfirmed->len, ==, 1);
    g_assert_cmpint (g_array_index (unconfirmed, gint64, 0), ==, ids[0]);
    g_assert_cmpuint (none->len, ==, 0);   /* c's boxes are 0.5: under a Min Score of 0.6 */
  }
  g_assert_cmpint (counts[0], ==, 4);
  g_assert_cmpint (counts[1], ==, 2);
  g_assert_cmpint (counts[2], ==, 1);
  g_assert_cmpint (counts[3], ==, 1);
  /* dog: labelled on b, predicted on c (2 images in all, as the sidebar's row counts them) */
  g_assert_true (qr_catalog_class_counts (catalog, 0.0, &class_ids, &class_names, &class_labelled, &class_predicted,
                                          &error));
  g_assert_cmpstr (class_names->pdata[0], ==, "dog");
  g_assert_cmpint (g_array_index (class_labelled, gint64, 0), ==, 1);
  g_assert_cmpint (g_array_index (class_predicted, gint64, 0), ==, 1);

  /* Badge counts: live labels, and boxes from each model's newest run only, at or above the
     Min Score given. */
  {
    QrImageCounts c;

    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[0], 0.0, &c, &error));
    g_assert_cmpint (c.labels, ==, 1);
    g_assert_cmpint (c.detections, ==, 0);
    g_assert_false (c.reviewed);
    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[2], 0.0, &c, &error));
    g_assert_cmpint (c.labels, ==, 0);
    g_assert_cmpint (c.detections, ==, 2);
    {
      gint64 rerun = qr_catalog_start_run (catalog, model, "{}", &error);
      g_assert_cmpint (qr_catalog_add_detection (catalog, rerun, ids[2], cat, 0.7, &box, &error), >, 0);
    }
    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[2], 0.0, &c, &error));
    g_assert_cmpint (c.detections, ==, 1);
    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[2], 0.69, &c, &error));
    g_assert_cmpint (c.detections, ==, 1);
    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[2], 0.71, &c, &error));
    g_assert_cmpint (c.detections, ==, 0);
    /* the sidebar's class rows: labelled and predicted apart, predictions at the Min Score */
    {
      g_autoptr (GArray) cids = NULL;
      g_autoptr (GPtrArray) cnames = NULL;
      g_autoptr (GArray) labelled = NULL;
      g_autoptr (GArray) predicted = NULL;
      gboolean saw_cat = FALSE;
      g_assert_true (qr_catalog_class_counts (catalog, 0.5, &cids, &cnames, &labelled, &predicted, &error));
      for (guint i = 0; i < cids->len; i++)
        if (g_array_index (cids, gint64, i) == cat)
          {
            saw_cat = TRUE;
            g_assert_cmpint (g_array_index (predicted, gint64, i), ==, 1);   /* the rerun's 0.7 box on c */
          }
      g_assert_true (saw_cat);
      g_clear_pointer (&cids, g_array_unref);
      g_clear_pointer (&cnames, g_ptr_array_unref);
      g_clear_pointer (&labelled, g_array_unref);
      g_clear_pointer (&predicted, g_array_unref);
      g_assert_true (qr_catalog_class_counts (catalog, 0.8, &cids, &cnames, &labelled, &predicted, &error));
      for (guint i = 0; i < cids->len; i++)
        {
          g_assert_cmpint (g_array_index (cids, gint64, i), !=, cat);   /* nothing above 0.8, no label */
          g_assert_cmpint (g_array_index (labelled, gint64, i) + g_array_index (predicted, gint64, i), >, 0);
        }
    }
    {
      g_autoptr (GArray) cats = qr_catalog_list_view_scored (catalog, QR_VIEW_CLASS, cat, QR_SORT_NAME, 0.5, &error);
      g_autoptr (GArray) none = qr_catalog_list_view_scored (catalog, QR_VIEW_CLASS, cat, QR_SORT_NAME, 0.8, &error);
      g_assert_cmpuint (cats->len, ==, 1);
      g_assert_cmpuint (none->len, ==, 0);
    }
    g_assert_true (qr_catalog_set_reviewed (catalog, ids[2], "reviewed", &error));
    g_assert_true (qr_catalog_count_image_boxes (catalog, ids[2], 0.0, &c, &error));
    g_assert_true (c.reviewed);
    g_assert_no_error (error);
  }
  /* a model box on b's label (same class, IoU 1) confirms it; another class or a far box does not */
  {
    gint64 other = qr_catalog_add_model (catalog, "confirmer", "tfjs", NULL, &error);
    gint64 run = qr_catalog_start_run (catalog, other, "{}", &error);
    QrBox far = { 40, 40, 50, 50 };
    g_assert_cmpint (qr_catalog_add_detection (catalog, run, ids[0], cat, 0.9, &box, &error), >, 0);
    g_assert_cmpint (qr_catalog_add_detection (catalog, run, ids[0], dog, 0.9, &far, &error), >, 0);
    g_assert_true (qr_catalog_count_views (catalog, 0.0, counts, &error));
    g_assert_cmpint (counts[6], ==, 1);
    g_assert_cmpint (qr_catalog_add_detection (catalog, run, ids[0], dog, 0.9, &box, &error), >, 0);
    g_assert_true (qr_catalog_count_views (catalog, 0.0, counts, &error));
    g_assert_cmpint (counts[6], ==, 0);
    g_assert_true (qr_catalog_count_views (catalog, 0.95, counts, &error));
    g_assert_cmpint (counts[6], ==, 1);   /* at 0.95 the confirming box is not shown */
  }
}

/* The review queue: items stored, decisions taken through the history (accepting applies the
 * consensus), undone and redone, kept out of a recomputed queue, and there after a reopen. */
static void
test_review_decisions (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  g_autoptr (QrHistory) history = NULL;
  g_autoptr (GPtrArray) open = NULL;
  QrBox dog_box = { 100, 100, 200, 220 }, cat_box = { 300, 300, 400, 400 }, got;
  gint64 dog, cat, label, run_a, run_b, a, b, class_id;
  QrMistakeRecord *wrong = NULL;

  record->path = g_strdup ("a.jpg");
  record->width = 640;
  record->height = 480;
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  cat = qr_catalog_ensure_class (catalog, "cat", &error);
  /* both peers see a dog where the label says cat, and a cat nobody labelled */
  label = qr_catalog_add_label (catalog, record->id, cat, &dog_box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
  a = qr_catalog_add_model (catalog, "a", "tfjs", NULL, &error);
  b = qr_catalog_add_model (catalog, "b", "tfjs", NULL, &error);
  run_a = qr_catalog_start_run (catalog, a, "{}", &error);
  run_b = qr_catalog_start_run (catalog, b, "{}", &error);
  g_assert_cmpint (qr_catalog_add_detection (catalog, run_a, record->id, dog, 0.9, &dog_box, &error), >, 0);
  g_assert_cmpint (qr_catalog_add_detection (catalog, run_b, record->id, dog, 0.8, &dog_box, &error), >, 0);
  g_assert_cmpint (qr_catalog_add_detection (catalog, run_a, record->id, cat, 0.9, &cat_box, &error), >, 0);
  g_assert_cmpint (qr_catalog_add_detection (catalog, run_b, record->id, cat, 0.9, &cat_box, &error), >, 0);
  g_assert_no_error (error);

  g_assert_cmpint (qr_review_update (catalog, NULL, &error), >=, 2);
  g_assert_no_error (error);
  open = qr_catalog_list_open_mistakes (catalog, -1, &error);
  for (guint i = 0; i < open->len; i++)
    if (g_str_equal (((QrMistakeRecord *) open->pdata[i])->kind, "wrong_class"))
      wrong = open->pdata[i];
  g_assert_nonnull (wrong);
  g_assert_cmpint (wrong->label_id, ==, label);
  g_assert_cmpint (wrong->class_id, ==, dog);
  g_assert_cmpstr (wrong->class_name, ==, "dog");
  g_assert_nonnull (strstr (wrong->votes, "\"a\": 0.900"));
  {
    QrImageCounts c = { 0, 0, -1, FALSE };
    g_assert_true (qr_catalog_count_image_boxes (catalog, record->id, 0.0, &c, &error));
    g_assert_cmpfloat (c.mistake_score, >, 0);
  }

  /* the review view, all kinds or one */
  {
    g_autoptr (GArray) all = qr_catalog_list_view (catalog, QR_VIEW_REVIEW, 0, QR_SORT_NAME, &error);
    g_autoptr (GArray) wrong_only = qr_catalog_list_view (catalog, QR_VIEW_REVIEW, 3, QR_SORT_NAME, &error);
    g_autoptr (GArray) spurious_only = qr_catalog_list_view (catalog, QR_VIEW_REVIEW, 2, QR_SORT_NAME, &error);
    gint64 kinds[QR_REVIEW_N_KINDS];
    g_assert_cmpuint (all->len, ==, 1);
    g_assert_cmpuint (wrong_only->len, ==, 1);
    g_assert_cmpuint (spurious_only->len, ==, 0);
    g_assert_true (qr_catalog_count_review_kinds (catalog, kinds, &error));
    g_assert_cmpint (kinds[0], ==, 1);   /* missing: the cat nobody labelled */
    g_assert_cmpint (kinds[2], ==, 1);   /* wrong class */
    g_assert_cmpint (kinds[1], ==, 0);
  }
  /* filtered by class (the consensus's or the label's) and kind */
  {
    gint64 bird = qr_catalog_ensure_class (catalog, "bird", &error);
    g_autoptr (GArray) dogs = qr_catalog_list_review (catalog, 0, dog, &error);
    g_autoptr (GArray) cats = qr_catalog_list_review (catalog, 0, cat, &error);
    g_autoptr (GArray) birds = qr_catalog_list_review (catalog, 0, bird, &error);
    g_autoptr (GArray) missing_dogs = qr_catalog_list_review (catalog, 1, dog, &error);
    g_autoptr (GArray) missing_cats = qr_catalog_list_review (catalog, 1, cat, &error);
    g_autoptr (GArray) ids = NULL, counts = NULL;
    g_autoptr (GPtrArray) names = NULL;
    g_assert_no_error (error);
    g_assert_cmpuint (dogs->len, ==, 1);
    g_assert_cmpuint (cats->len, ==, 1);
    g_assert_cmpuint (birds->len, ==, 0);
    g_assert_cmpuint (missing_dogs->len, ==, 0);
    g_assert_cmpuint (missing_cats->len, ==, 1);
    g_assert_true (qr_catalog_review_classes (catalog, 0, &ids, &names, &counts, &error));
    g_assert_cmpuint (ids->len, ==, 2);   /* cat and dog; no bird */
    for (guint i = 0; i < names->len; i++)
      g_assert_true (g_str_equal (names->pdata[i], "cat") || g_str_equal (names->pdata[i], "dog"));
    g_clear_pointer (&ids, g_array_unref);
    g_clear_pointer (&names, g_ptr_array_unref);
    g_clear_pointer (&counts, g_array_unref);
    g_assert_true (qr_catalog_review_classes (catalog, 2, &ids, &names, &counts, &error));
    g_assert_cmpuint (ids->len, ==, 0);   /* no spurious items */
  }
  /* accept the consensus: the label becomes a dog, the item leaves the queue */
  history = qr_history_new (catalog);
  g_assert_cmpint (qr_history_decide (history, wrong, "accepted", &error), >, 0);
  g_assert_no_error (error);
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, dog);
  {
    g_autoptr (GPtrArray) now = qr_catalog_list_open_mistakes (catalog, -1, &error);
    g_assert_cmpuint (now->len, ==, open->len - 1);
  }
  /* one undo takes back both the label change and the decision */
  g_assert_true (qr_history_undo (history, &error));
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, cat);
  {
    g_autoptr (GPtrArray) now = qr_catalog_list_open_mistakes (catalog, -1, &error);
    g_assert_cmpuint (now->len, ==, open->len);
  }
  g_assert_true (qr_history_redo (history, &error));
  g_assert_true (qr_catalog_get_label (catalog, label, &class_id, &got, &error));
  g_assert_cmpint (class_id, ==, dog);

  /* keep (no label change) on the missing cat; a recomputed queue keeps both decided items out */
  for (guint i = 0; i < open->len; i++)
    if (g_str_equal (((QrMistakeRecord *) open->pdata[i])->kind, "missing"))
      g_assert_cmpint (qr_history_decide (history, open->pdata[i], "kept", &error), >, 0);
  g_assert_cmpint (qr_review_update (catalog, NULL, &error), >=, 0);
  {
    g_autoptr (GPtrArray) now = qr_catalog_list_open_mistakes (catalog, -1, &error);
    for (guint i = 0; i < now->len; i++)
      {
        QrMistakeRecord *r = now->pdata[i];
        g_assert_false (g_str_equal (r->kind, "missing") && r->class_id == cat);
        g_assert_false (g_str_equal (r->kind, "wrong_class"));
      }
  }
  /* decisions survive a restart, with who and when */
  g_clear_object (&history);
  g_clear_object (&catalog);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM decisions WHERE undone_us IS NULL"), ==, 2);
  g_assert_cmpint (query_int (f->db, "SELECT count(*) FROM decisions WHERE who != '' AND at_us > 0"), ==, 2);
}

/* An undo says which image it changed, which label to show and what it did; deciding an image's
 * last open item marks it reviewed in the same undo step; Mark Reviewed is undoable. */
static void
test_history_steps_and_reviewed (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrHistory) history = qr_history_new (catalog);
  g_autoptr (QrImageRecord) a = qr_image_record_new ();
  g_autoptr (QrImageRecord) b = qr_image_record_new ();
  QrBox box = { 10, 10, 50, 50 };
  QrHistoryStep step;
  gint64 dog, on_a, on_b;
  g_autofree char *state = NULL;

  a->path = g_strdup ("a.jpg");
  b->path = g_strdup ("b.jpg");
  g_assert_true (qr_catalog_put_image (catalog, a, &error));
  g_assert_true (qr_catalog_put_image (catalog, b, &error));
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  on_a = qr_history_add_label (history, a->id, dog, &box, QR_LABEL_SOURCE_DRAWN, "test", &error);
  g_assert_true (qr_history_delete_label (history, on_a, &error));
  on_b = qr_history_add_label (history, b->id, dog, &box, QR_LABEL_SOURCE_DRAWN, "test", &error);
  g_assert_cmpint (on_b, >, 0);
  g_assert_cmpint (qr_history_peek (history, FALSE), ==, b->id);

  /* the newest step is on b: the label drawn there goes */
  g_assert_true (qr_history_undo_step (history, &step, &error));
  g_assert_cmpint (step.image_id, ==, b->id);
  g_assert_cmpint (step.label_id, ==, -1);
  g_assert_cmpstr (step.description, ==, "removed the new dog box");
  qr_history_step_clear (&step);
  /* the next is on a: the deleted label comes back, and it is the one to select */
  g_assert_cmpint (qr_history_peek (history, FALSE), ==, a->id);
  g_assert_true (qr_history_undo_step (history, &step, &error));
  g_assert_cmpint (step.image_id, ==, a->id);
  g_assert_cmpint (step.label_id, ==, on_a);
  g_assert_cmpstr (step.description, ==, "restored the deleted dog box");
  qr_history_step_clear (&step);
  g_assert_true (qr_history_redo_step (history, &step, &error));
  g_assert_cmpint (step.image_id, ==, a->id);
  g_assert_cmpstr (step.description, ==, "deleted the dog box again");
  qr_history_step_clear (&step);

  /* Mark Reviewed, and its undo */
  g_assert_true (qr_history_set_reviewed (history, a->id, TRUE, &error));
  state = qr_catalog_get_reviewed (catalog, a->id, &error);
  g_assert_cmpstr (state, ==, "reviewed");
  g_clear_pointer (&state, g_free);
  g_assert_true (qr_history_undo_step (history, &step, &error));
  g_assert_cmpstr (step.description, ==, "marked the image unreviewed");
  qr_history_step_clear (&step);
  state = qr_catalog_get_reviewed (catalog, a->id, &error);
  g_assert_cmpstr (state, ==, "unreviewed");
  g_clear_pointer (&state, g_free);

  /* two items on b: the first decision leaves it unreviewed, the second (its last) marks it */
  {
    g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_mistake_record_free);
    for (int i = 0; i < 2; i++)
      {
        QrMistakeRecord *r = g_new0 (QrMistakeRecord, 1);
        r->image_id = b->id;
        r->item_key = g_strdup_printf ("missing:%d", i);
        r->kind = g_strdup ("missing");
        r->score = 0.9 - i * 0.1;
        r->class_id = dog;
        r->class_name = g_strdup ("dog");
        r->label_id = -1;
        r->label_class_id = -1;
        r->caption_id = -1;
        r->box = box;
        r->votes = g_strdup ("{}");
        g_ptr_array_add (items, r);
      }
    g_assert_true (qr_catalog_replace_mistakes (catalog, items, &error));
  }
  {
    g_autoptr (GPtrArray) open = qr_catalog_list_open_mistakes (catalog, b->id, &error);
    g_assert_cmpuint (open->len, ==, 2);
    g_assert_cmpint (qr_catalog_count_open_items (catalog, b->id, &error), ==, 2);
    g_assert_cmpint (qr_history_decide (history, open->pdata[0], "kept", &error), >, 0);
    state = qr_catalog_get_reviewed (catalog, b->id, &error);
    g_assert_cmpstr (state, ==, "unreviewed");
    g_clear_pointer (&state, g_free);
    g_assert_cmpint (qr_history_decide (history, open->pdata[1], "accepted", &error), >, 0);
    g_assert_no_error (error);
    state = qr_catalog_get_reviewed (catalog, b->id, &error);
    g_assert_cmpstr (state, ==, "reviewed");
    g_clear_pointer (&state, g_free);
  }
  {
    g_autoptr (GArray) reviewed = qr_catalog_list_reviewed_ids (catalog, &error);
    g_assert_cmpuint (reviewed->len, ==, 1);
  }
  /* one undo: the review mark, the decision and the label it added */
  g_assert_true (qr_history_undo_step (history, &step, &error));
  g_assert_cmpint (step.image_id, ==, b->id);
  g_assert_cmpstr (step.description, ==, "marked the image unreviewed, took back “accepted” on the missing item, "
                                         "removed the new dog box");
  qr_history_step_clear (&step);
  state = qr_catalog_get_reviewed (catalog, b->id, &error);
  g_assert_cmpstr (state, ==, "unreviewed");
  g_clear_pointer (&state, g_free);
  g_assert_cmpint (qr_catalog_count_open_items (catalog, b->id, &error), ==, 1);
  /* redo brings all three back */
  g_assert_true (qr_history_redo_step (history, &step, &error));
  qr_history_step_clear (&step);
  state = qr_catalog_get_reviewed (catalog, b->id, &error);
  g_assert_cmpstr (state, ==, "reviewed");
  g_assert_no_error (error);
}

/* A peer trained out of fold votes only on the fold it did not see: on an image of its training
 * folds it abstains ("c": null), on its held-out fold it votes. */
static void
test_review_out_of_fold (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
  g_autoptr (QrImageRecord) record = qr_image_record_new ();
  QrBox box = { 100, 100, 200, 220 };
  gint64 dog, cat, a, b, c, ra, rb, rc;
  int fold = qr_image_fold ("a.jpg", 0, 2);

  record->path = g_strdup ("a.jpg");
  g_assert_true (qr_catalog_put_image (catalog, record, &error));
  dog = qr_catalog_ensure_class (catalog, "dog", &error);
  cat = qr_catalog_ensure_class (catalog, "cat", &error);
  qr_catalog_add_label (catalog, record->id, cat, &box, QR_LABEL_SOURCE_IMPORTED, NULL, &error);
  a = qr_catalog_add_model (catalog, "a", "tfjs", NULL, &error);
  b = qr_catalog_add_model (catalog, "b", "tfjs", NULL, &error);
  c = qr_catalog_add_model (catalog, "c", "tfjs", NULL, &error);
  ra = qr_catalog_start_run (catalog, a, "{}", &error);
  rb = qr_catalog_start_run (catalog, b, "{}", &error);
  rc = qr_catalog_start_run (catalog, c, "{}", &error);
  qr_catalog_add_detection (catalog, ra, record->id, dog, 0.9, &box, &error);
  qr_catalog_add_detection (catalog, rb, record->id, dog, 0.9, &box, &error);
  qr_catalog_add_detection (catalog, rc, record->id, cat, 0.95, &box, &error);
  g_assert_no_error (error);

  float score[2] = { 0, 0 };
  for (int held_out = 0; held_out < 2; held_out++)
    {
      g_autoptr (QrReview) review = NULL;
      const QrReviewItem *wrong = NULL;
      g_assert_true (qr_catalog_set_model_fold (catalog, "c", held_out, 2, 0, &error));
      review = qr_review_compute (catalog, NULL, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < review->items->len; i++)
        if (g_array_index (review->items, QrReviewItem, i).mistake.kind == QR_MISTAKE_WRONG_CLASS)
          wrong = &g_array_index (review->items, QrReviewItem, i);
      g_assert_nonnull (wrong);
      score[held_out == fold] = wrong->mistake.score;
      if (held_out == fold)
        g_assert_cmpfloat (wrong->mistake.votes[2], ==, 0);   /* c sees no dog there: it votes, for the cat */
      else
        {
          g_autofree char *votes = qr_review_votes_json (review, &wrong->mistake);
          g_assert_nonnull (strstr (votes, "\"c\": null"));
        }
    }
  /* c's support for the label weakens the item only where c never saw the image */
  g_assert_cmpfloat (score[1], <, score[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/catalog/schema/fresh", test_schema_fresh);
  ADD ("/catalog/schema/reopen-keeps-data", test_reopen_keeps_data);
  ADD ("/catalog/schema/newer-version-refused", test_newer_schema_refused);
  ADD ("/catalog/schema/migrate-from-version-0", test_migration_from_empty);
  ADD ("/catalog/schema/migrate-v1-to-v2", test_migration_v1_to_v2);
  ADD ("/catalog/open/not-a-database", test_not_a_database);
  ADD ("/catalog/open/default-path", test_default_path);
  ADD ("/catalog/constraints", test_constraints);
  ADD ("/catalog/transaction/rollback", test_transaction_rollback);
  ADD ("/catalog/history/edit-undo-redo", test_history);
  ADD ("/catalog/history/steps-and-reviewed", test_history_steps_and_reviewed);
  ADD ("/catalog/views/filters-sorts-counts", test_views);
  ADD ("/catalog/review/decide-undo-recompute", test_review_decisions);
  ADD ("/catalog/review/out-of-fold-peer", test_review_out_of_fold);
#undef ADD
  return g_test_run ();
}
