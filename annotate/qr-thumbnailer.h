/* qr-thumbnailer.h: makes the catalog's thumbnails on a pool of threads. JPEG sources decode at
 * 1/2, 1/4 or 1/8 scale (libjpeg-turbo's DCT scaling) before an area-averaging resize. */
#pragma once

#include <gio/gio.h>
#include "qr-catalog.h"
#include "qr-image.h"
#include "qr-indexer.h"

G_BEGIN_DECLS

#define QR_THUMBNAIL_DEFAULT_SIZE 256

typedef struct
{
  int            max_side;    /* longer side of a thumbnail, pixels */
  int            quality;     /* JPEG quality */
  int            n_threads;   /* 0 = one per core */
  guint          batch_size;  /* thumbnails per transaction */
  QrImageLimits  limits;
} QrThumbnailOptions;

typedef struct
{
  guint made;
  guint failed;   /* files that turned out unreadable: marked so in the catalog */
} QrThumbnailStats;

void     qr_thumbnail_options_init (QrThumbnailOptions *options);

/* One thumbnail, as JPEG bytes; width and height are the thumbnail's. */
GBytes  *qr_thumbnail_make         (const char               *path,
                                    const QrThumbnailOptions *options,
                                    int                      *width,
                                    int                      *height,
                                    GError                  **error);

/* Makes every thumbnail the catalog lacks (or that is stale). */
gboolean qr_thumbnails_update      (QrCatalog                *catalog,
                                    const QrThumbnailOptions *options,
                                    QrThumbnailStats         *stats,
                                    QrProgressFunc            progress,
                                    gpointer                  progress_data,
                                    GCancellable             *cancellable,
                                    GError                  **error);

G_END_DECLS
