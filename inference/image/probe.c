/* probe.c: reads an image's format, size and EXIF orientation from its header alone.
 * Indexing 100k images must not decode them, so JPEG, PNG and WebP headers are walked here
 * by hand (with a cheap completeness check: EOI / IEND / RIFF size); the rarer formats ask stb. */
#define G_LOG_DOMAIN "quorum-image"

#include "qr-image.h"
#include "image-private.h"

#include <string.h>
#include <stb_image.h>
#include <webp/decode.h>

G_DEFINE_QUARK (quorum-image-error-quark, qr_image_error)

const char *
qr_image_format_to_string (QrImageFormat format)
{
  switch (format)
    {
    case QR_IMAGE_FORMAT_JPEG: return "jpeg";
    case QR_IMAGE_FORMAT_PNG: return "png";
    case QR_IMAGE_FORMAT_WEBP: return "webp";
    case QR_IMAGE_FORMAT_GIF: return "gif";
    case QR_IMAGE_FORMAT_BMP: return "bmp";
    case QR_IMAGE_FORMAT_TGA: return "tga";
    case QR_IMAGE_FORMAT_PNM: return "pnm";
    case QR_IMAGE_FORMAT_PSD: return "psd";
    case QR_IMAGE_FORMAT_HDR: return "hdr";
    case QR_IMAGE_FORMAT_TIFF: return "tiff";
    case QR_IMAGE_FORMAT_UNKNOWN:
    default: return "unknown";
    }
}

void
qr_image_limits_init_default (QrImageLimits *limits)
{
  /* QUORUM_MAX_IMAGE_SIDE and QUORUM_MAX_IMAGE_MEGAPIXELS raise (or lower) the defaults */
  const char *side = g_getenv ("QUORUM_MAX_IMAGE_SIDE"), *mp = g_getenv ("QUORUM_MAX_IMAGE_MEGAPIXELS");
  guint64 v;

  limits->max_side = QR_IMAGE_DEFAULT_MAX_SIDE;
  limits->max_pixels = QR_IMAGE_DEFAULT_MAX_PIXELS;
  if (side != NULL && (v = g_ascii_strtoull (side, NULL, 10)) > 0 && v <= G_MAXINT)
    limits->max_side = (int) v;
  if (mp != NULL && (v = g_ascii_strtoull (mp, NULL, 10)) > 0 && v <= 1000000)
    limits->max_pixels = v * 1000000;
}

static guint16
read_u16 (const guint8 *p, gboolean big_endian)
{
  return big_endian ? (guint16) ((p[0] << 8) | p[1]) : (guint16) ((p[1] << 8) | p[0]);
}

static guint32
read_u32 (const guint8 *p, gboolean big_endian)
{
  return big_endian ? ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3]
                    : ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

/* EXIF is a TIFF structure: byte order, 42, offset of IFD0; tag 0x0112 of IFD0 is orientation. */
int
qr_exif_orientation (const guint8 *tiff,
                     gsize         len)
{
  gboolean be;
  guint32 ifd;
  guint16 n_entries;

  if (tiff == NULL || len < 8)
    return 1;
  if (tiff[0] == 'M' && tiff[1] == 'M')
    be = TRUE;
  else if (tiff[0] == 'I' && tiff[1] == 'I')
    be = FALSE;
  else
    return 1;
  if (read_u16 (tiff + 2, be) != 42)
    return 1;
  ifd = read_u32 (tiff + 4, be);
  if (ifd < 8 || (gsize) ifd + 2 > len)
    return 1;
  n_entries = read_u16 (tiff + ifd, be);
  for (guint i = 0; i < n_entries; i++)
    {
      gsize entry = (gsize) ifd + 2 + (gsize) i * 12;
      if (entry + 12 > len)
        break;
      if (read_u16 (tiff + entry, be) == 0x0112)
        {
          guint16 type = read_u16 (tiff + entry + 2, be);
          guint value;
          if (type == 3) /* SHORT, stored in the first two bytes of the value field */
            value = read_u16 (tiff + entry + 8, be);
          else if (type == 4) /* LONG: rare but seen */
            value = read_u32 (tiff + entry + 8, be);
          else
            return 1;
          return value >= 1 && value <= 8 ? (int) value : 1;
        }
    }
  return 1;
}

static void
finish_info (QrImageInfo *info)
{
  gboolean swap = info->orientation >= 5 && info->orientation <= 8;
  info->width = swap ? info->stored_height : info->stored_width;
  info->height = swap ? info->stored_width : info->stored_height;
}

