/* scorer-dmsm.c: the caption model (DMSM) as a scorer (qr-scorer.h): a text's vector from the
 * text tower, cosine with each image's stored embedding. Its phrase map is the image tower applied
 * to each cell of the backbone's map (before pooling), with the image's class evidence, cosine
 * with the text: where in the image the phrase is. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-scorer.h"
#include "qr-backbone.h"
#include "qr-caption-model.h"
#include "qr-detector.h"
#include "qr-vectors.h"
#include "embedding-table.h"

#include <math.h>
#include <string.h>

struct _QrDmsmScorer
{
  GObject     parent_instance;

  /* Owned references */
  QrCatalog  *catalog;
  QrDmsm     *model;
  char      **classes;
  QrEmbeddingTable table;   /* each image's embedding */
  QrCaptionInputs inputs;   /* for phrase maps: each image's class evidence, read on first use */
  QrBackbone *backbone;     /* for phrase maps, loaded on first use */
  gint64      model_id;
  int         epoch;
  int         judge;        /* an out-of-fold judge's fold, else -1 */
  char       *title;
};

static void qr_dmsm_scorer_iface_init (QrScorerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QrDmsmScorer, qr_dmsm_scorer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (QR_TYPE_SCORER, qr_dmsm_scorer_iface_init))

static void
qr_dmsm_scorer_finalize (GObject *object)
{
  QrDmsmScorer *self = QR_DMSM_SCORER (object);

  g_clear_object (&self->catalog);
  g_clear_pointer (&self->model, qr_dmsm_free);
  g_clear_pointer (&self->classes, g_strfreev);
  qr_embedding_table_clear (&self->table);
  g_clear_pointer (&self->backbone, qr_backbone_free);
  qr_caption_inputs_clear (&self->inputs);
  g_free (self->title);
  G_OBJECT_CLASS (qr_dmsm_scorer_parent_class)->finalize (object);
}

static void
qr_dmsm_scorer_class_init (QrDmsmScorerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_dmsm_scorer_finalize;
}

static void
qr_dmsm_scorer_init (QrDmsmScorer *self)
{
  self->judge = -1;
}

QrScorer *
qr_dmsm_scorer_new (QrCatalog *catalog, GError **error)
{
  g_autoptr (QrDmsmScorer) self = g_object_new (QR_TYPE_DMSM_SCORER, NULL);
  g_autoptr (QrTextModelRecord) record = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree float *floats = NULL;
  GArray *ids = NULL;
  int O;

  self->catalog = g_object_ref (catalog);
  if ((self->model = qr_caption_model_load (catalog, &record, &self->classes, error)) == NULL)
    return NULL;
  self->model_id = record->id;
  self->epoch = record->epoch;
  O = qr_dmsm_get_shape (self->model)->out_dim;
  if (!qr_catalog_load_image_embeddings (catalog, record->id, O, &ids, &floats, &local))
    {
      /* a run stopped before it finished has no stored embeddings: make them from the features */
      QrCaptionInputs inputs;
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      if (!qr_caption_inputs_load (catalog, (const char *const *) self->classes, &inputs, error))
        return NULL;
      if (inputs.dim != qr_dmsm_get_shape (self->model)->image_dim)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "the caption model reads %d image values but the stored features give %d: train it again",
                       qr_dmsm_get_shape (self->model)->image_dim, inputs.dim);
          qr_caption_inputs_clear (&inputs);
          return NULL;
        }
      ids = g_array_ref (inputs.ids);
      floats = g_new (float, (gsize) inputs.ids->len * (gsize) O);
      qr_dmsm_embed_images (self->model, inputs.rows, (int) inputs.ids->len, floats);
      qr_caption_inputs_clear (&inputs);
    }
  qr_embedding_table_init (&self->table, ids, floats, O);
  self->title = g_strdup_printf ("Caption model (DMSM, %s%d epochs)", g_str_equal (record->state, "ready") ? "" : "stopped after ",
                                 record->epoch);
  return QR_SCORER (g_steal_pointer (&self));
}

