/* cli.c: `quorum <command>` — index, info, thumbs, bench, devices, version, help.
 * Each command parses its own options (GOptionContext), works on one collection
 * (--collection DIR, or DIR as its argument, default the current folder) and its catalog
 * (--db PATH, default under the XDG data folder), and reports progress on a terminal. */
#define G_LOG_DOMAIN "quorum-cli"

#include "quorum-config.h"
#include "qr-cli.h"
#include "qr-thumbnailer.h"
#include "qr-dataset.h"
#include "qr-detector.h"
#include "qr-peers.h"
#include "qr-review.h"
#include "qr-evaluation.h"
#include "qr-runner.h"
#include "qr-eval.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

typedef struct
{
  const char *name;
  const char *summary;
  int       (*run) (int argc, char **argv);
} Command;

static int cmd_index (int argc, char **argv);
static int cmd_info (int argc, char **argv);
static int cmd_thumbs (int argc, char **argv);
static int cmd_import (int argc, char **argv);
static int cmd_export (int argc, char **argv);
static int cmd_detect (int argc, char **argv);
static int cmd_models (int argc, char **argv);
static int cmd_peers (int argc, char **argv);
static int cmd_review (int argc, char **argv);
static int cmd_eval (int argc, char **argv);
static int cmd_devices (int argc, char **argv);
static int cmd_version (int argc, char **argv);
static int cmd_help (int argc, char **argv);

static const Command commands[] = {
  { "index", "Add a folder's images to its catalog; notice changed, moved and removed files", cmd_index },
  { "info", "Counts, classes, models and unreadable files of a collection", cmd_info },
  { "thumbs", "Make the thumbnails a collection lacks", cmd_thumbs },
  { "detect", "Detect objects: --model NAME|PATH (TF.js, Darknet .cfg, .tflite) IMAGE… (JSON lines)", cmd_detect },
  { "models", "The collection's models (peers): list, add NAME PATH [--held-out K/N], remove NAME", cmd_models },
  { "peers", "Run every peer over a collection: run [--peers centernet,nanodet,centernet-flip,…]", cmd_peers },
  { "review", "The ranked likely mistakes: list [--kind K] [--top N] (JSON lines); update (store for the app)", cmd_review },
  { "eval", "Each peer against the reviewed labels: AP, precision, recall; peer agreement", cmd_eval },
  { "import", "Import labels: --format coco|yolo|voc|csv PATH", cmd_import },
  { "export", "Export labels: --format coco|yolo|voc|csv OUT", cmd_export },
  { "bench", "Benchmarks: thumbs DIR, import, detect, mistakes (beside a named peer); index, gallery (Quorum alone)", qr_cli_bench },
  { "devices", "The compute devices Quorum can use", cmd_devices },
  { "version", "Print the version", cmd_version },
  { "help", "Show this help", cmd_help },
};

void
qr_cli_print_usage (FILE *out)
{
  fprintf (out,
           "Usage: quorum [DIR]              open the app (on DIR, or the last collection)\n"
           "       quorum COMMAND [OPTION…]  run a command without a display\n\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nEvery command that works on a collection takes --collection DIR (default: the\n"
                "current folder) and --db PATH (default: under $XDG_DATA_HOME/quorum).\n"
                "`quorum COMMAND --help` describes a command's options.\n");
}

gboolean
qr_cli_is_command (const char *name)
{
  if (name == NULL)
    return FALSE;
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h") || g_str_equal (name, "--version"))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      return TRUE;
  return FALSE;
}

int
qr_cli_run (int argc, char **argv)
{
  const char *name = argc > 1 ? argv[1] : "help";

  if (g_str_equal (name, "--help") || g_str_equal (name, "-h"))
    name = "help";
  else if (g_str_equal (name, "--version"))
    name = "version";
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "quorum: unknown command '%s' (see 'quorum --help')\n", name);
  return QR_EXIT_USAGE;
}

int
qr_cli_fail (GError *error)
{
  fprintf (stderr, "quorum: %s\n", error ? error->message : "failed");
  g_clear_error (&error);
  return QR_EXIT_ERROR;
}

int
qr_cli_usage_error (GOptionContext *context, const char *message)
{
  fprintf (stderr, "quorum: %s\n", message);
  if (context != NULL)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      fputs (help, stderr);
    }
  return QR_EXIT_USAGE;
}

void
qr_cli_progress_init (QrCliProgress *progress, const char *what, gboolean quiet)
{
  progress->what = what;
  progress->started_us = g_get_monotonic_time ();
  progress->last_print_us = 0;
  progress->enabled = !quiet && isatty (STDERR_FILENO);
}

