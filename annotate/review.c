/* review.c: the review queue (qr-review.h): every model's newest run and the labels gathered per
 * image, peer pressure run over them, the items ranked, and the queue stored with stable keys. */
#define G_LOG_DOMAIN "quorum-review"

#include "qr-review.h"
#include "qr-dataset.h"
#include "qr-scorer.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef struct
{
  GHashTable *class_names;            /* catalog class id → name */
  GHashTable *classes[QR_PEERS_MAX];  /* names a peer has; NULL: every class */
  gboolean    blind[QR_PEERS_MAX];    /* the image being scored was in the peer's training folds */
} PeerClasses;

static gboolean
peer_knows (int peer, int class_id, gpointer data)
{
  PeerClasses *pc = data;
  gint64 id = class_id;
  const char *name;
  if (pc->blind[peer])
    return FALSE;
  if (pc->classes[peer] == NULL)
    return TRUE;
  name = g_hash_table_lookup (pc->class_names, &id);
  return name == NULL || g_hash_table_contains (pc->classes[peer], name);
}

/* The classes a run recorded in its parameters ({"classes": [...]}), NULL if it did not. */
static GHashTable *
run_classes (const char *params)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *array;
  GHashTable *set;

  if (params == NULL || !json_parser_load_from_data (parser, params, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) || !json_object_has_member (json_node_get_object (root), "classes"))
    return NULL;
  array = json_object_get_array_member (json_node_get_object (root), "classes");
  set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    g_hash_table_add (set, g_strdup (json_array_get_string_element (array, i)));
  return set;
}

static int
by_score (gconstpointer a, gconstpointer b)
{
  float x = ((const QrReviewItem *) a)->mistake.score, y = ((const QrReviewItem *) b)->mistake.score;
  gint64 ia = ((const QrReviewItem *) a)->image_id, ib = ((const QrReviewItem *) b)->image_id;
  return x < y ? 1 : x > y ? -1 : ia < ib ? -1 : ia > ib;
}

void
qr_review_free (QrReview *review)
{
  if (review == NULL)
    return;
  g_clear_pointer (&review->peer_names, g_ptr_array_unref);
  g_clear_pointer (&review->items, g_array_unref);
  g_clear_pointer (&review->class_names, g_hash_table_unref);
  g_free (review);
}

/* What every peer's newest run says, gathered per image: shared by the queue and the consensus. */
typedef struct
{
  GPtrArray  *peer_names;
  GHashTable *class_names;              /* borrowed from the caller's result */
  GArray     *runs;                     /* gint64 */
  GHashTable *boxes_by_image;           /* image id → GArray of QrPeerBox */
  GHashTable *image_ids;                /* every image with a box (or, for the queue, a label) */
  GHashTable *paths;                    /* image id → path, when a peer is out of fold */
  PeerClasses pc;
  int         held_out[QR_PEERS_MAX], n_folds[QR_PEERS_MAX];
  gint64      fold_seed[QR_PEERS_MAX];
} PeerData;

static void
peer_data_clear (PeerData *pd)
{
  g_clear_pointer (&pd->runs, g_array_unref);
  g_clear_pointer (&pd->boxes_by_image, g_hash_table_unref);
  g_clear_pointer (&pd->image_ids, g_hash_table_unref);
  g_clear_pointer (&pd->paths, g_hash_table_unref);
  for (int p = 0; p < QR_PEERS_MAX; p++)
    g_clear_pointer (&pd->pc.classes[p], g_hash_table_unref);
}