QrScorer *
qr_dmsm_scorer_new_for (QrCatalog *catalog, QrDmsm *model, const QrCaptionInputs *inputs)
{
  QrDmsmScorer *self = g_object_new (QR_TYPE_DMSM_SCORER, NULL);
  int O = qr_dmsm_get_shape (model)->out_dim;
  g_autofree float *floats = g_new (float, (gsize) inputs->ids->len * (gsize) O);

  self->catalog = g_object_ref (catalog);
  self->model = model;
  self->classes = g_strdupv (inputs->classes);
  self->model_id = -1;
  qr_dmsm_embed_images (model, inputs->rows, (int) inputs->ids->len, floats);
  qr_embedding_table_init (&self->table, g_array_copy (inputs->ids), floats, O);
  self->title = g_strdup ("Caption model (DMSM, in memory)");
  return QR_SCORER (self);
}

gboolean
qr_dmsm_scorer_is_judge (QrDmsmScorer *self)
{
  return self->judge >= 0;
}

void
qr_caption_judges_clear (QrCaptionJudges *judges)
{
  g_clear_pointer (&judges->scorers, g_ptr_array_unref);
  judges->seed = 0;
}

gboolean
qr_caption_judges_load (QrCatalog *catalog, QrCaptionJudges *judges, GError **error)
{
  g_autoptr (QrTextModelRecord) record = NULL;
  g_autoptr (GPtrArray) scorers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) local = NULL;
  QrCaptionInputs inputs = { 0 };
  g_auto (GStrv) input_classes = NULL;
  int n = 1;

  judges->scorers = NULL;
  judges->seed = 0;
  record = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &local);
  if (record == NULL || !g_str_equal (record->state, "ready"))
    {
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      return local == NULL;
    }
  for (int k = 0; k < n; k++)
    {
      g_autoptr (GVariant) meta = NULL;
      g_autoptr (QrDmsm) model = qr_caption_judge_load (catalog, k, record->id, 0, &meta, &local);
      g_auto (GStrv) classes = NULL;
      int judges_meta = 0;
      QrDmsmScorer *scorer;

      if (model == NULL)
        break;   /* missing, or judging for another model: none are used */
      g_variant_lookup (meta, "judges", "i", &judges_meta);
      if (k == 0)
        n = judges_meta;
      else if (judges_meta != n)
        break;
      if (!g_variant_lookup (meta, "classes", "^as", &classes))
        classes = g_new0 (char *, 1);
      if (input_classes == NULL || !g_strv_equal ((const char *const *) classes, (const char *const *) input_classes))
        {
          qr_caption_inputs_clear (&inputs);
          if (!qr_caption_inputs_load (catalog, (const char *const *) classes, &inputs, &local))
            break;
          g_strfreev (input_classes);
          input_classes = g_steal_pointer (&classes);
        }
      if (inputs.dim != qr_dmsm_get_shape (model)->image_dim)
        {
          g_set_error (&local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "the caption judges read %d image values but the stored features give %d: train the caption"
                       " model again", qr_dmsm_get_shape (model)->image_dim, inputs.dim);
          break;
        }
      scorer = QR_DMSM_SCORER (qr_dmsm_scorer_new_for (catalog, g_steal_pointer (&model), &inputs));
      scorer->judge = k;
      scorer->model_id = record->id;
      g_free (scorer->title);
      scorer->title = g_strdup_printf ("Caption model (DMSM), out-of-fold judge %d of %d", k + 1, n);
      g_ptr_array_add (scorers, scorer);
    }
  qr_caption_inputs_clear (&inputs);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (n > 0 && scorers->len == (guint) n)
    {
      judges->scorers = g_steal_pointer (&scorers);
      judges->seed = (guint64) record->fold_seed;
    }
  return TRUE;
}

