/* csv.c: one box a row, `image,x1,y1,x2,y2,class` in image pixels, RFC 4180 quoting (so
 * names with commas, quotes or newlines survive). A row with only the image (`img.jpg,,,,,`)
 * lists an image without labels. A first row naming the columns is optional. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"

#include <math.h>
#include <string.h>

/* Splits the next record into fields; returns FALSE at the end of the data. */
static gboolean
next_record (const char **p, const char *end, GPtrArray *fields, guint *line, gboolean *bad_quote)
{
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE, any = FALSE;

  g_ptr_array_set_size (fields, 0);
  *bad_quote = FALSE;
  if (*p >= end)
    {
      g_string_free (field, TRUE);
      return FALSE;
    }
  while (*p < end)
    {
      char c = **p;
      any = TRUE;
      if (quoted)
        {
          if (c == '"' && *p + 1 < end && (*p)[1] == '"')
            g_string_append_c (field, '"'), (*p)++;
          else if (c == '"')
            quoted = FALSE;
          else
            {
              if (c == '\n')
                (*line)++;
              g_string_append_c (field, c);
            }
          (*p)++;
          continue;
        }
      (*p)++;
      if (c == '"' && field->len == 0)
        quoted = TRUE;
      else if (c == ',')
        {
          g_ptr_array_add (fields, g_string_free (field, FALSE));
          field = g_string_new (NULL);
        }
      else if (c == '\n')
        {
          (*line)++;
          break;
        }
      else if (c != '\r')
        g_string_append_c (field, c);
    }
  if (quoted)
    *bad_quote = TRUE;
  if (any)
    g_ptr_array_add (fields, g_string_free (field, FALSE));
  else
    g_string_free (field, TRUE);
  return TRUE;
}

static gboolean
ds_read_csv (Dataset *ds, const QrImportOptions *options, GError **error)
{
  gsize len = 0;
  g_autofree char *data = ds_read_file (options->path, options->max_file_size, &len, error);
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  const char *p, *end;
  guint line = 1, record_line;
  gboolean bad_quote;

  if (data == NULL)
    return FALSE;
  if (!g_utf8_validate (data, (gssize) len, NULL))
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s: not UTF-8 text", options->path);
      return FALSE;
    }
  p = data;
  end = data + len;
  if (len >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
    p += 3; /* a byte-order mark from spreadsheet programs */
  while (record_line = line, next_record (&p, end, fields, &line, &bad_quote))
    {
      g_autofree char *where = g_strdup_printf ("%s:%u", options->path, record_line);
      double v[4];
      DsImage *image;

      if (bad_quote)
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s: a quoted field never ends", where);
          return FALSE;
        }
      if (fields->len == 0 || (fields->len == 1 && *(char *) fields->pdata[0] == '\0'))
        continue; /* blank line */
      if (fields->len != 6)
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE,
                       "%s: expected 6 fields (image,x1,y1,x2,y2,class), found %u", where, fields->len);
          return FALSE;
        }
      if (record_line == 1 && (g_ascii_strcasecmp (fields->pdata[0], "image") == 0
                               || g_ascii_strcasecmp (fields->pdata[0], "filename") == 0
                               || g_ascii_strcasecmp (fields->pdata[0], "path") == 0))
        continue; /* the header */
      image = ds_image (ds, fields->pdata[0], where);
      if (*(char *) fields->pdata[5] == '\0' && *(char *) fields->pdata[1] == '\0' && *(char *) fields->pdata[2] == '\0'
          && *(char *) fields->pdata[3] == '\0' && *(char *) fields->pdata[4] == '\0')
        continue; /* an image without labels */
      for (guint i = 0; i < 4; i++)
        {
          char *stop;
          const char *s = fields->pdata[i + 1];
          v[i] = g_ascii_strtod (s, &stop);
          if (*s == '\0' || *stop != '\0' || !isfinite (v[i]))
            {
              g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s: field %u, '%s', is not a number",
                           where, i + 2, s);
              return FALSE;
            }
        }
      if (*(char *) fields->pdata[5] == '\0')
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s: a box without a class", where);
          return FALSE;
        }
      if (v[2] < v[0] || v[3] < v[1])
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s: the box has a negative size", where);
          return FALSE;
        }
      ds_add_box (image, ds_class (ds, fields->pdata[5]), v[0], v[1], v[2], v[3], FALSE);
    }
  return TRUE;
}

static void
append_field (GString *out, const char *s)
{
  if (strpbrk (s, ",\"\r\n") == NULL)
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static gboolean
ds_write_csv (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error)
{
  g_autoptr (GString) out = g_string_new ("image,x1,y1,x2,y2,class\n");
  g_autofree char *name = g_strdup_printf ("%s.csv", split_name ? split_name : "labels");

  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];

      if (image->val != want_val)
        continue;
      if (image->boxes->len == 0)
        {
          append_field (out, image->file);
          g_string_append (out, ",,,,,\n");
        }
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          append_field (out, image->file);
          g_string_append_c (out, ',');
          ds_append_number (out, box->x1);
          g_string_append_c (out, ',');
          ds_append_number (out, box->y1);
          g_string_append_c (out, ',');
          ds_append_number (out, box->x2);
          g_string_append_c (out, ',');
          ds_append_number (out, box->y2);
          g_string_append_c (out, ',');
          append_field (out, ds->classes->pdata[box->class_index]);
          g_string_append_c (out, '\n');
        }
    }
  return ds_write_file (dir, name, out->str, out->len, error);
}

const DsFormat ds_format_csv = {
  .name = "csv",
  .images_folder = NULL,
  .read = ds_read_csv,
  .write = ds_write_csv,
};
