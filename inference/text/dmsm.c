/* dmsm.c: the DMSM's two towers, its loss and gradients, Adam, and its saved form (qr-dmsm.h).
 * Each tower is two tanh layers; the text tower's first layer reads a sparse bag of letter
 * trigrams (a gather of weight rows forward, a scatter back), everything else is dense matrices on
 * OpenBLAS. tests/test-dmsm.c checks the loss and every gradient against PyTorch. */
#define G_LOG_DOMAIN "quorum-text"

#include "quorum-config.h"
#include "dmsm-private.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (qr-dmsm-error-quark, qr_dmsm_error)

#define SAVED_FORMAT 1

static const char *const param_names[QR_DMSM_N_PARAMS] = {
  "text.w1", "text.b1", "text.w2", "text.b2", "image.w1", "image.b1", "image.w2", "image.b2",
};

enum
{
  TW1 = QR_DMSM_TW1, TB1 = QR_DMSM_TB1, TW2 = QR_DMSM_TW2, TB2 = QR_DMSM_TB2,
  IW1 = QR_DMSM_IW1, IB1 = QR_DMSM_IB1, IW2 = QR_DMSM_IW2, IB2 = QR_DMSM_IB2,
};

const char *
qr_dmsm_param_name (guint i)
{
  return i < QR_DMSM_N_PARAMS ? param_names[i] : NULL;
}

GPtrArray *
qr_dmsm_trigrams (const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *lower = g_utf8_strdown (text, -1);
  GString *word = g_string_new ("#");

  for (const char *p = lower;; p = g_utf8_next_char (p))
    {
      gunichar c = *p ? g_utf8_get_char (p) : 0;

      if (c != 0 && g_unichar_isalnum (c))
        {
          g_string_append_unichar (word, c);
          continue;
        }
      if (word->len > 1)
        {
          g_string_append_c (word, '#');
          /* trigrams of characters, not bytes */
          for (const char *a = word->str; *a; a = g_utf8_next_char (a))
            {
              const char *b = g_utf8_next_char (a), *c3;
              if (*b == 0)
                break;
              c3 = g_utf8_next_char (b);
              if (*c3 == 0)
                break;
              g_ptr_array_add (out, g_strndup (a, (gsize) (g_utf8_next_char (c3) - a)));
            }
        }
      g_string_assign (word, "#");
      if (c == 0)
        break;
    }
  g_string_free (word, TRUE);
  return out;
}

typedef struct
{
  const char *trigram;
  guint       count;
} Counted;

static int
compare_counted (gconstpointer a, gconstpointer b)
{
  const Counted *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->trigram, y->trigram);
}

char **
qr_dmsm_build_vocabulary (const char *const *texts, guint n_texts, guint max_size, guint min_count)
{
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GArray) sorted = g_array_new (FALSE, FALSE, sizeof (Counted));
  GHashTableIter iter;
  gpointer key, value;
  GStrvBuilder *builder = g_strv_builder_new ();
  char **out;

  for (guint t = 0; t < n_texts; t++)
    {
      g_autoptr (GPtrArray) trigrams = qr_dmsm_trigrams (texts[t]);
      for (guint i = 0; i < trigrams->len; i++)
        {
          char *trigram = trigrams->pdata[i];
          gpointer old;
          if (g_hash_table_lookup_extended (counts, trigram, NULL, &old))
            g_hash_table_insert (counts, g_strdup (trigram), GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
          else
            g_hash_table_insert (counts, g_strdup (trigram), GUINT_TO_POINTER (1));
        }
    }
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_UINT (value) >= MAX (min_count, 1))
      {
        Counted c = { key, GPOINTER_TO_UINT (value) };
        g_array_append_val (sorted, c);
      }
  g_array_sort (sorted, compare_counted);
  for (guint i = 0; i < sorted->len && (max_size == 0 || i < max_size); i++)
    g_strv_builder_add (builder, g_array_index (sorted, Counted, i).trigram);
  out = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return out;
}

static void
set_vocabulary (QrDmsm *self, const char *const *vocabulary)
{
  GString *joined = g_string_new (NULL);

  self->vocabulary = g_strdupv ((char **) vocabulary);
  self->n_vocabulary = g_strv_length (self->vocabulary);
  self->index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->n_vocabulary; i++)
    {
      g_hash_table_insert (self->index, self->vocabulary[i], GUINT_TO_POINTER (i + 1));
      g_string_append (joined, self->vocabulary[i]);
      g_string_append_c (joined, '\n');
    }
  self->vocabulary_hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, joined->str, (gssize) joined->len);
  g_string_free (joined, TRUE);
}

