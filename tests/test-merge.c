/* test-merge.c: sharded runs merged (qr_catalog_merge_shard, `quorum merge`). Two peers run over
 * the demo photos on one machine and in four shards merged into an empty catalog give the same
 * boxes and the same review queue; merging again adds nothing; a damaged, foreign, newer or
 * disagreeing shard is refused with its name and the reason and leaves the catalog as it was; a
 * merge killed half way leaves the catalog as it was before that shard. */
#include "qr-catalog.h"
#include "qr-indexer.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

static char *
run_quorum (int expect, char **err_out, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status;

  g_ptr_array_add (argv, (char *) QUORUM_BINARY);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != expect)
    g_error ("quorum %s: exit %d (expected %d): %s", args[0], WIFEXITED (status) ? WEXITSTATUS (status) : -1, expect,
             err);
  if (err_out != NULL)
    *err_out = g_steal_pointer (&err);
  return out;
}

/* Every box of a catalog as text lines (model, image, class, score, box), sorted. */
static char *
boxes_of (const char *db_path)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  GString *out = g_string_new (NULL);

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT m.name, i.path, c.name, printf ('%.6f', d.score), "
                                       "printf ('%.3f %.3f %.3f %.3f', d.x1, d.y1, d.x2, d.y2) FROM detections d "
                                       "JOIN runs r ON r.id = d.run_id JOIN models m ON m.id = r.model_id "
                                       "JOIN images i ON i.id = d.image_id JOIN classes c ON c.id = d.class_id "
                                       "ORDER BY 1, 2, 3, 4, 5", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "%s %s %s %s %s\n", sqlite3_column_text (stmt, 0), sqlite3_column_text (stmt, 1),
                            sqlite3_column_text (stmt, 2), sqlite3_column_text (stmt, 3), sqlite3_column_text (stmt, 4));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (out, FALSE);
}

static gint64
count_rows (const char *db_path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 n = -1;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

static char *
integrity (const char *db_path)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  char *result = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return result;
}

static void
copy_demo_photos (const char *dir)
{
  g_autoptr (GDir) demo = g_dir_open (QUORUM_DEMO_DIR, 0, NULL);
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  while ((name = g_dir_read_name (demo)) != NULL)
    if (g_str_has_suffix (name, ".jpg") || g_str_has_suffix (name, ".png"))
      {
        g_autofree char *src = g_build_filename (QUORUM_DEMO_DIR, name, NULL), *dst = g_build_filename (dir, name, NULL);
        g_autofree char *data = NULL;
        gsize length;
        g_assert_true (g_file_get_contents (src, &data, &length, NULL));
        g_assert_true (g_file_set_contents (dst, data, (gssize) length, NULL));
      }
}

