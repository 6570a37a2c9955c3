/* model.c: a graph bound to a backend and planned for a batch size. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <string.h>

struct _QrModel
{
  QrGraph   *graph;
  QrBackend *backend;
  int        batch;
};

QrModel *
qr_model_new_cpu (QrGraph *graph, int n_threads, GError **error)
{
  QrModel *model = g_new0 (QrModel, 1);

  model->graph = graph;
  model->backend = qr_backend_cpu_new (n_threads);
  if (!model->backend->klass->prepare (model->backend, graph, 1, error))
    {
      qr_model_free (model);
      return NULL;
    }
  model->batch = 1;
  return model;
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
  g_free (model);
}

gboolean
qr_model_run (QrModel *model, const float *input, int batch, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_return_val_if_fail (model != NULL && input != NULL && batch > 0, FALSE);

  if (batch != model->batch)
    {
      if (!model->backend->klass->prepare (model->backend, model->graph, batch, error))
        return FALSE;
      model->batch = batch;
    }
  return model->backend->klass->run (model->backend, model->graph, input, abort, abort_data, error);
}

const float *
qr_model_get_output (QrModel *model, const char *name, int *rank, int *dims)
{
  int id = qr_graph_find_tensor (model->graph, name);
  QrTensor *t;

  if (id < 0)
    return NULL;
  t = qr_graph_tensor (model->graph, id);
  if (rank != NULL)
    *rank = t->shape.rank;
  if (dims != NULL)
    memcpy (dims, t->shape.dims, sizeof (int) * (gsize) t->shape.rank);
  return model->backend->klass->output (model->backend, model->graph, id);
}

double
qr_model_get_flops (QrModel *model)
{
  double total = 0;
  for (guint k = 0; k < model->graph->order->len; k++)
    total += qr_graph_node (model->graph, g_array_index (model->graph->order, int, k))->flops;
  return total; /* the shapes' counts are per image already */
}
