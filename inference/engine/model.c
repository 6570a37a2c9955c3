/* model.c: a graph bound to a backend and planned for a batch size. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <math.h>
#include <string.h>
#if QUORUM_HAVE_CUDA
#include "qr-cuda-api.h"
#endif

/* AUTO means the GPU where one is usable (the CUDA backend has passed tests/test-gpu.c on an H100:
 * ../shared/device/README.md), the CPU elsewhere, without a word: only a device asked for by
 * name and not had is worth a message. 0 here makes AUTO the CPU everywhere. */
#define QR_AUTO_PICKS_CUDA 1

/* A slot of qr_model_select_rows: the wish and the last run's rows, item b's from offsets[b]. */
typedef struct
{
  QrRowsWanted wanted;     /* output −1: empty */
  GArray      *index, *values, *with;
  int         *offsets;
  int          items;
} Selection;

struct _QrModel
{
  QrGraph   *graph;
  QrBackend *backend;
  int        n_threads;
  int        batch;
  char      *device;
  /* qr_model_set_peaks: the outputs (tensor ids, -1: none), the threshold, and the last run's
   * peaks, item b's at peaks[offsets[b] .. offsets[b + 1]) */
  int        peak_map, peak_rows;
  float      peak_threshold;
  GArray    *peaks;
  int       *peak_offsets;
  int        peak_items;
  Selection  slots[QR_SELECT_SLOTS];   /* qr_model_select_rows */
};

int
qr_model_get_fixed_batch (QrModel *model)
{
  return model->graph->fixed_batch;
}

gboolean
qr_device_parse (const char *text, QrDevice *device)
{
  static const char *const names[] = { "auto", "cpu", "cuda" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (text != NULL && g_ascii_strcasecmp (text, names[i]) == 0)
      {
        *device = (QrDevice) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
qr_precision_parse (const char *text, QrPrecision *precision)
{
  static const char *const names[] = { "fp16", "tf32", "fp32" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (text != NULL && g_ascii_strcasecmp (text, names[i]) == 0)
      {
        *precision = (QrPrecision) i;
        return TRUE;
      }
  return FALSE;
}

const char *
qr_precision_to_string (QrPrecision precision)
{
  return precision == QR_PRECISION_FP32 ? "fp32" : precision == QR_PRECISION_TF32 ? "tf32" : "fp16";
}

int
qr_engine_cuda_device_count (void)
{
#if QUORUM_HAVE_CUDA
  const QrCudaApi *api = qr_cuda_api (NULL);
  return api != NULL ? api->device_count () : 0;
#else
  return 0;
#endif
}

char *
qr_engine_cuda_describe (GError **error)
{
#if QUORUM_HAVE_CUDA
  const QrCudaApi *api = qr_cuda_api (error);
  g_autoptr (GError) local = NULL;
  char *text;

  if (api == NULL)
    return NULL;
  text = api->describe (&local);
  if (text == NULL)
    g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, local->message);
  return text;
#else
  g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "this build of Quorum has no CUDA backend");
  return NULL;
#endif
}

/* Said once per process: a user who asked for the GPU hears why they are on the CPU, once. */
static void
say_cpu_fallback (const char *source, const char *why)
{
  static gint said = 0;
  if (g_atomic_int_compare_and_exchange (&said, 0, 1))
    g_message ("%s: running on the CPU: %s", source, why);
}

static gboolean
plan_on_cpu (QrModel *model, int batch, GError **error)
{
  model->backend = qr_backend_cpu_new (model->n_threads);
  g_free (model->device);
  model->device = g_strdup ("cpu");
  if (!model->backend->klass->prepare (model->backend, model->graph, batch, error))
    return FALSE;
  model->batch = batch;
  return TRUE;
}

#if QUORUM_HAVE_CUDA
/* TRUE with the model on the GPU; FALSE (and a message) when the CPU must do. Errors in the
 * graph itself (shapes) are the same on both backends, so they are left to the CPU's planning
 * to report. */
static gboolean
plan_on_cuda (QrModel *model, QrPrecision precision, int batch)
{
  g_autoptr (GError) local = NULL;

  if (qr_engine_cuda_device_count () == 0)
    {
      g_autoptr (GError) why = NULL;
      g_autofree char *text = qr_engine_cuda_describe (&why);
      say_cpu_fallback (model->graph->source, why != NULL ? why->message : "this machine has no usable CUDA GPU");
      return FALSE;
    }
  model->backend = qr_backend_cuda_new (precision, &local);
  if (model->backend != NULL && model->backend->klass->prepare (model->backend, model->graph, batch, &local))
    {
      g_free (model->device);
      model->device = qr_backend_cuda_describe (model->backend);
      model->batch = batch;
      return TRUE;
    }
  say_cpu_fallback (model->graph->source, local->message);
  if (model->backend != NULL)
    model->backend->klass->release (model->backend);
  model->backend = NULL;
  return FALSE;
}
#endif

/* Plans for a new batch size. A GPU too small for it hands the model over to the CPU (said
 * once), which plans the same batch. */
static gboolean
plan_for_batch (QrModel *model, int batch, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (model->graph->fixed_batch > 0 && batch != model->graph->fixed_batch)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: the model takes exactly %d at a time (%s), "
                   "not %d", model->graph->source, model->graph->fixed_batch,
                   model->graph->fixed_why ? model->graph->fixed_why : "its input's first dimension is fixed", batch);
      return FALSE;
    }
  if (batch == model->batch)
    return TRUE;
  if (!model->backend->klass->prepare (model->backend, model->graph, batch, &local))
    {
      if (!g_str_has_prefix (model->device, "cuda"))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      say_cpu_fallback (model->graph->source, local->message);
      model->backend->klass->release (model->backend);
      return plan_on_cpu (model, batch, error);
    }
  model->batch = batch;
  return TRUE;
}

