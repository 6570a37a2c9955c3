/* Box geometry shared by detection post-processing, peer pressure, the baselines and evaluation. */
#pragma once

#include <glib.h>

/* Intersection over union of two boxes given as corners (x1 ≤ x2, y1 ≤ y2); 0 when they do not
 * overlap or both are empty. */
static inline float
qr_iou_xyxy (float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2)
{
  float ix = MIN (ax2, bx2) - MAX (ax1, bx1), iy = MIN (ay2, by2) - MAX (ay1, by1), inter, uni;

  if (ix <= 0 || iy <= 0)
    return 0;
  inter = ix * iy;
  uni = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return uni > 0 ? inter / uni : 0;
}
