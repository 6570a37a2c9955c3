/* nms.c: non-maximum suppression, greedy and per class, with plain IoU or Darknet's DIoU. */
#define G_LOG_DOMAIN "quorum-detect"

#include "qr-detector.h"
#include "qr-box.h"

#include <math.h>

float
qr_box_iou (const QrDetection *a, const QrDetection *b)
{
  return qr_iou_xyxy (a->x1, a->y1, a->x2, a->y2, b->x1, b->y1, b->x2, b->y2);
}

static int
by_score (gconstpointer a, gconstpointer b)
{
  float sa = ((const QrDetection *) a)->score, sb = ((const QrDetection *) b)->score;
  return sa < sb ? 1 : sa > sb ? -1 : 0;
}

/* Darknet's DIoU: IoU − (d² / c²)^beta, d the centres' distance, c the enclosing box's diagonal. */
static float
diou (const QrDetection *k, const QrDetection *d, float beta)
{
  float cw = fmaxf (k->x2, d->x2) - fminf (k->x1, d->x1), ch = fmaxf (k->y2, d->y2) - fminf (k->y1, d->y1);
  float c = cw * cw + ch * ch, dx = (k->x1 + k->x2 - d->x1 - d->x2) / 2, dy = (k->y1 + k->y2 - d->y1 - d->y2) / 2;
  float overlap = qr_box_iou (k, d);
  return c > 0 ? overlap - powf ((dx * dx + dy * dy) / c, beta) : overlap;
}

/* Greedy per-class NMS, best first; beta < 0: plain IoU, else DIoU. */
static void
nms (GArray *detections, float iou, float beta)
{
  guint kept = 0;

  g_array_sort (detections, by_score);
  for (guint i = 0; i < detections->len; i++)
    {
      QrDetection *d = &g_array_index (detections, QrDetection, i);
      gboolean keep = TRUE;
      for (guint j = 0; j < kept && keep; j++)
        {
          QrDetection *k = &g_array_index (detections, QrDetection, j);
          if (k->class_id == d->class_id && (beta < 0 ? qr_box_iou (k, d) : diou (k, d, beta)) > iou)
            keep = FALSE;
        }
      if (keep)
        g_array_index (detections, QrDetection, kept++) = *d;
    }
  g_array_set_size (detections, kept);
}

void
qr_detections_nms (GArray *detections, float iou)
{
  nms (detections, iou, -1);
}

void
qr_detections_nms_diou (GArray *detections, float iou, float beta)
{
  nms (detections, iou, MAX (beta, 0.0f));
}
