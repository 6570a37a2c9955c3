/* qr-caption-model.h: the DMSM (inference/text/qr-dmsm.h) trained on a collection's captions and
 * kept in its catalog. Each image's input is its backbone features (computed once, stored as
 * float16) followed by the peers' word-detection evidence: the strongest consensus of each class.
 * Training holds out a fold of images, saves the model after every epoch (a killed run leaves the
 * last finished epoch usable and resumes from it) and, when done, makes it the one in use with
 * every image's embedding. */
#pragma once

#include <gio/gio.h>
#include "qr-catalog.h"
#include "qr-dmsm.h"
#include "qr-engine.h"
#include "qr-indexer.h"

G_BEGIN_DECLS

#define QR_CAPTION_MODEL_KIND     "dmsm"
#define QR_CAPTION_MODEL_BACKBONE "centernet"
#define QR_CAPTION_MODEL_MIN_CAPTIONS 100
/* The out-of-fold judges' kinds: "dmsm-judge-0" … (qr_caption_judge_kind) */
#define QR_CAPTION_JUDGE_KIND_PREFIX "dmsm-judge-"
#define QR_CAPTION_MODEL_JUDGES 5

/* Backbone features for every readable image that has none; progress counts images. Images that
 * fail to decode are skipped (counted in *failed). Commits every 32 images: a stop keeps them. */
gboolean qr_caption_features_compute  (QrCatalog      *catalog,
                                       const char     *backbone_path,
                                       QrDevice        device,
                                       QrAbortFunc     abort,
                                       gpointer        abort_data,
                                       QrProgressFunc  progress,
                                       gpointer        progress_data,
                                       guint          *computed,
                                       guint          *failed,
                                       GError        **error);

/* The image tower's inputs of a catalog for a model's class list: features ++ class evidence. */
typedef struct
{
  GArray  *ids;        /* gint64, by id */
  float   *rows;       /* ids × dim */
  int      dim;
  int      feature_dim;
  char   **classes;    /* the evidence's classes, in order */
} QrCaptionInputs;

void     qr_caption_inputs_clear      (QrCaptionInputs *inputs);
/* classes NULL: the classes the peers' consensus holds, sorted (a new model's). */
gboolean qr_caption_inputs_load       (QrCatalog       *catalog,
                                       const char *const *classes,
                                       QrCaptionInputs *inputs,
                                       GError         **error);

typedef struct
{
  int      epochs;          /* in all (a resumed run keeps its own) */
  int      batch_size;
  float    learning_rate;
  int      hidden, out_dim;
  float    gamma;
  guint64  seed;            /* weights, order and the held-out fold */
  int      n_folds;         /* one fold held out (0: none) */
  guint    min_captions;
  gboolean restart;         /* start over even when an unfinished run could resume */
  int      judges;          /* out-of-fold judges trained after the model (0: none) */
  QrDevice device;          /* where the training runs (qr_dmsm_trainer_new_on; AUTO: the CPU) */
} QrCaptionTrainOptions;

void     qr_caption_train_options_init (QrCaptionTrainOptions *options);

typedef struct
{
  gint64  model_id;
  int     epoch, epochs;
  double  loss;             /* the epoch's mean training loss */
  double  recall_at_5;      /* held-out captions: their image among the 5 nearest of all images */
  double  recall_at_1;
  guint   held_out_captions;
  double  seconds;          /* the epoch's training time */
  gboolean resumed;         /* this run went on from a stopped one */
  int     judge;            /* -1: the model; else the out-of-fold judge it is (0 … judges - 1) */
  int     judges;
  const char *device;       /* where it trained: "cpu", "cuda:0 NVIDIA H100 80GB HBM3 fp32" */
} QrCaptionEpoch;

typedef void (*QrCaptionEpochFunc) (const QrCaptionEpoch *epoch,
                                    gpointer              data);

/* Trains (or resumes) on the catalog's captions; features must have been computed. The model's
 * id; -1 with an error when there are too few captions (saying how many it needs), when nothing
 * can be trained on, or when stopped (QR_ENGINE_ERROR_CANCELLED: the finished epochs are kept).
 *
 * Then the model's out-of-fold judges (options->judges of them): the captions split into that many
 * folds by qr_caption_fold, judge k trained like the model on every caption outside fold k (held
 * out: fold k). A caption's "far from its own image" verdict comes from the judge that never saw
 * it: a model judging the captions it trained on has learnt their mistakes. The model is in use as
 * soon as it finishes; a run stopped among the judges goes on with them the next time (the model
 * is not trained again unless options->restart). */
gint64   qr_caption_model_train       (QrCatalog                  *catalog,
                                       const QrCaptionTrainOptions *options,
                                       QrAbortFunc                 abort,
                                       gpointer                    abort_data,
                                       QrCaptionEpochFunc          on_epoch,
                                       gpointer                    epoch_data,
                                       GError                    **error);

/* Judge `judge` of the model parent when it is ready: its model and meta (NULL with no error when
 * it is missing, unfinished, or judges for another model or, with judges > 0, another count). */
QrDmsm  *qr_caption_judge_load        (QrCatalog                  *catalog,
                                       int                         judge,
                                       gint64                      parent,
                                       int                         judges,
                                       GVariant                  **meta,
                                       GError                    **error);
/* How many of the model's out-of-fold judges are ready; -1 with an error. *judges: how many there
 * are to be (0: as many as judge 0 was trained among, set on return; 0 when there is none). */
int      qr_caption_model_judges_done (QrCatalog                  *catalog,
                                       gint64                      model_id,
                                       int                        *judges,
                                       GError                    **error);
/* The fold (0 … n_folds - 1) of a caption, from its id and the model's seed. */
int      qr_caption_fold              (gint64                      caption_id,
                                       guint64                     seed,
                                       int                         n_folds);
/* The kind of judge k in the catalog's text models (free it). */
char    *qr_caption_judge_kind        (int                         judge);

/* The pieces of training, for benchmarks that train in memory. A caption and its image's row of
 * the inputs: */
typedef struct
{
  const char *text;
  guint       row;
} QrCaptionPair;

/* A fresh model for inputs: the vocabulary of the train pairs' texts, the image inputs
 * standardised by their images' mean and spread, weights from options->seed. */
QrDmsm  *qr_caption_model_new         (const QrCaptionInputs      *inputs,
                                       GArray                     *train,
                                       const QrCaptionTrainOptions *options);
/* One epoch over train (QrCaptionPair): seeded order, batches of distinct images; the mean loss.
 * The model holds the epoch's params on return (a GPU trainer is synced). FALSE with
 * QR_ENGINE_ERROR_CANCELLED when abort said stop, or with the GPU's error. */
gboolean qr_caption_model_epoch       (QrDmsmTrainer              *trainer,
                                       const QrCaptionInputs      *inputs,
                                       GArray                     *train,
                                       int                         batch_size,
                                       guint64                     seed,
                                       int                         epoch,
                                       QrAbortFunc                 abort,
                                       gpointer                    abort_data,
                                       double                     *loss,
                                       GError                    **error);
/* Held-out pairs ranked against every image of inputs: recall at 1 and 5. */
void     qr_caption_model_evaluate    (QrDmsm                     *model,
                                       const QrCaptionInputs      *inputs,
                                       GArray                     *held,
                                       double                     *recall_at_1,
                                       double                     *recall_at_5);

/* The model in use, with its class list (meta "classes"); NULL with an error saying how to get
 * one when there is none. */
QrDmsm  *qr_caption_model_load        (QrCatalog                  *catalog,
                                       QrTextModelRecord         **record,
                                       char                     ***classes,
                                       GError                    **error);

G_END_DECLS
