/* cli-review.c: the peer-pressure commands: peers run (every peer over a collection in one
 * pass), review (the ranked likely mistakes as JSON lines, or stored for the app) and eval (each
 * peer against the labels, and how often the peers agree). */
#define G_LOG_DOMAIN "quorum-cli"

#include "qr-cli.h"
#include "qr-scorer.h"
#include "qr-review.h"
#include "qr-evaluation.h"
#include "qr-runner.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_PEERS "centernet,nanodet,centernet-flip,nanodet-flip"

int
qr_cli_peers (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *peers_text = NULL, *device_text = NULL, *precision_text = NULL, *shard_text = NULL;
  double threshold = 0.1;
  int threads = 0, status = QR_EXIT_OK, shard = 0, n_shards = 0;
  GOptionEntry entries[] = {
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard_text, "Only shard K of N of the images (by their paths; stable as "
      "images are added), into a catalog of its own (--db, default beside the collection's: …-shard-K-of-N.sqlite)",
      "K/N" },
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
  qr_cli_add_common_entries_named (context, &common, "run");
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
  if (shard_text != NULL && !qr_cli_parse_shard (shard_text, &shard, &n_shards))
    {
      status = qr_cli_usage_error (context, "--shard must be K/N with 0 <= K < N <= 100000");
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
      if (!qr_cli_parse_device (device_text, precision_text, &options))
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
  status = qr_cli_run_collection (common.collection ? common.collection : ".", common.db, common.quiet, "Peers", runs, n_peers,
                           threshold, shard, n_shards);
out:
  for (guint i = 0; runs != NULL && i < n_peers; i++)
    g_clear_pointer (&runs[i].detector, qr_detector_free);
  qr_cli_common_clear (&common);
  return status;
}

static int
by_record_score (gconstpointer a, gconstpointer b)
{
  const QrMistakeRecord *x = *(QrMistakeRecord *const *) a, *y = *(QrMistakeRecord *const *) b;
  return x->score < y->score ? 1 : x->score > y->score ? -1 : x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

static void
print_caption_item (QrCatalog *catalog, const QrMistakeRecord *r)
{
  g_autoptr (QrImageRecord) image = qr_catalog_get_image (catalog, r->image_id, NULL);
  g_autoptr (QrCaptionRecord) caption = qr_catalog_get_caption (catalog, r->caption_id, NULL);
  g_autoptr (GString) line = g_string_new ("{\"image\": ");

  qr_cli_append_json_string (line, image ? image->path : "?");
  g_string_append_printf (line, ", \"kind\": \"caption\", \"score\": %.3f, \"class\": ", r->score);
  if (r->class_name != NULL)
    qr_cli_append_json_string (line, r->class_name);
  else
    g_string_append (line, "null");
  g_string_append_printf (line, ", \"caption_id\": %" G_GINT64_FORMAT ", \"caption\": ", r->caption_id);
  qr_cli_append_json_string (line, caption ? caption->text : "?");
  g_string_append (line, ", \"reason\": ");
  qr_cli_append_json_string (line, r->reason ? r->reason : "");
  g_string_append_c (line, '}');
  puts (line->str);
}

/* review mark IMAGE…: each image marked reviewed (or unreviewed), all in one transaction. */
static int
mark_reviewed (QrCliCommon *common, GOptionContext *context, gboolean unreviewed)
{
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  guint n = 0;

  if (common->rest[1] == NULL)
    return qr_cli_usage_error (context, "name the images to mark: quorum review mark IMAGE…");
  if ((catalog = qr_cli_open_catalog (common->collection, common->db, &error)) == NULL
      || !qr_catalog_begin (catalog, &error))
    return qr_cli_fail (error);
  for (int i = 1; common->rest[i] != NULL; i++)
    {
      g_autoptr (QrImageRecord) image = qr_cli_find_image (catalog, common->rest[i], &error);
      if (image == NULL
          || !qr_catalog_set_reviewed (catalog, image->id, unreviewed ? "unreviewed" : "reviewed", &error))
        {
          qr_catalog_rollback (catalog);
          g_prefix_error (&error, "%s: ", common->rest[i]);
          return qr_cli_fail (error);
        }
      n++;
    }
  if (!qr_catalog_commit (catalog, &error))
    return qr_cli_fail (error);
  if (!common->quiet)
    printf ("%u image%s marked %s\n", n, n == 1 ? "" : "s", unreviewed ? "unreviewed" : "reviewed");
  return QR_EXIT_OK;
}

int
qr_cli_review (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *kind_text = NULL, *peers_text = NULL, *class_text = NULL;
  int top = 50, status;
  gboolean unreviewed = FALSE;
  GOptionEntry entries[] = {
    { "unreviewed", 0, 0, G_OPTION_ARG_NONE, &unreviewed, "mark: mark the images unreviewed again", NULL },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_text, "missing, spurious, wrong_class, poorly_located, model_mistake or caption", "KIND" },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_text, "Only items of this class (the consensus's, or the label's)", "NAME" },
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, "How many (default 50; 0 for all)", "N" },
    { "peers", 'p', 0, G_OPTION_ARG_STRING, &peers_text, "Comma-separated peers (default: every model with a run)", "LIST" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("list | update | mark IMAGE… — the ranked review queue as "
                                                             "JSON lines, stored for the app, or images marked reviewed");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrReview) review = NULL;
  GError *error = NULL;
  QrMistakeKind want_kind = QR_MISTAKE_MODEL;
  g_auto (GStrv) wanted = NULL;
  gboolean update, want_captions;
  guint shown = 0, next_caption = 0;
  g_autoptr (GPtrArray) caption_items = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries_named (context, &common, "list");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (common.rest != NULL && common.rest[0] != NULL && g_str_equal (common.rest[0], "mark"))
    {
      status = mark_reviewed (&common, context, unreviewed);
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || common.rest[1] != NULL
      || !(g_str_equal (common.rest[0], "list") || g_str_equal (common.rest[0], "update")))
    {
      status = qr_cli_usage_error (context, "say: quorum review list, quorum review update, or quorum review mark IMAGE…");
      goto out;
    }
  update = g_str_equal (common.rest[0], "update");
  want_captions = kind_text == NULL || g_str_equal (kind_text, "caption");
  if (kind_text != NULL && !g_str_equal (kind_text, "caption") && !qr_mistake_kind_from_string (kind_text, &want_kind))
    {
      status = qr_cli_usage_error (context, "--kind must be missing, spurious, wrong_class, poorly_located, model_mistake or caption");
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
  /* caption items alone need no peer: CLIP or the caption model judge them by themselves */
  if (review == NULL && kind_text != NULL && g_str_equal (kind_text, "caption") && class_text == NULL
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_clear_error (&error);
  else if (review == NULL)
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
  /* caption items (when the collection has captions), merged by score */
  if (want_captions)
    {
      g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, &error);
      if (captions != NULL && captions->len > 0)
        {
          caption_items = qr_caption_mistakes_judged (catalog, QR_REVIEW_MIN_CAPTION_SCORE, &error);
          if (caption_items != NULL)
            g_ptr_array_sort (caption_items, by_record_score);
        }
      if (error != NULL)
        {
          status = qr_cli_fail (error);
          goto out;
        }
    }
  for (guint i = 0, n = review != NULL ? review->items->len : 0; i <= n && (top <= 0 || shown < (guint) top); i++)
    {
      QrReviewItem *r = i < n ? &g_array_index (review->items, QrReviewItem, i) : NULL;
      if (caption_items != NULL && next_caption < caption_items->len
          && (r == NULL || kind_text != NULL
              || ((QrMistakeRecord *) caption_items->pdata[next_caption])->score > r->mistake.score))
        {
          print_caption_item (catalog, caption_items->pdata[next_caption++]);
          shown++;
          i--;
          continue;
        }
      if (r == NULL)
        break;
      if (kind_text != NULL && g_str_equal (kind_text, "caption"))
        continue;
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
      qr_cli_append_json_string (line, image ? image->path : "?");
      g_string_append_printf (line, ", \"kind\": \"%s\", \"score\": %.3f, \"class\": ",
                              qr_mistake_kind_to_string (r->mistake.kind), r->mistake.score);
      qr_cli_append_json_string (line, class_name ? class_name : "?");
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
          qr_cli_append_json_string (line, name ? name : "?");
        }
      if (r->mistake.peer >= 0)
        {
          g_string_append (line, ", \"peer\": ");
          qr_cli_append_json_string (line, review->peer_names->pdata[r->mistake.peer]);
        }
      votes = qr_review_votes_json (review, &r->mistake);
      g_string_append_printf (line, ", \"votes\": %s}", votes);
      puts (line->str);
    }
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}

