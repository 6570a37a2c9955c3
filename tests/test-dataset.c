/* test-dataset.c: import and export of COCO, YOLO, VOC and CSV: round trips for every format
 * (unicode and comma-laden names, images without labels, a hundred classes), the split, the
 * filters, atomic export, and bad input with the file and place named. */
#include "qr-catalog.h"
#include "qr-dataset.h"
#include "qr-indexer.h"
#include "test-util.h"
#include "json-scan.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  char      *tmp;
  char      *dir;       /* the collection */
  QrCatalog *catalog;
  GPtrArray *paths;     /* the collection's image paths */
} Fixture;

static const char *const image_names[] = {
  "plain.jpg",
  "sub/deeper/photo 2.jpg",
  "café/ñandú, \"1\".png",   /* unicode, a comma and quotes: CSV quoting, JSON escaping */
  "日本/猫.jpg",
  "empty.jpg",                /* gets no labels */
};

static QrCatalog *
open_catalog (Fixture *f, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = g_build_filename (f->tmp, name, NULL);
  QrCatalog *catalog = qr_catalog_open (f->dir, db, &error);

  g_assert_no_error (error);
  g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return catalog;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->tmp = test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "images", NULL);
  f->paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (image_names); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, image_names[i], NULL);
      g_autofree char *parent = g_path_get_dirname (path);
      g_autoptr (QrImage) image = test_gradient_image (200 + (int) i * 10, 150, i);
      g_mkdir_with_parents (parent, 0700);
      if (g_str_has_suffix (path, ".png"))
        test_write_png (path, image);
      else
        test_write_jpeg (path, image, 1);
      g_ptr_array_add (f->paths, g_strdup (image_names[i]));
    }
  f->catalog = open_catalog (f, "a.sqlite");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->catalog);
  g_ptr_array_unref (f->paths);
  test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
}

