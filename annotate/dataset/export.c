/* export.c: a collection's labels out as a dataset: all, reviewed or corrected labels; whole,
 * split by a seeded share or into folds (an image's place depends only on the seed and its path);
 * images copied, linked or left; written into a temporary folder beside the target and renamed
 * into place when complete. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"
#include "qr-files.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

void
qr_export_options_init (QrExportOptions *options)
{
  memset (options, 0, sizeof *options);
  options->format = QR_DATASET_COCO;
  options->filter = QR_LABEL_FILTER_ALL;
  options->split = 1.0;
  options->seed = 0;
  options->images = QR_EXPORT_IMAGES_NONE;
}

/* An image's place in [0, 1) from the seed and its path alone (52 bits of SHA-256), so adding
 * images to a collection never moves the others between train and val, or between folds. */
static double
image_position (const char *path, guint64 seed)
{
  g_autofree char *key = g_strdup_printf ("%" G_GUINT64_FORMAT ":%s", seed, path);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);

  digest[13] = '\0';
  return (double) g_ascii_strtoull (digest, NULL, 16) / (double) (1ull << 52);
}

static gboolean
in_val_split (const char *path, guint64 seed, double split)
{
  return image_position (path, seed) >= split;
}

int
qr_image_fold (const char *path, guint64 seed, int n_folds)
{
  int fold = (int) (image_position (path, seed) * n_folds);
  return MIN (fold, n_folds - 1);
}

char *
ds_image_destination (QrDatasetFormat format, const char *split_name, const char *file)
{
  if (ds_format (format)->images_folder != NULL)
    return g_build_filename (ds_format (format)->images_folder, file, NULL);
  return split_name ? g_build_filename ("images", split_name, file, NULL) : g_build_filename ("images", file, NULL);
}

