/* backend-cuda.c: the engine's CUDA backend. Memory follows the CPU backend's plan
 * (qr_graph_plan_buffers), in device memory, once per graph and batch size; constants go to the
 * GPU once per graph, convolution weights once in cuDNN's layout and type, and every
 * convolution's algorithm is chosen at planning time. A run is one
 * upload, a walk over the nodes on one stream with no allocation and no synchronisation, and one
 * download of the outputs. Built only with CUDA (gpu/). */
#define G_LOG_DOMAIN "quorum-engine"

#include "backend-cuda-private.h"
#include "image-private.h"   /* QrTaps: the GPU resizes as the CPU does */

#include <string.h>

/* The CUDA module's functions (set when the first CUDA backend is made). */
static const QrCudaApi *api;

static gboolean
cuda_supports_op (QrBackend *self, const QrNode *node)
{
  return node->op != QR_OP_UNSUPPORTED && node->op != QR_OP_SPARSE_TO_DENSE
         && (node->op == QR_OP_ACTIVATION || qr_activation_on_gpu (node->act));
}

static void
free_activations (QrCudaBackend *self)
{
  for (guint i = 0; i < self->buffers->len; i++)
    api->release (self->cuda, g_array_index (self->buffers, QrDevBuffer, i).ptr);
  g_array_set_size (self->buffers, 0);
  for (guint i = 0; i < self->n_tensors; i++)
    {
      if (!self->owned[i])
        self->dev[i] = NULL;
      if (self->pinned[i])
        api->release_host (self->cuda, self->host[i]);
      else
        g_free (self->host[i]);
      self->host[i] = NULL;
      self->pinned[i] = FALSE;
      self->stale[i] = FALSE;
    }
}

/* Constants go up once per graph (they outlive batch-size changes); a convolution's weights go up
 * in cuDNN's layout instead of as they are. */
static gboolean
upload_constants (QrCudaBackend *self, QrGraph *graph, GError **error)
{
  GError *gpu_error = NULL;

  for (guint k = 0; k < graph->order->len; k++)
    {
      int id = g_array_index (graph->order, int, k);
      QrNode *node = qr_graph_node (graph, id);
      for (int i = 0; i < node->n_inputs; i++)
        {
          QrTensor *t = qr_graph_tensor (graph, node->inputs[i]);
          if (!t->is_const || self->dev[node->inputs[i]] != NULL || t->data == NULL)
            continue;
          if (node->op == QR_OP_CONV2D && i == 1)
            continue;
          {
            gsize bytes = qr_shape_size (&t->shape) * sizeof (float);
            float *ptr = api->alloc (self->cuda, bytes, &gpu_error);
            if (ptr == NULL || !api->upload (self->cuda, ptr, t->data, bytes, &gpu_error))
              {
                api->release (self->cuda, ptr);
                return qr_cuda_backend_error (error, gpu_error, graph, node);
              }
            self->dev[node->inputs[i]] = ptr;
            self->owned[node->inputs[i]] = TRUE;
          }
        }
      if (node->op == QR_OP_CONV2D && self->weights[id] == NULL)
        {
          QrTensor *w = qr_graph_tensor (graph, node->inputs[1]);
          if (!w->is_const || w->data == NULL)
            {
              g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED,
                           "%s: node %s: the CUDA backend needs constant convolution weights", graph->source,
                           node->name);
              return FALSE;
            }
          self->weights[id] = api->upload_conv_weights (self->cuda, w->data, w->shape.dims[0], w->shape.dims[1],
                                                           w->shape.dims[2], w->shape.dims[3], &gpu_error);
          if (self->weights[id] == NULL)
            return qr_cuda_backend_error (error, gpu_error, graph, node);
        }
    }
  return TRUE;
}

static void report_profile (QrCudaBackend *self, QrGraph *graph);

/* Which activations stay FP16 between nodes (an FP16 context only): those that a node able to
 * write halves writes and that only nodes able to read them read; never a graph output. Such nodes:
 * convolutions (input: their first, and not with unequal pads, which pad an FP32 copy first), the
 * tiled depthwise convolutions, and the element-wise ops of a detector's blocks — subtract,
 * multiply, max, min and the bounded activations (not exp, log, pow or a division, whose results
 * can leave FP16's range). Not add: residual sums rounded to half at every block moved CenterNet's
 * size map by 0.037 of its largest value from the CPU's, against 0.020 without (over the host
 * stand-in, which rounds as the GPU does). Sums inside a node stay FP32. Each such activation saves
 * a conversion to FP32 after its producer and one back before each convolution reading it, and
 * half the bytes everywhere. The buffers stay sized in floats. */
