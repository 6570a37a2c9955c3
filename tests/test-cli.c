/* test-cli.c: the quorum executable as a user runs it: exit codes, messages, JSON output, and
 * a crash in the middle of indexing (the process is killed) that loses nothing committed. */
#include "qr-catalog.h"
#include "qr-darknet.h"
#include "qr-indexer.h"
#include "test-util.h"
#include "qr-box.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

typedef struct
{
  char *tmp;
  char *dir;
  char *db;
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

/* Runs quorum with args; returns the wait status, and stdout/stderr. */
static int
run_quorum (const char *const *args, const char *const *env, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) envp = g_get_environ ();
  g_autoptr (GError) error = NULL;
  int status = -1;

  /* QUORUM_TEST_ULIMIT_F in env: run under that file-size limit (KiB), through sh's ulimit */
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    if (g_str_equal (env[i], "QUORUM_TEST_ULIMIT_F"))
      {
        g_ptr_array_add (argv, (gpointer) "/bin/sh");
        g_ptr_array_add (argv, (gpointer) "-c");
        g_ptr_array_add (argv, (gpointer) "ulimit -f \"$QUORUM_TEST_ULIMIT_F\" && exec \"$0\" \"$@\"");
      }
  g_ptr_array_add (argv, (gpointer) QUORUM_BINARY);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    envp = g_environ_setenv (envp, env[i], env[i + 1], TRUE);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  return status;
}

static int
exit_code (int status)
{
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_exit_codes (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *missing = g_build_filename (f->tmp, "nowhere", NULL);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "--help", NULL }, NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "index"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "index", "--bogus", NULL }, NULL, &out, &err)),
                   ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", NULL }, NULL, &out, &err)), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* An error is one line on stderr that names the folder. */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "index", "--db", f->db, missing, NULL }, NULL,
                                          &out, &err)), ==, 1);
  g_assert_true (g_str_has_prefix (err, "quorum: "));
  g_assert_nonnull (strstr (err, missing));
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");
}

static void
test_index_info_json (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (QrImage) a = test_gradient_image (40, 30, 1);
  g_autofree char *good = g_build_filename (f->dir, "good.jpg", NULL);
  g_autofree char *bad = g_build_filename (f->dir, "bad.png", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *o;
  JsonArray *unreadable;

  test_write_jpeg (good, a, 1);
  test_write_bytes (bad, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "index", "--db", f->db, f->dir, NULL }, NULL,
                                          &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "2 added"));
  g_assert_nonnull (strstr (out, "1 unreadable"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "thumbs", "-q", "--db", f->db, "--collection",
                                                             f->dir, NULL }, NULL, &out, &err)), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "info", "--json", "--db", f->db, f->dir, NULL },
                                          NULL, &out, &err)), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "images"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "ok"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "thumbnails"), ==, 1);
  unreadable = json_object_get_array_member (o, "unreadable_files");
  g_assert_cmpuint (json_array_get_length (unreadable), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (unreadable, 0), "path"),
                   ==, "bad.png");
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (unreadable, 0),
                                                           "reason"), "PNG"));
}

static void
test_crash_mid_index (Fixture *f, gconstpointer data)
{
  const int n_files = 300;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  QrCatalogStats stats;
  int status;

  for (int i = 0; i < n_files; i++)
    {
      g_autoptr (QrImage) image = test_gradient_image (24 + i % 7, 16 + i % 5, (guint) i);
      g_autofree char *path = g_strdup_printf ("%s/%03d.jpg", f->dir, i);
      test_write_jpeg (path, image, 1);
    }

  /* Batches of 32; the process kills itself (SIGKILL, no cleanup) once 100 files are committed,
   * which happens right after the 4th batch: 128 files are in the catalog. */
  status = run_quorum ((const char *[]) { "index", "--batch", "32", "--db", f->db, f->dir, NULL },
                       (const char *[]) { "QUORUM_TEST_KILL_AFTER", "100", NULL }, &out, &err);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_assert_no_error (error);
    g_assert_true (qr_catalog_check_integrity (catalog, &error));
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.images, ==, 128);
  }

  /* A rerun completes: the committed files are not read again. */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "index", "--db", f->db, f->dir, NULL }, NULL,
                                          &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "172 added"));
  g_assert_nonnull (strstr (out, "128 unchanged"));
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.images, ==, n_files);
    g_assert_cmpint (stats.images_ok, ==, n_files);
  }
}

static gboolean
have_models (void)
{
  return g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR);
}

static void
test_detect_images (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *image = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_auto (GStrv) lines = NULL;
  gboolean dog = FALSE;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "detect", image, NULL }, NULL, &out, &err)), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 3);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *o;
      JsonArray *box;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpstr (json_object_get_string_member (o, "image"), ==, image);
      g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "centernet");
      box = json_object_get_array_member (o, "box");
      g_assert_cmpuint (json_array_get_length (box), ==, 4);
      if (g_str_equal (json_object_get_string_member (o, "class"), "dog"))
        {
          dog = TRUE;
          /* the dog sits in the lower left: x from about 127 to 310, y from 211 to 537 */
          g_assert_cmpfloat (fabs (json_array_get_double_element (box, 0) - 127), <, 10);
          g_assert_cmpfloat (fabs (json_array_get_double_element (box, 3) - 537), <, 10);
        }
    }
  g_assert_true (dog);
}

