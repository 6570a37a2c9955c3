/* cli-caption-model.c: `quorum captions train`: the caption model (DMSM) trained on the
 * collection's captions: backbone features first (resumable), then the epochs, one line each;
 * Ctrl-C stops cleanly (finished epochs are kept and the next train resumes). */
#define G_LOG_DOMAIN "quorum-cli"

#include "qr-cli.h"
#include "qr-caption-model.h"
#include "qr-detector.h"

#include <signal.h>
#include <stdio.h>

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

static void
print_epoch (const QrCaptionEpoch *e, gpointer data)
{
  gboolean json = GPOINTER_TO_INT (data);
  static char *said_device;
  /* the out-of-fold judges' epochs, after the model's, say which judge */
  g_autofree char *who = e->judge < 0 ? g_strdup ("")
                         : json ? g_strdup_printf ("\"judge\": %d, \"judges\": %d, ", e->judge + 1, e->judges)
                                : g_strdup_printf ("judge %d/%d  ", e->judge + 1, e->judges);

  /* where it trains, said on the first epoch and whenever it changes (a resumed judge on another device) */
  if (!json && e->device != NULL && g_strcmp0 (said_device, e->device) != 0)
    {
      g_free (said_device);
      said_device = g_strdup (e->device);
      fprintf (stderr, "training on %s\n", e->device);
    }
  if (json)
    printf ("{%s\"epoch\": %d, \"epochs\": %d, \"loss\": %.4f, \"recall_at_1\": %.3f, \"recall_at_5\": %.3f,"
            " \"held_out\": %u, \"seconds\": %.2f, \"device\": \"%s\"}\n", who, e->epoch, e->epochs, e->loss, e->recall_at_1, e->recall_at_5,
            e->held_out_captions, e->seconds, e->device ? e->device : "cpu");
  else if (e->held_out_captions == 0)
    printf ("%sepoch %d/%d  loss %.4f  (no held-out captions)  %.1f s\n", who, e->epoch, e->epochs, e->loss, e->seconds);
  else
    printf ("%sepoch %d/%d  loss %.4f  held-out recall@1 %.3f  @5 %.3f  (%u captions)  %.1f s\n", who, e->epoch,
            e->epochs, e->loss, e->recall_at_1, e->recall_at_5, e->held_out_captions, e->seconds);
  fflush (stdout);
}

int
qr_cli_captions_train (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  QrCaptionTrainOptions options;
  g_autofree char *device_text = NULL;
  gboolean restart = FALSE, json = FALSE;
  int epochs = 0, batch = 0, seed = 0, judges = -1, status;
  GOptionEntry entries[] = {
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs in all (default 20)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Captions a step (default 64)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Weights, order and the held-out fold (default 1)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "Where the backbone and the training run: cpu, cuda or auto (auto trains on the CPU)", "DEVICE" },
    { "judges", 0, 0, G_OPTION_ARG_INT, &judges, "Out-of-fold judges trained after the model, for the caption review (default 5; 0: none)", "N" },
    { "restart", 0, 0, G_OPTION_ARG_NONE, &restart, "Start over instead of resuming a stopped run", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON line an epoch", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
    "— train the caption model (DMSM) on the collection's captions; a stopped run resumes");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *backbone_path = NULL;
  QrDevice device = QR_DEVICE_AUTO;
  struct sigaction action = { 0 }, previous;
  GError *error = NULL;
  guint computed = 0, failed = 0;
  gint64 model_id;

  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries (context, &common);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  qr_caption_train_options_init (&options);
  if (epochs < 0 || epochs > 10000 || batch < 0 || batch == 1 || batch > 4096 || seed < 0 || judges < -1 || judges == 1
      || judges > 20 || (device_text != NULL && !qr_device_parse (device_text, &device)))
    {
      status = qr_cli_usage_error (context, "--epochs is 1 to 10000, --batch 2 to 4096, --judges 0 or 2 to 20, --device"
                                            " cpu, cuda or auto");
      goto out;
    }
  if (epochs > 0)
    options.epochs = epochs;
  if (batch > 0)
    options.batch_size = batch;
  if (seed > 0)
    options.seed = (guint64) seed;
  options.restart = restart;
  if (judges >= 0)
    options.judges = judges;
  options.device = device;
  if ((catalog = qr_cli_open_catalog (common.collection, common.db, &error)) == NULL
      || (backbone_path = qr_cli_resolve_model (QR_CAPTION_MODEL_BACKBONE, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  {
    g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, &error);
    if (captions == NULL)
      {
        status = qr_cli_fail (error);
        goto out;
      }
    if (captions->len < options.min_captions)
      {
        fprintf (stderr, "quorum: training the caption model needs at least %u captions; this collection has %u"
                         " (import them with `quorum import --captions FILE`, or type them in the inspector)\n",
                 options.min_captions, captions->len);
        status = QR_EXIT_ERROR;
        goto out;
      }
  }

  action.sa_handler = on_interrupt;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, &previous);
  {
    QrCliProgress progress;
    gboolean ok;
    qr_cli_progress_init (&progress, "backbone features", common.quiet);
    ok = qr_caption_features_compute (catalog, backbone_path, device, abort_if_interrupted, NULL,
                                      qr_cli_progress_update, &progress, &computed, &failed, &error);
    qr_cli_progress_end (&progress);
    if (!ok)
      {
        sigaction (SIGINT, &previous, NULL);
        status = qr_cli_fail (error);
        goto out;
      }
    if (!common.quiet && computed > 0)
      fprintf (stderr, "backbone features: %u images\n", computed);
    if (failed > 0)
      fprintf (stderr, "quorum: %u images could not be read: they have no features and are left out\n", failed);
  }
  model_id = qr_caption_model_train (catalog, &options, abort_if_interrupted, NULL, print_epoch, GINT_TO_POINTER (json),
                                     &error);
  sigaction (SIGINT, &previous, NULL);
  if (model_id < 0)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (!common.quiet)
    fprintf (stderr, "caption model %" G_GINT64_FORMAT " is in use: `quorum search --scorer dmsm TEXT`%s\n", model_id,
             options.judges > 0 ? "; its out-of-fold judges find caption mistakes: `quorum review list --kind caption`" : "");
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}
