/* test-text.c: image–text, part 1. The lexicon against WordNet itself (the checked-in file is what
 * tools/make-lexicon.py makes; its mappings agree with `wn`'s hypernym trees), texts parsed into
 * mentions, the zero-shot score's rules on hand-made evidence, caption candidates, and the CLI on
 * the demo photos with the four peers and the shared captions: search, captions suggest/rank/list,
 * caption items in the review queue, captions exported and imported back, and bad input. */
#include "quorum-config.h"
#include "qr-text.h"
#include "qr-caption-model.h"
#include "qr-detector.h"
#include "qr-scorer.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

typedef struct
{
  int      first, last;
  gboolean resumed;
  double   loss[10];
} Epochs;

/* The out-of-fold judges' epochs, as reported */
typedef struct
{
  int      model_epochs;       /* the model's */
  int      epochs[4];          /* each judge's */
  guint    held[4];            /* captions each judge held out */
  int      last_judge, last_epoch;
  gboolean resumed[4];
} JudgeEpochs;

static void
count_judge_epoch (const QrCaptionEpoch *e, gpointer data)
{
  JudgeEpochs *seen = data;
  if (e->judge < 0)
    {
      seen->model_epochs++;
      return;
    }
  g_assert_cmpint (e->judge, <, 4);
  seen->epochs[e->judge]++;
  seen->held[e->judge] = e->held_out_captions;
  seen->resumed[e->judge] |= e->resumed;
  seen->last_judge = e->judge;
  seen->last_epoch = e->epoch;
}

static gboolean
stop_in_judge_2 (gpointer data)
{
  const JudgeEpochs *seen = data;
  return seen->last_judge == 1 && seen->last_epoch >= 2;
}

#define SHARED_CAPTIONS QUORUM_SOURCE_DIR "/../shared/captions/captions.json"

static QrLexicon *
lexicon (void)
{
  g_autoptr (GError) error = NULL;
  QrLexicon *l = qr_lexicon_load (QUORUM_SOURCE_DIR "/resources/lexicon.tsv", &error);
  g_assert_no_error (error);
  return l;
}

static const char *
class_of (QrLexicon *l, const char *word, float *weight)
{
  const float *weights = NULL;
  const GPtrArray *classes = qr_lexicon_lookup (l, word, &weights);
  if (classes == NULL)
    return NULL;
  if (weight != NULL)
    *weight = weights[0];
  return classes->pdata[0];
}

/* The words the issue names, and a few more. */
static void
test_lexicon_words (void)
{
  g_autoptr (QrLexicon) l = lexicon ();
  static const char *const pairs[][2] = {
    { "puppy", "dog" }, { "hound", "dog" }, { "man", "person" }, { "woman", "person" }, { "child", "person" },
    { "player", "person" }, { "astronaut", "person" }, { "motorbike", "motorcycle" }, { "ball", "sports ball" },
    { "football", "sports ball" }, { "kite", "kite" }, { "sofa", "couch" }, { "television", "tv" },
    { "eagle", "bird" }, { "tabby", "cat" }, { "espresso", NULL }, { "white", NULL }, { "head", NULL },
  };
  float w = 0;

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    g_assert_cmpstr (class_of (l, pairs[i][0], NULL), ==, pairs[i][1]);
  g_assert_cmpstr (class_of (l, "lemon", &w), ==, "orange");
  g_assert_cmpfloat (w, <, 1);
  g_assert_true (qr_lexicon_is_object (l, "dinosaur"));
  g_assert_true (qr_lexicon_is_object (l, "tuba"));
  g_assert_true (qr_lexicon_is_adjective (l, "orange"));
}

