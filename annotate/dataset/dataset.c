/* dataset.c: what every format shares: the in-memory dataset, path checks, matching a dataset's
 * file names to the collection's images, box validation, the one-transaction import, and the
 * export (split, image copies or links, a temporary folder renamed into place). */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"
#include "qr-files.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

G_DEFINE_QUARK (quorum-dataset-error-quark, qr_dataset_error)

/* A box may overshoot the image by this much (rounding in other tools) and is then clamped. */
#define EDGE_TOLERANCE 1.0

/* The formats, one file each (coco.c, yolo.c, voc.c, csv.c), by QrDatasetFormat. */
static const DsFormat *const formats[] = {
  [QR_DATASET_COCO] = &ds_format_coco,
  [QR_DATASET_YOLO] = &ds_format_yolo,
  [QR_DATASET_VOC] = &ds_format_voc,
  [QR_DATASET_CSV] = &ds_format_csv,
};

gboolean
qr_dataset_format_from_string (const char *name, QrDatasetFormat *format)
{
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (g_ascii_strcasecmp (name, formats[i]->name) == 0)
      {
        *format = (QrDatasetFormat) i;
        return TRUE;
      }
  return FALSE;
}

const char *
qr_dataset_format_to_string (QrDatasetFormat format)
{
  return (guint) format < G_N_ELEMENTS (formats) ? formats[format]->name : "unknown";
}

static void
ds_image_free (DsImage *image)
{
  g_free (image->file);
  g_free (image->where);
  g_array_unref (image->boxes);
  if (image->captions)
    g_ptr_array_unref (image->captions);
  g_free (image);
}

Dataset *
ds_new (void)
{
  Dataset *ds = g_new0 (Dataset, 1);

  ds->classes = g_ptr_array_new_with_free_func (g_free);
  ds->class_index = g_hash_table_new (g_str_hash, g_str_equal);
  ds->images = g_ptr_array_new_with_free_func ((GDestroyNotify) ds_image_free);
  ds->by_file = g_hash_table_new (g_str_hash, g_str_equal);
  return ds;
}

void
ds_free (Dataset *ds)
{
  if (ds == NULL)
    return;
  g_hash_table_unref (ds->class_index);
  g_hash_table_unref (ds->by_file);
  g_ptr_array_unref (ds->images);
  g_ptr_array_unref (ds->classes);
  g_free (ds);
}

guint
ds_class (Dataset *ds, const char *name)
{
  gpointer index = g_hash_table_lookup (ds->class_index, name);

  if (index == NULL)
    {
      char *copy = g_strdup (name);
      g_ptr_array_add (ds->classes, copy);
      index = GUINT_TO_POINTER (ds->classes->len);
      g_hash_table_insert (ds->class_index, copy, index);
    }
  return GPOINTER_TO_UINT (index) - 1;
}

DsImage *
ds_image (Dataset *ds, const char *file, const char *where)
{
  DsImage *image = g_hash_table_lookup (ds->by_file, file);

  if (image != NULL)
    return image;
  image = g_new0 (DsImage, 1);
  image->file = g_strdup (file);
  image->where = g_strdup (where);
  image->boxes = g_array_new (FALSE, FALSE, sizeof (DsBox));
  g_ptr_array_add (ds->images, image);
  g_hash_table_insert (ds->by_file, image->file, image);
  return image;
}

void
ds_add_box (DsImage *image, guint class_index, double x1, double y1, double x2, double y2, gboolean iscrowd)
{
  DsBox box = { class_index, x1, y1, x2, y2, iscrowd };
  g_array_append_val (image->boxes, box);
}

char *
ds_read_file (const char *path, guint64 max_size, gsize *len, GError **error)
{
  GStatBuf st;
  char *data = NULL;

  if (max_size == 0)
    max_size = QR_DATASET_DEFAULT_MAX_FILE_SIZE;
  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  if ((guint64) st.st_size > max_size)
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_TOO_LARGE,
                   "%s: %.1f MB is over the %.0f MB limit for a dataset file", path,
                   (double) st.st_size / 1e6, (double) max_size / 1e6);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, len, error))
    return NULL;
  return data;
}

