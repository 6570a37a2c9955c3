/* cli-datasets.c: the dataset commands: import (labels and captions into a collection, all or
 * nothing) and export (a collection's labels, split, folded or whole, written aside and renamed
 * into place). */
#define G_LOG_DOMAIN "quorum-cli"

#include "qr-cli.h"
#include "qr-dataset.h"

#include <stdio.h>

int
qr_cli_import (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *format = NULL, *names = NULL, *captions = NULL, *mode = NULL;
  gboolean allow_missing = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "coco, yolo, voc or csv", "FORMAT" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "When this dataset was imported before: skip (default: nothing is "
      "added), replace (the earlier import's labels and captions, and those of earlier imports of this path, are "
      "deleted first) or add (imported again beside them)", "MODE" },
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
  qr_cli_add_common_entries_named (context, &common, "PATH");
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
  if (mode != NULL && !qr_import_mode_from_string (mode, &options.mode))
    {
      status = qr_cli_usage_error (context, "--mode must be skip, replace or add");
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
  if (stats.already_imported)
    {
      g_autoptr (GDateTime) at = g_date_time_new_from_unix_local (stats.already_at_us / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (at, "%Y-%m-%d %H:%M");
      /* said even with --quiet: nothing happened, and a script should be able to see why */
      fprintf (stderr, "%s: already imported (import %" G_GINT64_FORMAT ", %s, %" G_GINT64_FORMAT " labels); nothing "
               "added. --mode replace imports it again in place of that one, --mode add beside it\n", options.path,
               stats.import_id, when, stats.already_labels);
    }
  else if (!common.quiet)
    {
      printf ("%s: imported %u labels and %u captions on %u images, %u classes", options.path, stats.labels,
              stats.captions, stats.images, stats.classes);
      if (stats.skipped > 0)
        printf (" (%u images not in the collection skipped)", stats.skipped);
      if (stats.replaced_labels > 0 || stats.replaced_captions > 0)
        printf ("; replaced %" G_GINT64_FORMAT " labels and %" G_GINT64_FORMAT " captions of earlier imports",
                stats.replaced_labels, stats.replaced_captions);
      printf (" (import %" G_GINT64_FORMAT ")\n", stats.import_id);
      if (stats.earlier_same_path > 0 && options.mode == QR_IMPORT_SKIP)
        printf ("note: import %" G_GINT64_FORMAT " read another version of this path; its labels are kept beside "
                "these (--mode replace would have replaced them)\n", stats.earlier_same_path);
    }
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}

int
qr_cli_export (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *format = NULL, *only = NULL, *images = NULL, *fold = NULL;
  double split = 1.0;
  gint64 seed = 0;
  gboolean overwrite = FALSE, allow_empty = FALSE, all_classes = FALSE;
  int status;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "coco, yolo, voc or csv", "FORMAT" },
    { "all-classes", 0, 0, G_OPTION_ARG_NONE, &all_classes, "List every class of the catalog, not only those "
      "the exported labels use (these come first either way)", NULL },
    { "allow-empty", 0, 0, G_OPTION_ARG_NONE, &allow_empty, "Write a dataset even when no image is chosen (else it "
      "is an error)", NULL },
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
  qr_cli_add_common_entries_named (context, &common, "OUT");
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
  if (fold != NULL && !qr_cli_parse_fold (fold, &options.fold, &options.n_folds))
    {
      status = qr_cli_usage_error (context, "--fold must be K/N with 0 <= K < N, N from 2 to 100");
      goto out;
    }
  options.out_dir = common.rest[0];
  options.overwrite = overwrite;
  options.allow_empty = allow_empty;
  options.all_classes = all_classes;

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
    {
      g_autofree char *captions = stats.captions ? g_strdup_printf (" and %u captions (annotations/captions*.json)",
                                                                  stats.captions) : g_strdup ("");
      printf ("%s: %u images (%u train, %u val), %u labels as %s%s\n", options.out_dir, stats.images, stats.train,
              stats.val, stats.labels, qr_dataset_format_to_string (options.format), captions);
    }
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}