QrModel *
qr_model_new (QrGraph *graph, QrDevice device, QrPrecision precision, int n_threads, GError **error)
{
  QrModel *model = g_new0 (QrModel, 1);

  model->graph = graph;
  model->peak_map = model->peak_rows = -1;
  model->peaks = g_array_new (FALSE, FALSE, sizeof (QrPeak));
  for (int i = 0; i < QR_SELECT_SLOTS; i++)
    {
      model->slots[i].wanted.output = model->slots[i].wanted.with = -1;
      model->slots[i].index = g_array_new (FALSE, FALSE, sizeof (int));
      model->slots[i].values = g_array_new (FALSE, FALSE, sizeof (float));
      model->slots[i].with = g_array_new (FALSE, FALSE, sizeof (float));
    }
  model->n_threads = n_threads;
  if (device == QR_DEVICE_AUTO)
    {
      /* QUORUM_DEVICE / QUORUM_PRECISION choose for AUTO: how the engine's own test suites are run
       * on the GPU unchanged. */
      const char *env = g_getenv ("QUORUM_DEVICE");
      QrDevice chosen;
      if (env != NULL && qr_device_parse (env, &chosen) && chosen != QR_DEVICE_AUTO)
        {
          QrPrecision p;
          device = chosen;
          if (qr_precision_parse (g_getenv ("QUORUM_PRECISION"), &p))
            precision = p;
        }
      else
        device = QR_AUTO_PICKS_CUDA && qr_engine_cuda_device_count () > 0 ? QR_DEVICE_CUDA : QR_DEVICE_CPU;
    }
  if (device == QR_DEVICE_CUDA && graph->cpu_only != NULL)
    say_cpu_fallback (graph->source, graph->cpu_only);
  else if (device == QR_DEVICE_CUDA)
    {
#if QUORUM_HAVE_CUDA
      if (plan_on_cuda (model, precision, MAX (graph->fixed_batch, 1)))
        return model;
#else
      (void) precision; /* CUDA's only */
      say_cpu_fallback (graph->source, "this build of Quorum has no CUDA backend");
#endif
    }
  if (!plan_on_cpu (model, MAX (graph->fixed_batch, 1), error))
    {
      qr_model_free (model);
      return NULL;
    }
  return model;
}

QrModel *
qr_model_new_cpu (QrGraph *graph, int n_threads, GError **error)
{
  return qr_model_new (graph, QR_DEVICE_CPU, QR_PRECISION_FP32, n_threads, error);
}

const char *
qr_model_get_device (QrModel *model)
{
  return model->device;
}

