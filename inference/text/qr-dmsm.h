/* qr-dmsm.h: the Deep Multimodal Similarity Model (He, Fang et al. 2015), trained in Quorum on a
 * collection's own captions. Two towers map a sentence (DSSM letter trigrams) and an image (a
 * feature vector: the backbone's pooled map and the peers' per-class maximum scores) into one
 * space; their cosine is the score. Forward, loss, every gradient and Adam are here, on OpenBLAS;
 * the catalog, the features and the training schedule are annotate/text/'s. */
#pragma once

#include "qr-engine.h"

#include <glib.h>

G_BEGIN_DECLS

#define QR_DMSM_ERROR (qr_dmsm_error_quark ())
GQuark qr_dmsm_error_quark (void);

typedef enum
{
  QR_DMSM_ERROR_FORMAT,     /* a saved model that cannot be read */
  QR_DMSM_ERROR_NO_WORDS,   /* a text with no letter trigram the model knows */
} QrDmsmError;

typedef struct _QrDmsm QrDmsm;

/* The sizes of a model. */
typedef struct
{
  int   image_dim;    /* the image tower's input */
  int   hidden;       /* each tower's hidden layer */
  int   out_dim;      /* the shared space */
  float gamma;        /* the softmax's sharpness over cosines */
} QrDmsmShape;

#define QR_DMSM_DEFAULT_HIDDEN 300
#define QR_DMSM_DEFAULT_OUT    256
#define QR_DMSM_DEFAULT_GAMMA  10.0f

/* The letter trigrams of a text: lower-cased, split into words at anything not a letter or digit,
 * each word "#word#" cut into its trigrams ("#do", "dog", "og#"). A GPtrArray of char*. */
GPtrArray  *qr_dmsm_trigrams           (const char          *text);
/* The vocabulary for texts: the trigrams seen at least min_count times, most frequent first (ties
 * by byte order), at most max_size. NULL-terminated; g_strfreev. */
char      **qr_dmsm_build_vocabulary   (const char *const   *texts,
                                        guint                n_texts,
                                        guint                max_size,
                                        guint                min_count);

/* A model with fresh weights (Glorot-uniform from seed, biases 0) over a vocabulary. */
QrDmsm     *qr_dmsm_new                (const char *const   *vocabulary,
                                        const QrDmsmShape   *shape,
                                        guint64              seed);
void        qr_dmsm_free               (QrDmsm              *self);
const QrDmsmShape *qr_dmsm_get_shape   (QrDmsm              *self);
guint       qr_dmsm_get_vocabulary_size (QrDmsm             *self);
const char *const *qr_dmsm_get_vocabulary (QrDmsm           *self);
gboolean    qr_dmsm_knows_trigram      (QrDmsm              *self,
                                        const char          *trigram);
/* SHA-256 of the vocabulary, one trigram a line. */
const char *qr_dmsm_get_vocabulary_hash (QrDmsm             *self);
/* The image inputs are standardised by these (image_dim each; std ≤ 0 is taken as 1). */
void        qr_dmsm_set_image_scaling  (QrDmsm              *self,
                                        const float         *mean,
                                        const float         *std);

/* A text's vector in the shared space, unit length (out_dim floats); FALSE with
 * QR_DMSM_ERROR_NO_WORDS when none of its trigrams is in the vocabulary. */
gboolean    qr_dmsm_embed_text         (QrDmsm              *self,
                                        const char          *text,
                                        float               *out,
                                        GError             **error);
/* n images' vectors (n × image_dim in, n × out_dim out), unit length. */
void        qr_dmsm_embed_images       (QrDmsm              *self,
                                        const float         *images,
                                        int                  n,
                                        float               *out);

/* The trainable tensors, in a fixed order: text.w1 [V × H], text.b1, text.w2 [H × O], text.b2,
 * image.w1 [D × H], image.b1, image.w2 [H × O], image.b2. A layer computes tanh (x · w + b). */
#define QR_DMSM_N_PARAMS 8
const char *qr_dmsm_param_name         (guint                i);
float      *qr_dmsm_get_param          (QrDmsm              *self,
                                        guint                i,
                                        gsize               *n_values);

