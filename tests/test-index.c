/* test-index.c: indexing a folder: added, changed, moved, removed and unreadable files,
 * orientation from headers, what is skipped, and thumbnails of real photos. */
#include "qr-catalog.h"
#include "qr-indexer.h"
#include "qr-thumbnailer.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>
#include <glib/gstdio.h>
/* stb_image as the independent decoder, compiled here and static to this file (Quorum's own copy
 * leaves JPEG to libjpeg-turbo); GCC reports stb's unused statics at the file's end */
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>

typedef struct
{
  char      *tmp;
  char      *dir;
  QrCatalog *catalog;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = NULL;

  f->tmp = test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "images", NULL);
  db = g_build_filename (f->tmp, "catalog.sqlite", NULL);
  g_mkdir (f->dir, 0700);
  f->catalog = qr_catalog_open (f->dir, db, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->catalog);
  test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
}

static char *
in_dir (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
index_ok (Fixture *f, QrIndexStats *stats)
{
  g_autoptr (GError) error = NULL;
  QrIndexOptions options;

  qr_index_options_init (&options);
  options.batch_size = 3; /* several transactions even for a few files */
  g_assert_true (qr_index_collection (f->catalog, &options, stats, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static QrImageRecord *
find (Fixture *f, const char *path)
{
  g_autoptr (GError) error = NULL;
  QrImageRecord *r = qr_catalog_find_image (f->catalog, path, &error);
  g_assert_no_error (error);
  return r;
}

static void
set_mtime (const char *path, time_t t)
{
  struct utimbuf times = { t, t };
  g_assert_cmpint (utime (path, &times), ==, 0);
}

static void
test_added_changed_removed (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (120, 80, 1);
  g_autoptr (QrImage) b = test_gradient_image (33, 77, 2);
  g_autoptr (QrImage) c = test_gradient_image (50, 50, 3);
  g_autofree char *pa = in_dir (f, "a.jpg");
  g_autofree char *sub = in_dir (f, "sub/deeper");
  g_autofree char *pb = in_dir (f, "sub/deeper/b.png");
  g_autofree char *pc = in_dir (f, "C.JPEG");
  QrIndexStats s;
  QrCatalogStats cs;
  g_autoptr (GError) error = NULL;

  g_mkdir_with_parents (sub, 0700);
  test_write_jpeg (pa, a, 1);
  test_write_png (pb, b);
  test_write_jpeg (pc, c, 1);
  index_ok (f, &s);
  g_assert_cmpuint (s.seen, ==, 3);
  g_assert_cmpuint (s.added, ==, 3);
  g_assert_cmpuint (s.unreadable, ==, 0);
  {
    g_autoptr (QrImageRecord) r = find (f, "sub/deeper/b.png");
    g_assert_cmpint (r->width, ==, 33);
    g_assert_cmpint (r->height, ==, 77);
    g_assert_cmpstr (r->format, ==, "png");
    g_assert_cmpint (strlen (r->hash), ==, 64);
  }

  /* Nothing changed: nothing is read again. */
  index_ok (f, &s);
  g_assert_cmpuint (s.unchanged, ==, 3);
  g_assert_cmpuint (s.added + s.changed + s.removed + s.moved, ==, 0);

  /* a.jpg rewritten with another size; C.JPEG removed. */
  {
    g_autoptr (QrImage) a2 = test_gradient_image (200, 100, 4);
    test_write_jpeg (pa, a2, 1);
    set_mtime (pa, time (NULL) + 5);
  }
  g_unlink (pc);
  index_ok (f, &s);
  g_assert_cmpuint (s.changed, ==, 1);
  g_assert_cmpuint (s.removed, ==, 1);
  g_assert_cmpuint (s.unchanged, ==, 1);
  {
    g_autoptr (QrImageRecord) ra = find (f, "a.jpg");
    g_autoptr (QrImageRecord) rc = find (f, "C.JPEG");
    g_assert_cmpint (ra->width, ==, 200);
    g_assert_cmpint (rc->state, ==, QR_IMAGE_STATE_MISSING);
  }
  g_assert_true (qr_catalog_get_stats (f->catalog, &cs, &error));
  g_assert_cmpint (cs.images, ==, 3);
  g_assert_cmpint (cs.images_missing, ==, 1);

  /* The removed file comes back: the same row, readable again. */
  test_write_jpeg (pc, c, 1);
  index_ok (f, &s);
  g_assert_cmpuint (s.changed, ==, 1);
  {
    g_autoptr (QrImageRecord) rc = find (f, "C.JPEG");
    g_assert_cmpint (rc->state, ==, QR_IMAGE_STATE_OK);
  }
}

static void
test_moved_keeps_labels (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (64, 64, 9);
  g_autofree char *old_path = in_dir (f, "old.jpg");
  g_autofree char *new_dir = in_dir (f, "renamed");
  g_autofree char *new_path = in_dir (f, "renamed/new.jpg");
  g_autoptr (GError) error = NULL;
  QrIndexStats s;
  QrBox box = { 1, 2, 30, 40 };
  gint64 id, cls;

  test_write_jpeg (old_path, a, 1);
  index_ok (f, &s);
  {
    g_autoptr (QrImageRecord) r = find (f, "old.jpg");
    id = r->id;
  }
  cls = qr_catalog_ensure_class (f->catalog, "cat", &error);
  g_assert_cmpint (qr_catalog_add_label (f->catalog, id, cls, &box, QR_LABEL_SOURCE_DRAWN, NULL, &error),
                   >, 0);

  g_mkdir (new_dir, 0700);
  g_assert_cmpint (g_rename (old_path, new_path), ==, 0);
  index_ok (f, &s);
  g_assert_cmpuint (s.moved, ==, 1);
  g_assert_cmpuint (s.added, ==, 0);
  g_assert_cmpuint (s.removed, ==, 0);
  {
    g_autoptr (QrImageRecord) r = find (f, "renamed/new.jpg");
    g_assert_cmpint (r->id, ==, id); /* same row: its label followed */
  }
  {
    g_autoptr (QrImageRecord) gone = qr_catalog_find_image (f->catalog, "old.jpg", &error);
    g_assert_null (gone);
    g_assert_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND);
  }
}

static void
test_unreadable_recorded (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (300, 200, 5);
  g_autofree char *trunc = in_dir (f, "truncated.jpg");
  g_autofree char *trunc_png = in_dir (f, "truncated.png");
  g_autofree char *junk = in_dir (f, "junk.png");
  g_autofree char *empty = in_dir (f, "empty.jpg");
  g_autofree char *tiff = in_dir (f, "scan.tif");
  g_autoptr (GPtrArray) bad = NULL;
  g_autoptr (GError) error = NULL;
  QrIndexStats s;

  test_write_jpeg (trunc, a, 1);
  test_truncate_file (trunc, 2000);
  test_write_png (trunc_png, a);
  test_truncate_file (trunc_png, 900);
  test_write_bytes (junk, "<html>not a png</html>", 22);
  test_write_bytes (empty, "", 0);
  test_write_bytes (tiff, "II*\0\x08\0\0\0", 8);
  index_ok (f, &s);
  g_assert_cmpuint (s.seen, ==, 5);
  g_assert_cmpuint (s.unreadable, ==, 5);
  bad = qr_catalog_list_images (f->catalog, QR_IMAGE_STATE_UNREADABLE, &error);
  g_assert_cmpuint (bad->len, ==, 5);
  {
    struct { const char *path; const char *reason; } want[] = {
      { "empty.jpg", "empty file" },
      { "junk.png", "not an image format" },
      { "scan.tif", "TIFF" },
      { "truncated.jpg", "truncated JPEG" },
      { "truncated.png", "truncated PNG" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (want); i++)
      {
        QrImageRecord *r = bad->pdata[i];
        g_assert_cmpstr (r->path, ==, want[i].path);
        g_assert_nonnull (strstr (r->reason, want[i].reason));
      }
  }
}

static void
test_orientation_and_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_corner_image (64, 40);
  g_autofree char *p6 = in_dir (f, "rotated.jpg");
  g_autofree char *big = in_dir (f, "big.jpg");
  g_autoptr (QrImage) b = test_gradient_image (200, 100, 1);
  g_autoptr (GError) error = NULL;
  QrIndexOptions options;
  QrIndexStats s;

  test_write_jpeg (p6, a, 6);
  test_write_jpeg (big, b, 1);
  qr_index_options_init (&options);
  options.limits.max_pixels = 10000; /* 200 × 100 is over it */
  g_assert_true (qr_index_collection (f->catalog, &options, &s, NULL, NULL, NULL, &error));
  {
    g_autoptr (QrImageRecord) r = find (f, "rotated.jpg");
    g_assert_cmpint (r->orientation, ==, 6);
    g_assert_cmpint (r->width, ==, 40);  /* displayed size */
    g_assert_cmpint (r->height, ==, 64);
  }
  {
    g_autoptr (QrImageRecord) r = find (f, "big.jpg");
    g_assert_cmpint (r->state, ==, QR_IMAGE_STATE_UNREADABLE);
    g_assert_nonnull (strstr (r->reason, "too large"));
  }
}

static void
test_skipped_entries (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (20, 20, 1);
  g_autofree char *hidden_dir = in_dir (f, ".cache");
  g_autofree char *hidden = in_dir (f, ".cache/x.jpg");
  g_autofree char *dotfile = in_dir (f, ".thumb.jpg");
  g_autofree char *text = in_dir (f, "notes.txt");
  g_autofree char *real = in_dir (f, "real.jpg");
  g_autofree char *outside = g_build_filename (f->tmp, "outside.jpg", NULL);
  g_autofree char *link_out = in_dir (f, "escape.jpg");
  g_autofree char *link_in = in_dir (f, "alias.jpg");
  g_autofree char *loop = in_dir (f, "loop");
  QrIndexStats s;

  g_mkdir (hidden_dir, 0700);
  test_write_jpeg (hidden, a, 1);
  test_write_jpeg (dotfile, a, 1);
  test_write_bytes (text, "hello", 5);
  test_write_jpeg (real, a, 1);
  test_write_jpeg (outside, a, 1);
  g_assert_cmpint (symlink (outside, link_out), ==, 0);  /* escapes the root: skipped */
  g_assert_cmpint (symlink ("real.jpg", link_in), ==, 0); /* stays inside: indexed */
  g_assert_cmpint (symlink (".", loop), ==, 0);           /* a folder link: never followed */
  index_ok (f, &s);
  g_assert_cmpuint (s.seen, ==, 2);
  qr_image_record_free (find (f, "real.jpg"));
  qr_image_record_free (find (f, "alias.jpg")); /* find() asserts that it is there */
}

static void
test_thumbnails_real_photos (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autofree char *db = g_build_filename (f->tmp, "demo.sqlite", NULL);
  g_autoptr (GPtrArray) images = NULL;
  QrThumbnailStats ts;
  QrThumbnailOptions options;

  catalog = qr_catalog_open (QUORUM_DEMO_DIR, db, &error);
  g_assert_no_error (error);
  g_assert_true (qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error));
  qr_thumbnail_options_init (&options);
  g_assert_true (qr_thumbnails_update (catalog, &options, &ts, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  images = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, &error);
  g_assert_cmpuint (images->len, ==, 18);
  g_assert_cmpuint (ts.made, ==, 18);
  g_assert_cmpuint (ts.failed, ==, 0);

  for (guint i = 0; i < images->len; i++)
    {
      QrImageRecord *r = images->pdata[i];
      int tw = 0, th = 0, w, h, comp;
      g_autoptr (GBytes) jpeg = qr_catalog_get_thumbnail (catalog, r->id, &tw, &th, &error);
      g_autofree char *path = qr_catalog_resolve_path (catalog, r->path);
      g_autofree char *bytes = NULL;
      gsize len, jlen;
      const guint8 *jdata;
      guint8 *full_px;
      g_autoptr (QrImage) thumb = NULL;
      g_autoptr (QrImage) reference = NULL;
      QrImage full;

      g_assert_no_error (error);
      /* Longer side 256, aspect kept to the pixel. */
      g_assert_cmpint (MAX (tw, th), ==, 256);
      if (tw == 256)
        g_assert_cmpint (ABS (th - r->height * 256 / r->width), <=, 1);
      else
        g_assert_cmpint (ABS (tw - r->width * 256 / r->height), <=, 1);

      /* Against an independent path: stb_image's full decode and a plain box downscale. */
      jdata = g_bytes_get_data (jpeg, &jlen);
      thumb = qr_image_decode (jdata, jlen, NULL, 0, &error);
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      full_px = stbi_load_from_memory ((guint8 *) bytes, (int) len, &w, &h, &comp, 3);
      g_assert_nonnull (full_px);
      full = (QrImage) { w, h, full_px };
      /* Exact area average, written directly in 2-D: each source pixel weighs by its overlap. */
      reference = qr_image_new (tw, th);
      for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
          {
            double sx0 = (double) x * w / tw, sx1 = (double) (x + 1) * w / tw;
            double sy0 = (double) y * h / th, sy1 = (double) (y + 1) * h / th;
            double sum[3] = { 0, 0, 0 }, area = 0;
            for (int yy = (int) sy0; yy < MIN ((int) ceil (sy1), h); yy++)
              for (int xx = (int) sx0; xx < MIN ((int) ceil (sx1), w); xx++)
                {
                  double wt = (MIN (sx1, xx + 1.0) - MAX (sx0, (double) xx))
                              * (MIN (sy1, yy + 1.0) - MAX (sy0, (double) yy));
                  for (int ch = 0; ch < 3; ch++)
                    sum[ch] += wt * full.pixels[((gsize) yy * (gsize) w + (gsize) xx) * 3 + (gsize) ch];
                  area += wt;
                }
            for (int ch = 0; ch < 3; ch++)
              reference->pixels[((gsize) y * (gsize) tw + (gsize) x) * 3 + (gsize) ch] =
                (guint8) (sum[ch] / area + 0.5);
          }
      /* Before JPEG encoding (decode with DCT scaling, then our area resize), and after it. */
      {
        g_autoptr (QrImage) loaded = qr_image_load (path, NULL, 256, &error);
        g_autoptr (QrImage) direct = qr_image_fit (loaded, 256);
        double before = test_mean_abs_diff (direct, reference);
        double after = test_mean_abs_diff (thumb, reference);
        g_test_message ("%s: mean abs difference %.2f before JPEG encoding, %.2f after", r->path,
                        before, after);
        g_assert_cmpfloat (before, <, 3.5);
        g_assert_cmpfloat (after, <, 9.0);
      }
      stbi_image_free (full_px);
    }

  /* Up to date now: a second pass makes nothing. */
  g_assert_true (qr_thumbnails_update (catalog, &options, &ts, NULL, NULL, NULL, &error));
  g_assert_cmpuint (ts.made, ==, 0);
}

static void
test_thumbnail_of_bad_pixels (Fixture *f, gconstpointer data)
{
  /* A JPEG whose header and end marker are intact but whose data stops short: indexing (header
   * only) accepts it, thumbnailing finds out and marks it unreadable with the reason. */
  g_autoptr (QrImage) a = test_gradient_image (400, 300, 7);
  g_autofree char *path = in_dir (f, "cut.jpg");
  g_autofree char *bytes = NULL;
  gsize len;
  QrIndexStats s;
  QrThumbnailStats ts;
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) cut = g_byte_array_new ();

  test_write_jpeg (path, a, 1);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_byte_array_append (cut, (guint8 *) bytes, (guint) (len / 3));
  g_byte_array_append (cut, (const guint8 *) "\xFF\xD9", 2);
  test_write_bytes (path, cut->data, cut->len);

  index_ok (f, &s);
  g_assert_cmpuint (s.unreadable, ==, 0);
  g_assert_true (qr_thumbnails_update (f->catalog, NULL, &ts, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ts.failed, ==, 1);
  {
    g_autoptr (QrImageRecord) r = find (f, "cut.jpg");
    g_assert_cmpint (r->state, ==, QR_IMAGE_STATE_UNREADABLE);
    g_assert_nonnull (strstr (r->reason, "JPEG"));
  }
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (20, 20, 1);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%d.jpg", f->dir, i);
      test_write_jpeg (name, a, 1);
    }
  g_cancellable_cancel (cancellable);
  g_assert_false (qr_index_collection (f->catalog, NULL, NULL, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A file whose name is not UTF-8 cannot go into the catalog; it is counted and named (escaped),
 * not skipped in silence; the other files are indexed. */
static void
test_name_not_utf8 (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) a = test_gradient_image (40, 30, 1);
  g_autofree char *good = in_dir (f, "cafe.jpg");
  g_autofree char *bad = in_dir (f, "caf\xe9.jpg");
  QrIndexStats s;

  test_write_jpeg (good, a, 1);
  test_write_jpeg (bad, a, 1);
  index_ok (f, &s);
  g_assert_cmpuint (s.seen, ==, 1);
  g_assert_cmpuint (s.bad_names, ==, 1);
  g_assert_cmpstr (s.bad_name_example, ==, "caf\\351.jpg");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/index/added-changed-removed", test_added_changed_removed);
  ADD ("/index/moved-file-keeps-labels", test_moved_keeps_labels);
  ADD ("/index/unreadable-recorded", test_unreadable_recorded);
  ADD ("/index/orientation-and-pixel-limit", test_orientation_and_limit);
  ADD ("/index/skipped-entries", test_skipped_entries);
  ADD ("/index/cancel", test_cancel);
  ADD ("/index/name-not-utf8-counted", test_name_not_utf8);
  ADD ("/thumbs/real-photos", test_thumbnails_real_photos);
  ADD ("/thumbs/bad-pixels-marked-unreadable", test_thumbnail_of_bad_pixels);
#undef ADD
  return g_test_run ();
}