static gboolean
peer_data_load (PeerData *pd, QrCatalog *catalog, const char *const *peers, GPtrArray *peer_names,
                GHashTable *class_names, GError **error)
{
  g_autoptr (GPtrArray) models = NULL;
  GError *local = NULL;

  pd->peer_names = peer_names;
  pd->class_names = class_names;
  pd->pc.class_names = class_names;
  pd->runs = g_array_new (FALSE, FALSE, sizeof (gint64));
  pd->boxes_by_image = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_array_unref);
  pd->image_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  if ((models = qr_catalog_list_models (catalog, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < models->len; i++)
    {
      QrModelRecord *m = models->pdata[i];
      gint64 run;
      if (peers != NULL && !g_strv_contains (peers, m->name))
        continue;
      run = qr_catalog_latest_run (catalog, m->id, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      if (run < 0 || peer_names->len == QR_PEERS_MAX)
        continue;
      {
        g_autofree char *params = qr_catalog_get_run_params (catalog, run, NULL);
        pd->pc.classes[peer_names->len] = run_classes (params);
      }
      pd->held_out[peer_names->len] = m->held_out_fold;
      pd->n_folds[peer_names->len] = m->n_folds;
      pd->fold_seed[peer_names->len] = m->fold_seed;
      g_ptr_array_add (peer_names, g_strdup (m->name));
      g_array_append_val (pd->runs, run);
    }
  /* peers trained out of fold vote only on the fold they did not see */
  for (guint p = 0; p < peer_names->len && pd->paths == NULL; p++)
    if (pd->n_folds[p] > 0)
      {
        g_autoptr (GPtrArray) images = qr_catalog_list_images (catalog, -1, error);
        if (images == NULL)
          return FALSE;
        pd->paths = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
        for (guint i = 0; i < images->len; i++)
          {
            QrImageRecord *r = images->pdata[i];
            g_hash_table_insert (pd->paths, g_memdup2 (&r->id, sizeof (gint64)), g_strdup (r->path));
          }
      }
  if (peer_names->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no peer has run on this collection yet: run `quorum peers run` (or Detect) first");
      return FALSE;
    }

  for (guint p = 0; p < pd->runs->len; p++)
    {
      g_autoptr (GArray) dets = qr_catalog_list_detections (catalog, g_array_index (pd->runs, gint64, p), error);
      if (dets == NULL)
        return FALSE;
      for (guint k = 0; k < dets->len; k++)
        {
          QrDetectionRecord *d = &g_array_index (dets, QrDetectionRecord, k);
          GArray *list = g_hash_table_lookup (pd->boxes_by_image, &d->image_id);
          QrPeerBox b = { (int) p, (int) d->class_id, d->score, (float) d->box.x1, (float) d->box.y1, (float) d->box.x2,
                          (float) d->box.y2 };
          if (list == NULL)
            {
              list = g_array_new (FALSE, FALSE, sizeof (QrPeerBox));
              g_hash_table_insert (pd->boxes_by_image, g_memdup2 (&d->image_id, sizeof (gint64)), list);
            }
          g_array_append_val (list, b);
          g_hash_table_add (pd->image_ids, g_memdup2 (&d->image_id, sizeof (gint64)));
        }
    }
  return TRUE;
}

/* The boxes of one image that count: a peer that trained on it neither votes nor dissents there.
 * Sets pd->pc.blind for the image; *seen holds a filtered copy when one is needed. */
static GArray *
peer_data_image_boxes (PeerData *pd, gconstpointer key, GArray **seen)
{
  GArray *boxes = g_hash_table_lookup (pd->boxes_by_image, key);
  gboolean any_blind = FALSE;

  for (guint p = 0; p < pd->peer_names->len; p++)
    {
      const char *path = pd->paths ? g_hash_table_lookup (pd->paths, key) : NULL;
      pd->pc.blind[p] = pd->n_folds[p] > 0 && path != NULL
                        && qr_image_fold (path, (guint64) pd->fold_seed[p], pd->n_folds[p]) != pd->held_out[p];
      any_blind |= pd->pc.blind[p];
    }
  if (any_blind && boxes != NULL)
    {
      *seen = g_array_new (FALSE, FALSE, sizeof (QrPeerBox));
      for (guint b = 0; b < boxes->len; b++)
        if (!pd->pc.blind[g_array_index (boxes, QrPeerBox, b).peer])
          g_array_append_val (*seen, g_array_index (boxes, QrPeerBox, b));
      boxes = *seen;
    }
  return boxes;
}

QrReview *
qr_review_compute (QrCatalog *catalog, const char *const *peers, GError **error)
{
  g_autoptr (QrReview) review = g_new0 (QrReview, 1);
  g_autoptr (GPtrArray) labels = NULL;
  g_autoptr (GHashTable) labels_by_image = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                                  (GDestroyNotify) g_array_unref);
  PeerData pd = { 0 };
  QrPeerOptions options;
  GHashTableIter iter;
  gpointer key;

  review->peer_names = g_ptr_array_new_with_free_func (g_free);
  review->items = g_array_new (FALSE, FALSE, sizeof (QrReviewItem));
  if ((review->class_names = qr_catalog_class_names (catalog, error)) == NULL
      || (labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, error)) == NULL
      || !peer_data_load (&pd, catalog, peers, review->peer_names, review->class_names, error))
    {
      peer_data_clear (&pd);
      return NULL;
    }
  for (guint l = 0; l < labels->len; l++)
    {
      QrLabelRecord *r = labels->pdata[l];
      GArray *list = g_hash_table_lookup (labels_by_image, &r->image_id);
      QrLabelBox b = { r->id, (int) r->class_id, (float) r->box.x1, (float) r->box.y1, (float) r->box.x2, (float) r->box.y2 };
      if (list == NULL)
        {
          list = g_array_new (FALSE, FALSE, sizeof (QrLabelBox));
          g_hash_table_insert (labels_by_image, g_memdup2 (&r->image_id, sizeof (gint64)), list);
        }
      g_array_append_val (list, b);
      g_hash_table_add (pd.image_ids, g_memdup2 (&r->image_id, sizeof (gint64)));
    }

  qr_peer_options_init (&options);
  options.knows = peer_knows;
  options.knows_data = &pd.pc;
  g_hash_table_iter_init (&iter, pd.image_ids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      GArray *image_labels = g_hash_table_lookup (labels_by_image, key);
      g_autoptr (GArray) seen = NULL;
      GArray *boxes = peer_data_image_boxes (&pd, key, &seen);
      g_autoptr (GArray) mistakes = NULL;

      mistakes = qr_peer_pressure (boxes ? (QrPeerBox *) boxes->data : NULL, boxes ? boxes->len : 0,
                                   (int) review->peer_names->len,
                                   image_labels ? (QrLabelBox *) image_labels->data : NULL,
                                   image_labels ? image_labels->len : 0, &options);
      for (guint m = 0; m < mistakes->len; m++)
        {
          QrReviewItem item = { g_array_index (mistakes, QrMistake, m), *(gint64 *) key };
          g_array_append_val (review->items, item);
        }
    }
  g_array_sort (review->items, by_score);
  peer_data_clear (&pd);
  return g_steal_pointer (&review);
}

