/* clip.c: a CLIP model from ONNX (qr-clip.h): the two towers (two files, or one file holding both,
 * each tower imported alone from it) imported by the ONNX importer, the
 * tokenizer, and the image preprocessing of preprocessor_config.json (Hugging Face's
 * CLIPImageProcessor: shorter side to `size`, bicubic; centre crop; rescale; normalise). The
 * graphs are imported for one batch size (CLIP's transformer keeps its sequence first, L × N × D,
 * so the batch is not only the first dimension and cannot be changed after import): the towers
 * for one item, and for a collection's embeddings a second image tower for QR_CLIP_BATCH items,
 * made on first use where the export allows it (a dynamic batch), checked against the first, then
 * used in its place (the weights held once). */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-clip.h"
#include "qr-onnx.h"
#include "engine-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef struct
{
  QrModel *model;
  char    *output;
  int      dim;
  int      in_h, in_w;      /* the image tower's input */
} Tower;

struct _QrClip
{
  Tower            image, text;
  Tower            patches;           /* the image tower keeping every token (made on first use) */
  Tower            batched;           /* the image tower for QR_CLIP_BATCH items (made on first use) */
  int              batch;             /* its batch; 0 before it is tried, 1 when it cannot be had */
  char            *vision_path;
  gboolean         combined;          /* one file holds both towers (onnx/model.onnx) */
  QrDevice         device;
  QrPrecision      precision;         /* on CUDA (the CPU computes in float32 whatever it says) */
  int              n_threads;         /* the towers' CPU threads (0: one per core) */
  gboolean         image_loaded;      /* the image tower was imported (qr_clip_load_text waits for a use) */
  int              grid;              /* patches per side */
  QrClipTokenizer *tokenizer;
  int              pad_id;
  int              size, crop;        /* shorter side after resizing; the crop's side */
  float            rescale, mean[3], std[3];
  GMutex           lock;              /* one run at a time per tower's buffers */
};

