/* dmsm-cuda.c: the caption model's training on the GPU (dmsm-private.h). The same forward pass,
 * loss, gradients and Adam as dmsm.c, as cuBLAS FP32 products and gpu/'s kernels, with the params,
 * their gradients and Adam's moments kept in GPU memory between steps. A batch goes up as its
 * texts' trigram bags, (row, trigram, count) triples that become a dense batch × vocabulary matrix
 * there, so both of the text tower's first-layer products are GEMMs; and as its images' inputs,
 * standardised on the CPU. One download per step: the batch's loss terms. Built with CUDA only. */
#define G_LOG_DOMAIN "quorum-text"

#include "quorum-config.h"
#include "dmsm-private.h"
#include "qr-cuda-api.h"

#include <math.h>
#include <string.h>

struct _QrDmsmCuda
{
  const QrCudaApi *api;
  QrCuda          *cuda;
  char            *description;
  QrDmsm          *model;
  gsize            total;                        /* floats of all the params */
  gsize            offset[QR_DMSM_N_PARAMS];
  float           *p, *g, *m, *v;                /* each `total` floats, the params in order */

  /* a batch of up to `cap` captions with up to `nnz_cap` distinct trigrams in all */
  int              cap;
  gsize            nnz_cap;
  float           *batch;                        /* the one allocation the pointers below share */
  float           *xt, *xi, *a1t, *a2t, *ut, *normt, *a1i, *a2i, *ui, *normi, *c, *dc, *loss, *lse, *dut, *dui, *dz1;
  guint32         *sparse;                       /* rows, then trigrams, then counts (float bits) */
  guint32         *host_sparse;
  float           *host_x, *host_loss;
};

static void
release_batch (QrDmsmCuda *self)
{
  if (self->batch != NULL)
    self->api->release (self->cuda, self->batch);
  if (self->sparse != NULL)
    self->api->release (self->cuda, self->sparse);
  self->batch = NULL;
  self->sparse = NULL;
  g_clear_pointer (&self->host_sparse, g_free);
  g_clear_pointer (&self->host_x, g_free);
  g_clear_pointer (&self->host_loss, g_free);
  self->cap = 0;
  self->nnz_cap = 0;
}

void
qr_dmsm_cuda_free (QrDmsmCuda *self)
{
  if (self == NULL)
    return;
  release_batch (self);
  if (self->p != NULL)
    self->api->release (self->cuda, self->p);
  if (self->cuda != NULL)
    self->api->free (self->cuda);
  g_free (self->description);
  g_free (self);
}

QrDmsmCuda *
qr_dmsm_cuda_new (QrDmsm *model, GError **error)
{
  g_autoptr (GError) local = NULL;
  const QrCudaApi *api = qr_cuda_api (error);
  QrDmsmCuda *self;

  if (api == NULL)
    return NULL;
  self = g_new0 (QrDmsmCuda, 1);
  self->api = api;
  self->model = model;
  self->cuda = api->new (0, QR_CUDA_FP32, &local);
  if (self->cuda == NULL)
    {
      g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, local->message);
      qr_dmsm_cuda_free (self);
      return NULL;
    }
  self->description = g_strdup_printf ("cuda:0 %s fp32", api->device_name (self->cuda));
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      self->offset[i] = self->total;
      self->total += model->sizes[i];
    }
  /* params, gradients and both moments in one allocation; the moments start at 0 */
  self->p = api->alloc (self->cuda, sizeof (float) * 4 * self->total, error);
  if (self->p == NULL)
    {
      qr_dmsm_cuda_free (self);
      return NULL;
    }
  self->g = self->p + self->total;
  self->m = self->g + self->total;
  self->v = self->m + self->total;
  {
    g_autofree float *zeros = g_new0 (float, self->total);
    if (!api->upload (self->cuda, self->m, zeros, sizeof (float) * self->total, error)
        || !api->upload (self->cuda, self->v, zeros, sizeof (float) * self->total, error)
        || !api->upload (self->cuda, self->g, zeros, sizeof (float) * self->total, error)
        || !qr_dmsm_cuda_upload (self, QR_DMSM_CUDA_PARAMS, (const float *const *) model->params, error))
      {
        qr_dmsm_cuda_free (self);
        return NULL;
      }
  }
  return self;
}

const char *
qr_dmsm_cuda_describe (QrDmsmCuda *self)
{
  return self->description;
}

static float *
tensors (QrDmsmCuda *self, QrDmsmCudaTensors which)
{
  switch (which)
    {
    case QR_DMSM_CUDA_PARAMS: return self->p;
    case QR_DMSM_CUDA_GRADS: return self->g;
    case QR_DMSM_CUDA_M: return self->m;
    default: return self->v;
    }
}

gboolean
qr_dmsm_cuda_download (QrDmsmCuda *self, QrDmsmCudaTensors which, float *const *out, GError **error)
{
  float *base = tensors (self, which);

  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    if (self->model->sizes[i] > 0
        && !self->api->download (self->cuda, out[i], base + self->offset[i], sizeof (float) * self->model->sizes[i],
                                 error))
      return FALSE;
  return self->api->sync (self->cuda, error);
}

