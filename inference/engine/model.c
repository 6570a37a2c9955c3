/* model.c: a graph bound to a backend and planned for a batch size. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <string.h>
#if QUORUM_HAVE_CUDA
#include "qr-cuda-api.h"
#endif

/* AUTO means the GPU where one is usable (the CUDA backend has passed tests/test-gpu.c on an H100:
 * ../shared/device/README.md), the CPU elsewhere, without a word: only a device asked for by
 * name and not had is worth a message. 0 here makes AUTO the CPU everywhere. */
#define QR_AUTO_PICKS_CUDA 1

struct _QrModel
{
  QrGraph   *graph;
  QrBackend *backend;
  int        n_threads;
  int        batch;
  char      *device;
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
  g_free (model);
}

gboolean
qr_model_run (QrModel *model, const float *input, int batch, QrAbortFunc abort, gpointer abort_data, GError **error)
{
  g_return_val_if_fail (model != NULL && input != NULL && batch > 0, FALSE);

  if (!plan_for_batch (model, batch, error))
    return FALSE;
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
  return model->backend->klass->run_placed (model->backend, model->graph, images, n, format, width, height, abort,
                                            abort_data, error);
}
