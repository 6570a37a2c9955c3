/* detector-private.h: what a detector family sees of a detector. A family (a file in families/)
 * is a static QrDetectorFamily: how it loads its model file and what it keeps from it, where an image
 * goes in the input and how pixels become input values, how one image's outputs decode into
 * boxes, its NMS and its heatmap. detector.c loads through the family table (families.h), batch.c
 * runs any family; neither knows one family from another. */
#pragma once

#include "qr-detector.h"
#include "engine-private.h"

#include <math.h>

G_BEGIN_DECLS

typedef struct _QrDetectorFamily QrDetectorFamily;

/* Where an image landed in the input: its scale (x and y) and the border before it. Preparing an
 * image writes only this and the input, so the images of a batch are prepared in parallel. */
typedef struct
{
  float scale, scale_x, scale_y, pad_x, pad_y;
} QrFit;

/* What decoding one batch item needs besides the model's outputs: its place in the batch and
 * its fit. Items decode in parallel, each with its own. */
typedef struct
{
  int   item;
  QrFit fit;
} QrDecode;

struct _QrDetector
{
  const QrDetectorFamily *family;
  gpointer                data;           /* the family's own (free_data frees it) */
  QrModel                *model;
  QrDetectorOptions       options;
  int                     input_w, input_h;
  int                     input_size;     /* input_w: the square COCO models' side */
  float                  *input;
  char                  **names;          /* n_classes names; NULL: COCO's */
  int                     n_classes;
  char                   *name;           /* the model's name (qr_detector_get_name) */
  float                  *batch_input;    /* inputs of a batch of more than one */
  int                     batch_capacity;
  gint64                  prepare_us, network_us, decode_us;   /* of the last detect */
  QrFit                   fit;            /* where the last detect's (first) image landed */
  /* a heatmap a family makes on demand (YOLO), kept until the next detect */
  float                  *heat;
  int                     heat_rows, heat_cols;
  float                   heat_to_cell;
  gboolean                heat_stale;     /* heat is yet to be made for the last detect */
};

typedef enum
{
  QR_FAMILY_LOADED,
  QR_FAMILY_NOT_MINE,   /* the file is another family's (error says why, for when none takes it) */
  QR_FAMILY_FAILED,
} QrFamilyMatch;

struct _QrDetectorFamily
{
  const char          *id;          /* qr_detector_get_family */
  const char          *format;      /* the model file's format: "tfjs", "darknet", "tflite" */
  /* The file endings the family reads (NULL-terminated), the first the one a model is found by
   * (qr_find_model); companion: a file that must stand beside it with the same stem, and that
   * names the model too (Darknet's .weights); any_file: it also reads files whose ending no
   * family claims (TF.js model.json files are often named otherwise). */
  const char *const   *suffixes;
  const char          *companion;
  gboolean             any_file;
  /* Loads path: the model (qr_detector_take_graph), names, name and the family's data. Families
   * that share a suffix are tried in the table's order. */
  QrFamilyMatch      (*load)        (QrDetector *self, const char *path, GError **error);
  void               (*free_data)   (gpointer data);
  /* Where an image goes: the size it is resized to and its top-left corner in the input. */
  void               (*place)       (const QrDetector *self, const QrImage *image, int *w, int *h, int *x0,
                                     int *y0);
  /* The CPU's writer: the resized image into input at (x0, y0), the rest filled. */
  void               (*write_input) (const QrDetector *self, const QrImage *fitted, int x0, int y0, float *input);
  /* The same values for a backend that places 8-bit images itself. */
  QrInputFormat        input_format;
  /* One item's boxes (image pixels of the placed image, before clamping) into out. */
  void               (*decode)      (const QrDetector *self, const QrDecode *dec, GArray *out);
  /* NULL: greedy per class at options.nms_iou. */
  void               (*nms)         (const QrDetector *self, GArray *detections);
  /* The last detect's class scores (rows × cols × classes) and the image-to-cell scale; NULL:
   * the family has no heatmap (anchors of several sizes share no one grid). */
  const float       *(*heatmap)     (QrDetector *self, int *rows, int *cols, int *classes, float *image_to_cell);
  /* Before each run: asks the model for the part of its outputs decoding reads (a keypoint
   * family's peaks, qr_model_set_peaks; a grid family's rows above the threshold,
   * qr_model_select_rows), which on CUDA is all that comes down. NULL: the outputs whole. */
  gboolean           (*ask_outputs) (QrDetector *self, GError **error);
};

/* The families in the order loading tries them. */
extern const QrDetectorFamily *const qr_detector_families[];
extern const guint qr_detector_n_families;

/* Binds graph (taken) to a model on the options' device and sets the input's size. */
gboolean      qr_detector_take_graph     (QrDetector        *self,
                                          QrGraph           *graph,
                                          int                input_w,
                                          int                input_h,
                                          GError           **error);
/* One class name per line (blank lines skipped), each through the class map; NULL when the file
 * is missing or has another number of names. */
char        **qr_detector_read_names     (const char        *path,
                                          int                expected);
/* "class 0", "class 1", … */
char        **qr_detector_numbered_names (int                n);
/* An output of the batch item being decoded (outputs are batch-major). */
const float  *qr_detector_item_output    (const QrDetector  *self,
                                          const QrDecode    *dec,
                                          const char        *name,
                                          int               *rank,
                                          int               *dims);
/* Fitted into the input's top-left corner, aspect kept (CenterNet, NanoDet). */
void          qr_detector_place_top_left (const QrDetector  *self,
                                          const QrImage     *image,
                                          int               *w,
                                          int               *h,
                                          int               *x0,
                                          int               *y0);

static inline float
qr_sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

G_END_DECLS
