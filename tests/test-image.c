/* test-image.c: probing, decoding, EXIF orientation, the pixel limit, resizing and bad input.
 * Orientation expectations are written out by hand from the EXIF specification's table, not
 * derived from the code under test. */
#include "qr-image.h"
#include "test-util.h"

#include <string.h>
#include <sys/stat.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
/* stb_image's JPEG decoder as the independent oracle: compiled here, static to this file (Quorum's
 * own copy of stb leaves JPEG out: it always decodes JPEG with libjpeg-turbo). */
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
/* (for the rest of the file: GCC reports stb's unused static declarations at its end) */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = test_make_tmpdir ();
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  test_remove_tree (f->dir);
  g_free (f->dir);
}

/* Which colour is at the centre of the 16×16 block in a corner of the displayed image. */
typedef enum { RED, GREEN, BLUE } Colour;

static Colour
colour_at (const QrImage *image, gboolean right, gboolean bottom)
{
  int x = right ? image->width - 8 : 8, y = bottom ? image->height - 8 : 8;
  const guint8 *p = image->pixels + ((gsize) y * (gsize) image->width + (gsize) x) * 3;

  if (p[0] > 160 && p[1] < 100 && p[2] < 100)
    return RED;
  if (p[1] > 160 && p[0] < 100 && p[2] < 100)
    return GREEN;
  g_assert_cmpint (p[2], >, 160);
  return BLUE;
}

static void
test_orientation (Fixture *f, gconstpointer data)
{
  /* For each EXIF orientation: the corner where the source's top-left (red) and top-right
   * (green) blocks end up once displayed. Source is 64 wide, 40 high. */
  static const struct { int o; const char *red; const char *green; gboolean swap; } cases[] = {
    { 1, "top-left", "top-right", FALSE },
    { 2, "top-right", "top-left", FALSE },      /* mirrored horizontally */
    { 3, "bottom-right", "bottom-left", FALSE },/* rotated 180° */
    { 4, "bottom-left", "bottom-right", FALSE },/* mirrored vertically */
    { 5, "top-left", "bottom-left", TRUE },     /* row 0 is the left side, column 0 the top */
    { 6, "top-right", "bottom-right", TRUE },   /* row 0 is the right side, column 0 the top */
    { 7, "bottom-right", "top-right", TRUE },   /* row 0 is the right side, column 0 the bottom */
    { 8, "bottom-left", "top-left", TRUE },     /* row 0 is the left side, column 0 the bottom */
  };
  g_autoptr (QrImage) source = test_corner_image (64, 40);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/o%d.jpg", f->dir, cases[i].o);
      g_autoptr (GError) error = NULL;
      g_autoptr (QrImage) image = NULL;
      g_autofree char *data_bytes = NULL;
      gsize len;
      QrImageInfo info;
      const char *corners[] = { "top-left", "top-right", "bottom-left", "bottom-right" };

      test_write_jpeg (path, source, cases[i].o);
      g_assert_true (g_file_get_contents (path, &data_bytes, &len, NULL));
      g_assert_true (qr_image_probe ((guint8 *) data_bytes, len, &info, &error));
      g_assert_no_error (error);
      g_assert_cmpint (info.orientation, ==, cases[i].o);
      g_assert_cmpint (info.stored_width, ==, 64);
      g_assert_cmpint (info.width, ==, cases[i].swap ? 40 : 64);
      g_assert_cmpint (info.height, ==, cases[i].swap ? 64 : 40);

      image = qr_image_load (path, NULL, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (image->width, ==, info.width);
      g_assert_cmpint (image->height, ==, info.height);
      for (guint c = 0; c < 4; c++)
        {
          Colour want = g_str_equal (corners[c], cases[i].red) ? RED
                        : g_str_equal (corners[c], cases[i].green) ? GREEN : BLUE;
          g_assert_cmpint (colour_at (image, c % 2 == 1, c >= 2), ==, want);
        }
    }
}

static void
test_png_and_formats (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) source = test_gradient_image (37, 23, 1);
  g_autofree char *path = g_build_filename (f->dir, "g.png", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = NULL;

  test_write_png (path, source);
  image = qr_image_load (path, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 37);
  g_assert_cmpint (image->height, ==, 23);
  /* PNG is lossless. */
  g_assert_cmpmem (image->pixels, 37 * 23 * 3, source->pixels, 37 * 23 * 3);
}

