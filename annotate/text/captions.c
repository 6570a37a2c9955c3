/* captions.c: captions through the scorer interface (qr-scorer.h): candidates made from the
 * detections and ranked, a user's candidates ranked, and captions judged for the review queue.
 *
 * A caption's mistake score is the strongest of three signs, each 0..1:
 *   unseen  its weakest phrase names an object the peers barely see: (0.5 − c) / 0.5 where the
 *           lexicon's weight times the class's strongest consensus c is under 0.5;
 *   omits   the most salient present object of a class it never names: 0.9 × salience (consensus
 *           × min (1, √(area / 5%)));
 *   count   a number it says (k) against n present objects: conf × |k − n| / max (k, n), conf the
 *           class's strongest consensus, so that "four" for three faint people weighs little.
 * The weights put a named object that is not there first: it is the plainest error. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"
#include "qr-dmsm.h"

void
qr_caption_candidate_clear (QrCaptionCandidate *c)
{
  g_clear_pointer (&c->text, g_free);
  g_clear_pointer (&c->explain, g_free);
}

void
qr_caption_verdict_clear (QrCaptionVerdict *v)
{
  g_clear_pointer (&v->class_name, g_free);
  g_clear_pointer (&v->reason, g_free);
}

static int
by_candidate_score (gconstpointer a, gconstpointer b)
{
  const QrCaptionCandidate *x = a, *y = b;
  return x->score < y->score ? 1 : x->score > y->score ? -1 : g_strcmp0 (x->text, y->text);
}

GArray *
qr_captions_rank (QrScorer *scorer, gint64 image_id, GPtrArray *texts, GError **error)
{
  g_autoptr (GArray) out = g_array_sized_new (FALSE, TRUE, sizeof (QrCaptionCandidate), texts->len);

  g_array_set_clear_func (out, (GDestroyNotify) qr_caption_candidate_clear);
  for (guint i = 0; i < texts->len; i++)
    {
      QrScorerText *t = qr_scorer_prepare_caption (scorer, texts->pdata[i], error);
      QrScore score = { 0 };
      QrCaptionCandidate c;
      if (t == NULL)
        {
          g_prefix_error (error, "candidate %u (“%s”): ", i + 1, (const char *) texts->pdata[i]);
          return NULL;
        }
      if (!qr_scorer_score (scorer, t, image_id, QR_TEXT_CAPTION, &score, error))
        {
          qr_scorer_text_free (scorer, t);
          return NULL;
        }
      c.text = g_strdup (texts->pdata[i]);
      c.score = score.score;
      c.explain = g_steal_pointer (&score.explain);
      qr_score_clear (&score);
      qr_scorer_text_free (scorer, t);
      g_array_append_val (out, c);
    }
  g_array_sort (out, by_candidate_score);
  return g_steal_pointer (&out);
}

GArray *
qr_captions_suggest (QrZeroshotScorer *words, QrScorer *ranker, gint64 image_id, guint top, GError **error)
{
  guint n = 0;
  const QrEvidenceObject *objects = qr_zeroshot_scorer_get_objects (words, image_id, &n);
  g_autoptr (GPtrArray) texts = qr_text_suggest (objects, n, 12);
  GArray *ranked;

  if (ranker != NULL && qr_scorer_get_caption_model (ranker) != NULL)
    {
      g_autoptr (GPtrArray) retrieved = qr_dmsm_scorer_retrieve_captions (qr_scorer_get_caption_model (ranker),
                                                                          image_id, 5, error);
      if (retrieved == NULL)
        return NULL;
      for (guint i = 0; i < retrieved->len; i++)
        {
          gboolean seen = FALSE;
          for (guint k = 0; k < texts->len && !seen; k++)
            seen = g_ascii_strcasecmp (texts->pdata[k], retrieved->pdata[i]) == 0;
          if (!seen)
            g_ptr_array_add (texts, g_strdup (retrieved->pdata[i]));
        }
    }
  if (texts->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "the peers agree on no object in this image: nothing to say about it");
      return NULL;
    }
  ranked = qr_captions_rank (ranker ? ranker : QR_SCORER (words), image_id, texts, error);
  if (ranked != NULL && top > 0 && ranked->len > top)
    g_array_remove_range (ranked, top, ranked->len - top);
  return ranked;
}

gboolean
qr_caption_judge (QrScorer *scorer, gint64 image_id, const char *text, QrCaptionVerdict *out, GError **error)
{
  QrScorerText *t = qr_scorer_prepare_caption (scorer, text, error);
  QrScore s = { 0 };
  double unseen = 0, omits = 0, count = 0;

  memset (out, 0, sizeof *out);
  if (t == NULL)
    return FALSE;
  if (!qr_scorer_score (scorer, t, image_id, QR_TEXT_CAPTION, &s, error))
    {
      qr_scorer_text_free (scorer, t);
      return FALSE;
    }
  if (s.weakest != NULL && s.weakest_confidence < 0.5)
    unseen = (0.5 - s.weakest_confidence) / 0.5;
  if (s.omitted != NULL)
    omits = 0.9 * s.omitted_salience;
  if (s.wrong_count)
    count = s.count_confidence * abs (s.count_said - s.count_seen) / MAX (s.count_said, s.count_seen);
  if (unseen >= omits && unseen >= count && unseen > 0)
    {
      out->score = unseen;
      out->problem = QR_CAPTION_UNSEEN;
      out->class_name = g_strdup (s.weakest_class);
      out->reason = s.weakest_seen > 0
                    ? g_strdup_printf ("“%s”: the peers barely see a %s (%.2f)", s.weakest, s.weakest_class,
                                       s.weakest_confidence)
                    : g_strdup_printf ("mentions “%s”: no peer sees a %s", s.weakest, s.weakest_class);
    }
  else if (omits >= count && omits > 0)
    {
      out->score = omits;
      out->problem = QR_CAPTION_OMITS;
      out->class_name = g_strdup (s.omitted);
      out->reason = g_strdup_printf ("leaves out the %s every peer sees (salience %.2f)", s.omitted, s.omitted_salience);
    }
  else if (count > 0)
    {
      out->score = count;
      out->problem = QR_CAPTION_COUNT;
      out->class_name = g_strdup (s.count_class);
      out->reason = g_strdup_printf ("says “%s”: the peers see %d", s.count_words, s.count_seen);
    }
  else
    out->problem = QR_CAPTION_FINE;
  qr_score_clear (&s);
  qr_scorer_text_free (scorer, t);
  return TRUE;
}

/* The far verdict of a caption from where its own image stands. */
static void
verdict_from_rank (QrScorer *scorer, QrCatalog *catalog, const QrOwnImageRank *rank, QrCaptionVerdict *out)
{
  g_autoptr (QrImageRecord) other = NULL;

  memset (out, 0, sizeof *out);
  if (rank->unscored || rank->ahead == 0)
    return;   /* nothing stored for its image, or its own is the nearest */
  other = qr_catalog_get_image (catalog, rank->best_id, NULL);
  /* the share of the other images nearer than its own: 0 when its own is the nearest, about a
   * half for a caption of some other image; comparable across collections and scorers, where
   * cosines are not */
  out->score = (double) rank->ahead / rank->others;
  out->problem = QR_CAPTION_FAR;
  out->reason = g_strdup_printf ("%s puts %u of the %u other images nearer than its own (nearest: %s, cosine %.2f;"
                                 " its own %.2f)",
                                 !QR_IS_DMSM_SCORER (scorer) ? qr_scorer_get_title (scorer)
                                 : qr_dmsm_scorer_is_judge (QR_DMSM_SCORER (scorer)) ? "the caption model trained without it"
                                 : "the caption model",
                                 rank->ahead, rank->others, other ? other->path : "?", rank->best, rank->own);
}

