/* bench.c: `quorum bench …` — speed claims live here, never in timed tests. Each benchmark runs
 * a named peer on the same files in the same run where one exists, and prints both and the ratio.
 *   bench thumbs DIR   Quorum's thumbnailer against vipsthumbnail (libvips-tools)
 *   bench index        first index and re-index of a generated folder of small JPEGs
 *   bench import       a generated COCO file of 1,000,000 annotations over 100,000 images
 * and the dispatch to the others: detect (bench-detect.c), clip (bench-clip.c), mistakes (bench-mistakes.c), gallery
 * (bench-gallery.c), captions (bench-captions.c), search (bench-search.c), dmsm (bench-dmsm.c). */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-thumbnailer.h"
#include "qr-dataset.h"
#include "qr-files.h"

#include <json-glib/json-glib.h>
#include "quorum-config.h"

#include <stdio.h>
#include <glib/gstdio.h>

static double
seconds_since (gint64 start_us)
{
  return (double) (g_get_monotonic_time () - start_us) / G_USEC_PER_SEC;
}

/* Runs vipsthumbnail over files in `n_procs` concurrent processes (each given a share of the
 * files, at most 500 names per invocation); returns the wall time or < 0 on failure. */
static double
run_vips (const char *vips, GPtrArray *files, int size, int n_procs, const char *out_dir, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  g_autofree char *size_arg = g_strdup_printf ("%d", size);
  g_autofree char *out_arg = g_strdup_printf ("%s/%%s.jpg[Q=85]", out_dir);
  g_autoptr (GPtrArray) procs = g_ptr_array_new_with_free_func (g_object_unref);
  guint per_proc = (files->len + (guint) n_procs - 1) / (guint) n_procs;

  for (guint first = 0; first < files->len; first += per_proc)
    {
      /* One shell-free sequence of invocations per process share: chain with a tiny loop. */
      guint last = MIN (first + per_proc, files->len);
      for (guint chunk = first; chunk < last; chunk += 500)
        {
          g_autoptr (GPtrArray) args = g_ptr_array_new ();
          GSubprocess *proc;
          g_ptr_array_add (args, (gpointer) vips);
          g_ptr_array_add (args, (gpointer) "--size");
          g_ptr_array_add (args, size_arg);
          g_ptr_array_add (args, (gpointer) "-o");
          g_ptr_array_add (args, out_arg);
          for (guint i = chunk; i < MIN (chunk + 500, last); i++)
            g_ptr_array_add (args, files->pdata[i]);
          g_ptr_array_add (args, NULL);
          proc = g_subprocess_newv ((const char *const *) args->pdata, G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                    error);
          if (proc == NULL)
            return -1;
          /* Chunks of one share run one after the other; shares run side by side. */
          if (chunk + 500 < last)
            {
              if (!g_subprocess_wait_check (proc, NULL, error))
                {
                  g_object_unref (proc);
                  return -1;
                }
              g_object_unref (proc);
            }
          else
            g_ptr_array_add (procs, proc);
        }
    }
  for (guint i = 0; i < procs->len; i++)
    if (!g_subprocess_wait_check (procs->pdata[i], NULL, error))
      return -1;
  return seconds_since (start);
}

static QrCatalog *
fresh_index (const char *dir, const char *tmp, int rep, GError **error)
{
  g_autofree char *db = g_strdup_printf ("%s/bench-%d.sqlite", tmp, rep);
  g_autoptr (QrCatalog) catalog = qr_catalog_open (dir, db, error);

  if (catalog == NULL || !qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, error))
    return NULL;
  return g_steal_pointer (&catalog);
}

