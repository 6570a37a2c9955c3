/* decode.c: turns encoded bytes into oriented 8-bit RGB.
 * JPEG goes through libjpeg-turbo (with DCT scaling for thumbnails and strict truncation checks),
 * WebP through libwebp, the rest through stb_image. Limits are checked on the header first. */
#define G_LOG_DOMAIN "quorum-image"

#include "qr-image.h"
#include "image-private.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <stb_image.h>
#include <webp/decode.h>

QrImage *
qr_image_new (int width,
              int height)
{
  QrImage *image;

  g_return_val_if_fail (width > 0 && height > 0, NULL);

  image = g_new0 (QrImage, 1);
  image->width = width;
  image->height = height;
  image->pixels = g_malloc ((gsize) width * (gsize) height * 3);
  return image;
}

void
qr_image_free (QrImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image);
}

/* libjpeg reports errors through a callback that must not return: jump back to the decoder. */
typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf               jump;
  char                  message[JMSG_LENGTH_MAX];
  gboolean              truncated;
} JpegErrorManager;

static void
jpeg_error_exit (j_common_ptr cinfo)
{
  JpegErrorManager *err = (JpegErrorManager *) cinfo->err;
  (*cinfo->err->format_message) (cinfo, err->message);
  longjmp (err->jump, 1);
}

static void
jpeg_emit_message (j_common_ptr cinfo,
                   int          level)
{
  JpegErrorManager *err = (JpegErrorManager *) cinfo->err;
  /* "Premature end of file" and "premature end of data segment" mean the rest of the picture is
   * grey fill: treat them as corrupt. Milder warnings (extraneous bytes) decode fine. */
  if (level < 0 && (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER))
    err->truncated = TRUE;
}

static QrImage *
decode_jpeg (const guint8        *data,
             gsize                len,
             const QrImageLimits *limits,
             int                  min_side_hint,
             GError             **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrorManager jerr;
  QrImage *volatile image = NULL;
  guint8 *volatile cmyk_row = NULL;
  QrImageInfo info = { 0 };

  memset (&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error (&jerr.pub);
  jerr.pub.error_exit = jpeg_error_exit;
  jerr.pub.emit_message = jpeg_emit_message;
  jerr.truncated = FALSE;
  jerr.message[0] = '\0';

  if (setjmp (jerr.jump))
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt JPEG: %s", jerr.message);
      jpeg_destroy_decompress (&cinfo);
      qr_image_free (image);
      g_free (cmyk_row);
      return NULL;
    }

  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, data, (unsigned long) len);
  jpeg_read_header (&cinfo, TRUE);

  info.stored_width = (int) cinfo.image_width;
  info.stored_height = (int) cinfo.image_height;
  if (!qr_image_check_limits (&info, limits, error))
    {
      jpeg_destroy_decompress (&cinfo);
      return NULL;
    }

  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
  if (min_side_hint > 0)
    {
      int longer = (int) MAX (cinfo.image_width, cinfo.image_height);
      for (int denom = 8; denom >= 2; denom /= 2)
        if ((longer + denom - 1) / denom >= min_side_hint)
          {
            cinfo.scale_denom = (unsigned) denom;
            break;
          }
    }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)
    cinfo.out_color_space = JCS_CMYK;
  else
    cinfo.out_color_space = JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;

  jpeg_start_decompress (&cinfo);
  image = qr_image_new ((int) cinfo.output_width, (int) cinfo.output_height);
  if (cinfo.out_color_space == JCS_CMYK)
    cmyk_row = g_malloc ((gsize) cinfo.output_width * 4);

  while (cinfo.output_scanline < cinfo.output_height)
    {
      guint8 *row = image->pixels + (gsize) cinfo.output_scanline * (gsize) image->width * 3;
      if (cmyk_row != NULL)
        {
          JSAMPROW rows[1] = { cmyk_row };
          jpeg_read_scanlines (&cinfo, rows, 1);
          /* Adobe writes CMYK inverted; this is the usual approximation to RGB. */
          for (int x = 0; x < image->width; x++)
            {
              const guint8 *px = cmyk_row + x * 4;
              row[x * 3 + 0] = (guint8) (px[0] * px[3] / 255);
              row[x * 3 + 1] = (guint8) (px[1] * px[3] / 255);
              row[x * 3 + 2] = (guint8) (px[2] * px[3] / 255);
            }
        }
      else
        {
          JSAMPROW rows[1] = { row };
          jpeg_read_scanlines (&cinfo, rows, 1);
        }
      if (jerr.truncated)
        break;
    }
  if (jerr.truncated)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "truncated JPEG: the image data ends before the last row");
      jpeg_destroy_decompress (&cinfo);
      qr_image_free (image);
      g_free (cmyk_row);
      return NULL;
    }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  g_free (cmyk_row);
  return image;
}

static QrImage *
decode_webp (const guint8 *data,
             gsize         len,
             GError      **error)
{
  int w = 0, h = 0;
  QrImage *image;

  if (!WebPGetInfo (data, len, &w, &h))
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt WebP header");
      return NULL;
    }
  image = qr_image_new (w, h);
  if (WebPDecodeRGBInto (data, len, image->pixels, (size_t) w * (size_t) h * 3, w * 3) == NULL)
    {
      qr_image_free (image);
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt WebP data");
      return NULL;
    }
  return image;
}