static gboolean
half_elementwise (const QrNode *node)
{
  switch (node->op)
    {
    case QR_OP_SUB:
    case QR_OP_MUL:
    case QR_OP_MAXIMUM:
    case QR_OP_MINIMUM:
      return node->act == QR_ACT_NONE;
    case QR_OP_ACTIVATION:
      switch (node->act)
        {
        case QR_ACT_RELU: case QR_ACT_RELU6: case QR_ACT_LEAKY_RELU: case QR_ACT_SIGMOID: case QR_ACT_HARD_SWISH:
        case QR_ACT_SWISH: case QR_ACT_MISH: case QR_ACT_TANH: case QR_ACT_HARD_SIGMOID: case QR_ACT_CLIP:
        case QR_ACT_NEG: case QR_ACT_ABS: case QR_ACT_ERF:
          return TRUE;
        default:
          return FALSE;
        }
    default:
      return FALSE;
    }
}

static gboolean
half_writer (QrCudaBackend *self, QrGraph *graph, const QrNode *node)
{
  return node->op == QR_OP_CONV2D || half_elementwise (node)
         || (node->op == QR_OP_DEPTHWISE && qr_cuda_backend_depthwise_tiled (self, graph, node));
}

/* reads its input `i` as halves */
static gboolean
half_reader (QrCudaBackend *self, QrGraph *graph, const QrNode *node, int i)
{
  if (half_elementwise (node))
    return TRUE;
  if (i != 0)
    return FALSE;
  if (node->op == QR_OP_CONV2D)
    return node->pads[0] == node->pads[1] && node->pads[2] == node->pads[3];
  return node->op == QR_OP_DEPTHWISE && qr_cuda_backend_depthwise_tiled (self, graph, node);
}

static void
plan_half (QrCudaBackend *self, QrGraph *graph)
{
  memset (self->half, 0, sizeof (gboolean) * self->n_tensors);
  self->n_half = 0;
  if (self->half_off || api->get_precision (self->cuda) != QR_CUDA_FP16)
    return;
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      int id = node->n_outputs == 1 ? node->outputs[0] : -1;
      guint readers = 0;
      gboolean all = TRUE;

      if (id < 0 || qr_graph_is_output (graph, id) || self->dev[id] == NULL || !half_writer (self, graph, node))
        continue;
      for (guint j = k + 1; j < graph->order->len && all; j++)
        {
          QrNode *reader = qr_graph_node (graph, g_array_index (graph->order, int, j));
          for (int i = 0; i < reader->n_inputs && all; i++)
            if (reader->inputs[i] == id)
              {
                all = half_reader (self, graph, reader, i);
                readers++;
              }
        }
      if (all && readers > 0)
        {
          self->half[id] = TRUE;
          self->n_half++;
        }
    }
}

static gboolean
cuda_prepare (QrBackend *backend, QrGraph *graph, int batch, GError **error)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  GError *gpu_error = NULL;
  gsize total = 0;

  if (self->profiled == graph)
    report_profile (self, graph);   /* before the shapes change to the new batch */
  if (!qr_graph_infer_shapes (graph, batch, error))
    return FALSE;
  if (self->n_tensors == 0)
    {
      self->n_tensors = graph->tensors->len;
      self->n_nodes = graph->nodes->len;
      self->dev = g_new0 (float *, self->n_tensors);
      self->owned = g_new0 (gboolean, self->n_tensors);
      self->host = g_new0 (float *, self->n_tensors);
      self->pinned = g_new0 (gboolean, self->n_tensors);
      self->stale = g_new0 (gboolean, self->n_tensors);
      self->weights = g_new0 (void *, self->n_nodes);
      if (self->profile_wanted)
        self->profile = qr_profile_new (self->n_nodes);
      self->half = g_new0 (gboolean, self->n_tensors);
    }
  self->profiled = graph;
  g_return_val_if_fail (self->n_tensors == graph->tensors->len, FALSE);
  /* a new plan moves every buffer: a captured pass would write to the old ones */
  api->graph_free (self->cuda, self->graph);
  self->graph = NULL;
  self->runs = 0;
  free_activations (self);
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      /* a dilated pool (ONNX graphs) has no CUDA kernel yet either */
      if (!cuda_supports_op (backend, node)
          || ((node->op == QR_OP_MAXPOOL || node->op == QR_OP_AVGPOOL) && (node->dilation[0] != 1 || node->dilation[1] != 1)))
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: node %s (%s): no CUDA kernel",
                       graph->source, node->name, node->source_op ? node->source_op : "?");
          return FALSE;
        }
    }
  if (!upload_constants (self, graph, error))
    return FALSE;

  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      if (!t->is_const)
        t->data = NULL;   /* device memory: nothing for the host to read */
    }
  {
    g_autoptr (GArray) plan = qr_graph_plan_buffers (graph);
    for (guint b = 0; b < plan->len; b++)
      {
        QrPlannedBuffer *p = &g_array_index (plan, QrPlannedBuffer, b);
        QrDevBuffer buffer = { api->alloc (self->cuda, p->size * sizeof (float), &gpu_error), p->size };
        if (buffer.ptr == NULL)
          {
            free_activations (self);
            return qr_cuda_backend_error (error, gpu_error, graph,
                                 qr_graph_node (graph, qr_graph_tensor (graph, p->first_tensor)->producer));
          }
        g_array_append_val (self->buffers, buffer);
      }
  }
  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      if (!t->is_const && t->buffer >= 0)
        self->dev[i] = g_array_index (self->buffers, QrDevBuffer, t->buffer).ptr;
    }
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      int id = g_array_index (graph->outputs, int, i);
      QrTensor *t = qr_graph_tensor (graph, id);
      gsize bytes = MAX (qr_shape_size (&t->shape), 1) * sizeof (float);
      if (self->host[id] == NULL)
        {
          self->host[id] = api->alloc_host (self->cuda, bytes, NULL);
          self->pinned[id] = self->host[id] != NULL;
        }
      if (self->host[id] == NULL)
        self->host[id] = g_try_malloc0 (bytes);
      if (self->host[id] == NULL)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: not enough memory for the output %s",
                       graph->source, t->name);
          free_activations (self);
          return FALSE;
        }
    }
  plan_half (self, graph);
  /* Every convolution's algorithm now, so a run never searches or allocates. */
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      QrCudaConv conv;
      if (node->op != QR_OP_CONV2D)
        continue;
      qr_cuda_backend_conv_params (self, graph, node, &conv);
      if (!api->conv2d_prepare (self->cuda, &conv, &gpu_error))
        {
          free_activations (self);
          return qr_cuda_backend_error (error, gpu_error, graph, node);
        }
    }
  for (guint i = 0; i < self->buffers->len; i++)
    total += g_array_index (self->buffers, QrDevBuffer, i).size;
  self->batch = batch;
  g_debug ("%s: planned batch %d on %s (%s): %u buffers, %.1f MB, scratch %.1f MB, %u activations in FP16",
           graph->source, batch, api->device_name (self->cuda), api->precision_name (api->get_precision (self->cuda)),
           self->buffers->len, (double) total * 4 / 1e6, (double) api->get_scratch_bytes (self->cuda) / 1e6,
           self->n_half);
  return TRUE;
}