QrModel *
qr_model_load (const char *path, GError **error)
{
  QrGraph *graph = qr_graph_load_tfjs (path, NULL, error);

  if (graph == NULL)
    return NULL;
  return qr_model_new_cpu (graph, 0, error);
}

void
qr_model_free (QrModel *model)
{
  if (model == NULL)
    return;
  if (model->backend != NULL)
    model->backend->klass->release (model->backend);
  qr_graph_free (model->graph);
  g_free (model->device);
  g_array_unref (model->peaks);
  g_free (model->peak_offsets);
  for (int i = 0; i < QR_SELECT_SLOTS; i++)
    {
      g_array_unref (model->slots[i].index);
      g_array_unref (model->slots[i].values);
      g_array_unref (model->slots[i].with);
      g_free (model->slots[i].offsets);
    }
  g_free (model);
}

gboolean
qr_model_set_peaks (QrModel *model, const char *map, const char *rows, float threshold, GError **error)
{
  int m = -1, r = -1;

  g_return_val_if_fail (model != NULL, FALSE);
  if (map != NULL)
    {
      QrTensor *t, *u;
      m = qr_graph_find_tensor (model->graph, map);
      t = m >= 0 ? qr_graph_tensor (model->graph, m) : NULL;
      if (t == NULL || !qr_graph_is_output (model->graph, m) || t->shape.rank != 4)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE,
                       "%s: no output %s of rank 4 ([N, H, W, C]) to find peaks in", model->graph->source, map);
          return FALSE;
        }
      if (rows != NULL)
        {
          r = qr_graph_find_tensor (model->graph, rows);
          u = r >= 0 ? qr_graph_tensor (model->graph, r) : NULL;
          if (u == NULL || !qr_graph_is_output (model->graph, r) || u->shape.rank != 4
              || u->shape.dims[1] != t->shape.dims[1] || u->shape.dims[2] != t->shape.dims[2] || u->shape.dims[3] < 1
              || u->shape.dims[3] > QR_PEAK_ROW_MAX)
            {
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE,
                           "%s: the output %s is not [N, %d, %d, K ≤ %d] beside the peaks of %s", model->graph->source,
                           rows, t->shape.dims[1], t->shape.dims[2], QR_PEAK_ROW_MAX, map);
              return FALSE;
            }
        }
    }
  model->peak_map = m;
  model->peak_rows = r;
  model->peak_threshold = threshold;
  model->peak_items = 0;
  g_array_set_size (model->peaks, 0);
  return TRUE;
}

/* Values per item of a tensor at the planned batch. */
static gsize
per_item (QrTensor *t)
{
  gsize n = 1;
  for (int d = 1; d < t->shape.rank; d++)
    n *= (gsize) t->shape.dims[d];
  return n;
}

gboolean
qr_model_select_rows (QrModel *model, guint slot, const char *output, int width, int first, int count,
                      const char *with, float threshold, GError **error)
{
  QrRowsWanted w = { -1, -1, 0, 0, 0, 0, 0, 0 };

  g_return_val_if_fail (model != NULL && slot < QR_SELECT_SLOTS, FALSE);
  if (output != NULL)
    {
      QrTensor *t, *u;
      w.output = qr_graph_find_tensor (model->graph, output);
      t = w.output >= 0 ? qr_graph_tensor (model->graph, w.output) : NULL;
      if (t == NULL || !qr_graph_is_output (model->graph, w.output) || width < 1 || per_item (t) % (gsize) width != 0
          || first < 0 || count < 1 || first + count > width)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE,
                       "%s: no output %s of rows of %d to keep channels %d to %d of", model->graph->source, output,
                       width, first, first + count - 1);
          return FALSE;
        }
      w.width = width;
      w.first = first;
      w.count = count;
      w.rows = per_item (t) / (gsize) width;
      w.threshold = threshold;
      if (with != NULL)
        {
          w.with = qr_graph_find_tensor (model->graph, with);
          u = w.with >= 0 ? qr_graph_tensor (model->graph, w.with) : NULL;
          if (u == NULL || !qr_graph_is_output (model->graph, w.with) || per_item (u) % w.rows != 0)
            {
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE,
                           "%s: the output %s has no row for each of the %" G_GSIZE_FORMAT " rows of %s",
                           model->graph->source, with, w.rows, output);
              return FALSE;
            }
          w.with_width = (int) (per_item (u) / w.rows);
        }
    }
  model->slots[slot].wanted = w;
  model->slots[slot].items = 0;
  return TRUE;
}

