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
      /* shards the manifest can name, so that weights and nodes are reached: "w.bin" the size
         the seed model's manifest asks (2 + 54 floats), "big.bin" 64 KB */
      static const uint8_t zeros[65536];
      g_free (fuzz_file ("w.bin", zeros, 224));
      g_free (fuzz_file ("big.bin", zeros, sizeof zeros));
      shard = TRUE;
    }
  path = fuzz_file ("model.json", data, size);
  /* the seed's last node as the output (a mutated file may name others) */
  graph = qr_graph_load_tfjs (path, (const char *const[]) { "r", NULL }, &error);
  if (graph != NULL)
    qr_graph_free (graph);
  g_clear_error (&error);
  return 0;
}
