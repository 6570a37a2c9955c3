/* scorer.c: the scorer interface (qr-scorer.h): the wrappers every caller uses, the table of
 * scorers by name, and search, which ranks a collection's images for one text with any scorer.
 * The zero-shot scorer itself is scorer-zeroshot.c's. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"
#include "qr-vectors.h"

#include <math.h>

G_DEFINE_INTERFACE (QrScorer, qr_scorer, G_TYPE_OBJECT)

static void
qr_scorer_default_init (QrScorerInterface *iface)
{
}

void
qr_score_clear (QrScore *score)
{
  g_clear_pointer (&score->explain, g_free);
  g_clear_pointer (&score->weakest, g_free);
  g_clear_pointer (&score->weakest_class, g_free);
  g_clear_pointer (&score->count_words, g_free);
  g_clear_pointer (&score->count_class, g_free);
  g_clear_pointer (&score->omitted, g_free);
}

static QrScorer *
make_zeroshot (QrCatalog *catalog, GError **error)
{
  return qr_zeroshot_scorer_new (catalog, FALSE, error);
}

static QrScorer *
make_plain (QrCatalog *catalog, GError **error)
{
  return qr_zeroshot_scorer_new (catalog, TRUE, error);
}

/* A scorer is a row here. */
static const struct
{
  const char *name;
  QrScorer *(*make) (QrCatalog *catalog, GError **error);
} scorers[] = {
  { "zeroshot", make_zeroshot },
  { "plain", make_plain },
  { "dmsm", qr_dmsm_scorer_new },
  { "blend", qr_blend_scorer_new },
  { "clip", qr_clip_scorer_new },
};

static const char *const scorer_names[] = { "zeroshot", "plain", "dmsm", "blend", "clip", NULL };

const char *const *
qr_scorer_list_names (void)
{
  return scorer_names;
}

QrScorer *
qr_scorer_new (QrCatalog *catalog, const char *name, GError **error)
{
  if (name == NULL)
    name = scorer_names[0];
  for (guint i = 0; i < G_N_ELEMENTS (scorers); i++)
    if (g_str_equal (name, scorers[i].name))
      return scorers[i].make (catalog, error);
  {
    g_autofree char *choices = g_strjoinv (", ", (char **) scorer_names);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no scorer named “%s” (there are: %s)", name, choices);
  }
  return NULL;
}

const char *
qr_scorer_get_name (QrScorer *self)
{
  return QR_SCORER_GET_IFACE (self)->get_name (self);
}

const char *
qr_scorer_get_title (QrScorer *self)
{
  return QR_SCORER_GET_IFACE (self)->get_title (self);
}

static QrScorerText *
prepare (QrScorer *self, const char *text, gboolean allow_empty, GError **error)
{
  QrScorerText *t;
  g_autofree char *stripped = NULL;

  if (!qr_text_check (text, error))
    return NULL;
  stripped = g_strstrip (g_strdup (text));
  if (stripped[0] == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the text is empty");
      return NULL;
    }
  t = g_new0 (QrScorerText, 1);
  t->text = g_steal_pointer (&stripped);
  t->allow_empty = allow_empty;
  t->unknown = g_ptr_array_new_with_free_func (g_free);
  t->ignored = g_ptr_array_new_with_free_func (g_free);
  if (!QR_SCORER_GET_IFACE (self)->prepare (self, t, error))
    {
      qr_scorer_text_free (self, t);
      return NULL;
    }
  return t;
}

QrScorerText *
qr_scorer_prepare (QrScorer *self, const char *text, GError **error)
{
  return prepare (self, text, FALSE, error);
}

QrScorerText *
qr_scorer_prepare_caption (QrScorer *self, const char *text, GError **error)
{
  return prepare (self, text, TRUE, error);
}

void
qr_scorer_text_free (QrScorer *self, QrScorerText *text)
{
  if (text == NULL)
    return;
  if (text->data != NULL)
    QR_SCORER_GET_IFACE (self)->release (self, text);
  g_free (text->text);
  g_ptr_array_unref (text->unknown);
  g_ptr_array_unref (text->ignored);
  g_free (text);
}

gboolean
qr_scorer_score (QrScorer *self, QrScorerText *text, gint64 image_id, QrTextMode mode, QrScore *out, GError **error)
{
  return QR_SCORER_GET_IFACE (self)->score (self, text, image_id, mode, out, error);
}

