/* qr-text.h: words to the classes detectors see, for the zero-shot image–text scorer. A lexicon
 * (resources/lexicon.tsv, generated from WordNet by tools/make-lexicon.py) maps words and phrases
 * to class names; a text is parsed into mentions (a class, how many, negated or not) and the words
 * it could not map; a parsed text is scored against the objects the peers agree on in an image.
 * Pure computation apart from reading the lexicon file; no catalog, no models. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _QrLexicon QrLexicon;

/* The lexicon in a file of the format tools/make-lexicon.py writes. */
QrLexicon  *qr_lexicon_load            (const char        *path,
                                        GError           **error);
/* The installed lexicon ($QUORUM_LEXICON, $datadir/quorum/lexicon.tsv, or the source tree's),
 * loaded once and shared; NULL with an error when none is found. */
QrLexicon  *qr_lexicon_get_default     (GError           **error);
/* A lexicon of class names only (and regular plurals): the "plain matching" baseline. */
QrLexicon  *qr_lexicon_new_plain       (const char *const *class_names);
/* An empty lexicon that falls back on base: for a collection's own class names. */
QrLexicon  *qr_lexicon_new_overlay     (QrLexicon         *base);
/* A class a collection's models or labels use: its name (lower-cased) names it. */
void        qr_lexicon_add_class       (QrLexicon         *self,
                                        const char        *class_name);
QrLexicon  *qr_lexicon_ref             (QrLexicon         *self);
void        qr_lexicon_unref           (QrLexicon         *self);
/* The classes a word or phrase names (singular, lower case): a GPtrArray of const char*, with
 * weights in *weights (owned by the lexicon), or NULL when it names none. */
const GPtrArray *qr_lexicon_lookup     (QrLexicon         *self,
                                        const char        *word,
                                        const float      **weights);
/* Whether a word is a noun naming a physical thing that no class names ("dinosaur"). */
gboolean    qr_lexicon_is_object       (QrLexicon         *self,
                                        const char        *word);
/* Whether a word the lexicon maps is an adjective too ("orange"). */
gboolean    qr_lexicon_is_adjective    (QrLexicon         *self,
                                        const char        *word);
/* The singular of a noun by WordNet's exceptions and rules, when the lexicon knows the result;
 * NULL otherwise. */
char       *qr_lexicon_singular        (QrLexicon         *self,
                                        const char        *word);

#define QR_COUNT_ANY     (-1)   /* "a dog", "the dog": one, but not checked */
#define QR_COUNT_SEVERAL (-2)   /* "dogs", "some dogs", "a group of people": two or more */
#define QR_TEXT_MAX_CHARS 1000

typedef struct
{
  char  *class_name;
  float  weight;      /* how surely the words name the class (1; 0.5 for "lemon" → orange) */
  int    count;       /* 0: negated ("no people"); n ≥ 1 a number said; or QR_COUNT_ANY/SEVERAL */
  int    group;       /* mentions of one phrase share a group: "an animal" is any of its classes */
  char  *words;       /* the words as they were written, "two puppies" */
} QrMention;

typedef struct
{
  GArray    *mentions;  /* QrMention */
  GPtrArray *unknown;   /* nouns of things that no class names ("dinosaur") */
  GPtrArray *ignored;   /* other words that carry meaning but not an object ("sitting", "red") */
  int        n_groups;
} QrTextQuery;

/* Whether a text may be parsed: UTF-8 and at most QR_TEXT_MAX_CHARS characters; an error saying
 * which it is not. */
gboolean     qr_text_check            (const char        *text,
                                       GError           **error);
/* Refuses what qr_text_check refuses; an empty text parses to nothing (the caller says so). */
QrTextQuery *qr_text_parse            (QrLexicon         *lexicon,
                                       const char        *text,
                                       GError           **error);
void         qr_text_query_free       (QrTextQuery       *query);
/* "unknown words: dinosaur, tuba", or NULL when every object word was mapped. */
char        *qr_text_query_describe_unknown (const QrTextQuery *query);

/* An object the peers agree on in an image: its class (the peers' shared name), how strongly they
 * agree (peer pressure's K = m (1 − σ), 0..1) and its share of the image's area. */
typedef struct
{
  const char *class_name;
  float       strength;
  float       area;
  float       cx;         /* the box's centre, 0..1 across the image */
} QrEvidenceObject;

/* Objects count as present from this consensus strength on (peer pressure's min_consensus). */
#define QR_TEXT_PRESENT 0.3f

typedef enum
{
  QR_TEXT_QUERY,    /* search: how well the mentioned objects are there */
  QR_TEXT_CAPTION,  /* a caption: that, minus the salient objects it leaves out */
} QrTextMode;

typedef struct
{
  double  score;        /* the text's score for the image, −0.5 .. 1 */
  double  mentioned;    /* the mean of its mentions' scores, 0 .. 1 */
  double  omitted;      /* the most salient present object left out, 0 .. 1 */
  char   *omitted_class;/* that object's class, or NULL */
  GString *explain;     /* "dog 0.82, two people 0.40 (3 seen)" */
  int     worst_group;  /* the mention group that scored lowest, −1 with none */
  int     worst_mention;/* its best-scoring mention (an index into the query's mentions) */
  double  worst_score;
} QrTextScore;

void    qr_text_score         (const QrTextQuery      *query,
                               const QrEvidenceObject *objects,
                               guint                   n_objects,
                               QrTextMode              mode,
                               QrTextScore            *out);
void    qr_text_score_clear   (QrTextScore            *score);
/* The strongest consensus of an object of the class, 0 when there is none. */
float   qr_text_confidence    (const QrEvidenceObject *objects,
                               guint                   n_objects,
                               const char             *class_name);
/* How many present objects of a class (strength ≥ QR_TEXT_PRESENT). */
int     qr_text_count_present (const QrEvidenceObject *objects,
                               guint                   n_objects,
                               const char             *class_name);

/* Caption candidates from the objects alone, best first: sentences naming the present classes
 * with their counts and, for single objects, where they are ("two people and a dog on the
 * left"). A GPtrArray of char*, at most max_candidates. */
GPtrArray *qr_text_suggest    (const QrEvidenceObject *objects,
                               guint                   n_objects,
                               guint                   max_candidates);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrLexicon, qr_lexicon_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QrTextQuery, qr_text_query_free)

G_END_DECLS