/* The checked-in lexicon is what the generator makes from the installed WordNet. */
static void
test_lexicon_regenerates (void)
{
  g_autofree char *out = NULL, *err = NULL, *checked_in = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  const char *argv[] = { "/usr/bin/python3", QUORUM_SOURCE_DIR "/tools/make-lexicon.py", NULL };

  if (!g_file_test ("/usr/share/wordnet/data.noun", G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("WordNet is not installed (Debian wordnet-base)");
      return;
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_file_get_contents (QUORUM_SOURCE_DIR "/resources/lexicon.tsv", &checked_in, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_equal (out, checked_in));
}

/* WordNet's own command: for every COCO class, its words (weight 1) have the class's synset in
 * their hypernym tree (`wn WORD -hypen`), the few hand-added words aside. */
static void
test_lexicon_against_wn (void)
{
  /* the class's own WordNet word where it differs from the COCO name */
  static const char *const heads[][2] = {
    { "fire hydrant", "fireplug" }, { "tv", "television receiver" }, { "couch", "sofa" }, { "sports ball", "ball" },
    { "hot dog", "hotdog" }, { "donut", "doughnut" }, { "wine glass", "wineglass" }, { "cell phone", "cellular telephone" },
    { "refrigerator", "electric refrigerator" }, { "teddy bear", "teddy" }, { "hair drier", "hand blower" },
    { "skis", "ski" }, { "handbag", "bag" }, { "suitcase", "bag" }, { "potted plant", "houseplant" },
    { "tie", "necktie" }, { "remote", "remote control" }, { "cow", "cattle" }, { "dining table", "table" },
    { "boat", "boat" }, { "knife", "knife" },
  };
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) per_class = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint checked = 0, agreed = 0, classes = 0;
  g_autoptr (GError) error = NULL;

  if (!g_file_test ("/usr/bin/wn", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("the wn command is not installed (Debian wordnet)");
      return;
    }
  g_file_get_contents (QUORUM_SOURCE_DIR "/resources/lexicon.tsv", &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 4);
      const char *head = NULL;
      guint seen;
      g_autofree char *out = NULL, *lower = NULL, *needle = NULL;
      g_autofree char *word = NULL;
      const char *argv[] = { "/usr/bin/wn", NULL, "-hypen", NULL };
      int status = 0;

      if (g_strv_length (f) != 4 || !g_str_equal (f[0], "w") || !g_str_equal (f[3], "1") || g_str_equal (f[1], f[2]))
        continue;
      /* five words a class, spread over the alphabet by taking every class's first ones */
      seen = GPOINTER_TO_UINT (g_hash_table_lookup (per_class, f[2]));
      if (seen >= 5)
        continue;
      if (seen == 0)
        classes++;
      g_hash_table_insert (per_class, g_strdup (f[2]), GUINT_TO_POINTER (seen + 1));
      for (guint h = 0; h < G_N_ELEMENTS (heads); h++)
        if (g_str_equal (heads[h][0], f[2]))
          head = heads[h][1];
      word = g_strdelimit (g_strdup (f[1]), " ", '_');
      argv[1] = word;
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &error);
      g_assert_no_error (error);
      lower = g_utf8_strdown (out ? out : "", -1);
      needle = g_strdup (head ? head : f[2]);
      checked++;
      if (strstr (lower, needle) != NULL)
        agreed++;
      else
        g_test_message ("wn %s -hypen does not reach “%s”", f[1], needle);
    }
  g_test_message ("%u of %u words over %u classes reach their class in wn's hypernym tree", agreed, checked, classes);
  /* every COCO class is a target; those with words besides their own name were checked above */
  {
    g_autoptr (GHashTable) targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; lines[i] != NULL; i++)
      {
        g_auto (GStrv) f = g_strsplit (lines[i], "\t", 4);
        if (g_strv_length (f) == 4 && g_str_equal (f[0], "w"))
          g_hash_table_add (targets, g_strdup (f[2]));
      }
    g_assert_cmpuint (g_hash_table_size (targets), ==, 80);
  }
  g_assert_cmpuint (classes, >=, 65);
  /* the hand-added words (kitten, calf, van, bike, …) are the exceptions */
  g_assert_cmpuint (agreed * 100, >=, checked * 93);
}

static const QrMention *
mention (QrTextQuery *q, guint i)
{
  g_assert_cmpuint (i, <, q->mentions->len);
  return &g_array_index (q->mentions, QrMention, i);
}

