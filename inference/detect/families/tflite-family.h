/* tflite-family.h: what the TFLite anchor detectors (the SSD, BlazeFace) share: a graph with one
 * RGB NHWC input and two outputs, boxes [anchors, 4 or 16] and scores [anchors, classes], offsets
 * from a fixed set of anchors, values −1..1. */
#pragma once

#include "detector-private.h"

typedef struct
{
  float cx, cy, w, h;   /* normalised to the input */
} QrAnchor;

/* The family's data. */
typedef struct
{
  GArray *anchors;      /* QrAnchor, set by the family */
  char   *boxes_output;
  char   *scores_output;
  int     coords;       /* values per box: 4, or 16 with keypoints */
  int     n_anchors;
  int     n_classes;    /* score columns, a background included */
} QrTfliteAnchors;

/* Loads path's graph, binds it and finds its two outputs (self->data: a QrTfliteAnchors). */
gboolean qr_tflite_family_load    (QrDetector       *self,
                                   const char       *path,
                                   GError          **error);
void     qr_tflite_family_free    (gpointer          data);
/* The error for a TFLite model of neither known shape (a family's NOT_MINE). */
void     qr_tflite_family_unknown (QrDetector       *self,
                                   const char       *path,
                                   GError          **error);
void     qr_tflite_family_write_input (const QrDetector *self,
                                   const QrImage    *fitted,
                                   int               x0,
                                   int               y0,
                                   float            *input);
/* An anchor's box (centre and size, normalised to the input) from its raw values t. */
typedef void (*QrAnchorBoxFunc) (const QrDetector *self, const QrAnchor *anchor, const float *t, float *cx, float *cy,
                                 float *w, float *h);
/* Every anchor's boxes, one per class from first (the SSD's class 0 is the background): score
 * σ(clip (logit, ±100)), the box from box_of, kept above the threshold. */
void     qr_tflite_family_decode  (const QrDetector *self,
                                   const QrDecode   *dec,
                                   int               first,
                                   QrAnchorBoxFunc   box_of,
                                   GArray           *out);
