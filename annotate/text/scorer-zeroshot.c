/* scorer-zeroshot.c: the zero-shot image–text scorer (qr-scorer.h): the peers' consensus objects of
 * every image, read once from the catalog, and texts parsed with the WordNet lexicon plus the
 * collection's own class names. Its phrase map is CenterNet's class-score map, the maximum over the
 * classes the text mentions (not those it negates). "plain" swaps the lexicon for class names only,
 * the baseline the README's retrieval table compares with. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"
#include "qr-review.h"
#include "qr-detector.h"
#include "qr-class-map.h"
#include "qr-image.h"

#include <math.h>

struct _QrZeroshotScorer
{
  GObject         parent_instance;

  /* Owned references */
  QrCatalog      *catalog;
  QrLexicon      *lexicon;
  QrConsensusSet *consensus;
  GHashTable     *evidence;    /* image id → GArray of QrEvidenceObject (names borrowed from consensus) */
  GArray         *image_ids;   /* readable images, in path order */
  QrDetector     *detector;    /* for phrase maps, loaded on first use */
  gboolean        plain;
};

static void qr_zeroshot_scorer_iface_init (QrScorerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QrZeroshotScorer, qr_zeroshot_scorer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (QR_TYPE_SCORER, qr_zeroshot_scorer_iface_init))

static void
qr_zeroshot_scorer_finalize (GObject *object)
{
  QrZeroshotScorer *self = QR_ZEROSHOT_SCORER (object);

  g_clear_object (&self->catalog);
  g_clear_pointer (&self->lexicon, qr_lexicon_unref);
  g_clear_pointer (&self->evidence, g_hash_table_unref);
  g_clear_pointer (&self->consensus, qr_consensus_set_free);
  g_clear_pointer (&self->image_ids, g_array_unref);
  g_clear_pointer (&self->detector, qr_detector_free);
  G_OBJECT_CLASS (qr_zeroshot_scorer_parent_class)->finalize (object);
}

static void
qr_zeroshot_scorer_class_init (QrZeroshotScorerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_zeroshot_scorer_finalize;
}

static void
qr_zeroshot_scorer_init (QrZeroshotScorer *self)
{
}

static const char *
zeroshot_get_name (QrScorer *scorer)
{
  return QR_ZEROSHOT_SCORER (scorer)->plain ? "plain" : "zeroshot";
}

static const char *
zeroshot_get_title (QrScorer *scorer)
{
  return QR_ZEROSHOT_SCORER (scorer)->plain ? "Class Names" : "Zero-Shot (Detections)";
}

static gboolean
zeroshot_prepare (QrScorer *scorer, QrScorerText *text, GError **error)
{
  QrZeroshotScorer *self = QR_ZEROSHOT_SCORER (scorer);
  QrTextQuery *query = qr_text_parse (self->lexicon, text->text, error);

  if (query == NULL)
    return FALSE;
  for (guint i = 0; i < query->unknown->len; i++)
    g_ptr_array_add (text->unknown, g_strdup (query->unknown->pdata[i]));
  for (guint i = 0; i < query->ignored->len; i++)
    g_ptr_array_add (text->ignored, g_strdup (query->ignored->pdata[i]));
  text->data = query;
  if (query->n_groups == 0 && !text->allow_empty)
    {
      g_autofree char *unknown = qr_text_query_describe_unknown (query);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "“%s” names nothing the detectors see%s%s",
                   text->text, unknown ? "; " : "", unknown ? unknown : "");
      return FALSE;
    }
  return TRUE;
}

static void
zeroshot_release (QrScorer *scorer, QrScorerText *text)
{
  g_clear_pointer ((QrTextQuery **) &text->data, qr_text_query_free);
}

const QrEvidenceObject *
qr_zeroshot_scorer_get_objects (QrZeroshotScorer *self, gint64 image_id, guint *n_objects)
{
  GArray *objects = g_hash_table_lookup (self->evidence, &image_id);
  *n_objects = objects ? objects->len : 0;
  return objects ? (const QrEvidenceObject *) (gpointer) objects->data : NULL;
}

static gboolean
zeroshot_score (QrScorer *scorer, QrScorerText *text, gint64 image_id, QrTextMode mode, QrScore *out, GError **error)
{
  QrZeroshotScorer *self = QR_ZEROSHOT_SCORER (scorer);
  const QrTextQuery *query = text->data;
  guint n = 0;
  const QrEvidenceObject *objects = qr_zeroshot_scorer_get_objects (self, image_id, &n);
  QrTextScore s;

  qr_text_score (query, objects, n, mode, &s);
  memset (out, 0, sizeof *out);
  out->score = s.score;
  out->explain = g_strdup (s.explain->str);
  if (s.worst_group >= 0)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, s.worst_mention);
      {
        out->weakest = g_strdup (m->words);
        out->weakest_class = g_strdup (m->class_name);
        out->weakest_seen = qr_text_count_present (objects, n, m->class_name);
        out->weakest_confidence = m->weight * qr_text_confidence (objects, n, m->class_name);
        if (m->count == 0)
          out->weakest_confidence = 1 - out->weakest_confidence;  /* "no dogs": how surely none */
        out->weakest_score = s.worst_score;
      }
    }
  /* a number said and objects of the class seen, but not that many */
  for (guint i = 0; i < query->mentions->len && !out->wrong_count; i++)
    {
      const QrMention *m = &g_array_index (query->mentions, QrMention, i);
      int seen, said = 0;
      if (m->count < 1)
        continue;
      for (guint k = 0; k < query->mentions->len; k++)
        {
          const QrMention *o = &g_array_index (query->mentions, QrMention, k);
          if (o->count != 0 && g_str_equal (o->class_name, m->class_name))
            said += o->count >= 1 ? o->count : 1;
        }
      seen = qr_text_count_present (objects, n, m->class_name);
      if (seen >= 1 && seen != said)
        {
          out->wrong_count = 1;
          out->count_confidence = qr_text_confidence (objects, n, m->class_name);
          out->count_class = g_strdup (m->class_name);
          out->count_words = g_strdup (m->words);
          out->count_said = said;
          out->count_seen = seen;
        }
    }
  out->omitted = g_strdup (s.omitted_class);
  out->omitted_salience = s.omitted;
  qr_text_score_clear (&s);
  return TRUE;
}