/* n small generated photos, 00.jpg onwards: a collection long enough to be killed part way. */
static void
write_gradient_photos (const char *dir, int n)
{
  for (int i = 0; i < n; i++)
    {
      g_autoptr (QrImage) image = test_gradient_image (96, 64, (guint) i);
      g_autofree char *path = g_strdup_printf ("%s/%02d.jpg", dir, i);
      test_write_jpeg (path, image, 1);
    }
}

static void
test_detect_collection_resumes (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  QrCatalogStats stats;
  g_autofree char *expected = NULL;
  int status;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  write_gradient_photos (f->dir, 40);
  /* Killed (SIGKILL, no cleanup) right after the first batch is committed (32 images, or fewer
   * when two seconds pass first on a slow machine). data: the runner's step (QUORUM_RUN_BATCH);
   * above 1 the next step is being decoded on another thread as the kill comes. */
  status = run_quorum ((const char *[]) { "detect", "-q", "--db", f->db, "--collection", f->dir, NULL },
                       (const char *[]) { "QUORUM_TEST_KILL_AFTER", "1", "QUORUM_RUN_BATCH", data, NULL }, &out, &err);
  g_assert_true (WIFSIGNALED (status));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_autoptr (GPtrArray) left = NULL;
    g_assert_true (qr_catalog_check_integrity (catalog, &error));
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.runs, ==, 1);
    left = qr_catalog_list_images_to_run (catalog, 1, &error);
    g_assert_cmpuint (left->len, >=, 8);
    g_assert_cmpuint (left->len, <, 40);
    expected = g_strdup_printf ("run 1 of centernet: %u images", left->len);
  }
  /* The rerun resumes the same run with the images left. */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "detect", "--db", f->db, "--collection", f->dir, NULL },
                                          (const char *[]) { "QUORUM_RUN_BATCH", data, NULL }, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, expected));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "models", "--db", f->db, "-c", f->dir, NULL }, NULL, &out,
                                          &err)), ==, 0);
  g_assert_true (g_str_has_prefix (out, "centernet"));
  g_assert_nonnull (strstr (out, "1 runs"));
}

/* The demo photos named, copied into dir. */
static void
copy_demo_photos (const char *dir, const char *const *names, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, names[i], NULL);
      g_autofree char *to = g_build_filename (dir, names[i], NULL);
      g_autofree char *bytes = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
      test_write_bytes (to, bytes, len);
    }
}

static int
by_image_then_score (gconstpointer a, gconstpointer b)
{
  const QrDetectionRecord *x = a, *y = b;
  if (x->image_id != y->image_id)
    return x->image_id < y->image_id ? -1 : 1;
  return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

/* Four demo photos and, sorting between them, one cut short: dir's collection for the tests
 * that compare two ways of running over it. */
static void
copy_photos_and_a_broken_one (const char *dir)
{
  const char *names[] = { "darknet-dog.jpg", "darknet-horses.jpg", "darknet-person.jpg", "darknet-eagle.jpg" };
  g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, names[0], NULL);
  g_autofree char *broken = g_build_filename (dir, "b-broken.jpg", NULL);
  g_autofree char *bytes = NULL;
  gsize len;

  copy_demo_photos (dir, names, G_N_ELEMENTS (names));
  g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
  test_write_bytes (broken, bytes, len / 3);
}

/* A run's boxes keyed by their file's name (image ids differ between catalogs), sorted. */
static GArray *
keyed_detections (QrCatalog *catalog, gint64 run)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) found = qr_catalog_list_detections (catalog, run, &error);
  GArray *keyed = g_array_new (FALSE, FALSE, sizeof (QrDetectionRecord));

  g_assert_no_error (error);
  for (guint i = 0; i < found->len; i++)
    {
      QrDetectionRecord d = g_array_index (found, QrDetectionRecord, i);
      g_autoptr (QrImageRecord) image = qr_catalog_get_image (catalog, d.image_id, &error);
      g_assert_no_error (error);
      d.image_id = (gint64) g_str_hash (image->path);
      g_array_append_val (keyed, d);
    }
  g_array_sort (keyed, by_image_then_score);
  return keyed;
}