gboolean
ds_write_file (const char *dir, const char *relative, const char *data, gsize len, GError **error)
{
  g_autofree char *path = g_build_filename (dir, relative, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: %s", parent, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents (path, data, (gssize) len, error);
}

char *
ds_replace_extension (const char *path, const char *extension)
{
  const char *slash = strrchr (path, '/');
  const char *dot = strrchr (path, '.');

  if (dot == NULL || (slash != NULL && dot < slash) || dot == path || (slash && dot == slash + 1))
    return g_strconcat (path, extension, NULL);
  {
    g_autofree char *stem = g_strndup (path, (gsize) (dot - path));
    return g_strconcat (stem, extension, NULL);
  }
}

gboolean
ds_walk_files (const char *root, const char *relative, const char *suffix, DsFileFunc func, gpointer data,
               GError **error)
{
  g_autofree char *absolute = relative ? g_build_filename (root, relative, NULL) : g_strdup (root);
  g_autoptr (GDir) dir = g_dir_open (absolute, 0, error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, ds_compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      const char *child_name = names->pdata[i];
      g_autofree char *child_rel = relative ? g_strconcat (relative, "/", child_name, NULL) : g_strdup (child_name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);

      if (child_name[0] == '.' || g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          if (!ds_walk_files (root, child_rel, suffix, func, data, error))
            return FALSE;
        }
      else if (g_str_has_suffix (child_name, suffix) && !func (child, child_rel, data, error))
        return FALSE;
    }
  return TRUE;
}

int
ds_compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

void
ds_append_number (GString *out, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* Shortest of %.10g and %.17g that reads back exactly: short for pixel values, exact always. */
  g_ascii_formatd (buffer, sizeof buffer, "%.10g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  g_string_append (out, buffer);
}

gboolean
qr_dataset_check_relative_path (const char *name, char **normalised)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  if (name == NULL || *name == '\0' || name[0] == '/' || strchr (name, '\\') != NULL
      || !g_utf8_validate (name, -1, NULL) || (g_ascii_isalpha (name[0]) && name[1] == ':'))
    return FALSE;
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_str_equal (parts[i], "..") )
        return FALSE;
      if (*parts[i] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (out->len > 0)
        g_string_append_c (out, '/');
      g_string_append (out, parts[i]);
    }
  if (out->len == 0)
    return FALSE;
  if (normalised)
    *normalised = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

/* Import */

typedef struct
{
  GHashTable *by_path;      /* collection path → QrImageRecord */
  GHashTable *by_base;      /* base name → QrImageRecord, or &ambiguous when several share it */
  GHashTable *by_stem;      /* path without extension → QrImageRecord (YOLO, VOC without one) */
  GPtrArray  *records;
} ImageIndex;

static int ambiguous;

static void
image_index_clear (ImageIndex *index)
{
  g_clear_pointer (&index->by_path, g_hash_table_unref);
  g_clear_pointer (&index->by_base, g_hash_table_unref);
  g_clear_pointer (&index->by_stem, g_hash_table_unref);
  g_clear_pointer (&index->records, g_ptr_array_unref);
}

static gboolean
image_index_init (ImageIndex *index, QrCatalog *catalog, GError **error)
{
  index->records = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, error);
  if (index->records == NULL)
    return FALSE;
  index->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  index->by_base = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->by_stem = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < index->records->len; i++)
    {
      QrImageRecord *r = index->records->pdata[i];
      const char *slash = strrchr (r->path, '/');
      const char *base = slash ? slash + 1 : r->path;
      char *stem = ds_replace_extension (r->path, "");

      g_hash_table_insert (index->by_path, r->path, r);
      if (g_hash_table_contains (index->by_base, base))
        g_hash_table_insert (index->by_base, g_strdup (base), &ambiguous);
      else
        g_hash_table_insert (index->by_base, g_strdup (base), r);
      if (g_hash_table_contains (index->by_stem, stem))
        g_hash_table_insert (index->by_stem, stem, &ambiguous);
      else
        g_hash_table_insert (index->by_stem, stem, r);
    }
  return TRUE;
}

