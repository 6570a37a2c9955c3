/* qr-tflite.h: TensorFlow Lite models (a .tflite flatbuffer) imported into the engine's graph. */
#pragma once

#include "qr-engine.h"

G_BEGIN_DECLS

/* Imports the first subgraph of a .tflite file with its own inputs and outputs. Float32 and
 * float16 weights; quantised integer models are refused. */
QrGraph *qr_graph_load_tflite       (const char *path,
                                     GError    **error);
/* The graph's output tensor names, in the model's order (NULL-terminated; free with g_strfreev). */
char   **qr_graph_get_output_names  (QrGraph    *graph);

G_END_DECLS
