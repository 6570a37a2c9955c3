/* bench-merge.c: `quorum bench merge`: the cost of merging sharded runs (qr_catalog_merge_shard)
 * at scale, from generated shards: S shard catalogs of two peers' runs, D boxes an image, N boxes
 * in all; timed: making them (as a sharded run would write them), merging each into an empty
 * catalog, and merging them all again (nothing to add). Reports the merge's time and the
 * catalog's bytes per million boxes — the figures the README's 10-million-image arithmetic uses.
 * Quorum alone: no other tool merges these catalogs. */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-catalog.h"

#include <glib/gstdio.h>
#include <stdio.h>

static gint64
file_bytes (const char *path)
{
  GStatBuf st;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  gint64 n = g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
  if (g_stat (wal, &st) == 0)
    n += (gint64) st.st_size;
  return n;
}

/* One shard: its images (paths of shard k), two models' runs with D boxes an image each. */
static gboolean
make_shard (const char *root, const char *db, int k, int images, int per_image, GRand *rand, GError **error)
{
  g_autoptr (QrCatalog) catalog = qr_catalog_open (root, db, error);
  const char *models[] = { "peer-a", "peer-b" };
  const char *classes[] = { "person", "car", "dog", "bicycle", "cat" };
  g_autofree gint64 *ids = g_new (gint64, images);

  if (catalog == NULL || !qr_catalog_begin (catalog, error))
    return FALSE;
  for (int i = 0; i < images; i++)
    {
      g_autoptr (QrImageRecord) r = qr_image_record_new ();
      r->path = g_strdup_printf ("shard-%02d/img-%07d.jpg", k, i);
      r->hash = g_strdup_printf ("%064x", (unsigned) (k * 1000003 + i));
      r->size = 100000;
      r->width = 640;
      r->height = 480;
      r->format = g_strdup ("jpeg");
      if (!qr_catalog_put_image (catalog, r, error))
        return FALSE;
      ids[i] = r->id;
    }
  for (int m = 0; m < 2; m++)
    {
      gint64 model = qr_catalog_add_model (catalog, models[m], "tfjs", NULL, error), run;
      if (model < 0 || (run = qr_catalog_start_run (catalog, model, "{\"threshold\": 0.100}", error)) < 0)
        return FALSE;
      for (int i = 0; i < images; i++)
        {
          for (int d = 0; d < per_image; d++)
            {
              double x = g_rand_double_range (rand, 0, 600), y = g_rand_double_range (rand, 0, 440);
              QrBox box = { x, y, x + g_rand_double_range (rand, 5, 40), y + g_rand_double_range (rand, 5, 40) };
              gint64 cls = qr_catalog_ensure_class (catalog, classes[g_rand_int_range (rand, 0, 5)], error);
              if (cls < 0 || qr_catalog_add_detection (catalog, run, ids[i], cls, g_rand_double (rand), &box, error) < 0)
                return FALSE;
            }
          if (!qr_catalog_mark_run_image (catalog, run, ids[i], error))
            return FALSE;
        }
      if (!qr_catalog_finish_run (catalog, run, "done", error))
        return FALSE;
    }
  return qr_catalog_commit (catalog, error);
}

int
qr_cli_bench_merge (int argc, char **argv)
{
  int shards = 4, per_image = 20;
  gint64 boxes = 1000000;
  GOptionEntry entries[] = {
    { "boxes", 'n', 0, G_OPTION_ARG_INT64, &boxes, "Boxes in all shards together (default 1,000,000)", "N" },
    { "shards", 's', 0, G_OPTION_ARG_INT, &shards, "Shards (default 4)", "S" },
    { "per-image", 'd', 0, G_OPTION_ARG_INT, &per_image, "Boxes a peer gives an image (default 20)", "D" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— merging generated shard catalogs: time and catalog size "
                                                             "per million boxes");
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (21);
  g_autofree char *tmp = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *main_db = NULL;
  gint64 started, made_us, merge_us = 0, again_us = 0, shard_bytes = 0, added = 0;
  int images;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (shards < 1 || shards > 1000 || per_image < 1 || per_image > 1000 || boxes < 2 * shards * per_image
      || boxes > 1000000000)
    return qr_cli_usage_error (context, "--shards 1–1000, --per-image 1–1000, --boxes at least 2 × shards × per-image");
  images = (int) (boxes / (2 * (gint64) per_image * shards));
  if ((tmp = g_dir_make_tmp ("quorum-bench-merge-XXXXXX", &error)) == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  printf ("bench merge: %d shards × %d images × 2 peers × %d boxes = %" G_GINT64_FORMAT " boxes (in %s)\n", shards,
          images, per_image, (gint64) shards * images * 2 * per_image, tmp);
  started = g_get_monotonic_time ();
  for (int k = 0; k < shards; k++)
    {
      g_autofree char *db = g_strdup_printf ("%s/shard-%d.sqlite", tmp, k);
      if (!make_shard (tmp, db, k, images, per_image, rand, &error))
        return qr_cli_fail (g_steal_pointer (&error));
      shard_bytes += file_bytes (db);
    }
  made_us = g_get_monotonic_time () - started;
  main_db = g_build_filename (tmp, "collection.sqlite", NULL);
  if ((catalog = qr_catalog_open (tmp, main_db, &error)) == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < shards; k++)
      {
        g_autofree char *db = g_strdup_printf ("%s/shard-%d.sqlite", tmp, k);
        QrMergeStats stats;
        gint64 t0 = g_get_monotonic_time ();
        if (!qr_catalog_merge_shard (catalog, db, &stats, &error))
          return qr_cli_fail (g_steal_pointer (&error));
        if (pass == 0)
          merge_us += g_get_monotonic_time () - t0, added += stats.detections_added;
        else
          again_us += g_get_monotonic_time () - t0;
      }
  {
    double millions = (double) added / 1e6;
    gint64 bytes;
    g_clear_object (&catalog);   /* checkpointed on close */
    bytes = file_bytes (main_db);
    printf ("made the shards: %.1f s (%.0f boxes/s written as a run writes them)\n", made_us / 1e6,
            (double) added / (made_us / 1e6));
    printf ("merged: %" G_GINT64_FORMAT " boxes in %.2f s — %.2f s per million boxes\n", added, merge_us / 1e6,
            merge_us / 1e6 / millions);
    printf ("merged again (nothing to add): %.2f s\n", again_us / 1e6);
    printf ("catalog: %.1f MB — %.1f MB per million boxes (shards: %.1f MB per million)\n", bytes / 1e6,
            bytes / 1e6 / millions, shard_bytes / 1e6 / millions);
  }
  /* the generated files go */
  {
    g_autoptr (GDir) dir = g_dir_open (tmp, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (tmp, name, NULL);
        g_unlink (path);
      }
    g_rmdir (tmp);
  }
  return QR_EXIT_OK;
}
