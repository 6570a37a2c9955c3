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

QrImageFormat qr_image_sniff (const guint8 *data,
                              gsize         len);