static void
test_jpeg_matches_stb (Fixture *f, gconstpointer data)
{
  /* libjpeg-turbo (ours) and stb_image (independent) decode the same real photo alike. */
  g_autofree char *path = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  int w = 0, h = 0, comp = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) ours = NULL;
  QrImage theirs;
  guint8 *pixels;

  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  ours = qr_image_decode ((guint8 *) bytes, len, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ours->width, ==, 768);
  g_assert_cmpint (ours->height, ==, 576);
  pixels = stbi_load_from_memory ((guint8 *) bytes, (int) len, &w, &h, &comp, 3);
  g_assert_nonnull (pixels);
  theirs = (QrImage) { w, h, pixels };
  g_assert_cmpfloat (test_mean_abs_diff (ours, &theirs), <, 1.5);
  stbi_image_free (pixels);
}

static void
test_scaled_decode (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (QUORUM_DEMO_DIR, "faceapi-sample1.jpg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) full = qr_image_load (path, NULL, 0, &error);
  g_autoptr (QrImage) scaled = qr_image_load (path, NULL, 256, &error);

  g_assert_no_error (error);
  /* The longer side may shrink by 2, 4 or 8 but never below the hint. */
  g_assert_cmpint (MAX (scaled->width, scaled->height), >=, 256);
  g_assert_cmpint (MAX (scaled->width, scaled->height), <=, MAX (full->width, full->height) / 4);
  /* 1/8 would give a longer side under 256, so libjpeg decodes at 1/4. */
  g_assert_cmpint (MAX (full->width, full->height), <, 8 * 256);
  g_assert_cmpint (scaled->width, ==, (full->width + 3) / 4);
  g_assert_cmpint (scaled->height, ==, (full->height + 3) / 4);
}

static void
test_pixel_limit (Fixture *f, gconstpointer data)
{
  /* A tiny PNG whose header claims 40000 × 40000: refused before any pixel is allocated. */
  const guint8 bomb_png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
    0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0x9c, 0x40, 0, 0, 0x9c, 0x40, 8, 2, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
  };
  /* A JPEG frame header claiming 65000 × 65000. */
  const guint8 bomb_jpeg[] = {
    0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFD, 0xE8, 0xFD, 0xE8, 1, 1, 0x11, 0,
    0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0x12, 0x34, 0xFF, 0xD9,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (QrImage) small = test_gradient_image (64, 48, 2);
  g_autofree char *path = g_build_filename (f->dir, "small.jpg", NULL);
  QrImageInfo info;
  QrImageLimits tight = { 1000, 1000 };

  /* No IDAT data at all for 4.8 GB of pixels: deflate cannot make that, so the file is corrupt
   * (refused at the probe, before the pixel limit is even asked). */
  g_assert_false (qr_image_probe (bomb_png, sizeof bomb_png, &info, &error));
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "40000 × 40000 pixels need at least 4800000000 bytes"));
  g_clear_error (&error);
  image = qr_image_decode (bomb_png, sizeof bomb_png, NULL, 0, &error);
  g_assert_null (image);
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_true (qr_image_probe (bomb_jpeg, sizeof bomb_jpeg, &info, &error));
  g_assert_false (qr_image_check_limits (&info, NULL, &error));
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "65000 × 65000"));
  g_clear_error (&error);
  image = qr_image_decode (bomb_jpeg, sizeof bomb_jpeg, NULL, 0, &error);
  g_assert_null (image);
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* The limit is configurable: 64 × 48 = 3072 pixels is over a 1000-pixel limit. */
  test_write_jpeg (path, small, 1);
  image = qr_image_load (path, &tight, 0, &error);
  g_assert_null (image);
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE);
  g_assert_true (g_str_has_prefix (error->message, path));
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  g_autoptr (QrImage) source = test_gradient_image (200, 150, 3);
  g_autofree char *jpeg = g_build_filename (f->dir, "t.jpg", NULL);
  g_autofree char *png = g_build_filename (f->dir, "t.png", NULL);
  g_autofree char *junk = g_build_filename (f->dir, "junk.jpg", NULL);
  g_autofree char *empty = g_build_filename (f->dir, "empty.png", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "nope.jpg", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "pipe.jpg", NULL);
  g_autofree char *folder = g_build_filename (f->dir, "folder.png", NULL);
  g_autofree char *pgm = g_build_filename (f->dir, "bomb.pgm", NULL);
  g_autofree char *bmp = g_build_filename (f->dir, "negative.bmp", NULL);
  struct { const char *path; int code; const char *says; } cases[] = {
    /* ten bytes claiming 30000 × 13333 grey pixels: was decoded into 400 MB, and called readable */
    { pgm, QR_IMAGE_ERROR_CORRUPT, "truncated PNM: 30000 × 13333 pixels need 399990000 bytes" },
    /* a BMP whose header says −2147483648 × −2147483648 */
    { bmp, QR_IMAGE_ERROR_CORRUPT, "corrupt" },
    /* a FIFO named like an image used to block the open for ever */
    { fifo, QR_IMAGE_ERROR_IO, "not a regular file (a pipe)" },
    { folder, QR_IMAGE_ERROR_IO, "not a regular file (a folder)" },
    { jpeg, QR_IMAGE_ERROR_CORRUPT, "truncated JPEG" },
    { png, QR_IMAGE_ERROR_CORRUPT, "truncated PNG" },
    { junk, QR_IMAGE_ERROR_UNSUPPORTED, "not an image" },
    { empty, QR_IMAGE_ERROR_CORRUPT, "empty file" },
    { missing, QR_IMAGE_ERROR_IO, "nope.jpg" },
  };

  test_write_jpeg (jpeg, source, 1);
  test_truncate_file (jpeg, 1500);
  test_write_png (png, source);
  test_truncate_file (png, 300);
  test_write_bytes (junk, "this is not a picture", 21);
  test_write_bytes (empty, "", 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  test_write_bytes (pgm, "P5 30000 13333 255\n", 19);
  {
    /* BITMAPFILEHEADER + BITMAPINFOHEADER, width and height INT32_MIN, 24 bits */
    guint8 b[54] = { 'B', 'M', 54, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                     0, 0, 0, 0x80, 0, 0, 0, 0x80, 1, 0, 24, 0 };
    test_write_bytes (bmp, b, sizeof b);
  }
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (QrImage) image = qr_image_load (cases[i].path, NULL, 0, &error);
      g_assert_null (image);
      g_assert_error (error, QR_IMAGE_ERROR, cases[i].code);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].says));
      g_assert_nonnull (strstr (error->message, cases[i].path));
    }
}

