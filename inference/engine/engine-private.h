/* engine-private.h: the graph IR shared by the importers, the rewrites, the planner and the
 * backends. Activations are float32, NHWC as TensorFlow lays them out; integer constants (shapes,
 * axes) are held as floats, exact for the small values they carry. Rank is at most 4. */
#pragma once

#include "qr-engine.h"
#include "quorum-config.h"

#define QR_MAX_RANK 4
#define QR_MAX_INPUTS 8
#define QR_MAX_OUTPUTS 8

typedef enum
{
  QR_OP_INPUT,
  QR_OP_CONST,
  QR_OP_CONV2D,          /* inputs: x, weights (HWIO), [bias]; fused activation */
  QR_OP_DEPTHWISE,       /* inputs: x, weights (H, W, C, multiplier), [bias] */
  QR_OP_ADD,
  QR_OP_SUB,
  QR_OP_MUL,
  QR_OP_DIV,
  QR_OP_MAXIMUM,
  QR_OP_MINIMUM,
  QR_OP_ACTIVATION,      /* a unary activation: node->act */
  QR_OP_MEAN,            /* over node->axes, keep_dims; node->reduce: mean, sum, max or min */
  QR_OP_RESIZE,          /* bilinear or nearest; size from a constant */
  QR_OP_CONCAT,
  QR_OP_MAXPOOL,
  QR_OP_AVGPOOL,
  QR_OP_RESHAPE,
  QR_OP_TRANSPOSE,
  QR_OP_PAD,
  QR_OP_SPLIT,
  QR_OP_SLICE,           /* begin/size per axis */
  QR_OP_SOFTMAX,         /* over the last axis */
  QR_OP_MATMUL,
  QR_OP_IDENTITY,
  QR_OP_SPARSE_TO_DENSE, /* constant folding only */
  QR_OP_CAST,            /* a no-op for float-held values */
  QR_OP_POW,             /* element-wise x^y with broadcasting, like ADD */
  QR_OP_GATHER,          /* data, indices: slices of data along node->axis (NumPy's take) */
  QR_OP_GREATER,         /* element-wise comparisons with broadcasting, like ADD: 1 or 0 */
  QR_OP_LESS,
  QR_OP_GREATER_EQUAL,
  QR_OP_LESS_EQUAL,
  QR_OP_EQUAL,
  QR_OP_UNSUPPORTED,     /* imported, but an error if the outputs need it */
} QrOpType;
#define QR_N_OPS (QR_OP_UNSUPPORTED + 1)

/* "conv2d", "depthwise", …: the op's name in exported graphs and profiles. */
const char *qr_op_name (QrOpType op);

typedef enum
{
  QR_ACT_NONE,
  QR_ACT_RELU,
  QR_ACT_RELU6,
  QR_ACT_LEAKY_RELU,     /* node->alpha */
  QR_ACT_SIGMOID,
  QR_ACT_HARD_SWISH,     /* alpha · x · relu6 (x + 3), alpha = 1/6 */
  QR_ACT_SWISH,          /* x · sigmoid (x) */
  QR_ACT_MISH,           /* x · tanh (softplus (x)) */
  /* Element-wise functions of ONNX graphs; the convolutions' epilogues on the GPU stop at MISH
   * (qr_activation_on_gpu). */
  QR_ACT_TANH,
  QR_ACT_EXP,
  QR_ACT_LOG,
  QR_ACT_SQRT,
  QR_ACT_ERF,
  QR_ACT_NEG,
  QR_ACT_ABS,
  QR_ACT_RECIPROCAL,
  QR_ACT_HARD_SIGMOID,   /* max (0, min (1, alpha · x + beta)) */
  QR_ACT_CLIP,           /* min (max (x, alpha), beta) */
  QR_ACT_FLOOR,
  QR_ACT_CEIL,
  QR_ACT_ROUND,          /* halves to even, as ONNX's Round */
} QrActivation;

/* TRUE for the activations a CUDA convolution's epilogue applies (qr_cuda_unary, an activation
 * node on the GPU, applies every one). */
static inline gboolean
qr_activation_on_gpu (QrActivation act)
{
  return act <= QR_ACT_MISH;
}

typedef enum
{
  QR_REDUCE_MEAN,
  QR_REDUCE_SUM,
  QR_REDUCE_MAX,
  QR_REDUCE_MIN,
  QR_REDUCE_ARGMAX,     /* one axis: the index of its largest value (first, or last with select_last) */
  QR_REDUCE_ARGMIN,
} QrReduce;

typedef enum
{
  QR_PAD_VALID,
  QR_PAD_SAME,
  QR_PAD_EXPLICIT,
} QrPadding;

typedef enum
{
  QR_RESIZE_BILINEAR,
  QR_RESIZE_NEAREST,
} QrResizeMode;

typedef struct
{
  int rank;
  int dims[QR_MAX_RANK];
} QrShape;

typedef struct
{
  char    *name;
  QrShape  shape;
  float   *data;        /* constants: owned; others: set by the plan */
  gboolean is_const;
  int      producer;    /* node index, -1 for constants without a node */
  int      n_consumers;
  int      last_use;    /* position in the order of the last node that reads it */
  int      buffer;      /* index into the plan's buffers, -1 for none */
} QrTensor;

