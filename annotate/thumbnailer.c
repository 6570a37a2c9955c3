/* thumbnailer.c: thumbnails for the gallery, stored in the catalog as small JPEGs so that the
 * collection folder is never written to. Workers decode and encode; the calling thread alone
 * writes to SQLite, in batches. */
#define G_LOG_DOMAIN "quorum-thumbs"

#include "qr-thumbnailer.h"

#include <string.h>

void
qr_thumbnail_options_init (QrThumbnailOptions *options)
{
  options->max_side = QR_THUMBNAIL_DEFAULT_SIZE;
  options->quality = 85;
  options->n_threads = 0;
  options->batch_size = 64;
  qr_image_limits_init_default (&options->limits);
}

GBytes *
qr_thumbnail_make (const char               *path,
                   const QrThumbnailOptions *options,
                   int                      *width,
                   int                      *height,
                   GError                  **error)
{
  g_autoptr (QrImage) full = qr_image_load (path, &options->limits, options->max_side, error);
  g_autoptr (QrImage) small = NULL;
  guint8 *jpeg;
  gsize len = 0;

  if (full == NULL)
    return NULL;
  small = qr_image_fit (full, options->max_side);
  jpeg = qr_image_encode_jpeg (small, options->quality, &len, error);
  if (jpeg == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  *width = small->width;
  *height = small->height;
  return g_bytes_new_take (jpeg, len);
}

typedef struct
{
  QrCatalog                *catalog;
  const QrThumbnailOptions *options;
  GAsyncQueue              *results;
  GCancellable             *cancellable;
  gint                      stop;
} Context;

typedef struct
{
  QrImageRecord *record;  /* borrowed */
  char          *path;
  GBytes        *jpeg;
  int            width;
  int            height;
  GError        *error;
} Job;

static void
make_one (gpointer data, gpointer user_data)
{
  Job *job = data;
  Context *ctx = user_data;

  if (!g_cancellable_is_cancelled (ctx->cancellable) && !g_atomic_int_get (&ctx->stop))
    job->jpeg = qr_thumbnail_make (job->path, ctx->options, &job->width, &job->height, &job->error);
  g_async_queue_push (ctx->results, job);
}

gboolean
qr_thumbnails_update (QrCatalog                *catalog,
                      const QrThumbnailOptions *options,
                      QrThumbnailStats         *stats,
                      QrProgressFunc            progress,
                      gpointer                  progress_data,
                      GCancellable             *cancellable,
                      GError                  **error)
{
  QrThumbnailOptions defaults;
  QrThumbnailStats local_stats;
  g_autoptr (GPtrArray) todo = NULL;
  g_autoptr (GAsyncQueue) results = g_async_queue_new ();
  GThreadPool *pool = NULL;
  Context ctx;
  Job *jobs = NULL;
  guint received = 0, in_batch = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (QR_IS_CATALOG (catalog), FALSE);

  if (options == NULL)
    {
      qr_thumbnail_options_init (&defaults);
      options = &defaults;
    }
  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);

  todo = qr_catalog_list_missing_thumbnails (catalog, options->max_side, error);
  if (todo == NULL)
    return FALSE;
  if (todo->len == 0)
    return TRUE;

  ctx.catalog = catalog;
  ctx.options = options;
  ctx.results = results;
  ctx.cancellable = cancellable;
  ctx.stop = 0;
  jobs = g_new0 (Job, todo->len);
  pool = g_thread_pool_new (make_one, &ctx,
                            options->n_threads > 0 ? options->n_threads
                                                   : (int) CLAMP (g_get_num_processors (), 1, 32),
                            TRUE, error);
  if (pool == NULL)
    goto out;
  for (guint i = 0; i < todo->len; i++)
    {
      jobs[i].record = todo->pdata[i];
      jobs[i].path = qr_catalog_resolve_path (catalog, jobs[i].record->path);
      g_thread_pool_push (pool, &jobs[i], NULL);
    }

  while (received < todo->len)
    {
      Job *job = g_async_queue_pop (results);

      received++;
      if (g_cancellable_is_cancelled (cancellable))
        continue;
      if (in_batch == 0 && !qr_catalog_begin (catalog, error))
        goto out;
      in_batch++;
      if (job->jpeg != NULL)
        {
          if (!qr_catalog_put_thumbnail (catalog, job->record->id, options->max_side, job->width,
                                         job->height, job->record->mtime_us, job->jpeg, error))
            goto out;
          stats->made++;
        }
      else if (job->error != NULL)
        {
          /* The header looked fine at indexing time but the pixels do not decode. */
          const char *message = job->error->message;
          gsize prefix = strlen (job->path);
          if (strncmp (message, job->path, prefix) == 0 && strncmp (message + prefix, ": ", 2) == 0)
            message += prefix + 2;
          if (!qr_catalog_set_image_state (catalog, job->record->id, QR_IMAGE_STATE_UNREADABLE,
                                           message, error))
            goto out;
          stats->failed++;
        }
      if (in_batch >= MAX (options->batch_size, 1u) || received == todo->len)
        {
          if (!qr_catalog_commit (catalog, error))
            goto out;
          in_batch = 0;
          if (progress)
            progress (received, todo->len, progress_data);
        }
    }
  if (in_batch > 0)
    {
      if (!qr_catalog_commit (catalog, error))
        goto out;
      in_batch = 0;
    }
  ok = !g_cancellable_set_error_if_cancelled (cancellable, error);

out:
  if (in_batch > 0)
    qr_catalog_rollback (catalog);
  if (pool != NULL)
    {
      if (!ok)
        g_atomic_int_set (&ctx.stop, 1);
      g_thread_pool_free (pool, FALSE, TRUE);
    }
  for (guint i = 0; jobs != NULL && i < todo->len; i++)
    {
      g_free (jobs[i].path);
      g_clear_pointer (&jobs[i].jpeg, g_bytes_unref);
      g_clear_error (&jobs[i].error);
    }
  g_free (jobs);
  return ok;
}