/* 16-bit PNM (maxval over 255): big-endian samples scaled to 8 bits. stb reads them in the
 * machine's byte order (keeping the low byte) and mishandles grey ones: not used for these. */
static QrImage *
decode_pnm16 (const guint8 *data, gsize len, int width, int height, int maxval, gsize offset, GError **error)
{
  int channels = data[1] == '6' ? 3 : 1;
  gsize n = (gsize) width * (gsize) height, need = n * (gsize) channels * 2;
  QrImage *image;

  if (offset > len || len - offset < need)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                   "truncated PNM: %d × %d 16-bit pixels need %" G_GSIZE_FORMAT " bytes of samples, the file has %"
                   G_GSIZE_FORMAT, width, height, need, offset > len ? 0 : len - offset);
      return NULL;
    }
  image = g_new0 (QrImage, 1);
  image->width = width;
  image->height = height;
  image->pixels = g_malloc (n * 3);
  for (gsize i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      {
        const guint8 *p = data + offset + (i * (gsize) channels + (gsize) (channels == 3 ? c : 0)) * 2;
        guint v = MIN ((guint) (p[0] << 8 | p[1]), (guint) maxval);
        image->pixels[3 * i + (gsize) c] = (guint8) ((v * 255u + (guint) maxval / 2) / (guint) maxval);
      }
  return image;
}

static QrImage *
decode_stb (const guint8 *data,
            gsize         len,
            QrImageFormat format,
            GError      **error)
{
  int w, h, comp, want;
  guint8 *pixels;
  QrImage *image;

  if (len > G_MAXINT)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE, "file over 2 GB");
      return NULL;
    }
  if (format == QR_IMAGE_FORMAT_PNM && (data[1] == '5' || data[1] == '6'))
    {
      int v[3];
      gsize offset;
      if (qr_image_pnm_header (data, len, v, &offset) == QR_PNM_OK && v[0] > 0 && v[1] > 0 && v[2] > 255
          && v[2] <= 65535)
        return decode_pnm16 (data, len, v[0], v[1], v[2], offset, error);
    }
  /* PNM: loaded as its own channels and widened here. Asked for 3 channels, this stb converts a
     16-bit grey PGM with its 8-bit converter and then reads twice the buffer (a heap overflow
     fuzz-image-decode found on a plain 16-bit PGM) */
  want = format == QR_IMAGE_FORMAT_PNM ? 0 : 3;
  pixels = stbi_load_from_memory (data, (int) len, &w, &h, &comp, want);
  if (pixels == NULL || (want == 0 && comp != 1 && comp != 3))
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt %s data (%s)",
                   qr_image_format_to_string (format), pixels ? "unexpected channels" : stbi_failure_reason ());
      stbi_image_free (pixels);
      return NULL;
    }
  image = g_new0 (QrImage, 1);
  image->width = w;
  image->height = h;
  if (want == 0 && comp == 1)
    {
      gsize n = (gsize) w * (gsize) h;
      image->pixels = g_malloc (n * 3);
      for (gsize i = 0; i < n; i++)
        image->pixels[3 * i] = image->pixels[3 * i + 1] = image->pixels[3 * i + 2] = pixels[i];
    }
  else
    /* stb allocates with malloc; hand the pixels to a g_malloc buffer so qr_image_free is uniform. */
    image->pixels = g_memdup2 (pixels, (gsize) w * (gsize) h * 3);
  stbi_image_free (pixels);
  return image;
}

/* Decoding memory, shared by every thread: a decode reserves what it will hold at its peak
 * (estimated from the declared size and the decoder) and waits while the others' reservations
 * leave too little, so N decoding threads cannot exhaust the machine with N large images (a
 * zlib-bombed PNG under the pixel limit still decodes to a gigabyte). One image needing more than
 * the whole budget is refused with its size. The budget: QUORUM_DECODE_MEMORY_MB, else a quarter
 * of the physical memory, from 512 MB to 8 GB. */
static GMutex budget_lock;
static GCond budget_cond;
static guint64 budget_bytes, budget_in_use, budget_peak;

static guint64
default_budget (void)
{
  const char *env = g_getenv ("QUORUM_DECODE_MEMORY_MB");
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGE_SIZE);
  guint64 ram = pages > 0 && page > 0 ? (guint64) pages * (guint64) page : 4ull << 30;

  if (env != NULL && g_ascii_strtoull (env, NULL, 10) > 0)
    return g_ascii_strtoull (env, NULL, 10) << 20;
  return CLAMP (ram / 4, 512ull << 20, 8ull << 30);
}

void
qr_image_set_decode_budget (guint64 bytes)
{
  g_mutex_lock (&budget_lock);
  budget_bytes = bytes > 0 ? bytes : default_budget ();
  budget_peak = budget_in_use;
  g_cond_broadcast (&budget_cond);
  g_mutex_unlock (&budget_lock);
}

