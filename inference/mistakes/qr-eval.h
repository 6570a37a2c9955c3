/* qr-eval.h: detection quality against labels, COCO style: average precision per class at one IoU
 * threshold (101-point interpolated precision envelope), averaged over IoU 0.5:0.05:0.95 for
 * AP@[.5:.95]; precision and recall at a score threshold; and how often two peers agree. */
#pragma once

#include <glib.h>
#include "qr-peers.h"

G_BEGIN_DECLS

/* One image's boxes: a model's (peer field ignored) and the labels. */
typedef struct
{
  const QrPeerBox  *boxes;
  guint             n_boxes;
  const QrLabelBox *labels;
  guint             n_labels;
} QrEvalImage;

typedef struct
{
  int    class_id;
  guint  n_labels;      /* ground-truth boxes of the class */
  double ap50;
  double ap50_95;
  double precision;     /* at the score threshold, IoU 0.5 */
  double recall;
} QrClassEval;

/* A GArray of QrClassEval, one per class that has labels, by class id. */
GArray *qr_evaluate          (const QrEvalImage *images,
                              guint              n_images,
                              float              score_threshold);
/* AP of a class at one IoU threshold (exposed for tests). */
double  qr_average_precision (const QrEvalImage *images,
                              guint              n_images,
                              int                class_id,
                              float              iou_threshold);
/* The share of a's boxes (score ≥ threshold) that b also found (same class, IoU ≥ 0.5). */
double  qr_peer_agreement    (const QrEvalImage *a,
                              const QrEvalImage *b,
                              guint              n_images,
                              float              score_threshold);

G_END_DECLS