/* The collection image a dataset names: by path, then (COCO names bare files) by a base name
 * only one image has, then by path without extension (a label file's stem). */
static QrImageRecord *image_index_find_exact (ImageIndex *index, const char *file);

/* Exported datasets put images under train/ or val/: when the collection has no such folder,
 * the name without it is the collection's. */
static QrImageRecord *
image_index_find (ImageIndex *index, const char *file)
{
  static const char *const split_dirs[] = { "train/", "val/", "valid/", "test/" };
  QrImageRecord *r = image_index_find_exact (index, file);

  for (guint i = 0; r == NULL && i < G_N_ELEMENTS (split_dirs); i++)
    if (g_str_has_prefix (file, split_dirs[i]))
      r = image_index_find_exact (index, file + strlen (split_dirs[i]));
  return r;
}

static QrImageRecord *
image_index_find_exact (ImageIndex *index, const char *file)
{
  QrImageRecord *r = g_hash_table_lookup (index->by_path, file);
  const char *slash;

  if (r != NULL)
    return r;
  r = g_hash_table_lookup (index->by_stem, file);
  if (r != NULL && r != (gpointer) &ambiguous)
    return r;
  slash = strrchr (file, '/');
  r = g_hash_table_lookup (index->by_base, slash ? slash + 1 : file);
  return r == (gpointer) &ambiguous ? NULL : r;
}

static gboolean
resolve_boxes (DsImage *image, QrImageRecord *record, GError **error)
{
  double w = record->width, h = record->height;

  for (guint i = 0; i < image->boxes->len; i++)
    {
      DsBox *b = &g_array_index (image->boxes, DsBox, i);

      if (image->normalised)
        b->x1 *= w, b->x2 *= w, b->y1 *= h, b->y2 *= h;
      if (b->x2 < b->x1 || b->y2 < b->y1)
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID,
                       "%s: box %u of %s has a negative size (%g × %g)", image->where, i + 1, image->file,
                       b->x2 - b->x1, b->y2 - b->y1);
          return FALSE;
        }
      if (b->x1 < -EDGE_TOLERANCE || b->y1 < -EDGE_TOLERANCE || b->x2 > w + EDGE_TOLERANCE
          || b->y2 > h + EDGE_TOLERANCE)
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID,
                       "%s: box %u of %s, [%g, %g, %g, %g], lies outside the %g × %g image", image->where,
                       i + 1, image->file, b->x1, b->y1, b->x2, b->y2, w, h);
          return FALSE;
        }
      b->x1 = CLAMP (b->x1, 0, w);
      b->y1 = CLAMP (b->y1, 0, h);
      b->x2 = CLAMP (b->x2, 0, w);
      b->y2 = CLAMP (b->y2, 0, h);
    }
  return TRUE;
}