static void
assert_same_detections (GArray *a, GArray *b)
{
  g_assert_cmpuint (b->len, ==, a->len);
  for (guint i = 0; i < a->len; i++)
    {
      QrDetectionRecord *x = &g_array_index (a, QrDetectionRecord, i), *y = &g_array_index (b, QrDetectionRecord, i);
      g_assert_cmpint (x->image_id, ==, y->image_id);
      g_assert_cmpint (x->class_id, ==, y->class_id);
      g_assert_cmpfloat (fabsf (x->score - y->score), <, 1e-4f);
      g_assert_cmpfloat (fabs (x->box.x1 - y->box.x1), <, 0.05);
      g_assert_cmpfloat (fabs (x->box.y2 - y->box.y2), <, 0.05);
    }
}

/* The runner sends images through the network a batch at a time on a GPU; forced here on the CPU
 * (QUORUM_RUN_BATCH), with an unreadable file inside a batch, it stores what one at a time does. */
static void
test_detect_collection_batched (Fixture *f, gconstpointer data)
{
  g_autofree char *db2 = g_build_filename (f->tmp, "second.sqlite", NULL);
  g_autoptr (GArray) one = NULL, batched = NULL;
  g_autoptr (GError) error = NULL;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_photos_and_a_broken_one (f->dir);
  for (int pass = 0; pass < 2; pass++)
    {
      const char *db = pass == 0 ? f->db : db2;
      g_autofree char *out = NULL, *err = NULL;
      g_autoptr (QrCatalog) catalog = NULL;
      g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "detect", "-q", "--db", db, "--collection", f->dir, NULL },
                                              (const char *[]) { "QUORUM_RUN_BATCH", pass == 0 ? "1" : "3", NULL }, &out,
                                              &err)), ==, 0);
      catalog = qr_catalog_open (f->dir, db, &error);
      g_assert_no_error (error);
      if (pass == 0)
        one = keyed_detections (catalog, 1);
      else
        batched = keyed_detections (catalog, 1);
      {
        QrCatalogStats stats;
        g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
        g_assert_cmpint (stats.images_unreadable, ==, 1);
      }
    }
  g_assert_cmpuint (one->len, >, 10);
  assert_same_detections (one, batched);
}

/* Peers in one pass: their networks at the same time (forced here on the CPU, as on a GPU) and in
 * batches, each photo decoded once for all, store what they store one after another. */
static int
strcmp_pointers (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* detections of a catalog's only run as sorted lines "path class score box" */
static GPtrArray *
detection_lines (const char *dir, const char *db)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = qr_catalog_open (dir, db, &error);
  g_autoptr (GPtrArray) models = qr_catalog_list_models (catalog, &error);
  g_autoptr (GHashTable) names = qr_catalog_class_names (catalog, &error);
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) dets = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 1);
  dets = qr_catalog_list_detections (catalog, qr_catalog_latest_run (catalog, ((QrModelRecord *) models->pdata[0])->id,
                                                                      &error), &error);
  for (guint i = 0; i < dets->len; i++)
    {
      QrDetectionRecord *d = &g_array_index (dets, QrDetectionRecord, i);
      g_autoptr (QrImageRecord) image = qr_catalog_get_image (catalog, d->image_id, &error);
      g_ptr_array_add (lines, g_strdup_printf ("%s %s %.4f %.1f %.1f %.1f %.1f", image->path,
                                               (char *) g_hash_table_lookup (names, &d->class_id), d->score, d->box.x1,
                                               d->box.y1, d->box.x2, d->box.y2));
    }
  g_ptr_array_sort (lines, (GCompareFunc) strcmp_pointers);
  return lines;
}

/* peers run --shard K/N: each shard catalog holds the images whose path falls in shard K (stable,
 * disjoint, together all), and its detections are the single run's for those images. */
static void
test_peers_shards (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GPtrArray) whole = NULL;
  g_autoptr (GPtrArray) together = g_ptr_array_new_with_free_func (g_free);
  guint images = 0;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_photos_and_a_broken_one (f->dir);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet", "--db", f->db,
                                                             "-c", f->dir, NULL }, NULL, &out, &err)), ==, 0);
  whole = detection_lines (f->dir, f->db);
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *text = g_strdup_printf ("%d/3", k);
      g_autofree char *db = g_strdup_printf ("%s/shard-%d.sqlite", f->tmp, k);
      g_autoptr (GError) error = NULL;
      g_autoptr (QrCatalog) catalog = NULL;
      g_autoptr (GPtrArray) records = NULL;
      g_autoptr (GPtrArray) lines = NULL;
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet", "--shard",
                                                                 text, "--db", db, "-c", f->dir, NULL }, NULL, &out, &err)),
                       ==, 0);
      catalog = qr_catalog_open (f->dir, db, &error);
      records = qr_catalog_list_images (catalog, -1, &error);
      for (guint i = 0; i < records->len; i++)
        g_assert_cmpint (qr_shard_of (((QrImageRecord *) records->pdata[i])->path, 3), ==, k);
      images += records->len;
      lines = detection_lines (f->dir, db);
      for (guint i = 0; i < lines->len; i++)
        g_ptr_array_add (together, g_strdup (lines->pdata[i]));
    }
  /* all images (the broken one is recorded in its shard too), each in one shard */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_autoptr (GPtrArray) all = qr_catalog_list_images (catalog, -1, &error);
    g_assert_cmpuint (images, ==, all->len);
  }
  g_ptr_array_sort (together, (GCompareFunc) strcmp_pointers);
  g_assert_cmpuint (together->len, ==, whole->len);
  for (guint i = 0; i < whole->len; i++)
    g_assert_cmpstr (together->pdata[i], ==, whole->pdata[i]);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "--shard", "3/3", "-c", f->dir, NULL }, NULL,
                                          &out, &err)), ==, 2);
  g_assert_nonnull (strstr (err, "--shard must be K/N"));
}

