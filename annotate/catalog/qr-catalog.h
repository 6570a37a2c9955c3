/* qr-catalog.h: the SQLite catalog of one image collection: images, classes, models (peers),
 * runs, detections, human labels, review state and thumbnails. Every write is one transaction;
 * the image folder itself is never written to. A QrCatalog is used from one thread at a time:
 * other threads open their own (WAL lets readers and one writer work side by side). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define QR_CATALOG_ERROR (qr_catalog_error_quark ())
GQuark qr_catalog_error_quark (void);

typedef enum
{
  QR_CATALOG_ERROR_OPEN,       /* the database file cannot be opened or created */
  QR_CATALOG_ERROR_SQL,        /* SQLite failed a statement */
  QR_CATALOG_ERROR_VERSION,    /* made by a newer Quorum */
  QR_CATALOG_ERROR_NOT_FOUND,
  QR_CATALOG_ERROR_INVALID,    /* an argument that cannot be stored (e.g. an empty class name) */
  QR_CATALOG_ERROR_ROOT,       /* the database belongs to another collection folder */
  QR_CATALOG_ERROR_READ_ONLY,  /* a write to a catalog that could only be opened read-only */
  QR_CATALOG_ERROR_CONFLICT,   /* a shard that disagrees with the collection (merge) */
} QrCatalogError;

/* The schema version this build writes; older catalogs are migrated forward on open. */
#define QR_CATALOG_SCHEMA_VERSION 9

typedef enum
{
  QR_IMAGE_STATE_OK = 0,
  QR_IMAGE_STATE_UNREADABLE,  /* reason says why */
  QR_IMAGE_STATE_MISSING,     /* the file went away; its labels are kept in case it returns */
} QrImageState;

const char  *qr_image_state_to_string   (QrImageState state);

typedef struct
{
  gint64        id;
  char         *path;        /* relative to the collection root, '/'-separated */
  gint64        size;        /* bytes */
  gint64        mtime_us;    /* modification time, microseconds since the epoch */
  int           width;       /* displayed size: EXIF orientation applied */
  int           height;
  int           orientation; /* EXIF 1..8 */
  char         *format;      /* "jpeg", "png", … */
  char         *hash;        /* SHA-256 of the file's bytes, hex */
  QrImageState  state;
  char         *reason;      /* why it is unreadable; NULL when ok */
} QrImageRecord;

QrImageRecord *qr_image_record_new  (void);
void           qr_image_record_free (QrImageRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrImageRecord, qr_image_record_free)

typedef struct
{
  gint64 images;
  gint64 images_ok;
  gint64 images_unreadable;
  gint64 images_missing;
  gint64 classes;
  gint64 models;
  gint64 runs;
  gint64 detections;
  gint64 labels;       /* not deleted */
  gint64 thumbnails;
  gint64 reviewed;
  gint64 captions;
} QrCatalogStats;

typedef enum
{
  QR_LABEL_SOURCE_IMPORTED = 0,
  QR_LABEL_SOURCE_DRAWN,
  QR_LABEL_SOURCE_ACCEPTED,   /* accepted from a model's detection */
} QrLabelSource;

const char *qr_label_source_to_string (QrLabelSource source);

typedef struct
{
  double x1, y1, x2, y2;      /* image pixels, EXIF orientation applied */
} QrBox;

#define QR_TYPE_CATALOG (qr_catalog_get_type ())
G_DECLARE_FINAL_TYPE (QrCatalog, qr_catalog, QR, CATALOG, GObject)

/* The default place of a collection's catalog: $XDG_DATA_HOME/quorum/collections/NAME-HASH.sqlite,
 * keyed by the collection's absolute path. */
char          *qr_catalog_default_path     (const char  *root);

/* Opens (creating and migrating as needed) the catalog of the collection at root.
 * db_path NULL means qr_catalog_default_path (root). */
QrCatalog     *qr_catalog_open             (const char  *root,
                                            const char  *db_path,
                                            GError     **error);
/* Opens an existing catalog file without knowing its root (the root is read from it). */
QrCatalog     *qr_catalog_open_existing    (const char  *db_path,
                                            GError     **error);

