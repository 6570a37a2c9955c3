/* indexer.c: walks a collection folder and brings the catalog up to date.
 * An unchanged file (same size and mtime) costs one stat; only new and changed files are read,
 * by a pool of threads, and their records are committed in batches so that a crash loses at most
 * the batch in flight and a rerun picks up where it stopped. */
#define G_LOG_DOMAIN "quorum-index"

#include "qr-indexer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const image_extensions[] = {
  "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "tga", "ppm", "pgm", "pnm",
  "psd", "hdr", "tif", "tiff",
};

void
qr_index_options_init (QrIndexOptions *options)
{
  options->batch_size = 256;
  options->n_threads = 0;
  qr_image_limits_init_default (&options->limits);
  options->shard = 0;
  options->n_shards = 0;
}

int
qr_shard_of (const char *path, int n_shards)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  guint64 v = 0;

  if (n_shards <= 1)
    return 0;
  g_checksum_update (sum, (const guchar *) path, -1);
  g_checksum_get_digest (sum, digest, &len);
  for (int i = 0; i < 8; i++)
    v = v << 8 | digest[i];
  return (int) (v % (guint64) n_shards);
}

gboolean
qr_index_is_image_name (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (dot == NULL || dot == name)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (image_extensions); i++)
    if (g_ascii_strcasecmp (dot + 1, image_extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

typedef struct
{
  char   *path;      /* relative, '/'-separated */
  gint64  size;
  gint64  mtime_us;
} FoundFile;

static void
found_file_free (FoundFile *file)
{
  g_free (file->path);
  g_free (file);
}

typedef struct
{
  const char *root;
  char       *real_root;
  GPtrArray  *found;
  GError     *error;
  guint       bad_names;     /* image files skipped: names not UTF-8 */
  char       *bad_example;   /* the first, its bytes escaped */
  int         shard, n_shards;  /* n_shards > 1: only this shard's images */
} Walk;

static gboolean
inside_root (Walk *walk, const char *absolute)
{
  g_autofree char *real = realpath (absolute, NULL);
  gsize n = strlen (walk->real_root);

  return real != NULL && strncmp (real, walk->real_root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* Recursion over opendir/readdir: GFileEnumerator costs several times more per entry. Hidden
 * entries are skipped; symbolic links are followed only when they stay inside the root, and never
 * into folders (no loops). */
static void
walk_dir (Walk *walk, const char *relative, GCancellable *cancellable)
{
  g_autofree char *absolute = relative[0] ? g_build_filename (walk->root, relative, NULL)
                                          : g_strdup (walk->root);
  DIR *dir = opendir (absolute);
  struct dirent *entry;
  GPtrArray *subdirs;

  if (dir == NULL)
    {
      g_debug ("cannot open folder %s: %s", absolute, g_strerror (errno));
      return;
    }
  subdirs = g_ptr_array_new_with_free_func (g_free);
  while ((entry = readdir (dir)) != NULL)
    {
      struct stat st;
      g_autofree char *child = NULL;

      if (entry->d_name[0] == '.')
        continue;
      if (entry->d_type == DT_REG && !qr_index_is_image_name (entry->d_name))
        continue;
      if (fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      child = relative[0] ? g_strconcat (relative, "/", entry->d_name, NULL) : g_strdup (entry->d_name);
      if (S_ISLNK (st.st_mode))
        {
          g_autofree char *target = g_build_filename (walk->root, child, NULL);
          if (stat (target, &st) != 0 || !S_ISREG (st.st_mode) || !inside_root (walk, target))
            continue;
        }
      if (S_ISDIR (st.st_mode))
        g_ptr_array_add (subdirs, g_steal_pointer (&child));
      else if (S_ISREG (st.st_mode) && qr_index_is_image_name (entry->d_name))
        {
          FoundFile *file = g_new (FoundFile, 1);
          if (!g_utf8_validate (child, -1, NULL))
            {
              /* the catalog keeps UTF-8 paths; the file is counted and named, not silently lost */
              if (walk->bad_names++ == 0)
                walk->bad_example = g_strescape (child, NULL);
              g_free (file);
              continue;
            }
          if (walk->n_shards > 1 && qr_shard_of (child, walk->n_shards) != walk->shard)
            {
              g_free (file);
              continue;
            }
          file->path = g_steal_pointer (&child);
          file->size = st.st_size;
          file->mtime_us = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
          g_ptr_array_add (walk->found, file);
        }
    }
  closedir (dir);
  for (guint i = 0; i < subdirs->len && !g_cancellable_is_cancelled (cancellable); i++)
    walk_dir (walk, subdirs->pdata[i], cancellable);
  g_ptr_array_unref (subdirs);
}

/* Probing: one job per file, on the pool; results come back through a queue. */
typedef struct
{
  const char           *root;
  const QrImageLimits  *limits;
  GAsyncQueue          *results;
  GCancellable         *cancellable;
  gint                  stop;   /* set when the indexer gives up: skip the remaining work */
} ProbeContext;

typedef struct
{
  FoundFile     *file;    /* borrowed */
  QrImageRecord *record;
} ProbeJob;

static void
probe_file (gpointer data, gpointer user_data)
{
  ProbeJob *job = data;
  ProbeContext *ctx = user_data;
  QrImageRecord *record = qr_image_record_new ();
  g_autofree char *path = g_build_filename (ctx->root, job->file->path, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) mapped = NULL;

  record->path = g_strdup (job->file->path);
  record->size = job->file->size;
  record->mtime_us = job->file->mtime_us;
  job->record = record;

  if (g_cancellable_is_cancelled (ctx->cancellable) || g_atomic_int_get (&ctx->stop))
    goto out;

  mapped = g_mapped_file_new (path, FALSE, &error);
  if (mapped == NULL)
    {
      record->state = QR_IMAGE_STATE_UNREADABLE;
      record->reason = g_strdup (error->message);
    }
  else
    {
      const guint8 *bytes = (const guint8 *) g_mapped_file_get_contents (mapped);
      gsize len = g_mapped_file_get_length (mapped);
      QrImageInfo info;

      record->hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes ? bytes : (const guint8 *) "", len);
      if (qr_image_probe (bytes, len, &info, &error) && qr_image_check_limits (&info, ctx->limits, &error))
        {
          record->state = QR_IMAGE_STATE_OK;
          record->format = g_strdup (qr_image_format_to_string (info.format));
          record->width = info.width;
          record->height = info.height;
          record->orientation = info.orientation;
        }
      else
        {
          record->state = QR_IMAGE_STATE_UNREADABLE;
          record->reason = g_strdup (error->message);
          if (len > 0)
            record->format = g_strdup (qr_image_format_to_string (info.format));
        }
    }
out:
  g_async_queue_push (ctx->results, job);
}

static int
default_threads (void)
{
  return (int) CLAMP (g_get_num_processors (), 1, 16);
}

gboolean
qr_index_collection (QrCatalog            *catalog,
                     const QrIndexOptions *options,
                     QrIndexStats         *stats,
                     QrProgressFunc        progress,
                     gpointer              progress_data,
                     GCancellable         *cancellable,
                     GError              **error)
{
  QrIndexOptions defaults;
  QrIndexStats local_stats = { 0 };
  Walk walk = { 0 };
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) found_file_free);
  g_autoptr (GPtrArray) known = NULL;
  g_autoptr (GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) gone_by_hash = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) to_probe = g_ptr_array_new ();
  g_autoptr (GAsyncQueue) results = NULL;
  GThreadPool *pool = NULL;
  ProbeContext ctx;
  ProbeJob *jobs = NULL;
  guint received = 0, in_batch = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (QR_IS_CATALOG (catalog), FALSE);

  if (options == NULL)
    {
      qr_index_options_init (&defaults);
      options = &defaults;
    }
  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);

  walk.root = qr_catalog_get_root (catalog);
  walk.real_root = realpath (walk.root, NULL);
  walk.found = found;
  walk.shard = options->shard;
  walk.n_shards = options->n_shards;
  if (walk.real_root == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", walk.root,
                   g_strerror (errno));
      return FALSE;
    }
  walk_dir (&walk, "", cancellable);
  free (walk.real_root);
  stats->bad_names = walk.bad_names;
  if (walk.bad_example != NULL)
    g_strlcpy (stats->bad_name_example, walk.bad_example, sizeof stats->bad_name_example);
  g_free (walk.bad_example);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  stats->seen = found->len;

  known = qr_catalog_list_images (catalog, -1, error);
  if (known == NULL)
    return FALSE;
  for (guint i = 0; i < known->len; i++)
    {
      QrImageRecord *r = known->pdata[i];
      g_hash_table_insert (by_path, r->path, r);
    }

  for (guint i = 0; i < found->len; i++)
    {
      FoundFile *file = found->pdata[i];
      QrImageRecord *r = g_hash_table_lookup (by_path, file->path);

      g_hash_table_add (seen, file->path);
      if (r != NULL && r->size == file->size && r->mtime_us == file->mtime_us
          && r->state != QR_IMAGE_STATE_MISSING)
        stats->unchanged++;
      else
        g_ptr_array_add (to_probe, file);
    }
  /* Rows whose file is gone: candidates for a rename (same hash at a new path), else missing. */
  for (guint i = 0; i < known->len; i++)
    {
      QrImageRecord *r = known->pdata[i];
      if (!g_hash_table_contains (seen, r->path) && r->hash != NULL)
        g_hash_table_insert (gone_by_hash, r->hash, r);
    }

  results = g_async_queue_new ();
  ctx.root = qr_catalog_get_root (catalog);
  ctx.limits = &options->limits;
  ctx.results = results;
  ctx.cancellable = cancellable;
  ctx.stop = 0;
  jobs = g_new0 (ProbeJob, to_probe->len);
  if (to_probe->len > 0)
    {
      pool = g_thread_pool_new (probe_file, &ctx,
                                options->n_threads > 0 ? options->n_threads : default_threads (),
                                TRUE, error);
      if (pool == NULL)
        goto out;
      for (guint i = 0; i < to_probe->len; i++)
        {
          jobs[i].file = to_probe->pdata[i];
          g_thread_pool_push (pool, &jobs[i], NULL);
        }
    }

  while (received < to_probe->len)
    {
      ProbeJob *job = g_async_queue_pop (results);
      QrImageRecord *record = job->record;
      QrImageRecord *old = g_hash_table_lookup (by_path, record->path);
      QrImageRecord *renamed_from = NULL;

      received++;
      if (g_cancellable_is_cancelled (cancellable))
        continue; /* drain the queue; nothing more is written */

      if (in_batch == 0 && !qr_catalog_begin (catalog, error))
        goto out;
      if (old == NULL && record->hash != NULL && record->state == QR_IMAGE_STATE_OK)
        renamed_from = g_hash_table_lookup (gone_by_hash, record->hash);
      if (renamed_from != NULL)
        {
          g_debug ("%s was renamed to %s", renamed_from->path, record->path);
          if (!qr_catalog_move_image (catalog, renamed_from->id, record->path, error))
            goto out;
          g_hash_table_remove (gone_by_hash, record->hash);
          g_hash_table_insert (seen, renamed_from->path, renamed_from);
          stats->moved++;
        }
      else if (old == NULL)
        stats->added++;
      else
        stats->changed++;
      if (record->state == QR_IMAGE_STATE_UNREADABLE)
        stats->unreadable++;
      if (!qr_catalog_put_image (catalog, record, error))
        goto out;

      if (++in_batch >= MAX (options->batch_size, 1u) || received == to_probe->len)
        {
          if (!qr_catalog_commit (catalog, error))
            goto out;
          in_batch = 0;
          if (progress)
            progress (received, to_probe->len, progress_data);
        }
    }
  if (in_batch > 0)
    {
      /* Cancelled part-way through a batch: keep what was probed. */
      if (!qr_catalog_commit (catalog, error))
        goto out;
      in_batch = 0;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;

  /* Whatever is still gone is missing. Its row and labels stay, in case the file comes back. */
  if (!qr_catalog_begin (catalog, error))
    goto out;
  in_batch = 1;
  for (guint i = 0; i < known->len; i++)
    {
      QrImageRecord *r = known->pdata[i];
      if (g_hash_table_contains (seen, r->path) || r->state == QR_IMAGE_STATE_MISSING)
        continue;
      if (!qr_catalog_set_image_state (catalog, r->id, QR_IMAGE_STATE_MISSING, "the file is gone", error))
        goto out;
      stats->removed++;
    }
  if (!qr_catalog_commit (catalog, error))
    goto out;
  in_batch = 0;
  ok = TRUE;

out:
  if (in_batch > 0)
    qr_catalog_rollback (catalog);
  if (pool != NULL)
    {
      if (!ok)
        g_atomic_int_set (&ctx.stop, 1);
      g_thread_pool_free (pool, FALSE, TRUE);
    }
  if (jobs != NULL)
    {
      for (guint i = 0; i < to_probe->len; i++)
        qr_image_record_free (jobs[i].record);
      g_free (jobs);
    }
  return ok;
}
