/* qr-image.h: probing, decoding, orienting, resizing and encoding images.
 * Every decoder in Quorum goes through here, so the pixel limit and EXIF orientation are applied
 * in one place: stb_image for the formats it reads, libjpeg-turbo for JPEG, libwebp for WebP. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QR_IMAGE_ERROR (qr_image_error_quark ())
GQuark qr_image_error_quark (void);

typedef enum
{
  QR_IMAGE_ERROR_UNSUPPORTED, /* a format Quorum cannot decode */
  QR_IMAGE_ERROR_CORRUPT,     /* bad header, truncated data, decoder failure */
  QR_IMAGE_ERROR_TOO_LARGE,   /* over the pixel limit: refused before any pixel is decoded */
  QR_IMAGE_ERROR_IO,          /* the file could not be read */
} QrImageError;

typedef enum
{
  QR_IMAGE_FORMAT_UNKNOWN = 0,
  QR_IMAGE_FORMAT_JPEG,
  QR_IMAGE_FORMAT_PNG,
  QR_IMAGE_FORMAT_WEBP,
  QR_IMAGE_FORMAT_GIF,
  QR_IMAGE_FORMAT_BMP,
  QR_IMAGE_FORMAT_TGA,
  QR_IMAGE_FORMAT_PNM,
  QR_IMAGE_FORMAT_PSD,
  QR_IMAGE_FORMAT_HDR,
  QR_IMAGE_FORMAT_TIFF, /* recognised, not decoded */
} QrImageFormat;

const char *qr_image_format_to_string (QrImageFormat format);

/* What a header says, read without decoding pixels. */
typedef struct
{
  QrImageFormat format;
  int           stored_width;  /* as encoded */
  int           stored_height;
  int           orientation;   /* EXIF orientation 1..8; 1 when absent */
  int           width;         /* as displayed: orientation applied (5..8 swap the sides) */
  int           height;
} QrImageInfo;

/* Decompression-bomb guard: images over either limit are refused before decoding. */
typedef struct
{
  int     max_side;   /* pixels along either side */
  guint64 max_pixels; /* width × height */
} QrImageLimits;

#define QR_IMAGE_DEFAULT_MAX_SIDE   30000
#define QR_IMAGE_DEFAULT_MAX_PIXELS 400000000ull

void qr_image_limits_init_default (QrImageLimits *limits);

/* 8-bit RGB, rows packed (stride = 3 × width). */
typedef struct
{
  int     width;
  int     height;
  guint8 *pixels;
  /* A decode with a size hint (DCT scaling): the full image's size, oriented, that positions on
   * this one scale up to; 0: width × height. */
  int     full_width;
  int     full_height;
} QrImage;

QrImage *qr_image_new            (int            width,
                                  int            height);
void     qr_image_free           (QrImage       *image);

gboolean qr_image_probe          (const guint8  *data,
                                  gsize          len,
                                  QrImageInfo   *info,
                                  GError       **error);
gboolean qr_image_check_limits   (const QrImageInfo   *info,
                                  const QrImageLimits *limits,
                                  GError             **error);

/* Decodes and applies EXIF orientation. min_side_hint > 0 lets JPEG decode at 1/2, 1/4 or 1/8
 * scale (libjpeg-turbo's DCT scaling) as long as the longer side stays >= min_side_hint;
 * other formats decode at full size. limits NULL means the defaults. */
QrImage *qr_image_decode         (const guint8        *data,
                                  gsize                len,
                                  const QrImageLimits *limits,
                                  int                  min_side_hint,
                                  GError             **error);
/* The memory all threads' decodes may hold at once (bytes; 0: the default — QUORUM_DECODE_MEMORY_MB,
 * else a quarter of the physical memory, 512 MB to 8 GB). A decode waits for room; an image needing
 * more than the whole budget is refused (QR_IMAGE_ERROR_TOO_LARGE). get returns the budget and
 * (peak) the most held at once since it was last set. */
void     qr_image_set_decode_budget (guint64 bytes);
guint64  qr_image_get_decode_budget (guint64 *peak);
/* Same, from a file; errors name the file. */
QrImage *qr_image_load           (const char          *path,
                                  const QrImageLimits *limits,
                                  int                  min_side_hint,
                                  GError             **error);

/* Rotates/flips pixels so that EXIF orientation o (1..8) becomes 1. */
QrImage *qr_image_orient         (const QrImage *image,
                                  int            orientation);
/* Area-averaging resize (a box filter when shrinking, bilinear when enlarging). */
QrImage *qr_image_resize         (const QrImage *image,
                                  int            width,
                                  int            height);
/* Bicubic resize (a = −0.5, the kernel widened when shrinking, 8-bit between the passes) as
 * Pillow computes it: what CLIP's image preprocessing expects. */
QrImage *qr_image_resize_bicubic (const QrImage *image,
                                  int            width,
                                  int            height);
/* Shrinks so the longer side is max_side; returns a copy when it is already that small. */
QrImage *qr_image_fit            (const QrImage *image,
                                  int            max_side);

guint8  *qr_image_encode_jpeg    (const QrImage *image,
                                  int            quality,
                                  gsize         *len,
                                  GError       **error);
gboolean qr_image_save_png       (const QrImage *image,
                                  const char    *path,
                                  GError       **error);

/* EXIF orientation from a TIFF-structured EXIF block (after "Exif\0\0"); 1 when absent/invalid. */
int      qr_exif_orientation     (const guint8  *tiff,
                                  gsize          len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrImage, qr_image_free)

G_END_DECLS