/* The profile of the runs since the last plan, as a message. Synchronising after every node adds
 * a launch's latency to each. */
static void
report_profile (QrCudaBackend *self, QrGraph *graph)
{
  g_autofree char *where = NULL;

  if (self->profile == NULL || self->profile->runs == 0)
    return;
  where = g_strdup_printf ("%s (%s)", api->device_name (self->cuda), api->precision_name (api->get_precision (self->cuda)));
  qr_profile_report (self->profile, graph, self->batch, where);
}

static gboolean
walk (QrCudaBackend *self, QrGraph *graph, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  gboolean timed = self->profile != NULL;
  gint64 before = 0;

  if (timed)
    {
      api->sync (self->cuda, NULL);
      before = g_get_monotonic_time ();
    }
  for (guint k = 0; k < graph->order->len; k++)
    {
      int id = g_array_index (graph->order, int, k);
      QrNode *node = qr_graph_node (graph, id);
      if (node->op == QR_OP_INPUT)
        continue;
      if (abort != NULL && abort (abort_data))
        {
          g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED, "cancelled");
          return FALSE;
        }
      if (!qr_cuda_backend_run_node (self, graph, node, id, error))
        return FALSE;
      if (timed)
        {
          gint64 after;
          api->sync (self->cuda, NULL);
          after = g_get_monotonic_time ();
          qr_profile_add (self->profile, node, id, (double) (after - before));
          before = after;
        }
    }
  if (timed)
    self->profile->runs++;
  return TRUE;
}

static gboolean
graphs_wanted (QrCudaBackend *self)
{
  return !self->profile_wanted && g_strcmp0 (g_getenv ("QUORUM_CUDA_GRAPHS"), "0") != 0;
}

/* The first run at a batch size is eager (it proves the plan); the second is captured as a CUDA
 * graph and every later one replays it: hundreds of launches become one. Where capture fails the
 * backend says so (debug) and stays eager. A cancel is looked at between nodes when eager, before
 * the launch when replaying (a replay is milliseconds). */
static gboolean
forward (QrCudaBackend *self, QrGraph *graph, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  GError *local = NULL;

  if (self->graph == NULL && self->runs > 0 && !self->graph_failed && graphs_wanted (self))
    {
      if (api->capture_begin (self->cuda, &local))
        {
          gboolean walked = walk (self, graph, NULL, NULL, &local);
          void *exec = api->capture_end (self->cuda, walked ? &local : NULL);
          if (walked && exec != NULL)
            self->graph = exec;
          else
            api->graph_free (self->cuda, exec);
        }
      if (self->graph == NULL)
        {
          g_debug ("%s: no CUDA graph, eager launches: %s", graph->source, local ? local->message : "capture failed");
          self->graph_failed = TRUE;
        }
      g_clear_error (&local);
    }
  if (self->graph != NULL)
    {
      if (abort != NULL && abort (abort_data))
        {
          g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED, "cancelled");
          return FALSE;
        }
      if (!api->graph_launch (self->cuda, self->graph, &local))
        return qr_cuda_backend_error (error, local, graph, NULL);
      return TRUE;
    }
  return walk (self, graph, abort, abort_data, error);
}

