/* backend-cpu.c: the CPU backend. Preparing allocates the buffers of the memory plan once per
 * graph and batch size (qr_graph_plan_buffers: a buffer is reused after the last node that reads
 * it, so a 500-node network runs in a handful of buffers). Running is then a walk over the
 * nodes with no allocation. QUORUM_CPU_PROFILE=1 times each node and reports where the runs since
 * the last plan went (at the next plan and at the end). */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <string.h>

typedef struct
{
  float   *data;
  gsize    size;     /* floats */
} Buffer;

typedef struct
{
  QrBackend  parent;
  int        n_threads;
  GArray    *buffers;  /* Buffer */
  float     *scratch;
  gsize      scratch_size;
  int        batch;
  QrProfile *profile;  /* QUORUM_CPU_PROFILE=1 */
  QrGraph   *profiled; /* the graph planned last (borrowed: the model frees it after us) */
} CpuBackend;

static gboolean
cpu_supports_op (QrBackend *self, const QrNode *node)
{
  return node->op != QR_OP_UNSUPPORTED;
}

static void
free_buffers (CpuBackend *self)
{
  for (guint i = 0; i < self->buffers->len; i++)
    g_free (g_array_index (self->buffers, Buffer, i).data);
  g_array_set_size (self->buffers, 0);
  g_clear_pointer (&self->scratch, g_free);
  self->scratch_size = 0;
}

static gboolean
cpu_prepare (QrBackend *backend, QrGraph *graph, int batch, GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  gsize total = 0;

  if (self->profile != NULL && self->profiled != NULL)
    qr_profile_report (self->profile, self->profiled, self->batch, "the CPU");
  if (!qr_graph_infer_shapes (graph, batch, error))
    return FALSE;
  free_buffers (self);
  if (self->profile != NULL && self->profile->n_nodes != graph->nodes->len)
    {
      qr_profile_free (self->profile);
      self->profile = qr_profile_new (graph->nodes->len);
    }
  self->profiled = self->profile != NULL ? graph : NULL;
  qr_cpu_set_threads (self->n_threads);

  for (guint k = 0; k < graph->order->len; k++)
    self->scratch_size = MAX (self->scratch_size,
                              qr_cpu_scratch_size (graph, qr_graph_node (graph, g_array_index (graph->order, int, k))));
  for (guint i = 0; i < graph->tensors->len; i++)
    if (!qr_graph_tensor (graph, (int) i)->is_const)
      qr_graph_tensor (graph, (int) i)->data = NULL;
  {
    g_autoptr (GArray) plan = qr_graph_plan_buffers (graph);
    for (guint b = 0; b < plan->len; b++)
      {
        QrPlannedBuffer *p = &g_array_index (plan, QrPlannedBuffer, b);
        Buffer buffer = { g_try_new0 (float, p->size), p->size };
        if (buffer.data == NULL)
          {
            g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: not enough memory for %s (%.1f GB) at "
                         "batch %d", graph->source, qr_graph_tensor (graph, p->first_tensor)->name,
                         (double) p->size * 4 / 1e9, batch);
            free_buffers (self);
            return FALSE;
          }
        g_array_append_val (self->buffers, buffer);
      }
  }
  for (guint i = 0; i < graph->tensors->len; i++)
    {
      QrTensor *t = qr_graph_tensor (graph, (int) i);
      if (!t->is_const && t->buffer >= 0)
        t->data = g_array_index (self->buffers, Buffer, t->buffer).data;
    }
  for (guint i = 0; i < self->buffers->len; i++)
    total += g_array_index (self->buffers, Buffer, i).size;
  self->scratch = g_try_new (float, MAX (self->scratch_size, 1));
  if (self->scratch == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: not enough memory for %.1f GB of scratch space",
                   graph->source, (double) self->scratch_size * 4 / 1e9);
      free_buffers (self);
      return FALSE;
    }
  self->batch = batch;
  g_debug ("%s: planned batch %d: %u buffers, %.1f MB, scratch %.1f MB", graph->source, batch, self->buffers->len,
           (double) total * 4 / 1e6, (double) self->scratch_size * 4 / 1e6);
  return TRUE;
}

static gboolean
cpu_run (QrBackend *backend, QrGraph *graph, const float *input, QrAbortFunc abort, gpointer abort_data,
         GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  QrTensor *in = qr_graph_tensor (graph, g_array_index (graph->inputs, int, 0));
  gint64 before = self->profile != NULL ? g_get_monotonic_time () : 0;

  /* an input no output needs (ONNX's Shape of it, say) has no buffer: nothing to copy */
  if (in->data != NULL)
    memcpy (in->data, input, qr_shape_size (&in->shape) * sizeof (float));
  qr_cpu_set_threads (self->n_threads);
  for (guint k = 0; k < graph->order->len; k++)
    {
      QrNode *node = qr_graph_node (graph, g_array_index (graph->order, int, k));
      if (node->op == QR_OP_INPUT)
        continue;
      if (abort != NULL && abort (abort_data))
        {
          g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED, "cancelled");
          return FALSE;
        }
      if (!qr_cpu_run_node (graph, node, self->scratch, error))
        return FALSE;
      if (self->profile != NULL)
        {
          gint64 after = g_get_monotonic_time ();
          qr_profile_add (self->profile, node, g_array_index (graph->order, int, k), (double) (after - before));
          before = after;
        }
    }
  if (self->profile != NULL)
    self->profile->runs++;
  return TRUE;
}

static const float *
cpu_output (QrBackend *backend, QrGraph *graph, int tensor)
{
  return qr_graph_tensor (graph, tensor)->data;
}

static void
cpu_release (QrBackend *backend)
{
  CpuBackend *self = (CpuBackend *) backend;
  if (self->profile != NULL && self->profiled != NULL)
    qr_profile_report (self->profile, self->profiled, self->batch, "the CPU");
  qr_profile_free (self->profile);
  free_buffers (self);
  g_array_unref (self->buffers);
  g_free (self);
}

static const QrBackendClass cpu_backend_class = {
  "cpu", cpu_supports_op, cpu_prepare, cpu_run, cpu_output, cpu_release,
};

QrBackend *
qr_backend_cpu_new (int n_threads)
{
  CpuBackend *self = g_new0 (CpuBackend, 1);

  self->parent.klass = &cpu_backend_class;
  self->n_threads = n_threads;
  self->buffers = g_array_new (FALSE, TRUE, sizeof (Buffer));
  if (g_strcmp0 (g_getenv ("QUORUM_CPU_PROFILE"), "1") == 0)
    self->profile = qr_profile_new (0);
  return &self->parent;
}