/* One minibatch: n captions, each with its image's input row (n × image_dim). */
typedef struct
{
  const char *const *texts;
  const float       *images;
  int                n;
} QrDmsmBatch;

/* The loss of a batch: S = γ · cos (image j, text k); the mean of the cross-entropy of each image's
 * row of S against its own caption and of each caption's column against its own image, halved
 * (the DMSM loss, in-batch negatives, both ways). With grads (QR_DMSM_N_PARAMS arrays sized like
 * the params), the gradient of that loss is written there. A text with no known trigram is
 * embedded from the biases alone. */
double      qr_dmsm_loss               (QrDmsm              *self,
                                        const QrDmsmBatch   *batch,
                                        float *const        *grads);

/* Adam (β1 0.9, β2 0.999, ε 1e-8) over a model's params. */
typedef struct _QrDmsmTrainer QrDmsmTrainer;

QrDmsmTrainer *qr_dmsm_trainer_new     (QrDmsm              *model,
                                        float                learning_rate);
void        qr_dmsm_trainer_free       (QrDmsmTrainer       *self);
/* A trainer on a device: the CPU (OpenBLAS) or CUDA (the params, gradients and moments in GPU
 * memory; cuBLAS FP32 products and Quorum's kernels, gpu/qr-cuda.h). AUTO is the CPU unless
 * QUORUM_DEVICE says cuda (training on a GPU has not yet been measured on one); CUDA falls back to
 * the CPU, saying why once, when the build has no CUDA or no GPU can be had. */
QrDmsmTrainer *qr_dmsm_trainer_new_on  (QrDmsm              *model,
                                        float                learning_rate,
                                        QrDevice             device);
/* "cpu", or the GPU's name and precision ("cuda:0 NVIDIA H100 80GB HBM3 fp32"). */
const char *qr_dmsm_trainer_get_device (QrDmsmTrainer       *self);
/* A step on a batch: returns the batch's loss before the step. On CUDA an error of the GPU makes
 * this and every later step return NaN; qr_dmsm_trainer_sync reports it. */
double      qr_dmsm_trainer_step       (QrDmsmTrainer       *self,
                                        const QrDmsmBatch   *batch);
/* On CUDA the steps change the GPU's copy of the params: this copies them (and Adam's moments) back
 * into the model, and reports any error since the last sync. On the CPU it does nothing. Call it
 * before reading the model or saving the trainer. */
gboolean    qr_dmsm_trainer_sync       (QrDmsmTrainer       *self,
                                        GError             **error);
/* The loss of a batch and its gradient (into grads, sized like the params) on the trainer's
 * device, without a step: what a test compares. */
gboolean    qr_dmsm_trainer_gradients  (QrDmsmTrainer       *self,
                                        const QrDmsmBatch   *batch,
                                        float *const        *grads,
                                        double              *loss,
                                        GError             **error);

/* The optimiser's state (step and moments) as bytes (on CUDA, as of the last qr_dmsm_trainer_sync),
 * and back into a trainer of the same model shape; a state that does not fit is an error. */
GBytes     *qr_dmsm_trainer_save       (QrDmsmTrainer       *self);
gboolean    qr_dmsm_trainer_restore    (QrDmsmTrainer       *self,
                                        GBytes              *bytes,
                                        GError             **error);

/* The model as bytes (a GVariant: sizes, vocabulary, scaling, weights, and meta, an a{sv} the
 * caller owns the meaning of), and back; a model that does not read is an error. */
GBytes     *qr_dmsm_save               (QrDmsm              *self,
                                        GVariant            *meta);
QrDmsm     *qr_dmsm_load               (GBytes              *bytes,
                                        GVariant           **meta,
                                        GError             **error);

/* IEEE half precision, for embeddings and features stored in a catalog. */
void        qr_float_to_half           (const float         *in,
                                        guint16             *out,
                                        gsize                n);
void        qr_half_to_float           (const guint16       *in,
                                        float               *out,
                                        gsize                n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrDmsm, qr_dmsm_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrDmsmTrainer, qr_dmsm_trainer_free)

G_END_DECLS
