/* qr-onnx.h: ONNX models (a ModelProto file, initializers inline or as external data beside it)
 * imported into the engine's graph. */
#pragma once

#include "qr-engine.h"

G_BEGIN_DECLS

#define QR_ONNX_MAX_RANK 8
#define QR_ONNX_MIN_OPSET 1
#define QR_ONNX_MAX_OPSET 17

/* A tensor of any ONNX number type, its values as float32 (integers beyond ±2^30 are clamped
 * there: they only ever mean "to the end" in the models Quorum reads). */
typedef struct
{
  char  *name;
  int    data_type;                /* ONNX's TensorProto.DataType: 1 float, 7 int64, 9 bool, … */
  int    rank;
  int    dims[QR_ONNX_MAX_RANK];
  gsize  n;
  float *data;
} QrOnnxTensor;

void          qr_onnx_tensor_free (QrOnnxTensor *tensor);
/* A serialised TensorProto (the .pb files of ONNX's test cases). */
QrOnnxTensor *qr_onnx_tensor_load (const char   *path,
                                   GError      **error);

typedef struct
{
  /* graph inputs given values: they become constants (the first input not named here is the
   * graph's input) */
  guint                 n_bound;
  QrOnnxTensor *const  *bound;
  /* an image input (rank 4, NCHW with 1 or 3 channels) taken as NHWC, the layout the engine's
   * image writers fill; a transpose to NCHW follows it in the graph (and mostly cancels) */
  gboolean              nhwc_input;
  /* the input's first dimension is a batch of any size even where the model fixes it (a
   * detector exported at batch 1): the model's reshapes of it follow the batch */
  gboolean              any_batch;
  /* a transformer's class token (a gather of index 0 on axis 1 of an [N, L, D] value) is not
   * picked out: what follows it (CLIP's final layer norm and projection) runs on every token, so
   * the output holds each patch's embedding after the class token's */
  gboolean              keep_tokens;
  /* sizes for the input's symbolic dimensions (0: leave it; a symbolic one is then 1), as the
   * input is declared (NCHW for an image): CLIP's 77 tokens in an export with a dynamic sequence;
   * a symbolic batch given as more than 1 fixes the model's batch there (shapes are folded for it) */
  int                   input_dims[4];          /* the engine holds rank 4 */
  /* every input may be bound: the graph then has no input and its outputs are folded constants
   * (ONNX's conformance cases of integer and boolean ops) */
  gboolean              constants_only;
  /* only these graph outputs (NULL-terminated) and the nodes, initializers and inputs they need
   * are imported: one tower of a combined CLIP file (inputs input_ids and pixel_values; outputs
   * text_embeds and image_embeds); NULL: every output */
  const char *const    *outputs;
} QrOnnxOptions;

/* Imports an ONNX model's main graph. Every op and attribute outside what the importer reads is
 * an error naming the op, the node and the file. options may be NULL. */
QrGraph *qr_graph_load_onnx (const char          *path,
                             const QrOnnxOptions *options,
                             GError             **error);

/* The op types a model's main graph uses, each once, in the order first used (free with
 * g_strfreev). */
char      **qr_onnx_model_ops (const char *path,
                               GError    **error);

/* The model's metadata_props (key → value, both strings; free with g_hash_table_unref): where
 * Ultralytics writes its names, imgsz, stride and task. */
GHashTable *qr_onnx_model_metadata (const char *path,
                                    GError    **error);

/* The ONNX op types the importer reads, NULL-terminated and sorted. */
const char *const *qr_onnx_supported_ops (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrOnnxTensor, qr_onnx_tensor_free)

G_END_DECLS
