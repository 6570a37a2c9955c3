/* tfjs-family.c: what the TF.js families (CenterNet, NanoDet) share: the input's check. */
#define G_LOG_DOMAIN "quorum-detect"

#include "tfjs-family.h"

gboolean
qr_tfjs_family_take_graph (QrDetector *self, QrGraph *graph, const char *path, gboolean nchw, GError **error)
{
  int rank, dims[4], size;

  qr_graph_get_input_shape (graph, &rank, dims);
  if (rank != 4 || (!nchw && dims[3] != 3) || (nchw && dims[1] != 3))
    {
      qr_graph_free (graph);
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE, "%s: an unexpected input shape for a detector", path);
      return FALSE;
    }
  size = nchw ? dims[2] : dims[1];
  return qr_detector_take_graph (self, graph, size, size, error);
}
