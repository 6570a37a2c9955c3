/* yolo.c: YOLO/Darknet labels: one .txt per image with `class cx cy w h` in fractions of
 * the image's size (Ultralytics' polygon lines, `class x y x y …`, are read as their bounding
 * box), plus a names file. Files under a labels/ folder pair with images by path; a leading
 * train/ or val/ folder is dropped when the collection has no such folder. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char *const names_files[] = { "classes.txt", "obj.names", "coco.names", "names.txt" };

static gboolean
read_names (Dataset *ds, const char *path, guint64 max_size, GError **error)
{
  g_autofree char *data = ds_read_file (path, max_size, NULL, error);
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (data == NULL)
    return FALSE;
  if (!g_utf8_validate (data, -1, NULL))
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s: not UTF-8 text", path);
      return FALSE;
    }
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_strstrip (lines[i]);
      if (*lines[i] == '\0')
        continue;
      if (g_hash_table_contains (ds->class_index, lines[i]))
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s:%u: class '%s' is named twice", path,
                       i + 1, lines[i]);
          return FALSE;
        }
      ds_class (ds, lines[i]);
      n++;
    }
  if (n == 0)
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s: no class names", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_label_file (Dataset *ds, const char *path, const char *relative, guint n_names, guint64 max_size,
                  GError **error)
{
  g_autofree char *data = ds_read_file (path, max_size, NULL, error);
  g_autofree char *stem = NULL;
  g_auto (GStrv) lines = NULL;
  DsImage *image;

  if (data == NULL)
    return FALSE;
  stem = ds_replace_extension (relative, "");
  image = ds_image (ds, stem, path);
  image->normalised = TRUE;
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) tokens = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      double v[512];
      guint n = 0;
      guint64 cls;
      char *end;

      if (*lines[i] == '\0')
        continue;
      if (!g_ascii_string_to_unsigned (tokens[0], 10, 0, G_MAXUINT, &cls, NULL))
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s:%u: '%s' is not a class number", path,
                       i + 1, tokens[0]);
          return FALSE;
        }
      for (guint t = 1; tokens[t] != NULL; t++)
        {
          if (*tokens[t] == '\0')
            continue;
          if (n == G_N_ELEMENTS (v))
            {
              g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s:%u: too many numbers", path, i + 1);
              return FALSE;
            }
          v[n] = g_ascii_strtod (tokens[t], &end);
          if (*end != '\0' || !isfinite (v[n]))
            {
              g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s:%u: '%s' is not a number", path,
                           i + 1, tokens[t]);
              return FALSE;
            }
          n++;
        }
      if (n_names > 0 && cls >= n_names)
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID,
                       "%s:%u: class %" G_GUINT64_FORMAT " is not in the names file (%u classes)", path, i + 1, cls,
                       n_names);
          return FALSE;
        }
      if (n_names == 0)
        {
          g_autofree char *name = g_strdup_printf ("%" G_GUINT64_FORMAT, cls);
          cls = ds_class (ds, name);
        }
      if (n == 4)
        {
          if (v[2] < 0 || v[3] < 0)
            {
              g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s:%u: negative width or height", path,
                           i + 1);
              return FALSE;
            }
          ds_add_box (image, (guint) cls, v[0] - v[2] / 2, v[1] - v[3] / 2, v[0] + v[2] / 2, v[1] + v[3] / 2, FALSE);
        }
      else if (n >= 6 && n % 2 == 0)
        {
          double x1 = v[0], y1 = v[1], x2 = v[0], y2 = v[1];
          for (guint k = 2; k < n; k += 2)
            {
              x1 = MIN (x1, v[k]), x2 = MAX (x2, v[k]);
              y1 = MIN (y1, v[k + 1]), y2 = MAX (y2, v[k + 1]);
            }
          ds_add_box (image, (guint) cls, x1, y1, x2, y2, FALSE);
        }
      else
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE,
                       "%s:%u: expected 'class cx cy w h' (or a polygon), found %u numbers after the class", path,
                       i + 1, n);
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct
{
  Dataset    *ds;
  const char *names_path;
  guint       n_names;
  guint64     max_size;
} YoloWalk;

static gboolean
parse_one (const char *path, const char *relative, gpointer data, GError **error)
{
  YoloWalk *walk = data;

  if (g_strcmp0 (path, walk->names_path) == 0)
    return TRUE;
  return parse_label_file (walk->ds, path, relative, walk->n_names, walk->max_size, error);
}

static gboolean
ds_read_yolo (Dataset *ds, const QrImportOptions *options, GError **error)
{
  g_autofree char *names_path = NULL;
  g_autofree char *labels = g_build_filename (options->path, "labels", NULL);
  const char *root = g_file_test (labels, G_FILE_TEST_IS_DIR) ? labels : options->path;

  if (!g_file_test (options->path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: a YOLO dataset is a folder", options->path);
      return FALSE;
    }
  if (options->names_path != NULL)
    names_path = g_strdup (options->names_path);
  for (guint i = 0; names_path == NULL && i < G_N_ELEMENTS (names_files); i++)
    {
      g_autofree char *candidate = g_build_filename (options->path, names_files[i], NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        names_path = g_steal_pointer (&candidate);
    }
  if (names_path != NULL && !read_names (ds, names_path, options->max_file_size, error))
    return FALSE;
  {
    YoloWalk walk = { ds, names_path, ds->classes->len, options->max_file_size };
    return ds_walk_files (root, NULL, ".txt", parse_one, &walk, error);
  }
}

static void
append_yaml_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static gboolean
ds_write_yolo (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error)
{
  g_autoptr (GString) names = g_string_new (NULL);
  g_autoptr (GString) yaml = g_string_new ("# Written by Quorum\npath: .\n");

  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      g_autoptr (GString) out = g_string_new (NULL);
      g_autofree char *stem = NULL;
      g_autofree char *relative = NULL;
      double w = MAX (image->width, 1), h = MAX (image->height, 1);

      if (image->val != want_val)
        continue;
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          g_string_append_printf (out, "%u ", box->class_index);
          ds_append_number (out, (box->x1 + box->x2) / 2 / w);
          g_string_append_c (out, ' ');
          ds_append_number (out, (box->y1 + box->y2) / 2 / h);
          g_string_append_c (out, ' ');
          ds_append_number (out, (box->x2 - box->x1) / w);
          g_string_append_c (out, ' ');
          ds_append_number (out, (box->y2 - box->y1) / h);
          g_string_append_c (out, '\n');
        }
      stem = ds_replace_extension (image->file, ".txt");
      relative = split_name ? g_build_filename ("labels", split_name, stem, NULL) : g_build_filename ("labels", stem, NULL);
      if (!ds_write_file (dir, relative, out->str, out->len, error))
        return FALSE;
    }
  if (want_val)
    return TRUE; /* the names and data.yaml are written once, with the first pass */
  for (guint c = 0; c < ds->classes->len; c++)
    g_string_append_printf (names, "%s\n", (const char *) ds->classes->pdata[c]);
  if (split_name != NULL)
    g_string_append (yaml, "train: images/train\nval: images/val\n");
  else
    g_string_append (yaml, "train: images\nval: images\n");
  g_string_append (yaml, "names:\n");
  for (guint c = 0; c < ds->classes->len; c++)
    {
      g_string_append_printf (yaml, "  %u: ", c);
      append_yaml_string (yaml, ds->classes->pdata[c]);
      g_string_append_c (yaml, '\n');
    }
  return ds_write_file (dir, "classes.txt", names->str, names->len, error)
         && ds_write_file (dir, "data.yaml", yaml->str, yaml->len, error);
}

const DsFormat ds_format_yolo = {
  .name = "yolo",
  .images_folder = NULL,
  .read = ds_read_yolo,
  .write = ds_write_yolo,
};