const char    *qr_catalog_get_root         (QrCatalog   *self);
/* Whether the catalog was opened read-only: its file (or its folder, where SQLite keeps its
 * write-ahead log) cannot be written, e.g. on read-only storage. Reading works; every write fails
 * with QR_CATALOG_ERROR_READ_ONLY, saying so. */
gboolean       qr_catalog_is_read_only     (QrCatalog   *self);
const char    *qr_catalog_get_db_path      (QrCatalog   *self);
int            qr_catalog_get_schema_version (QrCatalog *self);

/* Transactions: writes made between begin and commit land together or not at all. The
 * single-write functions below open their own when none is open. */
gboolean       qr_catalog_begin            (QrCatalog   *self,
                                            GError     **error);
gboolean       qr_catalog_commit           (QrCatalog   *self,
                                            GError     **error);
void           qr_catalog_rollback         (QrCatalog   *self);

gboolean       qr_catalog_get_stats        (QrCatalog      *self,
                                            QrCatalogStats *stats,
                                            GError        **error);
gboolean       qr_catalog_check_integrity  (QrCatalog   *self,
                                            GError     **error);

/* Images */
/* Inserts or updates by path; sets record->id. */
gboolean       qr_catalog_put_image        (QrCatalog      *self,
                                            QrImageRecord  *record,
                                            GError        **error);
/* Moves an image row to a new path (a renamed file: its labels follow). */
gboolean       qr_catalog_move_image       (QrCatalog   *self,
                                            gint64       id,
                                            const char  *new_path,
                                            GError     **error);
gboolean       qr_catalog_set_image_state  (QrCatalog    *self,
                                            gint64        id,
                                            QrImageState  state,
                                            const char   *reason,
                                            GError      **error);
QrImageRecord *qr_catalog_get_image        (QrCatalog   *self,
                                            gint64       id,
                                            GError     **error);
QrImageRecord *qr_catalog_find_image       (QrCatalog   *self,
                                            const char  *path,
                                            GError     **error);
/* Ids of the images whose path holds part (ASCII letters in any case), in path order. */
GArray        *qr_catalog_find_by_name     (QrCatalog   *self,
                                            const char  *part,
                                            GError     **error);
/* Every image row, in path order (GPtrArray of QrImageRecord). state < 0 means any state. */
GPtrArray     *qr_catalog_list_images      (QrCatalog   *self,
                                            int          state,
                                            GError     **error);
/* Ids of the images in path order, for lazy list models. state < 0 means any. */
GArray        *qr_catalog_list_image_ids   (QrCatalog   *self,
                                            int          state,
                                            GError     **error);
typedef enum
{
  QR_VIEW_ALL,          /* readable and unreadable images */
  QR_VIEW_UNLABELED,    /* readable, no live label */
  QR_VIEW_LABELED,
  QR_VIEW_UNREADABLE,
  QR_VIEW_CLASS,        /* a label or a detection of one class */
  QR_VIEW_REVIEW,       /* images with open review items, the likeliest mistake first; the view's
                           class_id 1..6 keeps one kind (qr_review_kind_names[class_id − 1]) */
  QR_VIEW_PREDICTED_UNLABELED,  /* readable, no live label, a model box at or above the Min Score */
  QR_VIEW_UNCONFIRMED,  /* a live label that no model box of its class (at the Min Score) overlaps at IoU ≥ 0.5 */
} QrImageView;

typedef enum
{
  QR_SORT_NAME,
  QR_SORT_NEWEST,       /* file modification time, newest first */
  QR_SORT_MISTAKES,     /* the highest open review item's score first */
} QrImageSort;

/* Ids of a view's images, filtered and sorted in SQLite. */
GArray        *qr_catalog_list_view        (QrCatalog   *self,
                                            QrImageView  view,
                                            gint64       class_id,
                                            QrImageSort  sort,
                                            GError     **error);
/* The same, a class view keeping model boxes at or above min_score only (the viewer's Min Score;
 * from each model's latest run, not rejected). */
GArray        *qr_catalog_list_view_scored (QrCatalog   *self,
                                            QrImageView  view,
                                            gint64       class_id,
                                            QrImageSort  sort,
                                            double       min_score,
                                            GError     **error);
/* Classes in use, each with how many images hold a live label of it (labelled) and how many a
 * shown model box at or above min_score (predicted), labelled first, as parallel arrays. */
