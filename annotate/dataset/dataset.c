/* dataset.c: what every format shares: the format table, the in-memory dataset, reading and
 * writing files within their limits, walking a dataset's folders, path checks. The import is
 * import.c's, the export export.c's; each format is its own file (coco.c, yolo.c, voc.c, csv.c). */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"
#include "qr-files.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

G_DEFINE_QUARK (quorum-dataset-error-quark, qr_dataset_error)

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

const DsFormat *
ds_format (QrDatasetFormat format)
{
  return formats[format];
}

guint
ds_n_formats (void)
{
  return G_N_ELEMENTS (formats);
}