/* Before a run: tells the backend the peaks and rows the model wants (it may find them itself). */
static void
ask_backend (QrModel *model)
{
  model->peak_items = 0;
  if (model->backend->klass->want_peaks != NULL)
    model->backend->klass->want_peaks (model->backend, model->graph, model->peak_map, model->peak_rows,
                                       model->peak_threshold);
  for (guint i = 0; i < QR_SELECT_SLOTS; i++)
    {
      QrRowsWanted *w = &model->slots[i].wanted;
      model->slots[i].items = 0;
      /* the rows per item at this batch (a planned batch keeps the per-item shapes) */
      if (w->output >= 0)
        w->rows = per_item (qr_graph_tensor (model->graph, w->output)) / (gsize) w->width;
      if (model->backend->klass->want_rows != NULL)
        model->backend->klass->want_rows (model->backend, model->graph, i, w->output >= 0 ? w : NULL);
    }
}

/* One item's kept rows, appended. */
static void
item_rows (const QrRowsWanted *w, const float *x, const float *with, GArray *index, GArray *values, GArray *with_values)
{
  for (gsize r = 0; r < w->rows; r++)
    {
      const float *row = x + r * (gsize) w->width;
      float m = -INFINITY;
      int at = (int) r;
      for (int c = w->first; c < w->first + w->count; c++)
        m = row[c] > m ? row[c] : m;
      if (!(m >= w->threshold))
        continue;
      g_array_append_val (index, at);
      g_array_append_vals (values, row, (guint) w->width);
      if (with != NULL)
        g_array_append_vals (with_values, with + r * (gsize) w->with_width, (guint) w->with_width);
    }
}

static void
clear_rows (Selection *s)
{
  g_array_set_size (s->index, 0);
  g_array_set_size (s->values, 0);
  g_array_set_size (s->with, 0);
}

/* After a run: each slot's rows from the backend where it kept them, else from the outputs, the
 * items in parallel. */
static void
find_rows (QrModel *model, int n)
{
  for (guint i = 0; i < QR_SELECT_SLOTS; i++)
    {
      Selection *s = &model->slots[i];
      const QrRowsWanted *w = &s->wanted;
      const float *x, *with = NULL;
      g_autofree GArray **parts = NULL;

      clear_rows (s);
      s->items = 0;
      if (w->output < 0)
        continue;
      s->offsets = g_renew (int, s->offsets, n + 1);
      memset (s->offsets, 0, sizeof (int) * (gsize) (n + 1));
      s->items = n;
      if (model->backend->klass->get_rows != NULL
          && model->backend->klass->get_rows (model->backend, model->graph, i, s->index, s->values, s->with, s->offsets))
        continue;
      clear_rows (s);
      x = model->backend->klass->output (model->backend, model->graph, w->output);
      if (w->with >= 0)
        with = model->backend->klass->output (model->backend, model->graph, w->with);
      if (x == NULL || (w->with >= 0 && with == NULL))
        continue;
      parts = g_new0 (GArray *, (gsize) n * 3);
#pragma omp parallel for schedule(dynamic) if (n > 1)
      for (int b = 0; b < n; b++)
        {
          parts[3 * b] = g_array_new (FALSE, FALSE, sizeof (int));
          parts[3 * b + 1] = g_array_new (FALSE, FALSE, sizeof (float));
          parts[3 * b + 2] = g_array_new (FALSE, FALSE, sizeof (float));
          item_rows (w, x + (gsize) b * w->rows * (gsize) w->width,
                     with != NULL ? with + (gsize) b * w->rows * (gsize) w->with_width : NULL, parts[3 * b],
                     parts[3 * b + 1], parts[3 * b + 2]);
        }
      for (int b = 0; b < n; b++)
        {
          g_array_append_vals (s->index, parts[3 * b]->data, parts[3 * b]->len);
          g_array_append_vals (s->values, parts[3 * b + 1]->data, parts[3 * b + 1]->len);
          g_array_append_vals (s->with, parts[3 * b + 2]->data, parts[3 * b + 2]->len);
          s->offsets[b + 1] = (int) s->index->len;
          for (int k = 0; k < 3; k++)
            g_array_unref (parts[3 * b + k]);
        }
    }
}