gboolean       qr_catalog_class_counts     (QrCatalog   *self,
                                            double       min_score,
                                            GArray     **class_ids,
                                            GPtrArray  **names,
                                            GArray     **labelled,
                                            GArray     **predicted,
                                            GError     **error);
/* How many images each view holds (for the sidebar): all, unlabeled, labeled, unreadable, review,
 * predicted-unlabeled, unconfirmed (counts has QR_VIEW_N_COUNTS slots; the last two at min_score). */
#define QR_VIEW_N_COUNTS 7
gboolean       qr_catalog_count_views      (QrCatalog   *self,
                                            double       min_score,
                                            gint64      *counts,
                                            GError     **error);
char          *qr_catalog_resolve_path     (QrCatalog   *self,
                                            const char  *relative_path);

/* Classes, models, runs, detections, labels */
gint64         qr_catalog_ensure_class     (QrCatalog   *self,
                                            const char  *name,
                                            GError     **error);
GPtrArray     *qr_catalog_list_classes     (QrCatalog   *self,
                                            GError     **error);
gint64         qr_catalog_add_model        (QrCatalog   *self,
                                            const char  *name,
                                            const char  *kind,
                                            const char  *location,
                                            GError     **error);
gint64         qr_catalog_start_run        (QrCatalog   *self,
                                            gint64       model_id,
                                            const char  *params_json,
                                            GError     **error);
gboolean       qr_catalog_finish_run       (QrCatalog   *self,
                                            gint64       run_id,
                                            const char  *state,
                                            GError     **error);
gint64         qr_catalog_add_detection    (QrCatalog   *self,
                                            gint64       run_id,
                                            gint64       image_id,
                                            gint64       class_id,
                                            double       score,
                                            const QrBox *box,
                                            GError     **error);
gint64         qr_catalog_add_label        (QrCatalog     *self,
                                            gint64         image_id,
                                            gint64         class_id,
                                            const QrBox   *box,
                                            QrLabelSource  source,
                                            const char    *provenance,
                                            GError       **error);
gboolean       qr_catalog_delete_label     (QrCatalog   *self,
                                            gint64       label_id,
                                            GError     **error);
gboolean       qr_catalog_set_reviewed     (QrCatalog   *self,
                                            gint64       image_id,
                                            const char  *state,
                                            GError     **error);

/* A human label as stored, with its class name (for export). */
typedef struct
{
  gint64         id;
  gint64         image_id;
  gint64         class_id;
  char          *class_name;
  QrBox          box;
  QrLabelSource  source;
  gboolean       iscrowd;
  gboolean       modified;   /* edited after it was made (moved, resized, relabelled) */
} QrLabelRecord;

void           qr_label_record_free       (QrLabelRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrLabelRecord, qr_label_record_free)

typedef enum
{
  QR_LABEL_FILTER_ALL,
  QR_LABEL_FILTER_REVIEWED,    /* labels of images marked reviewed */
  QR_LABEL_FILTER_CORRECTED,   /* drawn, accepted from a model, or edited after import */
} QrLabelFilter;

/* Live (not deleted) labels in image-id order (GPtrArray of QrLabelRecord). */
GPtrArray     *qr_catalog_list_labels      (QrCatalog     *self,
                                            QrLabelFilter  filter,
                                            GError       **error);
/* An image's review state: "reviewed", "skipped" or "unreviewed" (also when never set). */
char          *qr_catalog_get_reviewed     (QrCatalog   *self,
                                            gint64       image_id,
                                            GError     **error);
/* How many review items of an image are still open (no live decision). */
gint64         qr_catalog_count_open_items (QrCatalog   *self,
                                            gint64       image_id,
                                            GError     **error);
/* The image a label is on (deleted or not), -1 (error set) when there is no such label. */
gint64         qr_catalog_get_label_image  (QrCatalog   *self,
                                            gint64       label_id,
                                            GError     **error);
/* Imports (schema 8): each remembered by a digest of what it held. */
typedef struct
{
  gint64  id;
  char   *digest;
  char   *format;
  char   *path;
  gint64  labels;
  gint64  captions;
  gint64  at_us;
} QrImportRecord;

