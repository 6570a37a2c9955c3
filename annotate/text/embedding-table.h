/* embedding-table.h: the stored image embeddings an embedding scorer (the caption model's, CLIP's)
 * searches: each image's unit vector kept as float16 (a search reads half the bytes), its row by
 * image id, a score as one cosine and a search as one product over every row and a top-k
 * (qr_vectors_top_k). Private to annotate/text. */
#pragma once

#include "qr-scorer.h"

typedef struct
{
  GArray     *ids;          /* images with an embedding, by row */
  guint16    *embeddings;   /* ids × dim, float16 */
  GHashTable *row_of;       /* image id → row + 1 */
  int         dim;
} QrEmbeddingTable;

/* Takes ids; floats holds ids->len × dim values, kept as float16. */
void     qr_embedding_table_init   (QrEmbeddingTable *table,
                                    GArray           *ids,
                                    const float      *floats,
                                    int               dim);
void     qr_embedding_table_clear  (QrEmbeddingTable *table);
/* Copies the image's embedding (dim floats) to out; FALSE when it has none. */
gboolean qr_embedding_table_get    (const QrEmbeddingTable *table,
                                    gint64            image_id,
                                    float            *out);
/* The cosine of the text's unit vector with the image's, explained as "cosine X" to `decimals`
 * places; an image with none is unscored, explained by `missing`. */
void     qr_embedding_table_score  (const QrEmbeddingTable *table,
                                    const float      *text,
                                    gint64            image_id,
                                    int               decimals,
                                    const char       *missing,
                                    QrScore          *out);
/* The top images (all when top is 0) for the vector, best first (qr-scorer.h's QrSearchHit). */
GArray  *qr_embedding_table_search (const QrEmbeddingTable *table,
                                    const float      *vector,
                                    guint             top,
                                    int               decimals,
                                    GCancellable     *cancellable,
                                    GError          **error);
/* For n texts' unit vectors (n × dim), each with its own image: where that image stands among the
 * stored ones (qr_vectors_rank_own); unscored where it has no embedding. */
void     qr_embedding_table_rank_own (const QrEmbeddingTable *table,
                                      const float     *const *texts,
                                      const gint64     *own,
                                      guint             n,
                                      QrOwnImageRank   *out);