static int
bench_thumbs (int argc, char **argv)
{
  int size = QR_THUMBNAIL_DEFAULT_SIZE, threads = 0, repeat = 3;
  GOptionEntry entries[] = {
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "Longer side of a thumbnail (default 256)", "PX" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Quorum's threads (default: one per core)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Runs of each; the best counts (default 3)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("DIR — thumbnails/s against vipsthumbnail");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *tmp = NULL;
  g_autofree char *vips = g_find_program_in_path ("vipsthumbnail");
  int n_cores = (int) g_get_num_processors ();
  double best_ours = G_MAXDOUBLE, best_vips1 = G_MAXDOUBLE, best_vipsn = G_MAXDOUBLE;
  guint n_images = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (argc != 2)
    return qr_cli_usage_error (context, "give the folder of images to thumbnail");
  if (repeat < 1 || size < 16)
    return qr_cli_usage_error (context, "--repeat must be at least 1 and --size at least 16");

  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));

  for (int rep = 0; rep < repeat; rep++)
    {
      g_autoptr (QrCatalog) catalog = fresh_index (argv[1], tmp, rep, &error);
      QrThumbnailOptions options;
      QrThumbnailStats stats;
      gint64 start;
      double t;

      if (catalog == NULL)
        goto fail;
      if (rep == 0)
        {
          g_autoptr (GPtrArray) ok = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, &error);
          if (ok == NULL)
            goto fail;
          for (guint i = 0; i < ok->len; i++)
            g_ptr_array_add (files, qr_catalog_resolve_path (catalog, ((QrImageRecord *) ok->pdata[i])->path));
          n_images = files->len;
          if (n_images == 0)
            {
              g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no readable images", argv[1]);
              goto fail;
            }
        }
      qr_thumbnail_options_init (&options);
      options.max_side = size;
      options.n_threads = threads;
      start = g_get_monotonic_time ();
      if (!qr_thumbnails_update (catalog, &options, &stats, NULL, NULL, NULL, &error))
        goto fail;
      t = seconds_since (start);
      best_ours = MIN (best_ours, t);

      if (vips != NULL)
        {
          g_autofree char *out1 = g_strdup_printf ("%s/vips1-%d", tmp, rep);
          g_autofree char *outn = g_strdup_printf ("%s/vipsn-%d", tmp, rep);
          g_mkdir (out1, 0700);
          g_mkdir (outn, 0700);
          if ((t = run_vips (vips, files, size, 1, out1, &error)) < 0)
            goto fail;
          best_vips1 = MIN (best_vips1, t);
          if ((t = run_vips (vips, files, size, n_cores, outn, &error)) < 0)
            goto fail;
          best_vipsn = MIN (best_vipsn, t);
        }
    }

  printf ("bench thumbs: %u images from %s, longer side %d px, best of %d runs, %d cores\n", n_images,
          argv[1], size, repeat, n_cores);
  printf ("  quorum thumbs (%d threads, into the catalog)  %8.1f thumbnails/s  (%.3f s)\n",
          threads > 0 ? threads : n_cores, n_images / best_ours, best_ours);
  if (vips != NULL)
    {
      double best_vips = MIN (best_vips1, best_vipsn);
      printf ("  vipsthumbnail, 1 process                     %8.1f thumbnails/s  (%.3f s)\n",
              n_images / best_vips1, best_vips1);
      printf ("  vipsthumbnail, %d processes                   %8.1f thumbnails/s  (%.3f s)\n", n_cores,
              n_images / best_vipsn, best_vipsn);
      printf ("  ratio quorum / fastest vipsthumbnail: %.2f×\n", best_vips / best_ours);
    }
  else
    printf ("  vipsthumbnail not found: install libvips-tools to compare\n");
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}

gboolean
qr_bench_write_small_jpeg (const char *path, guint seed, GError **error)
{
  g_autoptr (QrImage) image = qr_image_new (64, 48);
  g_autofree guint8 *jpeg = NULL;
  gsize len = 0;

  for (int i = 0; i < 64 * 48 * 3; i++)
    image->pixels[i] = (guint8) ((seed * 2654435761u + (guint) i * 40503u) >> 13);
  jpeg = qr_image_encode_jpeg (image, 80, &len, error);
  return jpeg != NULL && g_file_set_contents (path, (const char *) jpeg, (gssize) len, error);
}