void            qr_import_record_free      (QrImportRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrImportRecord, qr_import_record_free)
/* The imports whose digest is digest, or (digest NULL) whose path is path, newest first. */
GPtrArray      *qr_catalog_find_imports    (QrCatalog   *self,
                                            const char  *digest,
                                            const char  *path,
                                            GError     **error);
gint64          qr_catalog_add_import      (QrCatalog   *self,
                                            const char  *digest,
                                            const char  *format,
                                            const char  *path,
                                            GError     **error);
gboolean        qr_catalog_set_import_counts (QrCatalog *self,
                                            gint64       import_id,
                                            gint64       labels,
                                            gint64       captions,
                                            GError     **error);
/* Soft-deletes the live labels and captions an import stored; how many in *labels, *captions. */
gboolean        qr_catalog_delete_import_data (QrCatalog *self,
                                            gint64       import_id,
                                            gint64      *labels,
                                            gint64      *captions,
                                            GError     **error);
/* Ids of images whose review state is "reviewed". */
GArray        *qr_catalog_list_reviewed_ids (QrCatalog  *self,
                                             GError    **error);
gboolean       qr_catalog_set_label_crowd  (QrCatalog   *self,
                                            gint64       label_id,
                                            gboolean     iscrowd,
                                            GError     **error);
gint64         qr_catalog_add_caption      (QrCatalog   *self,
                                            gint64       image_id,
                                            const char  *text,
                                            const char  *source,
                                            GError     **error);
/* Captions of one image, oldest first (GPtrArray of strings). */
typedef struct
{
  gint64  id;
  gint64  image_id;
  char   *text;
  char   *source;      /* "imported", "typed", "suggested", … */
  gboolean modified;   /* edited since it was added */
} QrCaptionRecord;

void           qr_caption_record_free      (QrCaptionRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrCaptionRecord, qr_caption_record_free)

/* Live captions (not deleted) of an image, or of every image with image_id < 0, in image then
 * insertion order: QrCaptionRecord*. */
GPtrArray     *qr_catalog_list_caption_records (QrCatalog *self,
                                            gint64       image_id,
                                            GError     **error);
QrCaptionRecord *qr_catalog_get_caption    (QrCatalog   *self,
                                            gint64       caption_id,
                                            GError     **error);
gboolean       qr_catalog_set_caption_text (QrCatalog   *self,
                                            gint64       caption_id,
                                            const char  *text,
                                            GError     **error);
/* Deleted softly: undo brings it back. */
gboolean       qr_catalog_set_caption_deleted (QrCatalog *self,
                                            gint64       caption_id,
                                            gboolean     deleted,
                                            GError     **error);
GPtrArray     *qr_catalog_list_captions    (QrCatalog   *self,
                                            gint64       image_id,
                                            GError     **error);

/* Models (peers) and their runs */
typedef struct
{
  gint64  id;
  char   *name;
  char   *kind;
  char   *location;
  gint64  runs;
  gint64  detections;
  int     held_out_fold;   /* -1: the model saw every image in training (as far as Quorum knows) */
  int     n_folds;
  gint64  fold_seed;
} QrModelRecord;

void           qr_model_record_free        (QrModelRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrModelRecord, qr_model_record_free)

GPtrArray     *qr_catalog_list_models      (QrCatalog   *self,
                                            GError     **error);
/* -1 with QR_CATALOG_ERROR_NOT_FOUND when there is none of that name. */
gint64         qr_catalog_find_model       (QrCatalog   *self,
                                            const char  *name,
                                            GError     **error);
/* A peer trained without fold held_out_fold of n_folds (qr_image_fold with seed): in the review it
 * votes only on that fold's images. n_folds 0 clears it. */
gboolean       qr_catalog_set_model_fold   (QrCatalog   *self,
                                            const char  *name,
                                            int          held_out_fold,
                                            int          n_folds,
                                            gint64       seed,
                                            GError     **error);
/* Removes a model with its runs and detections. */
gboolean       qr_catalog_remove_model     (QrCatalog   *self,
                                            const char  *name,
                                            GError     **error);
/* The newest run of a model with these parameters that did not fail; -1 (no error) if none. */
gint64         qr_catalog_find_resumable_run (QrCatalog  *self,
                                              gint64      model_id,
                                              const char *params_json,
                                              GError    **error);