static gboolean
probe_jpeg (const guint8 *data, gsize len, QrImageInfo *info, GError **error)
{
  gsize pos = 2;
  gboolean have_sof = FALSE;

  while (pos + 4 <= len)
    {
      guint8 marker;
      gsize seg_len;

      if (data[pos] != 0xFF)
        {
          g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                       "corrupt JPEG: expected a marker at byte %" G_GSIZE_FORMAT, pos);
          return FALSE;
        }
      while (pos < len && data[pos] == 0xFF)
        pos++;
      if (pos >= len)
        break;
      marker = data[pos++];
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
        continue;
      if (marker == 0xD9)
        break;
      if (pos + 2 > len)
        break;
      seg_len = read_u16 (data + pos, TRUE);
      if (seg_len < 2 || pos + seg_len > len)
        {
          g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                       "truncated JPEG: segment at byte %" G_GSIZE_FORMAT " runs past the end of the file",
                       pos - 2);
          return FALSE;
        }
      if (marker == 0xE1 && info->orientation == 1 && seg_len >= 8 + 6
          && memcmp (data + pos + 2, "Exif\0\0", 6) == 0)
        info->orientation = qr_exif_orientation (data + pos + 8, seg_len - 8);
      else if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
        {
          if (seg_len < 8)
            {
              g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "corrupt JPEG: short frame header at byte %" G_GSIZE_FORMAT, pos - 2);
              return FALSE;
            }
          info->stored_height = read_u16 (data + pos + 3, TRUE);
          info->stored_width = read_u16 (data + pos + 5, TRUE);
          have_sof = TRUE;
        }
      else if (marker == 0xDA)
        {
          /* Entropy-coded data follows. Inside it every 0xFF byte is stuffed (FF00) or a restart
           * marker, so FF D9 can only be the end-of-image marker: its absence means truncation. */
          const guint8 *p = data + pos + seg_len;
          const guint8 *end = data + len;
          gboolean have_eoi = FALSE;

          if (!have_sof)
            break;
          while (p < end - 1)
            {
              p = memchr (p, 0xFF, (gsize) (end - 1 - p));
              if (p == NULL)
                break;
              if (p[1] == 0xD9)
                {
                  have_eoi = TRUE;
                  break;
                }
              p++;
            }
          if (!have_eoi)
            {
              g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                                   "truncated JPEG: no end-of-image marker after the image data");
              return FALSE;
            }
          break;
        }
      pos += seg_len;
    }

  if (!have_sof)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "corrupt JPEG: no frame header (SOF) found");
      return FALSE;
    }
  if (info->stored_width == 0 || info->stored_height == 0)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "corrupt JPEG: zero width or height in the frame header");
      return FALSE;
    }
  return TRUE;
}

/* Deflate cannot expand its input more than 1032 times (a 258-byte match costs at least two
 * bits), so a PNG whose IDAT chunks are too short to hold its declared pixels even at that ratio
 * cannot be complete: refused here, before a decoder allocates the pixels it declares. A real
 * zlib bomb (near the ratio) passes and is bounded by the decoding memory budget (decode.c). */
#define QR_DEFLATE_MAX_RATIO 1032

static gboolean
png_data_can_fill (const guint8 *data, guint64 idat_bytes, const QrImageInfo *info, GError **error)
{
  static const guint8 channels_of_type[7] = { 1, 0, 3, 1, 2, 0, 4 };
  guint bit_depth = data[24], colour_type = data[25];
  guint channels = colour_type < 7 ? channels_of_type[colour_type] : 0;
  guint64 row_bytes, needed;

  if (channels == 0 || bit_depth == 0 || bit_depth > 16)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                   "corrupt PNG: colour type %u with bit depth %u", colour_type, bit_depth);
      return FALSE;
    }
  /* the least the image's rows hold, leaving out the filter bytes and Adam7's extra rows */
  row_bytes = ((guint64) info->stored_width * channels * bit_depth + 7) / 8;
  needed = row_bytes * (guint64) info->stored_height;
  if (needed / QR_DEFLATE_MAX_RATIO > idat_bytes + 64)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                   "corrupt PNG: %d × %d pixels need at least %" G_GUINT64_FORMAT " bytes of image "
                   "data, and its %" G_GUINT64_FORMAT " compressed bytes cannot expand to more than %"
                   G_GUINT64_FORMAT " (deflate's limit is %d:1)",
                   info->stored_width, info->stored_height, needed, idat_bytes,
                   (idat_bytes + 64) * QR_DEFLATE_MAX_RATIO, QR_DEFLATE_MAX_RATIO);
      return FALSE;
    }
  return TRUE;
}