void
qr_cli_progress_update (guint64 done, guint64 total, gpointer user_data)
{
  QrCliProgress *progress = user_data;
  gint64 now = g_get_monotonic_time ();
  double elapsed = (double) (now - progress->started_us) / G_USEC_PER_SEC;
  double rate = elapsed > 0 ? (double) done / elapsed : 0;

  /* A test hook: die like a killed process right after a committed batch. */
  {
    const char *kill_after = g_getenv ("QUORUM_TEST_KILL_AFTER");
    if (kill_after != NULL && done >= g_ascii_strtoull (kill_after, NULL, 10))
      raise (SIGKILL);
  }

  if (!progress->enabled || (now - progress->last_print_us < 100000 && done < total))
    return;
  progress->last_print_us = now;
  if (total > 0)
    fprintf (stderr, "\r\033[K%s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " (%.0f%%, %.0f/s, %.0f s left)",
             progress->what, done, total, 100.0 * (double) done / (double) total, rate,
             rate > 0 ? (double) (total - done) / rate : 0.0);
  else
    fprintf (stderr, "\r\033[K%s %" G_GUINT64_FORMAT, progress->what, done);
  fflush (stderr);
}

void
qr_cli_progress_end (QrCliProgress *progress)
{
  if (progress->enabled && progress->last_print_us != 0)
    fprintf (stderr, "\r\033[K");
}

QrCatalog *
qr_cli_open_catalog (const char *dir, const char *db_path, GError **error)
{
  return qr_catalog_open (dir != NULL ? dir : ".", db_path, error);
}

/* Options every collection command shares. */
typedef struct
{
  char     *collection;
  char     *db;
  gboolean  quiet;
  char    **rest;
} CommonOptions;

static void
common_options_clear (CommonOptions *common)
{
  g_free (common->collection);
  g_free (common->db);
  g_strfreev (common->rest);
}