static void
test_peers_together (Fixture *f, gconstpointer data)
{
  g_autofree char *db2 = g_build_filename (f->tmp, "second.sqlite", NULL);
  g_autoptr (GArray) apart_centernet = NULL, apart_nanodet = NULL;
  g_autoptr (GError) error = NULL;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_photos_and_a_broken_one (f->dir);
  for (int pass = 0; pass < 2; pass++)
    {
      const char *db = pass == 0 ? f->db : db2;
      g_autofree char *out = NULL, *err = NULL;
      g_autoptr (QrCatalog) catalog = NULL;
      g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "--peers", "centernet,nanodet-flip", "--db",
                                                                 db, "-c", f->dir, NULL },
                                              pass == 0 ? (const char *[]) { "QUORUM_PEERS_TOGETHER", "0", NULL }
                                                        : (const char *[]) { "QUORUM_PEERS_TOGETHER", "1",
                                                                             "QUORUM_RUN_BATCH", "3", NULL },
                                              &out, &err)), ==, 0);
      g_assert_nonnull (strstr (out, "of centernet: 4 images"));
      g_assert_nonnull (strstr (out, "of nanodet-flip: 4 images"));
      catalog = qr_catalog_open (f->dir, db, &error);
      g_assert_no_error (error);
      if (pass == 0)
        {
          apart_centernet = keyed_detections (catalog, 1);
          apart_nanodet = keyed_detections (catalog, 2);
          g_assert_cmpuint (apart_centernet->len, >, 5);
          g_assert_cmpuint (apart_nanodet->len, >, 5);
        }
      else
        {
          g_autoptr (GArray) centernet = keyed_detections (catalog, 1), nanodet = keyed_detections (catalog, 2);
          assert_same_detections (apart_centernet, centernet);
          assert_same_detections (apart_nanodet, nanodet);
        }
      {
        QrCatalogStats stats;
        g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
        g_assert_cmpint (stats.images_unreadable, ==, 1);
        g_assert_cmpint (stats.runs, ==, 2);
      }
    }
}

/* Photos much larger than the networks' inputs decode at a reduced size (DCT scaling: the
 * 1920-wide one at half size) with their boxes scaled back to the photo: the catalog holds the
 * boxes of the photos decoded whole (QUORUM_DECODE_SCALE=0), closely — each box scoring 0.3 or
 * more in one run has one of its class in the other with IoU ≥ 0.85 and a score within 0.05. */
static float
box_iou (const QrBox *a, const QrBox *b)
{
  return qr_iou_xyxy ((float) a->x1, (float) a->y1, (float) a->x2, (float) a->y2, (float) b->x1, (float) b->y1,
                      (float) b->x2, (float) b->y2);
}

