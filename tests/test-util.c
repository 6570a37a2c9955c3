/* test-util.c: what the test programs share (test-util.h): images written and compared, files
 * damaged on purpose, temporary folders, Darknet cfgs copied for a test. */
#include "test-util.h"
#include "qr-files.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

QrImage *
test_corner_image (int w, int h)
{
  QrImage *image = qr_image_new (w, h);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 *p = image->pixels + ((gsize) y * (gsize) w + (gsize) x) * 3;
        gboolean top = y < 16;
        p[0] = top && x < 16 ? 255 : 0;
        p[1] = top && x >= w - 16 ? 255 : 0;
        p[2] = top && (x < 16 || x >= w - 16) ? 0 : 255;
      }
  return image;
}

QrImage *
test_gradient_image (int w, int h, guint seed)
{
  QrImage *image = qr_image_new (w, h);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 *p = image->pixels + ((gsize) y * (gsize) w + (gsize) x) * 3;
        p[0] = (guint8) ((x * 255) / MAX (w - 1, 1));
        p[1] = (guint8) ((y * 255) / MAX (h - 1, 1));
        p[2] = (guint8) (128 + 100 * sin ((x + y + (int) seed) * 0.05));
      }
  return image;
}

void
test_write_jpeg (const char *path, const QrImage *image, int orientation)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autofree guint8 *jpeg = qr_image_encode_jpeg (image, 95, &len, &error);
  g_autoptr (GByteArray) out = g_byte_array_new ();

  g_assert_no_error (error);
  g_byte_array_append (out, jpeg, 2); /* SOI */
  if (orientation > 1)
    {
      /* APP1: "Exif\0\0", then a big-endian TIFF header and IFD0 with one entry, 0x0112. */
      const guint8 app1[] = {
        0xFF, 0xE1, 0x00, 34, 'E', 'x', 'i', 'f', 0, 0,
        'M', 'M', 0, 42, 0, 0, 0, 8,
        0, 1,
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (guint8) orientation, 0, 0,
        0, 0, 0, 0,
      };
      g_byte_array_append (out, app1, sizeof app1);
    }
  g_byte_array_append (out, jpeg + 2, (guint) (len - 2));
  test_write_bytes (path, out->data, out->len);
}

void
test_write_png (const char *path, const QrImage *image)
{
  g_autoptr (GError) error = NULL;
  qr_image_save_png (image, path, &error);
  g_assert_no_error (error);
}

void
test_truncate_file (const char *path, gsize n)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, <, len);
  test_write_bytes (path, data, n);
}

void
test_write_bytes (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

char *
test_make_tmpdir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("quorum-test-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

void
test_remove_tree (const char *path)
{
  qr_remove_tree (path);
}

double
test_mean_abs_diff (const QrImage *a, const QrImage *b)
{
  gsize n = (gsize) a->width * (gsize) a->height * 3;
  double sum = 0;

  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  for (gsize i = 0; i < n; i++)
    sum += abs ((int) a->pixels[i] - (int) b->pixels[i]);
  return sum / (double) n;
}

char *
test_copy_darknet_cfg (const char *src, const char *dir, int w, int h, const char *thresh)
{
  g_autofree char *text = NULL, *name = g_path_get_basename (src);
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  char *dst = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_get_contents (src, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "width="))
        g_string_append_printf (out, "width=%d\n", w);
      else if (g_str_has_prefix (lines[i], "height="))
        g_string_append_printf (out, "height=%d\n", h);
      else if (thresh != NULL && g_str_has_prefix (lines[i], "thresh"))
        g_string_append_printf (out, "thresh=%s\n", thresh);
      else
        g_string_append_printf (out, "%s\n", lines[i]);
    }
  g_assert_true (g_file_set_contents (dst, out->str, (gssize) out->len, NULL));
  return dst;
}

QrDevice
test_device (void)
{
  return g_getenv ("QUORUM_DEVICE") != NULL ? QR_DEVICE_AUTO : QR_DEVICE_CPU;
}

gboolean
test_python_imports (const char *imports)
{
  static GHashTable *known;   /* imports → GINT_TO_POINTER (1 + answer) */
  static GMutex lock;
  gpointer answer;

  g_mutex_lock (&lock);
  if (known == NULL)
    known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  answer = g_hash_table_lookup (known, imports);
  if (answer == NULL)
    {
      g_autofree char *code = g_strconcat ("import ", imports, NULL);
      const char *argv[] = { TEST_PYTHON, "-c", code, NULL };
      int status = 1;
      gboolean ok = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                  NULL, NULL, NULL, NULL, &status, NULL)
                    && g_spawn_check_wait_status (status, NULL);
      answer = GINT_TO_POINTER (1 + ok);
      g_hash_table_insert (known, g_strdup (imports), answer);
    }
  g_mutex_unlock (&lock);
  return GPOINTER_TO_INT (answer) == 2;
}

char *
test_python_run (const char *script, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *name = g_path_get_basename (script);
  char *out = NULL;
  int status = 1;

  g_ptr_array_add (argv, (char *) TEST_PYTHON);
  g_ptr_array_add (argv, (char *) script);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s failed: %s", name, args != NULL && args[0] != NULL ? args[0] : "", err);
  return out;
}

