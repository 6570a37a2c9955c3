/* qr-runner.h: a detector run over a collection, stored in its catalog. Batches of 32 images (or
 * two seconds) are committed one transaction each, so that stopping — a cancel, Ctrl-C, a crash —
 * keeps every finished image, and running again resumes the same run with the images left. */
#pragma once

#include "qr-catalog.h"
#include "qr-detector.h"
#include "qr-indexer.h"

G_BEGIN_DECLS

typedef struct
{
  gint64  run_id;
  guint   images;      /* processed this time */
  guint   remaining;   /* the run's images at the start */
  guint   detections;
  gboolean stopped;    /* abort said stop: the run is "cancelled", resumable */
} QrRunStats;

/* name: the model's name in the catalog (registered on first use, with path as its location). */
gboolean qr_run_detector (QrCatalog      *catalog,
                          QrDetector     *detector,
                          const char     *name,
                          const char     *path,
                          double          threshold,
                          QrAbortFunc     abort,
                          gpointer        abort_data,
                          QrProgressFunc  progress,
                          gpointer        progress_data,
                          QrRunStats     *stats,
                          GError        **error);
/* The same over some images only (ids; NULL: all). The run stays resumable for the rest. */
gboolean qr_run_detector_on (QrCatalog      *catalog,
                             QrDetector     *detector,
                             const char     *name,
                             const char     *path,
                             double          threshold,
                             GArray         *only,
                             QrAbortFunc     abort,
                             gpointer        abort_data,
                             QrProgressFunc  progress,
                             gpointer        progress_data,
                             QrRunStats     *stats,
                             GError        **error);

/* One of several detectors run together over a collection (qr_run_peers). */
typedef struct
{
  QrDetector *detector;
  const char *name;     /* the model's name in the catalog */
  const char *path;
  QrRunStats  stats;    /* filled by the run */
} QrPeerRun;

/* Several detectors over a collection in one pass, each with its own resumable run as
 * qr_run_detector: every photo is decoded once for all of them, and on a GPU their networks run
 * at the same time (each model has its own stream). progress counts photos. */
gboolean qr_run_peers       (QrCatalog      *catalog,
                             QrPeerRun      *peers,
                             guint           n_peers,
                             double          threshold,
                             QrAbortFunc     abort,
                             gpointer        abort_data,
                             QrProgressFunc  progress,
                             gpointer        progress_data,
                             GError        **error);

G_END_DECLS
