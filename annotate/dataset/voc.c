/* voc.c: Pascal VOC XML, one file per image. Parsed with GMarkup, which knows only XML's
 * five predefined entities: no DTD is read and no external entity is ever fetched (a DOCTYPE is
 * refused outright). VOC pixel coordinates are 1-based: xmin = x1 + 1, xmax = x2. */
#define G_LOG_DOMAIN "quorum-dataset"

#include "dataset-private.h"

#include <math.h>
#include <string.h>

typedef struct
{
  Dataset    *ds;
  const char *path;        /* the XML file, for messages */
  GString    *text;        /* character data of the current element */
  GPtrArray  *stack;       /* element names */
  char       *filename;
  double      width, height;
  /* the object being read */
  char       *name;
  double      box[4];
  guint       have_box;    /* bit per coordinate */
  gboolean    in_object;
  GArray     *boxes;       /* DsBox with class names resolved at the end */
  GPtrArray  *box_names;
} VocParse;

static const char *
parent_name (VocParse *p, guint up)
{
  return p->stack->len > up ? p->stack->pdata[p->stack->len - 1 - up] : "";
}

static void
start_element (GMarkupParseContext *ctx, const char *element, const char **attr_names, const char **attr_values,
               gpointer data, GError **error)
{
  VocParse *p = data;

  g_ptr_array_add (p->stack, g_strdup (element));
  g_string_truncate (p->text, 0);
  if (g_str_equal (element, "object") && g_str_equal (parent_name (p, 1), "annotation"))
    {
      p->in_object = TRUE;
      g_clear_pointer (&p->name, g_free);
      p->have_box = 0;
    }
}

static gboolean
number (VocParse *p, GMarkupParseContext *ctx, double *value, GError **error)
{
  char *end;
  const char *s = g_strstrip (p->text->str);
  int line, column;

  *value = g_ascii_strtod (s, &end);
  if (*s != '\0' && *end == '\0' && isfinite (*value))
    return TRUE;
  g_markup_parse_context_get_position (ctx, &line, &column);
  g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s:%d: <%s> holds '%s', not a number", p->path, line,
               parent_name (p, 0), s);
  return FALSE;
}

static void
end_element (GMarkupParseContext *ctx, const char *element, gpointer data, GError **error)
{
  VocParse *p = data;
  const char *parent = parent_name (p, 1);
  int line, column;

  g_markup_parse_context_get_position (ctx, &line, &column);
  if (g_str_equal (element, "filename") && g_str_equal (parent, "annotation"))
    {
      g_free (p->filename);
      p->filename = g_strdup (g_strstrip (p->text->str));
    }
  else if ((g_str_equal (element, "width") || g_str_equal (element, "height")) && g_str_equal (parent, "size"))
    number (p, ctx, g_str_equal (element, "width") ? &p->width : &p->height, error);
  else if (g_str_equal (element, "name") && g_str_equal (parent, "object") && p->in_object)
    {
      g_free (p->name);
      p->name = g_strdup (g_strstrip (p->text->str));
    }
  else if (g_str_equal (parent, "bndbox") && g_str_equal (parent_name (p, 2), "object") && p->in_object)
    {
      static const char *const coords[] = { "xmin", "ymin", "xmax", "ymax" };
      for (guint i = 0; i < 4; i++)
        if (g_str_equal (element, coords[i]) && number (p, ctx, &p->box[i], error))
          p->have_box |= 1u << i;
    }
  else if (g_str_equal (element, "object") && p->in_object)
    {
      DsBox box = { 0 };
      p->in_object = FALSE;
      if (p->name == NULL || *p->name == '\0')
        g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s:%d: an <object> without a <name>", p->path,
                     line);
      else if (p->have_box != 0xF)
        g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID,
                     "%s:%d: <object> '%s' needs a <bndbox> with xmin, ymin, xmax and ymax", p->path, line, p->name);
      else if (p->box[2] < p->box[0] - 1 || p->box[3] < p->box[1] - 1)
        g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_INVALID, "%s:%d: <object> '%s' has a negative size",
                     p->path, line, p->name);
      else
        {
          box.x1 = p->box[0] - 1;
          box.y1 = p->box[1] - 1;
          box.x2 = p->box[2];
          box.y2 = p->box[3];
          g_array_append_val (p->boxes, box);
          g_ptr_array_add (p->box_names, g_steal_pointer (&p->name));
        }
    }
  g_ptr_array_remove_index (p->stack, p->stack->len - 1);
  g_string_truncate (p->text, 0);
}

static void
text (GMarkupParseContext *ctx, const char *chars, gsize len, gpointer data, GError **error)
{
  g_string_append_len (((VocParse *) data)->text, chars, (gssize) len);
}

static void
passthrough (GMarkupParseContext *ctx, const char *chars, gsize len, gpointer data, GError **error)
{
  VocParse *p = data;
  int line, column;

  if (len >= 9 && g_ascii_strncasecmp (chars, "<!DOCTYPE", 9) == 0)
    {
      g_markup_parse_context_get_position (ctx, &line, &column);
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE,
                   "%s:%d: a DOCTYPE is not allowed in a VOC file (no DTDs or external entities are read)", p->path,
                   line);
    }
}

static const GMarkupParser voc_parser = { start_element, end_element, text, passthrough, NULL };

