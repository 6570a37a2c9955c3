/* ops.c: pixel operations on decoded RGB images (orientation, resizing) and encoders.
 * The resize is separable with precomputed taps: a true area average when shrinking, so
 * thumbnails do not alias, and bilinear (half-pixel centres) when enlarging. */
#define G_LOG_DOMAIN "quorum-image"

#include "image-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stb_image_write.h>

QrImage *
qr_image_orient (const QrImage *image,
                 int            orientation)
{
  int w = image->width, h = image->height;
  gboolean swap = orientation >= 5 && orientation <= 8;
  QrImage *out;

  g_return_val_if_fail (orientation >= 1 && orientation <= 8, NULL);

  out = qr_image_new (swap ? h : w, swap ? w : h);
  for (int dy = 0; dy < out->height; dy++)
    {
      guint8 *dst = out->pixels + (gsize) dy * (gsize) out->width * 3;
      for (int dx = 0; dx < out->width; dx++)
        {
          int sx, sy;
          switch (orientation)
            {
            case 2: sx = w - 1 - dx; sy = dy; break;
            case 3: sx = w - 1 - dx; sy = h - 1 - dy; break;
            case 4: sx = dx; sy = h - 1 - dy; break;
            case 5: sx = dy; sy = dx; break;                   /* transpose */
            case 6: sx = dy; sy = h - 1 - dx; break;           /* rotate 90° clockwise */
            case 7: sx = w - 1 - dy; sy = h - 1 - dx; break;   /* transverse */
            case 8: sx = w - 1 - dy; sy = dx; break;           /* rotate 90° anticlockwise */
            default: sx = dx; sy = dy; break;
            }
          memcpy (dst + dx * 3, image->pixels + ((gsize) sy * (gsize) w + (gsize) sx) * 3, 3);
        }
    }
  return out;
}

void
qr_taps_clear (QrTaps *taps)
{
  g_free (taps->first);
  g_free (taps->count);
  g_free (taps->weights);
}

void
qr_taps_init (QrTaps *taps, int src, int dst)
{
  double scale = (double) src / dst;

  taps->max_taps = scale > 1.0 ? (int) ceil (scale) + 1 : 2;
  taps->first = g_new (int, dst);
  taps->count = g_new (int, dst);
  taps->weights = g_new0 (float, (gsize) dst * (gsize) taps->max_taps);
  for (int i = 0; i < dst; i++)
    {
      float *w = taps->weights + (gsize) i * (gsize) taps->max_taps;
      if (scale > 1.0)
        {
          double lo = i * scale, hi = (i + 1) * scale;
          int first = (int) floor (lo), last = MIN ((int) ceil (hi), src);
          taps->first[i] = first;
          taps->count[i] = last - first;
          for (int s = first; s < last; s++)
            {
              double overlap = MIN (hi, (double) s + 1) - MAX (lo, (double) s);
              w[s - first] = (float) (overlap / scale);
            }
        }
      else
        {
          double pos = (i + 0.5) * scale - 0.5;
          int x0 = (int) floor (pos);
          double frac = pos - x0;
          if (x0 < 0)
            x0 = 0, frac = 0.0;
          if (x0 >= src - 1)
            x0 = src - 1, frac = 0.0;
          taps->first[i] = x0;
          taps->count[i] = frac > 0.0 ? 2 : 1;
          w[0] = (float) (1.0 - frac);
          w[1] = (float) frac;
        }
    }
}