/* 100 classes; a few boxes with fractional coordinates on every image but the last. */
static guint
add_labels (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (7);
  guint n = 0;

  for (guint c = 0; c < 100; c++)
    {
      g_autofree char *name = c == 0 ? g_strdup ("traffic light") : c == 1 ? g_strdup ("caña, \"dulce\"")
                              : g_strdup_printf ("class-%03u", c);
      g_assert_cmpint (qr_catalog_ensure_class (f->catalog, name, &error), >, 0);
    }
  for (guint i = 0; i + 1 < f->paths->len; i++)
    {
      g_autoptr (QrImageRecord) r = qr_catalog_find_image (f->catalog, f->paths->pdata[i], &error);
      g_assert_no_error (error);
      for (int b = 0; b < 12; b++)
        {
          double x1 = g_rand_double_range (rand, 0, r->width - 20), y1 = g_rand_double_range (rand, 0, r->height - 20);
          QrBox box = { x1, y1, x1 + g_rand_double_range (rand, 1, r->width - x1),
                        y1 + g_rand_double_range (rand, 1, r->height - y1) };
          g_autoptr (GPtrArray) classes = qr_catalog_list_classes (f->catalog, &error);
          gint64 cls = qr_catalog_ensure_class (f->catalog, classes->pdata[g_rand_int_range (rand, 0, 100)], &error);
          gint64 id = qr_catalog_add_label (f->catalog, r->id, cls, &box, QR_LABEL_SOURCE_DRAWN, NULL, &error);
          g_assert_cmpint (id, >, 0);
          n++;
        }
    }
  g_rand_free (rand);
  return n;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* "path|class|x1|y1|x2|y2" lines, sorted: two catalogs hold the same labels when equal. */
static GPtrArray *
label_lines (QrCatalog *catalog, int decimals)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < labels->len; i++)
    {
      QrLabelRecord *l = labels->pdata[i];
      g_autoptr (QrImageRecord) r = qr_catalog_get_image (catalog, l->image_id, &error);
      g_ptr_array_add (lines, g_strdup_printf ("%s|%s|%.*f|%.*f|%.*f|%.*f|%d", r->path, l->class_name, decimals,
                                               l->box.x1, decimals, l->box.y1, decimals, l->box.x2, decimals,
                                               l->box.y2, l->iscrowd));
    }
  g_ptr_array_sort (lines, compare_strings);
  return lines;
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  QrDatasetFormat format = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (f->tmp, "export", NULL);
  g_autoptr (QrCatalog) copy = NULL;
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  QrExportOptions options;
  QrExportStats es;
  QrImportOptions io = { 0 };
  QrImportStats is;
  guint n = add_labels (f);

  qr_export_options_init (&options);
  options.format = format;
  options.out_dir = out;
  options.split = 0.6;
  options.seed = 11;
  options.all_classes = TRUE;
  g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (es.images, ==, G_N_ELEMENTS (image_names));
  g_assert_cmpuint (es.labels, ==, n);
  g_assert_cmpuint (es.train + es.val, ==, es.images);

  copy = open_catalog (f, "b.sqlite");
  io.format = format;
  switch (format)
    {
    case QR_DATASET_COCO:
      {
        /* Two files with a split: import both. */
        g_autofree char *train = g_build_filename (out, "annotations", "instances_train.json", NULL);
        g_autofree char *val = g_build_filename (out, "annotations", "instances_val.json", NULL);
        io.path = train;
        g_assert_true (qr_dataset_import (copy, &io, &is, NULL, NULL, NULL, &error));
        g_assert_no_error (error);
        io.path = val;
        g_assert_true (qr_dataset_import (copy, &io, &is, NULL, NULL, NULL, &error));
        break;
      }
    case QR_DATASET_CSV:
      {
        g_autofree char *train = g_build_filename (out, "train.csv", NULL);
        g_autofree char *val = g_build_filename (out, "val.csv", NULL);
        io.path = train;
        g_assert_true (qr_dataset_import (copy, &io, &is, NULL, NULL, NULL, &error));
        g_assert_no_error (error);
        io.path = val;
        g_assert_true (qr_dataset_import (copy, &io, &is, NULL, NULL, NULL, &error));
        break;
      }
    default:
      io.path = out;
      g_assert_true (qr_dataset_import (copy, &io, &is, NULL, NULL, NULL, &error));
      break;
    }
  g_assert_no_error (error);

  before = label_lines (f->catalog, 6);
  after = label_lines (copy, 6);
  g_assert_cmpuint (after->len, ==, n);
  for (guint i = 0; i < before->len; i++)
    if (g_strcmp0 (after->pdata[i], before->pdata[i]) != 0)
      g_test_message ("differ: %s | %s", (char *) before->pdata[i], (char *) after->pdata[i]);
  for (guint i = 0; i < before->len; i++)
    g_assert_cmpstr (after->pdata[i], ==, before->pdata[i]);
  /* Every class came through, those without labels included where the format lists classes. */
  {
    g_autoptr (GPtrArray) classes = qr_catalog_list_classes (copy, &error);
    if (format == QR_DATASET_COCO || format == QR_DATASET_YOLO)
      g_assert_cmpuint (classes->len, ==, 100);
  }
  /* By default only the classes the labels use are listed (COCO's categories, YOLO's names). */
  if (format == QR_DATASET_COCO || format == QR_DATASET_YOLO)
    {
      g_autofree char *out2 = g_strconcat (out, "-used", NULL);
      g_autoptr (GPtrArray) labels = qr_catalog_list_labels (f->catalog, QR_LABEL_FILTER_ALL, &error);
      g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr (QrCatalog) third = open_catalog (f, "c.sqlite");
      g_autoptr (GPtrArray) classes = NULL;
      for (guint i = 0; i < labels->len; i++)
        g_hash_table_add (used, ((QrLabelRecord *) labels->pdata[i])->class_name);
      options.all_classes = FALSE;
      options.split = 1.0;
      options.out_dir = out2;
      g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
      if (format == QR_DATASET_COCO)
        {
          g_autofree char *file = g_build_filename (out2, "annotations", "instances.json", NULL);
          if (!g_file_test (file, G_FILE_TEST_EXISTS))
            {
              g_free (file);
              file = g_build_filename (out2, "annotations", "instances_train.json", NULL);
            }
          io.path = file;
          g_assert_true (qr_dataset_import (third, &io, &is, NULL, NULL, NULL, &error));
        }
      else
        {
          io.path = out2;
          g_assert_true (qr_dataset_import (third, &io, &is, NULL, NULL, NULL, &error));
        }
      g_assert_no_error (error);
      classes = qr_catalog_list_classes (third, &error);
      g_assert_cmpuint (g_hash_table_size (used), <, 100);
      g_assert_cmpuint (classes->len, ==, g_hash_table_size (used));
    }
}

