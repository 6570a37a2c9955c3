/* scorer-blend.c: the caption model and the detections together (the "blend" scorer): the mean
 * of the DMSM's cosine and the zero-shot score. The DMSM reads every word it has seen in the
 * collection's captions (colours, scenes, actions); the zero-shot scorer knows objects and counts
 * the peers confirm, and what a caption leaves out. A text that names no object the zero-shot
 * scorer knows is scored by the DMSM alone. Caption details (the weakest phrase, what is left
 * out, a count that disagrees) are the zero-shot scorer's. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"

#include <string.h>

#define QR_TYPE_BLEND_SCORER (qr_blend_scorer_get_type ())
G_DECLARE_FINAL_TYPE (QrBlendScorer, qr_blend_scorer, QR, BLEND_SCORER, GObject)

struct _QrBlendScorer
{
  GObject   parent_instance;
  QrScorer *dmsm;
  QrScorer *zeroshot;
};

typedef struct
{
  QrScorerText *dmsm;
  QrScorerText *zeroshot;   /* NULL: the text names nothing it scores */
} BlendText;

/* The DMSM's share of the score. */
#define DMSM_WEIGHT 0.5

static void qr_blend_scorer_iface_init (QrScorerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QrBlendScorer, qr_blend_scorer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (QR_TYPE_SCORER, qr_blend_scorer_iface_init))

static void
qr_blend_scorer_finalize (GObject *object)
{
  QrBlendScorer *self = QR_BLEND_SCORER (object);
  g_clear_object (&self->dmsm);
  g_clear_object (&self->zeroshot);
  G_OBJECT_CLASS (qr_blend_scorer_parent_class)->finalize (object);
}

static void
qr_blend_scorer_class_init (QrBlendScorerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_blend_scorer_finalize;
}

static void
qr_blend_scorer_init (QrBlendScorer *self)
{
}

static const char *
blend_get_name (QrScorer *scorer)
{
  return "blend";
}

static const char *
blend_get_title (QrScorer *scorer)
{
  return "Caption model + detections";
}

static gboolean
blend_prepare (QrScorer *scorer, QrScorerText *text, GError **error)
{
  QrBlendScorer *self = QR_BLEND_SCORER (scorer);
  BlendText *t = g_new0 (BlendText, 1);
  g_autoptr (GError) zeroshot_error = NULL;

  t->dmsm = text->allow_empty ? qr_scorer_prepare_caption (self->dmsm, text->text, error)
                              : qr_scorer_prepare (self->dmsm, text->text, error);
  if (t->dmsm == NULL)
    {
      g_free (t);
      return FALSE;
    }
  t->zeroshot = text->allow_empty ? qr_scorer_prepare_caption (self->zeroshot, text->text, &zeroshot_error)
                                  : qr_scorer_prepare (self->zeroshot, text->text, &zeroshot_error);
  /* the words neither knows are unknown; the zero-shot scorer's ignored words are said as such */
  for (guint i = 0; i < t->dmsm->unknown->len; i++)
    g_ptr_array_add (text->unknown, g_strdup (t->dmsm->unknown->pdata[i]));
  if (t->zeroshot != NULL)
    for (guint i = 0; i < t->zeroshot->ignored->len; i++)
      g_ptr_array_add (text->ignored, g_strdup (t->zeroshot->ignored->pdata[i]));
  text->data = t;
  return TRUE;
}

static void
blend_release (QrScorer *scorer, QrScorerText *text)
{
  QrBlendScorer *self = QR_BLEND_SCORER (scorer);
  BlendText *t = text->data;

  qr_scorer_text_free (self->dmsm, t->dmsm);
  qr_scorer_text_free (self->zeroshot, t->zeroshot);
  g_free (t);
  text->data = NULL;
}

static gboolean
blend_score (QrScorer *scorer, QrScorerText *text, gint64 image_id, QrTextMode mode, QrScore *out, GError **error)
{
  QrBlendScorer *self = QR_BLEND_SCORER (scorer);
  BlendText *t = text->data;
  QrScore learned = { 0 };
  double cosine;

  memset (out, 0, sizeof *out);
  if (!qr_scorer_score (self->dmsm, t->dmsm, image_id, mode, &learned, error))
    return FALSE;
  cosine = learned.score;
  qr_score_clear (&learned);
  if (t->zeroshot == NULL)
    {
      out->score = cosine;
      out->explain = g_strdup_printf ("caption model %.2f (no objects named)", cosine);
      return TRUE;
    }
  if (!qr_scorer_score (self->zeroshot, t->zeroshot, image_id, mode, out, error))
    return FALSE;
  {
    g_autofree char *detections = g_steal_pointer (&out->explain);
    out->explain = g_strdup_printf ("caption model %.2f · detections %.2f: %s", cosine, out->score,
                                    detections ? detections : "");
  }
  out->score = DMSM_WEIGHT * cosine + (1 - DMSM_WEIGHT) * out->score;
  return TRUE;
}

static GArray *
blend_candidates (QrScorer *scorer, GError **error)
{
  return qr_scorer_candidates (QR_BLEND_SCORER (scorer)->dmsm, error);
}

static float *
blend_phrase_map (QrScorer *scorer, QrScorerText *text, const char *image_path, GCancellable *cancellable, int *rows,
                  int *cols, double *cell_size, GError **error)
{
  QrBlendScorer *self = QR_BLEND_SCORER (scorer);
  return qr_scorer_phrase_map (self->dmsm, ((BlendText *) text->data)->dmsm, image_path, cancellable, rows, cols,
                               cell_size, error);
}

static void
qr_blend_scorer_iface_init (QrScorerInterface *iface)
{
  iface->get_name = blend_get_name;
  iface->get_title = blend_get_title;
  iface->prepare = blend_prepare;
  iface->release = blend_release;
  iface->score = blend_score;
  iface->candidates = blend_candidates;
  iface->phrase_map = blend_phrase_map;
}

QrScorer *
qr_blend_scorer_new (QrCatalog *catalog, GError **error)
{
  g_autoptr (QrBlendScorer) self = g_object_new (QR_TYPE_BLEND_SCORER, NULL);

  if ((self->dmsm = qr_dmsm_scorer_new (catalog, error)) == NULL
      || (self->zeroshot = qr_zeroshot_scorer_new (catalog, FALSE, error)) == NULL)
    return NULL;
  return QR_SCORER (g_steal_pointer (&self));
}

QrScorer *
qr_blend_scorer_new_from (QrScorer *dmsm, QrScorer *zeroshot)
{
  QrBlendScorer *self = g_object_new (QR_TYPE_BLEND_SCORER, NULL);
  self->dmsm = g_object_ref (dmsm);
  self->zeroshot = g_object_ref (zeroshot);
  return QR_SCORER (self);
}

QrDmsmScorer *
qr_scorer_get_caption_model (QrScorer *scorer)
{
  if (QR_IS_DMSM_SCORER (scorer))
    return QR_DMSM_SCORER (scorer);
  if (QR_IS_BLEND_SCORER (scorer))
    return QR_DMSM_SCORER (QR_BLEND_SCORER (scorer)->dmsm);
  return NULL;
}