/* Readable images the run has not processed yet, in path order. */
GPtrArray     *qr_catalog_list_images_to_run (QrCatalog  *self,
                                              gint64      run_id,
                                              GError    **error);
gboolean       qr_catalog_mark_run_image   (QrCatalog   *self,
                                            gint64       run_id,
                                            gint64       image_id,
                                            GError     **error);

typedef struct
{
  gint64 id;
  gint64 image_id;
  gint64 class_id;
  float  score;
  QrBox  box;
} QrDetectionRecord;

/* A run's detections in image-id order (GArray of QrDetectionRecord). */
GArray        *qr_catalog_list_detections  (QrCatalog   *self,
                                            gint64       run_id,
                                            GError     **error);
/* The newest run of a model; -1 (no error) if it has none. */
gint64         qr_catalog_latest_run       (QrCatalog   *self,
                                            gint64       model_id,
                                            GError     **error);
/* A run's parameters (JSON as the runner wrote them), NULL (no error) if none. */
char          *qr_catalog_get_run_params   (QrCatalog   *self,
                                            gint64       run_id,
                                            GError     **error);
/* Class id → name (GHashTable of gint64* → char*). */
GHashTable    *qr_catalog_class_names      (QrCatalog   *self,
                                            GError     **error);

/* Label edits: each sets modified_us (corrected labels are exported by that). */
gboolean       qr_catalog_update_label     (QrCatalog   *self,
                                            gint64       label_id,
                                            gint64       class_id,
                                            const QrBox *box,
                                            GError     **error);
gboolean       qr_catalog_undelete_label   (QrCatalog   *self,
                                            gint64       label_id,
                                            GError     **error);
/* A label's class and box as stored (deleted or not). */
gboolean       qr_catalog_get_label        (QrCatalog   *self,
                                            gint64       label_id,
                                            gint64      *class_id,
                                            QrBox       *box,
                                            GError     **error);
/* A detection's image, class and box. */
gboolean       qr_catalog_get_detection    (QrCatalog   *self,
                                            gint64       detection_id,
                                            gint64      *image_id,
                                            gint64      *class_id,
                                            QrBox       *box,
                                            GError     **error);
gboolean       qr_catalog_set_label_detection (QrCatalog *self,
                                            gint64       label_id,
                                            gint64       detection_id,
                                            GError     **error);

/* Badge counts for one image: live labels, detections of the latest run of each model whose
 * score is at least min_score (the viewer's Min Score; rejected ones left out), its highest open
 * review item's score (-1 when it has none) and whether it is marked reviewed. */
typedef struct
{
  gint64   labels;
  gint64   detections;
  double   mistake_score;
  gboolean reviewed;
} QrImageCounts;

gboolean       qr_catalog_count_image_boxes (QrCatalog    *self,
                                             gint64        image_id,
                                             double        min_score,
                                             QrImageCounts *out,
                                             GError      **error);

/* The review queue: peer pressure's items (qr-review.h computes them), each with a key that stays
 * the same when the queue is recomputed, and the decisions taken on them (who, when, undoable). */
typedef struct
{
  gint64  id;
  gint64  image_id;
  char   *item_key;
  char   *kind;              /* missing, spurious, wrong_class, poorly_located, model_mistake */
  double  score;
  gint64  class_id;          /* the consensus class (the label's for spurious) */
  char   *class_name;
  gint64  label_id;          /* -1: none */
  gint64  label_class_id;    /* -1: none */
  char   *label_class_name;
  char   *peer;              /* the dissenting peer of a model mistake */
  QrBox   box;               /* the consensus box, or the label's for spurious */
  char   *votes;             /* JSON object: peer → score, null where the peer abstains */
  gint64  caption_id;        /* caption items: the caption; -1: none */
  char   *reason;            /* caption items: why, in words; NULL otherwise */
} QrMistakeRecord;

void           qr_mistake_record_free      (QrMistakeRecord *record);
QrMistakeRecord *qr_mistake_record_copy    (const QrMistakeRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrMistakeRecord, qr_mistake_record_free)