static gboolean
place_image (QrCatalog *catalog, const QrExportOptions *options, const char *staging, const char *split_name,
             const char *file, GError **error)
{
  g_autofree char *source = qr_catalog_resolve_path (catalog, file);
  g_autofree char *relative = ds_image_destination (options->format, split_name, file);
  g_autofree char *target = g_build_filename (staging, relative, NULL);
  g_autofree char *parent = g_path_get_dirname (target);

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", parent, g_strerror (saved));
      return FALSE;
    }
  if (options->images == QR_EXPORT_IMAGES_LINK)
    {
      if (symlink (source, target) != 0)
        {
          int saved = errno;
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", target, g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  {
    g_autoptr (GFile) from = g_file_new_for_path (source);
    g_autoptr (GFile) to = g_file_new_for_path (target);
    if (!g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
      {
        /* GIO says "Error splicing file: File too large": say which file, and that nothing stays */
        g_prefix_error (error, "copying %s into the export: ", source);
        return FALSE;
      }
    return TRUE;
  }
}

gboolean
qr_dataset_export (QrCatalog             *catalog,
                   const QrExportOptions *options,
                   QrExportStats         *stats,
                   QrProgressFunc         progress,
                   gpointer               progress_data,
                   GCancellable          *cancellable,
                   GError               **error)
{
  g_autoptr (Dataset) ds = ds_new ();
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GPtrArray) labels = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (GHashTable) keep = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autofree char *out_dir = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  g_autofree char *staging = NULL;
  g_autofree char *old = NULL;
  QrExportStats local_stats;
  gboolean split = (options->split > 0 && options->split < 1) || options->n_folds > 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (QR_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (options != NULL && options->out_dir != NULL, FALSE);
  g_return_val_if_fail ((guint) options->format < ds_n_formats (), FALSE);

  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);
  if (!(options->split > 0 && options->split <= 1))
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID,
                   "the train share of the split must be in (0, 1], not %g", options->split);
      return FALSE;
    }

  out_dir = g_canonicalize_filename (options->out_dir, NULL);
  if (g_file_test (out_dir, G_FILE_TEST_EXISTS) && !options->overwrite)
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_EXISTS,
                   "%s already exists (choose a new folder, or overwrite it)", out_dir);
      return FALSE;
    }

  /* The dataset: the chosen images, their labels, and the classes those labels use, in the
   * catalog's order (all_classes: then every other class of the catalog, as before). */
  images = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, error);
  labels = images ? qr_catalog_list_labels (catalog, options->filter, error) : NULL;
  classes = labels ? qr_catalog_list_classes (catalog, error) : NULL;
  if (classes == NULL)
    return FALSE;
  if (options->filter == QR_LABEL_FILTER_REVIEWED)
    {
      g_autoptr (GArray) reviewed = qr_catalog_list_reviewed_ids (catalog, error);
      if (reviewed == NULL)
        return FALSE;
      for (guint i = 0; i < reviewed->len; i++)
        g_hash_table_add (keep, g_memdup2 (&g_array_index (reviewed, gint64, i), sizeof (gint64)));
    }
  else if (options->filter == QR_LABEL_FILTER_CORRECTED)
    {
      /* Only images with a corrected label. */
      for (guint l = 0; l < labels->len; l++)
        g_hash_table_add (keep, g_memdup2 (&((QrLabelRecord *) labels->pdata[l])->image_id, sizeof (gint64)));
    }
  for (guint i = 0; i < images->len; i++)
    {
      QrImageRecord *r = images->pdata[i];
      DsImage *image;

      if (options->filter != QR_LABEL_FILTER_ALL && !g_hash_table_contains (keep, &r->id))
        continue;
      image = ds_image (ds, r->path, r->path);
      image->image_id = r->id;
      image->width = r->width;
      image->height = r->height;
      image->val = options->n_folds > 0 ? qr_image_fold (r->path, options->seed, options->n_folds) == options->fold
                                        : split && in_val_split (r->path, options->seed, options->split);
      g_hash_table_insert (by_id, &r->id, image);
    }
  if (g_hash_table_size (by_id) == 0 && !options->allow_empty)
    {
      const char *why = options->filter == QR_LABEL_FILTER_REVIEWED
                          ? "no image is marked reviewed (in the app: M marks the image on screen, and deciding an"
                            " image's last review item marks it; or export all images)"
                        : options->filter == QR_LABEL_FILTER_CORRECTED ? "no label was drawn, accepted or corrected"
                                                                       : "the collection has no readable image";
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_EMPTY, "nothing to export: %s; nothing was written to %s"
                   " (export --allow-empty writes an empty dataset)", why, out_dir);
      return FALSE;
    }
  {
    g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint l = 0; l < labels->len; l++)
      {
        QrLabelRecord *label = labels->pdata[l];
        if (g_hash_table_contains (by_id, &label->image_id))
          g_hash_table_add (used, label->class_name);
      }
    for (guint c = 0; c < classes->len; c++)
      if (g_hash_table_contains (used, classes->pdata[c]))
        ds_class (ds, classes->pdata[c]);
    for (guint c = 0; options->all_classes && c < classes->len; c++)
      ds_class (ds, classes->pdata[c]);
  }
  for (guint l = 0; l < labels->len; l++)
    {
      QrLabelRecord *label = labels->pdata[l];
      DsImage *image = g_hash_table_lookup (by_id, &label->image_id);
      if (image == NULL)
        continue; /* an image not exported (missing, unreadable, or not chosen) */
      ds_add_box (image, ds_class (ds, label->class_name), label->box.x1, label->box.y1, label->box.x2,
                  label->box.y2, label->iscrowd);
      stats->labels++;
    }
  {
    g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, error);
    if (captions == NULL)
      return FALSE;
    for (guint c = 0; c < captions->len; c++)
      {
        QrCaptionRecord *r = captions->pdata[c];
        DsImage *image = g_hash_table_lookup (by_id, &r->image_id);
        if (image == NULL)
          continue;
        if (image->captions == NULL)
          image->captions = g_ptr_array_new_with_free_func (g_free);
        g_ptr_array_add (image->captions, g_strdup (r->text));
        stats->captions++;
      }
  }
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      if (image->val)
        stats->val++;
      else
        stats->train++;
    }
  stats->images = ds->images->len;

  /* Written beside the target, renamed into place when whole. */
  parent = g_path_get_dirname (out_dir);
  base = g_path_get_basename (out_dir);
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", parent, g_strerror (saved));
      return FALSE;
    }
  {
    g_autofree char *template = g_strdup_printf ("%s/.%s.partial-XXXXXX", parent, base);
    staging = g_mkdtemp (g_steal_pointer (&template));
    if (staging == NULL)
      {
        int saved = errno;
        g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", parent, g_strerror (saved));
        return FALSE;
      }
  }

  for (int pass = 0; pass < (split ? 2 : 1); pass++)
    {
      const char *split_name = split ? (pass == 0 ? "train" : "val") : NULL;
      gboolean want_val = pass == 1;

      ok = ds_format (options->format)->write (ds, staging, split_name, want_val, error)
           && ds_write_captions (ds, staging, split_name, want_val, error);
      if (!ok)
        goto out;
      ok = FALSE;
    }
  if (options->images != QR_EXPORT_IMAGES_NONE)
    for (guint i = 0; i < ds->images->len; i++)
      {
        DsImage *image = ds->images->pdata[i];
        const char *split_name = split ? (image->val ? "val" : "train") : NULL;
        if (!place_image (catalog, options, staging, split_name, image->file, error))
          goto out;
        if (progress != NULL)
          progress (i + 1, ds->images->len, progress_data);
        if (g_cancellable_set_error_if_cancelled (cancellable, error))
          goto out;
      }

  if (g_file_test (out_dir, G_FILE_TEST_EXISTS))
    {
      g_autofree char *template = g_strdup_printf ("%s/.%s.old-XXXXXX", parent, base);
      old = g_mkdtemp (g_steal_pointer (&template));
      if (old == NULL || g_rename (out_dir, old) != 0)
        {
          int saved = errno;
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: cannot move it aside: %s", out_dir,
                       g_strerror (saved));
          goto out;
        }
    }
  if (g_rename (staging, out_dir) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", out_dir, g_strerror (saved));
      if (old != NULL)
        g_rename (old, out_dir);
      goto out;
    }
  g_clear_pointer (&staging, g_free);
  if (old != NULL)
    qr_remove_tree (old);
  ok = TRUE;

out:
  if (staging != NULL)
    qr_remove_tree (staging);
  return ok;
}