static const char *
dmsm_get_name (QrScorer *scorer)
{
  return "dmsm";
}

static const char *
dmsm_get_title (QrScorer *scorer)
{
  return QR_DMSM_SCORER (scorer)->title;
}

static gboolean
dmsm_prepare (QrScorer *scorer, QrScorerText *text, GError **error)
{
  QrDmsmScorer *self = QR_DMSM_SCORER (scorer);
  int O = qr_dmsm_get_shape (self->model)->out_dim;
  g_autofree float *vector = g_new (float, O);
  g_auto (GStrv) words = g_regex_split_simple ("[^[:alnum:]]+", text->text, G_REGEX_OPTIMIZE, 0);

  /* a word none of whose trigrams the model has seen is unknown to it */
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr (GPtrArray) trigrams = NULL;
      gboolean known = FALSE;
      if (words[i][0] == '\0')
        continue;
      trigrams = qr_dmsm_trigrams (words[i]);
      for (guint k = 0; k < trigrams->len && !known; k++)
        known = qr_dmsm_knows_trigram (self->model, trigrams->pdata[k]);
      if (!known)
        g_ptr_array_add (text->unknown, g_utf8_strdown (words[i], -1));
    }
  if (!qr_dmsm_embed_text (self->model, text->text, vector, error))
    return FALSE;
  text->data = g_steal_pointer (&vector);
  return TRUE;
}

static void
dmsm_release (QrScorer *scorer, QrScorerText *text)
{
  g_clear_pointer (&text->data, g_free);
}

static gboolean
dmsm_score (QrScorer *scorer, QrScorerText *text, gint64 image_id, QrTextMode mode, QrScore *out, GError **error)
{
  qr_embedding_table_score (&QR_DMSM_SCORER (scorer)->table, text->data, image_id, 2,
                            "no features for this image (train the caption model again)", out);
  return TRUE;
}

static GArray *
dmsm_search (QrScorer *scorer, QrScorerText *text, guint top, GCancellable *cancellable, GError **error)
{
  return qr_embedding_table_search (&QR_DMSM_SCORER (scorer)->table, text->data, top, 2, cancellable, error);
}