static void
test_split (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *list1 = NULL, *list2 = NULL, *list3 = NULL;
  QrExportOptions options;
  QrExportStats es;
  const char *outs[] = { "s1", "s2", "s3" };
  guint64 seeds[] = { 4, 4, 5 };
  char **lists[] = { &list1, &list2, &list3 };

  /* 300 images: 2 of 3 in train, from the path and seed alone. */
  for (int i = 0; i < 300; i++)
    {
      g_autoptr (QrImage) image = test_gradient_image (16, 16, (guint) i);
      g_autofree char *path = g_strdup_printf ("%s/many/%03d.jpg", f->dir, i);
      if (i == 0)
        {
          g_autofree char *parent = g_path_get_dirname (path);
          g_mkdir_with_parents (parent, 0700);
        }
      test_write_jpeg (path, image, 1);
    }
  g_assert_true (qr_index_collection (f->catalog, NULL, NULL, NULL, NULL, NULL, &error));
  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *out = g_build_filename (f->tmp, outs[k], NULL);
      g_autofree char *val = g_build_filename (out, "ImageSets", "Main", "val.txt", NULL);
      qr_export_options_init (&options);
      options.format = QR_DATASET_VOC;
      options.out_dir = out;
      options.split = 2.0 / 3.0;
      options.seed = seeds[k];
      g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (es.images, ==, 305);
      g_assert_cmpuint (es.val, >, 305 / 3 - 30);
      g_assert_cmpuint (es.val, <, 305 / 3 + 30);
      g_assert_true (g_file_get_contents (val, lists[k], NULL, NULL));
    }
  g_assert_cmpstr (list1, ==, list2);   /* same seed, same split */
  g_assert_cmpstr (list1, !=, list3);   /* another seed, another split */

  /* K folds: val is exactly fold k (qr_image_fold), the folds cover every image once */
  {
    guint total_val = 0;
    g_autoptr (GPtrArray) all = qr_catalog_list_images (f->catalog, -1, &error);
    for (int k = 0; k < 3; k++)
      {
        g_autofree char *name = g_strdup_printf ("fold%d", k);
        g_autofree char *out = g_build_filename (f->tmp, name, NULL);
        guint expected = 0;
        for (guint i = 0; i < all->len; i++)
          expected += qr_image_fold (((QrImageRecord *) all->pdata[i])->path, 9, 3) == k;
        qr_export_options_init (&options);
        options.format = QR_DATASET_VOC;
        options.out_dir = out;
        options.seed = 9;
        options.fold = k;
        options.n_folds = 3;
        g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (es.val, ==, expected);
        g_assert_cmpuint (es.train, ==, es.images - expected);
        total_val += es.val;
      }
    g_assert_cmpuint (total_val, ==, 305);
  }
}