/* One machine against four shards merged: the same boxes, the same review queue. */
static void
test_equals_single_run (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *photos = g_build_filename (tmp, "photos", NULL);
  g_autofree char *single = g_build_filename (tmp, "single.sqlite", NULL);
  g_autofree char *merged = g_build_filename (tmp, "merged.sqlite", NULL);
  g_autofree char *a = NULL, *b = NULL, *qa = NULL, *qb = NULL, *out = NULL;
  g_autoptr (GPtrArray) merge_args = g_ptr_array_new_with_free_func (NULL);
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  const char *peers = "nanodet,nanodet-flip";

  if (!g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/nanodet.json", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
#if defined(__SANITIZE_ADDRESS__)
  /* ten detector runs under the sanitizers take minutes and check no memory the other two tests
     do not: the plain build (and tests/cluster-slurm.sh) runs this one */
  g_test_skip ("left to the build without sanitizers");
  return;
#endif
  copy_demo_photos (photos);
  g_free (run_quorum (0, NULL, (const char *[]) { "peers", "run", "-q", "--peers", peers, "--device", "cpu",
                                                   "--collection", photos, "--db", single, NULL }));
  g_ptr_array_add (merge_args, (char *) "merge");
  g_ptr_array_add (merge_args, (char *) "--collection");
  g_ptr_array_add (merge_args, photos);
  g_ptr_array_add (merge_args, (char *) "--db");
  g_ptr_array_add (merge_args, merged);
  for (int k = 0; k < 4; k++)
    {
      g_autofree char *shard = g_strdup_printf ("%d/4", k);
      char *db = g_strdup_printf ("%s/shard-%d.sqlite", tmp, k);
      g_ptr_array_add (owned, db);
      g_free (run_quorum (0, NULL, (const char *[]) { "peers", "run", "-q", "--peers", peers, "--device", "cpu",
                                                       "--shard", shard, "--collection", photos, "--db", db, NULL }));
      g_ptr_array_add (merge_args, db);
    }
  g_ptr_array_add (merge_args, NULL);
  out = run_quorum (0, NULL, (const char *const *) merge_args->pdata);
  g_test_message ("%s", out);
  a = boxes_of (single);
  b = boxes_of (merged);
  g_assert_cmpuint (strlen (a), >, 1000);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpint (count_rows (single, "SELECT count (*) FROM images"), ==, count_rows (merged, "SELECT count (*) FROM images"));
  g_assert_cmpint (count_rows (merged, "SELECT count (*) FROM runs"), ==, 2);   /* one per peer */
  g_assert_cmpint (count_rows (merged, "SELECT count (*) FROM runs WHERE state = 'done'"), ==, 2);
  qa = run_quorum (0, NULL, (const char *[]) { "review", "list", "--collection", photos, "--db", single, NULL });
  qb = run_quorum (0, NULL, (const char *[]) { "review", "list", "--collection", photos, "--db", merged, NULL });
  g_assert_cmpstr (qa, ==, qb);

  /* again: nothing added */
  g_clear_pointer (&out, g_free);
  out = run_quorum (0, NULL, (const char *const *) merge_args->pdata);
  g_assert_nonnull (strstr (out, "shard-3.sqlite: 0 images done, 0 boxes, 0 new images, 0 new runs"));
  g_clear_pointer (&b, g_free);
  b = boxes_of (merged);
  g_assert_cmpstr (a, ==, b);
  test_remove_tree (tmp);
}

/* A small catalog of its own for the refusals: three images, a model, a run with boxes. */
static void
make_catalog (const char *photos, const char *db, const char *model_kind, int seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (photos, db, &error);
  g_autoptr (GPtrArray) images = NULL;
  gint64 model, run, cls;

  g_assert_no_error (error);
  g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
  images = qr_catalog_list_images (catalog, -1, &error);
  model = qr_catalog_add_model (catalog, "peer", model_kind, NULL, &error);
  cls = qr_catalog_ensure_class (catalog, "dog", &error);
  run = qr_catalog_start_run (catalog, model, "{}", &error);
  for (guint i = 0; i < images->len; i++)
    {
      QrImageRecord *r = images->pdata[i];
      QrBox box = { 1 + seed, 2, 30, 40 };
      g_assert_cmpint (qr_catalog_add_detection (catalog, run, r->id, cls, 0.5 + 0.1 * i, &box, &error), >, 0);
      g_assert_true (qr_catalog_mark_run_image (catalog, run, r->id, &error));
    }
  g_assert_true (qr_catalog_finish_run (catalog, run, "done", &error));
  g_assert_no_error (error);
}

static void
expect_refused (const char *photos, const char *main_db, const char *shard, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (photos, main_db, &error);
  QrMergeStats stats;
  gint64 before = count_rows (main_db, "SELECT count (*) FROM detections");

  g_assert_no_error (error);
  g_assert_false (qr_catalog_merge_shard (catalog, shard, &stats, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, shard));
  if (strstr (error->message, reason) == NULL)
    g_error ("\"%s\" does not say %s", error->message, reason);
  g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM detections"), ==, before);
}

static void
test_refusals (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *photos = g_build_filename (tmp, "photos", NULL), *other = g_build_filename (tmp, "other", NULL);
  g_autofree char *main_db = g_build_filename (tmp, "main.sqlite", NULL);
  g_autofree char *good = g_build_filename (tmp, "good.sqlite", NULL);
  g_autofree char *foreign = g_build_filename (tmp, "foreign.sqlite", NULL);
  g_autofree char *kind = g_build_filename (tmp, "kind.sqlite", NULL);
  g_autofree char *cut = g_build_filename (tmp, "cut.sqlite", NULL);
  g_autofree char *junk = g_build_filename (tmp, "junk.sqlite", NULL);
  g_autofree char *newer = g_build_filename (tmp, "newer.sqlite", NULL);
  g_autofree char *data = NULL;
  gsize length;

  g_assert_cmpint (g_mkdir (photos, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/img-%d.jpg", photos, i);
      g_autofree char *alt = g_strdup_printf ("%s/img-%d.jpg", other, i);
      g_autoptr (QrImage) a = test_gradient_image (64, 48, i);
      g_autoptr (QrImage) b = test_gradient_image (64, 48, 10 + i);
      test_write_jpeg (name, a, 1);
      test_write_jpeg (alt, b, 1);
    }
  make_catalog (photos, main_db, "tfjs", 0);
  make_catalog (photos, good, "tfjs", 0);
  make_catalog (other, foreign, "tfjs", 0);      /* the same names, other bytes */
  make_catalog (photos, kind, "darknet", 0);     /* "peer" is another model */
  g_assert_true (g_file_get_contents (good, &data, &length, NULL));
  g_assert_true (g_file_set_contents (cut, data, (gssize) length / 2, NULL));
  g_assert_true (g_file_set_contents (junk, "this is not a catalog at all, just some text", -1, NULL));
  g_assert_true (g_file_set_contents (newer, data, (gssize) length, NULL));
  {
    sqlite3 *db;
    g_assert_cmpint (sqlite3_open (newer, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
  }

  expect_refused (photos, main_db, foreign, "other bytes");
  expect_refused (photos, main_db, kind, "another model of the same name");
  expect_refused (photos, main_db, cut, "not a shard catalog");
  expect_refused (photos, main_db, junk, "not a shard catalog");
  expect_refused (photos, main_db, newer, "newer Quorum");
  expect_refused (photos, main_db, main_db, "own catalog");
  {
    g_autofree char *missing = g_build_filename (tmp, "missing.sqlite", NULL);
    expect_refused (photos, main_db, missing, "no such shard");
  }
  /* the good one merges: the main catalog's own run came from no shard, so the shard's run becomes
     a run of its own; merging it again adds nothing; a label and a decision already there stay */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (QrCatalog) catalog = qr_catalog_open (photos, main_db, &error);
    g_autoptr (GPtrArray) images = qr_catalog_list_images (catalog, -1, &error);
    QrMistakeRecord item = { 0 };
    QrBox box = { 5, 5, 20, 20 };
    QrMergeStats stats;
    gint64 label = qr_catalog_add_label (catalog, ((QrImageRecord *) images->pdata[0])->id,
                                         qr_catalog_ensure_class (catalog, "cat", &error), &box, QR_LABEL_SOURCE_DRAWN,
                                         NULL, &error);
    g_assert_cmpint (label, >, 0);
    item.image_id = ((QrImageRecord *) images->pdata[0])->id;
    item.item_key = (char *) "missing:cat:1";
    item.kind = (char *) "missing";
    g_assert_cmpint (qr_catalog_add_decision (catalog, &item, "accepted", label, &error), >, 0);
    g_assert_no_error (error);
    g_assert_true (qr_catalog_merge_shard (catalog, good, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpint (stats.runs_added, ==, 1);
    g_assert_cmpint (stats.detections_added, ==, 3);
    g_assert_cmpint (stats.images_added, ==, 0);
    g_assert_true (qr_catalog_merge_shard (catalog, good, &stats, &error));
    g_assert_cmpint (stats.runs_added + stats.detections_added + stats.run_images_added, ==, 0);
  }
  /* the peers run again in that shard (a new run, not a resumed one): a new run here, the model's
     newest, with the new boxes */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (QrCatalog) shard = qr_catalog_open (photos, good, &error);
    g_autoptr (GPtrArray) images = qr_catalog_list_images (shard, -1, &error);
    g_autoptr (QrCatalog) catalog = NULL;
    gint64 model = qr_catalog_find_model (shard, "peer", &error), run, cls = qr_catalog_ensure_class (shard, "dog", &error);
    QrMergeStats stats;
    g_usleep (2000);   /* another start time */
    run = qr_catalog_start_run (shard, model, "{}", &error);
    for (guint i = 0; i < images->len; i++)
      {
        QrImageRecord *r = images->pdata[i];
        QrBox box = { 9, 2, 30, 40 };
        qr_catalog_add_detection (shard, run, r->id, cls, 0.9, &box, &error);
        qr_catalog_mark_run_image (shard, run, r->id, &error);
      }
    g_assert_true (qr_catalog_finish_run (shard, run, "done", &error));
    g_assert_no_error (error);
    catalog = qr_catalog_open (photos, main_db, &error);
    g_assert_true (qr_catalog_merge_shard (catalog, good, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpint (stats.runs_added, ==, 1);
    g_assert_cmpint (stats.detections_added, ==, 3);
    g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM detections WHERE run_id = (SELECT max (id) FROM runs) "
                                          "AND x1 = 9"), ==, 3);
  }
  g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM labels WHERE deleted_us IS NULL"), ==, 1);
  g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM decisions WHERE undone_us IS NULL"), ==, 1);
  g_autofree char *check = integrity (main_db);
  g_assert_cmpstr (check, ==, "ok");
  test_remove_tree (tmp);
}

/* kill -9 during the merge of a big shard: the catalog is as it was; merged again, it is whole. */
static void
test_killed (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *photos = g_build_filename (tmp, "photos", NULL);
  g_autofree char *main_db = g_build_filename (tmp, "main.sqlite", NULL);
  g_autofree char *shard = g_build_filename (tmp, "big.sqlite", NULL);
  g_autoptr (GError) error = NULL;
  const int n_images = 40, per_image = 5000;
  int killed_in_time = 0;

  g_assert_cmpint (g_mkdir (photos, 0755), ==, 0);
  for (int i = 0; i < n_images; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/img-%03d.jpg", photos, i);
      g_autoptr (QrImage) a = test_gradient_image (32, 24, i);
      test_write_jpeg (name, a, 1);
    }
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (photos, shard, &error);
    g_autoptr (GPtrArray) images = NULL;
    gint64 model, run, cls;
    g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
    images = qr_catalog_list_images (catalog, -1, &error);
    model = qr_catalog_add_model (catalog, "peer", "tfjs", NULL, &error);
    cls = qr_catalog_ensure_class (catalog, "dog", &error);
    run = qr_catalog_start_run (catalog, model, "{}", &error);
    g_assert_true (qr_catalog_begin (catalog, &error));
    for (guint i = 0; i < images->len; i++)
      {
        QrImageRecord *r = images->pdata[i];
        for (int k = 0; k < per_image; k++)
          {
            QrBox box = { k % 97, k % 89, k % 97 + 10, k % 89 + 10 };
            qr_catalog_add_detection (catalog, run, r->id, cls, 0.001 * (k % 1000), &box, &error);
          }
        qr_catalog_mark_run_image (catalog, run, r->id, &error);
      }
    g_assert_true (qr_catalog_commit (catalog, &error));
    g_assert_true (qr_catalog_finish_run (catalog, run, "done", &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (photos, main_db, &error);
    g_assert_no_error (error);
  }
  /* killed at different moments: the shard is in wholly or not at all (its transaction), never in
     part; at least one kill must land inside the transaction */
  for (int attempt = 0; attempt < 8 && killed_in_time < 2; attempt++)
    {
      const char *argv[] = { QUORUM_BINARY, "merge", "-q", "--collection", photos, "--db", main_db, shard, NULL };
      GPid pid;
      int status;
      gint64 boxes;
      g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                    NULL, NULL, &pid, &error));
      g_usleep ((gulong) (20000 + 60000 * attempt));
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      g_spawn_close_pid (pid);
      {
        g_autofree char *check = integrity (main_db);
        g_assert_cmpstr (check, ==, "ok");
      }
      boxes = count_rows (main_db, "SELECT count (*) FROM detections");
      if (boxes == 0)
        {
          g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM runs"), ==, 0);
          g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM merged_runs"), ==, 0);
          killed_in_time += WIFSIGNALED (status);
        }
      else
        {
          /* killed after the commit (or not at all): all of it, then start again from empty */
          g_autoptr (QrCatalog) fresh = NULL;
          g_assert_cmpint (boxes, ==, (gint64) n_images * per_image);
          g_assert_cmpint (g_unlink (main_db), ==, 0);
          {
            g_autofree char *wal = g_strconcat (main_db, "-wal", NULL), *shm = g_strconcat (main_db, "-shm", NULL);
            g_unlink (wal);
            g_unlink (shm);
          }
          fresh = qr_catalog_open (photos, main_db, &error);
          g_assert_no_error (error);
        }
    }
  g_test_message ("%d of the merges killed inside the transaction", killed_in_time);
  g_assert_cmpint (killed_in_time, >, 0);
  g_free (run_quorum (0, NULL, (const char *[]) { "merge", "-q", "--collection", photos, "--db", main_db, shard, NULL }));
  g_assert_cmpint (count_rows (main_db, "SELECT count (*) FROM detections"), ==, (gint64) n_images * per_image);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/merge/equals-single-run", test_equals_single_run);
  g_test_add_func ("/merge/refusals", test_refusals);
  g_test_add_func ("/merge/killed", test_killed);
  return g_test_run ();
}