static gboolean finish_run (QrCudaBackend *self, QrGraph *graph, QrAbortFunc abort, gpointer abort_data,
                            GError **error);

static gboolean
cuda_run (QrBackend *backend, QrGraph *graph, const float *input, QrAbortFunc abort, gpointer abort_data,
          GError **error)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  int in_id = g_array_index (graph->inputs, int, 0);
  QrTensor *in = qr_graph_tensor (graph, in_id);
  GError *gpu_error = NULL;

  /* an input no output reads (ONNX's Shape of it, folded) has no device memory: nothing to send */
  if (self->dev[in_id] != NULL
      && !api->upload (self->cuda, self->dev[in_id], input, qr_shape_size (&in->shape) * sizeof (float), &gpu_error))
    return qr_cuda_backend_error (error, gpu_error, graph, NULL);
  return finish_run (self, graph, abort, abort_data, error);
}

/* Grows one of the backend's device areas to at least `bytes`. */
static gboolean
reserve (QrCudaBackend *self, guint8 **area, gsize *size, gsize bytes, GError **error)
{
  guint8 *bigger;

  if (bytes <= *size)
    return TRUE;
  bigger = api->alloc (self->cuda, bytes, error);
  if (bigger == NULL)
    return FALSE;
  api->sync (self->cuda, NULL);
  api->release (self->cuda, *area);
  *area = bigger;
  *size = bytes;
  return TRUE;
}

#define ALIGN16(x) (((x) + 15) & ~(gsize) 15)

/* One image's taps, packed for upload: x first/count/weights then y's. */
typedef struct
{
  QrTaps     x, y;
  gsize      at;       /* offset of this image's taps in the packed area */
  QrCudaTaps dx, dy;   /* where they are on the device */
} ImageTaps;

static gsize
taps_bytes (const QrTaps *t, int n)
{
  return ALIGN16 ((gsize) n * sizeof (int)) * 2 + ALIGN16 ((gsize) n * (gsize) t->max_taps * sizeof (float));
}

/* Copies t (n outputs) to host + at and describes where it lands in device memory at dev + at. */
static gsize
pack_taps (const QrTaps *t, int n, guint8 *host, const guint8 *dev, gsize at, QrCudaTaps *out)
{
  gsize ints = ALIGN16 ((gsize) n * sizeof (int)), floats = (gsize) n * (gsize) t->max_taps * sizeof (float);

  memcpy (host + at, t->first, (gsize) n * sizeof (int));
  memcpy (host + at + ints, t->count, (gsize) n * sizeof (int));
  memcpy (host + at + 2 * ints, t->weights, floats);
  out->first = (const int *) (dev + at);
  out->count = (const int *) (dev + at + ints);
  out->weights = (const float *) (dev + at + 2 * ints);
  out->max_taps = t->max_taps;
  return at + 2 * ints + ALIGN16 (floats);
}

/* The 8-bit images go up as they are (decoded, not yet resized: a quarter of the floats' bytes
 * and none of the CPU's resampling); on the GPU each is resized (the CPU's taps and sums), then
 * placed, converted and normalised into the input. */
