/* qr-engine.h: Quorum's inference engine, public side. A QrGraph is an imported network (TF.js
 * graph models today); a QrModel is a graph planned on a backend for a batch size, ready to run.
 * A model is used from one thread at a time; several models run side by side. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QR_ENGINE_ERROR (qr_engine_error_quark ())
GQuark qr_engine_error_quark (void);

typedef enum
{
  QR_ENGINE_ERROR_FORMAT,       /* malformed model file */
  QR_ENGINE_ERROR_UNSUPPORTED,  /* an op or attribute the engine lacks */
  QR_ENGINE_ERROR_SHAPE,        /* shapes that do not fit */
  QR_ENGINE_ERROR_WEIGHTS,      /* weight files short, long or missing */
  QR_ENGINE_ERROR_IO,
  QR_ENGINE_ERROR_CANCELLED,
} QrEngineError;

typedef struct _QrGraph QrGraph;
typedef struct _QrModel QrModel;

/* Asked between nodes; TRUE stops the run with QR_ENGINE_ERROR_CANCELLED. */
typedef gboolean (*QrAbortFunc) (gpointer data);

/* Imports a TF.js graph model (model.json beside its .bin shards). outputs: the tensors to
 * keep (NULL: the model's own outputs); the graph is cut there. */
QrGraph    *qr_graph_load_tfjs      (const char         *path,
                                     const char *const  *outputs,
                                     GError            **error);
void        qr_graph_free           (QrGraph            *graph);
guint       qr_graph_get_n_nodes    (QrGraph            *graph);
/* The input's shape for batch 1 (rank and dims). */
gboolean    qr_graph_get_input_shape (QrGraph           *graph,
                                      int               *rank,
                                      int               *dims);

/* Where a model runs. AUTO is the CPU until the CUDA backend has passed its tests on a GPU
 * (model.c says why), or what the environment's QUORUM_DEVICE (and QUORUM_PRECISION) say; CUDA asks for the GPU and falls back to the CPU, saying so once, when the
 * build has no CUDA, the machine no GPU, or the GPU cannot hold the network. */
typedef enum
{
  QR_DEVICE_AUTO,
  QR_DEVICE_CPU,
  QR_DEVICE_CUDA,
} QrDevice;

/* On CUDA: FP16 convolutions on tensor cores (the default), TF32 tensor cores, or plain FP32. */
typedef enum
{
  QR_PRECISION_FP16,
  QR_PRECISION_TF32,
  QR_PRECISION_FP32,
} QrPrecision;

/* CUDA devices usable (0 when the build has no CUDA, the CUDA module or driver will not load, or
 * there is no GPU). Asking loads the CUDA module (and cuDNN, cuBLAS): only when CUDA is wanted. */
int         qr_engine_cuda_device_count (void);
/* One line per device plus the cuDNN and cuBLAS versions; NULL with an error saying why not. */
char       *qr_engine_cuda_describe (GError            **error);

/* "auto", "cpu", "cuda" / "fp16", "tf32", "fp32"; FALSE for anything else. */
gboolean    qr_device_parse         (const char         *text,
                                     QrDevice           *device);
gboolean    qr_precision_parse      (const char         *text,
                                     QrPrecision        *precision);
const char *qr_precision_to_string  (QrPrecision         precision);

/* Imports a model file (TF.js model.json) with its own outputs, planned on the CPU. */
QrModel    *qr_model_load           (const char         *path,
                                     GError            **error);
/* Takes the graph. n_threads 0: one per core. */
QrModel    *qr_model_new_cpu        (QrGraph            *graph,
                                     int                 n_threads,
                                     GError            **error);
/* Takes the graph; plans it for batch 1 on `device` (see QrDevice for the fallback). */
QrModel    *qr_model_new            (QrGraph            *graph,
                                     QrDevice            device,
                                     QrPrecision         precision,
                                     int                 n_threads,
                                     GError            **error);
/* Where it runs: "cpu" or "cuda:0 NVIDIA H100 80GB HBM3 fp16". */
const char *qr_model_get_device     (QrModel            *model);
void        qr_model_free           (QrModel            *model);
/* input: the first input, batch × the input shape's other dims, float32. */
gboolean    qr_model_run            (QrModel            *model,
                                     const float        *input,
                                     int                 batch,
                                     QrAbortFunc         abort,
                                     gpointer            abort_data,
                                     GError            **error);
/* An output after a run: data and its shape (dims of rank *rank). */
const float *qr_model_get_output    (QrModel            *model,
                                     const char         *name,
                                     int                *rank,
                                     int                *dims);
/* Peaks of a heatmap output: what a keypoint detector (CenterNet) decodes. */
#define QR_PEAK_ROW_MAX 8
typedef struct
{
  int   y, x, c;                  /* the cell and the channel */
  float value;
  float row[QR_PEAK_ROW_MAX];     /* the rows output's K values at the same cell */
} QrPeak;