static void
test_filters (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *csv = g_build_filename (f->tmp, "in.csv", NULL);
  g_autofree char *out_reviewed = g_build_filename (f->tmp, "reviewed", NULL);
  g_autofree char *out_corrected = g_build_filename (f->tmp, "corrected", NULL);
  g_autofree char *text = NULL;
  g_autoptr (QrImageRecord) plain = qr_catalog_find_image (f->catalog, "plain.jpg", &error);
  QrImportOptions io = { QR_DATASET_CSV, csv };
  QrExportOptions options;
  QrExportStats es;
  QrBox box = { 5, 5, 50, 50 };
  gint64 cls;

  test_write_bytes (csv, "image,x1,y1,x2,y2,class\nplain.jpg,1,2,30,40,cat\nempty.jpg,3,4,50,60,dog\n", 70);
  g_assert_true (qr_dataset_import (f->catalog, &io, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  cls = qr_catalog_ensure_class (f->catalog, "bird", &error);
  g_assert_cmpint (qr_catalog_add_label (f->catalog, plain->id, cls, &box, QR_LABEL_SOURCE_DRAWN, NULL, &error), >, 0);
  g_assert_true (qr_catalog_set_reviewed (f->catalog, plain->id, "reviewed", &error));

  qr_export_options_init (&options);
  options.format = QR_DATASET_CSV;
  options.out_dir = out_reviewed;
  options.filter = QR_LABEL_FILTER_REVIEWED;
  g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
  g_assert_cmpuint (es.images, ==, 1);
  g_assert_cmpuint (es.labels, ==, 2);

  options.out_dir = out_corrected;
  options.filter = QR_LABEL_FILTER_CORRECTED;
  g_assert_true (qr_dataset_export (f->catalog, &options, &es, NULL, NULL, NULL, &error));
  g_assert_cmpuint (es.images, ==, 1);
  g_assert_cmpuint (es.labels, ==, 1);
  {
    g_autofree char *path = g_build_filename (out_corrected, "labels.csv", NULL);
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "image,x1,y1,x2,y2,class\nplain.jpg,5,5,50,50,bird\n");
  }
}

static void
test_export_atomic (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (f->tmp, "out", NULL);
  g_autofree char *victim = g_build_filename (f->dir, "plain.jpg", NULL);
  QrExportOptions options;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  qr_export_options_init (&options);
  options.format = QR_DATASET_YOLO;
  options.out_dir = out;
  options.images = QR_EXPORT_IMAGES_COPY;
  g_assert_true (qr_dataset_export (f->catalog, &options, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *copied = g_build_filename (out, "images", "café", "ñandú, \"1\".png", NULL);
    g_assert_true (g_file_test (copied, G_FILE_TEST_IS_REGULAR));
  }
  /* The target exists: refused unless overwriting. */
  g_assert_false (qr_dataset_export (f->catalog, &options, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, QR_DATASET_ERROR, QR_DATASET_ERROR_EXISTS);
  g_clear_error (&error);

  /* A failure half-way (an image vanished) leaves the old export intact and no partial folder. */
  g_unlink (victim);
  options.overwrite = TRUE;
  g_assert_false (qr_dataset_export (f->catalog, &options, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "plain.jpg"));
  {
    g_autofree char *old_copy = g_build_filename (out, "images", "plain.jpg", NULL);
    g_assert_true (g_file_test (old_copy, G_FILE_TEST_IS_REGULAR));
  }
  dir = g_dir_open (f->tmp, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".out."));
}

static void
import_fails (Fixture *f, QrDatasetFormat format, const char *file, const char *content, gssize len, int code,
              const char *expect1, const char *expect2)
{
  g_autofree char *path = g_build_filename (f->tmp, file, NULL);
  g_autoptr (GError) error = NULL;
  QrImportOptions io = { format, path };
  QrCatalogStats stats;

  if (content != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (path);
      g_mkdir_with_parents (parent, 0700);
      test_write_bytes (path, content, len < 0 ? strlen (content) : (gsize) len);
    }
  if (format == QR_DATASET_YOLO || (format == QR_DATASET_VOC && !g_str_has_suffix (file, ".xml")))
    io.path = g_path_get_dirname (path);
  g_assert_false (qr_dataset_import (f->catalog, &io, NULL, NULL, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, QR_DATASET_ERROR, code);
  g_assert_nonnull (strstr (error->message, expect1));
  if (expect2 != NULL)
    g_assert_nonnull (strstr (error->message, expect2));
  /* All or nothing: no label was written. */
  g_assert_true (qr_catalog_get_stats (f->catalog, &stats, NULL));
  g_assert_cmpint (stats.labels, ==, 0);
  if (io.path != path)
    g_free ((char *) io.path);
}

#define COCO_HEAD "{\"images\": [{\"id\": 1, \"file_name\": \"plain.jpg\", \"width\": 200, \"height\": 150}],\n" \
                  "\"categories\": [{\"id\": 3, \"name\": \"cat\"}],\n\"annotations\": [\n"

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  int P = QR_DATASET_ERROR_PARSE, I = QR_DATASET_ERROR_INVALID, X = QR_DATASET_ERROR_PATH;

  import_fails (f, QR_DATASET_COCO, "trunc.json", COCO_HEAD "{\"id\": 1, \"image_id\": 1, \"category_id\": 3, \"bb", -1,
                P, "trunc.json:4:", NULL);
  import_fails (f, QR_DATASET_COCO, "cat.json", COCO_HEAD "{\"id\": 1, \"image_id\": 1, \"category_id\": 9, \"bbox\": [1, 2, 3, 4]}]}", -1,
                I, "cat.json:4:1", "unknown category_id 9");
  import_fails (f, QR_DATASET_COCO, "dup.json", COCO_HEAD "{\"id\": 5, \"image_id\": 1, \"category_id\": 3, \"bbox\": [1, 2, 3, 4]},\n"
                "{\"id\": 5, \"image_id\": 1, \"category_id\": 3, \"bbox\": [1, 2, 3, 4]}]}", -1,
                I, "dup.json:5:1", "duplicate annotation id 5");
  import_fails (f, QR_DATASET_COCO, "neg.json", COCO_HEAD "{\"id\": 1, \"image_id\": 1, \"category_id\": 3, \"bbox\": [10, 20, -3, 4]}]}", -1,
                I, "neg.json:4:1", "negative size");
  import_fails (f, QR_DATASET_COCO, "out.json", COCO_HEAD "{\"id\": 1, \"image_id\": 1, \"category_id\": 3, \"bbox\": [150, 20, 100, 4]}]}", -1,
                I, "outside", "plain.jpg");
  import_fails (f, QR_DATASET_COCO, "escape.json",
                "{\"images\": [{\"id\": 1, \"file_name\": \"../../etc/passwd\"}], \"categories\": [], \"annotations\": []}", -1,
                X, "escape.json", "../../etc/passwd");
  import_fails (f, QR_DATASET_COCO, "absolute.json",
                "{\"images\": [{\"id\": 1, \"file_name\": \"/etc/passwd\"}], \"categories\": [], \"annotations\": []}", -1,
                X, "absolute.json", "/etc/passwd");
  import_fails (f, QR_DATASET_COCO, "absent.json",
                "{\"images\": [{\"id\": 1, \"file_name\": \"nowhere.jpg\"}], \"categories\": [], \"annotations\": []}", -1,
                X, "absent.json", "nowhere.jpg");
  {
    /* Nesting deeper than the scanner allows, in a member it skips: an error, not a stack overflow. */
    g_autoptr (GString) deep = g_string_new ("{\"info\": ");
    for (int i = 0; i < 100000; i++)
      g_string_append_c (deep, '[');
    import_fails (f, QR_DATASET_COCO, "deep.json", deep->str, -1, P, "deep.json:1:", "nested deeper");
  }

  import_fails (f, QR_DATASET_VOC, "bad.xml", "<annotation><filename>plain.jpg</filename>\n<object><name>cat</nam></object>", -1,
                P, "bad.xml", "line 2");
  import_fails (f, QR_DATASET_VOC, "xxe.xml",
                "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                "<annotation><filename>plain.jpg</filename><object><name>&xxe;</name></object></annotation>", -1,
                P, "xxe.xml", NULL);
  import_fails (f, QR_DATASET_VOC, "voc/Annotations/plain.xml",
                "<annotation><filename>plain.jpg</filename><object><name>cat</name>\n<bndbox><xmin>10</xmin>"
                "<ymin>x</ymin></bndbox></object></annotation>", -1, P, "plain.xml:2", "not a number");

  import_fails (f, QR_DATASET_YOLO, "yolo/labels/plain.txt", "0 0.5 0.5 0.2 0.2\n0 0.5 oops 0.2 0.2\n", -1,
                P, "plain.txt:2", "oops");
  import_fails (f, QR_DATASET_CSV, "short.csv", "image,x1,y1,x2,y2,class\nplain.jpg,1,2,3,4,cat\nplain.jpg,1,2,3\n", -1,
                P, "short.csv:3", "6 fields");
  import_fails (f, QR_DATASET_CSV, "quote.csv", "plain.jpg,1,2,3,4,\"cat\n", -1, P, "quote.csv:1", "never ends");

  /* A 2 GB file is refused from its size, before anything is read. */
  {
    g_autofree char *huge = g_build_filename (f->tmp, "huge.json", NULL);
    FILE *file = fopen (huge, "w");
    g_assert_nonnull (file);
    g_assert_cmpint (ftruncate (fileno (file), 2ll * 1024 * 1024 * 1024), ==, 0);
    fclose (file);
    import_fails (f, QR_DATASET_COCO, "huge.json", NULL, 0, QR_DATASET_ERROR_TOO_LARGE, "huge.json", "limit");
  }
}

static void
test_allow_missing_and_captions (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->tmp, "partial.json", NULL);
  g_autofree char *captions = g_build_filename (f->tmp, "captions.json", NULL);
  QrImportOptions io = { QR_DATASET_COCO, path };
  QrImportStats stats;
  g_autoptr (QrImageRecord) plain = qr_catalog_find_image (f->catalog, "plain.jpg", &error);
  g_autoptr (GPtrArray) texts = NULL;
  g_autoptr (GPtrArray) labels = NULL;

  test_write_bytes (path,
                    "{\"images\": [{\"id\": 1, \"file_name\": \"plain.jpg\"}, {\"id\": 2, \"file_name\": \"gone.jpg\"}],"
                    " \"categories\": [{\"id\": 1, \"name\": \"person\"}],"
                    " \"annotations\": [{\"id\": 1, \"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 1, 10, 10],"
                    " \"iscrowd\": 1}, {\"id\": 2, \"image_id\": 2, \"category_id\": 1, \"bbox\": [1, 1, 10, 10]}]}", -1);
  test_write_bytes (captions,
                    "{\"images\": [{\"id\": 7, \"file_name\": \"plain.jpg\"}],"
                    " \"annotations\": [{\"id\": 1, \"image_id\": 7, \"caption\": \"A gradient, \\u00e9l\\u00e9gant.\"}]}",
                    -1);
  io.allow_missing = TRUE;
  io.captions_path = captions;
  g_assert_true (qr_dataset_import (f->catalog, &io, &stats, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.skipped, ==, 1);
  g_assert_cmpuint (stats.labels, ==, 1);
  g_assert_cmpuint (stats.captions, ==, 1);
  texts = qr_catalog_list_captions (f->catalog, plain->id, &error);
  g_assert_cmpuint (texts->len, ==, 1);
  g_assert_cmpstr (texts->pdata[0], ==, "A gradient, élégant.");
  labels = qr_catalog_list_labels (f->catalog, QR_LABEL_FILTER_ALL, &error);
  g_assert_true (((QrLabelRecord *) labels->pdata[0])->iscrowd);
  g_assert_cmpint (((QrLabelRecord *) labels->pdata[0])->source, ==, QR_LABEL_SOURCE_IMPORTED);
}

static void
test_relative_paths (void)
{
  const char *good[][2] = { { "a.jpg", "a.jpg" }, { "./x/./y.png", "x/y.png" }, { "x//y.png", "x/y.png" } };
  const char *bad[] = { "", "/etc/passwd", "../a.jpg", "x/../../a.jpg", "C:evil.jpg", "a\\..\\b.jpg", "." };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *normalised = NULL;
      g_assert_true (qr_dataset_check_relative_path (good[i][0], &normalised));
      g_assert_cmpstr (normalised, ==, good[i][1]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (qr_dataset_check_relative_path (bad[i], NULL));
}

static void
test_json_numbers (void)
{
  /* The scanner's fast decimal path must give exactly the double that strtod gives. */
  GRand *rand = g_rand_new_with_seed (3);
  const char *specials[] = { "0", "-0", "0.5", "1e3", "-2.5E-3", "123456789012345", "1234567890123456789",
                             "0.000000000000001", "9007199254740993", "3.141592653589793", "100.", "7.0" };

  for (int i = 0; i < 200000 + (int) G_N_ELEMENTS (specials); i++)
    {
      char text[64];
      JsonScan scan;
      double ours, theirs;
      g_autoptr (GError) error = NULL;

      if (i < (int) G_N_ELEMENTS (specials))
        g_strlcpy (text, specials[i], sizeof text);
      else
        g_snprintf (text, sizeof text, "%s%u.%0*u", g_rand_boolean (rand) ? "-" : "", g_rand_int_range (rand, 0, 100000),
                    g_rand_int_range (rand, 1, 10), g_rand_int_range (rand, 0, 1000000000));
      json_scan_init (&scan, text, strlen (text), "numbers");
      if (g_str_equal (text, "100."))
        {
          g_assert_false (json_scan_number (&scan, &ours, &error)); /* JSON needs a digit after '.' */
          json_scan_clear (&scan);
          continue;
        }
      g_assert_true (json_scan_number (&scan, &ours, &error));
      theirs = g_ascii_strtod (text, NULL);
      if (memcmp (&ours, &theirs, sizeof ours) != 0)
        g_error ("%s: %.17g != %.17g", text, ours, theirs);
      json_scan_clear (&scan);
    }
  g_rand_free (rand);
}

static gint64
live_labels (QrCatalog *catalog)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error);
  g_assert_no_error (error);
  return labels->len;
}

/* The same dataset imported twice is noticed (by what it holds, from any path): skipped by default,
 * replaced, or added again as the mode says; a changed file at the same path is imported beside
 * the earlier version, or in its place with replace; a rollback leaves no import recorded. */
static void
test_import_modes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *csv = g_build_filename (f->tmp, "labels.csv", NULL);
  g_autofree char *copy = g_build_filename (f->tmp, "copy.csv", NULL);
  QrImportOptions io = { QR_DATASET_CSV };
  QrImportStats is;

  g_assert_true (g_file_set_contents (csv, "plain.jpg,1,2,30,40,dog\nplain.jpg,5,5,20,20,cat\n", -1, NULL));
  g_assert_true (g_file_set_contents (copy, "plain.jpg,1,2,30,40,dog\nplain.jpg,5,5,20,20,cat\n", -1, NULL));
  io.path = csv;
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_false (is.already_imported);
  g_assert_cmpint (is.import_id, >, 0);
  g_assert_cmpint (live_labels (f->catalog), ==, 2);

  /* again, and a copy elsewhere: already imported, nothing added */
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_true (is.already_imported);
  g_assert_cmpint (is.already_labels, ==, 2);
  io.path = copy;
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_true (is.already_imported);
  g_assert_cmpint (live_labels (f->catalog), ==, 2);

  /* add: beside; replace: in place of every earlier import of the same content */
  io.mode = QR_IMPORT_ADD;
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_cmpint (live_labels (f->catalog), ==, 4);
  io.mode = QR_IMPORT_REPLACE;
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_cmpint (is.replaced_labels, ==, 4);
  g_assert_cmpint (live_labels (f->catalog), ==, 2);

  /* the file changes at the same path: by default imported beside the earlier version (and said),
     with replace in its place */
  io.path = csv;
  io.mode = QR_IMPORT_SKIP;
  g_assert_true (g_file_set_contents (csv, "plain.jpg,1,2,30,40,dog\nplain.jpg,50,50,90,90,bird\n", -1, NULL));
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  g_assert_false (is.already_imported);
  g_assert_cmpint (is.earlier_same_path, >, 0);
  g_assert_cmpint (live_labels (f->catalog), ==, 4);
  g_assert_true (g_file_set_contents (csv, "plain.jpg,1,2,30,40,dog\n", -1, NULL));
  io.mode = QR_IMPORT_REPLACE;
  g_assert_true (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
  /* the earlier versions of this path (the first file and the bird one) are gone; the copy's
     labels, imported from another path, stay */
  g_assert_cmpint (live_labels (f->catalog), ==, 3);

  /* a failed import records nothing: a bad file, then the good one is new */
  {
    g_autofree char *bad = g_build_filename (f->tmp, "bad.csv", NULL);
    g_autoptr (GPtrArray) before = qr_catalog_find_imports (f->catalog, NULL, bad, &error);
    g_assert_true (g_file_set_contents (bad, "plain.jpg,1,2,30,40,dog\nnowhere.jpg,1,1,2,2,dog\n", -1, NULL));
    io.path = bad;
    io.mode = QR_IMPORT_SKIP;
    g_assert_false (qr_dataset_import (f->catalog, &io, &is, NULL, NULL, NULL, &error));
    g_clear_error (&error);
    g_assert_cmpuint (before->len, ==, 0);
    {
      g_autoptr (GPtrArray) after = qr_catalog_find_imports (f->catalog, NULL, bad, &error);
      g_assert_cmpuint (after->len, ==, 0);
    }
  }
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, data, func) g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)
  ADD ("/dataset/round-trip/coco", GINT_TO_POINTER (QR_DATASET_COCO), test_round_trip);
  ADD ("/dataset/round-trip/yolo", GINT_TO_POINTER (QR_DATASET_YOLO), test_round_trip);
  ADD ("/dataset/round-trip/voc", GINT_TO_POINTER (QR_DATASET_VOC), test_round_trip);
  ADD ("/dataset/round-trip/csv", GINT_TO_POINTER (QR_DATASET_CSV), test_round_trip);
  ADD ("/dataset/export/split-reproducible", NULL, test_split);
  ADD ("/dataset/export/filters", NULL, test_filters);
  ADD ("/dataset/export/atomic", NULL, test_export_atomic);
  ADD ("/dataset/import/bad-input", NULL, test_bad_input);
  ADD ("/dataset/import/allow-missing-and-captions", NULL, test_allow_missing_and_captions);
  ADD ("/dataset/import/twice-skip-replace-add", NULL, test_import_modes);
#undef ADD
  g_test_add_func ("/dataset/paths/relative", test_relative_paths);
  g_test_add_func ("/dataset/json/numbers-exact", test_json_numbers);
  return g_test_run ();
}