static gboolean
probe_png (const guint8 *data, gsize len, QrImageInfo *info, GError **error)
{
  gsize pos = 8;
  gboolean have_iend = FALSE;
  guint64 idat_bytes = 0;

  if (len < 33 || memcmp (data + 12, "IHDR", 4) != 0)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "corrupt PNG: missing IHDR header");
      return FALSE;
    }
  info->stored_width = (int) MIN (read_u32 (data + 16, TRUE), (guint32) G_MAXINT);
  info->stored_height = (int) MIN (read_u32 (data + 20, TRUE), (guint32) G_MAXINT);

  /* Walk the chunks: it finds an eXIf orientation and proves the file is complete (IEND). */
  while (pos + 12 <= len)
    {
      guint32 chunk_len = read_u32 (data + pos, TRUE);
      const guint8 *type = data + pos + 4;

      if ((guint64) pos + 12 + chunk_len > len)
        break;
      if (memcmp (type, "eXIf", 4) == 0)
        info->orientation = qr_exif_orientation (data + pos + 8, chunk_len);
      else if (memcmp (type, "IDAT", 4) == 0)
        idat_bytes += chunk_len;
      else if (memcmp (type, "IEND", 4) == 0)
        {
          have_iend = TRUE;
          break;
        }
      pos += 12 + (gsize) chunk_len;
    }
  if (!have_iend)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                   "truncated PNG: chunk at byte %" G_GSIZE_FORMAT " runs past the end (no IEND)", pos);
      return FALSE;
    }
  if (info->stored_width == 0 || info->stored_height == 0)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                           "corrupt PNG: zero width or height");
      return FALSE;
    }
  return png_data_can_fill (data, idat_bytes, info, error);
}

static gboolean
probe_webp (const guint8 *data, gsize len, QrImageInfo *info, GError **error)
{
  guint32 riff_size = read_u32 (data + 4, FALSE);
  gsize pos = 12;
  int w = 0, h = 0;

  if ((guint64) riff_size + 8 > len)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                   "truncated WebP: header says %u bytes, the file has %" G_GSIZE_FORMAT,
                   riff_size + 8, len);
      return FALSE;
    }
  if (!WebPGetInfo (data, len, &w, &h))
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt WebP header");
      return FALSE;
    }
  info->stored_width = w;
  info->stored_height = h;
  while (pos + 8 <= len)
    {
      guint32 chunk_len = read_u32 (data + pos + 4, FALSE);
      if ((guint64) pos + 8 + chunk_len > len)
        break;
      if (memcmp (data + pos, "EXIF", 4) == 0)
        {
          const guint8 *exif = data + pos + 8;
          gsize exif_len = chunk_len;
          if (exif_len >= 6 && memcmp (exif, "Exif\0\0", 6) == 0)
            exif += 6, exif_len -= 6;
          info->orientation = qr_exif_orientation (exif, exif_len);
          break;
        }
      pos += 8 + chunk_len + (chunk_len & 1);
    }
  return TRUE;
}