gboolean
qr_dmsm_cuda_upload (QrDmsmCuda *self, QrDmsmCudaTensors which, const float *const *in, GError **error)
{
  float *base = tensors (self, which);

  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    if (self->model->sizes[i] > 0
        && !self->api->upload (self->cuda, base + self->offset[i], in[i], sizeof (float) * self->model->sizes[i],
                               error))
      return FALSE;
  return self->api->sync (self->cuda, error);
}

/* Room for n captions and nnz trigrams. */
static gboolean
ensure_batch (QrDmsmCuda *self, int n, gsize nnz, GError **error)
{
  const QrDmsmShape *s = &self->model->shape;
  gsize N, V = self->model->n_vocabulary, D = (gsize) s->image_dim, H = (gsize) s->hidden, O = (gsize) s->out_dim;
  gsize floats;
  float *at;

  if (n <= self->cap && nnz <= self->nnz_cap)
    return TRUE;
  n = MAX (n, self->cap);
  nnz = MAX (MAX (nnz, self->nnz_cap), 1024);
  release_batch (self);
  N = (gsize) n;
  floats = N * V + N * D + 3 * N * H + 6 * N * O + 5 * N + 2 * N * N;
  self->batch = self->api->alloc (self->cuda, sizeof (float) * floats, error);
  self->sparse = self->batch ? self->api->alloc (self->cuda, sizeof (guint32) * 3 * nnz, error) : NULL;
  if (self->sparse == NULL)
    {
      release_batch (self);
      return FALSE;
    }
  at = self->batch;
#define TAKE(field, count) (self->field = at, at += (count))
  TAKE (xt, N * V);
  TAKE (xi, N * D);
  TAKE (a1t, N * H);
  TAKE (a1i, N * H);
  TAKE (dz1, N * H);
  TAKE (a2t, N * O);
  TAKE (a2i, N * O);
  TAKE (ut, N * O);
  TAKE (ui, N * O);
  TAKE (dut, N * O);
  TAKE (dui, N * O);
  TAKE (normt, N);
  TAKE (normi, N);
  TAKE (loss, N);
  TAKE (lse, 2 * N);
  TAKE (c, N * N);
  TAKE (dc, N * N);
#undef TAKE
  g_assert ((gsize) (at - self->batch) == floats);
  self->cap = n;
  self->nnz_cap = nnz;
  self->host_sparse = g_new (guint32, 3 * nnz);
  self->host_x = g_new (float, N * D);
  self->host_loss = g_new (float, N);
  return TRUE;
}

/* Column sums of an n × width matrix into width values (a bias's gradient). */
static void
column_sums (QrDmsmCuda *self, const float *x, float *y, int n, int width)
{
  const int dims[4] = { 1, 1, n, width };
  const gboolean reduced[4] = { FALSE, FALSE, TRUE, FALSE };

  self->api->reduce (self->cuda, QR_CUDA_REDUCE_SUM, x, y, dims, reduced);
}

/* layer = tanh (x · w + b) */
static gboolean
dense_tanh (QrDmsmCuda *self, const float *x, guint w, guint b, float *y, int n, int out, int in, GError **error)
{
  if (!self->api->matmul (self->cuda, x, self->p + self->offset[w], y, n, out, in, FALSE, FALSE, error))
    return FALSE;
  self->api->bias_act (self->cuda, y, self->p + self->offset[b], (gsize) n, out, QR_CUDA_ACT_TANH, 0.0f);
  return TRUE;
}

/* From dL/du of a tower's unit outputs (in du) back to its weights' gradients: x is the tower's
 * input (n × in), w1/b1/w2/b2 its params. */
static gboolean
tower_backward (QrDmsmCuda *self, const float *x, int in, const float *a1, const float *a2, const float *u,
                const float *norm, float *du, guint w1, guint b1, guint w2, guint b2, int n, GError **error)
{
  const QrCudaApi *api = self->api;
  int H = self->model->shape.hidden, O = self->model->shape.out_dim;

  api->unit_rows_backward (self->cuda, u, a2, norm, du, n, O);   /* du is now dz2 */
  if (!api->matmul (self->cuda, a1, du, self->g + self->offset[w2], H, O, n, TRUE, FALSE, error))
    return FALSE;
  column_sums (self, du, self->g + self->offset[b2], n, O);
  if (!api->matmul (self->cuda, du, self->p + self->offset[w2], self->dz1, n, H, O, FALSE, TRUE, error))
    return FALSE;
  api->tanh_backward (self->cuda, self->dz1, a1, (gsize) n * (gsize) H);
  if (!api->matmul (self->cuda, x, self->dz1, self->g + self->offset[w1], in, H, n, TRUE, FALSE, error))
    return FALSE;
  column_sums (self, self->dz1, self->g + self->offset[b1], n, H);
  return TRUE;
}

