/* qr-scorer.h: the image–text scorer interface. A scorer turns a text and a catalog image into a
 * score (higher: the text fits the image better) and, optionally, a map of where in the image the
 * text is. Search, caption scores, caption suggestions and caption mistakes all go through it;
 * the zero-shot scorer (from the peers' detections) is the first, the DMSM and CLIP plug in beside
 * it. Scorers are made by name (qr_scorer_new) and are used from one thread at a time. */
#pragma once

#include <gio/gio.h>
#include "qr-catalog.h"
#include "qr-text.h"
#include "qr-caption-model.h"

G_BEGIN_DECLS

typedef struct
{
  double  score;
  char   *explain;   /* what scored: "dog 0.82, two people 0.40 (person: 3 seen)" */
  gboolean unscored; /* the scorer holds nothing for this image (no stored embedding): score is -1 */
  /* for captions: the weakest phrase and the most salient object left out, NULL when none */
  char   *weakest;   /* the phrase's words */
  char   *weakest_class;
  int     weakest_seen;  /* present objects of its class */
  double  weakest_confidence; /* the lexicon's weight × the class's strongest consensus */
  double  weakest_score;
  char   *omitted;   /* a class */
  double  omitted_salience;
  int     wrong_count; /* a number said disagrees with what is seen (1), else 0 */
  char   *count_words; /* that phrase, "five women" */
  int     count_said, count_seen;
  char   *count_class;
  double  count_confidence;  /* the class's strongest consensus */
} QrScore;

void qr_score_clear (QrScore *score);

/* A text prepared once for many images. */
typedef struct
{
  char      *text;
  GPtrArray *unknown;    /* words the scorer cannot use (char*) */
  GPtrArray *ignored;    /* words that name no object, not scored (char*) */
  gboolean   allow_empty;/* a caption: one that names nothing scorable is scored, not refused */
  gpointer   data;       /* the scorer's own */
} QrScorerText;

/* Where a caption's own image stands among all the images a scorer scores. */
typedef struct
{
  gboolean unscored;   /* the scorer holds nothing for its image: nothing to say */
  double   own;        /* its own image's score */
  guint    ahead;      /* other images scoring above it (within 1e-5 counts as a tie, not ahead) */
  guint    others;     /* the other images scored */
  gint64   best_id;    /* the highest of those ahead; -1 when none */
  double   best;
} QrOwnImageRank;

#define QR_TYPE_SCORER (qr_scorer_get_type ())
G_DECLARE_INTERFACE (QrScorer, qr_scorer, QR, SCORER, GObject)

struct _QrScorerInterface
{
  GTypeInterface parent_iface;

  const char *(*get_name)   (QrScorer *self);
  const char *(*get_title)  (QrScorer *self);
  gboolean    (*prepare)    (QrScorer *self, QrScorerText *text, GError **error);
  void        (*release)    (QrScorer *self, QrScorerText *text);
  gboolean    (*score)      (QrScorer *self, QrScorerText *text, gint64 image_id, QrTextMode mode,
                             QrScore *out, GError **error);
  /* The images it can score (gint64 ids, in path order). */
  GArray     *(*candidates) (QrScorer *self, GError **error);
  /* Optional: the best top (0: all) candidates at once, best first (QrSearchHit), where the
   * scorer can do better than scoring one image at a time. */
  GArray     *(*search)     (QrScorer *self, QrScorerText *text, guint top, GCancellable *cancellable,
                             GError **error);
  /* Optional: qr_scorer_rank_own for many texts at once (one product over stored embeddings). */
  gboolean    (*rank_own)   (QrScorer *self, QrScorerText *const *texts, const gint64 *own, guint n,
                             QrOwnImageRank *out, GError **error);
  /* Optional: rows × cols values in 0..1 over the image, cell_size image pixels a cell. */
  float      *(*phrase_map) (QrScorer *self, QrScorerText *text, const char *image_path,
                             GCancellable *cancellable, int *rows, int *cols, double *cell_size,
                             GError **error);
};

/* The scorers there are, in the order a menu lists them; the first is the default. */
const char *const *qr_scorer_list_names (void);
/* A scorer over a catalog by name; an error naming the choices when there is no such scorer, and
 * the scorer's own error when it cannot work on this catalog (no peer runs, no model). */
QrScorer     *qr_scorer_new          (QrCatalog   *catalog,
                                      const char  *name,
                                      GError     **error);
const char   *qr_scorer_get_name     (QrScorer    *self);
const char   *qr_scorer_get_title    (QrScorer    *self);
/* An empty text, or one with nothing to score, is an error saying so (and naming unknown words). */
QrScorerText *qr_scorer_prepare      (QrScorer    *self,
                                      const char  *text,
                                      GError     **error);
/* A caption: also one that names nothing the scorer knows (scored on what it leaves out). */
QrScorerText *qr_scorer_prepare_caption (QrScorer *self,
                                      const char  *text,
                                      GError     **error);