gsize
test_check_peaks (QrDetector *detector, const QrImage *const *images, int n, const char *map, const char *rows,
                  float thr)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = qr_detector_detect_batch (detector, images, n, NULL, NULL, &error);
  QrModel *model = qr_detector_get_model (detector);
  int rank, dims[4], rrank, rdims[4];
  const float *heat, *side;
  gsize total = 0;

  g_assert_no_error (error);
  g_assert_nonnull (found);
  /* the peaks are read before the maps are asked for: on CUDA the maps then come down afterwards,
   * as the viewer's heatmap has them */
  for (int b = 0; b < n; b++)
    {
      int count;
      const QrPeak *peaks = qr_model_get_peaks (model, b, &count);
      int H, W, C, K, at = 0;
      g_autofree float *pooled = NULL;

      heat = qr_model_get_output (model, map, &rank, dims);
      side = qr_model_get_output (model, rows, &rrank, rdims);
      g_assert_nonnull (heat);
      g_assert_nonnull (side);
      g_assert_cmpint (dims[0], ==, n);
      H = dims[1], W = dims[2], C = dims[3], K = rdims[3];
      heat += (gsize) b * H * W * C;
      side += (gsize) b * H * W * K;
      pooled = g_new (float, (gsize) H * W * C);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          for (int c = 0; c < C; c++)
            {
              float m = -INFINITY;
              for (int yy = MAX (y - 1, 0); yy <= MIN (y + 1, H - 1); yy++)
                for (int xx = MAX (x - 1, 0); xx <= MIN (x + 1, W - 1); xx++)
                  m = fmaxf (m, heat[((gsize) yy * W + xx) * C + c]);
              pooled[((gsize) y * W + x) * C + c] = m;
            }
      for (gsize i = 0; i < (gsize) H * W * C; i++)
        {
          const QrPeak *p;
          int c = (int) (i % (gsize) C), x = (int) (i / (gsize) C % (gsize) W), y = (int) (i / (gsize) C / (gsize) W);
          if (!(heat[i] >= thr && heat[i] == pooled[i]))
            continue;
          g_assert_cmpint (at, <, count);
          p = &peaks[at++];
          g_assert_cmpint (p->y, ==, y);
          g_assert_cmpint (p->x, ==, x);
          g_assert_cmpint (p->c, ==, c);
          g_assert_cmpfloat (p->value, ==, heat[i]);
          for (int k = 0; k < K; k++)
            g_assert_cmpfloat (p->row[k], ==, side[((gsize) y * W + x) * K + k]);
        }
      g_assert_cmpint (at, ==, count);
      total += (gsize) count;
    }
  return total;
}

gsize
test_check_rows (QrModel *model, const float *input, int n, const TestRowsSpec *specs, int n_specs)
{
  g_autoptr (GError) error = NULL;
  gsize total = 0;
  QrKeptRows kept[QR_SELECT_SLOTS];

  for (int i = 0; i < QR_SELECT_SLOTS; i++)
    {
      const TestRowsSpec *sp = i < n_specs ? &specs[i] : NULL;
      g_assert_true (qr_model_select_rows (model, (guint) i, sp ? sp->output : NULL, sp ? sp->width : 0,
                                           sp ? sp->first : 0, sp ? sp->count : 0, sp ? sp->with : NULL,
                                           sp ? sp->threshold : 0, &error));
      g_assert_no_error (error);
    }
  g_assert_true (qr_model_run (model, input, n, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int b = 0; b < n; b++)
    {
      /* every slot's rows before any output is asked for (on CUDA they then come down afterwards) */
      for (int i = 0; i < n_specs; i++)
        g_assert_true (qr_model_get_rows (model, (guint) i, b, &kept[i]));
      for (int i = 0; i < n_specs; i++)
        {
          const TestRowsSpec *sp = &specs[i];
          int rank, dims[4], at = 0;
          gsize per = 1, rows, with_width = 0;
          const float *x = qr_model_get_output (model, sp->output, &rank, dims), *w = NULL;

          g_assert_nonnull (x);
          for (int d = 1; d < rank; d++)
            per *= (gsize) dims[d];
          rows = per / (gsize) sp->width;
          x += (gsize) b * per;
          if (sp->with != NULL)
            {
              gsize wper = 1;
              w = qr_model_get_output (model, sp->with, &rank, dims);
              g_assert_nonnull (w);
              for (int d = 1; d < rank; d++)
                wper *= (gsize) dims[d];
              with_width = wper / rows;
              w += (gsize) b * wper;
              g_assert_cmpint (kept[i].with_width, ==, (int) with_width);
            }
          g_assert_cmpint (kept[i].width, ==, sp->width);
          for (gsize r = 0; r < rows; r++)
            {
              const float *row = x + r * (gsize) sp->width;
              gboolean keep = FALSE;
              for (int c = sp->first; c < sp->first + sp->count; c++)
                keep = keep || row[c] >= sp->threshold;
              if (!keep)
                continue;
              g_assert_cmpint (at, <, kept[i].n);
              g_assert_cmpint (kept[i].index[at], ==, (int) r);
              g_assert_cmpint (memcmp (kept[i].values + (gsize) at * (gsize) sp->width, row,
                                       sizeof (float) * (gsize) sp->width), ==, 0);
              if (w != NULL)
                g_assert_cmpint (memcmp (kept[i].with + (gsize) at * with_width, w + r * with_width,
                                         sizeof (float) * with_width), ==, 0);
              at++;
            }
          g_assert_cmpint (at, ==, kept[i].n);
          total += (gsize) at;
        }
    }
  return total;
}