static void
allocate (QrDmsm *self)
{
  gsize V = self->n_vocabulary, D = (gsize) self->shape.image_dim;
  gsize H = (gsize) self->shape.hidden, O = (gsize) self->shape.out_dim;
  const gsize sizes[QR_DMSM_N_PARAMS] = { V * H, H, H * O, O, D * H, H, H * O, O };

  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      self->sizes[i] = sizes[i];
      self->params[i] = g_new0 (float, MAX (sizes[i], 1));
    }
  self->scale_mean = g_new0 (float, D);
  self->scale_std = g_new (float, D);
  for (gsize d = 0; d < D; d++)
    self->scale_std[d] = 1;
}

QrDmsm *
qr_dmsm_new (const char *const *vocabulary, const QrDmsmShape *shape, guint64 seed)
{
  QrDmsm *self = g_new0 (QrDmsm, 1);
  g_autoptr (GRand) rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed, (guint32) (seed >> 32) }, 2);
  const int fan[QR_DMSM_N_PARAMS][2] = {
    { 0, 0 }, { 0, 0 }, { shape->hidden, shape->out_dim }, { 0, 0 },
    { shape->image_dim, shape->hidden }, { 0, 0 }, { shape->hidden, shape->out_dim }, { 0, 0 },
  };

  g_return_val_if_fail (shape->image_dim > 0 && shape->hidden > 0 && shape->out_dim > 0, NULL);
  self->shape = *shape;
  set_vocabulary (self, vocabulary);
  allocate (self);
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      int fan_in = fan[i][0], fan_out = fan[i][1];
      double limit;
      if (i == TW1)
        fan_in = (int) self->n_vocabulary, fan_out = shape->hidden;
      if (fan_in == 0)
        continue;
      limit = sqrt (6.0 / (fan_in + fan_out));
      for (gsize k = 0; k < self->sizes[i]; k++)
        self->params[i][k] = (float) g_rand_double_range (rand, -limit, limit);
    }
  return self;
}

void
qr_dmsm_free (QrDmsm *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    g_free (self->params[i]);
  g_free (self->scale_mean);
  g_free (self->scale_std);
  g_clear_pointer (&self->index, g_hash_table_unref);
  g_strfreev (self->vocabulary);
  g_free (self->vocabulary_hash);
  g_free (self);
}

const QrDmsmShape *
qr_dmsm_get_shape (QrDmsm *self)
{
  return &self->shape;
}

guint
qr_dmsm_get_vocabulary_size (QrDmsm *self)
{
  return self->n_vocabulary;
}

const char *const *
qr_dmsm_get_vocabulary (QrDmsm *self)
{
  return (const char *const *) self->vocabulary;
}

gboolean
qr_dmsm_knows_trigram (QrDmsm *self, const char *trigram)
{
  return g_hash_table_contains (self->index, trigram);
}

const char *
qr_dmsm_get_vocabulary_hash (QrDmsm *self)
{
  return self->vocabulary_hash;
}

void
qr_dmsm_set_image_scaling (QrDmsm *self, const float *mean, const float *std)
{
  for (int d = 0; d < self->shape.image_dim; d++)
    {
      self->scale_mean[d] = mean[d];
      self->scale_std[d] = std[d] > 1e-6f ? std[d] : 1.0f;
    }
}

float *
qr_dmsm_get_param (QrDmsm *self, guint i, gsize *n_values)
{
  g_return_val_if_fail (i < QR_DMSM_N_PARAMS, NULL);
  if (n_values)
    *n_values = self->sizes[i];
  return self->params[i];
}

/* ---- forward ---------------------------------------------------------------------------- */

void
qr_dmsm_bags_init (QrDmsmBags *bags)
{
  bags->idx = g_array_new (FALSE, FALSE, sizeof (guint32));
  bags->val = g_array_new (FALSE, FALSE, sizeof (float));
  bags->rows = g_array_new (FALSE, FALSE, sizeof (guint));
}

void
qr_dmsm_bags_clear (QrDmsmBags *bags)
{
  g_array_unref (bags->idx);
  g_array_unref (bags->val);
  g_array_unref (bags->rows);
}

