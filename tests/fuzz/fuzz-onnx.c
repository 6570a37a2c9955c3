/* fuzz-onnx.c: an ONNX model (the protobuf reader, the graph import with its constant folding and
 * shape tracking, the metadata and op listing the detector families and test-onnx use). */
#include "fuzz-common.h"
#include "qr-onnx.h"
#include "qr-engine.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char path[64];
  int fd;
  GError *error = NULL;
  QrGraph *graph;
  GHashTable *meta;
  char **ops;
  QrOnnxOptions image = { .nhwc_input = TRUE, .any_batch = TRUE };

  fuzz_quiet ();
  fd = fuzz_memfd (data, size, path, sizeof path);
  graph = qr_graph_load_onnx (path, NULL, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  graph = qr_graph_load_onnx (path, &image, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  meta = qr_onnx_model_metadata (path, &error);
  if (meta != NULL)
    g_hash_table_unref (meta);
  g_clear_error (&error);
  ops = qr_onnx_model_ops (path, &error);
  g_strfreev (ops);
  g_clear_error (&error);
  close (fd);
  return 0;
}