static void
test_parse (void)
{
  g_autoptr (QrLexicon) l = lexicon ();
  g_autoptr (GError) error = NULL;
  QrTextQuery *q;
  g_autoptr (GString) long_text = g_string_new (NULL);

  q = qr_text_parse (l, "Two dogs and three people", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (q->mentions->len, ==, 2);
  g_assert_cmpstr (mention (q, 0)->class_name, ==, "dog");
  g_assert_cmpint (mention (q, 0)->count, ==, 2);
  g_assert_cmpstr (mention (q, 1)->class_name, ==, "person");
  g_assert_cmpint (mention (q, 1)->count, ==, 3);
  qr_text_query_free (q);

  q = qr_text_parse (l, "no people, puppies on a sofa", &error);
  g_assert_cmpint (mention (q, 0)->count, ==, 0);
  g_assert_cmpstr (mention (q, 1)->class_name, ==, "dog");
  g_assert_cmpint (mention (q, 1)->count, ==, QR_COUNT_SEVERAL);
  g_assert_cmpstr (mention (q, 2)->class_name, ==, "couch");
  g_assert_cmpint (mention (q, 2)->count, ==, QR_COUNT_ANY);
  qr_text_query_free (q);

  q = qr_text_parse (l, "A dinosaur playing a tuba", &error);
  g_assert_cmpuint (q->mentions->len, ==, 0);
  g_assert_cmpuint (q->unknown->len, ==, 2);
  {
    g_autofree char *said = qr_text_query_describe_unknown (q);
    g_assert_cmpstr (said, ==, "unknown words: dinosaur, tuba");
  }
  g_assert_cmpuint (q->ignored->len, ==, 1);   /* "playing" */
  qr_text_query_free (q);

  /* a phrase, a plural phrase, a colour, a thing of its own, a general word */
  q = qr_text_parse (l, "hot dogs, an astronaut in an orange suit wearing glasses, an animal", &error);
  g_assert_cmpstr (mention (q, 0)->class_name, ==, "hot dog");
  g_assert_cmpint (mention (q, 0)->count, ==, QR_COUNT_SEVERAL);
  g_assert_cmpstr (mention (q, 1)->class_name, ==, "person");
  for (guint i = 0; i < q->mentions->len; i++)
    {
      g_assert_cmpstr (mention (q, i)->class_name, !=, "orange");
      g_assert_cmpstr (mention (q, i)->class_name, !=, "cup");
    }
  g_assert_cmpint (q->n_groups, ==, 3);
  g_assert_cmpuint (q->mentions->len, >=, 2 + 8);  /* "animal": every animal class, one group */
  qr_text_query_free (q);

  /* refused */
  g_assert_null (qr_text_parse (l, "caf\xe9", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  for (int i = 0; i < 1001; i++)
    g_string_append_c (long_text, 'a');
  g_assert_null (qr_text_parse (l, long_text->str, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static double
score_of (QrLexicon *l, const char *text, const QrEvidenceObject *o, guint n, QrTextMode mode)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrTextQuery) q = qr_text_parse (l, text, &error);
  QrTextScore s;
  double v;
  g_assert_no_error (error);
  qr_text_score (q, o, n, mode, &s);
  v = s.score;
  qr_text_score_clear (&s);
  return v;
}

/* The rules of zeroshot.c on hand-made consensus objects. */
static void
test_score_rules (void)
{
  g_autoptr (QrLexicon) l = lexicon ();
  const QrEvidenceObject two_dogs[] = { { "dog", 0.8f, 0.2f, 0.3f }, { "dog", 0.6f, 0.1f, 0.7f },
                                        { "person", 0.9f, 0.3f, 0.5f }, { "cup", 0.2f, 0.01f, 0.5f } };

  /* mentions: 0.8 for a dog; counts agree or not */
  g_assert_cmpfloat_with_epsilon (score_of (l, "a dog", two_dogs, 2, QR_TEXT_QUERY), 0.8, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "two dogs", two_dogs, 2, QR_TEXT_QUERY), 0.8, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "three dogs", two_dogs, 2, QR_TEXT_QUERY), 0.4, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "dogs", two_dogs, 1, QR_TEXT_QUERY), 0.8 * 0.6, 1e-6);
  /* weights: a lemon is a weaker orange */
  {
    const QrEvidenceObject fruit[] = { { "orange", 0.9f, 0.2f, 0.5f } };
    g_assert_cmpfloat_with_epsilon (score_of (l, "a lemon", fruit, 1, QR_TEXT_QUERY), 0.45, 1e-6);
  }
  /* negation; a missing class; both leave the dogs out (salience 0.8 × min (1, √(0.2/0.05)) = 0.8,
   * λ = 0.1 in search) */
  g_assert_cmpfloat_with_epsilon (score_of (l, "no cats", two_dogs, 2, QR_TEXT_QUERY), 1.0 - 0.08, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "no dogs", two_dogs, 2, QR_TEXT_QUERY), 0.2 - 0.08, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "a cat", two_dogs, 2, QR_TEXT_QUERY), 0.0 - 0.08, 1e-6);
  /* leaving out a salient person: salience 0.9 × min (1, √(0.3/0.05)) = 0.9; λ 0.5 for captions,
   * 0.1 for search; the faint cup (0.2) is not present and costs nothing */
  g_assert_cmpfloat_with_epsilon (score_of (l, "two dogs", two_dogs, 4, QR_TEXT_CAPTION), 0.8 - 0.45, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "two dogs", two_dogs, 4, QR_TEXT_QUERY), 0.8 - 0.09, 1e-6);
  g_assert_cmpfloat_with_epsilon (score_of (l, "two dogs and a man", two_dogs, 4, QR_TEXT_CAPTION), 0.85, 1e-6);
  g_assert_cmpint (qr_text_count_present (two_dogs, 4, "dog"), ==, 2);
  g_assert_cmpint (qr_text_count_present (two_dogs, 4, "cup"), ==, 0);
}

static void
test_suggest (void)
{
  const QrEvidenceObject o[] = { { "person", 0.9f, 0.3f, 0.5f }, { "person", 0.7f, 0.2f, 0.6f },
                                 { "dog", 0.8f, 0.1f, 0.1f }, { "cup", 0.1f, 0.01f, 0.5f } };
  g_autoptr (GPtrArray) s = qr_text_suggest (o, G_N_ELEMENTS (o), 6);

  g_assert_cmpuint (s->len, >=, 3);
  g_assert_cmpstr (s->pdata[0], ==, "Two people and a dog on the left");
  g_assert_cmpstr (s->pdata[1], ==, "Two people and a dog");
  for (guint i = 0; i < s->len; i++)
    g_assert_null (strstr (s->pdata[i], "cup"));
}

/* The CLI on the demo photos */

typedef struct
{
  char *tmp, *dir, *db;
} Fixture;