void          qr_scorer_text_free    (QrScorer    *self,
                                      QrScorerText *text);
gboolean      qr_scorer_score        (QrScorer    *self,
                                      QrScorerText *text,
                                      gint64       image_id,
                                      QrTextMode   mode,
                                      QrScore     *out,
                                      GError     **error);
GArray       *qr_scorer_candidates   (QrScorer    *self,
                                      GError     **error);
/* For n prepared captions, each with its own image: where that image stands among all the images
 * the scorer scores. An embedding scorer does them all as one product (OpenBLAS); others score the
 * own image and search, one caption at a time. */
gboolean      qr_scorer_rank_own     (QrScorer    *self,
                                      QrScorerText *const *texts,
                                      const gint64 *own,
                                      guint        n,
                                      QrOwnImageRank *out,
                                      GError     **error);
gboolean      qr_scorer_has_phrase_map (QrScorer  *self);
float        *qr_scorer_phrase_map   (QrScorer    *self,
                                      QrScorerText *text,
                                      const char  *image_path,
                                      GCancellable *cancellable,
                                      int         *rows,
                                      int         *cols,
                                      double      *cell_size,
                                      GError     **error);

/* The zero-shot scorer: peers' consensus (qr-review.h) read once at creation. */
#define QR_TYPE_ZEROSHOT_SCORER (qr_zeroshot_scorer_get_type ())
G_DECLARE_FINAL_TYPE (QrZeroshotScorer, qr_zeroshot_scorer, QR, ZEROSHOT_SCORER, GObject)

QrScorer *qr_zeroshot_scorer_new (QrCatalog   *catalog,
                                  gboolean     plain,
                                  GError     **error);
/* The consensus objects of an image as evidence (NULL when no peer saw anything there). */
const QrEvidenceObject *qr_zeroshot_scorer_get_objects (QrZeroshotScorer *self,
                                                        gint64            image_id,
                                                        guint            *n_objects);

/* The caption model (DMSM) trained on the collection's captions: the model in use and its image
 * embeddings read at creation; an error saying how to train one when there is none. */
#define QR_TYPE_DMSM_SCORER (qr_dmsm_scorer_get_type ())
G_DECLARE_FINAL_TYPE (QrDmsmScorer, qr_dmsm_scorer, QR, DMSM_SCORER, GObject)

QrScorer *qr_dmsm_scorer_new     (QrCatalog   *catalog,
                                  GError     **error);
/* The captions of the n_images images nearest to image_id in the model's space (not its own):
 * retrieval's caption candidates (char*). */
/* A scorer over a model in memory (taken) and its inputs (a benchmark's, trained there). */
QrScorer *qr_dmsm_scorer_new_for (QrCatalog   *catalog,
                                  QrDmsm      *model,
                                  const QrCaptionInputs *inputs);
QrCatalog *qr_dmsm_scorer_get_catalog (QrDmsmScorer *self);
/* TRUE for one of the caption model's out-of-fold judges (qr_caption_judges_load). */
gboolean  qr_dmsm_scorer_is_judge (QrDmsmScorer *self);

/* The out-of-fold judges of the caption model in use (qr_caption_model_train): scorer k was trained
 * without the captions of fold k (qr_caption_fold with seed) and judges them; each over every
 * image's embedding, made from the stored features. */
typedef struct
{
  GPtrArray *scorers;   /* QrScorer*, by fold; NULL when the model in use has none ready */
  guint64    seed;
} QrCaptionJudges;

/* FALSE with an error when they cannot be read; judges->scorers NULL (TRUE) when there are none:
 * no model in use, trained without judges, or stopped before they were all done. */
gboolean  qr_caption_judges_load  (QrCatalog       *catalog,
                                   QrCaptionJudges *judges,
                                   GError         **error);
void      qr_caption_judges_clear (QrCaptionJudges *judges);
GPtrArray *qr_dmsm_scorer_retrieve_captions (QrDmsmScorer *self,
                                  gint64       image_id,
                                  guint        n_images,
                                  GError     **error);

/* A user's CLIP model (ONNX, qr-clip.h) over the embeddings stored for it: the newest model that
 * embedded the collection, loaded from its folder; an error saying how to make them when there are
 * none, or when the folder's model changed since. */
#define QR_TYPE_CLIP_SCORER (qr_clip_scorer_get_type ())
G_DECLARE_FINAL_TYPE (QrClipScorer, qr_clip_scorer, QR, CLIP_SCORER, GObject)

QrScorer *qr_clip_scorer_new      (QrCatalog   *catalog,
                                   GError     **error);
/* The key a CLIP folder's image embeddings are stored under: "clip:HASH:/absolute/folder", HASH of
 * its model files' sizes and times. */
char     *qr_clip_feature_key     (const char  *dir,
                                   GError     **error);
/* The collection's readable images that lack the folder's embeddings get them (unit length),
 * committed every 64: stopping (abort) keeps what is done, and a rerun goes on from there. An
 * image that cannot be read or embedded is counted in *failed and left. */
