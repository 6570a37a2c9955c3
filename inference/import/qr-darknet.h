/* qr-darknet.h: Darknet networks (a .cfg and its .weights) imported into the engine's graph, and
 * what the YOLO decoders need to know about their heads. */
#pragma once

#include "qr-engine.h"

G_BEGIN_DECLS

typedef enum
{
  QR_DARKNET_NMS_GREEDY,
  QR_DARKNET_NMS_DIOU,
} QrDarknetNms;

/* One [yolo] or [region] layer: its input is a graph output, NHWC, with channels laid out as
 * anchor-major blocks of (x, y, w, h, objectness, classes…). */
typedef struct
{
  char        *output;        /* the graph output's tensor name */
  gboolean     region;        /* YOLOv2's [region]: anchors in grid cells, softmax over classes */
  int          classes;
  int          n_anchors;     /* the anchors this head predicts (its mask) */
  float        anchors[2 * 16];  /* w, h per anchor: input pixels ([yolo]) or grid cells ([region]) */
  float        scale_x_y;
  gboolean     new_coords;    /* scaled-YOLOv4 / YOLOv7 boxes: no sigmoid here, w = 4 t² anchor */
  QrDarknetNms nms;
  float        beta_nms;
} QrDarknetHead;

typedef struct
{
  int            width, height, channels;
  int            n_heads;
  QrDarknetHead  heads[8];
} QrDarknetInfo;

void     qr_darknet_info_clear (QrDarknetInfo *info);

/* Imports cfg + weights. info (optional) receives the heads. */
QrGraph *qr_graph_load_darknet (const char     *cfg_path,
                                const char     *weights_path,
                                int             width,
                                int             height,
                                QrDarknetInfo  *info,
                                GError        **error);

/* Writes a weights file for cfg_path filled with seeded random values of sensible magnitude
 * (He-scaled convolutions, batch-norm statistics near identity), for tests and benchmarks:
 * Darknet weights are not shipped. */
gboolean qr_darknet_write_random_weights (const char  *cfg_path,
                                          const char  *weights_path,
                                          guint32      seed,
                                          GError     **error);

G_END_DECLS