void
qr_clip_free (QrClip *self)
{
  if (self == NULL)
    return;
  qr_model_free (self->image.model);
  qr_model_free (self->text.model);
  qr_model_free (self->patches.model);
  qr_model_free (self->batched.model);
  g_free (self->batched.output);
  g_free (self->image.output);
  g_free (self->text.output);
  g_free (self->patches.output);
  g_free (self->vision_path);
  qr_clip_tokenizer_free (self->tokenizer);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* dir/onnx/NAME, else dir/NAME; NULL when neither is there. */
static char *
find_file (const char *dir, const char *name)
{
  g_autofree char *nested = g_build_filename (dir, "onnx", name, NULL);
  g_autofree char *flat = g_build_filename (dir, name, NULL);

  if (g_file_test (nested, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&nested);
  if (g_file_test (flat, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&flat);
  return NULL;
}

/* combined: the file holds both towers; only want_output and what it needs are imported. */
static gboolean
load_tower (Tower *tower, const char *path, gboolean image, int side, int batch, const char *want_output,
            gboolean combined, QrDevice device, QrPrecision precision, int n_threads, GError **error)
{
  /* exports with a dynamic batch, sequence or image size get CLIP's: `batch` items, 77 tokens,
     the preprocessor's crop */
  const char *const only[] = { want_output, NULL };
  QrOnnxOptions options = { .nhwc_input = image,
                            .input_dims = { batch, image ? 3 : QR_CLIP_CONTEXT, image ? side : 0, image ? side : 0 },
                            .outputs = combined ? only : NULL };
  g_autoptr (QrOnnxTensor) mask = NULL;
  QrOnnxTensor *bound[1];
  g_autoptr (QrGraph) graph = NULL;
  int out = -1;

  if (!image)
    {
      /* the attention mask some exports take: all ones */
      mask = g_new0 (QrOnnxTensor, 1);
      mask->name = g_strdup ("attention_mask");
      mask->data_type = 7;
      mask->rank = 2;
      mask->dims[0] = 1;
      mask->dims[1] = QR_CLIP_CONTEXT;
      mask->n = QR_CLIP_CONTEXT;
      mask->data = g_new (float, QR_CLIP_CONTEXT);
      for (int i = 0; i < QR_CLIP_CONTEXT; i++)
        mask->data[i] = 1.0f;
      bound[0] = mask;
      options.n_bound = 1;
      options.bound = bound;
    }
  graph = qr_graph_load_onnx (path, &options, error);
  if (graph == NULL)
    return FALSE;
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, g_array_index (graph->outputs, int, i));
      if (g_strcmp0 (t->name, want_output) == 0 || (graph->outputs->len == 1 && t->shape.rank == 2))
        out = g_array_index (graph->outputs, int, i);
    }
  if (out < 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: no output named %s (and not one "
                   "output of [1, dim])", path, want_output);
      return FALSE;
    }
  {
    QrTensor *t = qr_graph_tensor (graph, out);
    QrTensor *in = qr_graph_tensor (graph, g_array_index (graph->inputs, int, 0));
    if (t->shape.rank != 2 || t->shape.dims[0] != batch)
      {
        g_autofree char *s = qr_shape_to_string (&t->shape);
        g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: output %s is %s (an embedding is [%d, "
                     "dim])", path, t->name, s, batch);
        return FALSE;
      }
    if (!image && (in->shape.rank != 2 || in->shape.dims[1] != QR_CLIP_CONTEXT))
      {
        g_autofree char *s = qr_shape_to_string (&in->shape);
        g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: input %s is %s (CLIP's text tower "
                     "takes [1, %d] token ids)", path, in->name, s, QR_CLIP_CONTEXT);
        return FALSE;
      }
    tower->dim = t->shape.dims[1];
    tower->output = g_strdup (t->name);
    tower->in_h = in->shape.rank == 4 ? in->shape.dims[1] : 0;
    tower->in_w = in->shape.rank == 4 ? in->shape.dims[2] : 0;
  }
  tower->model = qr_model_new (g_steal_pointer (&graph), device, precision, n_threads, error);
  return tower->model != NULL;
}

/* An int, or an object's "shortest_edge" / "height" member (the forms preprocessor configs use). */
static int
config_size (JsonObject *config, const char *member, int fallback)
{
  JsonNode *node = json_object_has_member (config, member) ? json_object_get_member (config, member) : NULL;

  if (node == NULL)
    return fallback;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    return (int) json_node_get_int (node);
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      if (json_object_has_member (o, "shortest_edge"))
        return (int) json_object_get_int_member (o, "shortest_edge");
      if (json_object_has_member (o, "height"))
        return (int) json_object_get_int_member (o, "height");
    }
  return -1;
}

static gboolean
read_preprocessor (QrClip *self, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "preprocessor_config.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonObject *config;
  const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f }, std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

  /* CLIP's own values unless the folder says otherwise */
  self->size = self->crop = 224;
  self->rescale = 1.0f / 255.0f;
  memcpy (self->mean, mean, sizeof mean);
  memcpy (self->std, std, sizeof std);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: %s", path, local->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: not a JSON object", path);
      return FALSE;
    }
  config = json_node_get_object (json_parser_get_root (parser));
  self->size = config_size (config, "size", 224);
  self->crop = config_size (config, "crop_size", self->size);
  if (self->size < 8 || self->size > 4096 || self->crop < 8 || self->crop > self->size)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: size %d and crop_size %d (8 to 4096, the "
                   "crop no larger)", path, self->size, self->crop);
      return FALSE;
    }
  if (json_object_has_member (config, "rescale_factor"))
    self->rescale = (float) json_object_get_double_member (config, "rescale_factor");
  for (int k = 0; k < 2; k++)
    {
      const char *member = k == 0 ? "image_mean" : "image_std";
      float *values = k == 0 ? self->mean : self->std;
      JsonArray *a;
      if (!json_object_has_member (config, member))
        continue;
      a = JSON_NODE_HOLDS_ARRAY (json_object_get_member (config, member)) ? json_object_get_array_member (config, member)
                                                                          : NULL;
      if (a == NULL || json_array_get_length (a) != 3)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: %s is not a list of 3 numbers", path, member);
          return FALSE;
        }
      for (int c = 0; c < 3; c++)
        values[c] = (float) json_array_get_double_element (a, (guint) c);
      if (k == 1 && (values[0] <= 0 || values[1] <= 0 || values[2] <= 0))
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: image_std must be positive", path);
          return FALSE;
        }
    }
  return TRUE;
}

