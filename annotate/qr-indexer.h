/* qr-indexer.h: keeps a catalog in step with its folder. New files are probed (header only, plus
 * a SHA-256 of the bytes), changed ones re-probed, removed ones marked missing, renamed ones
 * (same bytes, new path) moved with their labels; unreadable files are recorded with a reason. */
#pragma once

#include <gio/gio.h>
#include "qr-catalog.h"
#include "qr-image.h"

G_BEGIN_DECLS

typedef struct
{
  guint          batch_size;  /* files per transaction */
  int            n_threads;   /* probing threads; 0 = one per core */
  QrImageLimits  limits;
  int            shard;       /* with n_shards > 1: only the images of shard `shard` (qr_shard_of) */
  int            n_shards;
} QrIndexOptions;

/* Which of n shards an image is in: from its path in the collection alone (SHA-256), so adding
 * images never moves another to another shard. */
int      qr_shard_of            (const char     *path,
                                 int             n_shards);

typedef struct
{
  guint seen;        /* image files found in the folder */
  guint added;
  guint changed;
  guint moved;       /* renamed files recognised by their hash */
  guint removed;     /* newly marked missing */
  guint unchanged;
  guint unreadable;  /* among the files probed this time */
  guint bad_names;   /* image files skipped because their names are not UTF-8 */
  char  bad_name_example[256]; /* the first of them, its bytes escaped */
} QrIndexStats;

/* Called on the indexing thread after each committed batch. */
typedef void (*QrProgressFunc) (guint64  done,
                                guint64  total,
                                gpointer user_data);

void     qr_index_options_init  (QrIndexOptions *options);

/* True when name's extension is one Quorum lists as an image (case-insensitive). */
gboolean qr_index_is_image_name (const char     *name);

gboolean qr_index_collection    (QrCatalog            *catalog,
                                 const QrIndexOptions *options,
                                 QrIndexStats         *stats,
                                 QrProgressFunc        progress,
                                 gpointer              progress_data,
                                 GCancellable         *cancellable,
                                 GError              **error);

G_END_DECLS