typedef struct
{
  QrOpType      op;
  char         *name;
  char         *source_op;     /* the op's name in the imported format ("_FusedConv2D") */
  int           inputs[QR_MAX_INPUTS];
  int           n_inputs;
  int           outputs[QR_MAX_OUTPUTS];
  int           n_outputs;
  gboolean      dead;          /* removed by a rewrite */

  /* attributes */
  QrActivation  act;
  float         alpha;         /* leaky relu slope; hard sigmoid's slope; clip's minimum */
  float         beta;          /* hard sigmoid's offset; clip's maximum */
  int           stride[2];     /* h, w */
  int           dilation[2];
  int           kernel[2];     /* pooling */
  QrPadding     padding;
  int           pads[4];       /* explicit or resolved: top, bottom, left, right */
  gboolean      keep_dims;
  QrReduce      reduce;        /* MEAN: which reduction */
  gboolean      select_last;   /* MEAN, ARGMAX/ARGMIN: the last of equal values, not the first */
  int           axes[QR_MAX_RANK];
  int           n_axes;
  int           axis;
  gboolean      align_corners;
  gboolean      half_pixel;
  QrResizeMode  resize_mode;
  gboolean      transpose_a;
  gboolean      transpose_b;
  int           begin[QR_MAX_RANK];  /* slices: first index and step per input dimension */
  int           step[QR_MAX_RANK];
  int           begin_mask, end_mask, shrink_mask, ellipsis_mask, new_axis_mask;
  gboolean      strided;       /* StridedSlice (begin, end, strides) rather than Slice (begin, size) */
  double        flops;         /* multiply-adds × 2, for benchmarks */
} QrNode;

struct _QrGraph
{
  GPtrArray  *tensors;     /* QrTensor* */
  GArray     *nodes;       /* QrNode */
  GHashTable *by_name;     /* tensor name → index + 1 */
  GArray     *inputs;      /* tensor ids */
  GArray     *outputs;     /* tensor ids */
  GArray     *order;       /* node ids in execution order */
  char       *source;      /* the file it came from, for messages */
  int         planned_batch;
  int         fixed_batch;  /* > 0: the input's first dimension is fixed (ONNX), not a batch */
  const char *fixed_why;    /* why, for messages (a static string); NULL: the input's shape says so */
  const char *cpu_only;     /* why it runs on the CPU whatever the device asked (a static string), or NULL */
};

/* Building */
int      qr_graph_add_tensor   (QrGraph     *graph,
                                const char  *name);
/* A constant tensor taking data (rank × dims floats). */
int      qr_graph_add_const    (QrGraph     *graph,
                                const char  *name,
                                int          rank,
                                const int   *dims,
                                float       *data);
int      qr_graph_find_tensor  (QrGraph     *graph,
                                const char  *name);
QrNode  *qr_graph_add_node     (QrGraph     *graph,
                                QrOpType     op,
                                const char  *name);
QrTensor *qr_graph_tensor      (QrGraph     *graph,
                                int          id);
QrNode  *qr_graph_node         (QrGraph     *graph,
                                int          id);
gsize    qr_shape_size         (const QrShape *shape);

/* The shape as outer × dims[axis] × inner: the sizes before and after `axis`. */
static inline void
qr_shape_around (const QrShape *shape, int axis, gsize *outer, gsize *inner)
{
  *outer = 1;
  *inner = 1;
  for (int d = 0; d < axis; d++)
    *outer *= (gsize) shape->dims[d];
  for (int d = axis + 1; d < shape->rank; d++)
    *inner *= (gsize) shape->dims[d];
}
gboolean qr_shape_equal        (const QrShape *a,
                                const QrShape *b);
char    *qr_shape_to_string    (const QrShape *shape);

/* Load-time work: cut at the outputs, topological order, constant folding, rewrites. */
gboolean qr_graph_finish       (QrGraph     *graph,
                                GError     **error);
/* rewrite.c: constants folded, identities, transposes, pads, scales, biases and activations
 * folded away (each a graph that computes the same), the order compacted after each. */
gboolean qr_graph_rewrite      (QrGraph     *graph,
                                GError     **error);
/* Runs a node whose inputs are all constants once on the CPU (shapes for `batch`): its outputs
 * become constants and the node dead. */
gboolean qr_graph_fold_node    (QrGraph     *graph,
                                QrNode      *node,
                                int          batch,
                                GError     **error);
/* Orders the nodes that the outputs need (everything else is cut away). */
gboolean qr_graph_order_nodes  (QrGraph     *graph,
                                GError     **error);
/* Drops the dead nodes from the order. */
void     qr_graph_compact_order (QrGraph    *graph);
/* Shapes for a batch size (the inputs' first dimension). */
gboolean qr_graph_infer_shapes (QrGraph     *graph,
                                int          batch,
                                GError     **error);

gboolean qr_graph_infer_shapes_node (QrGraph *graph,
                                     QrNode  *node,
                                     int      batch,
                                     GError **error);