gboolean
qr_dataset_import (QrCatalog             *catalog,
                   const QrImportOptions *options,
                   QrImportStats         *stats,
                   QrProgressFunc         progress,
                   gpointer               progress_data,
                   GCancellable          *cancellable,
                   GError               **error)
{
  g_autoptr (Dataset) ds = ds_new ();
  ImageIndex index = { 0 };
  QrImportStats local_stats;
  g_autofree gint64 *class_ids = NULL;
  g_autofree char *provenance = NULL;
  gboolean ok = FALSE, in_transaction = FALSE;
  gint64 started = g_get_monotonic_time ();

  g_return_val_if_fail (QR_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (options != NULL && options->path != NULL, FALSE);
  g_return_val_if_fail ((guint) options->format < G_N_ELEMENTS (formats), FALSE);

  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);

  {
    /* The readers test *error to tell "done" from "failed": give them a real one. */
    GError *local = NULL;
    ok = formats[options->format]->read (ds, options, &local);
    if (!ok)
      {
        g_propagate_error (error, local);
        return FALSE;
      }
  }
  ok = FALSE;
  g_debug ("%s: read %u images in %.2f s", options->path, ds->images->len,
           (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* Every name is checked and matched, and every box validated, before anything is written. */
  if (!image_index_init (&index, catalog, error))
    goto out;
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      g_autofree char *normalised = NULL;
      QrImageRecord *record;

      if (!qr_dataset_check_relative_path (image->file, &normalised))
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PATH,
                       "%s: the file name '%s' is not a path inside the collection", image->where, image->file);
          goto out;
        }
      record = image_index_find (&index, normalised);
      if (record == NULL)
        {
          if (options->allow_missing)
            {
              stats->skipped++;
              image->image_id = -1;
              continue;
            }
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PATH,
                       "%s: %s is not a readable image of the collection %s (index it first, or import "
                       "with --allow-missing to skip such images)", image->where, normalised,
                       qr_catalog_get_root (catalog));
          goto out;
        }
      image->image_id = record->id;
      if (!resolve_boxes (image, record, error))
        goto out;
    }

  g_debug ("%s: matched and checked after %.2f s", options->path,
           (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC);
  provenance = g_strdup_printf ("%s:%s", qr_dataset_format_to_string (options->format), options->path);
  if (!qr_catalog_begin (catalog, error))
    goto out;
  in_transaction = TRUE;
  class_ids = g_new (gint64, MAX (ds->classes->len, 1));
  for (guint c = 0; c < ds->classes->len; c++)
    if ((class_ids[c] = qr_catalog_ensure_class (catalog, ds->classes->pdata[c], error)) < 0)
      goto out;
  stats->classes = ds->classes->len;

  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];

      if (image->image_id < 0)
        continue;
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          QrBox qbox = { box->x1, box->y1, box->x2, box->y2 };
          gint64 id = qr_catalog_add_label (catalog, image->image_id, class_ids[box->class_index], &qbox,
                                            QR_LABEL_SOURCE_IMPORTED, provenance, error);
          if (id < 0 || (box->iscrowd && !qr_catalog_set_label_crowd (catalog, id, TRUE, error)))
            goto out;
          stats->labels++;
        }
      for (guint c = 0; image->captions != NULL && c < image->captions->len; c++)
        {
          if (qr_catalog_add_caption (catalog, image->image_id, image->captions->pdata[c], provenance, error) < 0)
            goto out;
          stats->captions++;
        }
      if (image->boxes->len > 0 || (image->captions != NULL && image->captions->len > 0))
        stats->images++;
      if (progress != NULL && (i % 1024 == 0 || i + 1 == ds->images->len))
        progress (i + 1, ds->images->len, progress_data);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
    }
  if (!qr_catalog_commit (catalog, error))
    goto out;
  in_transaction = FALSE;
  ok = TRUE;

out:
  if (in_transaction)
    qr_catalog_rollback (catalog);
  image_index_clear (&index);
  return ok;
}

/* Export */

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
  if (formats[format]->images_folder != NULL)
    return g_build_filename (formats[format]->images_folder, file, NULL);
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
    return g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, error);
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
  g_return_val_if_fail ((guint) options->format < G_N_ELEMENTS (formats), FALSE);

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

  /* The dataset: every catalog class (so class ids are stable across exports), the chosen images
   * and their labels. */
  images = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, error);
  labels = images ? qr_catalog_list_labels (catalog, options->filter, error) : NULL;
  classes = labels ? qr_catalog_list_classes (catalog, error) : NULL;
  if (classes == NULL)
    return FALSE;
  for (guint c = 0; c < classes->len; c++)
    ds_class (ds, classes->pdata[c]);
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

      ok = formats[options->format]->write (ds, staging, split_name, want_val, error);
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