static void
test_peers_decode_scaled (Fixture *f, gconstpointer data)
{
  const char *names[] = { "faceapi-sample1.jpg", "darknet-kite.jpg", "darknet-dog.jpg" };
  g_autofree char *db2 = g_build_filename (f->tmp, "whole.sqlite", NULL);
  GArray *runs[2] = { NULL, NULL };
  g_autoptr (GError) error = NULL;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_demo_photos (f->dir, names, G_N_ELEMENTS (names));
  for (int pass = 0; pass < 2; pass++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_autoptr (QrCatalog) catalog = NULL;
      g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet", "--db",
                                                                 pass == 0 ? f->db : db2, "-c", f->dir, NULL },
                                              (const char *[]) { "QUORUM_DECODE_SCALE", pass == 0 ? "1" : "0", NULL },
                                              &out, &err)), ==, 0);
      catalog = qr_catalog_open (f->dir, pass == 0 ? f->db : db2, &error);
      g_assert_no_error (error);
      runs[pass] = keyed_detections (catalog, 1);
      g_assert_cmpuint (runs[pass]->len, >, 5);
      {
        /* class ids are each catalog's own: keyed by name */
        g_autoptr (GHashTable) classes = qr_catalog_class_names (catalog, &error);
        g_assert_no_error (error);
        for (guint i = 0; i < runs[pass]->len; i++)
          {
            QrDetectionRecord *d = &g_array_index (runs[pass], QrDetectionRecord, i);
            const char *name = g_hash_table_lookup (classes, &d->class_id);
            g_assert_nonnull (name);
            d->class_id = (gint64) g_str_hash (name);
          }
      }
    }
  {
    /* the two decodes differ (the reduced one was used): not every score is the same */
    guint same = 0;
    for (guint i = 0; i < MIN (runs[0]->len, runs[1]->len); i++)
      same += g_array_index (runs[0], QrDetectionRecord, i).score == g_array_index (runs[1], QrDetectionRecord, i).score;
    g_assert_cmpuint (same, <, MIN (runs[0]->len, runs[1]->len));
  }
  for (int pass = 0; pass < 2; pass++)
    {
      GArray *a = runs[pass], *b = runs[1 - pass];
      guint checked = 0;
      for (guint i = 0; i < a->len; i++)
        {
          const QrDetectionRecord *d = &g_array_index (a, QrDetectionRecord, i);
          float best = 0, score = 0;
          if (d->score < 0.3f)
            continue;
          for (guint j = 0; j < b->len; j++)
            {
              const QrDetectionRecord *e = &g_array_index (b, QrDetectionRecord, j);
              if (e->image_id == d->image_id && e->class_id == d->class_id && box_iou (&d->box, &e->box) > best)
                {
                  best = box_iou (&d->box, &e->box);
                  score = e->score;
                }
            }
          g_assert_cmpfloat (best, >=, 0.85f);
          g_assert_cmpfloat (fabsf (score - d->score), <=, 0.05f);
          checked++;
        }
      g_test_message ("%u boxes of %s found in the other", checked, pass == 0 ? "the reduced decodes" : "the whole ones");
      g_assert_cmpuint (checked, >=, 5);
    }
  g_array_unref (runs[0]);
  g_array_unref (runs[1]);
}

/* Peers killed mid-pass (SIGKILL after the first commit, networks together, a batch being decoded)
 * lose nothing: the catalog is whole and the rerun finishes both runs. */
static void
test_peers_killed_then_resumed (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  write_gradient_photos (f->dir, 40);
  status = run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet,nanodet", "--db", f->db, "-c", f->dir,
                                          NULL },
                       (const char *[]) { "QUORUM_TEST_KILL_AFTER", "1", "QUORUM_RUN_BATCH", "5", "QUORUM_PEERS_TOGETHER", "1",
                                          NULL }, &out, &err);
  g_assert_true (WIFSIGNALED (status));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    g_assert_true (qr_catalog_check_integrity (catalog, &error));
    for (gint64 run = 1; run <= 2; run++)
      {
        g_autoptr (GPtrArray) left = qr_catalog_list_images_to_run (catalog, run, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (left->len, <, 40);   /* the first commit's images are kept */
      }
  }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet,nanodet", "--db", f->db,
                                                             "-c", f->dir, NULL },
                                          (const char *[]) { "QUORUM_RUN_BATCH", "5", "QUORUM_PEERS_TOGETHER", "1", NULL },
                                          &out, &err)), ==, 0);
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (f->dir, f->db, &error);
    QrCatalogStats stats;
    g_assert_true (qr_catalog_get_stats (catalog, &stats, &error));
    g_assert_cmpint (stats.runs, ==, 2);   /* resumed, not started again */
    for (gint64 run = 1; run <= 2; run++)
      {
        g_autoptr (GPtrArray) left = qr_catalog_list_images_to_run (catalog, run, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (left->len, ==, 0);
      }
  }
}