static gboolean
cuda_run_placed (QrBackend *backend, QrGraph *graph, const QrInputImage *images, int n, const QrInputFormat *format,
                 int width, int height, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  int in_id = g_array_index (graph->inputs, int, 0);
  QrTensor *in = qr_graph_tensor (graph, in_id);
  gsize per_item = (gsize) width * (gsize) height * 3;
  GError *gpu_error = NULL;
  QrCudaInputFormat f = { width, height, format->nchw, { 0 }, { 0 }, { 0 }, format->fill };
  g_autofree gsize *src_at = g_new0 (gsize, n), *fit_at = g_new0 (gsize, n);
  g_autofree ImageTaps *taps = g_new0 (ImageTaps, n);
  g_autofree guint8 *packed = NULL;
  gsize total = 0, taps_total = 0, tmp_bytes = 0;
  gboolean ok = TRUE;

  if (self->dev[in_id] == NULL || per_item * (gsize) n != qr_shape_size (&in->shape))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: %d inputs of %d×%d×3 do not fill the input %s",
                   graph->source, n, width, height, in->name);
      return FALSE;
    }
  for (int c = 0; c < 3; c++)
    {
      f.perm[c] = format->perm[c];
      f.sub[c] = format->sub[c];
      f.div[c] = format->div[c];
    }
  /* the staging area: each source image, then each resized one */
  for (int b = 0; b < n; b++)
    {
      src_at[b] = total;
      total += ALIGN16 ((gsize) images[b].src_w * (gsize) images[b].src_h * 3);
    }
  for (int b = 0; b < n; b++)
    {
      gboolean resize = images[b].src_w != images[b].w || images[b].src_h != images[b].h;
      fit_at[b] = resize ? total : src_at[b];
      if (!resize)
        continue;
      total += ALIGN16 ((gsize) images[b].w * (gsize) images[b].h * 3);
      qr_taps_init (&taps[b].x, images[b].src_w, images[b].w);
      qr_taps_init (&taps[b].y, images[b].src_h, images[b].h);
      taps[b].at = taps_total;
      taps_total += taps_bytes (&taps[b].x, images[b].w) + taps_bytes (&taps[b].y, images[b].h);
      tmp_bytes = MAX (tmp_bytes, (gsize) images[b].src_h * (gsize) images[b].w * 3 * sizeof (float));
    }
  if (!reserve (self, &self->staging, &self->staging_bytes, total, &gpu_error)
      || !reserve (self, &self->resize_area, &self->resize_bytes, ALIGN16 (taps_total) + tmp_bytes, &gpu_error))
    {
      ok = qr_cuda_backend_error (error, gpu_error, graph, NULL);
      goto out;
    }
  for (int b = 0; b < n && ok; b++)
    if (!api->upload (self->cuda, self->staging + src_at[b], images[b].pixels,
                      (gsize) images[b].src_w * (gsize) images[b].src_h * 3, &gpu_error))
      ok = qr_cuda_backend_error (error, gpu_error, graph, NULL);
  if (ok && taps_total > 0)
    {
      packed = g_malloc (taps_total);
      for (int b = 0; b < n; b++)
        if (taps[b].x.first != NULL)
          {
            gsize at = pack_taps (&taps[b].x, images[b].w, packed, self->resize_area, taps[b].at, &taps[b].dx);
            pack_taps (&taps[b].y, images[b].h, packed, self->resize_area, at, &taps[b].dy);
          }
      if (!api->upload (self->cuda, self->resize_area, packed, taps_total, &gpu_error))
        ok = qr_cuda_backend_error (error, gpu_error, graph, NULL);
    }
  for (int b = 0; b < n && ok; b++)
    {
      if (taps[b].x.first != NULL)
        api->resize_u8 (self->cuda, self->staging + src_at[b], images[b].src_w, images[b].src_h, images[b].w,
                        images[b].h, &taps[b].dx, &taps[b].dy, (float *) (self->resize_area + ALIGN16 (taps_total)),
                        self->staging + fit_at[b]);
      api->place_input (self->cuda, self->staging + fit_at[b], images[b].w, images[b].h, images[b].x0, images[b].y0,
                        &f, self->dev[in_id] + per_item * (gsize) b);
    }
  if (ok && !api->check (self->cuda, "placing the inputs", &gpu_error))
    ok = qr_cuda_backend_error (error, gpu_error, graph, NULL);
out:
  for (int b = 0; b < n; b++)
    if (taps[b].x.first != NULL)
      {
        qr_taps_clear (&taps[b].x);
        qr_taps_clear (&taps[b].y);
      }
  if (!ok)
    return FALSE;
  return finish_run (self, graph, abort, abort_data, error);
}

/* A peak list holds this many per item: CenterNet at the detectors' lowest threshold finds a few
 * hundred. An item with more sends the run's peaks to the CPU (get_peaks says so). */
#define PEAK_CAP 1024

static void
cuda_want_peaks (QrBackend *backend, QrGraph *graph, int map, int rows, float threshold)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;

  /* the kernel numbers an item's values with an int */
  if (self->select_off
      || (map >= 0 && qr_shape_size (&qr_graph_tensor (graph, map)->shape) / (gsize) MAX (self->batch, 1) > G_MAXINT))
    map = -1;
  self->peak_map = map;
  self->peak_rows = map >= 0 ? rows : -1;
  self->peak_threshold = threshold;
}

static void
cuda_want_rows (QrBackend *backend, QrGraph *graph, guint slot, const QrRowsWanted *wanted)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;

  self->rows_on[slot] = !self->select_off && wanted != NULL && wanted->rows * (gsize) MAX (self->batch, 1) < G_MAXINT;
  if (wanted != NULL)
    self->rows_wanted[slot] = *wanted;
}

/* A list's room on the GPU and in (page-locked) host memory; FALSE where there is none, and the
 * outputs come down whole as before. */
static gboolean
reserve_lists (QrCudaBackend *self, guint8 **area, gsize *area_bytes, guint8 **host, gsize *host_bytes,
               gboolean *pinned, gsize bytes)
{
  GError *gpu_error = NULL;

  if (!reserve (self, area, area_bytes, bytes, &gpu_error))
    {
      g_debug ("no GPU memory for the peaks or rows (%s): the outputs come down whole", gpu_error->message);
      g_error_free (gpu_error);
      return FALSE;
    }
  if (bytes <= *host_bytes)
    return TRUE;
  if (*pinned)
    api->release_host (self->cuda, *host);
  else
    g_free (*host);
  *host = api->alloc_host (self->cuda, bytes, NULL);
  *pinned = *host != NULL;
  if (*host == NULL)
    *host = g_try_malloc (bytes);
  *host_bytes = *host != NULL ? bytes : 0;
  return *host != NULL;
}

static gboolean
reserve_peaks (QrCudaBackend *self, gsize bytes)
{
  return reserve_lists (self, &self->peak_area, &self->peak_bytes, &self->peak_host, &self->peak_host_bytes,
                        &self->peak_host_pinned, bytes);
}