/* Counts of each known trigram of a text, appended as one row; the number of known trigrams. */
guint
qr_dmsm_bags_add (QrDmsm *self, QrDmsmBags *bags, const char *text)
{
  g_autoptr (GPtrArray) trigrams = qr_dmsm_trigrams (text);
  guint start = bags->idx->len, known = 0;

  if (bags->rows->len == 0)
    g_array_append_val (bags->rows, start);
  for (guint i = 0; i < trigrams->len; i++)
    {
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (self->index, trigrams->pdata[i]));
      guint32 id;
      gboolean merged = FALSE;
      if (at == 0)
        continue;
      id = at - 1;
      known++;
      for (guint k = start; k < bags->idx->len; k++)
        if (g_array_index (bags->idx, guint32, k) == id)
          {
            g_array_index (bags->val, float, k) += 1;
            merged = TRUE;
            break;
          }
      if (!merged)
        {
          float one = 1;
          g_array_append_val (bags->idx, id);
          g_array_append_val (bags->val, one);
        }
    }
  {
    guint end = bags->idx->len;
    g_array_append_val (bags->rows, end);
  }
  return known;
}

/* Activations of one tower over a batch. */
typedef struct
{
  float *x;      /* image: the standardised input, n × D (text: unused) */
  float *a1;     /* n × H */
  float *a2;     /* n × O */
  float *norm;   /* n */
  float *u;      /* n × O, unit rows (0 where the norm is 0) */
} Tower;

static void
tower_alloc (Tower *t, int n, int D, int H, int O)
{
  t->x = D > 0 ? g_new (float, (gsize) n * (gsize) D) : NULL;
  t->a1 = g_new (float, (gsize) n * (gsize) H);
  t->a2 = g_new (float, (gsize) n * (gsize) O);
  t->norm = g_new (float, n);
  t->u = g_new (float, (gsize) n * (gsize) O);
}

static void
tower_clear (Tower *t)
{
  g_free (t->x);
  g_free (t->a1);
  g_free (t->a2);
  g_free (t->norm);
  g_free (t->u);
}

static void
add_bias_tanh (float *z, const float *bias, int n, int width)
{
  for (int i = 0; i < n; i++)
    for (int k = 0; k < width; k++)
      z[(gsize) i * width + k] = tanhf (z[(gsize) i * width + k] + bias[k]);
}

/* a1 given, the second layer and the unit vectors. */
static void
tower_finish (QrDmsm *self, Tower *t, int n, const float *w2, const float *b2)
{
  int H = self->shape.hidden, O = self->shape.out_dim;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, O, H, 1.0f, t->a1, H, w2, O, 0.0f, t->a2, O);
  add_bias_tanh (t->a2, b2, n, O);
  for (int i = 0; i < n; i++)
    {
      const float *row = t->a2 + (gsize) i * O;
      double sum = 0;
      for (int k = 0; k < O; k++)
        sum += (double) row[k] * row[k];
      t->norm[i] = (float) sqrt (sum);
      for (int k = 0; k < O; k++)
        t->u[(gsize) i * O + k] = t->norm[i] > 1e-12f ? row[k] / t->norm[i] : 0.0f;
    }
}

static void
text_forward (QrDmsm *self, const QrDmsmBags *bags, int n, Tower *t)
{
  int H = self->shape.hidden;
  const float *w1 = self->params[TW1], *b1 = self->params[TB1];

  for (int i = 0; i < n; i++)
    {
      float *row = t->a1 + (gsize) i * H;
      guint from = g_array_index (bags->rows, guint, i), to = g_array_index (bags->rows, guint, i + 1);
      memset (row, 0, sizeof (float) * (gsize) H);
      for (guint k = from; k < to; k++)
        {
          const float *w = w1 + (gsize) g_array_index (bags->idx, guint32, k) * (gsize) H;
          float v = g_array_index (bags->val, float, k);
          for (int h = 0; h < H; h++)
            row[h] += v * w[h];
        }
    }
  add_bias_tanh (t->a1, b1, n, H);
  tower_finish (self, t, n, self->params[TW2], self->params[TB2]);
}

static void
image_forward (QrDmsm *self, const float *images, int n, Tower *t)
{
  int D = self->shape.image_dim, H = self->shape.hidden;

  for (int i = 0; i < n; i++)
    for (int d = 0; d < D; d++)
      t->x[(gsize) i * D + d] = (images[(gsize) i * D + d] - self->scale_mean[d]) / self->scale_std[d];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, D, 1.0f, t->x, D, self->params[IW1], H,
               0.0f, t->a1, H);
  add_bias_tanh (t->a1, self->params[IB1], n, H);
  tower_finish (self, t, n, self->params[IW2], self->params[IB2]);
}