QrImageFormat
qr_image_sniff (const guint8 *data, gsize len)
{
  if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    return QR_IMAGE_FORMAT_JPEG;
  if (len >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return QR_IMAGE_FORMAT_PNG;
  if (len >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return QR_IMAGE_FORMAT_WEBP;
  if (len >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    return QR_IMAGE_FORMAT_GIF;
  if (len >= 2 && data[0] == 'B' && data[1] == 'M')
    return QR_IMAGE_FORMAT_BMP;
  if (len >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return QR_IMAGE_FORMAT_TIFF;
  if (len >= 4 && memcmp (data, "8BPS", 4) == 0)
    return QR_IMAGE_FORMAT_PSD;
  if (len >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6')
    return QR_IMAGE_FORMAT_PNM;
  if (len >= 10 && (memcmp (data, "#?RADIANCE", 10) == 0 || memcmp (data, "#?RGBE", 6) == 0))
    return QR_IMAGE_FORMAT_HDR;
  return QR_IMAGE_FORMAT_UNKNOWN;
}

/* A PNM header (qr-image-private.h): the magic, then width, height and (not for bitmaps)
 * maxval, with whitespace (C's isspace, as stb's: g_ascii_isspace leaves out the vertical tab) and
 * comments between them; one whitespace character ends it. */
QrPnmHeader
qr_image_pnm_header (const guint8 *data, gsize len, int *values, gsize *offset)
{
  gsize i = 2;
  int numbers;

  if (len < 2 || data[0] != 'P' || data[1] < '1' || data[1] > '6')
    return QR_PNM_NOT;
  numbers = data[1] == '1' || data[1] == '4' ? 2 : 3;
  values[2] = 1;
  for (int n = 0; n < numbers; n++)
    {
      gint64 v = 0;
      int digits = 0;
      while (i < len && (data[i] == ' ' || (data[i] >= '\t' && data[i] <= '\r') || data[i] == '#'))
        {
          if (data[i] == '#')
            while (i < len && data[i] != '\n' && data[i] != '\r')
              i++;
          else
            i++;
        }
      for (; i < len && g_ascii_isdigit (data[i]); i++)
        {
          /* stb adds the digits into an int without a bound (signed overflow, found by
             fuzz-image-probe): more than 8 are refused before it reads them */
          if (++digits > 8)
            return QR_PNM_TOO_LONG;
          v = v * 10 + (data[i] - '0');
        }
      if (digits == 0)
        return QR_PNM_NOT;
      values[n] = (int) v;
    }
  if (i >= len)
    return QR_PNM_NOT;
  *offset = i + 1;
  return QR_PNM_OK;
}

gboolean
qr_image_probe (const guint8 *data,
                gsize         len,
                QrImageInfo  *info,
                GError      **error)
{
  gboolean ok;

  g_return_val_if_fail (info != NULL, FALSE);

  memset (info, 0, sizeof *info);
  info->orientation = 1;
  if (len == 0)
    {
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "empty file");
      return FALSE;
    }

  info->format = qr_image_sniff (data, len);
  switch (info->format)
    {
    case QR_IMAGE_FORMAT_JPEG:
      ok = probe_jpeg (data, len, info, error);
      break;
    case QR_IMAGE_FORMAT_PNG:
      ok = probe_png (data, len, info, error);
      break;
    case QR_IMAGE_FORMAT_WEBP:
      ok = probe_webp (data, len, info, error);
      break;
    case QR_IMAGE_FORMAT_TIFF:
      g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_UNSUPPORTED,
                           "TIFF images are not supported");
      return FALSE;
    default:
      {
        int w, h, comp;
        {
          int values[3];
          gsize offset;
          if (info->format == QR_IMAGE_FORMAT_PNM && qr_image_pnm_header (data, len, values, &offset) == QR_PNM_TOO_LONG)
            {
              g_set_error_literal (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                                   "corrupt pnm header: a number of the header has more than 8 digits");
              return FALSE;
            }
        }
        if (len > G_MAXINT || !stbi_info_from_memory (data, (int) len, &w, &h, &comp))
          {
            g_set_error (error, QR_IMAGE_ERROR,
                         info->format == QR_IMAGE_FORMAT_UNKNOWN ? QR_IMAGE_ERROR_UNSUPPORTED
                                                                 : QR_IMAGE_ERROR_CORRUPT,
                         info->format == QR_IMAGE_FORMAT_UNKNOWN ? "not an image format Quorum reads"
                                                                 : "corrupt %s header (%s)",
                         qr_image_format_to_string (info->format), stbi_failure_reason ());
            return FALSE;
          }
        if (w <= 0 || h <= 0)
          {
            g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT, "corrupt %s header: %d × %d pixels",
                         qr_image_format_to_string (info->format), w, h);
            return FALSE;
          }
        /* binary PGM/PPM hold their pixels raw: a header claiming more than the file holds is cut
         * short (or a decompression bomb of ten bytes), found before anything is allocated */
        if (info->format == QR_IMAGE_FORMAT_PNM && (data[1] == '5' || data[1] == '6')
            && (guint64) w * (guint64) h * (data[1] == '6' ? 3u : 1u) > (guint64) len)
          {
            g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_CORRUPT,
                         "truncated PNM: %d × %d pixels need %" G_GUINT64_FORMAT " bytes, the file has %" G_GSIZE_FORMAT,
                         w, h, (guint64) w * (guint64) h * (data[1] == '6' ? 3u : 1u), len);
            return FALSE;
          }
        if (info->format == QR_IMAGE_FORMAT_UNKNOWN)
          info->format = QR_IMAGE_FORMAT_TGA; /* the one stb format without a magic number */
        info->stored_width = w;
        info->stored_height = h;
        ok = TRUE;
      }
    }
  if (ok)
    finish_info (info);
  return ok;
}

gboolean
qr_image_check_limits (const QrImageInfo   *info,
                       const QrImageLimits *limits,
                       GError             **error)
{
  QrImageLimits defaults;

  if (limits == NULL)
    {
      qr_image_limits_init_default (&defaults);
      limits = &defaults;
    }
  if (info->stored_width > limits->max_side || info->stored_height > limits->max_side
      || (guint64) info->stored_width * (guint64) info->stored_height > limits->max_pixels)
    {
      g_set_error (error, QR_IMAGE_ERROR, QR_IMAGE_ERROR_TOO_LARGE,
                   "image too large: %d × %d pixels is over the limit (%d per side, %.0f megapixels; "
                   "QUORUM_MAX_IMAGE_SIDE and QUORUM_MAX_IMAGE_MEGAPIXELS raise it)",
                   info->stored_width, info->stored_height, limits->max_side,
                   (double) limits->max_pixels / 1e6);
      return FALSE;
    }
  return TRUE;
}