static int
bench_index (int argc, char **argv)
{
  int n_files = 10000;
  GOptionEntry entries[] = {
    { "files", 'n', 0, G_OPTION_ARG_INT, &n_files, "Images to generate (default 10000)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— index and re-index a generated folder");
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *images = NULL;
  g_autofree char *db = NULL;
  QrIndexStats stats;
  double t_first, t_again, t_changed;
  gint64 start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (n_files < 100)
    return qr_cli_usage_error (context, "--files must be at least 100");

  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  images = g_build_filename (tmp, "images", NULL);
  db = g_build_filename (tmp, "catalog.sqlite", NULL);
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *sub = g_strdup_printf ("%s/d%03d", images, i / 1000);
      g_autofree char *path = g_strdup_printf ("%s/img%06d.jpg", sub, i);
      if (i % 1000 == 0)
        g_mkdir_with_parents (sub, 0700);
      if (!qr_bench_write_small_jpeg (path, (guint) i, &error))
        goto fail;
    }

  catalog = qr_catalog_open (images, db, &error);
  if (catalog == NULL)
    goto fail;
  start = g_get_monotonic_time ();
  if (!qr_index_collection (catalog, NULL, &stats, NULL, NULL, NULL, &error))
    goto fail;
  t_first = seconds_since (start);

  start = g_get_monotonic_time ();
  if (!qr_index_collection (catalog, NULL, &stats, NULL, NULL, NULL, &error))
    goto fail;
  t_again = seconds_since (start);
  if (stats.unchanged != (guint) n_files)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "re-index saw %u unchanged of %d", stats.unchanged,
                   n_files);
      goto fail;
    }

  /* 1% of the files rewritten, 1% removed. */
  for (int i = 0; i < n_files; i += 50)
    {
      g_autofree char *path = g_strdup_printf ("%s/d%03d/img%06d.jpg", images, i / 1000, i);
      if (i % 100 == 0)
        g_unlink (path);
      else if (!qr_bench_write_small_jpeg (path, (guint) i + 7777777u, &error))
        goto fail;
    }
  start = g_get_monotonic_time ();
  if (!qr_index_collection (catalog, NULL, &stats, NULL, NULL, NULL, &error))
    goto fail;
  t_changed = seconds_since (start);

  printf ("bench index: %d generated 64×48 JPEGs in %d folders, %u cores\n", n_files,
          (n_files + 999) / 1000, g_get_num_processors ());
  printf ("  first index      %7.3f s  (%6.1f ms per 1000 files)\n", t_first, 1000.0 * t_first * 1000 / n_files);
  printf ("  re-index, same   %7.3f s  (%6.1f ms per 1000 files)\n", t_again, 1000.0 * t_again * 1000 / n_files);
  printf ("  re-index, 1%% changed + 1%% removed  %7.3f s  (%u changed, %u removed)\n", t_changed,
          stats.changed, stats.removed);
  g_clear_object (&catalog);
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}

/* A synthetic COCO file: n_images 640×480 images, n_annotations boxes spread over them, each
 * with a small segmentation polygon that the importer must skip. */
static gboolean
write_coco (const char *path, int n_images, int n_annotations, GError **error)
{
  g_autoptr (GString) out = g_string_sized_new ((gsize) n_annotations * 160);
  GRand *rand = g_rand_new_with_seed (1);

  g_string_append (out, "{\"images\": [");
  for (int i = 0; i < n_images; i++)
    g_string_append_printf (out, "%s{\"id\": %d, \"file_name\": \"img%06d.jpg\", \"width\": 640, \"height\": 480}",
                            i ? ",\n" : "", i + 1, i);
  g_string_append (out, "],\n\"categories\": [");
  for (int c = 0; c < 80; c++)
    g_string_append_printf (out, "%s{\"id\": %d, \"name\": \"class %d\"}", c ? ", " : "", c + 1, c);
  g_string_append (out, "],\n\"annotations\": [");
  for (int a = 0; a < n_annotations; a++)
    {
      double x = g_rand_double_range (rand, 0, 500), y = g_rand_double_range (rand, 0, 400);
      double w = g_rand_double_range (rand, 1, 100), h = g_rand_double_range (rand, 1, 60);
      g_string_append_printf (out, "%s{\"id\": %d, \"image_id\": %d, \"category_id\": %d, "
                              "\"segmentation\": [[%.1f, %.1f, %.1f, %.1f, %.1f, %.1f]], \"area\": %.2f, "
                              "\"bbox\": [%.2f, %.2f, %.2f, %.2f], \"iscrowd\": 0}",
                              a ? ",\n" : "", a + 1, a % n_images + 1, a % 80 + 1, x, y, x + w, y, x, y + h, w * h,
                              x, y, w, h);
    }
  g_string_append (out, "]}\n");
  g_rand_free (rand);
  return g_file_set_contents (path, out->str, (gssize) out->len, error);
}

