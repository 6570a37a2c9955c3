/* fuzz-tfjs.c: a TF.js model.json (its shards, named by the manifest, are looked for beside it
 * and are mostly absent: the JSON, the manifest and the graph are what is fuzzed). */
#include "fuzz-common.h"
#include "qr-engine.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  GError *error = NULL;
  QrGraph *graph;

  static gboolean shard;
  fuzz_quiet ();
  if (!shard)
    {
      /* a shard the manifest can name ("w.bin"), so that weights and nodes are reached */
      static const uint8_t zeros[4096];
      g_free (fuzz_file ("w.bin", zeros, sizeof zeros));
      shard = TRUE;
    }
  path = fuzz_file ("model.json", data, size);
  graph = qr_graph_load_tfjs (path, NULL, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  return 0;
}