gboolean
qr_dmsm_embed_text (QrDmsm *self, const char *text, float *out, GError **error)
{
  QrDmsmBags bags;
  Tower t;
  guint known;

  qr_dmsm_bags_init (&bags);
  known = qr_dmsm_bags_add (self, &bags, text);
  if (known == 0)
    {
      qr_dmsm_bags_clear (&bags);
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_NO_WORDS,
                   "“%s” has no word the caption model learnt (its letter trigrams are all new to it)", text);
      return FALSE;
    }
  tower_alloc (&t, 1, 0, self->shape.hidden, self->shape.out_dim);
  text_forward (self, &bags, 1, &t);
  memcpy (out, t.u, sizeof (float) * (gsize) self->shape.out_dim);
  tower_clear (&t);
  qr_dmsm_bags_clear (&bags);
  return TRUE;
}

void
qr_dmsm_embed_images (QrDmsm *self, const float *images, int n, float *out)
{
  Tower t;

  if (n <= 0)
    return;
  tower_alloc (&t, n, self->shape.image_dim, self->shape.hidden, self->shape.out_dim);
  image_forward (self, images, n, &t);
  memcpy (out, t.u, sizeof (float) * (gsize) n * (gsize) self->shape.out_dim);
  tower_clear (&t);
}

/* ---- loss and gradients ------------------------------------------------------------------ */

/* From dL/du of unit rows to dL/dz before the last tanh: du → da2 = (du − u (u·du)) / |a2|,
 * dz2 = da2 (1 − a2²). In place on du. */
static void
unit_tanh_backward (const Tower *t, float *du, int n, int O)
{
  for (int i = 0; i < n; i++)
    {
      float *g = du + (gsize) i * O;
      const float *u = t->u + (gsize) i * O, *a = t->a2 + (gsize) i * O;
      double dot = 0;
      if (t->norm[i] <= 1e-12f)
        {
          memset (g, 0, sizeof (float) * (gsize) O);
          continue;
        }
      for (int k = 0; k < O; k++)
        dot += (double) u[k] * g[k];
      for (int k = 0; k < O; k++)
        g[k] = (float) ((g[k] - u[k] * dot) / t->norm[i]) * (1 - a[k] * a[k]);
    }
}

/* dz2 (n × O) → dw2, db2 and dz1 (n × H) into dz1. */
static void
layer2_backward (QrDmsm *self, const Tower *t, const float *dz2, const float *w2, float *dw2, float *db2,
                 float *dz1, int n)
{
  int H = self->shape.hidden, O = self->shape.out_dim;

  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, H, O, n, 1.0f, t->a1, H, dz2, O, 0.0f, dw2, O);
  memset (db2, 0, sizeof (float) * (gsize) O);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < O; k++)
      db2[k] += dz2[(gsize) i * O + k];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, H, O, 1.0f, dz2, O, w2, O, 0.0f, dz1, H);
  for (gsize k = 0; k < (gsize) n * (gsize) H; k++)
    dz1[k] *= 1 - t->a1[k] * t->a1[k];
}