gboolean  qr_clip_embed_collection (QrCatalog  *catalog,
                                   const char  *dir,
                                   QrDevice     device,
                                   QrProgressFunc progress,
                                   gpointer     progress_data,
                                   QrAbortFunc  abort,
                                   gpointer     abort_data,
                                   guint       *computed,
                                   guint       *failed,
                                   GError     **error);

/* The caption model and the detections together ("blend"): the mean of the DMSM's cosine and the
 * zero-shot score (the DMSM alone for a text that names no object); an error when either cannot
 * be made. _from: over two scorers made already (a benchmark's). */
QrScorer *qr_blend_scorer_new      (QrCatalog   *catalog,
                                    GError     **error);
QrScorer *qr_blend_scorer_new_from (QrScorer    *dmsm,
                                    QrScorer    *zeroshot);
/* The caption model a scorer scores with: the dmsm scorer itself, the blend's, else NULL. */
QrDmsmScorer *qr_scorer_get_caption_model (QrScorer *scorer);

/* The hit type of search; a GArray of these clears them. */
typedef struct _QrSearchHit QrSearchHit;
GArray *qr_search_hits_new           (guint        reserved);

/* Search: every candidate image scored, best first (QrSearchHit), at most top (0: all). */
struct _QrSearchHit
{
  gint64  image_id;
  double  score;
  char   *explain;
};

GArray *qr_search                    (QrScorer     *scorer,
                                      QrScorerText *text,
                                      guint         top,
                                      GCancellable *cancellable,
                                      GError      **error);

/* Captions (captions.c) */

typedef struct
{
  char   *text;
  double  score;
  char   *explain;
} QrCaptionCandidate;

void       qr_caption_candidate_clear (QrCaptionCandidate *candidate);
/* Sentences from the image's consensus objects, ranked by ranker (NULL: the zero-shot scorer
 * itself) as captions, best first: a GArray of QrCaptionCandidate, at most top. With the caption
 * model as the ranker, the captions of the most similar images join the candidates (the pipeline's
 * retrieval stage). */
GArray    *qr_captions_suggest       (QrZeroshotScorer *words,
                                      QrScorer         *ranker,
                                      gint64            image_id,
                                      guint             top,
                                      GError          **error);
/* texts (char*) ranked as captions of the image, best first. Texts the scorer cannot read are
 * an error naming the text. */
GArray    *qr_captions_rank          (QrScorer         *scorer,
                                      gint64            image_id,
                                      GPtrArray        *texts,
                                      GError          **error);

typedef enum
{
  QR_CAPTION_FINE,
  QR_CAPTION_UNSEEN,    /* mentions an object no peer sees */
  QR_CAPTION_OMITS,     /* leaves out a salient object every peer sees */
  QR_CAPTION_COUNT,     /* says a number the peers do not see */
  QR_CAPTION_FAR,       /* the caption model puts it nearer other images than its own */
} QrCaptionProblem;

typedef struct
{
  double           score;     /* 0..1, how likely the caption is wrong */
  QrCaptionProblem problem;
  char            *class_name;/* the class involved */
  char            *reason;    /* in words: "mentions a cat no peer sees" */
} QrCaptionVerdict;

void       qr_caption_verdict_clear  (QrCaptionVerdict *verdict);
/* How likely a caption of an image is a mistake, and why. */
gboolean   qr_caption_judge          (QrScorer         *scorer,
                                      gint64            image_id,
                                      const char       *text,
                                      QrCaptionVerdict *out,
                                      GError          **error);
/* An embedding scorer's verdict (the caption model's, CLIP's): how far the caption's own image is
 * from being its nearest, as the share of the other images the scorer puts nearer the caption (0 …
 * 1; a caption of a random other image scores about 0.5); QR_CAPTION_FINE when its own is the
 * nearest, the scorer holds nothing for the image or the model knows none of its words. */
gboolean   qr_caption_judge_far      (QrScorer         *scorer,
                                      QrCatalog        *catalog,
                                      gint64            image_id,
                                      const char       *text,
                                      QrCaptionVerdict *out,
                                      GError          **error);
/* Every live caption of the catalog judged by scorer (when not NULL; and by qr_caption_judge_far with each of
 * far's scorers, when far is not NULL, and with the judge of its fold, when judges has them; the
 * strongest verdict wins): QrMistakeRecord* of kind
 * "caption" scoring at least min_score, for the review queue (qr_review_update stores them with
 * the label items). */
GPtrArray *qr_caption_mistakes       (QrCatalog        *catalog,
                                      QrScorer         *scorer,
                                      GPtrArray        *far,
                                      const QrCaptionJudges *judges,
                                      double            min_score,
                                      GError          **error);
/* The same with the zero-shot scorer and, where the collection has them, the caption model and
 * the CLIP model that embedded it (one that cannot be read is left out with a warning). */
GPtrArray *qr_caption_mistakes_judged (QrCatalog       *catalog,
                                      double            min_score,
                                      GError          **error);

G_END_DECLS