gboolean
qr_model_get_rows (QrModel *model, guint slot, int item, QrKeptRows *rows)
{
  memset (rows, 0, sizeof *rows);
  g_return_val_if_fail (slot < QR_SELECT_SLOTS, FALSE);
  {
    Selection *s = &model->slots[slot];
    int from;
    if (s->wanted.output < 0 || item < 0 || item >= s->items)
      return FALSE;
    from = s->offsets[item];
    rows->n = s->offsets[item + 1] - from;
    rows->width = s->wanted.width;
    rows->with_width = s->wanted.with >= 0 ? s->wanted.with_width : 0;
    rows->index = &g_array_index (s->index, int, 0) + from;
    rows->values = &g_array_index (s->values, float, 0) + (gsize) from * (gsize) rows->width;
    rows->with = s->wanted.with >= 0 ? &g_array_index (s->with, float, 0) + (gsize) from * (gsize) rows->with_width
                                     : NULL;
    return TRUE;
  }
}

/* One item's peaks, in (y, x, c) order: a value at or above thr with no greater one of its channel
 * among the 8 cells around (the edges have fewer). Almost every cell is below the threshold in
 * every channel: a branch-free pass over the cell finds the few that are not. */
static void
item_peaks (const float *map, int H, int W, int C, const float *rows, int K, float thr, GArray *out)
{
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        const float *cell = map + ((gsize) y * (gsize) W + (gsize) x) * (gsize) C;
        int any = 0;

        for (int c = 0; c < C; c++)
          any |= cell[c] >= thr;
        if (!any)
          continue;
        for (int c = 0; c < C; c++)
          {
            float v = cell[c];
            gboolean peak = TRUE;
            QrPeak p = { y, x, c, v, { 0 } };

            if (!(v >= thr))
              continue;
            for (int dy = -1; dy <= 1 && peak; dy++)
              for (int dx = -1; dx <= 1 && peak; dx++)
                {
                  int yy = y + dy, xx = x + dx;
                  if (yy >= 0 && yy < H && xx >= 0 && xx < W
                      && map[((gsize) yy * (gsize) W + (gsize) xx) * (gsize) C + (gsize) c] > v)
                    peak = FALSE;
                }
            if (!peak)
              continue;
            if (rows != NULL)
              memcpy (p.row, rows + ((gsize) y * (gsize) W + (gsize) x) * (gsize) K, sizeof (float) * (gsize) K);
            g_array_append_val (out, p);
          }
      }
}

/* After a run: the backend's peaks where it found them, else a pass over the downloaded map, the
 * items in parallel. */
static void
find_peaks (QrModel *model, int n)
{
  QrTensor *t, *u = NULL;
  const float *map, *rows = NULL;
  g_autofree GArray **found = NULL;
  int H, W, C, K = 0;

  g_array_set_size (model->peaks, 0);
  model->peak_items = 0;
  if (model->peak_map < 0)
    return;
  model->peak_offsets = g_renew (int, model->peak_offsets, n + 1);
  model->peak_offsets[0] = 0;
  if (model->backend->klass->get_peaks != NULL
      && model->backend->klass->get_peaks (model->backend, model->graph, model->peaks, model->peak_offsets))
    {
      model->peak_items = n;
      return;
    }
  g_array_set_size (model->peaks, 0);
  t = qr_graph_tensor (model->graph, model->peak_map);
  H = t->shape.dims[1];
  W = t->shape.dims[2];
  C = t->shape.dims[3];
  map = model->backend->klass->output (model->backend, model->graph, model->peak_map);
  if (model->peak_rows >= 0)
    {
      u = qr_graph_tensor (model->graph, model->peak_rows);
      K = u->shape.dims[3];
      rows = model->backend->klass->output (model->backend, model->graph, model->peak_rows);
    }
  if (map == NULL || (u != NULL && rows == NULL))
    {
      for (int b = 0; b <= n; b++)
        model->peak_offsets[b] = 0;
      model->peak_items = n;
      return;
    }
  found = g_new0 (GArray *, n);
#pragma omp parallel for schedule(dynamic) if (n > 1)
  for (int b = 0; b < n; b++)
    {
      found[b] = g_array_new (FALSE, FALSE, sizeof (QrPeak));
      item_peaks (map + (gsize) b * (gsize) H * (gsize) W * (gsize) C, H, W, C,
                  rows != NULL ? rows + (gsize) b * (gsize) H * (gsize) W * (gsize) K : NULL, K, model->peak_threshold,
                  found[b]);
    }
  for (int b = 0; b < n; b++)
    {
      g_array_append_vals (model->peaks, found[b]->data, found[b]->len);
      model->peak_offsets[b + 1] = (int) model->peaks->len;
      g_array_unref (found[b]);
    }
  model->peak_items = n;
}