static int
bench_import (int argc, char **argv)
{
  int n_images = 100000, n_annotations = 1000000;
  GOptionEntry entries[] = {
    { "images", 'i', 0, G_OPTION_ARG_INT, &n_images, "Images (default 100000)", "N" },
    { "annotations", 'a', 0, G_OPTION_ARG_INT, &n_annotations, "Annotations (default 1000000)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— import a generated COCO file");
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *tmp = NULL, *images = NULL, *db = NULL, *json = NULL;
  QrImportOptions options = { QR_DATASET_COCO };
  QrImportStats stats;
  GStatBuf st;
  double t_import, t_glib;
  gint64 start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (n_images < 1 || n_annotations < 1)
    return qr_cli_usage_error (context, "--images and --annotations must be positive");

  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  images = g_build_filename (tmp, "images", NULL);
  db = g_build_filename (tmp, "catalog.sqlite", NULL);
  json = g_build_filename (tmp, "instances.json", NULL);
  g_mkdir (images, 0700);
  if (!write_coco (json, n_images, n_annotations, &error))
    goto fail;
  g_stat (json, &st);

  /* Synthetic catalog rows stand for the images: the import matches names, not pixels. */
  catalog = qr_catalog_open (images, db, &error);
  if (catalog == NULL || !qr_catalog_begin (catalog, &error))
    goto fail;
  for (int i = 0; i < n_images; i++)
    {
      g_autoptr (QrImageRecord) r = qr_image_record_new ();
      r->path = g_strdup_printf ("img%06d.jpg", i);
      r->width = 640;
      r->height = 480;
      r->format = g_strdup ("jpeg");
      if (!qr_catalog_put_image (catalog, r, &error))
        goto fail;
    }
  if (!qr_catalog_commit (catalog, &error))
    goto fail;

  options.path = json;
  start = g_get_monotonic_time ();
  if (!qr_dataset_import (catalog, &options, &stats, NULL, NULL, NULL, &error))
    goto fail;
  t_import = seconds_since (start);

  /* The obvious alternative, for scale: json-glib building its tree of the same file. */
  {
    g_autoptr (JsonParser) parser = json_parser_new_immutable ();
    start = g_get_monotonic_time ();
    if (!json_parser_load_from_mapped_file (parser, json, &error))
      goto fail;
    t_glib = seconds_since (start);
  }

  printf ("bench import: COCO file of %.0f MB, %d images, %d annotations, %u cores\n", (double) st.st_size / 1e6,
          n_images, n_annotations, g_get_num_processors ());
  printf ("  quorum import (parse, check, one SQLite transaction)  %7.2f s  (%.0f annotations/s, %u labels)\n",
          t_import, n_annotations / t_import, stats.labels);
  printf ("  json-glib parse of the same file, tree only            %7.2f s\n", t_glib);
  printf ("  ratio json-glib parse / whole quorum import: %.2f×\n", t_glib / t_import);
  g_clear_object (&catalog);
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}

int
qr_cli_compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
qr_cli_bench (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "quorum: bench needs a benchmark: thumbs DIR, index, import, detect, scan, clip, mistakes, captions, dmsm, search, merge, gallery\n");
      return QR_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "thumbs"))
    return bench_thumbs (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "index"))
    return bench_index (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "import"))
    return bench_import (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "detect"))
    return qr_cli_bench_detect (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "clip"))
    return qr_cli_bench_clip (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "scan"))
    return qr_cli_bench_scan (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "captions"))
    return qr_cli_bench_captions (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "dmsm"))
    return qr_cli_bench_dmsm (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "search"))
    return qr_cli_bench_search (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "merge"))
    return qr_cli_bench_merge (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "mistakes"))
    return qr_cli_bench_mistakes (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "gallery"))
#if QUORUM_GUI
    return qr_cli_bench_gallery (argc - 1, argv + 1);
#else
    {
      fprintf (stderr, "quorum: bench gallery needs the app: this build has QUORUM_GUI off\n");
      return QR_EXIT_USAGE;
    }
#endif
  fprintf (stderr, "quorum: unknown benchmark '%s' (thumbs, index, import, detect, clip, mistakes, captions, dmsm, search, merge, gallery)\n", argv[1]);
  return QR_EXIT_USAGE;
}