QrImage *
qr_image_resize (const QrImage *image,
                 int            width,
                 int            height)
{
  QrTaps tx, ty;
  float *tmp;
  QrImage *out;

  g_return_val_if_fail (image != NULL && width > 0 && height > 0, NULL);

  qr_taps_init (&tx, image->width, width);
  qr_taps_init (&ty, image->height, height);
  tmp = g_new (float, (gsize) image->height * (gsize) width * 3);

  for (int y = 0; y < image->height; y++)
    {
      const guint8 *src = image->pixels + (gsize) y * (gsize) image->width * 3;
      float *dst = tmp + (gsize) y * (gsize) width * 3;
      for (int x = 0; x < width; x++)
        {
          const float *w = tx.weights + (gsize) x * (gsize) tx.max_taps;
          const guint8 *s = src + (gsize) tx.first[x] * 3;
          float r = 0, g = 0, b = 0;
          for (int k = 0; k < tx.count[x]; k++)
            {
              r += w[k] * s[k * 3 + 0];
              g += w[k] * s[k * 3 + 1];
              b += w[k] * s[k * 3 + 2];
            }
          dst[x * 3 + 0] = r;
          dst[x * 3 + 1] = g;
          dst[x * 3 + 2] = b;
        }
    }

  out = qr_image_new (width, height);
  for (int y = 0; y < height; y++)
    {
      const float *w = ty.weights + (gsize) y * (gsize) ty.max_taps;
      guint8 *dst = out->pixels + (gsize) y * (gsize) width * 3;
      for (int x = 0; x < width * 3; x++)
        {
          float v = 0;
          for (int k = 0; k < ty.count[y]; k++)
            v += w[k] * tmp[(gsize) (ty.first[y] + k) * (gsize) width * 3 + (gsize) x];
          v = v + 0.5f;
          dst[x] = (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }

  g_free (tmp);
  qr_taps_clear (&tx);
  qr_taps_clear (&ty);
  return out;
}

/* The bicubic kernel (a = −0.5), support 2. */
static double
bicubic (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

#define BICUBIC_BITS 22   /* fixed-point weights: 32 bits less 8 for the pixel and 2 for the sign and the sum */

/* One axis's taps: for output i the first input and count, and fixed-point weights (the kernel
 * widened by the shrink factor, so that shrinking filters as much as it removes). */
static int
bicubic_taps (int src, int dst, int **first, int **count, gint32 **weights)
{
  double scale = (double) src / dst, filter_scale = MAX (scale, 1.0), support = 2.0 * filter_scale;
  int max_taps = (int) ceil (support) * 2 + 1;

  g_autofree double *k = g_new (double, max_taps);

  *first = g_new (int, dst);
  *count = g_new (int, dst);
  *weights = g_new0 (gint32, (gsize) dst * (gsize) max_taps);
  for (int i = 0; i < dst; i++)
    {
      double centre = (i + 0.5) * scale, sum = 0.0;
      int lo = MAX ((int) (centre - support + 0.5), 0), hi = MIN ((int) (centre + support + 0.5), src);
      int n = MIN (hi - lo, max_taps);
      for (int x = 0; x < n; x++)
        sum += k[x] = bicubic ((x + lo - centre + 0.5) / filter_scale);
      for (int x = 0; x < n; x++)
        {
          double w = sum != 0.0 ? k[x] / sum : 0.0;
          (*weights)[(gsize) i * (gsize) max_taps + (gsize) x]
            = (gint32) (w < 0 ? trunc (-0.5 + w * (1 << BICUBIC_BITS)) : trunc (0.5 + w * (1 << BICUBIC_BITS)));
        }
      (*first)[i] = lo;
      (*count)[i] = n;
    }
  return max_taps;
}

static guint8
bicubic_clip (gint64 v)
{
  v >>= BICUBIC_BITS;
  return (guint8) CLAMP (v, 0, 255);
}

QrImage *
qr_image_resize_bicubic (const QrImage *image, int width, int height)
{
  g_autofree int *fx = NULL, *nx = NULL, *fy = NULL, *ny = NULL;
  g_autofree gint32 *wx = NULL, *wy = NULL;
  int tx, ty, w = image->width, h = image->height;
  QrImage *mid, *out;

  g_return_val_if_fail (image != NULL && width > 0 && height > 0, NULL);

  tx = bicubic_taps (w, width, &fx, &nx, &wx);
  ty = bicubic_taps (h, height, &fy, &ny, &wy);
  /* across, into 8 bits, then down */
  mid = qr_image_new (width, h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        {
          gint64 acc = 1 << (BICUBIC_BITS - 1);
          for (int k = 0; k < nx[x]; k++)
            acc += (gint64) image->pixels[((gsize) y * (gsize) w + (gsize) (fx[x] + k)) * 3 + (gsize) c]
                   * wx[(gsize) x * (gsize) tx + (gsize) k];
          mid->pixels[((gsize) y * (gsize) width + (gsize) x) * 3 + (gsize) c] = bicubic_clip (acc);
        }
  out = qr_image_new (width, height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        {
          gint64 acc = 1 << (BICUBIC_BITS - 1);
          for (int k = 0; k < ny[y]; k++)
            acc += (gint64) mid->pixels[((gsize) (fy[y] + k) * (gsize) width + (gsize) x) * 3 + (gsize) c]
                   * wy[(gsize) y * (gsize) ty + (gsize) k];
          out->pixels[((gsize) y * (gsize) width + (gsize) x) * 3 + (gsize) c] = bicubic_clip (acc);
        }
  qr_image_free (mid);
  return out;
}

QrImage *
qr_image_fit (const QrImage *image,
              int            max_side)
{
  int w = image->width, h = image->height;

  if (w <= max_side && h <= max_side)
    {
      QrImage *copy = qr_image_new (w, h);
      memcpy (copy->pixels, image->pixels, (gsize) w * (gsize) h * 3);
      return copy;
    }
  if (w >= h)
    return qr_image_resize (image, max_side, MAX (1, (int) lround ((double) h * max_side / w)));
  return qr_image_resize (image, MAX (1, (int) lround ((double) w * max_side / h)), max_side);
}

typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
  char                  message[JMSG_LENGTH_MAX];
} EncodeErrorManager;

static void
encode_error_exit (j_common_ptr cinfo)
{
  EncodeErrorManager *err = (EncodeErrorManager *) cinfo->err;
  (*cinfo->err->format_message) (cinfo, err->message);
  longjmp (err->jump, 1);
}

guint8 *
qr_image_encode_jpeg (const QrImage *image,
                      int            quality,
                      gsize         *len,
                      GError       **error)
{
  struct jpeg_compress_struct cinfo;
  EncodeErrorManager jerr;
  unsigned char *volatile buffer = NULL;
  unsigned long size = 0;
  guint8 *result;

  memset (&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error (&jerr.pub);
  jerr.pub.error_exit = encode_error_exit;
  if (setjmp (jerr.jump))
    {
      jpeg_destroy_compress (&cinfo);
      free (buffer);
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "JPEG encoding failed: %s",
                   jerr.message);
      return NULL;
    }
  jpeg_create_compress (&cinfo);
  jpeg_mem_dest (&cinfo, (unsigned char **) &buffer, &size);
  cinfo.image_width = (JDIMENSION) image->width;
  cinfo.image_height = (JDIMENSION) image->height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, quality, TRUE);
  jpeg_start_compress (&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height)
    {
      JSAMPROW row = image->pixels + (gsize) cinfo.next_scanline * (gsize) image->width * 3;
      jpeg_write_scanlines (&cinfo, &row, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);

  result = g_memdup2 (buffer, size);
  *len = size;
  free (buffer);
  return result;
}

static void
append_bytes (void *context, void *data, int size)
{
  g_byte_array_append (context, data, (guint) size);
}

gboolean
qr_image_save_png (const QrImage *image,
                   const char    *path,
                   GError       **error)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  if (!stbi_write_png_to_func (append_bytes, bytes, image->width, image->height, 3, image->pixels,
                               image->width * 3))
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_IO, "%s: PNG encoding failed", path);
      return FALSE;
    }
  /* g_file_set_contents writes to a temporary name and renames it into place. */
  return g_file_set_contents (path, (const char *) bytes->data, bytes->len, error);
}
