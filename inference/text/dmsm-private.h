/* dmsm-private.h: the DMSM's insides, shared by dmsm.c (the model, its CPU training) and
 * dmsm-cuda.c (its training on the GPU, built with CUDA only). */
#pragma once

#include "qr-dmsm.h"

G_BEGIN_DECLS

struct _QrDmsm
{
  QrDmsmShape  shape;
  char       **vocabulary;
  guint        n_vocabulary;
  GHashTable  *index;        /* trigram → position + 1 */
  char        *vocabulary_hash;
  float       *scale_mean, *scale_std;
  float       *params[QR_DMSM_N_PARAMS];
  gsize        sizes[QR_DMSM_N_PARAMS];
};

enum { QR_DMSM_TW1, QR_DMSM_TB1, QR_DMSM_TW2, QR_DMSM_TB2, QR_DMSM_IW1, QR_DMSM_IB1, QR_DMSM_IW2, QR_DMSM_IB2 };

/* A sparse bag of trigrams per text: rows[i]..rows[i+1] of idx/val (a known trigram's position in
 * the vocabulary and its count in the text). */
typedef struct
{
  GArray *idx;   /* guint32 */
  GArray *val;   /* float */
  GArray *rows;  /* guint */
} QrDmsmBags;

void   qr_dmsm_bags_init   (QrDmsmBags *bags);
void   qr_dmsm_bags_clear  (QrDmsmBags *bags);
/* Appends a text's row; the number of its trigrams the model knows. */
guint  qr_dmsm_bags_add    (QrDmsm     *self,
                            QrDmsmBags *bags,
                            const char *text);

#if QUORUM_HAVE_CUDA
/* The model's params, their gradients and Adam's moments in GPU memory, and a batch's activations. */
typedef struct _QrDmsmCuda QrDmsmCuda;

/* A context on the first GPU (FP32) with the model's params uploaded; NULL with an error saying
 * why (no CUDA module, no GPU, not enough memory). */
QrDmsmCuda *qr_dmsm_cuda_new      (QrDmsm          *model,
                                   GError         **error);
void        qr_dmsm_cuda_free     (QrDmsmCuda      *self);
/* "cuda:0 NVIDIA H100 80GB HBM3 fp32" */
const char *qr_dmsm_cuda_describe (QrDmsmCuda      *self);
/* The batch's loss (as qr_dmsm_loss) into *loss, and with backward its gradient into the GPU's copy. */
gboolean    qr_dmsm_cuda_loss     (QrDmsmCuda      *self,
                                   const QrDmsmBatch *batch,
                                   gboolean         backward,
                                   double          *loss,
                                   GError         **error);
/* One Adam step from the gradient of the last backward loss. */
gboolean    qr_dmsm_cuda_adam     (QrDmsmCuda      *self,
                                   float            learning_rate,
                                   guint64          step,
                                   GError         **error);

typedef enum { QR_DMSM_CUDA_PARAMS, QR_DMSM_CUDA_GRADS, QR_DMSM_CUDA_M, QR_DMSM_CUDA_V } QrDmsmCudaTensors;
/* Copies one set of QR_DMSM_N_PARAMS tensors (sized like the model's params) from or to the GPU. */
gboolean    qr_dmsm_cuda_download (QrDmsmCuda      *self,
                                   QrDmsmCudaTensors which,
                                   float *const    *out,
                                   GError         **error);
gboolean    qr_dmsm_cuda_upload   (QrDmsmCuda      *self,
                                   QrDmsmCudaTensors which,
                                   const float *const *in,
                                   GError         **error);
#endif

G_END_DECLS
