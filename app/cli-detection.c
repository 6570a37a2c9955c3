/* cli-detection.c: the detection commands: detect (images, one JSON line a box; or a collection,
 * stored as a resumable run that Ctrl-C stops cleanly), models (the collection's peers) and
 * devices (what Quorum can run on). */
#define G_LOG_DOMAIN "quorum-cli"

#include "qr-cli.h"
#include "qr-clip.h"
#include "qr-runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* See qr-cli.h: a run of the catalog per detector (qr_run_peers); Ctrl-C
 * keeps what is done. what: the progress line's word. */
int
qr_cli_run_collection (const char *dir, const char *db, gboolean quiet, const char *what, QrPeerRun *runs, guint n_peers,
                       double threshold, int shard, int n_shards)
{
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *shard_db = NULL;
  GError *error = NULL;
  QrCliProgress progress;
  QrIndexOptions index;
  struct sigaction action = { 0 }, previous;
  gboolean ok, stopped = FALSE;

  qr_index_options_init (&index);
  if (n_shards > 1)
    {
      /* a shard: its images only, in a catalog of its own */
      index.shard = shard;
      index.n_shards = n_shards;
      if (db == NULL)
        db = shard_db = qr_cli_shard_db (dir, shard, n_shards);
    }
  catalog = qr_cli_open_catalog (dir, db, &error);
  if (catalog == NULL || !qr_index_collection (catalog, &index, NULL, NULL, NULL, NULL, &error))
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

gboolean
qr_cli_parse_device (const char *device_text, const char *precision_text, QrDetectorOptions *options)
{
  return (device_text == NULL || qr_device_parse (device_text, &options->device))
         && (precision_text == NULL || qr_precision_parse (precision_text, &options->precision));
}

int
qr_cli_detect (int argc, char **argv)
{
  g_autofree char *model_name = NULL;
  g_auto (GStrv) images = NULL;
  double threshold = 0.25;
  int threads = 0;
  g_autofree char *collection = NULL, *db = NULL, *device_text = NULL, *precision_text = NULL, *shard_text = NULL;
  gboolean quiet = FALSE;
  int shard = 0, n_shards = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name, "centernet (default), nanodet, or a model file (TF.js model.json, Darknet .cfg, .tflite, Ultralytics .onnx)", "NAME|PATH" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard_text, "With --collection: only shard K of N of the images, into a "
      "catalog of its own (--db, default beside the collection's)", "K/N" },
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
  if (shard_text != NULL && (collection == NULL || !qr_cli_parse_shard (shard_text, &shard, &n_shards)))
    return qr_cli_usage_error (context, "--shard K/N (0 <= K < N <= 100000) goes with --collection");
  path = qr_cli_resolve_model (model_name ? model_name : "centernet", &error);
  if (path == NULL)
    return qr_cli_fail (error);
  qr_detector_options_init (&options);
  options.score_threshold = (float) threshold;
  options.n_threads = threads;
  if (!qr_cli_parse_device (device_text, precision_text, &options))
    return qr_cli_usage_error (context, "--device is cpu, cuda or auto; --precision is fp16, tf32 or fp32");
  detector = qr_detector_load (path, &options, &error);
  if (detector == NULL)
    return qr_cli_fail (error);
  if (collection != NULL)
    {
      g_autofree char *name = qr_model_name_from_path (model_name ? model_name : "centernet");
      QrPeerRun run = { detector, name, path, { 0 } };
      return qr_cli_run_collection (collection, db, quiet, "Detecting", &run, 1, threshold, shard, n_shards);
    }

  for (guint i = 0; images[i] != NULL; i++)
    {
      /* decoded as a collection's run decodes it (DCT scaling down to the input's side), boxes
       * scaled back: the same boxes as `peers run` stores */
      g_autoptr (QrImage) image = qr_image_load (images[i], NULL, qr_detector_get_decode_side (detector), &error);
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
      qr_detections_to_full (found, image);
      for (guint k = 0; k < found->len; k++)
        {
          QrDetection *d = &g_array_index (found, QrDetection, k);
          g_autoptr (GString) line = g_string_new ("{\"image\": ");
          qr_cli_append_json_string (line, images[i]);
          g_string_append (line, ", \"model\": ");
          qr_cli_append_json_string (line, qr_detector_get_name (detector));
          g_string_append (line, ", \"class\": ");
          qr_cli_append_json_string (line, qr_detector_get_class_name (detector, d->class_id));
          g_string_append_printf (line, ", \"score\": %.3f, \"box\": [%.1f, %.1f, %.1f, %.1f]}", d->score, d->x1,
                                  d->y1, d->x2, d->y2);
          puts (line->str);
        }
    }
  return status;
}

int
qr_cli_models (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *held_out = NULL;
  gint64 fold_seed = 0;
  GOptionEntry entries[] = {
    { "held-out", 0, 0, G_OPTION_ARG_STRING, &held_out, "add: the model was trained without fold K of N (export "
      "--fold K/N): it votes only on that fold's images", "K/N" },
    { "fold-seed", 0, 0, G_OPTION_ARG_INT64, &fold_seed, "add: the --seed those folds were made with (default 0)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("list | add NAME PATH | remove NAME — a collection's "
                                                             "models (add NAME CLIP_FOLDER: a CLIP model, named for "
                                                             "--model NAME)");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GPtrArray) models = NULL;
  GError *error = NULL;
  const char *verb;
  guint n_args;
  int status, fold = -1, n_folds = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries_named (context, &common, "VERB [ARGS]");
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
  if (held_out != NULL && !qr_cli_parse_fold (held_out, &fold, &n_folds))
    {
      status = qr_cli_usage_error (context, "--held-out must be K/N with 0 <= K < N, N from 2 to 100");
      goto out;
    }
  if (g_str_equal (verb, "add") && g_file_test (common.rest[2], G_FILE_TEST_IS_DIR))
    {
      /* a CLIP folder: named in the models folder (a link to it), for --model NAME anywhere */
      g_autoptr (QrClip) clip = qr_clip_load (common.rest[2], QR_DEVICE_CPU, &error);
      g_autofree char *absolute = g_canonicalize_filename (common.rest[2], NULL);
      g_autofree char *folder = qr_get_models_folder ();
      g_autofree char *link = g_build_filename (folder, common.rest[1], NULL);
      if (clip == NULL)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      if (strchr (common.rest[1], G_DIR_SEPARATOR) != NULL || common.rest[1][0] == '.')
        {
          status = qr_cli_usage_error (context, "a model's NAME is a plain name (no '/', not starting with '.')");
          goto out;
        }
      if (g_file_test (link, G_FILE_TEST_EXISTS) || g_file_test (link, G_FILE_TEST_IS_SYMLINK))
        {
          g_printerr ("quorum: %s: a model named %s is there already (remove it first)\n", link, common.rest[1]);
          status = QR_EXIT_ERROR;
          goto out;
        }
      if (g_mkdir_with_parents (folder, 0755) != 0 || symlink (absolute, link) != 0)
        {
          g_printerr ("quorum: %s: %s\n", link, g_strerror (errno));
          status = QR_EXIT_ERROR;
          goto out;
        }
      printf ("added %s (CLIP, %d-value embeddings, %s): use it with --model %s\n", common.rest[1],
              qr_clip_get_dim (clip), absolute, common.rest[1]);
      status = QR_EXIT_OK;
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
  qr_cli_common_clear (&common);
  return status;
}

int
qr_cli_devices (int argc, char **argv)
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