/* Captions prepared and ranked at once: enough to make the product worth it, few enough that the
 * prepared texts stay small. */
#define FAR_CHUNK 2048

/* Far verdicts by one scorer of the n captions at idx (indices into captions), into
 * verdicts[idx[k]]. A caption none of whose words the scorer knows gets none (fine). */
static gboolean
judge_far_many (QrScorer *scorer, QrCatalog *catalog, GPtrArray *captions, const guint *idx, guint n,
                QrCaptionVerdict *verdicts, GError **error)
{
  g_autofree QrScorerText **texts = g_new0 (QrScorerText *, FAR_CHUNK);
  g_autofree gint64 *own = g_new (gint64, FAR_CHUNK);
  g_autofree guint *which = g_new (guint, FAR_CHUNK);
  g_autofree QrOwnImageRank *ranks = g_new (QrOwnImageRank, FAR_CHUNK);
  gboolean ok = TRUE;

  for (guint start = 0; start < n && ok; start += FAR_CHUNK)
    {
      guint m = 0;
      for (guint k = start; k < MIN (n, start + FAR_CHUNK); k++)
        {
          const QrCaptionRecord *c = captions->pdata[idx[k]];
          g_autoptr (GError) local = NULL;
          QrScorerText *t = qr_scorer_prepare_caption (scorer, c->text, &local);
          memset (&verdicts[idx[k]], 0, sizeof (QrCaptionVerdict));
          if (t == NULL && g_error_matches (local, QR_DMSM_ERROR, QR_DMSM_ERROR_NO_WORDS))
            continue;   /* nothing to say */
          if (t == NULL)
            {
              if (c->id > 0)
                g_prefix_error (&local, "caption %" G_GINT64_FORMAT ": ", c->id);
              g_propagate_error (error, g_steal_pointer (&local));
              ok = FALSE;
              break;
            }
          texts[m] = t;
          own[m] = c->image_id;
          which[m++] = idx[k];
        }
      if (ok && m > 0)
        ok = qr_scorer_rank_own (scorer, texts, own, m, ranks, error);
      for (guint k = 0; k < m; k++)
        {
          if (ok)
            verdict_from_rank (scorer, catalog, &ranks[k], &verdicts[which[k]]);
          qr_scorer_text_free (scorer, texts[k]);
        }
    }
  return ok;
}