#define QR_REVIEW_N_KINDS 6
extern const char *const qr_review_kind_names[QR_REVIEW_N_KINDS];
/* The review queue filtered: kind 1..6 (qr_review_kind_names[kind − 1]) or 0 for every kind,
 * class_id a class (the consensus's or the label's) or 0 for every class; images by their best
 * item that the filter keeps. */
GArray        *qr_catalog_list_review      (QrCatalog   *self,
                                            int          kind,
                                            gint64       class_id,
                                            GError     **error);
/* The classes that have open review items (of kind, 0: any), with how many images hold them,
 * most first. */
gboolean       qr_catalog_review_classes   (QrCatalog   *self,
                                            int          kind,
                                            GArray     **ids,
                                            GPtrArray  **names,
                                            GArray     **counts,
                                            GError     **error);
/* Images with open items of each kind, in qr_review_kind_names' order (counts has QR_REVIEW_N_KINDS slots). */
gboolean       qr_catalog_count_review_kinds (QrCatalog *self,
                                            gint64      *counts,
                                            GError     **error);
/* Replaces the queue in one transaction (decisions are kept). records: QrMistakeRecord*. */
gboolean       qr_catalog_replace_mistakes (QrCatalog   *self,
                                            GPtrArray   *records,
                                            GError     **error);
/* Open items (no live decision), highest score first; image_id < 0: every image. */
GPtrArray     *qr_catalog_list_open_mistakes (QrCatalog *self,
                                            gint64       image_id,
                                            GError     **error);
/* decision: accepted, kept, edited or skipped; by the user running Quorum, now. */
gint64         qr_catalog_add_decision     (QrCatalog   *self,
                                            const QrMistakeRecord *item,
                                            const char  *decision,
                                            gint64       label_id,
                                            GError     **error);
/* A model's box rejected in the viewer (R/X): no longer drawn; by whom and when. */
gboolean       qr_catalog_set_detection_rejected (QrCatalog *self,
                                            gint64       detection_id,
                                            gboolean     rejected,
                                            GError     **error);
gboolean       qr_catalog_set_decision_undone (QrCatalog *self,
                                            gint64       decision_id,
                                            gboolean     undone,
                                            GError     **error);

/* What the viewer draws for one image: its live labels and the latest run of each model. */
typedef struct
{
  gint64  id;           /* label or detection id */
  char   *class_name;
  char   *source;       /* "label" or the model's name */
  float   score;        /* 1 for labels */
  QrBox   box;
  gboolean is_label;
} QrOverlayBox;

void           qr_overlay_box_free         (QrOverlayBox *box);
/* GPtrArray of QrOverlayBox: labels first, then detections by model. */
GPtrArray     *qr_catalog_list_overlays    (QrCatalog   *self,
                                            gint64       image_id,
                                            GError     **error);

/* Thumbnails: JPEG bytes whose longer side is max_side, made from the file at source_mtime_us. */
gboolean       qr_catalog_put_thumbnail    (QrCatalog   *self,
                                            gint64       image_id,
                                            int          max_side,
                                            int          width,
                                            int          height,
                                            gint64       source_mtime_us,
                                            GBytes      *jpeg,
                                            GError     **error);
GBytes        *qr_catalog_get_thumbnail    (QrCatalog   *self,
                                            gint64       image_id,
                                            int         *width,
                                            int         *height,
                                            GError     **error);
/* Readable images whose thumbnail is absent, of another size, or older than the file. */
GPtrArray     *qr_catalog_list_missing_thumbnails (QrCatalog  *self,
                                                   int         max_side,
                                                   GError    **error);

/* The caption model (text-models.c). Vectors are stored as float16. */

/* Backbone features of images: set one image's (dim floats), and read every stored one of a
 * backbone: ids (GArray of gint64, by id) and their rows (ids × dim floats, g_free). */
gboolean       qr_catalog_set_image_features (QrCatalog  *self,
                                            gint64       image_id,
                                            const char  *backbone,
                                            const float *features,
                                            int          dim,
                                            GError     **error);
gboolean       qr_catalog_load_image_features (QrCatalog *self,
                                            const char  *backbone,
                                            int          dim,
                                            GArray     **ids,
                                            float      **features,
                                            GError     **error);
