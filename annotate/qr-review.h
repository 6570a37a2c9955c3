/* qr-review.h: the review queue computed from a catalog: each peer's newest run and the live
 * labels, scored image by image with peer pressure (qr-peers.h). Peers that lack a class (their
 * runs record the classes they have) abstain on it. The CLI prints the queue; the app stores it
 * (qr_catalog_replace_mistakes) and takes decisions on it. */
#pragma once

#include "qr-catalog.h"
#include "qr-peers.h"

G_BEGIN_DECLS

typedef struct
{
  QrMistake mistake;
  gint64    image_id;
} QrReviewItem;

typedef struct
{
  GPtrArray  *peer_names;    /* char*, in the order of the mistakes' votes */
  GArray     *items;         /* QrReviewItem, highest score first */
  GHashTable *class_names;   /* catalog class id (gint64*) → name */
} QrReview;

/* peers: model names to use (NULL: every model that has a run). An error when none has run. */
QrReview *qr_review_compute      (QrCatalog          *catalog,
                                  const char *const  *peers,
                                  GError            **error);
void      qr_review_free         (QrReview           *review);
/* What identifies an item across recomputations: its kind and image, then the label it is about,
 * or (without a label) the class, the box to 16 pixels and the dissenting peer. */
char     *qr_review_item_key     (QrReview           *review,
                                  const QrReviewItem *item);
/* The peers' votes as a JSON object, null for an abstaining peer. */
char     *qr_review_votes_json   (QrReview           *review,
                                  const QrMistake    *mistake);
/* Items scoring under these are not stored: the queue is for a person's time. A model mistake
 * needs a consensus as strong as peer pressure asks of an object (0.3): with few peers, every box
 * one of them alone saw is a weak model mistake. */
#define QR_REVIEW_MIN_SCORE 0.1
#define QR_REVIEW_MIN_MODEL_SCORE 0.3
/* Caption items (annotate/text/captions.c) from this score on. */
#define QR_REVIEW_MIN_CAPTION_SCORE 0.3

/* Computes and stores the queue in the catalog; returns how many items it holds, -1 on error. */
gint64    qr_review_update       (QrCatalog          *catalog,
                                  const char *const  *peers,
                                  GError            **error);

/* The objects the peers agree on, image by image (for the image–text scorers). */
typedef struct
{
  GPtrArray  *peer_names;
  GHashTable *class_names;   /* catalog class id (gint64*) → name */
  GHashTable *objects;       /* image id (gint64*) → GArray of QrConsensus; images no peer saw
                                anything in are absent */
} QrConsensusSet;

QrConsensusSet *qr_review_consensus   (QrCatalog          *catalog,
                                       const char *const  *peers,
                                       GError            **error);
void            qr_consensus_set_free (QrConsensusSet     *set);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrReview, qr_review_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrConsensusSet, qr_consensus_set_free)

G_END_DECLS