const QrPeak *
qr_model_get_peaks (QrModel *model, int item, int *n)
{
  *n = 0;
  if (item < 0 || item >= model->peak_items)
    return NULL;
  *n = model->peak_offsets[item + 1] - model->peak_offsets[item];
  return &g_array_index (model->peaks, QrPeak, 0) + model->peak_offsets[item];
}

gboolean
qr_model_run (QrModel *model, const float *input, int batch, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_return_val_if_fail (model != NULL && input != NULL && batch > 0, FALSE);

  if (!plan_for_batch (model, batch, error))
    return FALSE;
  ask_backend (model);
  if (!model->backend->klass->run (model->backend, model->graph, input, abort, abort_data, error))
    return FALSE;
  find_peaks (model, batch);
  find_rows (model, batch);
  return TRUE;
}

/* The tensor called name (−1: none), its shape into rank and dims where they are not NULL. */
static int
find_tensor (QrModel *model, const char *name, int *rank, int *dims)
{
  int id = qr_graph_find_tensor (model->graph, name);
  QrTensor *t;

  if (id < 0)
    return -1;
  t = qr_graph_tensor (model->graph, id);
  if (rank != NULL)
    *rank = t->shape.rank;
  if (dims != NULL)
    memcpy (dims, t->shape.dims, sizeof (int) * (gsize) t->shape.rank);
  return id;
}

const float *
qr_model_get_output (QrModel *model, const char *name, int *rank, int *dims)
{
  int id = find_tensor (model, name, rank, dims);

  return id < 0 ? NULL : model->backend->klass->output (model->backend, model->graph, id);
}

gboolean
qr_model_get_output_shape (QrModel *model, const char *name, int *rank, int *dims)
{
  return find_tensor (model, name, rank, dims) >= 0;
}

double
qr_model_get_flops (QrModel *model)
{
  double total = 0;
  for (guint k = 0; k < model->graph->order->len; k++)
    total += qr_graph_node (model->graph, g_array_index (model->graph->order, int, k))->flops;
  return total; /* the shapes' counts are per image already */
}

const char *
qr_model_get_output_name (QrModel *model, guint i)
{
  if (i >= model->graph->outputs->len)
    return NULL;
  return qr_graph_tensor (model->graph, g_array_index (model->graph->outputs, int, i))->name;
}

gboolean
qr_model_export (QrModel *model, const char *json_path, const char *bin_path, GError **error)
{
  return qr_graph_export (model->graph, model->batch, json_path, bin_path, error);
}

gboolean
qr_model_can_place_input (QrModel *model)
{
  return model->backend->klass->run_placed != NULL;
}

gboolean
qr_model_run_placed (QrModel *model, const QrInputImage *images, int n, const QrInputFormat *format, int width,
                     int height, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_return_val_if_fail (model != NULL && images != NULL && n > 0, FALSE);

  if (!plan_for_batch (model, n, error))
    return FALSE;
  /* the CPU took over (or never placed inputs): the caller, told so, prepares them itself */
  if (model->backend->klass->run_placed == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: the %s backend does not place inputs",
                   model->graph->source, model->backend->klass->name);
      return FALSE;
    }
  ask_backend (model);
  if (!model->backend->klass->run_placed (model->backend, model->graph, images, n, format, width, height, abort,
                                          abort_data, error))
    return FALSE;
  find_peaks (model, n);
  find_rows (model, n);
  return TRUE;
}
