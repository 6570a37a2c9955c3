/* coco.c: COCO detection JSON (images, categories, annotations with bbox = x, y, w, h;
 * iscrowd kept) and COCO captions files. Read with the streaming scanner: a million annotations
 * parse in about a second, segmentation polygons are skipped in place. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"
#include "json-scan.h"

#include <math.h>
#include <string.h>

typedef struct
{
  gint64      id;
  gint64      image_id;
  gint64      category_id;
  double      bbox[4];
  gboolean    has_bbox;
  gboolean    iscrowd;
  char       *caption;
  const char *at;          /* where the annotation starts, for messages */
} RawAnnotation;

typedef struct
{
  GHashTable *images;      /* image id → DsImage* */
  GHashTable *categories;  /* category id → class index + 1 */
  GArray     *annotations; /* RawAnnotation */
  GHashTable *annotation_ids;
} Coco;

static gboolean
integer_member (JsonScan *scan, const char *key, gint64 *value, GError **error)
{
  const char *at = (json_scan_peek (scan), scan->p);
  double v;

  if (!json_scan_number (scan, &v, error))
    return FALSE;
  if (!isfinite (v) || fabs (v) > 9e15)
    return json_scan_fail (scan, at, error, "\"%s\" is out of range (a whole number of at most 15 digits)", key);
  if (v != floor (v))
    return json_scan_fail (scan, at, error, "\"%s\" must be a whole number", key);
  *value = (gint64) v;
  return TRUE;
}

static gboolean
read_images (JsonScan *scan, Dataset *ds, Coco *coco, GError **error)
{
  gboolean first = TRUE;

  while (json_scan_next_item (scan, &first, error))
    {
      const char *at = (json_scan_peek (scan), scan->p);
      gboolean member_first = TRUE;
      g_autofree char *file_name = NULL;
      gint64 id = G_MININT64, width = 0, height = 0;
      const char *key = NULL;
      DsImage *image;

      while (json_scan_next_member (scan, &member_first, &key, error))
        {
          gboolean ok;
          if (g_str_equal (key, "id"))
            ok = integer_member (scan, key, &id, error);
          else if (g_str_equal (key, "file_name"))
            ok = (g_free (file_name), file_name = json_scan_string (scan, error)) != NULL;
          else if (g_str_equal (key, "width"))
            ok = integer_member (scan, key, &width, error);
          else if (g_str_equal (key, "height"))
            ok = integer_member (scan, key, &height, error);
          else
            ok = json_scan_skip (scan, error);
          if (!ok)
            return FALSE;
        }
      if (*error != NULL)
        return FALSE;
      if (id == G_MININT64 || file_name == NULL)
        return json_scan_invalid (scan, at, error, "an image needs an \"id\" and a \"file_name\"");
      if (g_hash_table_contains (coco->images, &id))
        return json_scan_invalid (scan, at, error, "duplicate image id %" G_GINT64_FORMAT, id);
      {
        g_autofree char *where = g_strdup_printf ("%s (image id %" G_GINT64_FORMAT ")", scan->file, id);
        image = ds_image (ds, file_name, where);
      }
      image->width = (int) CLAMP (width, 0, G_MAXINT);
      image->height = (int) CLAMP (height, 0, G_MAXINT);
      g_hash_table_insert (coco->images, g_memdup2 (&id, sizeof id), image);
    }
  return *error == NULL;
}