gboolean
qr_dmsm_cuda_loss (QrDmsmCuda *self, const QrDmsmBatch *batch, gboolean backward, double *loss, GError **error)
{
  const QrCudaApi *api = self->api;
  QrDmsm *model = self->model;
  int n = batch->n, V = (int) model->n_vocabulary, D = model->shape.image_dim;
  int H = model->shape.hidden, O = model->shape.out_dim;
  QrDmsmBags bags;
  gsize nnz;
  guint32 *rows, *cols;
  float *counts;
  gboolean ok;

  g_return_val_if_fail (n > 0, FALSE);
  qr_dmsm_bags_init (&bags);
  for (int i = 0; i < n; i++)
    qr_dmsm_bags_add (model, &bags, batch->texts[i]);
  nnz = bags.idx->len;
  if (!ensure_batch (self, n, nnz, error))
    {
      qr_dmsm_bags_clear (&bags);
      return FALSE;
    }
  rows = self->host_sparse;
  cols = rows + nnz;
  counts = (float *) (cols + nnz);
  for (int i = 0; i < n; i++)
    for (guint k = g_array_index (bags.rows, guint, i); k < g_array_index (bags.rows, guint, i + 1); k++)
      {
        rows[k] = (guint32) i;
        cols[k] = g_array_index (bags.idx, guint32, k);
        counts[k] = g_array_index (bags.val, float, k);
      }
  qr_dmsm_bags_clear (&bags);
  for (int i = 0; i < n; i++)
    for (int d = 0; d < D; d++)
      self->host_x[(gsize) i * D + d] = (batch->images[(gsize) i * D + d] - model->scale_mean[d]) / model->scale_std[d];

  ok = (nnz == 0 || api->upload (self->cuda, self->sparse, self->host_sparse, sizeof (guint32) * 3 * nnz, error))
       && api->upload (self->cuda, self->xi, self->host_x, sizeof (float) * (gsize) n * (gsize) D, error);
  if (!ok)
    return FALSE;
  api->scatter_rows (self->cuda, self->xt, n, V, (const int *) self->sparse, (const int *) self->sparse + nnz,
                     (const float *) (self->sparse + 2 * nnz), nnz);

  /* the towers, C = U_image · U_textᵀ, the loss and dL/dC */
  ok = dense_tanh (self, self->xt, QR_DMSM_TW1, QR_DMSM_TB1, self->a1t, n, H, V, error)
       && dense_tanh (self, self->a1t, QR_DMSM_TW2, QR_DMSM_TB2, self->a2t, n, O, H, error)
       && dense_tanh (self, self->xi, QR_DMSM_IW1, QR_DMSM_IB1, self->a1i, n, H, D, error)
       && dense_tanh (self, self->a1i, QR_DMSM_IW2, QR_DMSM_IB2, self->a2i, n, O, H, error);
  if (!ok)
    return FALSE;
  api->unit_rows (self->cuda, self->a2t, self->ut, self->normt, n, O);
  api->unit_rows (self->cuda, self->a2i, self->ui, self->normi, n, O);
  if (!api->matmul (self->cuda, self->ui, self->ut, self->c, n, n, O, FALSE, TRUE, error))
    return FALSE;
  api->pair_softmax_loss (self->cuda, self->c, model->shape.gamma, n, self->dc, self->loss, self->lse);

  if (backward)
    {
      /* dU_image = dC · U_text, dU_text = dCᵀ · U_image, then down each tower */
      ok = api->matmul (self->cuda, self->dc, self->ut, self->dui, n, O, n, FALSE, FALSE, error)
           && api->matmul (self->cuda, self->dc, self->ui, self->dut, n, O, n, TRUE, FALSE, error)
           && tower_backward (self, self->xi, D, self->a1i, self->a2i, self->ui, self->normi, self->dui, QR_DMSM_IW1,
                              QR_DMSM_IB1, QR_DMSM_IW2, QR_DMSM_IB2, n, error)
           && tower_backward (self, self->xt, V, self->a1t, self->a2t, self->ut, self->normt, self->dut, QR_DMSM_TW1,
                              QR_DMSM_TB1, QR_DMSM_TW2, QR_DMSM_TB2, n, error);
      if (!ok)
        return FALSE;
    }

  if (!api->download (self->cuda, self->host_loss, self->loss, sizeof (float) * (gsize) n, error)
      || !api->sync (self->cuda, error) || !api->check (self->cuda, "training the caption model", error))
    return FALSE;
  *loss = 0;
  for (int i = 0; i < n; i++)
    *loss += self->host_loss[i];
  return TRUE;
}

gboolean
qr_dmsm_cuda_adam (QrDmsmCuda *self, float learning_rate, guint64 step, GError **error)
{
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;

  self->api->adam (self->cuda, self->p, self->g, self->m, self->v, self->total, learning_rate, beta1, beta2, eps,
                   1 - pow (beta1, (double) step), 1 - pow (beta2, (double) step));
  return self->api->check (self->cuda, "an Adam step of the caption model", error);
}