#define ROWS_COUNTS 64   /* bytes at the start of rows_area: one int per slot */

static gsize
rows_stride (const QrRowsWanted *w)
{
  return (gsize) (1 + w->width + (w->with >= 0 ? w->with_width : 0));
}

/* The row lists' kernels and the download of their counts; FALSE (and no slot on) where there is
 * no room for them. */
static gboolean
launch_rows (QrCudaBackend *self, QrGraph *graph, GError **error)
{
  GError *gpu_error = NULL;
  gsize total = ROWS_COUNTS;
  gboolean any = FALSE;

  for (guint i = 0; i < QR_SELECT_SLOTS; i++)
    {
      QrRowsWanted *w = &self->rows_wanted[i];
      self->rows_done[i] = FALSE;
      if (!self->rows_on[i] || self->dev[w->output] == NULL || (w->with >= 0 && self->dev[w->with] == NULL))
        continue;
      self->rows_cap[i] = 1024 + 256 * self->batch;
      self->rows_at[i] = total;
      total += ALIGN16 ((gsize) self->rows_cap[i] * rows_stride (w) * sizeof (float));
      self->rows_done[i] = any = TRUE;
    }
  if (!any)
    return TRUE;
  if (!reserve_lists (self, &self->rows_area, &self->rows_bytes, &self->rows_host, &self->rows_host_bytes,
                      &self->rows_host_pinned, total))
    {
      memset (self->rows_done, 0, sizeof self->rows_done);
      return TRUE;
    }
  for (guint i = 0; i < QR_SELECT_SLOTS; i++)
    if (self->rows_done[i])
      {
        QrRowsWanted *w = &self->rows_wanted[i];
        api->select_rows (self->cuda, self->dev[w->output], w->with >= 0 ? self->dev[w->with] : NULL,
                          w->rows * (gsize) self->batch, w->width, w->first, w->count,
                          w->with >= 0 ? w->with_width : 0, w->threshold, self->rows_cap[i],
                          (int *) self->rows_area + i, (float *) (self->rows_area + self->rows_at[i]));
      }
  if (!api->download (self->cuda, self->rows_host, self->rows_area, ROWS_COUNTS, &gpu_error))
    return qr_cuda_backend_error (error, gpu_error, graph, NULL);
  return TRUE;
}

/* After the first sync: each list as long as its count says, then a second sync. */
static gboolean
download_rows (QrCudaBackend *self, QrGraph *graph, GError **error)
{
  GError *gpu_error = NULL;
  gboolean any = FALSE;

  for (guint i = 0; i < QR_SELECT_SLOTS; i++)
    {
      int n;
      if (!self->rows_done[i])
        continue;
      n = ((const int *) self->rows_host)[i];
      if (n <= 0 || n > self->rows_cap[i])
        continue;
      if (!api->download (self->cuda, self->rows_host + self->rows_at[i], self->rows_area + self->rows_at[i],
                          (gsize) n * rows_stride (&self->rows_wanted[i]) * sizeof (float), &gpu_error))
        return qr_cuda_backend_error (error, gpu_error, graph, NULL);
      any = TRUE;
    }
  if (any && !api->sync (self->cuda, &gpu_error))
    return qr_cuda_backend_error (error, gpu_error, graph, NULL);
  return TRUE;
}

typedef struct
{
  int          row;
  const float *entry;
} KeptRow;

static int
compare_kept (gconstpointer a, gconstpointer b)
{
  const KeptRow *p = a, *q = b;
  return p->row < q->row ? -1 : p->row > q->row;
}

static gboolean
cuda_get_rows (QrBackend *backend, QrGraph *graph, guint slot, GArray *index, GArray *values, GArray *with,
               int *offsets)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  const QrRowsWanted *w = &self->rows_wanted[slot];
  int n, b = 0, width = w->width, with_width = w->with >= 0 ? w->with_width : 0;
  gsize stride = rows_stride (w);
  g_autofree KeptRow *kept = NULL;

  if (!self->rows_done[slot])
    return FALSE;
  n = ((const int *) self->rows_host)[slot];
  if (n < 0 || n > self->rows_cap[slot])
    {
      g_debug ("%s: %d rows of %s kept, more than the GPU's list of %d: kept on the CPU", graph->source, n,
               qr_graph_tensor (graph, w->output)->name, self->rows_cap[slot]);
      return FALSE;
    }
  kept = g_new (KeptRow, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      const float *e = (const float *) (self->rows_host + self->rows_at[slot]) + (gsize) i * stride;
      memcpy (&kept[i].row, &e[0], sizeof (int));
      kept[i].entry = e;
    }
  qsort (kept, (gsize) n, sizeof (KeptRow), compare_kept);
  offsets[0] = 0;
  for (int i = 0; i < n; i++)
    {
      int item = (int) ((gsize) kept[i].row / w->rows), at = (int) ((gsize) kept[i].row % w->rows);
      for (; b < item; b++)
        offsets[b + 1] = (int) index->len;
      g_array_append_val (index, at);
      g_array_append_vals (values, kept[i].entry + 1, (guint) width);
      if (with_width > 0)
        g_array_append_vals (with, kept[i].entry + 1 + width, (guint) with_width);
    }
  for (; b < self->batch; b++)
    offsets[b + 1] = (int) index->len;
  return TRUE;
}

