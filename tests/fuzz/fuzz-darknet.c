/* fuzz-darknet.c: a Darknet cfg, then its network built with weights: seeded random weights of
 * the size the cfg asks are written first (under a file-size limit of 2 MB, so that a cfg asking
 * for gigabytes fails there), or an empty weights file when that fails. The cfg parser, the layer
 * builders and the weights' size check are fuzzed. */
#include "fuzz-common.h"
#include "qr-darknet.h"
#include "qr-engine.h"

#include <signal.h>
#include <sys/resource.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean limited;
  g_autofree char *cfg = NULL;
  g_autofree char *weights = NULL;
  GError *error = NULL;
  QrGraph *graph;

  fuzz_quiet ();
  if (!limited)
    {
      struct rlimit limit = { 2 << 20, 2 << 20 };
      signal (SIGXFSZ, SIG_IGN);
      setrlimit (RLIMIT_FSIZE, &limit);
      limited = TRUE;
    }
  cfg = fuzz_file ("net.cfg", data, size);
  weights = g_build_filename (fuzz_folder (), "net.weights", NULL);
  if (!qr_darknet_write_random_weights (cfg, weights, 1, &error))
    {
      g_clear_error (&error);
      g_free (fuzz_file ("net.weights", (const uint8_t *) "", 0));
    }
  graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  return 0;
}