/* From the next run on, each run also finds the peaks of output `map` ([N, H, W, C]): the values
 * at or above threshold with no greater value of the same channel among the 8 cells around, each
 * with the K values of output `rows` ([N, H, W, K], K ≤ QR_PEAK_ROW_MAX; NULL: none) at its cell.
 * On CUDA a kernel finds them and only they are downloaded (map and rows themselves then come
 * down only when qr_model_get_output asks for them); on the CPU a pass over the map does.
 * map NULL stops it. FALSE with an error naming the output when the outputs do not fit. */
gboolean    qr_model_set_peaks      (QrModel            *model,
                                     const char         *map,
                                     const char         *rows,
                                     float               threshold,
                                     GError            **error);
/* After a run: item's peaks in (y, x, c) order, *n of them; NULL (*n 0) without qr_model_set_peaks. */
const QrPeak *qr_model_get_peaks    (QrModel            *model,
                                     int                 item,
                                     int                *n);
/* Rows of an output kept by a threshold: what a grid or anchor detector (NanoDet, YOLO) decodes. */
#define QR_SELECT_SLOTS 8
typedef struct
{
  int          n;            /* rows kept */
  const int   *index;        /* each one's row number in its item, ascending */
  const float *values;       /* n × width: the rows */
  const float *with;         /* n × with_width: the same rows of the second output; NULL: none */
  int          width, with_width;
} QrKeptRows;

/* From the next run on, each run also keeps in `slot` (< QR_SELECT_SLOTS) the rows of output
 * `output`, its values per item seen as rows of `width`, whose largest value among channels first …
 * first + count − 1 is at or above threshold (a value that is not a number is not), with the same
 * rows of output `with` (NULL: none), seen as as many rows. On CUDA a kernel picks them and only
 * they are downloaded (the outputs themselves then only when qr_model_get_output asks); on the
 * CPU a pass over the rows. output NULL empties the slot. FALSE with an error naming the output
 * when the shapes do not fit. */
gboolean    qr_model_select_rows    (QrModel            *model,
                                     guint               slot,
                                     const char         *output,
                                     int                 width,
                                     int                 first,
                                     int                 count,
                                     const char         *with,
                                     float               threshold,
                                     GError            **error);
/* After a run: item's rows kept in slot; FALSE (rows empty) when the slot is empty. */
gboolean    qr_model_get_rows       (QrModel            *model,
                                     guint               slot,
                                     int                 item,
                                     QrKeptRows             *rows);
/* An output's shape at the planned batch without its data (which on CUDA may stay on the GPU
 * until asked for); FALSE when there is no such tensor. */
gboolean    qr_model_get_output_shape (QrModel          *model,
                                       const char       *name,
                                       int              *rank,
                                       int              *dims);
/* Writes the planned network for another framework to run (export.c): json_path holds
 * the nodes and batch-1 shapes, bin_path the constants as raw float32. */
gboolean    qr_model_export         (QrModel            *model,
                                     const char         *json_path,
                                     const char         *bin_path,
                                     GError            **error);
/* Preprocessing on the device: 8-bit images resized (where src_w × src_h is not w × h), placed
 * into the input and turned into its values by the backend (CUDA: two kernels to resize, the
 * same bytes as qr_image_resize, one to place). An image is src_w × src_h RGB bytes at pixels,
 * resized to w × h, its top-left corner at (x0, y0) of its input item. */
typedef struct
{
  const guint8 *pixels;
  int           src_w, src_h;
  int           w, h, x0, y0;
} QrInputImage;

/* How pixels become input values: value = (pixel[perm[c]] − sub[c]) / div[c]; fill outside. */
typedef struct
{
  gboolean nchw;
  int      perm[3];
  float    sub[3], div[3];
  float    fill;
} QrInputFormat;

/* TRUE when the model's backend places inputs itself (CUDA). */
gboolean    qr_model_can_place_input (QrModel           *model);
/* A run of n images placed as described; the input item is width × height. */
gboolean    qr_model_run_placed     (QrModel            *model,
                                     const QrInputImage *images,
                                     int                 n,
                                     const QrInputFormat *format,
                                     int                 width,
                                     int                 height,
                                     QrAbortFunc         abort,
                                     gpointer            abort_data,
                                     GError            **error);
/* The name of output i, NULL past the last. */
const char *qr_model_get_output_name (QrModel          *model,
                                      guint             i);
/* How many images the model takes in one run when that is fixed (an ONNX graph with a fixed
 * first dimension), else 0: any batch. */
int         qr_model_get_fixed_batch (QrModel          *model);
/* Multiply-adds × 2 of one batch-1 run, as the engine counts them (convolutions, matmuls). */
double      qr_model_get_flops      (QrModel            *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrGraph, qr_graph_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrModel, qr_model_free)

G_END_DECLS