double
qr_dmsm_loss (QrDmsm *self, const QrDmsmBatch *batch, float *const *grads)
{
  int n = batch->n, H = self->shape.hidden, O = self->shape.out_dim, D = self->shape.image_dim;
  float gamma = self->shape.gamma;
  QrDmsmBags bags;
  Tower text, image;
  float *S, *dS, *dut, *dui, *dz1;
  double loss = 0;

  g_return_val_if_fail (n > 0, 0);
  qr_dmsm_bags_init (&bags);
  for (int i = 0; i < n; i++)
    qr_dmsm_bags_add (self, &bags, batch->texts[i]);
  tower_alloc (&text, n, 0, H, O);
  tower_alloc (&image, n, D, H, O);
  text_forward (self, &bags, n, &text);
  image_forward (self, batch->images, n, &image);

  /* S[j][k] = γ cos (image j, text k) */
  S = g_new (float, (gsize) n * (gsize) n);
  dS = g_new0 (float, (gsize) n * (gsize) n);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, n, O, gamma, image.u, O, text.u, O, 0.0f, S, n);

  /* rows: each image against the batch's captions; columns: each caption against the images */
  for (int pass = 0; pass < 2; pass++)
    for (int j = 0; j < n; j++)
      {
        double max = -INFINITY, sum = 0;
        for (int k = 0; k < n; k++)
          {
            float s = pass == 0 ? S[(gsize) j * n + k] : S[(gsize) k * n + j];
            max = MAX (max, s);
          }
        for (int k = 0; k < n; k++)
          sum += exp ((pass == 0 ? S[(gsize) j * n + k] : S[(gsize) k * n + j]) - max);
        loss += (max + log (sum) - S[(gsize) j * n + j]) / (2.0 * n);
        for (int k = 0; k < n; k++)
          {
            gsize at = pass == 0 ? (gsize) j * n + k : (gsize) k * n + j;
            double p = exp (S[at] - max) / sum;
            dS[at] += (float) ((p - (k == j)) / (2.0 * n));
          }
      }

  if (grads != NULL)
    {
      dut = g_new (float, (gsize) n * (gsize) O);
      dui = g_new (float, (gsize) n * (gsize) O);
      dz1 = g_new (float, (gsize) n * (gsize) H);
      /* dU_image = γ dS U_text; dU_text = γ dSᵀ U_image */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, O, n, gamma, dS, n, text.u, O, 0.0f, dui, O);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, n, O, n, gamma, dS, n, image.u, O, 0.0f, dut, O);

      unit_tanh_backward (&image, dui, n, O);
      layer2_backward (self, &image, dui, self->params[IW2], grads[IW2], grads[IB2], dz1, n);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, D, H, n, 1.0f, image.x, D, dz1, H, 0.0f, grads[IW1], H);
      memset (grads[IB1], 0, sizeof (float) * (gsize) H);
      for (int i = 0; i < n; i++)
        for (int h = 0; h < H; h++)
          grads[IB1][h] += dz1[(gsize) i * H + h];

      unit_tanh_backward (&text, dut, n, O);
      layer2_backward (self, &text, dut, self->params[TW2], grads[TW2], grads[TB2], dz1, n);
      memset (grads[TW1], 0, sizeof (float) * self->sizes[TW1]);
      memset (grads[TB1], 0, sizeof (float) * (gsize) H);
      for (int i = 0; i < n; i++)
        {
          const float *g = dz1 + (gsize) i * H;
          guint from = g_array_index (bags.rows, guint, i), to = g_array_index (bags.rows, guint, i + 1);
          for (int h = 0; h < H; h++)
            grads[TB1][h] += g[h];
          for (guint k = from; k < to; k++)
            {
              float *w = grads[TW1] + (gsize) g_array_index (bags.idx, guint32, k) * (gsize) H;
              float v = g_array_index (bags.val, float, k);
              for (int h = 0; h < H; h++)
                w[h] += v * g[h];
            }
        }
      g_free (dut);
      g_free (dui);
      g_free (dz1);
    }

  g_free (S);
  g_free (dS);
  tower_clear (&text);
  tower_clear (&image);
  qr_dmsm_bags_clear (&bags);
  return loss;
}

/* ---- Adam ----------------------------------------------------------------------------------- */

struct _QrDmsmTrainer
{
  QrDmsm *model;
  float   learning_rate;
  guint64 step;
  float  *grads[QR_DMSM_N_PARAMS];
  float  *m[QR_DMSM_N_PARAMS];
  float  *v[QR_DMSM_N_PARAMS];
  char   *device;
#if QUORUM_HAVE_CUDA
  QrDmsmCuda *cuda;        /* training on the GPU: the params there are the current ones */
  GError     *cuda_error;  /* the first error of a step since the last sync */
#endif
};

QrDmsmTrainer *
qr_dmsm_trainer_new (QrDmsm *model, float learning_rate)
{
  return qr_dmsm_trainer_new_on (model, learning_rate, QR_DEVICE_CPU);
}

/* Said once per process, as the engine does for models. */
static void
say_cpu_fallback (const char *why)
{
  static gint said = 0;
  if (g_atomic_int_compare_and_exchange (&said, 0, 1))
    g_message ("caption model: training on the CPU: %s", why);
}