static gboolean
parse_xml (Dataset *ds, const char *path, const char *relative, guint64 max_size, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  VocParse p = { 0 };
  GMarkupParseContext *ctx;
  GError *local = NULL;
  gboolean ok;

  data = ds_read_file (path, max_size, &len, error);
  if (data == NULL)
    return FALSE;
  p.ds = ds;
  p.path = path;
  p.text = g_string_new (NULL);
  p.stack = g_ptr_array_new_with_free_func (g_free);
  p.boxes = g_array_new (FALSE, FALSE, sizeof (DsBox));
  p.box_names = g_ptr_array_new_with_free_func (g_free);
  ctx = g_markup_parse_context_new (&voc_parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &p, NULL);
  ok = g_markup_parse_context_parse (ctx, data, (gssize) len, &local) && g_markup_parse_context_end_parse (ctx, &local);
  if (!ok)
    {
      if (local->domain == QR_DATASET_ERROR)
        g_propagate_error (error, local);
      else
        {
          g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_PARSE, "%s: %s", path, local->message);
          g_error_free (local);
        }
    }
  else
    {
      /* The image: <filename> in the XML file's own folder, else the XML file's stem. */
      g_autofree char *dir = g_path_get_dirname (relative);
      g_autofree char *file = NULL;
      DsImage *image;

      if (p.filename != NULL && *p.filename != '\0')
        file = g_str_equal (dir, ".") ? g_strdup (p.filename) : g_strconcat (dir, "/", p.filename, NULL);
      else
        file = ds_replace_extension (relative, "");
      image = ds_image (ds, file, path);
      image->width = (int) p.width;
      image->height = (int) p.height;
      for (guint i = 0; i < p.boxes->len; i++)
        {
          DsBox *b = &g_array_index (p.boxes, DsBox, i);
          ds_add_box (image, ds_class (ds, p.box_names->pdata[i]), b->x1, b->y1, b->x2, b->y2, FALSE);
        }
    }
  g_markup_parse_context_free (ctx);
  g_string_free (p.text, TRUE);
  g_ptr_array_unref (p.stack);
  g_array_unref (p.boxes);
  g_ptr_array_unref (p.box_names);
  g_free (p.filename);
  g_free (p.name);
  return ok;
}

typedef struct
{
  Dataset *ds;
  guint64  max_size;
} VocWalk;

static gboolean
parse_one (const char *path, const char *relative, gpointer data, GError **error)
{
  VocWalk *walk = data;
  return parse_xml (walk->ds, path, relative, walk->max_size, error);
}

static gboolean
ds_read_voc (Dataset *ds, const QrImportOptions *options, GError **error)
{
  g_autofree char *annotations = g_build_filename (options->path, "Annotations", NULL);

  if (g_file_test (options->path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *base = g_path_get_basename (options->path);
      return parse_xml (ds, options->path, base, options->max_file_size, error);
    }
  if (!g_file_test (options->path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_IO, "%s: no such VOC file or folder", options->path);
      return FALSE;
    }
  {
    VocWalk walk = { ds, options->max_file_size };
    return ds_walk_files (g_file_test (annotations, G_FILE_TEST_IS_DIR) ? annotations : options->path, NULL, ".xml",
                          parse_one, &walk, error);
  }
}

static void
append_element (GString *out, const char *indent, const char *name, const char *value)
{
  g_autofree char *escaped = g_markup_escape_text (value, -1);
  g_string_append_printf (out, "%s<%s>%s</%s>\n", indent, name, escaped, name);
}

static void
append_coordinate (GString *out, const char *name, double value)
{
  g_string_append_printf (out, "\t\t\t<%s>", name);
  ds_append_number (out, value);
  g_string_append_printf (out, "</%s>\n", name);
}

static gboolean
ds_write_voc (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error)
{
  g_autoptr (GString) list = g_string_new (NULL);
  g_autofree char *list_name = g_strdup_printf ("ImageSets/Main/%s.txt", split_name ? split_name : "trainval");

  for (guint i = 0; i < ds->images->len; i++)
    {
      DsImage *image = ds->images->pdata[i];
      g_autoptr (GString) out = g_string_new ("<annotation>\n");
      g_autofree char *base = NULL;
      g_autofree char *stem = NULL;
      g_autofree char *relative = NULL;
      char number[32];

      if (image->val != want_val)
        continue;
      base = g_path_get_basename (image->file);
      append_element (out, "\t", "folder", "JPEGImages");
      append_element (out, "\t", "filename", base);
      append_element (out, "\t", "path", image->file);
      g_string_append (out, "\t<source>\n\t\t<database>Quorum</database>\n\t</source>\n\t<size>\n");
      g_snprintf (number, sizeof number, "%d", image->width);
      append_element (out, "\t\t", "width", number);
      g_snprintf (number, sizeof number, "%d", image->height);
      append_element (out, "\t\t", "height", number);
      g_string_append (out, "\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n");
      for (guint b = 0; b < image->boxes->len; b++)
        {
          DsBox *box = &g_array_index (image->boxes, DsBox, b);
          g_string_append (out, "\t<object>\n");
          append_element (out, "\t\t", "name", ds->classes->pdata[box->class_index]);
          g_string_append (out, "\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
                                "\t\t<difficult>0</difficult>\n\t\t<bndbox>\n");
          append_coordinate (out, "xmin", box->x1 + 1);
          append_coordinate (out, "ymin", box->y1 + 1);
          append_coordinate (out, "xmax", box->x2);
          append_coordinate (out, "ymax", box->y2);
          g_string_append (out, "\t\t</bndbox>\n\t</object>\n");
        }
      g_string_append (out, "</annotation>\n");
      stem = ds_replace_extension (image->file, "");
      relative = g_strconcat ("Annotations/", stem, ".xml", NULL);
      if (!ds_write_file (dir, relative, out->str, out->len, error))
        return FALSE;
      g_string_append_printf (list, "%s\n", stem);
    }
  return ds_write_file (dir, list_name, list->str, list->len, error);
}

const DsFormat ds_format_voc = {
  .name = "voc",
  .images_folder = "JPEGImages",
  .read = ds_read_voc,
  .write = ds_write_voc,
};
