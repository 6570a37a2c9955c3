/* qr-vectors.h: exact nearest-vector search over stored embeddings: one matrix–vector product over
 * a float16 matrix (as the catalog stores it) and a top-k, on every core. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The k rows of matrix (n × dim, IEEE half) with the largest dot product with query (dim
 * floats), best first: their indices and scores. Returns how many (min (k, n)). */
guint qr_vectors_top_k (const guint16 *matrix,
                        gsize          n,
                        int            dim,
                        const float   *query,
                        guint          k,
                        gsize         *rows,
                        float         *scores);

G_END_DECLS