static void
test_truncated_everywhere (Fixture *f, gconstpointer data)
{
  /* Cut a real JPEG and a real PNG at many places: each gives an error, none crashes. */
  const char *names[] = { "darknet-eagle.jpg", "skimage-chelsea.png" };

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autofree char *path = g_build_filename (QUORUM_DEMO_DIR, names[n], NULL);
      g_autofree char *bytes = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      for (gsize cut = 0; cut < len; cut += len / 97 + 1)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (QrImage) image = qr_image_decode ((guint8 *) bytes, cut, NULL, 0, &error);
          g_assert_null (image);
          g_assert_nonnull (error);
        }
    }
}

static void
test_resize (Fixture *f, gconstpointer data)
{
  /* Area averaging: a 2×2 checker of 0 and 255 shrinks to a flat 128 (127.5 rounded). */
  g_autoptr (QrImage) checker = qr_image_new (8, 6);
  g_autoptr (QrImage) small = NULL;
  g_autoptr (QrImage) flat = qr_image_new (5, 3);
  g_autoptr (QrImage) big = NULL;
  g_autoptr (QrImage) fit = NULL;

  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 8; x++)
      memset (checker->pixels + (y * 8 + x) * 3, (x + y) % 2 ? 255 : 0, 3);
  small = qr_image_resize (checker, 4, 3);
  for (int i = 0; i < 4 * 3 * 3; i++)
    g_assert_cmpint (small->pixels[i], ==, 128);

  /* Enlarging a flat image keeps it flat. */
  memset (flat->pixels, 77, 5 * 3 * 3);
  big = qr_image_resize (flat, 13, 11);
  for (int i = 0; i < 13 * 11 * 3; i++)
    g_assert_cmpint (big->pixels[i], ==, 77);

  fit = qr_image_fit (checker, 4);
  g_assert_cmpint (fit->width, ==, 4);
  g_assert_cmpint (fit->height, ==, 3);
}

static void
test_exif_parser (Fixture *f, gconstpointer data)
{
  const guint8 le[] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0 };
  const guint8 bad_offset[] = { 'I', 'I', 42, 0, 0xff, 0xff, 0, 0 };

  g_assert_cmpint (qr_exif_orientation (le, sizeof le), ==, 6);
  g_assert_cmpint (qr_exif_orientation (le, 12), ==, 1); /* cut short: ignored, not read past */
  g_assert_cmpint (qr_exif_orientation (bad_offset, sizeof bad_offset), ==, 1);
  g_assert_cmpint (qr_exif_orientation (NULL, 0), ==, 1);
}

