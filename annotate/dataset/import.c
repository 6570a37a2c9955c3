/* import.c: a dataset into a collection's catalog, all or nothing: the format's reader fills the
 * in-memory dataset, every file name is matched to a collection image (by path, then by base name
 * where that is unambiguous, then without an exported train/ or val/), every box is checked against
 * its image's size (overshoot up to a pixel clamped), and only then is anything written, in one
 * transaction. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"
#include "qr-files.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* A box may overshoot the image by this much (rounding in other tools) and is then clamped. */
#define EDGE_TOLERANCE 1.0

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

/* A name as a message shows it: control characters escaped (a newline in a file name would
 * otherwise break the message in two). */
static char *
printable (const char *name)
{
  GString *out = g_string_new (NULL);
  for (const char *p = name; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, (char) c);
    }
  return g_string_free (out, FALSE);
}

gboolean
qr_import_mode_from_string (const char *name, QrImportMode *mode)
{
  static const char *const names[] = { "skip", "replace", "add" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i]) == 0)
      {
        *mode = (QrImportMode) i;
        return TRUE;
      }
  return FALSE;
}

/* What a dataset holds, as a digest: its format, and every image's name, boxes (class name,
 * corners, crowd) and captions, in the order read. The same content read from another copy or
 * another path gives the same digest. */
static char *
dataset_digest (Dataset *ds, QrDatasetFormat format)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GString) line = g_string_new (NULL);

  g_checksum_update (sum, (const guchar *) qr_dataset_format_to_string (format), -1);
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      g_string_printf (line, "\nimage %s %d %d\n", image->file, image->width, image->height);
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          g_string_append_printf (line, "box %s %.6g %.6g %.6g %.6g %d\n", (char *) ds->classes->pdata[box->class_index],
                                  box->x1, box->y1, box->x2, box->y2, box->iscrowd);
        }
      for (guint c = 0; image->captions != NULL && c < image->captions->len; c++)
        g_string_append_printf (line, "caption %s\n", (char *) image->captions->pdata[c]);
      g_checksum_update (sum, (const guchar *) line->str, (gssize) line->len);
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* Before anything is added (inside the transaction): an earlier import of the same content is
 * skipped (skip mode, *skip set) or its data deleted (replace mode, with that of earlier imports
 * of the same path); returns FALSE on error. */
static gboolean
handle_earlier (QrCatalog *catalog, const QrImportOptions *options, const char *digest, const char *path,
                QrImportStats *stats, gboolean *skip, GError **error)
{
  g_autoptr (GPtrArray) same = qr_catalog_find_imports (catalog, digest, NULL, error);
  g_autoptr (GPtrArray) same_path = same ? qr_catalog_find_imports (catalog, NULL, path, error) : NULL;

  *skip = FALSE;
  if (same_path == NULL)
    return FALSE;
  for (guint i = 0; i < same_path->len; i++)
    if (!g_str_equal (((QrImportRecord *) same_path->pdata[i])->digest, digest))
      {
        stats->earlier_same_path = ((QrImportRecord *) same_path->pdata[i])->id;
        break;
      }
  if (same->len > 0 && options->mode == QR_IMPORT_SKIP)
    {
      QrImportRecord *r = same->pdata[0];
      *skip = TRUE;
      stats->already_imported = TRUE;
      stats->import_id = r->id;
      stats->already_at_us = r->at_us;
      stats->already_labels = r->labels;
      return TRUE;
    }
  if (options->mode == QR_IMPORT_REPLACE)
    for (int pass = 0; pass < 2; pass++)
      {
        GPtrArray *list = pass == 0 ? same : same_path;
        for (guint i = 0; i < list->len; i++)
          {
            gint64 labels = 0, captions = 0;
            if (!qr_catalog_delete_import_data (catalog, ((QrImportRecord *) list->pdata[i])->id, &labels, &captions,
                                                error))
              return FALSE;
            stats->replaced_labels += labels;
            stats->replaced_captions += captions;
          }
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
  g_autofree char *digest = NULL;
  g_autofree char *canonical = NULL;
  gboolean ok = FALSE, in_transaction = FALSE;
  gint64 started = g_get_monotonic_time ();

  g_return_val_if_fail (QR_IS_CATALOG (catalog), FALSE);
  g_return_val_if_fail (options != NULL && options->path != NULL, FALSE);
  g_return_val_if_fail ((guint) options->format < ds_n_formats (), FALSE);

  if (stats == NULL)
    stats = &local_stats;
  memset (stats, 0, sizeof *stats);

  {
    /* The readers test *error to tell "done" from "failed": give them a real one. */
    GError *local = NULL;
    ok = ds_format (options->format)->read (ds, options, &local);
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
          g_autofree char *shown = printable (image->file);
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PATH,
                       "%s: the file name '%s' is not a path inside the collection", image->where, shown);
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
          g_autofree char *shown = printable (normalised);
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PATH,
                       "%s: %s is not a readable image of the collection %s (index it first, or import "
                       "with --allow-missing to skip such images)", image->where, shown,
                       qr_catalog_get_root (catalog));
          goto out;
        }
      image->image_id = record->id;
      if (!resolve_boxes (image, record, error))
        goto out;
    }

  g_debug ("%s: matched and checked after %.2f s", options->path,
           (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC);
  digest = dataset_digest (ds, options->format);
  canonical = g_canonicalize_filename (options->path, NULL);
  if (!qr_catalog_begin (catalog, error))
    goto out;
  in_transaction = TRUE;
  {
    gboolean skip;
    if (!handle_earlier (catalog, options, digest, canonical, stats, &skip, error))
      goto out;
    if (skip)
      {
        qr_catalog_rollback (catalog);
        in_transaction = FALSE;
        ok = TRUE;
        goto out;
      }
  }
  if ((stats->import_id = qr_catalog_add_import (catalog, digest, qr_dataset_format_to_string (options->format),
                                                 canonical, error)) < 0)
    goto out;
  /* "import N: coco:/path/instances.json": which import stored a label, for replace */
  provenance = g_strdup_printf ("import %" G_GINT64_FORMAT ": %s:%s", stats->import_id,
                                qr_dataset_format_to_string (options->format), canonical);
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
  if (!qr_catalog_set_import_counts (catalog, stats->import_id, stats->labels, stats->captions, error)
      || !qr_catalog_commit (catalog, error))
    goto out;
  in_transaction = FALSE;
  ok = TRUE;

out:
  if (in_transaction)
    qr_catalog_rollback (catalog);
  image_index_clear (&index);
  return ok;
}