void
qr_consensus_set_free (QrConsensusSet *set)
{
  if (set == NULL)
    return;
  g_clear_pointer (&set->peer_names, g_ptr_array_unref);
  g_clear_pointer (&set->class_names, g_hash_table_unref);
  g_clear_pointer (&set->objects, g_hash_table_unref);
  g_free (set);
}

QrConsensusSet *
qr_review_consensus (QrCatalog *catalog, const char *const *peers, GError **error)
{
  g_autoptr (QrConsensusSet) set = g_new0 (QrConsensusSet, 1);
  PeerData pd = { 0 };
  QrPeerOptions options;
  GHashTableIter iter;
  gpointer key;

  set->peer_names = g_ptr_array_new_with_free_func (g_free);
  set->objects = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_array_unref);
  if ((set->class_names = qr_catalog_class_names (catalog, error)) == NULL
      || !peer_data_load (&pd, catalog, peers, set->peer_names, set->class_names, error))
    {
      peer_data_clear (&pd);
      return NULL;
    }
  qr_peer_options_init (&options);
  options.knows = peer_knows;
  options.knows_data = &pd.pc;
  g_hash_table_iter_init (&iter, pd.image_ids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr (GArray) seen = NULL;
      GArray *boxes = peer_data_image_boxes (&pd, key, &seen);
      GArray *objects = qr_peer_consensus (boxes ? (QrPeerBox *) boxes->data : NULL, boxes ? boxes->len : 0,
                                           (int) set->peer_names->len, &options);
      g_hash_table_insert (set->objects, g_memdup2 (key, sizeof (gint64)), objects);
    }
  peer_data_clear (&pd);
  return g_steal_pointer (&set);
}

