/* qr-evaluation.h: each peer's newest run against a collection's labels (reviewed images', or
 * all), with the peers' agreement and the label-mistake scores peer pressure gives — what `quorum
 * eval` prints and the app's Evaluation window plots. */
#pragma once

#include "qr-catalog.h"
#include "qr-eval.h"

G_BEGIN_DECLS

typedef struct
{
  GPtrArray *peer_names;   /* char* */
  guint      n_images;     /* images under evaluation */
  double    *map50, *map50_95, *precision, *recall;   /* per peer, means over classes */
  GPtrArray *per_class;    /* per peer: GArray of QrClassEval */
  double    *agreement;    /* n × n: row's boxes that the column also found */
  guint      histogram[10];  /* label-mistake scores in tenths */
  guint      n_items;
  GHashTable *class_names; /* class id → name */
} QrCollectionEval;

/* An error when there are no labels of that kind or no peer has run. */
QrCollectionEval *qr_collection_evaluate (QrCatalog *catalog,
                                          gboolean   all_labels,
                                          double     score_threshold,
                                          GError   **error);
void              qr_collection_eval_free (QrCollectionEval *eval);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrCollectionEval, qr_collection_eval_free)

G_END_DECLS
