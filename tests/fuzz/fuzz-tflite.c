/* fuzz-tflite.c: a TFLite flatbuffer. */
#include "fuzz-common.h"
#include "qr-tflite.h"
#include "qr-engine.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char path[64];
  int fd;
  GError *error = NULL;
  QrGraph *graph;

  fuzz_quiet ();
  fd = fuzz_memfd (data, size, path, sizeof path);
  graph = qr_graph_load_tflite (path, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  close (fd);
  return 0;
}