guint64
qr_image_get_decode_budget (guint64 *peak)
{
  guint64 b;
  g_mutex_lock (&budget_lock);
  if (budget_bytes == 0)
    budget_bytes = default_budget ();
  b = budget_bytes;
  if (peak != NULL)
    *peak = budget_peak;
  g_mutex_unlock (&budget_lock);
  return b;
}

static gboolean
budget_acquire (guint64 bytes, const QrImageInfo *info, GError **error)
{
  g_mutex_lock (&budget_lock);
  if (budget_bytes == 0)
    budget_bytes = default_budget ();
  if (bytes > budget_bytes)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE,
                   "image too large to decode here: %d × %d needs about %" G_GUINT64_FORMAT " MB, over the decoding "
                   "memory budget of %" G_GUINT64_FORMAT " MB (QUORUM_DECODE_MEMORY_MB raises it)", info->width,
                   info->height, (bytes + (1 << 20) - 1) >> 20, budget_bytes >> 20);
      g_mutex_unlock (&budget_lock);
      return FALSE;
    }
  while (budget_in_use + bytes > budget_bytes)
    g_cond_wait (&budget_cond, &budget_lock);
  budget_in_use += bytes;
  budget_peak = MAX (budget_peak, budget_in_use);
  g_mutex_unlock (&budget_lock);
  return TRUE;
}

static void
budget_release (guint64 bytes)
{
  g_mutex_lock (&budget_lock);
  budget_in_use -= bytes;
  g_cond_broadcast (&budget_cond);
  g_mutex_unlock (&budget_lock);
}

/* A decode's peak memory: the RGB result, plus the decoder's own buffer where it makes one (stb:
 * up to 16-bit RGBA, then the copy; WebP: RGB; libjpeg: rows only). */
static guint64
decode_bytes (const QrImageInfo *info)
{
  guint64 pixels = (guint64) info->width * (guint64) info->height;
  switch (info->format)
    {
    case QR_IMAGE_FORMAT_JPEG:
      return pixels * 3 + (1 << 20);
    case QR_IMAGE_FORMAT_WEBP:
      return pixels * 6;
    default:
      return pixels * 11;
    }
}

QrImage *
qr_image_decode (const guint8        *data,
                 gsize                len,
                 const QrImageLimits *limits,
                 int                  min_side_hint,
                 GError             **error)
{
  QrImageInfo info;
  g_autoptr (QrImage) decoded = NULL;
  guint64 reserved;

  if (!qr_image_probe (data, len, &info, error))
    return NULL;
  if (!qr_image_check_limits (&info, limits, error))
    return NULL;

  reserved = decode_bytes (&info);
  if (!budget_acquire (reserved, &info, error))
    return NULL;
  switch (info.format)
    {
    case QR_IMAGE_FORMAT_JPEG:
      decoded = decode_jpeg (data, len, limits, min_side_hint, error);
      break;
    case QR_IMAGE_FORMAT_WEBP:
      decoded = decode_webp (data, len, error);
      break;
    default:
      decoded = decode_stb (data, len, info.format, error);
      break;
    }
  budget_release (reserved);
  if (decoded == NULL)
    return NULL;
  if (info.orientation != 1)
    {
      QrImage *oriented = qr_image_orient (decoded, info.orientation);
      qr_image_free (g_steal_pointer (&decoded));
      decoded = oriented;
    }
  if (decoded->width != info.width || decoded->height != info.height)
    {
      decoded->full_width = info.width;
      decoded->full_height = info.height;
    }
  return g_steal_pointer (&decoded);
}

QrImage *
qr_image_load (const char          *path,
               const QrImageLimits *limits,
               int                  min_side_hint,
               GError             **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) local_error = NULL;
  QrImage *image;

  {
    /* opened without blocking and checked to be a plain file first: a FIFO named like an image
     * would block the open (and the read) for ever, a folder or a device fails mmap obscurely */
    struct stat st;
    int fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0)
      {
        int saved = errno;
        g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_IO, "%s: %s", path, g_strerror (saved));
        return NULL;
      }
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
      {
        g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_IO, "%s: not a regular file (%s)", path,
                     S_ISDIR (st.st_mode) ? "a folder" : S_ISFIFO (st.st_mode) ? "a pipe"
                     : S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? "a device" : "not readable as an image");
        close (fd);
        return NULL;
      }
    mapped = st.st_size > 0 ? g_mapped_file_new_from_fd (fd, FALSE, &local_error) : NULL;
    close (fd);
    if (mapped == NULL)
      {
        if (local_error == NULL)
          g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "%s: empty file (0 bytes)", path);
        else
          g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_IO, "%s: %s", path, local_error->message);
        return NULL;
      }
  }
  image = qr_image_decode ((const guint8 *) g_mapped_file_get_contents (mapped),
                           g_mapped_file_get_length (mapped), limits, min_side_hint, &local_error);
  if (image == NULL)
    {
      g_set_error (error, QR_IMAGE_ERROR, local_error->code, "%s: %s", path, local_error->message);
      return NULL;
    }
  return image;
}