QrDmsmTrainer *
qr_dmsm_trainer_new_on (QrDmsm *model, float learning_rate, QrDevice device)
{
  QrDmsmTrainer *self = g_new0 (QrDmsmTrainer, 1);

  self->model = model;
  self->learning_rate = learning_rate;
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      gsize n = MAX (model->sizes[i], 1);
      self->grads[i] = g_new0 (float, n);
      self->m[i] = g_new0 (float, n);
      self->v[i] = g_new0 (float, n);
    }
  if (device == QR_DEVICE_AUTO)
    {
      const char *env = g_getenv ("QUORUM_DEVICE");
      if (env == NULL || !qr_device_parse (env, &device))
        device = QR_DEVICE_CPU;
    }
  if (device == QR_DEVICE_CUDA)
    {
#if QUORUM_HAVE_CUDA
      g_autoptr (GError) local = NULL;
      self->cuda = qr_dmsm_cuda_new (model, &local);
      if (self->cuda != NULL)
        self->device = g_strdup (qr_dmsm_cuda_describe (self->cuda));
      else
        say_cpu_fallback (local->message);
#else
      say_cpu_fallback ("this build of Quorum has no CUDA backend");
#endif
    }
  if (self->device == NULL)
    self->device = g_strdup ("cpu");
  return self;
}

const char *
qr_dmsm_trainer_get_device (QrDmsmTrainer *self)
{
  return self->device;
}

void
qr_dmsm_trainer_free (QrDmsmTrainer *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      g_free (self->grads[i]);
      g_free (self->m[i]);
      g_free (self->v[i]);
    }
#if QUORUM_HAVE_CUDA
  g_clear_pointer (&self->cuda, qr_dmsm_cuda_free);
  g_clear_error (&self->cuda_error);
#endif
  g_free (self->device);
  g_free (self);
}

double
qr_dmsm_trainer_step (QrDmsmTrainer *self, const QrDmsmBatch *batch)
{
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double loss, correction1, correction2;

#if QUORUM_HAVE_CUDA
  if (self->cuda != NULL)
    {
      if (self->cuda_error != NULL)
        return NAN;
      if (!qr_dmsm_cuda_loss (self->cuda, batch, TRUE, &loss, &self->cuda_error)
          || !qr_dmsm_cuda_adam (self->cuda, self->learning_rate, self->step + 1, &self->cuda_error))
        return NAN;
      self->step++;
      return loss;
    }
#endif
  loss = qr_dmsm_loss (self->model, batch, self->grads);
  self->step++;
  correction1 = 1 - pow (beta1, (double) self->step);
  correction2 = 1 - pow (beta2, (double) self->step);
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      float *p = self->model->params[i], *g = self->grads[i], *m = self->m[i], *v = self->v[i];
      gsize n = self->model->sizes[i];
      float lr = self->learning_rate;
      for (gsize k = 0; k < n; k++)
        {
          m[k] = (float) (beta1 * m[k] + (1 - beta1) * g[k]);
          v[k] = (float) (beta2 * v[k] + (1 - beta2) * (double) g[k] * g[k]);
          p[k] -= (float) (lr * (m[k] / correction1) / (sqrt (v[k] / correction2) + eps));
        }
    }
  return loss;
}

gboolean
qr_dmsm_trainer_sync (QrDmsmTrainer *self, GError **error)
{
#if QUORUM_HAVE_CUDA
  if (self->cuda != NULL)
    {
      if (self->cuda_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&self->cuda_error));
          return FALSE;
        }
      return qr_dmsm_cuda_download (self->cuda, QR_DMSM_CUDA_PARAMS, self->model->params, error)
             && qr_dmsm_cuda_download (self->cuda, QR_DMSM_CUDA_M, self->m, error)
             && qr_dmsm_cuda_download (self->cuda, QR_DMSM_CUDA_V, self->v, error);
    }
#endif
  (void) error;
  return TRUE;
}

gboolean
qr_dmsm_trainer_gradients (QrDmsmTrainer *self, const QrDmsmBatch *batch, float *const *grads, double *loss,
                           GError **error)
{
#if QUORUM_HAVE_CUDA
  if (self->cuda != NULL)
    return qr_dmsm_cuda_loss (self->cuda, batch, TRUE, loss, error)
           && qr_dmsm_cuda_download (self->cuda, QR_DMSM_CUDA_GRADS, grads, error);
#endif
  (void) error;
  *loss = qr_dmsm_loss (self->model, batch, grads);
  return TRUE;
}

static GVariant *floats_variant (const float *values, gsize n);
static gboolean floats_from_variant (GVariant *dict, const char *key, float *out, gsize n, GError **error);