/* Found by fuzz-image-decode: 16-bit PNM (a grey PGM overflowed stb's buffer when asked for
 * RGB; a PPM, and the header's numbers, which stb summed into an int without a bound) */
static void
test_pnm_16_bit (Fixture *f, gconstpointer data)
{
  guint8 pgm[13 + 8 * 6 * 2], ppm[13 + 8 * 6 * 6];
  g_autoptr (GError) error = NULL;

  memcpy (pgm, "P5\n8 6\n65535\n", 13);
  memcpy (ppm, "P6\n8 6\n65535\n", 13);
  for (int i = 0; i < 8 * 6; i++)
    {
      /* big-endian samples, scaled to 8 bits by 255 / 65535 (stb read them little-endian) */
      pgm[13 + 2 * i] = (guint8) (i * 5), pgm[13 + 2 * i + 1] = 0x7f;
      for (int c = 0; c < 3; c++)
        ppm[13 + 6 * i + 2 * c] = (guint8) (i + 60 * c), ppm[13 + 6 * i + 2 * c + 1] = 0x01;
    }
  {
    g_autoptr (QrImage) grey = qr_image_decode (pgm, sizeof pgm, NULL, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (grey->width, ==, 8);
    g_assert_cmpint (grey->height, ==, 6);
    for (int i = 0; i < 8 * 6; i++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpuint (grey->pixels[3 * i + c], ==, (guint) (((i * 5 << 8 | 0x7f) * 255 + 32767) / 65535));
  }
  {
    g_autoptr (QrImage) colour = qr_image_decode (ppm, sizeof ppm, NULL, 0, &error);
    g_assert_no_error (error);
    for (int i = 0; i < 8 * 6; i++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpuint (colour->pixels[3 * i + c], ==, (guint) ((((i + 60 * c) << 8 | 1) * 255 + 32767) / 65535));
  }
  {
    static const char huge[] = "P5\n00000000000000000000004000000000 6\n255\n";
    QrImageInfo info;
    g_assert_false (qr_image_probe ((const guint8 *) huge, sizeof huge - 1, &info, &error));
    g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "more than 8 digits"));
  }
}

typedef struct
{
  const guint8 *data;
  gsize         len;
  gboolean      ok;
} DecodeJob;

static gpointer
decode_thread (gpointer data)
{
  DecodeJob *job = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = qr_image_decode (job->data, job->len, NULL, 0, &error);
  job->ok = image != NULL && error == NULL;
  return NULL;
}

/* Decoding memory is one budget for all threads: an image needing more than all of it is refused
 * with its size; four threads decoding at once never hold more than the budget together (they
 * wait their turn) and all finish. */
static void
test_decode_budget (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "big.png", NULL);
  g_autoptr (QrImage) source = test_gradient_image (1200, 1200, 3);
  g_autofree char *bytes = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;
  guint64 peak = 0, one = 1200ull * 1200 * 11;
  DecodeJob jobs[4];
  GThread *threads[4];

  test_write_png (path, source);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));

  qr_image_set_decode_budget (4 << 20);
  {
    g_autoptr (QrImage) refused = qr_image_decode ((guint8 *) bytes, len, NULL, 0, &error);
    g_assert_null (refused);
    g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE);
    g_assert_nonnull (strstr (error->message, "1200 × 1200 needs about 16 MB, over the decoding memory budget of 4 MB"));
    g_clear_error (&error);
  }

  qr_image_set_decode_budget (2 * one + one / 2);   /* room for two at once, not three */
  for (int i = 0; i < 4; i++)
    {
      jobs[i] = (DecodeJob) { (guint8 *) bytes, len, FALSE };
      threads[i] = g_thread_new ("decode", decode_thread, &jobs[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      g_assert_true (jobs[i].ok);
    }
  qr_image_get_decode_budget (&peak);
  g_test_message ("peak held by four threads: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes", peak,
                  2 * one + one / 2);
  g_assert_cmpuint (peak, <=, 2 * one + one / 2);
  g_assert_cmpuint (peak, >=, one);
  qr_image_set_decode_budget (0);
}

/* PNG chunks written by hand, so the test controls the compressed data exactly. */
static void
append_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 be[4] = { len >> 24, len >> 16, len >> 8, len };
  guint32 crc = 0xffffffffu;

  g_byte_array_append (png, be, 4);
  g_byte_array_append (png, (const guint8 *) type, 4);
  g_byte_array_append (png, data, len);
  /* CRC-32 of type and data (PNG's, bit by bit from the specification's polynomial) */
  for (guint32 i = 0; i < 4 + len; i++)
    {
      crc ^= i < 4 ? (guint8) type[i] : data[i - 4];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
  crc ^= 0xffffffffu;
  be[0] = crc >> 24, be[1] = crc >> 16, be[2] = crc >> 8, be[3] = crc;
  g_byte_array_append (png, be, 4);
}

static GByteArray *
grey_png (guint32 width, guint32 height, const guint8 *idat, gsize idat_len)
{
  GByteArray *png = g_byte_array_new ();
  guint8 ihdr[13] = { width >> 24, width >> 16, width >> 8, width,
                      height >> 24, height >> 16, height >> 8, height, 8, 0, 0, 0, 0 };

  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  append_chunk (png, "IHDR", ihdr, 13);
  append_chunk (png, "IDAT", idat, idat_len);
  append_chunk (png, "IEND", NULL, 0);
  return png;
}

static void
test_png_deflate_ratio (Fixture *f, gconstpointer data)
{
  /* A black 4000 × 3000 grey PNG deflated as hard as zlib can (about 1028:1): a real file near
   * deflate's limit decodes. The same header over too few bytes is refused before decoding. */
  const guint32 w = 4000, h = 3000;
  gsize raw_len = (gsize) (w + 1) * h, done = 0, written = 0;
  g_autofree guint8 *raw = g_malloc0 (raw_len);
  g_autofree guint8 *deflated = g_malloc (raw_len);
  g_autoptr (GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) good = NULL, short_png = NULL;
  g_autoptr (QrImage) image = NULL;
  QrImageInfo info;

  g_assert_cmpint (g_converter_convert (G_CONVERTER (zlib), raw, raw_len, deflated, raw_len,
                                        G_CONVERTER_INPUT_AT_END, &done, &written, &error),
                   ==, G_CONVERTER_FINISHED);
  g_assert_no_error (error);
  g_test_message ("%" G_GSIZE_FORMAT " bytes deflated to %" G_GSIZE_FORMAT, raw_len, written);
  g_assert_cmpuint (raw_len / written, >=, 1000);

  good = grey_png (w, h, deflated, written);
  g_assert_true (qr_image_probe (good->data, good->len, &info, &error));
  g_assert_no_error (error);
  image = qr_image_decode (good->data, good->len, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 4000);
  g_assert_cmpint (image->height, ==, 3000);
  g_assert_cmpint (image->pixels[3 * (gsize) 4000 * 3000 - 1], ==, 0);
  g_clear_pointer (&image, qr_image_free);

  /* 10,000 of those bytes: at most 10,064 × 1032 = 10,386,048 bytes, short of 12,000,000 */
  short_png = grey_png (w, h, deflated, 10000);
  g_assert_false (qr_image_probe (short_png->data, short_png->len, &info, &error));
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "4000 × 3000 pixels need at least 12000000 bytes"));
  g_assert_nonnull (strstr (error->message, "10000 compressed bytes"));
  g_clear_error (&error);
  image = qr_image_decode (short_png->data, short_png->len, NULL, 0, &error);
  g_assert_null (image);
  g_assert_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/image/orientation/all-eight", test_orientation);
  ADD ("/image/png/lossless", test_png_and_formats);
  ADD ("/image/jpeg/matches-stb", test_jpeg_matches_stb);
  ADD ("/image/jpeg/dct-scaling", test_scaled_decode);
  ADD ("/image/limits/decompression-bomb", test_pixel_limit);
  ADD ("/image/bad-input/named-errors", test_bad_input);
  ADD ("/image/bad-input/truncated-everywhere", test_truncated_everywhere);
  ADD ("/image/resize/area-average", test_resize);
  ADD ("/image/exif/parser", test_exif_parser);
  ADD ("/image/pnm/16-bit-and-huge-numbers", test_pnm_16_bit);
  ADD ("/image/limits/decode-memory-budget", test_decode_budget);
  ADD ("/image/limits/png-deflate-ratio", test_png_deflate_ratio);
#undef ADD
  return g_test_run ();
}