static int
run_quorum (const char *const *args, char **out, char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int status = -1;

  g_ptr_array_add (argv, (gpointer) QUORUM_BINARY);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static gboolean
have_models (void)
{
  return g_file_test (QUORUM_SOURCE_DIR "/../shared/models/pretrained/centernet.json", G_FILE_TEST_IS_REGULAR)
         && g_file_test (SHARED_CAPTIONS, G_FILE_TEST_IS_REGULAR);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  f->tmp = test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "photos", NULL);
  f->db = g_build_filename (f->tmp, "catalog.sqlite", NULL);
  g_mkdir (f->dir, 0700);
  if (!have_models ())
    return;
  {
    g_autoptr (GDir) demo = g_dir_open (QUORUM_DEMO_DIR, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (demo)) != NULL)
      if (!g_str_has_suffix (name, ".md"))
        {
          g_autofree char *from = g_build_filename (QUORUM_DEMO_DIR, name, NULL);
          g_autofree char *to = g_build_filename (f->dir, name, NULL);
          g_autofree char *bytes = NULL;
          gsize length;
          g_assert_true (g_file_get_contents (from, &bytes, &length, NULL));
          g_assert_true (g_file_set_contents (to, bytes, (gssize) length, NULL));
        }
  }
  g_assert_cmpint (run_quorum ((const char *[]) { "index", "-q", "--db", f->db, f->dir, NULL }, NULL, NULL), ==, 0);
  g_assert_cmpint (run_quorum ((const char *[]) { "import", "-q", "--format", "coco", "--db", f->db, "-c", f->dir,
                                                   SHARED_CAPTIONS, NULL }, NULL, NULL), ==, 0);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
  g_free (f->db);
}