char *
qr_review_item_key (QrReview *review, const QrReviewItem *item)
{
  const QrMistake *m = &item->mistake;
  const char *kind = qr_mistake_kind_to_string (m->kind);

  if (m->label_id >= 0)
    return g_strdup_printf ("%s:%" G_GINT64_FORMAT ":label:%" G_GINT64_FORMAT, kind, item->image_id, m->label_id);
  return g_strdup_printf ("%s:%" G_GINT64_FORMAT ":%d:%d,%d,%d,%d:%s", kind, item->image_id, m->class_id,
                          (int) lroundf (m->x1 / 16), (int) lroundf (m->y1 / 16), (int) lroundf (m->x2 / 16),
                          (int) lroundf (m->y2 / 16),
                          m->peer >= 0 ? (const char *) review->peer_names->pdata[m->peer] : "");
}

char *
qr_review_votes_json (QrReview *review, const QrMistake *mistake)
{
  GString *json = g_string_new ("{");

  for (guint p = 0; p < review->peer_names->len; p++)
    {
      const char *name = review->peer_names->pdata[p];
      g_string_append (json, p ? ", \"" : "\"");
      for (const char *c = name; *c; c++)
        {
          if (*c == '"' || *c == '\\')
            g_string_append_c (json, '\\');
          if ((guchar) *c >= 0x20)
            g_string_append_c (json, *c);
        }
      if (mistake->votes[p] < 0)
        g_string_append (json, "\": null");
      else
        g_string_append_printf (json, "\": %.3f", mistake->votes[p]);
    }
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}

gint64
qr_review_update (QrCatalog *catalog, const char *const *peers, GError **error)
{
  g_autoptr (QrReview) review = qr_review_compute (catalog, peers, error);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_mistake_record_free);

  if (review == NULL)
    return -1;
  for (guint i = 0; i < review->items->len; i++)
    {
      QrReviewItem *item = &g_array_index (review->items, QrReviewItem, i);
      QrMistakeRecord *r;
      if (item->mistake.score < (item->mistake.kind == QR_MISTAKE_MODEL ? QR_REVIEW_MIN_MODEL_SCORE : QR_REVIEW_MIN_SCORE))
        continue;
      r = g_new0 (QrMistakeRecord, 1);
      r->image_id = item->image_id;
      r->item_key = qr_review_item_key (review, item);
      r->kind = g_strdup (qr_mistake_kind_to_string (item->mistake.kind));
      r->score = item->mistake.score;
      r->class_id = item->mistake.class_id;
      r->label_id = item->mistake.label_id;
      r->label_class_id = item->mistake.label_class_id;
      r->peer = item->mistake.peer >= 0 ? g_strdup (review->peer_names->pdata[item->mistake.peer]) : NULL;
      r->box = (QrBox) { item->mistake.x1, item->mistake.y1, item->mistake.x2, item->mistake.y2 };
      r->votes = qr_review_votes_json (review, &item->mistake);
      g_ptr_array_add (records, r);
    }
  /* caption items, when the collection has captions: judged by the zero-shot scorer */
  {
    g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, error);
    if (captions == NULL)
      return -1;
    if (captions->len > 0)
      {
        g_autoptr (GPtrArray) items = qr_caption_mistakes_judged (catalog, QR_REVIEW_MIN_CAPTION_SCORE, error);
        if (items == NULL)
          return -1;
        for (guint i = 0; i < items->len; i++)
          g_ptr_array_add (records, g_steal_pointer (&items->pdata[i]));
        g_ptr_array_set_free_func (items, NULL);
      }
  }
  if (!qr_catalog_replace_mistakes (catalog, records, error))
    return -1;
  return (gint64) records->len;
}
