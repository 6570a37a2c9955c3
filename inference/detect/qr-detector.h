/* qr-detector.h: object detectors built on the engine: a model file plus the pre- and
 * post-processing its family needs (CenterNet's heatmap peaks, NanoDet's distribution boxes,
 * YOLO's heads, the anchors of the SSD and BlazeFace), giving boxes in the original image's
 * pixels. Each family is one file in detect/families/ (detector-private.h says what one holds). */
#pragma once

#include <glib.h>
#include "qr-engine.h"
#include "qr-image.h"

G_BEGIN_DECLS

typedef struct
{
  int   class_id;
  float score;
  float x1, y1, x2, y2;   /* original image pixels */
} QrDetection;

typedef struct
{
  float score_threshold;  /* default 0.25 */
  float nms_iou;          /* per-class NMS; default 0.5 */
  int   max_detections;   /* default 100 */
  int   n_threads;        /* 0: one per core */
  gboolean flip;          /* a test-time variant: detect on the mirrored image, boxes mirrored back */
  QrDevice device;        /* default AUTO (qr-engine.h) */
  QrPrecision precision;  /* on CUDA; default FP16 */
} QrDetectorOptions;

typedef struct _QrDetector QrDetector;

void          qr_detector_options_init     (QrDetectorOptions *options);
/* Loads a detector: a TF.js model.json (CenterNet or NanoDet, recognised from the graph), a
 * Darknet model given by its .cfg or .weights (the other beside it with the same stem; class
 * names from STEM.names or coco.names beside it, else COCO's when it has 80 classes), or a .tflite
 * SSD (class names from a .labels file beside it whose stem begins the model's) or BlazeFace.
 * Class names pass through the class map (qr-class-map.h). */
QrDetector   *qr_detector_load             (const char               *path,
                                            const QrDetectorOptions  *options,
                                            GError                  **error);
void          qr_detector_free             (QrDetector               *self);
/* The family that read the model: "centernet", "nanodet", "yolo" (Darknet), "ssd", "blazeface". */
const char   *qr_detector_get_family       (QrDetector               *self);
const char   *qr_detector_get_name         (QrDetector               *self);
/* The file format it was loaded from: "tfjs", "darknet" or "tflite". */
const char   *qr_detector_get_format       (QrDetector               *self);
int           qr_detector_get_n_classes    (QrDetector               *self);
const char   *qr_detector_get_class_name   (QrDetector               *self,
                                            int                       class_id);
QrModel      *qr_detector_get_model        (QrDetector               *self);
/* The model's input width (and height, for the square COCO models). */
int           qr_detector_get_input_size   (QrDetector               *self);
void          qr_detector_get_input_dims   (QrDetector               *self,
                                            int                      *width,
                                            int                      *height);
/* The longer side of the input: the smallest an image may be decoded at (qr_image_load's
 * min_side_hint) without losing what the network sees; 0 (whole) when QUORUM_DECODE_SCALE=0. */
int           qr_detector_get_decode_side  (QrDetector               *self);
/* Boxes found on image, a decode at a reduced size (its full_width × full_height), scaled to the
 * full image's pixels; nothing to do for an image decoded whole. */
void          qr_detections_to_full        (GArray                   *detections,
                                            const QrImage            *image);

/* Fills the model input (float32, the model's layout) from an oriented RGB image; returns the
 * scale from image to input pixels. CenterNet and NanoDet: fitted top-left, the rest zero;
 * YOLO: Darknet's letterbox (centred, the rest 0.5, values 0..1). */
float         qr_detector_preprocess       (QrDetector               *self,
                                            const QrImage            *image,
                                            float                    *input);
/* Runs the model and decodes: a GArray of QrDetection, best first. */
GArray       *qr_detector_detect           (QrDetector               *self,
                                            const QrImage            *image,
                                            QrAbortFunc               abort,
                                            gpointer                  abort_data,
                                            GError                  **error);
/* n images in one run of the model (one batch): a GPtrArray of n GArrays of QrDetection, in the
 * images' order. The heatmap afterwards is the first image's. */
GPtrArray    *qr_detector_detect_batch     (QrDetector               *self,
                                            const QrImage *const     *images,
                                            int                       n,
                                            QrAbortFunc               abort,
                                            gpointer                  abort_data,
                                            GError                  **error);
/* Where the last detect's time went, in ms: preparing the inputs on the CPU (resizing, and on
 * the CPU backend converting), the network (upload, run, download) and decoding (+ NMS). */
void          qr_detector_get_timings      (QrDetector               *self,
                                            double                   *prepare_ms,
                                            double                   *network_ms,
                                            double                   *decode_ms);
/* After a detect: the class-score heatmap (rows × cols × classes, scores in 0..1) and the scale
 * from image pixels to heatmap cells. NanoDet gives its stride-8 map. */
const float  *qr_detector_get_heatmap      (QrDetector               *self,
                                            int                      *rows,
                                            int                      *cols,
                                            int                      *classes,
                                            float                    *image_to_cell);

/* COCO's 80 class names in the order the COCO-80 detectors use. */
const char   *qr_coco_class_name           (int                       class_id);

/* Greedy per-class NMS, in place; detections sorted best first. */
void          qr_detections_nms            (GArray                   *detections,
                                            float                     iou);
/* The same with Darknet's DIoU criterion: a box goes when IoU − (d² / c²)^beta > iou, d the
 * centres' distance and c the diagonal of the smallest box around both. */
void          qr_detections_nms_diou       (GArray                   *detections,
                                            float                     iou,
                                            float                     beta);
float         qr_box_iou                   (const QrDetection        *a,
                                            const QrDetection        *b);

/* Model files (model-files.c). The folder where the user's models live (default
 * $XDG_DATA_HOME/quorum/models); the app sets it from its preferences. Thread-safe. */
void          qr_set_models_folder         (const char               *dir);
char         *qr_get_models_folder         (void);
/* The names of the detectors that can be found (that folder, $QUORUM_MODELS_DIR, the shared
 * models beside the source tree): every family's files (a Darknet cfg with its weights); sorted. */
GPtrArray    *qr_list_models               (void);
/* Where a model name (centernet, nanodet, a file stem) is: the user's models folder, then
 * $QUORUM_MODELS_DIR, then beside the source tree (../shared/models/pretrained, for developers).
 * A path is returned as it is. */
char         *qr_find_model                (const char               *name,
                                            GError                  **error);
/* The name a model is known by from its name or path: the file's stem, or for a file called
 * model.json the folder's name. */
char         *qr_model_name_from_path      (const char               *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrDetector, qr_detector_free)

G_END_DECLS