static JsonObject *
line_object (const char *line, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) long_text = g_string_new (NULL);

  if (!have_models ())
    {
      g_test_skip ("the shared models and captions are not here");
      return;
    }
  /* before any peer has run: says what to do */
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "a dog", "--db", f->db, "-c", f->dir, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "peers run"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_quorum ((const char *[]) { "peers", "run", "-q", "--db", f->db, "-c", f->dir, NULL }, NULL, NULL), ==, 0);

  /* search: JSON lines, best first, the giraffe photo on top */
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "a giraffe and a zebra in a field", "--top", "3", "--db", f->db,
                                                   "-c", f->dir, NULL }, &out, &err), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  {
    JsonObject *o = line_object (lines[0], parser);
    g_assert_cmpstr (json_object_get_string_member (o, "image"), ==, "darknet-giraffe.jpg");
    g_assert_cmpstr (json_object_get_string_member (o, "scorer"), ==, "zeroshot");
    g_assert_cmpfloat (json_object_get_double_member (o, "score"), >, 0.4);
  }
  g_assert_nonnull (strstr (err, "unknown words: field"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&lines, g_strfreev);

  /* bad queries */
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "", "--db", f->db, "-c", f->dir, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "empty"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "a dinosaur with a tuba", "--db", f->db, "-c", f->dir, NULL },
                              &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "unknown words: dinosaur, tuba"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  for (int i = 0; i < 1001; i++)
    g_string_append_c (long_text, 'x');
  g_assert_cmpint (run_quorum ((const char *[]) { "search", long_text->str, "--db", f->db, "-c", f->dir, NULL }, &out,
                              &err), ==, 1);
  g_assert_nonnull (strstr (err, "longer than 1000"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "caf\xe9", "--db", f->db, "-c", f->dir, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "not UTF-8"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "dog", "--scorer", "siglip", "--db", f->db, "-c", f->dir, NULL },
                              &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "zeroshot"));
  g_assert_nonnull (strstr (err, "clip"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* the CLIP scorer before any embeddings: says how to make them */
  g_assert_cmpint (run_quorum ((const char *[]) { "search", "dog", "--scorer", "clip", "--db", f->db, "-c", f->dir, NULL },
                              &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "quorum embed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* suggestions for the dog photo name the dog and the bicycle */
  g_assert_cmpint (run_quorum ((const char *[]) { "captions", "suggest", "darknet-dog.jpg", "--top", "2", "--db", f->db,
                                                   "-c", f->dir, NULL }, &out, &err), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  {
    JsonObject *o = line_object (lines[0], parser);
    const char *caption = json_object_get_string_member (o, "caption");
    g_assert_nonnull (strstr (caption, "dog"));
    g_assert_nonnull (strstr (caption, "bicycle"));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&lines, g_strfreev);

  /* ranking a user's candidates: the right one first */
  {
    g_autofree char *file = g_build_filename (f->tmp, "candidates.txt", NULL);
    g_assert_true (g_file_set_contents (file, "Two cats on a sofa\n# a comment\nA dog next to a bicycle\n", -1, NULL));
    g_assert_cmpint (run_quorum ((const char *[]) { "captions", "rank", "darknet-dog.jpg", "--candidates", file, "--db",
                                                     f->db, "-c", f->dir, NULL }, &out, &err), ==, 0);
    lines = g_strsplit (g_strstrip (out), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (line_object (lines[0], parser), "caption"), ==,
                     "A dog next to a bicycle");
    g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
    g_clear_pointer (&lines, g_strfreev);
  }

  /* a planted caption mistake tops the caption queue */
  g_assert_cmpint (run_quorum ((const char *[]) { "captions", "add", "skimage-chelsea.png", "Two giraffes on a beach", "--db",
                                                   f->db, "-c", f->dir, NULL }, NULL, NULL), ==, 0);
  g_assert_cmpint (run_quorum ((const char *[]) { "review", "list", "--kind", "caption", "--top", "1", "--db", f->db, "-c",
                                                   f->dir, NULL }, &out, &err), ==, 0);
  {
    JsonObject *o = line_object (g_strstrip (out), parser);
    g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "caption");
    g_assert_cmpstr (json_object_get_string_member (o, "caption"), ==, "Two giraffes on a beach");
    g_assert_nonnull (strstr (json_object_get_string_member (o, "reason"), "giraffe"));
    g_assert_cmpfloat (json_object_get_double_member (o, "score"), >=, 0.9);
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* and is stored with the queue */
  g_assert_cmpint (run_quorum ((const char *[]) { "review", "update", "--db", f->db, "-c", f->dir, NULL }, &out, NULL), ==, 0);
  g_clear_pointer (&out, g_free);

  /* export writes the captions beside the labels; they import back */
  {
    g_autofree char *export = g_build_filename (f->tmp, "export", NULL);
    g_autofree char *captions = g_build_filename (export, "annotations", "captions.json", NULL);
    g_autofree char *db2 = g_build_filename (f->tmp, "second.sqlite", NULL);
    g_assert_cmpint (run_quorum ((const char *[]) { "export", "--format", "yolo", "--db", f->db, "-c", f->dir, export, NULL },
                                &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "91 captions"));
    g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
    g_assert_true (g_file_test (captions, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpint (run_quorum ((const char *[]) { "index", "-q", "--db", db2, f->dir, NULL }, NULL, NULL), ==, 0);
    g_assert_cmpint (run_quorum ((const char *[]) { "import", "--format", "coco", "--db", db2, "-c", f->dir, captions, NULL },
                                &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "91 captions on 18 images"));
  }
}

static gboolean
stop_after_epoch_2 (gpointer data)
{
  return *(int *) data >= 2;
}

static void
count_epoch (const QrCaptionEpoch *e, gpointer data)
{
  Epochs *seen = data;
  seen->last = e->epoch;
  seen->resumed |= e->resumed;
  if (seen->first == 0)
    seen->first = e->epoch;
  seen->loss[MIN (e->epoch, 9)] = e->loss;
}

/* The caption model on the demo photos and their 90 captions: too few for the default (says how
 * many it needs); with a lower floor, a run stopped after two epochs is usable and resumes where
 * it stopped, ending where an uninterrupted run ends; the model in use answers search. */
static void
test_caption_model (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrTextModelRecord) stopped = NULL, resumed = NULL, straight = NULL;
  g_autoptr (QrScorer) scorer = NULL;
  g_autofree char *centernet = NULL;
  QrCaptionTrainOptions options;
  Epochs seen = { 0 };
  guint computed, failed;
  gint64 id, id2;

  if (!have_models ())
    {
      g_test_skip ("the shared models and captions are not here");
      return;
    }
  g_assert_cmpint (run_quorum ((const char *[]) { "peers", "run", "-q", "--db", f->db, "-c", f->dir, NULL }, NULL, NULL), ==, 0);
  catalog = qr_catalog_open (f->dir, f->db, &error);
  g_assert_no_error (error);
  centernet = qr_find_model ("centernet", &error);
  g_assert_no_error (error);

  qr_caption_train_options_init (&options);
  options.epochs = 4;
  options.hidden = 64;
  options.out_dim = 32;
  options.batch_size = 16;
  options.n_folds = 6;
  options.judges = 0;   /* the judges at the end */
  g_assert_cmpint (qr_caption_model_train (catalog, &options, NULL, NULL, NULL, NULL, &error), ==, -1);
  g_assert_nonnull (strstr (error->message, "needs at least 100 captions; this collection has 90"));
  g_clear_error (&error);
  options.min_captions = 50;
  /* no features yet */
  g_assert_cmpint (qr_caption_model_train (catalog, &options, NULL, NULL, NULL, NULL, &error), ==, -1);
  g_assert_nonnull (strstr (error->message, "no image has backbone features"));
  g_clear_error (&error);
  g_assert_true (qr_caption_features_compute (catalog, centernet, QR_DEVICE_CPU, NULL, NULL, NULL, NULL, &computed, &failed,
                                              &error));
  g_assert_no_error (error);
  g_assert_cmpuint (computed, ==, 18);
  g_assert_cmpuint (failed, ==, 0);

  /* no model yet: the scorer says how to get one */
  g_assert_null (qr_scorer_new (catalog, "dmsm", &error));
  g_assert_nonnull (strstr (error->message, "quorum captions train"));
  g_clear_error (&error);

  /* stopped after epoch 2 */
  g_assert_cmpint (qr_caption_model_train (catalog, &options, stop_after_epoch_2, &seen.last, count_epoch, &seen, &error),
                   ==, -1);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (seen.last, ==, 2);
  g_assert_cmpfloat (seen.loss[2], <, seen.loss[1]);
  stopped = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stopped);
  g_assert_cmpstr (stopped->state, ==, "training");
  g_assert_cmpint (stopped->epoch, ==, 2);
  scorer = qr_scorer_new (catalog, "dmsm", &error);   /* usable as it is */
  g_assert_no_error (error);
  g_assert_nonnull (strstr (qr_scorer_get_title (scorer), "stopped after 2"));
  g_clear_object (&scorer);

  /* resumed: epochs 3 and 4 only */
  seen = (Epochs) { 0 };
  id = qr_caption_model_train (catalog, &options, NULL, NULL, count_epoch, &seen, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, ==, stopped->id);
  g_assert_true (seen.resumed);
  g_assert_cmpint (seen.first, ==, 3);
  g_assert_cmpint (seen.last, ==, 4);
  resumed = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &error);
  g_assert_cmpstr (resumed->state, ==, "ready");
  g_assert_cmpint (resumed->epoch, ==, 4);
  g_assert_nonnull (strstr (resumed->metrics, "\"epoch\": 4"));

  /* the same four epochs without a stop: the same weights (the optimiser's state and each epoch's
   * order are saved or seeded); it replaces the model in use only when done */
  options.restart = TRUE;
  id2 = qr_caption_model_train (catalog, &options, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id2, >, id);
  straight = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &error);
  g_assert_cmpint (straight->id, ==, id2);
  {
    g_autoptr (QrDmsm) a = qr_dmsm_load (resumed->model, NULL, &error);
    g_autoptr (QrDmsm) b = qr_dmsm_load (straight->model, NULL, &error);
    for (guint p = 0; p < QR_DMSM_N_PARAMS; p++)
      {
        gsize n, n2;
        const float *x = qr_dmsm_get_param (a, p, &n), *y = qr_dmsm_get_param (b, p, &n2);
        g_assert_cmpuint (n, ==, n2);
        for (gsize k = 0; k < n; k++)
          g_assert_cmpfloat (fabsf (x[k] - y[k]), <=, 1e-5f);
      }
  }

  /* search with the model in use: a giraffe caption finds the giraffe */
  scorer = qr_scorer_new (catalog, "dmsm", &error);
  g_assert_no_error (error);
  {
    QrScorerText *text = qr_scorer_prepare (scorer, "a giraffe standing among trees", &error);
    g_autoptr (GArray) hits = NULL;
    g_autoptr (QrImageRecord) top = NULL;
    g_assert_no_error (error);
    hits = qr_search (scorer, text, 3, NULL, &error);
    g_assert_no_error (error);
    top = qr_catalog_get_image (catalog, g_array_index (hits, QrSearchHit, 0).image_id, &error);
    g_assert_cmpstr (top->path, ==, "darknet-giraffe.jpg");
    qr_scorer_text_free (scorer, text);
  }
  g_assert_null (qr_scorer_prepare (scorer, "xqzv", &error));
  g_assert_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_NO_WORDS);
  g_clear_error (&error);

  /* caption mistakes of the caption model's kind: a caption of the scream put on the giraffe is
   * nearer the scream than the giraffe; the giraffe's own trained caption is fine */
  {
    g_autoptr (QrImageRecord) giraffe = qr_catalog_find_image (catalog, "darknet-giraffe.jpg", &error);
    g_autoptr (GPtrArray) own = qr_catalog_list_captions (catalog, giraffe->id, &error);
    g_autoptr (GArray) suggested = NULL;
    QrCaptionVerdict v;
    g_assert_true (qr_caption_judge_far (scorer, catalog, giraffe->id, own->pdata[0], &v, &error));
    g_assert_no_error (error);
    g_assert_cmpint (v.problem, ==, QR_CAPTION_FINE);
    qr_caption_verdict_clear (&v);
    g_assert_true (qr_caption_judge_far (scorer, catalog, giraffe->id,
                                         "A colorful painting of a person screaming near the water.", &v, &error));
    g_assert_no_error (error);
    g_test_message ("swapped caption: %.2f, %s", v.score, v.reason);
    g_assert_cmpint (v.problem, ==, QR_CAPTION_FAR);
    g_assert_cmpfloat (v.score, >=, 1.0 / 17);   /* at least one of the other 17 photos is nearer */
    g_assert_nonnull (strstr (v.reason, "darknet-scream.jpg"));
    qr_caption_verdict_clear (&v);

    /* every caption's own image ranked at once (the review's way: one product) and by one full
     * search a caption: the same counts and the same nearest image */
    {
      g_autoptr (GPtrArray) all = qr_catalog_list_caption_records (catalog, -1, &error);
      g_autofree QrScorerText **texts = g_new0 (QrScorerText *, all->len);
      g_autofree gint64 *own_ids = g_new (gint64, all->len);
      g_autofree QrOwnImageRank *ranks = g_new (QrOwnImageRank, all->len);
      guint n = 0, flagged = 0;
      for (guint i = 0; i < all->len; i++)
        {
          QrCaptionRecord *c = all->pdata[i];
          QrScorerText *t = qr_scorer_prepare_caption (scorer, c->text, NULL);
          if (t == NULL)
            continue;
          texts[n] = t;
          own_ids[n++] = c->image_id;
        }
      g_assert_cmpuint (n, >=, 80);
      g_assert_true (qr_scorer_rank_own (scorer, texts, own_ids, n, ranks, &error));
      g_assert_no_error (error);
      for (guint k = 0; k < n; k++)
        {
          g_autoptr (GArray) hits = qr_search (scorer, texts[k], 0, NULL, &error);
          double own_score = 0;
          guint ahead = 0;
          gint64 best = -1;
          g_assert_no_error (error);
          for (guint i = 0; i < hits->len; i++)
            if (g_array_index (hits, QrSearchHit, i).image_id == own_ids[k])
              own_score = g_array_index (hits, QrSearchHit, i).score;
          for (guint i = 0; i < hits->len; i++)
            {
              const QrSearchHit *h = &g_array_index (hits, QrSearchHit, i);
              if (h->image_id != own_ids[k] && h->score > own_score + 1e-5 * MAX (1, fabs (own_score)))
                {
                  if (ahead++ == 0)
                    best = h->image_id;
                }
            }
          g_assert_false (ranks[k].unscored);
          g_assert_cmpuint (ranks[k].others, ==, hits->len - 1);
          g_assert_cmpuint (ranks[k].ahead, ==, ahead);
          g_assert_cmpint (ranks[k].best_id, ==, best);
          g_assert_cmpfloat (fabs (ranks[k].own - own_score), <, 1e-3);
          flagged += ahead > 0;
          qr_scorer_text_free (scorer, texts[k]);
        }
      g_test_message ("%u captions ranked at once as one search each ranks them (%u with another image nearer)", n,
                      flagged);
    }

    /* suggestions: the detections' sentences and the nearest images' captions, ranked by the model */
    {
      g_autoptr (QrScorer) words = qr_zeroshot_scorer_new (catalog, FALSE, &error);
      g_assert_no_error (error);
      suggested = qr_captions_suggest (QR_ZEROSHOT_SCORER (words), scorer, giraffe->id, 50, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (suggested->len, >, 5);
      for (guint i = 1; i < suggested->len; i++)
        g_assert_cmpfloat (g_array_index (suggested, QrCaptionCandidate, i).score, <=,
                           g_array_index (suggested, QrCaptionCandidate, i - 1).score);
    }

    /* the blend: the mean of the model's cosine and the zero-shot score, the model alone for a
     * text that names no object; its suggestions retrieve as the model's do */
    {
      g_autoptr (QrScorer) blend = qr_scorer_new (catalog, "blend", &error);
      g_autoptr (QrScorer) zeroshot = qr_scorer_new (catalog, "zeroshot", &error);
      const char *texts[] = { "a giraffe standing among trees", "a sunny afternoon outside" };
      g_assert_no_error (error);
      g_assert_true (qr_scorer_get_caption_model (blend) != NULL);
      for (guint k = 0; k < G_N_ELEMENTS (texts); k++)
        {
          QrScorerText *b = qr_scorer_prepare (blend, texts[k], &error);
          QrScorerText *d = qr_scorer_prepare (scorer, texts[k], &error);
          g_autoptr (GError) none = NULL;
          QrScorerText *z = qr_scorer_prepare (zeroshot, texts[k], &none);
          QrScore sb = { 0 }, sd = { 0 }, sz = { 0 };
          g_assert_no_error (error);
          g_assert_true (qr_scorer_score (blend, b, giraffe->id, QR_TEXT_QUERY, &sb, &error));
          g_assert_true (qr_scorer_score (scorer, d, giraffe->id, QR_TEXT_QUERY, &sd, &error));
          if (z != NULL)
            {
              g_assert_true (qr_scorer_score (zeroshot, z, giraffe->id, QR_TEXT_QUERY, &sz, &error));
              g_assert_cmpfloat_with_epsilon (sb.score, 0.5 * sd.score + 0.5 * sz.score, 1e-9);
            }
          else
            g_assert_cmpfloat_with_epsilon (sb.score, sd.score, 1e-9);
          g_test_message ("blend “%s”: %s", texts[k], sb.explain);
          g_assert_true (k == 0 ? z != NULL : z == NULL);   /* the second names no object */
          qr_score_clear (&sb);
          qr_score_clear (&sd);
          qr_score_clear (&sz);
          qr_scorer_text_free (blend, b);
          qr_scorer_text_free (scorer, d);
          qr_scorer_text_free (zeroshot, z);
        }
      {
        g_autoptr (QrScorer) words = qr_zeroshot_scorer_new (catalog, FALSE, &error);
        g_autoptr (GArray) by_blend = qr_captions_suggest (QR_ZEROSHOT_SCORER (words), blend, giraffe->id, 50, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (by_blend->len, ==, suggested->len);
      }
    }
  }

  /* out-of-fold judges: trained after the model in use (which is not trained again), each
   * without its fold of the captions; a stop among them keeps the finished ones and resumes */
  {
    JudgeEpochs judged = { .last_judge = -1 };
    QrCaptionJudges judges = { 0 };
    g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, &error);
    g_autoptr (GPtrArray) mistakes = NULL;
    g_autoptr (QrImageRecord) giraffe = qr_catalog_find_image (catalog, "darknet-giraffe.jpg", &error);
    guint per_fold[3] = { 0 };
    gint64 planted, third;
    gboolean found = FALSE;

    g_assert_no_error (error);
    options.restart = FALSE;
    options.judges = 3;
    g_assert_cmpint (qr_caption_model_train (catalog, &options, stop_in_judge_2, &judged, count_judge_epoch, &judged,
                                             &error), ==, -1);
    g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED);
    g_assert_nonnull (strstr (error->message, "judge 2 of 3"));
    g_clear_error (&error);
    g_assert_cmpint (judged.model_epochs, ==, 0);
    g_assert_cmpint (judged.epochs[0], ==, 4);
    g_assert_cmpint (judged.epochs[1], ==, 2);
    g_assert_true (qr_caption_judges_load (catalog, &judges, &error));
    g_assert_no_error (error);
    g_assert_null (judges.scorers);   /* not all ready: none used */

    judged = (JudgeEpochs) { .last_judge = -1 };
    g_assert_cmpint (qr_caption_model_train (catalog, &options, NULL, NULL, count_judge_epoch, &judged, &error), ==, id2);
    g_assert_no_error (error);
    g_assert_cmpint (judged.model_epochs, ==, 0);
    g_assert_cmpint (judged.epochs[0], ==, 0);
    g_assert_cmpint (judged.epochs[1], ==, 2);   /* epochs 3 and 4 */
    g_assert_true (judged.resumed[1]);
    g_assert_cmpint (judged.epochs[2], ==, 4);
    /* each judge held out its fold of the captions, and only that */
    for (guint i = 0; i < captions->len; i++)
      per_fold[qr_caption_fold (((QrCaptionRecord *) captions->pdata[i])->id, options.seed, 3)]++;
    g_assert_cmpuint (per_fold[0] + per_fold[1] + per_fold[2], ==, 90);
    for (int k = 1; k < 3; k++)
      {
        g_test_message ("judge %d held out %u captions", k + 1, judged.held[k]);
        g_assert_cmpuint (judged.held[k], ==, per_fold[k]);
        g_assert_cmpuint (judged.held[k], >, 15);
      }

    g_assert_true (qr_caption_judges_load (catalog, &judges, &error));
    g_assert_no_error (error);
    g_assert_nonnull (judges.scorers);
    g_assert_cmpuint (judges.scorers->len, ==, 3);
    g_assert_cmpuint (judges.seed, ==, options.seed);
    for (guint k = 0; k < 3; k++)
      g_assert_true (qr_dmsm_scorer_is_judge (judges.scorers->pdata[k]));

    /* a caption of the scream put on the giraffe: the judges say it is far, trained without it */
    planted = qr_catalog_add_caption (catalog, giraffe->id, "A colorful painting of a person screaming near the water.",
                                      "typed", &error);
    g_assert_no_error (error);
    mistakes = qr_caption_mistakes (catalog, NULL, NULL, &judges, 0.0, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < mistakes->len; i++)
      {
        QrMistakeRecord *r = mistakes->pdata[i];
        if (r->caption_id != planted)
          continue;
        g_test_message ("planted: %.2f, %s", r->score, r->reason);
        g_assert_nonnull (strstr (r->reason, "the caption model trained without it puts "));
        found = TRUE;
      }
    g_assert_true (found);
    qr_caption_judges_clear (&judges);

    /* with every judge done, training again starts over: a new model and judges for it */
    judged = (JudgeEpochs) { .last_judge = -1 };
    third = qr_caption_model_train (catalog, &options, NULL, NULL, count_judge_epoch, &judged, &error);
    g_assert_no_error (error);
    g_assert_cmpint (third, >, id2);
    g_assert_cmpint (judged.model_epochs, ==, 4);
    g_assert_cmpint (judged.epochs[0] + judged.epochs[1] + judged.epochs[2], ==, 12);
    g_assert_true (qr_caption_judges_load (catalog, &judges, &error));
    g_assert_nonnull (judges.scorers);
    qr_caption_judges_clear (&judges);
    {
      g_autofree char *out = NULL;
      g_assert_cmpint (run_quorum ((const char *[]) { "info", "--db", f->db, "-c", f->dir, NULL }, &out, NULL), ==, 0);
      g_assert_nonnull (strstr (out, "Captions     91\n"));
      g_assert_nonnull (strstr (out, "Caption model 4 epochs; 3 of 3 out-of-fold judges done\n"));
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/lexicon/words", test_lexicon_words);
  g_test_add_func ("/text/lexicon/regenerates", test_lexicon_regenerates);
  g_test_add_func ("/text/lexicon/wn", test_lexicon_against_wn);
  g_test_add_func ("/text/parse", test_parse);
  g_test_add_func ("/text/score-rules", test_score_rules);
  g_test_add_func ("/text/suggest", test_suggest);
  g_test_add ("/text/cli", Fixture, NULL, fixture_set_up, test_cli, fixture_tear_down);
  g_test_add ("/text/caption-model", Fixture, NULL, fixture_set_up, test_caption_model, fixture_tear_down);
  return g_test_run ();
}