QrClip *
qr_clip_load (const char *dir, QrDevice device, GError **error)
{
  return qr_clip_load_threads (dir, device, 0, error);
}

/* The image tower, imported on first need, and checked against the text tower and the
 * preprocessor. */
static gboolean
ensure_image (QrClip *self, GError **error)
{
  if (self->image_loaded)
    return TRUE;
  if (!load_tower (&self->image, self->vision_path, TRUE, self->crop, 1, "image_embeds", self->combined, self->device,
                   self->precision, self->n_threads, error))
    return FALSE;
  if (self->image.dim != self->text.dim)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: the image embedding has %d values, the text "
                   "embedding %d (not one model's towers)", self->vision_path, self->image.dim, self->text.dim);
      g_clear_pointer (&self->image.model, qr_model_free);
      return FALSE;
    }
  if (self->image.in_w != self->crop || self->image.in_h != self->crop)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: the image tower takes %d × %d, the "
                   "preprocessor crops %d × %d", self->vision_path, self->image.in_w, self->image.in_h, self->crop,
                   self->crop);
      g_clear_pointer (&self->image.model, qr_model_free);
      return FALSE;
    }
  self->image_loaded = TRUE;
  return TRUE;
}

/* The folder, the tokenizer, the preprocessor and the text tower; the image tower is left for
 * ensure_image. */
static QrClip *
clip_open (const char *dir, QrDevice device, QrPrecision precision, int n_threads, GError **error)
{
  g_autoptr (QrClip) self = g_new0 (QrClip, 1);
  g_autofree char *vision = find_file (dir, "vision_model.onnx");
  g_autofree char *text = find_file (dir, "text_model.onnx");
  g_autofree char *combined = find_file (dir, "model.onnx");
  g_autofree char *hf = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *openai = g_build_filename (dir, "bpe_simple_vocab_16e6.txt.gz", NULL);

  g_mutex_init (&self->lock);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: not a folder (a CLIP model is a folder with "
                   "onnx/vision_model.onnx, onnx/text_model.onnx and tokenizer.json)", dir);
      return NULL;
    }
  /* the two towers in one file (inputs input_ids and pixel_values, outputs text_embeds and
     image_embeds) when the folder has no file per tower */
  if (vision == NULL && text == NULL && combined != NULL)
    {
      vision = g_strdup (combined);
      text = g_strdup (combined);
      self->combined = TRUE;
    }
  if (vision == NULL || text == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: no %s (a CLIP model folder holds "
                   "onnx/vision_model.onnx and onnx/text_model.onnx, or both towers in onnx/model.onnx)", dir,
                   vision == NULL ? "vision_model.onnx" : "text_model.onnx");
      return NULL;
    }
  if (g_file_test (hf, G_FILE_TEST_EXISTS))
    self->tokenizer = qr_clip_tokenizer_load (hf, error);
  else if (g_file_test (openai, G_FILE_TEST_EXISTS))
    self->tokenizer = qr_clip_tokenizer_load (openai, error);
  else
    g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: no tokenizer.json or bpe_simple_vocab_16e6.txt.gz",
                 dir);
  if (self->tokenizer == NULL)
    return NULL;
  /* Hugging Face pads with the end token, OpenAI with 0: the same for a causal text tower */
  self->pad_id = g_file_test (hf, G_FILE_TEST_EXISTS) ? qr_clip_tokenizer_end (self->tokenizer) : 0;
  self->vision_path = g_strdup (vision);
  self->device = device;
  self->precision = precision;
  self->n_threads = n_threads;
  if (!read_preprocessor (self, dir, error)
      || !load_tower (&self->text, text, FALSE, 0, 1, "text_embeds", self->combined, device, precision, n_threads,
                          error))
    return NULL;
  return g_steal_pointer (&self);
}