static void
test_peers_and_review (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *csv = g_build_filename (f->tmp, "labels.csv", NULL);
  g_auto (GStrv) lines = NULL;
  gboolean spurious = FALSE, wrong = FALSE;
  const char *names[] = { "darknet-dog.jpg", "darknet-horses.jpg" };

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree");
      return;
    }
  copy_demo_photos (f->dir, names, G_N_ELEMENTS (names));
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers", "centernet,nanodet,centernet-flip",
                                                             "--db", f->db, "-c", f->dir, NULL }, NULL, &out, &err)), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* Planted: the dog labelled "cat", and a person where there is nothing. */
  {
    const char *text = "darknet-dog.jpg,126,211,310,537,cat\ndarknet-dog.jpg,300,300,340,340,person\n";
    test_write_bytes (csv, text, strlen (text));
  }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "import", "--format", "csv", "--db", f->db, "-c", f->dir, csv, NULL },
                                          NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "(import 1)"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* the same file again: noticed, nothing added (a kill after the first commit then a rerun is
     the same case); a bad mode is a usage error */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "import", "--format", "csv", "--db", f->db, "-c", f->dir, csv, NULL },
                                          NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (err, "already imported (import 1, "));
  g_assert_nonnull (strstr (err, "2 labels); nothing added"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "import", "--format", "csv", "--mode", "twice", "--db", f->db,
                                                             "-c", f->dir, csv, NULL }, NULL, &out, &err)), ==, 2);
  g_assert_nonnull (strstr (err, "--mode must be skip, replace or add"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "list", "--top", "0", "--db", f->db, "-c", f->dir, NULL },
                                          NULL, &out, &err)), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >, 2);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *o;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_true (json_object_has_member (o, "votes"));
      g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "votes")), ==, 3);
      if (i > 0)
        g_assert_cmpfloat (json_object_get_double_member (o, "score"), <=, 1.0);
      if (g_str_equal (json_object_get_string_member (o, "kind"), "spurious")
          && g_str_equal (json_object_get_string_member (o, "class"), "person"))
        {
          spurious = TRUE;
          g_assert_cmpfloat (json_object_get_double_member (o, "score"), >, 0.9);
          g_assert_cmpuint (i, ==, 0); /* the most certain mistake comes first */
        }
      if (g_str_equal (json_object_get_string_member (o, "kind"), "wrong_class"))
        {
          wrong = TRUE;
          g_assert_cmpstr (json_object_get_string_member (o, "class"), ==, "dog");
          g_assert_cmpstr (json_object_get_string_member (o, "label_class"), ==, "cat");
        }
    }
  g_assert_true (spurious);
  g_assert_true (wrong);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --class keeps the items whose consensus or label is that class; an unknown class is an error */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "list", "--top", "0", "--class", "cat", "--db", f->db,
                                                             "-c", f->dir, NULL }, NULL, &out, &err)), ==, 0);
  g_strfreev (lines);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_assert_true (strstr (lines[i], "\"class\": \"cat\"") != NULL || strstr (lines[i], "\"label_class\": \"cat\"") != NULL);
  g_assert_null (strstr (out, "\"kind\": \"spurious\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "list", "--class", "unicorn", "--db", f->db, "-c", f->dir,
                                                             NULL }, NULL, &out, &err)), ==, 1);
  g_assert_nonnull (strstr (err, "unicorn"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* No image is reviewed yet: eval says so; with every label it reports each peer. */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "eval", "--db", f->db, "-c", f->dir, NULL }, NULL, &out, &err)),
                   ==, 1);
  g_assert_nonnull (strstr (err, "reviewed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "eval", "--all-labels", "--db", f->db, "-c", f->dir, NULL }, NULL,
                                          &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "mAP@0.5"));
  g_assert_nonnull (strstr (out, "centernet-flip"));
  g_assert_nonnull (strstr (out, "Agreement"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Exporting reviewed images when none is: an error that says why, and nothing written;
     --allow-empty writes the empty dataset. Then one image marked reviewed from the CLI. */
  {
    g_autofree char *empty = g_build_filename (f->tmp, "reviewed-export", NULL);
    g_autofree char *allowed = g_build_filename (f->tmp, "reviewed-empty", NULL);
    g_autofree char *one = g_build_filename (f->tmp, "reviewed-one", NULL);
    g_autofree char *reviewed_csv = g_build_filename (one, "labels.csv", NULL);
    g_autofree char *text = NULL;

    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "export", "--format", "csv", "--only", "reviewed", "--db",
                                                               f->db, "-c", f->dir, empty, NULL }, NULL, &out, &err)), ==, 1);
    g_assert_nonnull (strstr (err, "nothing to export: no image is marked reviewed"));
    g_assert_false (g_file_test (empty, G_FILE_TEST_EXISTS));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "export", "--format", "csv", "--only", "reviewed",
                                                               "--allow-empty", "--db", f->db, "-c", f->dir, allowed, NULL },
                                            NULL, &out, &err)), ==, 0);
    g_assert_nonnull (strstr (out, "0 images"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "mark", "nowhere.jpg", "--db", f->db, "-c", f->dir,
                                                               NULL }, NULL, &out, &err)), ==, 1);
    g_assert_nonnull (strstr (err, "nowhere.jpg"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "mark", "darknet-dog.jpg", "--db", f->db, "-c",
                                                               f->dir, NULL }, NULL, &out, &err)), ==, 0);
    g_assert_nonnull (strstr (out, "1 image marked reviewed"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "info", "--db", f->db, "-c", f->dir, NULL }, NULL, &out,
                                            &err)), ==, 0);
    g_assert_nonnull (strstr (out, "(1 images reviewed)"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "export", "--format", "csv", "--only", "reviewed", "--db",
                                                               f->db, "-c", f->dir, one, NULL }, NULL, &out, &err)), ==, 0);
    g_assert_nonnull (strstr (out, "1 images"));
    g_assert_true (g_file_get_contents (reviewed_csv, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "darknet-dog.jpg"));
    g_assert_null (strstr (text, "darknet-horses.jpg"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    /* over a file-size limit (ulimit -f): an error like a full disk, not SIGXFSZ, and no
       half-written folder left */
    {
      g_autofree char *big = g_build_filename (f->tmp, "too-big", NULL);
      g_autoptr (GDir) dir = NULL;
      const char *name;
      int status = run_quorum ((const char *[]) { "export", "--format", "coco", "--images", "copy", "--db", f->db, "-c",
                                                  f->dir, big, NULL },
                               (const char *[]) { "QUORUM_TEST_ULIMIT_F", "100", NULL }, &out, &err);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 1);
      g_assert_nonnull (strstr (err, "File too large"));
      g_assert_false (g_file_test (big, G_FILE_TEST_EXISTS));
      dir = g_dir_open (f->tmp, 0, NULL);
      while ((name = g_dir_read_name (dir)) != NULL)
        g_assert_false (g_str_has_prefix (name, ".partial") || strstr (name, "partial") != NULL);
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
    }
    /* eval now has reviewed labels to use */
    g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "eval", "--db", f->db, "-c", f->dir, NULL }, NULL, &out,
                                            &err)), ==, 0);
    g_assert_nonnull (strstr (out, "mAP@0.5"));
  }
}