static GArray *
zeroshot_candidates (QrScorer *scorer, GError **error)
{
  QrZeroshotScorer *self = QR_ZEROSHOT_SCORER (scorer);
  return g_array_ref (self->image_ids);
}

static float *
zeroshot_phrase_map (QrScorer *scorer, QrScorerText *text, const char *image_path, GCancellable *cancellable,
                     int *rows, int *cols, double *cell_size, GError **error)
{
  QrZeroshotScorer *self = QR_ZEROSHOT_SCORER (scorer);
  const QrTextQuery *query = text->data;
  g_autoptr (QrImage) image = qr_image_load (image_path, NULL, 0, error);
  g_autoptr (GArray) found = NULL;
  g_autofree gboolean *wanted = NULL;
  const float *scores;
  float to_cell, *map;
  int classes;

  if (image == NULL)
    return NULL;
  if (self->detector == NULL)
    {
      g_autofree char *model = qr_find_model ("centernet", error);
      if (model == NULL || (self->detector = qr_detector_load (model, NULL, error)) == NULL)
        return NULL;
    }
  if ((found = qr_detector_detect (self->detector, image, NULL, NULL, error)) == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  scores = qr_detector_get_heatmap (self->detector, rows, cols, &classes, &to_cell);
  wanted = g_new0 (gboolean, MAX (classes, 1));
  for (int c = 0; c < classes; c++)
    {
      const char *name = qr_class_map_lookup (qr_detector_get_class_name (self->detector, c));
      for (guint i = 0; i < query->mentions->len; i++)
        {
          const QrMention *m = &g_array_index (query->mentions, QrMention, i);
          wanted[c] |= m->count != 0 && g_str_equal (m->class_name, name);
        }
    }
  map = g_new0 (float, (gsize) *rows * (gsize) *cols);
  for (gsize i = 0; i < (gsize) *rows * (gsize) *cols; i++)
    for (int c = 0; c < classes; c++)
      if (wanted[c])
        map[i] = fmaxf (map[i], scores[i * (gsize) classes + (gsize) c]);
  *cell_size = 1.0 / to_cell;
  return map;
}

static void
qr_zeroshot_scorer_iface_init (QrScorerInterface *iface)
{
  iface->get_name = zeroshot_get_name;
  iface->get_title = zeroshot_get_title;
  iface->prepare = zeroshot_prepare;
  iface->release = zeroshot_release;
  iface->score = zeroshot_score;
  iface->candidates = zeroshot_candidates;
  iface->phrase_map = zeroshot_phrase_map;
}

QrScorer *
qr_zeroshot_scorer_new (QrCatalog *catalog, gboolean plain, GError **error)
{
  g_autoptr (QrZeroshotScorer) self = g_object_new (QR_TYPE_ZEROSHOT_SCORER, NULL);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) sizes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;

  self->catalog = g_object_ref (catalog);
  self->plain = plain;
  if ((self->consensus = qr_review_consensus (catalog, NULL, error)) == NULL)
    return NULL;
  if (plain)
    self->lexicon = qr_lexicon_new_plain ((const char *const[]) { NULL });
  else
    {
      g_autoptr (QrLexicon) base = qr_lexicon_get_default (error);
      if (base == NULL)
        return NULL;
      self->lexicon = qr_lexicon_new_overlay (base);
    }
  g_hash_table_iter_init (&iter, self->consensus->class_names);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    qr_lexicon_add_class (self->lexicon, value);

  if ((images = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, error)) == NULL)
    return NULL;
  self->image_ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), images->len);
  for (guint i = 0; i < images->len; i++)
    {
      QrImageRecord *r = images->pdata[i];
      int wh[2] = { MAX (r->width, 1), MAX (r->height, 1) };
      g_array_append_val (self->image_ids, r->id);
      g_hash_table_insert (sizes, g_memdup2 (&r->id, sizeof r->id), g_memdup2 (wh, sizeof wh));
    }
  self->evidence = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_array_unref);
  g_hash_table_iter_init (&iter, self->consensus->objects);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GArray *clusters = value;
      const int *wh = g_hash_table_lookup (sizes, key);
      GArray *objects = g_array_sized_new (FALSE, FALSE, sizeof (QrEvidenceObject), clusters->len);
      if (wh == NULL)
        {
          g_array_unref (objects);
          continue;
        }
      for (guint k = 0; k < clusters->len; k++)
        {
          const QrConsensus *c = &g_array_index (clusters, QrConsensus, k);
          gint64 class_id = c->class_id;
          const char *name = g_hash_table_lookup (self->consensus->class_names, &class_id);
          QrEvidenceObject o;
          if (name == NULL || c->strength <= 0)
            continue;
          o.class_name = name;
          o.strength = c->strength;
          o.area = (float) (CLAMP ((c->x2 - c->x1) * (c->y2 - c->y1) / ((double) wh[0] * wh[1]), 0, 1));
          o.cx = (float) CLAMP ((c->x1 + c->x2) / 2 / wh[0], 0, 1);
          g_array_append_val (objects, o);
        }
      g_hash_table_insert (self->evidence, g_memdup2 (key, sizeof (gint64)), objects);
    }
  return QR_SCORER (g_steal_pointer (&self));
}