/* After the network: the peaks' kernel, then one download of every output but the two the peaks
 * stand for (the map and its rows wait on the GPU, stale here, for cuda_output), one sync. */
static gboolean
finish_run (QrCudaBackend *self, QrGraph *graph, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  GError *gpu_error = NULL;
  gboolean peaks = FALSE;

  self->peaks_done = FALSE;
  memset (self->rows_done, 0, sizeof self->rows_done);
  if (!forward (self, graph, abort, abort_data, error))
    {
      api->sync (self->cuda, NULL);
      return FALSE;
    }
  if (self->peak_map >= 0 && self->dev[self->peak_map] != NULL
      && (self->peak_rows < 0 || self->dev[self->peak_rows] != NULL))
    {
      const int *d = qr_graph_tensor (graph, self->peak_map)->shape.dims;
      int k = self->peak_rows >= 0 ? qr_graph_tensor (graph, self->peak_rows)->shape.dims[3] : 0;
      gsize counts = ALIGN16 ((gsize) d[0] * sizeof (int));
      gsize bytes = counts + (gsize) d[0] * PEAK_CAP * (gsize) (2 + k) * sizeof (float);

      peaks = reserve_peaks (self, bytes);
      if (peaks)
        {
          api->peaks (self->cuda, self->dev[self->peak_map], self->peak_rows >= 0 ? self->dev[self->peak_rows] : NULL,
                      d[0], d[1], d[2], d[3], k, self->peak_threshold, PEAK_CAP, (int *) self->peak_area,
                      (float *) (self->peak_area + counts));
          if (!api->download (self->cuda, self->peak_host, self->peak_area, bytes, &gpu_error))
            return qr_cuda_backend_error (error, gpu_error, graph, NULL);
        }
    }
  if (!launch_rows (self, graph, error))
    return FALSE;
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      int id = g_array_index (graph->outputs, int, i);
      QrTensor *t = qr_graph_tensor (graph, id);
      const float *src = self->dev[id];
      if (src == NULL || self->host[id] == NULL)
        continue;
      self->stale[id] = peaks && (id == self->peak_map || id == self->peak_rows);
      for (guint k = 0; k < QR_SELECT_SLOTS; k++)
        if (self->rows_done[k] && (id == self->rows_wanted[k].output || id == self->rows_wanted[k].with))
          self->stale[id] = TRUE;
      if (self->stale[id])
        continue;
      if (!api->download (self->cuda, self->host[id], src, qr_shape_size (&t->shape) * sizeof (float), &gpu_error))
        return qr_cuda_backend_error (error, gpu_error, graph, NULL);
    }
  if (!api->sync (self->cuda, &gpu_error))
    return qr_cuda_backend_error (error, gpu_error, graph, NULL);
  if (!download_rows (self, graph, error))
    return FALSE;
  self->peaks_done = peaks;
  self->runs++;
  return TRUE;
}

static int
compare_peaks (gconstpointer a, gconstpointer b)
{
  const QrPeak *p = a, *q = b;
  if (p->y != q->y)
    return p->y < q->y ? -1 : 1;
  if (p->x != q->x)
    return p->x < q->x ? -1 : 1;
  return p->c < q->c ? -1 : p->c > q->c;
}

/* The downloaded lists as the model's peaks, each item's sorted into (y, x, c) order. */
static gboolean
cuda_get_peaks (QrBackend *backend, QrGraph *graph, GArray *out, int *offsets)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  const int *d, *count;
  int k;
  gsize counts;

  if (!self->peaks_done)
    return FALSE;
  d = qr_graph_tensor (graph, self->peak_map)->shape.dims;
  k = self->peak_rows >= 0 ? qr_graph_tensor (graph, self->peak_rows)->shape.dims[3] : 0;
  counts = ALIGN16 ((gsize) d[0] * sizeof (int));
  count = (const int *) self->peak_host;
  for (int b = 0; b < d[0]; b++)
    if (count[b] < 0 || count[b] > PEAK_CAP)
      {
        /* more than a list holds: the CPU finds them in the whole map */
        g_debug ("%s: item %d has %d peaks of %s, more than the GPU's list of %d: found on the CPU", graph->source, b,
                 count[b], qr_graph_tensor (graph, self->peak_map)->name, PEAK_CAP);
        return FALSE;
      }
  offsets[0] = 0;
  for (int b = 0; b < d[0]; b++)
    {
      const float *e = (const float *) (self->peak_host + counts) + (gsize) b * PEAK_CAP * (gsize) (2 + k);
      guint first = out->len;

      g_array_set_size (out, first + (guint) count[b]);
      for (int i = 0; i < count[b]; i++, e += 2 + k)
        {
          QrPeak *p = &g_array_index (out, QrPeak, first + (guint) i);
          int at;
          memcpy (&at, &e[0], sizeof at);
          memset (p, 0, sizeof *p);
          p->c = at % d[3];
          p->x = at / d[3] % d[2];
          p->y = at / d[3] / d[2];
          p->value = e[1];
          memcpy (p->row, e + 2, sizeof (float) * (gsize) k);
        }
      qsort (&g_array_index (out, QrPeak, first), (gsize) count[b], sizeof (QrPeak), compare_peaks);
      offsets[b + 1] = (int) out->len;
    }
  return TRUE;
}

