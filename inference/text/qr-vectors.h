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

/* Where a query's own row stands among all rows: what a caption's "far from its own image" verdict
 * needs. Scores within QR_VECTORS_TIE of the own row's (relative, for scores past 1) count as
 * ties, not ahead: a duplicate image's embedding equals its own, whatever the order of the sums. */
typedef struct
{
  float  own;        /* the own row's score */
  guint  ahead;      /* other rows scoring above it */
  gssize best_row;   /* the highest of those (the first such row on ties); -1 when none */
  float  best;
} QrOwnRank;

#define QR_VECTORS_TIE 1e-5f

/* For q queries (q × dim floats), query i's own row own_rows[i] (< n) of matrix (n × dim, IEEE
 * half): its rank among all rows. Blocks of rows widened once and multiplied with blocks of
 * queries as one GEMM (OpenBLAS), so many queries cost far less than as many searches. */
void  qr_vectors_rank_own (const guint16 *matrix,
                           gsize          n,
                           int            dim,
                           const float   *queries,
                           guint          q,
                           const gsize   *own_rows,
                           QrOwnRank     *out);

G_END_DECLS