static gboolean
dmsm_rank_own (QrScorer *scorer, QrScorerText *const *texts, const gint64 *own, guint n, QrOwnImageRank *out,
              GError **error)
{
  g_autofree const float **vectors = g_new (const float *, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    vectors[i] = texts[i]->data;
  qr_embedding_table_rank_own (&QR_DMSM_SCORER (scorer)->table, vectors, own, n, out);
  return TRUE;
}

static GArray *
dmsm_candidates (QrScorer *scorer, GError **error)
{
  return g_array_ref (QR_DMSM_SCORER (scorer)->table.ids);
}

static float *
dmsm_phrase_map (QrScorer *scorer, QrScorerText *text, const char *image_path, GCancellable *cancellable,
                 int *rows, int *cols, double *cell_size, GError **error)
{
  QrDmsmScorer *self = QR_DMSM_SCORER (scorer);
  const QrDmsmShape *shape = qr_dmsm_get_shape (self->model);
  g_autoptr (QrImage) image = NULL;
  g_autoptr (QrImageRecord) record = NULL;
  g_autofree float *pooled = NULL, *map = NULL, *cells = NULL, *embedded = NULL;
  const float *evidence = NULL;
  const float *t = text->data;
  float *out;
  int C, n;

  if (self->backbone == NULL)
    {
      g_autofree char *path = qr_find_model (QR_CAPTION_MODEL_BACKBONE, error);
      if (path == NULL || (self->backbone = qr_backbone_new (QR_CAPTION_MODEL_BACKBONE, path, QR_DEVICE_AUTO, error)) == NULL)
        return NULL;
    }
  if (self->inputs.ids == NULL
      && !qr_caption_inputs_load (self->catalog, (const char *const *) self->classes, &self->inputs, error))
    return NULL;
  C = qr_backbone_get_channels (self->backbone);
  if (C + (int) g_strv_length (self->classes) != shape->image_dim)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the caption model does not read this backbone's %d channels", C);
      return NULL;
    }
  if ((image = qr_image_load (image_path, NULL, 512, error)) == NULL)
    return NULL;
  pooled = g_new (float, C);
  if (!qr_backbone_run (self->backbone, image, pooled, &map, rows, cols, cell_size, NULL, NULL, error))
    return NULL;
  /* the image's class evidence, when it is in the catalog */
  {
    const char *root = qr_catalog_get_root (self->catalog);
    gsize root_len = strlen (root);
    const char *relative = g_str_has_prefix (image_path, root) && image_path[root_len] == '/' ? image_path + root_len + 1
                                                                                           : image_path;
    record = qr_catalog_find_image (self->catalog, relative, NULL);
    if (record != NULL)
      for (guint i = 0; i < self->inputs.ids->len; i++)
        if (g_array_index (self->inputs.ids, gint64, i) == record->id)
          evidence = self->inputs.rows + (gsize) i * (gsize) self->inputs.dim + C;
  }
  /* each cell as if it were a whole image with the image's evidence: a qualitative "where" */
  n = *rows * *cols;
  cells = g_new0 (float, (gsize) n * (gsize) shape->image_dim);
  for (int i = 0; i < n; i++)
    {
      memcpy (cells + (gsize) i * shape->image_dim, map + (gsize) i * C, sizeof (float) * (gsize) C);
      if (evidence != NULL)
        memcpy (cells + (gsize) i * shape->image_dim + C, evidence, sizeof (float) * (gsize) (shape->image_dim - C));
    }
  embedded = g_new (float, (gsize) n * (gsize) shape->out_dim);
  qr_dmsm_embed_images (self->model, cells, n, embedded);
  out = g_new (float, n);
  for (int i = 0; i < n; i++)
    {
      double cosine = 0;
      for (int k = 0; k < shape->out_dim; k++)
        cosine += (double) t[k] * embedded[(gsize) i * shape->out_dim + k];
      out[i] = (float) CLAMP (cosine, 0.0, 1.0);
    }
  return out;
}

QrCatalog *
qr_dmsm_scorer_get_catalog (QrDmsmScorer *self)
{
  return self->catalog;
}

GPtrArray *
qr_dmsm_scorer_retrieve_captions (QrDmsmScorer *self, gint64 image_id, guint n_images, GError **error)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  g_autofree float *query = g_new (float, self->table.dim);
  g_autoptr (GArray) hits = NULL;

  if (!qr_embedding_table_get (&self->table, image_id, query))
    return texts;   /* no features: nothing to compare with */
  hits = qr_embedding_table_search (&self->table, query, n_images + 1, 2, NULL, NULL);
  for (guint i = 0; i < hits->len; i++)
    {
      gint64 id = g_array_index (hits, QrSearchHit, i).image_id;
      g_autoptr (GPtrArray) captions = NULL;
      if (id == image_id)
        continue;
      if ((captions = qr_catalog_list_captions (self->catalog, id, error)) == NULL)
        {
          g_ptr_array_unref (texts);
          return NULL;
        }
      for (guint c = 0; c < captions->len; c++)
        g_ptr_array_add (texts, g_strdup (captions->pdata[c]));
    }
  return texts;
}

static void
qr_dmsm_scorer_iface_init (QrScorerInterface *iface)
{
  iface->get_name = dmsm_get_name;
  iface->get_title = dmsm_get_title;
  iface->prepare = dmsm_prepare;
  iface->release = dmsm_release;
  iface->score = dmsm_score;
  iface->candidates = dmsm_candidates;
  iface->search = dmsm_search;
  iface->rank_own = dmsm_rank_own;
  iface->phrase_map = dmsm_phrase_map;
}