GBytes *
qr_dmsm_trainer_save (QrDmsmTrainer *self)
{
  GVariantBuilder b;
  g_autoptr (GVariant) whole = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "format", g_variant_new_uint32 (SAVED_FORMAT));
  g_variant_builder_add (&b, "{sv}", "step", g_variant_new_uint64 (self->step));
  g_variant_builder_add (&b, "{sv}", "learning-rate", g_variant_new_double (self->learning_rate));
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      g_autofree char *m = g_strconcat ("m.", param_names[i], NULL);
      g_autofree char *v = g_strconcat ("v.", param_names[i], NULL);
      g_variant_builder_add (&b, "{sv}", m, floats_variant (self->m[i], self->model->sizes[i]));
      g_variant_builder_add (&b, "{sv}", v, floats_variant (self->v[i], self->model->sizes[i]));
    }
  whole = g_variant_ref_sink (g_variant_builder_end (&b));
  return g_variant_get_data_as_bytes (whole);
}

gboolean
qr_dmsm_trainer_restore (QrDmsmTrainer *self, GBytes *bytes, GError **error)
{
  g_autoptr (GVariant) dict = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  guint64 step = 0;
  guint32 format = 0;

  if (!g_variant_lookup (dict, "format", "u", &format) || format != SAVED_FORMAT
      || !g_variant_lookup (dict, "step", "t", &step))
    {
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT, "the caption model's training state is not one Quorum saved");
      return FALSE;
    }
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      g_autofree char *m = g_strconcat ("m.", param_names[i], NULL);
      g_autofree char *v = g_strconcat ("v.", param_names[i], NULL);
      if (!floats_from_variant (dict, m, self->m[i], self->model->sizes[i], error)
          || !floats_from_variant (dict, v, self->v[i], self->model->sizes[i], error))
        return FALSE;
    }
#if QUORUM_HAVE_CUDA
  if (self->cuda != NULL
      && (!qr_dmsm_cuda_upload (self->cuda, QR_DMSM_CUDA_M, (const float *const *) self->m, error)
          || !qr_dmsm_cuda_upload (self->cuda, QR_DMSM_CUDA_V, (const float *const *) self->v, error)))
    return FALSE;
#endif
  self->step = step;
  return TRUE;
}

/* ---- saved form ----------------------------------------------------------------------------- */

static GVariant *
floats_variant (const float *values, gsize n)
{
  g_autofree guint32 *le = g_new (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &values[i], 4);
      le[i] = GUINT32_TO_LE (bits);
    }
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, le, n * 4, 1);
}

static gboolean
floats_from_variant (GVariant *dict, const char *key, float *out, gsize n, GError **error)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (dict, key, G_VARIANT_TYPE_BYTESTRING);
  const guint8 *bytes;
  gsize size;

  if (value == NULL)
    {
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT, "the caption model has no “%s”", key);
      return FALSE;
    }
  bytes = g_variant_get_fixed_array (value, &size, 1);
  if (size != n * 4)
    {
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT,
                   "the caption model's “%s” holds %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT,
                   key, size, n * 4);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, bytes + i * 4, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&out[i], &bits, 4);
      if (!isfinite (out[i]))
        {
          g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT,
                       "the caption model's “%s” holds a value that is not a number (at %" G_GSIZE_FORMAT ")", key, i);
          return FALSE;
        }
    }
  return TRUE;
}

GBytes *
qr_dmsm_save (QrDmsm *self, GVariant *meta)
{
  GVariantBuilder b;
  g_autoptr (GVariant) whole = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "format", g_variant_new_uint32 (SAVED_FORMAT));
  g_variant_builder_add (&b, "{sv}", "image-dim", g_variant_new_int32 (self->shape.image_dim));
  g_variant_builder_add (&b, "{sv}", "hidden", g_variant_new_int32 (self->shape.hidden));
  g_variant_builder_add (&b, "{sv}", "out-dim", g_variant_new_int32 (self->shape.out_dim));
  g_variant_builder_add (&b, "{sv}", "gamma", g_variant_new_double (self->shape.gamma));
  g_variant_builder_add (&b, "{sv}", "vocabulary", g_variant_new_strv ((const char *const *) self->vocabulary, -1));
  g_variant_builder_add (&b, "{sv}", "scale-mean", floats_variant (self->scale_mean, (gsize) self->shape.image_dim));
  g_variant_builder_add (&b, "{sv}", "scale-std", floats_variant (self->scale_std, (gsize) self->shape.image_dim));
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    g_variant_builder_add (&b, "{sv}", param_names[i], floats_variant (self->params[i], self->sizes[i]));
  g_variant_builder_add (&b, "{sv}", "meta", meta ? meta : g_variant_new ("a{sv}", NULL));
  whole = g_variant_ref_sink (g_variant_builder_end (&b));
  return g_variant_get_data_as_bytes (whole);
}

