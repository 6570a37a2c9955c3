/* image-private.h: helpers shared by the image files of the inference library. */
#pragma once

#include "qr-image.h"

QrImageFormat qr_image_sniff (const guint8 *data,
                              gsize         len);
