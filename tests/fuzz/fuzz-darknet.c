/* fuzz-darknet.c: a Darknet cfg, with an empty weights file (the cfg parser and the network's
 * shapes are fuzzed; the weights' size check follows them). */
#include "fuzz-common.h"
#include "qr-darknet.h"
#include "qr-engine.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *cfg = NULL;
  g_autofree char *weights = NULL;
  GError *error = NULL;
  QrGraph *graph;

  fuzz_quiet ();
  cfg = fuzz_file ("net.cfg", data, size);
  weights = fuzz_file ("net.weights", (const uint8_t *) "", 0);
  graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  return 0;
}