GArray *
qr_scorer_candidates (QrScorer *self, GError **error)
{
  return QR_SCORER_GET_IFACE (self)->candidates (self, error);
}

gboolean
qr_scorer_rank_own (QrScorer *self, QrScorerText *const *texts, const gint64 *own, guint n, QrOwnImageRank *out,
                    GError **error)
{
  if (QR_SCORER_GET_IFACE (self)->rank_own != NULL)
    return QR_SCORER_GET_IFACE (self)->rank_own (self, texts, own, n, out, error);
  /* one caption at a time: its own image's score, then every image's */
  for (guint i = 0; i < n; i++)
    {
      QrScore score = { 0 };
      g_autoptr (GArray) hits = NULL;
      QrOwnImageRank *o = &out[i];

      *o = (QrOwnImageRank) { FALSE, 0, 0, 0, -1, 0 };
      if (!qr_scorer_score (self, texts[i], own[i], QR_TEXT_CAPTION, &score, error))
        return FALSE;
      o->unscored = score.unscored;
      o->own = score.score;
      qr_score_clear (&score);
      if (o->unscored)
        continue;
      if ((hits = qr_search (self, texts[i], 0, NULL, error)) == NULL)
        return FALSE;
      for (guint k = 0; k < hits->len; k++)
        {
          const QrSearchHit *h = &g_array_index (hits, QrSearchHit, k);
          if (h->image_id == own[i])
            continue;
          o->others++;
          if (h->score <= o->own + QR_VECTORS_TIE * MAX (1, fabs (o->own)))
            continue;
          if (o->ahead++ == 0)
            {
              o->best_id = h->image_id;
              o->best = h->score;
            }
        }
    }
  return TRUE;
}

gboolean
qr_scorer_has_phrase_map (QrScorer *self)
{
  return QR_SCORER_GET_IFACE (self)->phrase_map != NULL;
}

float *
qr_scorer_phrase_map (QrScorer *self, QrScorerText *text, const char *image_path, GCancellable *cancellable,
                      int *rows, int *cols, double *cell_size, GError **error)
{
  QrScorerInterface *iface = QR_SCORER_GET_IFACE (self);
  if (iface->phrase_map == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "the %s scorer has no phrase map",
                   qr_scorer_get_name (self));
      return NULL;
    }
  return iface->phrase_map (self, text, image_path, cancellable, rows, cols, cell_size, error);
}

static void
hit_clear (gpointer data)
{
  g_free (((QrSearchHit *) data)->explain);
}

static int
by_hit_score (gconstpointer a, gconstpointer b)
{
  const QrSearchHit *x = a, *y = b;
  return x->score < y->score ? 1 : x->score > y->score ? -1 : x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

GArray *
qr_search_hits_new (guint reserved)
{
  GArray *hits = g_array_sized_new (FALSE, TRUE, sizeof (QrSearchHit), reserved);
  g_array_set_clear_func (hits, hit_clear);
  return hits;
}

GArray *
qr_search (QrScorer *scorer, QrScorerText *text, guint top, GCancellable *cancellable, GError **error)
{
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GArray) hits = NULL;

  if (QR_SCORER_GET_IFACE (scorer)->search != NULL)
    return QR_SCORER_GET_IFACE (scorer)->search (scorer, text, top, cancellable, error);
  if ((ids = qr_scorer_candidates (scorer, error)) == NULL)
    return NULL;
  hits = qr_search_hits_new (ids->len);
  for (guint i = 0; i < ids->len; i++)
    {
      QrScore score = { 0 };
      QrSearchHit hit;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (!qr_scorer_score (scorer, text, g_array_index (ids, gint64, i), QR_TEXT_QUERY, &score, error))
        return NULL;
      hit.image_id = g_array_index (ids, gint64, i);
      hit.score = score.score;
      hit.explain = g_steal_pointer (&score.explain);
      qr_score_clear (&score);
      g_array_append_val (hits, hit);
    }
  g_array_sort (hits, by_hit_score);
  if (top > 0 && hits->len > top)
    g_array_remove_range (hits, top, hits->len - top);
  return g_steal_pointer (&hits);
}