gboolean
qr_caption_judge_far (QrScorer *scorer, QrCatalog *catalog, gint64 image_id, const char *text, QrCaptionVerdict *out,
                      GError **error)
{
  g_autoptr (GPtrArray) one = g_ptr_array_new ();
  QrCaptionRecord record = { 0 };
  const guint idx = 0;

  record.image_id = image_id;
  record.text = (char *) text;
  g_ptr_array_add (one, &record);
  memset (out, 0, sizeof *out);
  return judge_far_many (scorer, catalog, one, &idx, 1, out, error);
}

static void
clear_verdicts (QrCaptionVerdict *verdicts, gsize n)
{
  for (gsize i = 0; i < n; i++)
    qr_caption_verdict_clear (&verdicts[i]);
  g_free (verdicts);
}

GPtrArray *
qr_caption_mistakes (QrCatalog *catalog, QrScorer *scorer, GPtrArray *far_scorers, const QrCaptionJudges *judges,
                     double min_score, GError **error)
{
  g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_mistake_record_free);
  g_autoptr (GHashTable) class_ids = NULL;

  guint n, n_far, n_sets;
  g_autofree guint *all = NULL;
  QrCaptionVerdict *far = NULL;

  if (captions == NULL)
    return NULL;
  /* the far verdicts first, many captions a product: each far scorer's over every caption, then
   * each judge's over the captions of its fold, as set n_far */
  n = captions->len;
  n_far = far_scorers != NULL ? far_scorers->len : 0;
  n_sets = n_far + (judges != NULL && judges->scorers != NULL);
  far = g_new0 (QrCaptionVerdict, MAX ((gsize) n * n_sets, 1));
  all = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    all[i] = i;
  for (guint k = 0; k < n_far; k++)
    if (!judge_far_many (far_scorers->pdata[k], catalog, captions, all, n, far + (gsize) k * n, error))
      {
        clear_verdicts (far, (gsize) n * n_sets);
        return NULL;
      }
  if (n_sets > n_far)
    for (guint j = 0; j < judges->scorers->len; j++)
      {
        guint m = 0;
        for (guint i = 0; i < n; i++)
          if (qr_caption_fold (((QrCaptionRecord *) captions->pdata[i])->id, judges->seed, (int) judges->scorers->len)
              == (int) j)
            all[m++] = i;
        if (!judge_far_many (judges->scorers->pdata[j], catalog, captions, all, m, far + (gsize) n_far * n, error))
          {
            clear_verdicts (far, (gsize) n * n_sets);
            return NULL;
          }
      }

  for (guint i = 0; i < n; i++)
    {
      QrCaptionRecord *c = captions->pdata[i];
      QrCaptionVerdict v;
      QrMistakeRecord *r;
      if (scorer == NULL)
        memset (&v, 0, sizeof v);   /* QR_CAPTION_FINE: only the far judges speak */
      else if (!qr_caption_judge (scorer, c->image_id, c->text, &v, error))
        {
          g_prefix_error (error, "caption %" G_GINT64_FORMAT ": ", c->id);
          clear_verdicts (far, (gsize) n * n_sets);
          return NULL;
        }
      /* the strongest verdict wins: zero-shot's, the far scorers' in order, the judge's */
      for (guint k = 0; k < n_sets; k++)
        {
          QrCaptionVerdict *f = &far[(gsize) k * n + i];
          if (f->problem != QR_CAPTION_FINE && f->score > v.score)
            {
              qr_caption_verdict_clear (&v);
              v = *f;
              memset (f, 0, sizeof *f);
            }
        }
      if (v.problem == QR_CAPTION_FINE || v.score < min_score)
        {
          qr_caption_verdict_clear (&v);
          continue;
        }
      if (class_ids == NULL)
        {
          /* class name → id, from the catalog's classes */
          g_autoptr (GHashTable) names = qr_catalog_class_names (catalog, error);
          GHashTableIter iter;
          gpointer key, value;
          if (names == NULL)
            {
              qr_caption_verdict_clear (&v);
              clear_verdicts (far, (gsize) n * n_sets);
              return NULL;
            }
          class_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_hash_table_iter_init (&iter, names);
          while (g_hash_table_iter_next (&iter, &key, &value))
            g_hash_table_insert (class_ids, g_strdup (value), g_memdup2 (key, sizeof (gint64)));
        }
      r = g_new0 (QrMistakeRecord, 1);
      r->image_id = c->image_id;
      r->item_key = g_strdup_printf ("caption:%" G_GINT64_FORMAT ":caption:%" G_GINT64_FORMAT, c->image_id, c->id);
      r->kind = g_strdup ("caption");
      r->score = v.score;
      {
        const gint64 *id = v.class_name ? g_hash_table_lookup (class_ids, v.class_name) : NULL;
        r->class_id = id ? *id : -1;
        r->class_name = g_strdup (v.class_name);
      }
      r->label_id = -1;
      r->label_class_id = -1;
      r->votes = g_strdup ("{}");
      r->caption_id = c->id;
      r->reason = g_steal_pointer (&v.reason);
      qr_caption_verdict_clear (&v);
      g_ptr_array_add (out, r);
    }
  clear_verdicts (far, (gsize) n * n_sets);
  return g_steal_pointer (&out);
}