static gboolean
read_categories (JsonScan *scan, Dataset *ds, Coco *coco, GError **error)
{
  gboolean first = TRUE;

  while (json_scan_next_item (scan, &first, error))
    {
      const char *at = (json_scan_peek (scan), scan->p);
      gboolean member_first = TRUE;
      g_autofree char *name = NULL;
      gint64 id = G_MININT64;
      const char *key = NULL;

      while (json_scan_next_member (scan, &member_first, &key, error))
        {
          gboolean ok;
          if (g_str_equal (key, "id"))
            ok = integer_member (scan, key, &id, error);
          else if (g_str_equal (key, "name"))
            ok = (g_free (name), name = json_scan_string (scan, error)) != NULL;
          else
            ok = json_scan_skip (scan, error);
          if (!ok)
            return FALSE;
        }
      if (*error != NULL)
        return FALSE;
      if (id == G_MININT64 || name == NULL || *name == '\0')
        return json_scan_invalid (scan, at, error, "a category needs an \"id\" and a non-empty \"name\"");
      if (g_hash_table_contains (coco->categories, &id))
        return json_scan_invalid (scan, at, error, "duplicate category id %" G_GINT64_FORMAT, id);
      g_hash_table_insert (coco->categories, g_memdup2 (&id, sizeof id), GUINT_TO_POINTER (ds_class (ds, name) + 1));
    }
  return *error == NULL;
}

static gboolean
read_annotations (JsonScan *scan, Coco *coco, GError **error)
{
  gboolean first = TRUE;

  while (json_scan_next_item (scan, &first, error))
    {
      RawAnnotation a = { .id = G_MININT64, .image_id = G_MININT64, .category_id = G_MININT64 };
      gboolean member_first = TRUE;
      const char *key = NULL;

      a.at = (json_scan_peek (scan), scan->p);
      while (json_scan_next_member (scan, &member_first, &key, error))
        {
          gboolean ok;
          if (g_str_equal (key, "id"))
            ok = integer_member (scan, key, &a.id, error);
          else if (g_str_equal (key, "image_id"))
            ok = integer_member (scan, key, &a.image_id, error);
          else if (g_str_equal (key, "category_id"))
            ok = integer_member (scan, key, &a.category_id, error);
          else if (g_str_equal (key, "iscrowd"))
            {
              gint64 v = 0;
              ok = integer_member (scan, key, &v, error);
              a.iscrowd = v != 0;
            }
          else if (g_str_equal (key, "caption"))
            ok = (g_free (a.caption), a.caption = json_scan_string (scan, error)) != NULL;
          else if (g_str_equal (key, "bbox"))
            {
              gboolean item_first = TRUE;
              guint n = 0;
              const char *bbox_at = (json_scan_peek (scan), scan->p);
              ok = TRUE;
              while (ok && json_scan_next_item (scan, &item_first, error))
                {
                  double v;
                  ok = json_scan_number (scan, &v, error);
                  if (ok && n < 4)
                    a.bbox[n] = v;
                  n++;
                }
              ok = ok && *error == NULL;
              if (ok && n != 4)
                ok = json_scan_fail (scan, bbox_at, error, "\"bbox\" needs 4 numbers (x, y, width, height), not %u", n);
              a.has_bbox = ok;
            }
          else
            ok = json_scan_skip (scan, error);
          if (!ok)
            {
              g_free (a.caption);
              return FALSE;
            }
        }
      if (*error != NULL)
        {
          g_free (a.caption);
          return FALSE;
        }
      if (a.id != G_MININT64)
        {
          if (g_hash_table_contains (coco->annotation_ids, &a.id))
            {
              g_free (a.caption);
              return json_scan_invalid (scan, a.at, error, "duplicate annotation id %" G_GINT64_FORMAT, a.id);
            }
          g_hash_table_add (coco->annotation_ids, g_memdup2 (&a.id, sizeof a.id));
        }
      g_array_append_val (coco->annotations, a);
    }
  return *error == NULL;
}

