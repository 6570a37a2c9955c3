/* image-private.h: helpers shared by the image files of the inference library. */
#pragma once

#include "qr-image.h"

/* The resampling qr_image_resize does, one axis of it: output index i is the sum over
 * k < count[i] of weights[i · max_taps + k] × source[first[i] + k] (box filter shrinking,
 * bilinear growing). The CUDA backend resizes with the same taps and the same order of sums. */
typedef struct
{
  int    *first;   /* first source index per output index */
  int    *count;   /* taps per output index */
  float  *weights; /* max_taps per output index */
  int     max_taps;
} QrTaps;

void          qr_taps_init   (QrTaps       *taps,
                              int           src,
                              int           dst);
void          qr_taps_clear  (QrTaps       *taps);

typedef enum
{
  QR_PNM_OK,
  QR_PNM_NOT,       /* not a complete PNM header (stb says what is wrong) */
  QR_PNM_TOO_LONG,  /* a number of more than 8 digits */
} QrPnmHeader;

/* A PNM header's numbers: values[0..2] width, height, maxval (1 for bitmaps), *offset where the
 * samples start. Probing refuses QR_PNM_TOO_LONG; decoding reads 16-bit samples itself. */
QrPnmHeader   qr_image_pnm_header (const guint8 *data,
                                   gsize         len,
                                   int          *values,
                                   gsize        *offset);
QrImageFormat qr_image_sniff (const guint8 *data,
                              gsize         len);