/* The length of a backbone's stored features: 0 when none are stored, -1 with an error. */
int            qr_catalog_get_feature_dim  (QrCatalog   *self,
                                            const char  *backbone,
                                            GError     **error);
/* The backbones whose names start with prefix that have stored features (char*), the one with
 * the most images first. */
GPtrArray     *qr_catalog_list_feature_backbones (QrCatalog *self,
                                            const char  *prefix,
                                            GError     **error);
/* How many images have features of backbone; -1 with an error. */
gint64         qr_catalog_count_image_features (QrCatalog *self,
                                            const char  *backbone,
                                            GError     **error);
/* Readable images (state ok) without features of backbone: GArray of gint64. */
GArray        *qr_catalog_images_without_features (QrCatalog *self,
                                            const char  *backbone,
                                            GError     **error);

typedef struct
{
  gint64  id;
  char   *kind;              /* "dmsm" */
  char   *state;             /* training, ready, retired */
  char   *backbone;
  char   *vocabulary_hash;
  gint64  fold_seed;
  int     epoch;             /* finished epochs */
  int     epochs;            /* asked for */
  char   *metrics;           /* JSON: one object per finished epoch */
  GBytes *model;             /* the weights after epoch (NULL before the first) */
  GBytes *trainer;           /* the optimiser's state, for resuming */
  gint64  created_us, updated_us;
} QrTextModelRecord;

void           qr_text_model_record_free   (QrTextModelRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrTextModelRecord, qr_text_model_record_free)

/* A new training run (state training, epoch 0): its id. */
gint64         qr_catalog_add_text_model   (QrCatalog   *self,
                                            const char  *kind,
                                            const char  *backbone,
                                            const char  *vocabulary_hash,
                                            gint64       fold_seed,
                                            int          epochs,
                                            GError     **error);
/* An epoch finished: its weights, optimiser state and metrics replace the last, in one write. */
gboolean       qr_catalog_save_text_model_epoch (QrCatalog *self,
                                            gint64       model_id,
                                            int          epoch,
                                            const char  *metrics,
                                            GBytes      *model,
                                            GBytes      *trainer,
                                            GError     **error);
/* Training done: the model becomes the one in use, in one transaction with its image embeddings
 * (ids, ids × dim floats); the kind's older models are retired, their weights and embeddings
 * dropped (their metrics kept). */
gboolean       qr_catalog_finish_text_model (QrCatalog  *self,
                                            gint64       model_id,
                                            GArray      *ids,
                                            const float *embeddings,
                                            int          dim,
                                            GError     **error);
/* The model of kind in use: the newest ready one; with none, the newest training run with a
 * finished epoch (a killed run stays usable). NULL (no error) when there is none. */
QrTextModelRecord *qr_catalog_get_text_model (QrCatalog *self,
                                            const char  *kind,
                                            GError     **error);
/* The newest unfinished training run of kind (to resume), NULL (no error) when none. */
QrTextModelRecord *qr_catalog_get_unfinished_text_model (QrCatalog *self,
                                            const char  *kind,
                                            GError     **error);
/* A model's stored image embeddings: FALSE with no error and *ids NULL when it has none. */
gboolean       qr_catalog_load_image_embeddings (QrCatalog *self,
                                            gint64       model_id,
                                            int          dim,
                                            GArray     **ids,
                                            float      **embeddings,
                                            GError     **error);

/* Sharded runs (merge.c) */

typedef struct
{
  gint64 images_added;       /* images the collection's catalog did not have */
  gint64 models_added;
  gint64 runs_added;         /* runs made for (model, parameters) not merged before */
  gint64 run_images_added;   /* images done by a run, newly merged */
  gint64 detections_added;
} QrMergeStats;

/* A shard's catalog (peers run --shard K/N) into this one, in one transaction: its images,
 * classes and models the collection lacks, and its runs' finished images with their boxes — every
 * shard's run of a model with the same parameters into one run here. Merging again adds only what
 * the shard did since. Refused, with the reason and nothing written: a damaged file, a newer schema,
 * an image of the same path with other bytes, a model of the same name that is another model. The
 * review queue is the caller's to update. */
gboolean       qr_catalog_merge_shard      (QrCatalog    *self,
                                            const char   *path,
                                            QrMergeStats *stats,
                                            GError      **error);

G_END_DECLS