static gboolean
read_coco_file (Dataset *ds, const char *path, guint64 max_size, gboolean captions, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  JsonScan scan;
  Coco coco;
  gboolean first = TRUE, ok = FALSE;
  const char *key = NULL;

  data = ds_read_file (path, max_size, &len, error);
  if (data == NULL)
    return FALSE;
  json_scan_init (&scan, data, len, path);
  coco.images = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  coco.categories = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  coco.annotations = g_array_new (FALSE, FALSE, sizeof (RawAnnotation));
  coco.annotation_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  if (json_scan_peek (&scan) != '{')
    {
      json_scan_fail (&scan, scan.p, error, "a COCO file is a JSON object");
      goto out;
    }
  while (json_scan_next_member (&scan, &first, &key, error))
    {
      gboolean member_ok;
      if (g_str_equal (key, "images"))
        member_ok = read_images (&scan, ds, &coco, error);
      else if (g_str_equal (key, "categories"))
        member_ok = read_categories (&scan, ds, &coco, error);
      else if (g_str_equal (key, "annotations"))
        member_ok = read_annotations (&scan, &coco, error);
      else
        member_ok = json_scan_skip (&scan, error);
      if (!member_ok)
        goto out;
    }
  if (*error != NULL)
    goto out;
  if (json_scan_peek (&scan) != 0)
    {
      json_scan_fail (&scan, scan.p, error, "text after the end of the JSON object");
      goto out;
    }

  for (guint i = 0; i < coco.annotations->len; i++)
    {
      RawAnnotation *a = &g_array_index (coco.annotations, RawAnnotation, i);
      DsImage *image = g_hash_table_lookup (coco.images, &a->image_id);
      gpointer cls;

      if (image == NULL)
        {
          json_scan_invalid (&scan, a->at, error, "annotation %" G_GINT64_FORMAT " names image id %" G_GINT64_FORMAT
                          ", which the file does not list", a->id, a->image_id);
          goto out;
        }
      if (captions || a->caption != NULL)
        {
          if (a->caption == NULL)
            {
              json_scan_invalid (&scan, a->at, error, "a caption annotation needs a \"caption\"");
              goto out;
            }
          if (image->captions == NULL)
            image->captions = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (image->captions, g_steal_pointer (&a->caption));
          continue;
        }
      cls = g_hash_table_lookup (coco.categories, &a->category_id);
      if (cls == NULL)
        {
          json_scan_invalid (&scan, a->at, error, "annotation %" G_GINT64_FORMAT " has unknown category_id %" G_GINT64_FORMAT,
                          a->id, a->category_id);
          goto out;
        }
      if (!a->has_bbox)
        {
          json_scan_invalid (&scan, a->at, error, "annotation %" G_GINT64_FORMAT " has no \"bbox\"", a->id);
          goto out;
        }
      if (a->bbox[2] < 0 || a->bbox[3] < 0)
        {
          json_scan_invalid (&scan, a->at, error, "annotation %" G_GINT64_FORMAT " has a negative size (%g × %g)",
                          a->id, a->bbox[2], a->bbox[3]);
          goto out;
        }
      ds_add_box (image, GPOINTER_TO_UINT (cls) - 1, a->bbox[0], a->bbox[1], a->bbox[0] + a->bbox[2],
                  a->bbox[1] + a->bbox[3], a->iscrowd);
    }
  ok = TRUE;

out:
  for (guint i = 0; i < coco.annotations->len; i++)
    g_free (g_array_index (coco.annotations, RawAnnotation, i).caption);
  g_array_unref (coco.annotations);
  json_scan_clear (&scan);
  g_hash_table_unref (coco.images);
  g_hash_table_unref (coco.categories);
  g_hash_table_unref (coco.annotation_ids);
  return ok;
}

static gboolean
ds_read_coco (Dataset *ds, const QrImportOptions *options, GError **error)
{
  if (!read_coco_file (ds, options->path, options->max_file_size, FALSE, error))
    return FALSE;
  if (options->captions_path != NULL
      && !read_coco_file (ds, options->captions_path, options->max_file_size, TRUE, error))
    return FALSE;
  return TRUE;
}