/* positional: how --help names the arguments ("[DIR]", "PATH", "OUT"). */
static void
add_common_entries_named (GOptionContext *context, CommonOptions *common, const char *positional)
{
  GOptionEntry entries[] = {
    { "collection", 'c', 0, G_OPTION_ARG_FILENAME, &common->collection, "The collection folder", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &common->db, "The catalog file", "PATH" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &common->quiet, "No progress output", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &common->rest, NULL, positional },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

static void
add_common_entries (GOptionContext *context, CommonOptions *common)
{
  add_common_entries_named (context, common, "[DIR]");
}

/* Parses; returns -1 to go on, else an exit code. DIR may come as an argument. */
static int
parse_collection_command (GOptionContext *context, CommonOptions *common, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (common->rest != NULL && common->rest[0] != NULL)
    {
      if (common->rest[1] != NULL || common->collection != NULL)
        return qr_cli_usage_error (context, "give one collection folder");
      common->collection = g_strdup (common->rest[0]);
    }
  return -1;
}

static int
cmd_index (int argc, char **argv)
{
  CommonOptions common = { 0 };
  int batch = 256, threads = 0, status;
  GOptionEntry entries[] = {
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Files per transaction (default 256)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Probing threads (default: one per core)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— index a collection folder");
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrIndexOptions options;
  QrIndexStats stats;
  QrCliProgress progress;
  gint64 start;

  add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  if (batch < 1)
    {
      status = qr_cli_usage_error (context, "--batch must be at least 1");
      goto out;
    }

  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  qr_index_options_init (&options);
  options.batch_size = (guint) batch;
  options.n_threads = threads;
  qr_cli_progress_init (&progress, "Indexing", common.quiet);
  start = g_get_monotonic_time ();
  if (!qr_index_collection (catalog, &options, &stats, qr_cli_progress_update, &progress, NULL, &error))
    {
      qr_cli_progress_end (&progress);
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_end (&progress);
  if (!common.quiet)
    printf ("%s: %u images in %.2f s: %u added, %u changed, %u moved, %u removed, %u unchanged, "
            "%u unreadable\n",
            qr_catalog_get_root (catalog), stats.seen,
            (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, stats.added, stats.changed,
            stats.moved, stats.removed, stats.unchanged, stats.unreadable);
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_info (int argc, char **argv)
{
  CommonOptions common = { 0 };
  gboolean as_json = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— describe a collection");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GPtrArray) unreadable = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  GError *error = NULL;
  QrCatalogStats stats;

  add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;

  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL || !qr_catalog_get_stats (catalog, &stats, &error)
      || (unreadable = qr_catalog_list_images (catalog, QR_IMAGE_STATE_UNREADABLE, &error)) == NULL
      || (classes = qr_catalog_list_classes (catalog, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }

  if (as_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "root");
      json_builder_add_string_value (b, qr_catalog_get_root (catalog));
      json_builder_set_member_name (b, "catalog");
      json_builder_add_string_value (b, qr_catalog_get_db_path (catalog));
#define ADD_COUNT(name, field) json_builder_set_member_name (b, name); json_builder_add_int_value (b, stats.field)
      ADD_COUNT ("images", images);
      ADD_COUNT ("ok", images_ok);
      ADD_COUNT ("unreadable", images_unreadable);
      ADD_COUNT ("missing", images_missing);
      ADD_COUNT ("thumbnails", thumbnails);
      ADD_COUNT ("labels", labels);
      ADD_COUNT ("detections", detections);
      ADD_COUNT ("models", models);
      ADD_COUNT ("runs", runs);
      ADD_COUNT ("reviewed", reviewed);
#undef ADD_COUNT
      json_builder_set_member_name (b, "classes");
      json_builder_begin_array (b);
      for (guint i = 0; i < classes->len; i++)
        json_builder_add_string_value (b, classes->pdata[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "unreadable_files");
      json_builder_begin_array (b);
      for (guint i = 0; i < unreadable->len; i++)
        {
          QrImageRecord *r = unreadable->pdata[i];
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, r->path);
          json_builder_set_member_name (b, "reason");
          json_builder_add_string_value (b, r->reason);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      printf ("Collection   %s\n", qr_catalog_get_root (catalog));
      printf ("Catalog      %s (schema %d)\n", qr_catalog_get_db_path (catalog),
              qr_catalog_get_schema_version (catalog));
      printf ("Images       %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " readable, %" G_GINT64_FORMAT
              " unreadable, %" G_GINT64_FORMAT " missing)\n",
              stats.images, stats.images_ok, stats.images_unreadable, stats.images_missing);
      printf ("Thumbnails   %" G_GINT64_FORMAT "\n", stats.thumbnails);
      printf ("Labels       %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " images reviewed)\n", stats.labels,
              stats.reviewed);
      printf ("Detections   %" G_GINT64_FORMAT " in %" G_GINT64_FORMAT " runs of %" G_GINT64_FORMAT
              " models\n", stats.detections, stats.runs, stats.models);
      printf ("Classes      %u", classes->len);
      for (guint i = 0; i < classes->len; i++)
        printf ("%s%s", i == 0 ? ": " : ", ", (const char *) classes->pdata[i]);
      printf ("\n");
      if (unreadable->len > 0)
        {
          printf ("\nUnreadable files:\n");
          for (guint i = 0; i < unreadable->len; i++)
            {
              QrImageRecord *r = unreadable->pdata[i];
              printf ("  %s: %s\n", r->path, r->reason ? r->reason : "unknown reason");
            }
        }
    }
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_thumbs (int argc, char **argv)
{
  CommonOptions common = { 0 };
  int size = QR_THUMBNAIL_DEFAULT_SIZE, threads = 0, status;
  GOptionEntry entries[] = {
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "Longer side of a thumbnail (default 256)", "PX" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (default: one per core)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— make missing thumbnails");
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrThumbnailOptions options;
  QrThumbnailStats stats;
  QrCliProgress progress;
  gint64 start;

  add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  if (size < 16 || size > 2048)
    {
      status = qr_cli_usage_error (context, "--size must be between 16 and 2048");
      goto out;
    }
  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  qr_thumbnail_options_init (&options);
  options.max_side = size;
  options.n_threads = threads;
  qr_cli_progress_init (&progress, "Thumbnails", common.quiet);
  start = g_get_monotonic_time ();
  if (!qr_thumbnails_update (catalog, &options, &stats, qr_cli_progress_update, &progress, NULL, &error))
    {
      qr_cli_progress_end (&progress);
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_end (&progress);
  if (!common.quiet)
    printf ("%s: %u thumbnails made in %.2f s, %u files unreadable\n", qr_catalog_get_root (catalog),
            stats.made, (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC, stats.failed);
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_import (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *format = NULL, *names = NULL, *captions = NULL;
  gboolean allow_missing = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "coco, yolo, voc or csv", "FORMAT" },
    { "names", 0, 0, G_OPTION_ARG_FILENAME, &names, "YOLO: the class names file", "FILE" },
    { "captions", 0, 0, G_OPTION_ARG_FILENAME, &captions, "COCO: a captions file to import too", "FILE" },
    { "allow-missing", 0, 0, G_OPTION_ARG_NONE, &allow_missing, "Skip labels of images the collection lacks", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— import a labeled dataset into a collection");
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrImportOptions options = { 0 };
  QrImportStats stats;
  QrIndexStats istats;
  QrCliProgress progress;

  g_option_context_add_main_entries (context, entries, NULL);
  add_common_entries_named (context, &common, "PATH");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (format == NULL || !qr_dataset_format_from_string (format, &options.format))
    {
      status = qr_cli_usage_error (context, "--format must be coco, yolo, voc or csv");
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || common.rest[1] != NULL)
    {
      status = qr_cli_usage_error (context, "give one dataset file or folder to import");
      goto out;
    }
  options.path = common.rest[0];
  options.names_path = names;
  options.captions_path = captions;
  options.allow_missing = allow_missing;

  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  /* The images must be in the catalog to receive labels: bring it up to date first. */
  if (catalog == NULL || !qr_index_collection (catalog, NULL, &istats, NULL, NULL, NULL, &error))
    {
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_init (&progress, "Importing", common.quiet);
  if (!qr_dataset_import (catalog, &options, &stats, qr_cli_progress_update, &progress, NULL, &error))
    {
      qr_cli_progress_end (&progress);
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_end (&progress);
  if (!common.quiet)
    {
      printf ("%s: imported %u labels and %u captions on %u images, %u classes", options.path, stats.labels,
              stats.captions, stats.images, stats.classes);
      if (stats.skipped > 0)
        printf (" (%u images not in the collection skipped)", stats.skipped);
      printf ("\n");
    }
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

/* "K/N": fold K (0-based) of N. */
static gboolean
parse_fold (const char *text, int *fold, int *n)
{
  char *end;
  long k, total;
  if (text == NULL)
    return FALSE;
  k = strtol (text, &end, 10);
  if (end == text || *end != '/')
    return FALSE;
  total = strtol (end + 1, &end, 10);
  if (*end != '\0' || total < 2 || total > 100 || k < 0 || k >= total)
    return FALSE;
  *fold = (int) k;
  *n = (int) total;
  return TRUE;
}

static int
cmd_export (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *format = NULL, *only = NULL, *images = NULL, *fold = NULL;
  double split = 1.0;
  gint64 seed = 0;
  gboolean overwrite = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "coco, yolo, voc or csv", "FORMAT" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "all (default), reviewed or corrected", "WHICH" },
    { "split", 0, 0, G_OPTION_ARG_DOUBLE, &split, "Train share, e.g. 0.9 (default 1: no split)", "SHARE" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the split (default 0)", "N" },
    { "fold", 0, 0, G_OPTION_ARG_STRING, &fold, "K/N: val is fold K of N, train the other folds (to train a peer "
      "out of fold; see models add --held-out)", "K/N" },
    { "images", 0, 0, G_OPTION_ARG_STRING, &images, "none (default), copy or link", "HOW" },
    { "overwrite", 0, 0, G_OPTION_ARG_NONE, &overwrite, "Replace OUT if it exists", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— export a collection's labels");
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrExportOptions options;
  QrExportStats stats;
  QrCliProgress progress;

  qr_export_options_init (&options);
  g_option_context_add_main_entries (context, entries, NULL);
  add_common_entries_named (context, &common, "OUT");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (format == NULL || !qr_dataset_format_from_string (format, &options.format))
    {
      status = qr_cli_usage_error (context, "--format must be coco, yolo, voc or csv");
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || common.rest[1] != NULL)
    {
      status = qr_cli_usage_error (context, "give one output folder");
      goto out;
    }
  if (only == NULL || g_str_equal (only, "all"))
    options.filter = QR_LABEL_FILTER_ALL;
  else if (g_str_equal (only, "reviewed"))
    options.filter = QR_LABEL_FILTER_REVIEWED;
  else if (g_str_equal (only, "corrected"))
    options.filter = QR_LABEL_FILTER_CORRECTED;
  else
    {
      status = qr_cli_usage_error (context, "--only must be all, reviewed or corrected");
      goto out;
    }
  if (images == NULL || g_str_equal (images, "none"))
    options.images = QR_EXPORT_IMAGES_NONE;
  else if (g_str_equal (images, "copy"))
    options.images = QR_EXPORT_IMAGES_COPY;
  else if (g_str_equal (images, "link"))
    options.images = QR_EXPORT_IMAGES_LINK;
  else
    {
      status = qr_cli_usage_error (context, "--images must be none, copy or link");
      goto out;
    }
  if (!(split > 0 && split <= 1))
    {
      status = qr_cli_usage_error (context, "--split must be above 0 and at most 1");
      goto out;
    }
  options.split = split;
  options.seed = (guint64) seed;
  if (fold != NULL && !parse_fold (fold, &options.fold, &options.n_folds))
    {
      status = qr_cli_usage_error (context, "--fold must be K/N with 0 <= K < N, N from 2 to 100");
      goto out;
    }
  options.out_dir = common.rest[0];
  options.overwrite = overwrite;

  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_init (&progress, "Exporting", common.quiet);
  if (!qr_dataset_export (catalog, &options, &stats, qr_cli_progress_update, &progress, NULL, &error))
    {
      qr_cli_progress_end (&progress);
      status = qr_cli_fail (error);
      goto out;
    }
  qr_cli_progress_end (&progress);
  if (!common.quiet)
    printf ("%s: %u images (%u train, %u val), %u labels as %s\n", options.out_dir, stats.images, stats.train,
            stats.val, stats.labels, qr_dataset_format_to_string (options.format));
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
qr_cli_resolve_model (const char *name, GError **error)
{
  return qr_find_model (name, error);
}

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int sig)
{
  interrupted = 1;
}

static gboolean
abort_if_interrupted (gpointer data)
{
  return interrupted != 0;
}

/* Detectors over a collection in one pass, each as a run of the catalog (qr_run_peers): Ctrl-C
 * keeps what is done. what: the progress line's word. */
static int
run_collection (const char *dir, const char *db, gboolean quiet, const char *what, QrPeerRun *runs, guint n_peers,
                double threshold)
{
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  QrCliProgress progress;
  struct sigaction action = { 0 }, previous;
  gboolean ok, stopped = FALSE;

  catalog = qr_cli_open_catalog (dir, db, &error);
  if (catalog == NULL || !qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error))
    return qr_cli_fail (error);
  action.sa_handler = on_interrupt;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, &previous);
  qr_cli_progress_init (&progress, what, quiet);
  ok = qr_run_peers (catalog, runs, n_peers, threshold, abort_if_interrupted, NULL, qr_cli_progress_update, &progress,
                     &error);
  qr_cli_progress_end (&progress);
  sigaction (SIGINT, &previous, NULL);
  if (!ok)
    return qr_cli_fail (error);
  for (guint i = 0; i < n_peers; i++)
    {
      const QrRunStats *stats = &runs[i].stats;
      if (stats->stopped)
        fprintf (stderr, "quorum: %s%sinterrupted after %u of %u images; their %u detections are kept, rerun to resume\n",
                 n_peers > 1 ? runs[i].name : "", n_peers > 1 ? " " : "", stats->images, stats->remaining,
                 stats->detections);
      else if (!quiet)
        printf ("%s: run %" G_GINT64_FORMAT " of %s: %u images, %u detections%s\n", qr_catalog_get_root (catalog),
                stats->run_id, runs[i].name, stats->images, stats->detections,
                stats->remaining == 0 ? " (already complete)" : "");
      stopped = stopped || stats->stopped;
    }
  return stopped ? QR_EXIT_ERROR : QR_EXIT_OK;
}

static gboolean
parse_device (const char *device_text, const char *precision_text, QrDetectorOptions *options)
{
  return (device_text == NULL || qr_device_parse (device_text, &options->device))
         && (precision_text == NULL || qr_precision_parse (precision_text, &options->precision));
}

static int
cmd_detect (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_auto (GStrv) images = NULL;
  double threshold = 0.25;
  int threads = 0;
  g_autofree char *collection = NULL, *db = NULL, *device_text = NULL, *precision_text = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name, "centernet (default), nanodet, or a model.json", "NAME|PATH" },
    { "collection", 'c', 0, G_OPTION_ARG_FILENAME, &collection, "Detect over a collection, stored as a run", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The catalog file", "PATH" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, "Lowest score reported (default 0.25)", "SCORE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: one per core)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "cpu, cuda or auto (default: the GPU where one is usable, else the CPU)", "DEVICE" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_text, "On CUDA: fp16 (default), tf32 or fp32", "P" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &images, NULL, "IMAGE…" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— detect objects, one JSON line per box");
  g_autoptr (QrDetector) detector = NULL;
  g_autofree char *path = NULL;
  GError *error = NULL;
  QrDetectorOptions options;
  int status = QR_EXIT_OK;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      return status;
    }
  if (collection != NULL && images != NULL && images[0] != NULL)
    return qr_cli_usage_error (context, "give images or --collection, not both");
  if (collection == NULL && (images == NULL || images[0] == NULL))
    return qr_cli_usage_error (context, "give one or more images, or --collection DIR");
  path = qr_cli_resolve_model (model_name ? model_name : "centernet", &error);
  if (path == NULL)
    return qr_cli_fail (error);
  qr_detector_options_init (&options);
  options.score_threshold = (float) threshold;
  options.n_threads = threads;
  if (!parse_device (device_text, precision_text, &options))
    return qr_cli_usage_error (context, "--device is cpu, cuda or auto; --precision is fp16, tf32 or fp32");
  detector = qr_detector_load (path, &options, &error);
  if (detector == NULL)
    return qr_cli_fail (error);
  if (collection != NULL)
    {
      g_autofree char *name = qr_model_name_from_path (model_name ? model_name : "centernet");
      QrPeerRun run = { detector, name, path, { 0 } };
      return run_collection (collection, db, quiet, "Detecting", &run, 1, threshold);
    }

  for (guint i = 0; images[i] != NULL; i++)
    {
      g_autoptr (QrImage) image = qr_image_load (images[i], NULL, 0, &error);
      g_autoptr (GArray) found = NULL;
      if (image == NULL)
        {
          fprintf (stderr, "quorum: %s\n", error->message);
          g_clear_error (&error);
          status = QR_EXIT_ERROR;
          continue;
        }
      found = qr_detector_detect (detector, image, NULL, NULL, &error);
      if (found == NULL)
        return qr_cli_fail (error);
      for (guint k = 0; k < found->len; k++)
        {
          QrDetection *d = &g_array_index (found, QrDetection, k);
          g_autoptr (GString) line = g_string_new ("{\"image\": ");
          append_json_string (line, images[i]);
          g_string_append (line, ", \"model\": ");
          append_json_string (line, qr_detector_get_name (detector));
          g_string_append (line, ", \"class\": ");
          append_json_string (line, qr_detector_get_class_name (detector, d->class_id));
          g_string_append_printf (line, ", \"score\": %.3f, \"box\": [%.1f, %.1f, %.1f, %.1f]}", d->score, d->x1,
                                  d->y1, d->x2, d->y2);
          puts (line->str);
        }
    }
  return status;
}

#define DEFAULT_PEERS "centernet,nanodet,centernet-flip,nanodet-flip"

static int
cmd_peers (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *peers_text = NULL, *device_text = NULL, *precision_text = NULL;
  double threshold = 0.1;
  int threads = 0, status = QR_EXIT_OK;
  GOptionEntry entries[] = {
    { "peers", 'p', 0, G_OPTION_ARG_STRING, &peers_text, "Comma-separated peers; NAME-flip is NAME on mirrored images (default "
      DEFAULT_PEERS ")", "LIST" },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, "Lowest score a peer reports (default 0.1: weak votes count)", "SCORE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: one per core)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "cpu, cuda or auto (default: the GPU where one is usable, else the CPU)", "DEVICE" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_text, "On CUDA: fp16 (default), tf32 or fp32", "P" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— run the peers over a collection (resumable)");
  g_auto (GStrv) peers = NULL, names = NULL, paths = NULL;
  g_autofree QrPeerRun *runs = NULL;
  guint n_peers = 0;
  GError *error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  add_common_entries_named (context, &common, "run");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || !g_str_equal (common.rest[0], "run") || common.rest[1] != NULL)
    {
      status = qr_cli_usage_error (context, "say: quorum peers run");
      goto out;
    }
  peers = g_strsplit (peers_text ? peers_text : DEFAULT_PEERS, ",", -1);
  n_peers = g_strv_length (peers);
  runs = g_new0 (QrPeerRun, MAX (n_peers, 1));
  names = g_new0 (char *, n_peers + 1);
  paths = g_new0 (char *, n_peers + 1);
  /* every peer loads before any runs: a missing model is said at once */
  for (guint i = 0; i < n_peers; i++)
    {
      gboolean flip = g_str_has_suffix (peers[i], "-flip");
      g_autofree char *base = flip ? g_strndup (peers[i], strlen (peers[i]) - 5) : g_strdup (peers[i]);
      QrDetectorOptions options;

      paths[i] = qr_cli_resolve_model (base, &error);
      if (paths[i] == NULL)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      qr_detector_options_init (&options);
      options.score_threshold = (float) threshold;
      options.n_threads = threads;
      options.flip = flip;
      if (!parse_device (device_text, precision_text, &options))
        {
          status = qr_cli_usage_error (context, "--device is cpu, cuda or auto; --precision is fp16, tf32 or fp32");
          goto out;
        }
      runs[i].detector = qr_detector_load (paths[i], &options, &error);
      if (runs[i].detector == NULL)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      names[i] = qr_model_name_from_path (peers[i]);
      runs[i].name = names[i];
      runs[i].path = paths[i];
    }
  status = run_collection (common.collection ? common.collection : ".", common.db, common.quiet, "Peers", runs, n_peers,
                           threshold);
out:
  for (guint i = 0; runs != NULL && i < n_peers; i++)
    g_clear_pointer (&runs[i].detector, qr_detector_free);
  common_options_clear (&common);
  return status;
}

static int
cmd_review (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *kind_text = NULL, *peers_text = NULL, *class_text = NULL;
  int top = 50, status;
  GOptionEntry entries[] = {
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_text, "missing, spurious, wrong_class, poorly_located or model_mistake", "KIND" },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_text, "Only items of this class (the consensus's, or the label's)", "NAME" },
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, "How many (default 50; 0 for all)", "N" },
    { "peers", 'p', 0, G_OPTION_ARG_STRING, &peers_text, "Comma-separated peers (default: every model with a run)", "LIST" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("list | update — the ranked review queue as JSON lines, "
                                                             "or stored for the app");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrReview) review = NULL;
  GError *error = NULL;
  QrMistakeKind want_kind = QR_MISTAKE_MODEL;
  g_auto (GStrv) wanted = NULL;
  gboolean update;
  guint shown = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  add_common_entries_named (context, &common, "list");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || common.rest[1] != NULL
      || !(g_str_equal (common.rest[0], "list") || g_str_equal (common.rest[0], "update")))
    {
      status = qr_cli_usage_error (context, "say: quorum review list, or quorum review update");
      goto out;
    }
  update = g_str_equal (common.rest[0], "update");
  if (kind_text != NULL && !qr_mistake_kind_from_string (kind_text, &want_kind))
    {
      status = qr_cli_usage_error (context, "--kind must be missing, spurious, wrong_class, poorly_located or model_mistake");
      goto out;
    }
  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  wanted = peers_text ? g_strsplit (peers_text, ",", -1) : NULL;
  if (catalog == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (update)
    {
      gint64 n = qr_review_update (catalog, (const char *const *) wanted, &error);
      if (n < 0)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      if (!common.quiet)
        printf ("review queue: %" G_GINT64_FORMAT " items stored (decisions already taken keep theirs out)\n", n);
      status = QR_EXIT_OK;
      goto out;
    }
  review = qr_review_compute (catalog, (const char *const *) wanted, &error);
  if (review == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (class_text != NULL)
    {
      GHashTableIter iter;
      gpointer value;
      gboolean known = FALSE;
      g_hash_table_iter_init (&iter, review->class_names);
      while (!known && g_hash_table_iter_next (&iter, NULL, &value))
        known = g_strcmp0 (value, class_text) == 0;
      if (!known)
        {
          fprintf (stderr, "quorum: no class named \"%s\" in %s\n", class_text, qr_catalog_get_root (catalog));
          status = QR_EXIT_ERROR;
          goto out;
        }
    }
  for (guint i = 0; i < review->items->len && (top <= 0 || shown < (guint) top); i++)
    {
      QrReviewItem *r = &g_array_index (review->items, QrReviewItem, i);
      g_autoptr (QrImageRecord) image = NULL;
      gint64 cls = r->mistake.class_id;
      const char *class_name = g_hash_table_lookup (review->class_names, &cls);
      g_autoptr (GString) line = g_string_new ("{\"image\": ");
      g_autofree char *votes = NULL;

      if (kind_text != NULL && r->mistake.kind != want_kind)
        continue;
      if (class_text != NULL)
        {
          gint64 lc = r->mistake.label_class_id;
          const char *label_class = lc >= 0 ? g_hash_table_lookup (review->class_names, &lc) : NULL;
          if (g_strcmp0 (class_name, class_text) != 0 && g_strcmp0 (label_class, class_text) != 0)
            continue;
        }
      shown++;
      image = qr_catalog_get_image (catalog, r->image_id, NULL);
      append_json_string (line, image ? image->path : "?");
      g_string_append_printf (line, ", \"kind\": \"%s\", \"score\": %.3f, \"class\": ",
                              qr_mistake_kind_to_string (r->mistake.kind), r->mistake.score);
      append_json_string (line, class_name ? class_name : "?");
      g_string_append_printf (line, ", \"box\": [%.1f, %.1f, %.1f, %.1f], \"label_id\": ", r->mistake.x1, r->mistake.y1,
                              r->mistake.x2, r->mistake.y2);
      if (r->mistake.label_id >= 0)
        g_string_append_printf (line, "%" G_GINT64_FORMAT, r->mistake.label_id);
      else
        g_string_append (line, "null");
      if (r->mistake.label_class_id >= 0 && r->mistake.label_class_id != r->mistake.class_id)
        {
          gint64 lc = r->mistake.label_class_id;
          const char *name = g_hash_table_lookup (review->class_names, &lc);
          g_string_append (line, ", \"label_class\": ");
          append_json_string (line, name ? name : "?");
        }
      if (r->mistake.peer >= 0)
        {
          g_string_append (line, ", \"peer\": ");
          append_json_string (line, review->peer_names->pdata[r->mistake.peer]);
        }
      votes = qr_review_votes_json (review, &r->mistake);
      g_string_append_printf (line, ", \"votes\": %s}", votes);
      puts (line->str);
    }
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_eval (int argc, char **argv)
{
  CommonOptions common = { 0 };
  gboolean all_labels = FALSE, per_class = FALSE;
  double threshold = 0.25;
  int status;
  GOptionEntry entries[] = {
    { "all-labels", 'a', 0, G_OPTION_ARG_NONE, &all_labels, "Use every label, not only reviewed images'", NULL },
    { "per-class", 0, 0, G_OPTION_ARG_NONE, &per_class, "A line per class too", NULL },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, "Score threshold for precision and recall (default 0.25)", "SCORE" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— how good each peer is, and how often they agree");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrCollectionEval) eval = NULL;
  GError *error = NULL;
  guint n;

  add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL || (eval = qr_collection_evaluate (catalog, all_labels, threshold, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  n = eval->peer_names->len;
  printf ("%u images with %s labels, %u peers; precision and recall at score ≥ %.2f, IoU 0.5\n\n",
          eval->n_images, all_labels ? "their" : "reviewed", n, threshold);
  printf ("%-16s %8s %12s %10s %8s\n", "peer", "mAP@0.5", "mAP@.5:.95", "precision", "recall");
  for (guint p = 0; p < n; p++)
    {
      GArray *e = eval->per_class->pdata[p];
      printf ("%-16s %8.3f %12.3f %10.3f %8.3f\n", (char *) eval->peer_names->pdata[p], eval->map50[p],
              eval->map50_95[p], eval->precision[p], eval->recall[p]);
      for (guint c = 0; per_class && c < e->len; c++)
        {
          QrClassEval *x = &g_array_index (e, QrClassEval, c);
          gint64 id = x->class_id;
          const char *cname = g_hash_table_lookup (eval->class_names, &id);
          printf ("  %-14s %8.3f %12.3f %10.3f %8.3f  (%u labels)\n", cname ? cname : "?", x->ap50, x->ap50_95,
                  x->precision, x->recall, x->n_labels);
        }
    }
  printf ("\nAgreement (row's boxes that the column also found, score ≥ %.2f, IoU 0.5):\n%-16s", threshold, "");
  for (guint q = 0; q < n; q++)
    printf (" %14.14s", (char *) eval->peer_names->pdata[q]);
  printf ("\n");
  for (guint p = 0; p < n; p++)
    {
      printf ("%-16.16s", (char *) eval->peer_names->pdata[p]);
      for (guint q = 0; q < n; q++)
        printf (" %14.2f", eval->agreement[p * n + q]);
      printf ("\n");
    }
  printf ("\nLabel-mistake scores (%u items):\n", eval->n_items);
  for (int b = 0; b < 10; b++)
    {
      guint width = eval->n_items > 0 ? (eval->histogram[b] * 50 + eval->n_items - 1) / eval->n_items : 0;
      printf ("  %.1f–%.1f %5u ", b / 10.0, (b + 1) / 10.0, eval->histogram[b]);
      for (guint w = 0; w < width; w++)
        fputs ("█", stdout);
      printf ("\n");
    }
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_models (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *held_out = NULL;
  gint64 fold_seed = 0;
  GOptionEntry entries[] = {
    { "held-out", 0, 0, G_OPTION_ARG_STRING, &held_out, "add: the model was trained without fold K of N (export "
      "--fold K/N): it votes only on that fold's images", "K/N" },
    { "fold-seed", 0, 0, G_OPTION_ARG_INT64, &fold_seed, "add: the --seed those folds were made with (default 0)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("list | add NAME PATH | remove NAME — a collection's models");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GPtrArray) models = NULL;
  GError *error = NULL;
  const char *verb;
  guint n_args;
  int status, fold = -1, n_folds = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  add_common_entries_named (context, &common, "VERB [ARGS]");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  n_args = common.rest ? g_strv_length (common.rest) : 0;
  verb = n_args > 0 ? common.rest[0] : "list";
  if (!(g_str_equal (verb, "list") && n_args <= 1) && !(g_str_equal (verb, "add") && n_args == 3)
      && !(g_str_equal (verb, "remove") && n_args == 2))
    {
      status = qr_cli_usage_error (context, "say list, add NAME PATH, or remove NAME");
      goto out;
    }
  if (held_out != NULL && !parse_fold (held_out, &fold, &n_folds))
    {
      status = qr_cli_usage_error (context, "--held-out must be K/N with 0 <= K < N, N from 2 to 100");
      goto out;
    }
  catalog = qr_cli_open_catalog (common.collection, common.db, &error);
  if (catalog == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (g_str_equal (verb, "add"))
    {
      g_autoptr (QrDetector) detector = qr_detector_load (common.rest[2], NULL, &error);
      g_autofree char *absolute = g_canonicalize_filename (common.rest[2], NULL);
      if (detector == NULL
          || qr_catalog_add_model (catalog, common.rest[1],
                                   qr_detector_get_format (detector), absolute,
                                   &error) < 0)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      if (n_folds > 0 && !qr_catalog_set_model_fold (catalog, common.rest[1], fold, n_folds, fold_seed, &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      printf ("added %s (%s, %s)%s\n", common.rest[1], qr_detector_get_name (detector), absolute,
              n_folds > 0 ? ": votes only on the fold it did not see" : "");
    }
  else if (g_str_equal (verb, "remove"))
    {
      if (!qr_catalog_remove_model (catalog, common.rest[1], &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      printf ("removed %s with its runs and detections\n", common.rest[1]);
    }
  else
    {
      g_autofree char *default_path = qr_cli_resolve_model ("centernet", NULL);
      gboolean have_default = FALSE;
      models = qr_catalog_list_models (catalog, &error);
      if (models == NULL)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      for (guint i = 0; i < models->len; i++)
        {
          QrModelRecord *m = models->pdata[i];
          have_default |= g_str_equal (m->name, "centernet");
          g_autofree char *fold_note = m->n_folds > 0 ? g_strdup_printf ("  (held out fold %d/%d)", m->held_out_fold,
                                                                          m->n_folds) : g_strdup ("");
          printf ("%-12s %-5s %4" G_GINT64_FORMAT " runs %8" G_GINT64_FORMAT " detections  %s%s\n", m->name, m->kind,
                  m->runs, m->detections, m->location ? m->location : "", fold_note);
        }
      if (!have_default)
        printf ("%-12s %-5s (the default; not run on this collection yet)  %s\n", "centernet", "tfjs",
                default_path ? default_path : "not installed: run tools/fetch-models.sh");
    }
  status = QR_EXIT_OK;
out:
  common_options_clear (&common);
  return status;
}

static int
cmd_devices (int argc, char **argv)
{
  printf ("cpu: %u cores\n", g_get_num_processors ());
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *text = qr_engine_cuda_describe (&error);
    if (text != NULL)
      fputs (text, stdout);
    else
      printf ("cuda: unavailable (%s)\n", error->message);
  }
  return QR_EXIT_OK;
}

static int
cmd_version (int argc, char **argv)
{
  printf ("quorum %s (GUI %s, CUDA %s)\n", QUORUM_VERSION, QUORUM_GUI ? "on" : "off",
          QUORUM_HAVE_CUDA ? "on" : "off");
  return QR_EXIT_OK;
}

static int
cmd_help (int argc, char **argv)
{
  qr_cli_print_usage (stdout);
  return QR_EXIT_OK;
}