QrDmsm *
qr_dmsm_load (GBytes *bytes, GVariant **meta, GError **error)
{
  g_autoptr (GVariant) dict = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr (GVariant) vocabulary = NULL;
  g_autoptr (QrDmsm) self = NULL;
  guint32 format = 0;
  QrDmsmShape shape = { 0 };
  double gamma = 0;

  if (!g_variant_lookup (dict, "format", "u", &format) || format != SAVED_FORMAT
      || !g_variant_lookup (dict, "image-dim", "i", &shape.image_dim)
      || !g_variant_lookup (dict, "hidden", "i", &shape.hidden)
      || !g_variant_lookup (dict, "out-dim", "i", &shape.out_dim)
      || !g_variant_lookup (dict, "gamma", "d", &gamma)
      || (vocabulary = g_variant_lookup_value (dict, "vocabulary", G_VARIANT_TYPE_STRING_ARRAY)) == NULL)
    {
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT,
                   format > SAVED_FORMAT ? "the caption model was saved by a newer Quorum (format %u)"
                                         : "the caption model is not one Quorum saved (format %u)", format);
      return NULL;
    }
  if (shape.image_dim <= 0 || shape.image_dim > 1 << 16 || shape.hidden <= 0 || shape.hidden > 1 << 14
      || shape.out_dim <= 0 || shape.out_dim > 1 << 14 || !(gamma > 0 && gamma < 1e4))
    {
      g_set_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT,
                   "the caption model's sizes are out of range (%d, %d, %d)", shape.image_dim, shape.hidden, shape.out_dim);
      return NULL;
    }
  shape.gamma = (float) gamma;
  self = g_new0 (QrDmsm, 1);
  self->shape = shape;
  {
    g_autofree const char **words = g_variant_get_strv (vocabulary, NULL);
    set_vocabulary (self, words);
  }
  allocate (self);
  if (!floats_from_variant (dict, "scale-mean", self->scale_mean, (gsize) shape.image_dim, error)
      || !floats_from_variant (dict, "scale-std", self->scale_std, (gsize) shape.image_dim, error))
    return NULL;
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    if (!floats_from_variant (dict, param_names[i], self->params[i], self->sizes[i], error))
      return NULL;
  if (meta != NULL)
    {
      *meta = g_variant_lookup_value (dict, "meta", G_VARIANT_TYPE_VARDICT);
      if (*meta == NULL)
        *meta = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
    }
  return g_steal_pointer (&self);
}

/* ---- half precision ------------------------------------------------------------------------- */

void
qr_float_to_half (const float *in, guint16 *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 x;
      guint32 sign, exponent, mantissa;
      memcpy (&x, &in[i], 4);
      sign = (x >> 16) & 0x8000;
      exponent = (x >> 23) & 0xff;
      mantissa = x & 0x7fffff;
      if (exponent == 0xff)
        out[i] = (guint16) (sign | 0x7c00 | (mantissa ? 0x200 : 0));
      else
        {
          int e = (int) exponent - 127 + 15;
          if (e >= 31)
            out[i] = (guint16) (sign | 0x7c00);
          else if (e <= 0)
            {
              /* subnormal half (or zero): round to nearest even */
              if (e < -10)
                out[i] = (guint16) sign;
              else
                {
                  guint32 m = mantissa | 0x800000;
                  int shift = 14 - e;
                  guint32 half = m >> shift, rest = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
                  if (rest > mid || (rest == mid && (half & 1)))
                    half++;
                  out[i] = (guint16) (sign | half);
                }
            }
          else
            {
              guint32 half = ((guint32) e << 10) | (mantissa >> 13), rest = mantissa & 0x1fff;
              if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
                half++;   /* may carry into the exponent, which is right (up to infinity) */
              out[i] = (guint16) (sign | half);
            }
        }
    }
}

void
qr_half_to_float (const guint16 *in, float *out, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 h = in[i], sign = (h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, x;
      if (exponent == 0)
        {
          float v = ldexpf ((float) mantissa, -24);
          out[i] = sign ? -v : v;
          continue;
        }
      if (exponent == 31)
        x = sign | 0x7f800000 | (mantissa << 13);
      else
        x = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
      memcpy (&out[i], &x, 4);
    }
}
