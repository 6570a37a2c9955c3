/* evaluation.c: each peer of a collection scored against its labels (qr-evaluation.h): the latest
 * run of every model and the reviewed (or all) labels read from the catalog, handed to
 * inference/mistakes/evaluate.c, with the peers' agreement and the queue's score histogram. */
#define G_LOG_DOMAIN "quorum-eval"

#include "qr-evaluation.h"
#include "qr-peers.h"

#include <gio/gio.h>

void
qr_collection_eval_free (QrCollectionEval *eval)
{
  if (eval == NULL)
    return;
  g_clear_pointer (&eval->peer_names, g_ptr_array_unref);
  g_clear_pointer (&eval->per_class, g_ptr_array_unref);
  g_clear_pointer (&eval->class_names, g_hash_table_unref);
  g_free (eval->map50);
  g_free (eval->map50_95);
  g_free (eval->precision);
  g_free (eval->recall);
  g_free (eval->agreement);
  g_free (eval);
}

QrCollectionEval *
qr_collection_evaluate (QrCatalog *catalog, gboolean all_labels, double threshold, GError **error)
{
  g_autoptr (QrCollectionEval) eval = g_new0 (QrCollectionEval, 1);
  g_autoptr (GPtrArray) models = NULL, labels = NULL;
  g_autoptr (GHashTable) image_index = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GPtrArray) image_labels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr (GPtrArray) peer_boxes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  guint n;

  eval->peer_names = g_ptr_array_new_with_free_func (g_free);
  eval->per_class = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  if ((models = qr_catalog_list_models (catalog, error)) == NULL
      || (eval->class_names = qr_catalog_class_names (catalog, error)) == NULL
      || (labels = qr_catalog_list_labels (catalog, all_labels ? QR_LABEL_FILTER_ALL : QR_LABEL_FILTER_REVIEWED,
                                           error)) == NULL)
    return NULL;
  /* The images under evaluation: those with labels of the chosen kind. */
  for (guint l = 0; l < labels->len; l++)
    {
      QrLabelRecord *r = labels->pdata[l];
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (image_index, &r->image_id));
      QrLabelBox b = { r->id, (int) r->class_id, (float) r->box.x1, (float) r->box.y1, (float) r->box.x2, (float) r->box.y2 };
      if (at == 0)
        {
          g_ptr_array_add (image_labels, g_array_new (FALSE, FALSE, sizeof (QrLabelBox)));
          at = image_labels->len;
          g_hash_table_insert (image_index, g_memdup2 (&r->image_id, sizeof (gint64)), GUINT_TO_POINTER (at));
        }
      g_array_append_val ((GArray *) image_labels->pdata[at - 1], b);
    }
  if (image_labels->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s",
                   all_labels ? "the collection has no labels"
                              : "no reviewed image has labels (review some, or use every label)");
      return NULL;
    }
  eval->n_images = image_labels->len;
  for (guint i = 0; i < models->len; i++)
    {
      QrModelRecord *m = models->pdata[i];
      gint64 run = qr_catalog_latest_run (catalog, m->id, NULL);
      g_autoptr (GArray) dets = NULL;
      GPtrArray *per_image;
      if (run < 0 || eval->peer_names->len == QR_PEERS_MAX)
        continue;
      if ((dets = qr_catalog_list_detections (catalog, run, error)) == NULL)
        return NULL;
      per_image = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
      for (guint k = 0; k < image_labels->len; k++)
        g_ptr_array_add (per_image, g_array_new (FALSE, FALSE, sizeof (QrPeerBox)));
      for (guint k = 0; k < dets->len; k++)
        {
          QrDetectionRecord *d = &g_array_index (dets, QrDetectionRecord, k);
          guint at = GPOINTER_TO_UINT (g_hash_table_lookup (image_index, &d->image_id));
          QrPeerBox b = { (int) eval->peer_names->len, (int) d->class_id, d->score, (float) d->box.x1,
                          (float) d->box.y1, (float) d->box.x2, (float) d->box.y2 };
          if (at > 0)
            g_array_append_val ((GArray *) per_image->pdata[at - 1], b);
        }
      g_ptr_array_add (eval->peer_names, g_strdup (m->name));
      g_ptr_array_add (peer_boxes, per_image);
    }
  n = eval->peer_names->len;
  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no model has run on this collection: run the peers first");
      return NULL;
    }

  eval->map50 = g_new0 (double, n);
  eval->map50_95 = g_new0 (double, n);
  eval->precision = g_new0 (double, n);
  eval->recall = g_new0 (double, n);
  eval->agreement = g_new0 (double, (gsize) n * n);
  for (guint p = 0; p < n; p++)
    {
      GPtrArray *per_image = peer_boxes->pdata[p];
      g_autofree QrEvalImage *images = g_new0 (QrEvalImage, image_labels->len);
      GArray *e;
      for (guint k = 0; k < image_labels->len; k++)
        {
          GArray *b = per_image->pdata[k], *l = image_labels->pdata[k];
          images[k] = (QrEvalImage) { (QrPeerBox *) b->data, b->len, (QrLabelBox *) l->data, l->len };
        }
      e = qr_evaluate (images, image_labels->len, (float) threshold);
      for (guint c = 0; c < e->len; c++)
        {
          QrClassEval *x = &g_array_index (e, QrClassEval, c);
          eval->map50[p] += x->ap50 / e->len;
          eval->map50_95[p] += x->ap50_95 / e->len;
          eval->precision[p] += x->precision / e->len;
          eval->recall[p] += x->recall / e->len;
        }
      g_ptr_array_add (eval->per_class, e);
    }
  for (guint p = 0; p < n; p++)
    for (guint q = 0; q < n; q++)
      {
        g_autofree QrEvalImage *a = g_new0 (QrEvalImage, image_labels->len);
        g_autofree QrEvalImage *b = g_new0 (QrEvalImage, image_labels->len);
        for (guint k = 0; k < image_labels->len; k++)
          {
            GArray *ba = ((GPtrArray *) peer_boxes->pdata[p])->pdata[k];
            GArray *bb = ((GPtrArray *) peer_boxes->pdata[q])->pdata[k];
            a[k] = (QrEvalImage) { (QrPeerBox *) ba->data, ba->len, NULL, 0 };
            b[k] = (QrEvalImage) { (QrPeerBox *) bb->data, bb->len, NULL, 0 };
          }
        eval->agreement[p * n + q] = qr_peer_agreement (a, b, image_labels->len, (float) threshold);
      }
  /* the label-mistake scores peer pressure gives these images */
  for (guint k = 0; k < image_labels->len; k++)
    {
      g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (QrPeerBox));
      g_autoptr (GArray) mistakes = NULL;
      GArray *l = image_labels->pdata[k];
      for (guint p = 0; p < n; p++)
        {
          GArray *b = ((GPtrArray *) peer_boxes->pdata[p])->pdata[k];
          g_array_append_vals (all, b->data, b->len);
        }
      mistakes = qr_peer_pressure ((QrPeerBox *) all->data, all->len, (int) n, (QrLabelBox *) l->data, l->len, NULL);
      for (guint m = 0; m < mistakes->len; m++)
        {
          QrMistake *x = &g_array_index (mistakes, QrMistake, m);
          if (x->kind == QR_MISTAKE_MODEL)
            continue;
          eval->histogram[MIN ((int) (x->score * 10), 9)]++;
          eval->n_items++;
        }
    }
  return g_steal_pointer (&eval);
}
