/* cli-collection.c: the collection commands: index (add a folder's images to its catalog), info
 * (what the catalog holds) and thumbs (the thumbnails it lacks). */
#define G_LOG_DOMAIN "quorum-cli"

#include "qr-cli.h"
#include "qr-thumbnailer.h"
#include "qr-caption-model.h"

#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

int
qr_cli_index (int argc, char **argv)
{
  QrCliCommon common = { 0 };
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

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
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
  if (stats.bad_names > 0)
    fprintf (stderr, "quorum: %u image file%s skipped: %s name is not UTF-8 (the first: %s); rename %s to index %s\n",
             stats.bad_names, stats.bad_names == 1 ? "" : "s", stats.bad_names == 1 ? "its" : "their",
             stats.bad_name_example, stats.bad_names == 1 ? "it" : "them", stats.bad_names == 1 ? "it" : "them");
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}

int
qr_cli_info (int argc, char **argv)
{
  QrCliCommon common = { 0 };
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

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
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
      ADD_COUNT ("captions", captions);
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
      printf ("Catalog      %s (schema %d%s)\n", qr_catalog_get_db_path (catalog),
              qr_catalog_get_schema_version (catalog), qr_catalog_is_read_only (catalog) ? ", read-only" : "");
      printf ("Images       %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " readable, %" G_GINT64_FORMAT
              " unreadable, %" G_GINT64_FORMAT " missing)\n",
              stats.images, stats.images_ok, stats.images_unreadable, stats.images_missing);
      printf ("Thumbnails   %" G_GINT64_FORMAT "\n", stats.thumbnails);
      printf ("Labels       %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " images reviewed)\n", stats.labels,
              stats.reviewed);
      printf ("Detections   %" G_GINT64_FORMAT " in %" G_GINT64_FORMAT " runs of %" G_GINT64_FORMAT
              " models\n", stats.detections, stats.runs, stats.models);
      {
        /* the CLIP models that embedded the collection (the scorer uses the first) */
        g_autoptr (GPtrArray) keys = qr_catalog_list_feature_backbones (catalog, "clip:", NULL);
        for (guint i = 0; keys != NULL && i < keys->len; i++)
          {
            const char *key = keys->pdata[i], *folder = strchr (key + strlen ("clip:"), ':');
            printf ("CLIP         %" G_GINT64_FORMAT " images embedded by %s%s\n",
                    qr_catalog_count_image_features (catalog, key, NULL), folder != NULL ? folder + 1 : key,
                    i == 0 ? " (used by --scorer clip)" : "");
          }
      }
      if (stats.captions > 0)
        {
          g_autoptr (QrTextModelRecord) model = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, NULL);
          printf ("Captions     %" G_GINT64_FORMAT "\n", stats.captions);
          if (model != NULL && g_str_equal (model->state, "ready"))
            {
              int of = 0, done = qr_caption_model_judges_done (catalog, model->id, &of, NULL);
              if (of > 0)
                printf ("Caption model %d epochs; %d of %d out-of-fold judges done%s\n", model->epoch, done, of,
                        done < of ? " (`quorum captions train` trains the rest)" : "");
              else
                printf ("Caption model %d epochs; no out-of-fold judges (caption mistakes are judged by the model)\n",
                        model->epoch);
            }
          else if (model != NULL)
            printf ("Caption model stopped after %d of %d epochs (`quorum captions train` resumes)\n", model->epoch,
                    model->epochs);
        }
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
  qr_cli_common_clear (&common);
  return status;
}

int
qr_cli_thumbs (int argc, char **argv)
{
  QrCliCommon common = { 0 };
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

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
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
  qr_cli_common_clear (&common);
  return status;
}
