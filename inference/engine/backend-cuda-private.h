/* backend-cuda-private.h: the CUDA backend's two files: backend-cuda.c (planning, uploads, the
 * walk, CUDA graphs, placed inputs, outputs) and cuda-nodes.c (one node's launch). */
#pragma once

#include "engine-private.h"
#include "qr-cuda-api.h"

G_BEGIN_DECLS

typedef struct
{
  float   *ptr;
  gsize    size;   /* floats */
} QrDevBuffer;

typedef struct
{
  QrBackend  parent;
  const QrCudaApi *api;   /* the CUDA module's functions */
  QrCuda    *cuda;
  GArray    *buffers;     /* QrDevBuffer: activations */
  float    **dev;         /* per tensor: its device memory (constants owned here, activations in buffers) */
  gboolean  *owned;       /* per tensor: dev[] is a constant's own allocation */
  float    **host;        /* per tensor: the host copy of a graph output */
  gboolean  *pinned;      /* per tensor: host[] is page-locked (else plain memory, where that failed) */
  void     **weights;     /* per node: a convolution's weights in cuDNN's layout */
  guint      n_tensors;
  guint      n_nodes;
  int        batch;
  guint      runs;          /* at this batch size */
  void      *graph;         /* the forward pass captured as a CUDA graph, from the second run on */
  guint8    *staging;       /* 8-bit images on their way into the input, and resized */
  gsize      staging_bytes;
  guint8    *resize_area;   /* the resize's taps, then its row-pass floats */
  gsize      resize_bytes;
  gboolean   graph_failed;  /* capture did not work here: eager from now on */
  /* peaks found on the GPU (qr_model_set_peaks): the outputs (-1: none), the threshold; per run
   * the counts and lists in peak_area, downloaded to peak_host; map and rows stay on the GPU
   * (stale[] on the host) until cuda_output asks for them */
  gboolean   select_off;    /* QUORUM_GPU_SELECT=0: the outputs come down whole, to compare */
  int        peak_map, peak_rows;
  float      peak_threshold;
  gboolean   peaks_done;    /* the last run found them */
  guint8    *peak_area;
  gsize      peak_bytes;
  guint8    *peak_host;
  gsize      peak_host_bytes;
  gboolean   peak_host_pinned;
  /* rows kept on the GPU (qr_model_select_rows): per slot the wish, whether this run kept them, the
   * list's room and where it is in rows_area (whose first 64 bytes count each slot's rows) */
  QrRowsWanted rows_wanted[QR_SELECT_SLOTS];
  gboolean   rows_on[QR_SELECT_SLOTS];
  gboolean   rows_done[QR_SELECT_SLOTS];
  int        rows_cap[QR_SELECT_SLOTS];
  gsize      rows_at[QR_SELECT_SLOTS];
  guint8    *rows_area;
  gsize      rows_bytes;
  guint8    *rows_host;
  gsize      rows_host_bytes;
  gboolean   rows_host_pinned;
  gboolean  *stale;         /* per tensor: the host copy is older than the device's */
  /* FP16 activations (issue 19): per tensor, stored as halves on the GPU, where its writer and all
   * its readers take halves (plan_half); QUORUM_GPU_HALF=0 keeps every activation FP32,
   * QUORUM_GPU_DEPTHWISE=0 the generic depthwise kernel (FP32 only) */
  gboolean  *half;
  guint      n_half;
  gboolean   half_off;
  gboolean   depthwise_generic;   /* passed to the module in each depthwise node's parameters */
  GMutex     lazy_lock;     /* items decode in parallel: one of them downloads */
  /* QUORUM_CUDA_PROFILE=1: every run eager, synchronised after each node, timed */
  gboolean   profile_wanted;
  QrProfile *profile;       /* made with the first plan */
  QrGraph   *profiled;      /* the graph planned last (borrowed: the model frees it after us) */
} QrCudaBackend;

/* A GPU error as the engine's (UNSUPPORTED stays so: the model falls back to the CPU), naming
 * the graph and the node; gpu_error is freed. FALSE. */
gboolean qr_cuda_backend_error       (GError         **error,
                                      GError          *gpu_error,
                                      QrGraph         *graph,
                                      const QrNode    *node);
/* A convolution node's parameters as the CUDA module takes them (x_half and y_half from
 * self->half). */
void     qr_cuda_backend_conv_params (QrCudaBackend   *self,
                                      QrGraph         *graph,
                                      const QrNode    *node,
                                      QrCudaConv      *p);
void     qr_cuda_backend_depthwise_params (QrCudaBackend   *self,
                                           QrGraph         *graph,
                                           const QrNode    *node,
                                           QrCudaDepthwise *p);
/* The tiled depthwise kernel runs this node (gpu/depthwise-tile.h), its tensors as placed. */
gboolean qr_cuda_backend_depthwise_tiled (QrCudaBackend   *self,
                                          QrGraph         *graph,
                                          const QrNode    *node);
/* Launches node (id) on the backend's stream; no synchronisation. */
gboolean qr_cuda_backend_run_node    (QrCudaBackend   *self,
                                      QrGraph         *graph,
                                      QrNode          *node,
                                      int              id,
                                      GError         **error);

G_END_DECLS