GPtrArray *
qr_caption_mistakes_judged (QrCatalog *catalog, double min_score, GError **error)
{
  g_autoptr (GError) no_peers = NULL;
  g_autoptr (QrScorer) scorer = qr_zeroshot_scorer_new (catalog, FALSE, &no_peers);
  g_autoptr (GPtrArray) far = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) no_model = NULL, no_clip = NULL, no_judges = NULL;
  QrCaptionJudges judges = { 0 };
  GPtrArray *mistakes;
  QrScorer *model, *clip;

  if (scorer == NULL && !g_error_matches (no_peers, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&no_peers));
      return NULL;
    }
  /* the caption model's judges, each caption by the one that did not train on it; else the model
   * itself (trained on every caption, mistakes included: it finds fewer) */
  if (!qr_caption_judges_load (catalog, &judges, &no_judges))
    g_warning ("the caption model's out-of-fold judges are left out of the caption review: %s", no_judges->message);
  if (judges.scorers != NULL)
    ;
  else if ((model = qr_dmsm_scorer_new (catalog, &no_model)) != NULL)
    g_ptr_array_add (far, model);
  else if (!g_error_matches (no_model, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_warning ("the caption model is left out of the caption review: %s", no_model->message);
  if ((clip = qr_clip_scorer_new (catalog, &no_clip)) != NULL)
    g_ptr_array_add (far, clip);
  else if (!g_error_matches (no_clip, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_warning ("the CLIP model is left out of the caption review: %s", no_clip->message);
  /* no peer has run: the embedding scorers judge alone, when there are any */
  if (scorer == NULL && far->len == 0 && judges.scorers == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "captions are judged from the peers' detections, the "
                   "caption model or CLIP embeddings, and this collection has none yet: run `quorum peers run`, `quorum "
                   "captions train`, or `quorum embed --model CLIP_FOLDER --collection DIR`");
      return NULL;
    }
  mistakes = qr_caption_mistakes (catalog, scorer, far, &judges, min_score, error);
  qr_caption_judges_clear (&judges);
  return mistakes;
}
