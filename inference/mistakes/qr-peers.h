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
  float         votes[QR_PEERS_MAX]; /* each peer's score for this object (0: did not see it; −1: the
                                       peer abstains, it has no such class) */
} QrMistake;

typedef struct
{
  float match_iou;      /* boxes of one object: IoU at least this (0.5) */
  float locate_iou;     /* label and consensus overlap at least this to be the same object (0.3) */
  float min_consensus;  /* objects whose consensus is weaker are not reported (0.3) */
  /* Whether a peer has a class at all (a 24-class Open Images peer has no "giraffe"): a peer that
   * lacks an object's class abstains, neither agreeing nor dissenting. NULL: every peer has every
   * class. */
  gboolean (*knows) (int peer, int class_id, gpointer data);
  gpointer knows_data;
} QrPeerOptions;

void    qr_peer_options_init  (QrPeerOptions *options);

/* Scores one image: a GArray of QrMistake, highest score first. */
GArray *qr_peer_pressure      (const QrPeerBox     *boxes,
                               guint                n_boxes,
                               int                  n_peers,
                               const QrLabelBox    *labels,
                               guint                n_labels,
                               const QrPeerOptions *options);

/* An object the peers agree on: a cluster of their boxes with its consensus strength. */
typedef struct
{
  int   class_id;
  float strength;              /* K = m (1 − σ) over the peers that vote; 0 with fewer than two */
  float x1, y1, x2, y2;        /* the score-weighted mean box */
  int   n_seen;                /* peers with a box in it */
} QrConsensus;

/* The clusters peer pressure scores, for one image: a GArray of QrConsensus, in no order. */
GArray *qr_peer_consensus     (const QrPeerBox     *boxes,
                               guint                n_boxes,
                               int                  n_peers,
                               const QrPeerOptions *options);

G_END_DECLS

G_BEGIN_DECLS

/* Single-model baselines, from their published formulas, fed by one model's boxes (peer 0).
 * Scores are "how likely a mistake" in [0, 1]; items use the same QrMistake records.
 *
 * FiftyOne's mistakenness (fiftyone.brain compute_mistakenness, detections, confidences): labels
 * and predictions are matched class-agnostically at IoU ≥ 0.5; a matched pair of different classes
 * scores (1 + c)/2 (wrong class), of the same class (1 − c)/2 for the class and, for localisation,
 * (c (2i − 1) + 1)/2 with i = (1 − IoU)/(1 − 0.5); an unmatched label is "possibly spurious" (1);
 * an unmatched prediction with c above the missing threshold (FiftyOne: 0.95) is "possibly missing"
 * (c).
 *
 * Cleanlab's ObjectLab (cleanlab.object_detection.rank): similarity
 * s = 0.9 · IoU + 0.1 · exp (−0.1 · centre distance); overlooked (per prediction with p above the
 * high threshold): best same-class similarity to a label, or min_s · (1 − p) with no such label;
 * swap (per label): 1 − the best similarity to another-class prediction above the high threshold
 * (at least min_s), 1 with none; bad location (per label): the best similarity to a same-class
 * prediction above the low threshold, min_s with none. These are qualities; mistake = 1 − quality.
 *
 * Confidence: a label scores 1 − the best same-class confidence overlapping it (IoU ≥ 0.5); a
 * prediction no label matches scores its confidence. */
typedef struct
{
  float high_threshold;   /* FiftyOne's missing / ObjectLab's high threshold (their defaults 0.95) */
  float low_threshold;    /* ObjectLab's low threshold (0.1) */
  float min_similarity;   /* ObjectLab's smallest similarity (computed over the data set by ObjectLab) */
} QrBaselineOptions;

void    qr_baseline_options_init (QrBaselineOptions *options);
GArray *qr_baseline_fiftyone     (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels,
                                  const QrBaselineOptions *options);
GArray *qr_baseline_objectlab    (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels,
                                  const QrBaselineOptions *options);
GArray *qr_baseline_confidence   (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels);

G_END_DECLS