static const float *
cuda_output (QrBackend *backend, QrGraph *graph, int tensor)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  QrTensor *t = qr_graph_tensor (graph, tensor);
  const float *data;

  if (t->is_const)
    return t->data;
  if (tensor < 0 || (guint) tensor >= self->n_tensors)
    return NULL;
  /* a map the peaks stood for, asked for after all (the viewer's heatmap, a comparison): now */
  g_mutex_lock (&self->lazy_lock);
  if (self->stale[tensor])
    {
      GError *gpu_error = NULL;
      if (api->download (self->cuda, self->host[tensor], self->dev[tensor], qr_shape_size (&t->shape) * sizeof (float),
                         &gpu_error)
          && api->sync (self->cuda, &gpu_error))
        self->stale[tensor] = FALSE;
      else
        {
          g_warning ("%s: the output %s could not be downloaded: %s", graph->source, t->name, gpu_error->message);
          g_error_free (gpu_error);
        }
    }
  data = self->stale[tensor] ? NULL : self->host[tensor];
  g_mutex_unlock (&self->lazy_lock);
  return data;
}

static void
cuda_release (QrBackend *backend)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;

  if (self->profiled != NULL)
    report_profile (self, self->profiled);
  api->graph_free (self->cuda, self->graph);
  api->release (self->cuda, self->staging);
  api->release (self->cuda, self->resize_area);
  api->release (self->cuda, self->peak_area);
  if (self->peak_host_pinned)
    api->release_host (self->cuda, self->peak_host);
  else
    g_free (self->peak_host);
  api->release (self->cuda, self->rows_area);
  if (self->rows_host_pinned)
    api->release_host (self->cuda, self->rows_host);
  else
    g_free (self->rows_host);
  g_mutex_clear (&self->lazy_lock);
  if (self->n_tensors > 0)
    {
      free_activations (self);
      for (guint i = 0; i < self->n_tensors; i++)
        if (self->owned[i])
          api->release (self->cuda, self->dev[i]);
      for (guint i = 0; i < self->n_nodes; i++)
        api->release (self->cuda, self->weights[i]);
    }
  g_free (self->dev);
  g_free (self->owned);
  g_free (self->host);
  g_free (self->pinned);
  g_free (self->stale);
  g_free (self->weights);
  qr_profile_free (self->profile);
  g_free (self->half);
  g_array_unref (self->buffers);
  api->free (self->cuda);
  g_free (self);
}

static const QrBackendClass cuda_backend_class = {
  "cuda", cuda_supports_op, cuda_prepare, cuda_run, cuda_output, cuda_release, cuda_run_placed, cuda_want_peaks,
  cuda_get_peaks, cuda_want_rows, cuda_get_rows,
};

QrBackend *
qr_backend_cuda_new (QrPrecision precision, GError **error)
{
  GError *gpu_error = NULL;
  QrCuda *cuda;
  QrCudaBackend *self;

  api = qr_cuda_api (error);
  if (api == NULL)
    return NULL;
  cuda = api->new (0, precision == QR_PRECISION_FP16   ? QR_CUDA_FP16
                      : precision == QR_PRECISION_TF32 ? QR_CUDA_TF32
                                                       : QR_CUDA_FP32, &gpu_error);

  if (cuda == NULL)
    {
      g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, gpu_error->message);
      g_error_free (gpu_error);
      return NULL;
    }
  self = g_new0 (QrCudaBackend, 1);
  self->parent.klass = &cuda_backend_class;
  self->api = api;
  self->cuda = cuda;
  self->buffers = g_array_new (FALSE, TRUE, sizeof (QrDevBuffer));
  self->peak_map = self->peak_rows = -1;
  self->select_off = g_strcmp0 (g_getenv ("QUORUM_GPU_SELECT"), "0") == 0;
  self->half_off = g_strcmp0 (g_getenv ("QUORUM_GPU_HALF"), "0") == 0;
  self->depthwise_generic = g_strcmp0 (g_getenv ("QUORUM_GPU_DEPTHWISE"), "0") == 0;
  g_mutex_init (&self->lazy_lock);
  self->profile_wanted = g_strcmp0 (g_getenv ("QUORUM_CUDA_PROFILE"), "1") == 0;
  return &self->parent;
}

char *
qr_backend_cuda_describe (QrBackend *backend)
{
  QrCudaBackend *self = (QrCudaBackend *) backend;
  return g_strdup_printf ("cuda:0 %s %s", api->device_name (self->cuda),
                          api->precision_name (api->get_precision (self->cuda)));
}