static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      guchar c = (guchar) *p;
      if (c == '"' || c == '\\')
        g_string_append_c (out, '\\'), g_string_append_c (out, (char) c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static gboolean
ds_write_coco (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *relative = split_name ? g_strdup_printf ("annotations/instances_%s.json", split_name)
                                         : g_strdup ("annotations/instances.json");
  guint64 annotation_id = 0;
  gboolean first = TRUE;

  g_string_append (out, "{\"info\": {\"description\": \"Exported by Quorum\"},\n\"licenses\": [],\n\"images\": [");
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      if (image->val != want_val)
        continue;
      g_string_append_printf (out, "%s\n{\"id\": %u, \"file_name\": ", first ? "" : ",", i + 1);
      append_json_string (out, image->file);
      g_string_append_printf (out, ", \"width\": %d, \"height\": %d}", image->width, image->height);
      first = FALSE;
    }
  g_string_append (out, "],\n\"categories\": [");
  for (guint c = 0; c < ds->classes->len; c++)
    {
      g_string_append_printf (out, "%s\n{\"id\": %u, \"name\": ", c ? "," : "", c + 1);
      append_json_string (out, ds->classes->pdata[c]);
      g_string_append (out, ", \"supercategory\": \"\"}");
    }
  g_string_append (out, "],\n\"annotations\": [");
  first = TRUE;
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      if (image->val != want_val)
        continue;
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          double w = box->x2 - box->x1, h = box->y2 - box->y1;
          g_string_append_printf (out, "%s\n{\"id\": %" G_GUINT64_FORMAT ", \"image_id\": %u, \"category_id\": %u, \"bbox\": [",
                                  first ? "" : ",", ++annotation_id, i + 1, box->class_index + 1);
          ds_append_number (out, box->x1);
          g_string_append (out, ", ");
          ds_append_number (out, box->y1);
          g_string_append (out, ", ");
          ds_append_number (out, w);
          g_string_append (out, ", ");
          ds_append_number (out, h);
          g_string_append (out, "], \"area\": ");
          ds_append_number (out, w * h);
          g_string_append_printf (out, ", \"iscrowd\": %d}", box->iscrowd ? 1 : 0);
          first = FALSE;
        }
    }
  g_string_append (out, "]}\n");
  return ds_write_file (dir, relative, out->str, out->len, error);
}

gboolean
ds_write_captions (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *relative = split_name ? g_strdup_printf ("annotations/captions_%s.json", split_name)
                                         : g_strdup ("annotations/captions.json");
  guint64 annotation_id = 0;
  gboolean first = TRUE, any = FALSE;

  for (guint i = 0; i < ds->images->len && !any; i++)
    {
      DsImage *image = ds->images->pdata[i];
      any = image->val == want_val && image->captions != NULL && image->captions->len > 0;
    }
  if (!any)
    return TRUE;
  g_string_append (out, "{\"info\": {\"description\": \"Captions exported by Quorum\"},\n\"licenses\": [],\n\"images\": [");
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      if (image->val != want_val || image->captions == NULL || image->captions->len == 0)
        continue;
      g_string_append_printf (out, "%s\n{\"id\": %u, \"file_name\": ", first ? "" : ",", i + 1);
      append_json_string (out, image->file);
      g_string_append_printf (out, ", \"width\": %d, \"height\": %d}", image->width, image->height);
      first = FALSE;
    }
  g_string_append (out, "],\n\"annotations\": [");
  first = TRUE;
  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      if (image->val != want_val || image->captions == NULL)
        continue;
      for (guint c = 0; c < image->captions->len; c++)
        {
          g_string_append_printf (out, "%s\n{\"id\": %" G_GUINT64_FORMAT ", \"image_id\": %u, \"caption\": ",
                                  first ? "" : ",", ++annotation_id, i + 1);
          append_json_string (out, image->captions->pdata[c]);
          g_string_append_c (out, '}');
          first = FALSE;
        }
    }
  g_string_append (out, "]}\n");
  return ds_write_file (dir, relative, out->str, out->len, error);
}

const DsFormat ds_format_coco = {
  .name = "coco",
  .images_folder = NULL,
  .read = ds_read_coco,
  .write = ds_write_coco,
};
