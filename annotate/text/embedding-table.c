/* embedding-table.c: stored image embeddings, scored and searched (embedding-table.h). */
#define G_LOG_DOMAIN "quorum-text"

#include "embedding-table.h"
#include "qr-vectors.h"

#include <string.h>

void
qr_embedding_table_init (QrEmbeddingTable *table, GArray *ids, const float *floats, int dim)
{
  gsize n = (gsize) ids->len * (gsize) dim;

  table->ids = ids;
  table->dim = dim;
  table->embeddings = g_new (guint16, MAX (n, 1));
  qr_float_to_half (floats, table->embeddings, n);
  table->row_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_insert (table->row_of, g_memdup2 (&g_array_index (ids, gint64, i), sizeof (gint64)),
                         GUINT_TO_POINTER (i + 1));
}

void
qr_embedding_table_clear (QrEmbeddingTable *table)
{
  g_clear_pointer (&table->ids, g_array_unref);
  g_clear_pointer (&table->embeddings, g_free);
  g_clear_pointer (&table->row_of, g_hash_table_unref);
}

gboolean
qr_embedding_table_get (const QrEmbeddingTable *table, gint64 image_id, float *out)
{
  guint row = table->row_of != NULL ? GPOINTER_TO_UINT (g_hash_table_lookup (table->row_of, &image_id)) : 0;

  if (row == 0)
    return FALSE;
  qr_half_to_float (table->embeddings + (gsize) (row - 1) * (gsize) table->dim, out, (gsize) table->dim);
  return TRUE;
}

void
qr_embedding_table_score (const QrEmbeddingTable *table, const float *text, gint64 image_id, int decimals,
                          const char *missing, QrScore *out)
{
  g_autofree float *image = g_new (float, table->dim);
  double cosine = 0;

  memset (out, 0, sizeof *out);
  if (!qr_embedding_table_get (table, image_id, image))
    {
      out->score = -1;
      out->unscored = TRUE;
      out->explain = g_strdup (missing);
      return;
    }
  for (int k = 0; k < table->dim; k++)
    cosine += (double) text[k] * image[k];
  out->score = cosine;
  out->explain = g_strdup_printf ("cosine %.*f", decimals, cosine);
}

GArray *
qr_embedding_table_search (const QrEmbeddingTable *table, const float *vector, guint top, int decimals,
                           GCancellable *cancellable, GError **error)
{
  guint n = table->ids->len, k = top > 0 ? MIN (top, n) : n;
  g_autofree gsize *rows = g_new (gsize, MAX (k, 1));
  g_autofree float *scores = g_new (float, MAX (k, 1));
  GArray *hits;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  hits = qr_search_hits_new (k);
  k = qr_vectors_top_k (table->embeddings, n, table->dim, vector, k, rows, scores);
  for (guint i = 0; i < k; i++)
    {
      QrSearchHit hit = { g_array_index (table->ids, gint64, rows[i]), scores[i],
                          g_strdup_printf ("cosine %.*f", decimals, scores[i]) };
      g_array_append_val (hits, hit);
    }
  return hits;
}

void
qr_embedding_table_rank_own (const QrEmbeddingTable *table, const float *const *texts, const gint64 *own, guint n,
                             QrOwnImageRank *out)
{
  g_autofree float *queries = g_new (float, (gsize) MAX (n, 1) * (gsize) table->dim);
  g_autofree gsize *rows = g_new (gsize, MAX (n, 1));
  g_autofree guint *slot = g_new (guint, MAX (n, 1));
  g_autofree QrOwnRank *ranks = g_new (QrOwnRank, MAX (n, 1));
  guint q = 0;

  /* the texts whose image has an embedding, packed */
  for (guint i = 0; i < n; i++)
    {
      guint row = table->row_of ? GPOINTER_TO_UINT (g_hash_table_lookup (table->row_of, &own[i])) : 0;
      out[i] = (QrOwnImageRank) { row == 0, 0, 0, 0, -1, 0 };
      if (row == 0)
        continue;
      memcpy (queries + (gsize) q * (gsize) table->dim, texts[i], sizeof (float) * (gsize) table->dim);
      rows[q] = row - 1;
      slot[q++] = i;
    }
  qr_vectors_rank_own (table->embeddings, table->ids->len, table->dim, queries, q, rows, ranks);
  for (guint k = 0; k < q; k++)
    {
      QrOwnImageRank *o = &out[slot[k]];
      o->own = ranks[k].own;
      o->ahead = ranks[k].ahead;
      o->others = table->ids->len - 1;
      o->best_id = ranks[k].best_row >= 0 ? g_array_index (table->ids, gint64, ranks[k].best_row) : -1;
      o->best = ranks[k].best_row >= 0 ? ranks[k].best : 0;
    }
}