QrGraph *qr_graph_new          (const char  *source);
/* The memory plan both backends follow, after qr_graph_infer_shapes: every tensor a node makes
 * gets a buffer (tensor->buffer), best fit among the buffers free at that point, a new one when
 * none fits; a buffer is free again after the last node that reads its tensor (tensor->last_use
 * is set), except the input's and the graph's outputs'. Returns the buffers (QrPlannedBuffer). */
typedef struct
{
  gsize size;          /* floats, at least 1 */
  int   first_tensor;  /* the tensor it was made for, for messages */
} QrPlannedBuffer;

GArray  *qr_graph_plan_buffers (QrGraph     *graph);
gboolean qr_graph_is_output    (QrGraph     *graph,
                                int          tensor);

/* export.c: JSON + raw float32 constants, shapes at batch 1; planned_batch is restored. */
gboolean qr_graph_export       (QrGraph     *graph,
                                int          planned_batch,
                                const char  *json_path,
                                const char  *bin_path,
                                GError     **error);

/* The CPU kernels: run one node with its tensors' data pointers set. scratch is at least
 * qr_cpu_scratch_size (node) floats. */
gsize    qr_cpu_scratch_size   (QrGraph     *graph,
                                const QrNode *node);
gboolean qr_cpu_run_node       (QrGraph     *graph,
                                QrNode      *node,
                                float       *scratch,
                                GError     **error);
void     qr_cpu_set_threads    (int          n_threads);

/* profile.c: where a backend's runs spend their time (QUORUM_CPU_PROFILE=1, QUORUM_CUDA_PROFILE=1):
 * per op kind and per node, reported as a message (the op kinds and the slowest twelve nodes, per
 * run) and reset by qr_profile_report. */
typedef struct
{
  double  op_us[QR_N_OPS];
  double *node_us;     /* per node of the graph */
  guint   n_nodes;
  guint   runs;
} QrProfile;

QrProfile *qr_profile_new      (guint        n_nodes);
void       qr_profile_add      (QrProfile   *profile,
                                const QrNode *node,
                                int          id,
                                double       us);
void       qr_profile_report   (QrProfile   *profile,
                                QrGraph     *graph,
                                int          batch,
                                const char  *where);
void       qr_profile_free     (QrProfile   *profile);

/* Backends */
typedef struct _QrBackend QrBackend;

/* A slot of qr_model_select_rows as a backend takes it: tensor ids (with −1: none); an item's
 * values are rows × width, with's rows × with_width. */
typedef struct
{
  int   output, with;
  int   width, first, count, with_width;
  gsize rows;                /* per item */
  float threshold;
} QrRowsWanted;
typedef struct
{
  const char *name;
  gboolean  (*supports_op) (QrBackend *self, const QrNode *node);
  gboolean  (*prepare)     (QrBackend *self, QrGraph *graph, int batch, GError **error);
  gboolean  (*run)         (QrBackend *self, QrGraph *graph, const float *input, QrAbortFunc abort,
                            gpointer abort_data, GError **error);
  const float *(*output)   (QrBackend *self, QrGraph *graph, int tensor);
  void      (*release)     (QrBackend *self);
  /* optional: inputs placed by the backend from 8-bit images (qr-engine.h) */
  gboolean  (*run_placed)  (QrBackend *self, QrGraph *graph, const QrInputImage *images, int n,
                            const QrInputFormat *format, int width, int height, QrAbortFunc abort,
                            gpointer abort_data, GError **error);
  /* optional: peaks found where the outputs are (qr_model_set_peaks). want_peaks before a run (map
   * < 0: none); get_peaks after it: TRUE with each of the batch's items' peaks in (y, x, c) order,
   * item b's at out[offsets[b] .. offsets[b + 1]); FALSE when the backend could not keep them all
   * this run, and the caller finds them in the outputs. */
  void      (*want_peaks)  (QrBackend *self, QrGraph *graph, int map, int rows, float threshold);
  gboolean  (*get_peaks)   (QrBackend *self, QrGraph *graph, GArray *out, int *offsets);
  /* optional: rows kept where the outputs are (qr_model_select_rows). want_rows before a run
   * (wanted NULL: the slot is empty); get_rows after it: TRUE with the batch's kept rows in slot,
   * item by item and ascending within each, their numbers in index, their values in values
   * (width a row) and with (with_width), item b's from offsets[b] to offsets[b + 1]; FALSE when the
   * backend could not keep them all this run, and the caller reads the outputs. */
  void      (*want_rows)   (QrBackend *self, QrGraph *graph, guint slot, const QrRowsWanted *wanted);
  gboolean  (*get_rows)    (QrBackend *self, QrGraph *graph, guint slot, GArray *index, GArray *values,
                            GArray *with, int *offsets);
} QrBackendClass;

struct _QrBackend
{
  const QrBackendClass *klass;
};

QrBackend *qr_backend_cpu_new (int n_threads);
#if QUORUM_HAVE_CUDA
QrBackend *qr_backend_cuda_new      (QrPrecision  precision,
                                     GError     **error);
char      *qr_backend_cuda_describe (QrBackend   *backend);
#endif