/* The other model families from the command line: a TFLite SSD detects, a Darknet cfg is added as
 * a model (weights made up here: none are shipped), and an Open Images peer abstains on classes it
 * lacks in the review queue ("votes": null). */
static void
test_model_families (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *ssd = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "pretrained",
                                           "ssd_mobilenetv2_oidv4_fp16.tflite", NULL);
  g_autofree char *cfg_src = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "darknet", "yolov3-tiny.cfg", NULL);
  g_autofree char *cfg = g_build_filename (f->tmp, "yolov3-tiny.cfg", NULL);
  g_autofree char *weights = g_build_filename (f->tmp, "yolov3-tiny.weights", NULL);
  g_autofree char *horses = g_build_filename (f->dir, "darknet-horses.jpg", NULL);
  g_autofree char *horses_src = g_build_filename (QUORUM_DEMO_DIR, "darknet-horses.jpg", NULL);
  g_autofree char *cat = g_build_filename (QUORUM_DEMO_DIR, "skimage-chelsea.png", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;

  if (!have_models () || !g_file_test (ssd, G_FILE_TEST_EXISTS) || !g_file_test (cfg_src, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the pretrained models or Darknet cfgs are not beside the source tree");
      return;
    }
  if (!g_file_test (cat, G_FILE_TEST_EXISTS))
    {
      g_free (cat);
      cat = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "images", "skimage-chelsea.png", NULL);
    }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "detect", "--model", ssd, cat, NULL }, NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "\"class\": \"cat\""));
  g_assert_nonnull (strstr (out, "\"model\": \"ssd_mobilenetv2_oidv4_fp16\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_true (g_file_get_contents (cfg_src, &text, &len, NULL));
  test_write_bytes (cfg, text, len);
  g_assert_true (qr_darknet_write_random_weights (cfg, weights, 5, &error));
  g_assert_no_error (error);
  {
    g_autofree char *bytes = NULL;
    g_assert_true (g_file_get_contents (horses_src, &bytes, &len, NULL));
    test_write_bytes (horses, bytes, len);
  }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "models", "add", "yolo", cfg, "--db", f->db, "-c", f->dir, NULL },
                                          NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "added yolo (yolov3-tiny"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "models", "--db", f->db, "-c", f->dir, NULL }, NULL, &out, &err)),
                   ==, 0);
  g_assert_nonnull (strstr (out, "darknet"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* a missing weights file is named, with what to do */
  g_unlink (weights);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "detect", "--model", cfg, horses, NULL }, NULL, &out, &err)), ==, 1);
  g_assert_nonnull (strstr (err, "yolov3-tiny.weights"));
  g_assert_nonnull (strstr (err, "beside its .cfg"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "peers", "run", "-q", "--peers",
                                                             "centernet,nanodet,ssd_mobilenetv2_oidv4_fp16",
                                                             "--db", f->db, "-c", f->dir, NULL }, NULL, &out, &err)), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "review", "list", "--top", "0", "--peers",
                                                             "centernet,nanodet,ssd_mobilenetv2_oidv4_fp16", "--db", f->db,
                                                             "-c", f->dir, NULL }, NULL, &out, &err)), ==, 0);
  /* horses: the Open Images peer has no horse class, so it abstains rather than dissents */
  g_assert_nonnull (strstr (out, "\"class\": \"horse\""));
  g_assert_nonnull (strstr (out, "\"ssd_mobilenetv2_oidv4_fp16\": null"));
  {
    g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++)
      if (strstr (lines[i], "\"class\": \"horse\"") != NULL)
        g_assert_null (strstr (lines[i], "\"peer\": \"ssd_mobilenetv2_oidv4_fp16\""));
  }
}

/* bench scan makes its collection (640 × 480 JPEGs, each a different crop of the demo's photos),
 * indexes it and runs the peers into a fresh catalog; kept photos are not made again. Its speed
 * is what the GPU machine measures, not this test. */
