/* qr-dataset.h: importing labeled datasets into a catalog and exporting them from it, in COCO,
 * YOLO/Darknet, Pascal VOC and CSV. An import is all-or-nothing (one transaction); an export is
 * written to a temporary folder beside the target and renamed into place when complete. */
#pragma once

#include <gio/gio.h>
#include "qr-catalog.h"
#include "qr-indexer.h"

G_BEGIN_DECLS

#define QR_DATASET_ERROR (qr_dataset_error_quark ())
GQuark qr_dataset_error_quark (void);

typedef enum
{
  QR_DATASET_ERROR_PARSE,      /* malformed JSON, XML or text: the message names file and place */
  QR_DATASET_ERROR_INVALID,    /* well-formed but wrong: unknown id, bad box, duplicate id */
  QR_DATASET_ERROR_PATH,       /* a file name that escapes the collection, or an image not in it */
  QR_DATASET_ERROR_TOO_LARGE,  /* a file over the size limit */
  QR_DATASET_ERROR_EXISTS,     /* the export target exists */
  QR_DATASET_ERROR_IO,
  QR_DATASET_ERROR_EMPTY,      /* an export that would hold no image (allow_empty not set) */
} QrDatasetError;

typedef enum
{
  QR_DATASET_COCO,
  QR_DATASET_YOLO,
  QR_DATASET_VOC,
  QR_DATASET_CSV,
} QrDatasetFormat;

gboolean    qr_dataset_format_from_string (const char      *name,
                                           QrDatasetFormat *format);
const char *qr_dataset_format_to_string   (QrDatasetFormat  format);

#define QR_DATASET_DEFAULT_MAX_FILE_SIZE (1024ull * 1024 * 1024)

/* A dataset imported before (the same content: its digest) is skipped unless the mode says
 * otherwise: REPLACE first deletes (softly) what earlier imports of the same content or the same
 * path stored, ADD imports it again beside them. */
typedef enum
{
  QR_IMPORT_SKIP,
  QR_IMPORT_REPLACE,
  QR_IMPORT_ADD,
} QrImportMode;

gboolean    qr_import_mode_from_string (const char   *name,
                                        QrImportMode *mode);

typedef struct
{
  QrDatasetFormat  format;
  const char      *path;            /* COCO: the JSON file; YOLO, VOC: a folder; CSV: the file */
  const char      *names_path;      /* YOLO: class names, one a line (default: classes.txt,
                                       obj.names or coco.names in the folder) */
  const char      *captions_path;   /* COCO captions file, optional */
  gboolean         allow_missing;   /* skip labels of images the collection lacks, else an error */
  guint64          max_file_size;   /* bytes; 0 = QR_DATASET_DEFAULT_MAX_FILE_SIZE */
  QrImportMode     mode;            /* what to do with a dataset imported before (default: skip) */
} QrImportOptions;

typedef struct
{
  guint images;         /* images that received labels or captions */
  guint labels;
  guint captions;
  guint classes;        /* classes named by the dataset */
  guint skipped;        /* images not in the collection (with allow_missing) */
  gint64 import_id;     /* this import's row, or (already_imported) the earlier one's */
  gboolean already_imported;  /* the same content was imported before: nothing stored (skip mode) */
  gint64 already_at_us; /* when, and what it stored */
  gint64 already_labels;
  gint64 replaced_labels;     /* replace mode: labels and captions of earlier imports deleted */
  gint64 replaced_captions;
  gint64 earlier_same_path;   /* an earlier import of this path with other content (0: none) */
} QrImportStats;

gboolean qr_dataset_import (QrCatalog             *catalog,
                            const QrImportOptions *options,
                            QrImportStats         *stats,
                            QrProgressFunc         progress,
                            gpointer               progress_data,
                            GCancellable          *cancellable,
                            GError               **error);

typedef enum
{
  QR_EXPORT_IMAGES_NONE,   /* labels only; they name the images by their collection paths */
  QR_EXPORT_IMAGES_COPY,
  QR_EXPORT_IMAGES_LINK,   /* symbolic links to the originals */
} QrExportImages;

typedef struct
{
  QrDatasetFormat  format;
  const char      *out_dir;    /* must not exist unless overwrite */
  QrLabelFilter    filter;     /* all labels, reviewed images only, corrected labels only */
  double           split;      /* share of images in train (0 < split <= 1; 1 = one set) */
  guint64          seed;       /* the split depends on seed and each image's path only */
  int              fold;       /* with n_folds > 0: val is fold `fold` of n_folds (qr_image_fold), */
  int              n_folds;    /*   train the other folds — for K peers trained out of fold */
  QrExportImages   images;
  gboolean         overwrite;
  gboolean         allow_empty; /* write a dataset with no image instead of failing */
  gboolean         all_classes; /* every class of the catalog, not only those the labels use (these
                                   come first either way) */
} QrExportOptions;

/* Which of n folds an image is in: from the seed and its path only (SHA-256), so adding images
 * never moves the others. The same function splits exports and tells the review which images a
 * peer trained on fold k's complement never saw. */
int qr_image_fold (const char *path,
                   guint64     seed,
                   int         n_folds);

typedef struct
{
  guint images;
  guint labels;
  guint captions;       /* written as a COCO captions file beside the labels */
  guint train;
  guint val;
} QrExportStats;

void     qr_export_options_init (QrExportOptions *options);
gboolean qr_dataset_export      (QrCatalog             *catalog,
                                 const QrExportOptions *options,
                                 QrExportStats         *stats,
                                 QrProgressFunc         progress,
                                 gpointer               progress_data,
                                 GCancellable          *cancellable,
                                 GError               **error);

/* Whether a dataset's file name is a safe relative path: not absolute, no "..", no NUL or
 * backslash, not empty. On success *normalised is the '/'-separated path without "./". */
gboolean qr_dataset_check_relative_path (const char  *name,
                                         char       **normalised);

G_END_DECLS