QrClip *
qr_clip_load_threads (const char *dir, QrDevice device, int n_threads, GError **error)
{
  return qr_clip_load_full (dir, device, QR_PRECISION_FP32, n_threads, error);
}

QrClip *
qr_clip_load_full (const char *dir, QrDevice device, QrPrecision precision, int n_threads, GError **error)
{
  g_autoptr (QrClip) self = clip_open (dir, device, precision, n_threads, error);

  if (self == NULL || !ensure_image (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

QrClip *
qr_clip_load_text (const char *dir, QrDevice device, GError **error)
{
  return clip_open (dir, device, QR_PRECISION_FP32, 0, error);
}

int qr_clip_get_dim (QrClip *self) { return self->text.dim; }
const char *qr_clip_get_device (QrClip *self)
{
  return qr_model_get_device (self->image.model != NULL ? self->image.model : self->text.model);
}
int qr_clip_get_image_size (QrClip *self) { return self->crop; }
QrClipTokenizer *qr_clip_get_tokenizer (QrClip *self) { return self->tokenizer; }

/* The shorter side to size, the longer in proportion (truncated); the crop centred. */
static void
resized_size (QrClip *self, const QrImage *image, int *nw, int *nh, int *left, int *top)
{
  int w = image->width, h = image->height;

  if (w <= h)
    *nw = self->size, *nh = MAX (1, (int) ((gint64) self->size * h / w));
  else
    *nh = self->size, *nw = MAX (1, (int) ((gint64) self->size * w / h));
  *top = MAX (0, (*nh - self->crop) / 2);
  *left = MAX (0, (*nw - self->crop) / 2);
}

void
qr_clip_crop_box (QrClip *self, const QrImage *image, double *x0, double *y0, double *side)
{
  int nw, nh, left, top;
  double scale;

  resized_size (self, image, &nw, &nh, &left, &top);
  scale = (double) image->width / nw;
  *x0 = left * scale;
  *y0 = top * ((double) image->height / nh);
  *side = self->crop * scale;
}

void
qr_clip_preprocess (QrClip *self, const QrImage *image, float *input)
{
  int nw, nh, top, left, c = self->crop;
  g_autoptr (QrImage) resized = NULL;

  resized_size (self, image, &nw, &nh, &left, &top);
  resized = qr_image_resize_bicubic (image, nw, nh);

  for (int y = 0; y < c; y++)
    for (int x = 0; x < c; x++)
      for (int k = 0; k < 3; k++)
        {
          float v = resized->pixels[((gsize) (y + top) * (gsize) nw + (gsize) (x + left)) * 3 + (gsize) k];
          input[((gsize) y * (gsize) c + (gsize) x) * 3 + (gsize) k] = (v * self->rescale - self->mean[k]) / self->std[k];
        }
}

/* The tower on `batch` items (its own batch size); the first n embeddings kept. */
static gboolean
run_tower_n (Tower *tower, const float *input, int batch, int n, float *embedding, GError **error)
{
  int rank, dims[4];
  const float *out;

  if (!qr_model_run (tower->model, input, batch, NULL, NULL, error))
    return FALSE;
  out = qr_model_get_output (tower->model, tower->output, &rank, dims);
  memcpy (embedding, out, sizeof (float) * (gsize) tower->dim * (gsize) n);
  for (gsize i = 0; i < (gsize) tower->dim * (gsize) n; i++)
    if (!isfinite (embedding[i]))
      {
        g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS, "the embedding holds %s (the model's weights?)",
                     isnan (embedding[i]) ? "NaN" : "an infinity");
        return FALSE;
      }
  return TRUE;
}

static gboolean
run_tower (Tower *tower, const float *input, float *embedding, GError **error)
{
  return run_tower_n (tower, input, 1, 1, embedding, error);
}

/* The batched image tower, made once (under the lock). An export whose batch is fixed, or whose
 * graph does not keep the items apart, leaves self->batch at 1: its first item is checked against
 * the one-item tower on the same input, so a graph that mixes items is never used. */
static void
load_batched (QrClip *self, const float *input)
{
  gsize item = (gsize) self->crop * (gsize) self->crop * 3;
  g_autoptr (GError) local = NULL;
  g_autofree float *inputs = NULL, *one = NULL, *many = NULL;
  float worst = 0.0f, largest = 0.0f;

  self->batch = 1;
  if (!load_tower (&self->batched, self->vision_path, TRUE, self->crop, QR_CLIP_BATCH, "image_embeds", self->combined,
                   self->device, self->precision, self->n_threads, &local))
    {
      g_debug ("%s: one image at a time: %s", self->vision_path, local->message);
      return;
    }
  inputs = g_new0 (float, item * QR_CLIP_BATCH);
  one = g_new (float, (gsize) self->image.dim);
  many = g_new (float, (gsize) self->image.dim * QR_CLIP_BATCH);
  memcpy (inputs, input, item * sizeof (float));
  for (gsize j = 0; j < item; j++)   /* the second item differs from the first */
    inputs[item + j] = -input[j];
  if (!run_tower (&self->image, input, one, &local)
      || !run_tower_n (&self->batched, inputs, QR_CLIP_BATCH, QR_CLIP_BATCH, many, &local))
    {
      g_debug ("%s: one image at a time: %s", self->vision_path, local->message);
      g_clear_pointer (&self->batched.model, qr_model_free);
      return;
    }
  for (int i = 0; i < self->image.dim; i++)
    {
      worst = MAX (worst, fabsf (one[i] - many[i]));
      largest = MAX (largest, fabsf (one[i]));
    }
  if (worst > 1e-3f * MAX (largest, 1e-6f))
    {
      g_debug ("%s: one image at a time: in a batch, the first image's embedding differs by %g (of %g)",
               self->vision_path, worst, largest);
      g_clear_pointer (&self->batched.model, qr_model_free);
      return;
    }
  self->batch = QR_CLIP_BATCH;
  /* the weights are not kept twice: a single image now goes through the batched tower, padded */
  g_clear_pointer (&self->image.model, qr_model_free);
}

/* count (1 to self->batch) prepared images through the batched tower, a short batch padded with
 * zeros. */
static gboolean
run_batched (QrClip *self, const float *inputs, int count, float *embeddings, GError **error)
{
  gsize item = (gsize) self->crop * (gsize) self->crop * 3;
  g_autofree float *padded = NULL;

  if (count < self->batch)
    {
      padded = g_new0 (float, item * (gsize) self->batch);
      memcpy (padded, inputs, item * (gsize) count * sizeof (float));
      inputs = padded;
    }
  return run_tower_n (&self->batched, inputs, self->batch, count, embeddings, error);
}

/* One prepared image through the one-image tower, or through the batched one once that has
 * replaced it. */
static gboolean
run_image (QrClip *self, const float *input, float *embedding, GError **error)
{
  if (self->image.model != NULL)
    return run_tower (&self->image, input, embedding, error);
  return run_batched (self, input, 1, embedding, error);
}

gboolean
qr_clip_embed_inputs (QrClip *self, const float *inputs, int n, float *embeddings, GError **error)
{
  gsize item = (gsize) self->crop * (gsize) self->crop * 3, dim = (gsize) self->text.dim;
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  if (!ensure_image (self, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (n > 1 && self->batch == 0)
    load_batched (self, inputs);
  for (int first = 0; ok && first < n;)
    {
      int count = self->batch > 1 && n - first > 1 ? MIN (n - first, self->batch) : 1;
      if (count > 1)
        ok = run_batched (self, inputs + (gsize) first * item, count, embeddings + (gsize) first * dim, error);
      else
        ok = run_image (self, inputs + (gsize) first * item, embeddings + (gsize) first * dim, error);
      first += count;
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

int
qr_clip_get_batch (QrClip *self)
{
  return self->batch;
}

gboolean
qr_clip_embed_input (QrClip *self, const float *input, float *embedding, GError **error)
{
  gboolean ok;
  g_mutex_lock (&self->lock);
  ok = ensure_image (self, error) && run_image (self, input, embedding, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

gboolean
qr_clip_embed_image (QrClip *self, const QrImage *image, float *embedding, GError **error)
{
  g_autofree float *input = g_new (float, (gsize) self->crop * (gsize) self->crop * 3);
  qr_clip_preprocess (self, image, input);
  return qr_clip_embed_input (self, input, embedding, error);
}

gboolean
qr_clip_embed_text (QrClip *self, const char *text, float *embedding, int *ids, GError **error)
{
  int tokens[QR_CLIP_CONTEXT];
  float values[QR_CLIP_CONTEXT];
  gboolean ok;

  qr_clip_tokenize (self->tokenizer, text, self->pad_id, tokens);
  for (int i = 0; i < QR_CLIP_CONTEXT; i++)
    values[i] = (float) tokens[i];
  if (ids != NULL)
    memcpy (ids, tokens, sizeof tokens);
  g_mutex_lock (&self->lock);
  ok = run_tower (&self->text, values, embedding, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* The image tower again, with the class token's selection left out (QrOnnxOptions.keep_tokens):
 * its output is every token through the final layer norm and the projection. */
static gboolean
load_patches (QrClip *self, GError **error)
{
  const char *const only[] = { self->image.output != NULL ? self->image.output : "image_embeds", NULL };
  QrOnnxOptions options = { .nhwc_input = TRUE, .keep_tokens = TRUE, .input_dims = { 1, 3, self->crop, self->crop },
                            .outputs = self->combined ? only : NULL };
  g_autoptr (QrGraph) graph = qr_graph_load_onnx (self->vision_path, &options, error);
  QrTensor *t = NULL;
  int grid;

  if (graph == NULL)
    return FALSE;
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      QrTensor *o = qr_graph_tensor (graph, g_array_index (graph->outputs, int, i));
      if (o->shape.rank == 3 && o->shape.dims[2] == self->text.dim)
        t = o;
    }
  grid = t != NULL ? (int) lround (sqrt ((double) (t->shape.dims[1] - 1))) : 0;
  if (t == NULL || grid < 1 || grid * grid + 1 != t->shape.dims[1])
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: no patch embeddings (a phrase map needs a "
                   "ViT image tower that picks its class token out of the sequence)", self->vision_path);
      return FALSE;
    }
  self->patches.dim = self->text.dim;
  self->patches.output = g_strdup (t->name);
  self->grid = grid;
  self->patches.model = qr_model_new (g_steal_pointer (&graph), self->device, self->precision, self->n_threads, error);
  return self->patches.model != NULL;
}

float *
qr_clip_patch_embeddings (QrClip *self, const float *input, int *grid, GError **error)
{
  int rank, dims[4];
  const float *out;
  float *patches = NULL;

  g_mutex_lock (&self->lock);
  if ((self->patches.model != NULL || load_patches (self, error))
      && qr_model_run (self->patches.model, input, 1, NULL, NULL, error))
    {
      gsize n = (gsize) self->grid * (gsize) self->grid * (gsize) self->text.dim;
      out = qr_model_get_output (self->patches.model, self->patches.output, &rank, dims);
      /* the class token first, then the patches row by row */
      patches = g_memdup2 (out + self->text.dim, n * sizeof (float));
      *grid = self->grid;
    }
  g_mutex_unlock (&self->lock);
  return patches;
}