static void
test_bench_scan (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL, *dir = g_build_filename (f->tmp, "scan", NULL);
  g_autofree char *first = g_build_filename (dir, "640x480", "scan-00000.jpg", NULL);
  g_autofree char *second = g_build_filename (dir, "640x480", "scan-00001.jpg", NULL);
  g_autofree char *large = g_build_filename (dir, "1600x1200", "scan-00001.jpg", NULL);
  g_autofree guint8 *a = NULL, *b = NULL;
  gsize la, lb;
  QrImageInfo info;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models (../shared/models/pretrained) are not here");
      return;
    }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "scan", "--photos", "3", "--dir", dir, "--device",
                                                             "cpu", "--peers", "centernet", NULL }, NULL, &out, &err)),
                   ==, 0);
  g_assert_nonnull (strstr (out, "3 photos of 640 × 480 (JPEG, quality 90; 3 made now"));
  g_assert_nonnull (strstr (out, "photos/s"));
  g_assert_true (g_file_get_contents (first, (char **) &a, &la, NULL));
  g_assert_true (g_file_get_contents (second, (char **) &b, &lb, NULL));
  g_assert_true (qr_image_probe (a, la, &info, NULL));
  g_assert_cmpint (info.stored_width, ==, 640);
  g_assert_cmpint (info.stored_height, ==, 480);
  g_assert_true (la != lb || memcmp (a, b, la) != 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "scan", "--photos", "3", "--dir", dir, "--device",
                                                             "cpu", "--peers", "centernet", NULL }, NULL, &out, &err)),
                   ==, 0);
  g_assert_nonnull (strstr (out, "0 made now"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* another size: a folder of its own */
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "scan", "--photos", "2", "--dir", dir, "--device",
                                                             "cpu", "--peers", "centernet", "--size", "1600x1200", NULL },
                                          NULL, &out, &err)), ==, 0);
  g_assert_nonnull (strstr (out, "2 photos of 1600 × 1200 (JPEG, quality 90; 2 made now"));
  g_clear_pointer (&a, g_free);
  g_assert_true (g_file_get_contents (large, (char **) &a, &la, NULL));
  g_assert_true (qr_image_probe (a, la, &info, NULL));
  g_assert_cmpint (info.stored_width, ==, 1600);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "scan", "--size", "big", NULL }, NULL, &out, &err)),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--size"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "scan", "--photos", "0", NULL }, NULL, &out, &err)),
                   ==, 2);
}

/* bench dmsm --plant: planted caption mistakes among generated scenes, found by the caption model
 * and by its out-of-fold judges; each precision a share, the planted count said */
static void
test_bench_dmsm_plant (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL, *cache = g_build_filename (f->tmp, "scenes.cache", NULL);
  const char *lines[] = { "the model, judging the captions it trained on", "out-of-fold judges, each judging",
                          "random" };

  if (!have_models ())
    {
      g_test_skip ("the pretrained models (../shared/models/pretrained) are not here");
      return;
    }
  g_assert_cmpint (exit_code (run_quorum ((const char *[]) { "bench", "dmsm", "--train", "100", "--test", "50", "--side",
                                                             "64", "--epochs", "2", "--plant", "0.2", "--judges", "2",
                                                             "--device", "cpu", "--cache", cache, "-q", NULL },
                                          NULL, &out, &err)), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "Planted: "));
  g_assert_nonnull (strstr (out, "of the 200 training captions"));
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      const char *line = strstr (out, lines[i]);
      double p;
      g_assert_nonnull (line);
      p = g_ascii_strtod (line + 58, NULL);
      g_assert_cmpfloat (p, >=, 0);
      g_assert_cmpfloat (p, <=, 1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/cli/exit-codes", test_exit_codes);
  ADD ("/cli/index-thumbs-info-json", test_index_info_json);
  ADD ("/cli/index/killed-midway-loses-nothing", test_crash_mid_index);
  ADD ("/cli/detect/images-json-lines", test_detect_images);
  g_test_add ("/cli/detect/collection-killed-then-resumed", Fixture, "1", fixture_set_up, test_detect_collection_resumes,
              fixture_tear_down);
  g_test_add ("/cli/detect/collection-killed-then-resumed-in-batches", Fixture, "5", fixture_set_up,
              test_detect_collection_resumes, fixture_tear_down);
  ADD ("/cli/detect/collection-batched-equals-one-at-a-time", test_detect_collection_batched);
  ADD ("/cli/peers/run-then-review-finds-planted-mistakes", test_peers_and_review);
  ADD ("/cli/peers/together-equals-one-after-another", test_peers_together);
  ADD ("/cli/peers/shards-partition-the-collection", test_peers_shards);
  ADD ("/cli/peers/killed-then-resumed", test_peers_killed_then_resumed);
  ADD ("/cli/peers/large-photos-decode-reduced", test_peers_decode_scaled);
  ADD ("/cli/models/tflite-darknet-and-abstaining-peers", test_model_families);
  ADD ("/cli/bench-scan", test_bench_scan);
  ADD ("/cli/bench-dmsm-plant", test_bench_dmsm_plant);
#undef ADD
  return g_test_run ();
}
