/* qr-peers.h: peer pressure (Baluja, Covell, Sukthankar, "The Virtues of Peer Pressure: A Simple
 * Method for Discovering High-Value Mistakes", CAIP 2015) for object detection: several peers'
 * boxes on one image are clustered, and where the others agree confidently and one peer — or the
 * human label — says otherwise, that is scored as a likely mistake. Pure computation, no I/O. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QR_PEERS_MAX 16

typedef struct
{
  int   peer;        /* 0 .. n_peers − 1 */
  int   class_id;    /* in one label space shared by peers and labels */
  float score;
  float x1, y1, x2, y2;
} QrPeerBox;

typedef struct
{
  gint64 label_id;
  int    class_id;
  float  x1, y1, x2, y2;
} QrLabelBox;

typedef enum
{
  QR_MISTAKE_MODEL,           /* one peer dissents from a confident consensus */
  QR_MISTAKE_MISSING,         /* a confident consensus object with no label */
  QR_MISTAKE_SPURIOUS,        /* a label no peer supports */
  QR_MISTAKE_WRONG_CLASS,     /* the consensus says another class */
  QR_MISTAKE_POORLY_LOCATED,  /* the consensus box overlaps the label well under 1 */
} QrMistakeKind;

const char *qr_mistake_kind_to_string (QrMistakeKind kind);
gboolean    qr_mistake_kind_from_string (const char *name,
                                         QrMistakeKind *kind);

typedef struct
{
  QrMistakeKind kind;
  float         score;             /* in [0, 1]; higher is more likely a mistake */
  int           class_id;          /* the consensus class (missing, wrong class, model), else the label's */
  int           label_class_id;    /* the label's class, -1 when no label is involved */
  gint64        label_id;          /* -1 when no label is involved */
  int           peer;              /* the dissenting peer (model mistakes), else -1 */
  float         x1, y1, x2, y2;    /* the consensus box, or the label's for spurious labels */
  float         votes[QR_PEERS_MAX]; /* each peer's score for this object (0: did not see it) */
} QrMistake;

typedef struct
{
  float match_iou;      /* boxes of one object: IoU at least this (0.5) */
  float locate_iou;     /* label and consensus overlap at least this to be the same object (0.3) */
  float min_consensus;  /* objects whose consensus is weaker are not reported (0.3) */
} QrPeerOptions;

void    qr_peer_options_init  (QrPeerOptions *options);

/* Scores one image: a GArray of QrMistake, highest score first. */
GArray *qr_peer_pressure      (const QrPeerBox     *boxes,
                               guint                n_boxes,
                               int                  n_peers,
                               const QrLabelBox    *labels,
                               guint                n_labels,
                               const QrPeerOptions *options);

G_END_DECLS