int
qr_cli_eval (int argc, char **argv)
{
  QrCliCommon common = { 0 };
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

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
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
  qr_cli_common_clear (&common);
  return status;
}

/* quorum merge: shard catalogs into the collection's, then the review queue. */
int
qr_cli_merge (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  GOptionEntry entries[] = { { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new ("— shards' catalogs (peers run --shard K/N) merged "
                                                             "into the collection's, one transaction each; merging "
                                                             "again adds only what is new");
  g_autoptr (QrCatalog) catalog = NULL;
  GError *error = NULL;
  int status = QR_EXIT_OK;

  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries_named (context, &common, "SHARD.sqlite…");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL)
    {
      status = qr_cli_usage_error (context, "name the shard catalogs: quorum merge photos-shard-*.sqlite");
      goto out;
    }
  if ((catalog = qr_cli_open_catalog (common.collection, common.db, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  for (guint i = 0; common.rest[i] != NULL; i++)
    {
      QrMergeStats stats;
      if (!qr_catalog_merge_shard (catalog, common.rest[i], &stats, &error))
        {
          /* the shards before it stay merged; this one left nothing */
          g_printerr ("quorum: %s\n", error->message);
          g_clear_error (&error);
          status = QR_EXIT_ERROR;
          continue;
        }
      if (!common.quiet)
        printf ("%s: %" G_GINT64_FORMAT " images done, %" G_GINT64_FORMAT " boxes, %" G_GINT64_FORMAT " new images, %"
                G_GINT64_FORMAT " new runs\n", common.rest[i], stats.run_images_added, stats.detections_added,
                stats.images_added, stats.runs_added);
    }
  {
    gint64 n = qr_review_update (catalog, NULL, &error);
    if (n < 0)
      {
        status = qr_cli_fail (error);
        goto out;
      }
    if (!common.quiet)
      printf ("review queue: %" G_GINT64_FORMAT " items\n", n);
  }
out:
  qr_cli_common_clear (&common);
  return status;
}
