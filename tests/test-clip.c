/* test-clip.c: CLIP's tokenizer against OpenAI's own (../shared/models/clip/reference/
 * simple_tokenizer.py, run by tests/reference/clip-tokenize.py): every caption of the shared
 * photos and texts chosen to reach each rule (entities, whitespace, case, contractions, digits,
 * punctuation runs, accents, scripts without spaces, emoji, the special tokens) give the same
 * ids; the Hugging Face tokenizer.json form of the same vocabulary gives them too; the model
 * input is start, tokens, end, padding, cut to 77; bad files are errors naming them. */
#include "qr-clip.h"
#include "qr-engine.h"
#include "test-util.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define CLIP_DIR QUORUM_SOURCE_DIR "/../shared/models/clip"
#define BPE CLIP_DIR "/bpe_simple_vocab_16e6.txt.gz"
#define CAPTIONS QUORUM_SOURCE_DIR "/../shared/captions/captions.json"
#define PYTHON "/usr/bin/python3"

static const char *const TRICKY[] = {
  "A dog.", "  two   dogs\tand\na cat  ", "THE DOG'S BALL", "it's, they're, we've, I'm, you'll, he'd",
  "don't", "''s", "rock 'n' roll", "a 1920s car, 3.14 and 1,000,000", "route 66!!!", "?!...", "a--b",
  "Tom &amp; Jerry", "&lt;b&gt;bold&lt;/b&gt;", "&amp;amp;", "caf&eacute;", "&#233;t&#xE9;", "&#0;",
  "café crème brûlée", "naïve façade", "Ärger Öl Übermut straße", "ΑΘΗΝΑ", "İstanbul",
  "東京の犬", "狗和猫", "😀 a smile 👍🏽", "x<|endoftext|>y", "<|startoftext|>hello", "a_b-c/d\\e",
  "e\xcc\x81" "clair", "½ ⅓ ² ٣", "\xe2\x80\x8b" "zero width", "tab\x1c" "sep", "",
  "a photo of a golden retriever puppy playing fetch in the park on a sunny afternoon",
};

static gboolean
have_reference (void)
{
  static int known = -1;
  if (known < 0)
    {
      const char *argv[] = { PYTHON, "-c", "import regex", NULL };
      int status = 1;
      known = g_file_test (BPE, G_FILE_TEST_EXISTS)
              && g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL)
              && g_spawn_check_wait_status (status, NULL);
    }
  return known;
}

static GPtrArray *
all_texts (void)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonParser) parser = json_parser_new ();

  for (guint i = 0; i < G_N_ELEMENTS (TRICKY); i++)
    g_ptr_array_add (texts, g_strdup (TRICKY[i]));
  if (json_parser_load_from_file (parser, CAPTIONS, NULL))
    {
      JsonArray *a = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "annotations");
      for (guint i = 0; i < json_array_get_length (a); i++)
        g_ptr_array_add (texts, g_strdup (json_object_get_string_member (json_array_get_object_element (a, i),
                                                                          "caption")));
    }
  return texts;
}

/* OpenAI's ids for each text (one JSON list per line). */
static char **
reference_ids (GPtrArray *texts)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *input = NULL, *out = NULL, *err = NULL;
  g_autofree char *stdin_path = NULL;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { PYTHON, QUORUM_SOURCE_DIR "/tests/reference/clip-tokenize.py", CLIP_DIR "/reference", BPE,
                         NULL };
  g_autoptr (GSubprocess) proc = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < texts->len; i++)
    json_builder_add_string_value (b, texts->pdata[i]);
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  input = json_generator_to_data (gen, NULL);
  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                    | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("clip-tokenize.py failed: %s", err);
  return g_strsplit (out, "\n", -1);
}

static void
assert_same_ids (QrClipTokenizer *tok, const char *text, const char *want_json)
{
  g_autoptr (GArray) ids = qr_clip_tokenizer_encode (tok, text);
  g_autoptr (GString) got = g_string_new ("[");
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (got, "%s%d", i ? ", " : "", g_array_index (ids, int, i));
  g_string_append_c (got, ']');
  if (strcmp (got->str, want_json) != 0)
    g_error ("\"%s\": %s, OpenAI's tokenizer %s", text, got->str, want_json);
}

static void
test_matches_openai (void)
{
  g_autoptr (GPtrArray) texts = NULL;
  g_auto (GStrv) want = NULL;
  g_autoptr (QrClipTokenizer) tok = NULL;
  g_autoptr (GError) error = NULL;

  if (!have_reference ())
    {
      g_test_skip ("CLIP's merges (../shared/models/clip) or Python's regex (Debian python3-regex) are missing");
      return;
    }
  texts = all_texts ();
  want = reference_ids (texts);
  tok = qr_clip_tokenizer_load (BPE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qr_clip_tokenizer_start (tok), ==, 49406);
  g_assert_cmpint (qr_clip_tokenizer_end (tok), ==, 49407);
  for (guint i = 0; i < texts->len; i++)
    assert_same_ids (tok, texts->pdata[i], want[i]);
  g_test_message ("%u texts tokenized as OpenAI's tokenizer does", texts->len);

  /* the same vocabulary in Hugging Face's form */
  {
    g_autofree char *tmp = test_make_tmpdir ();
    g_autofree char *json = g_build_filename (tmp, "tokenizer.json", NULL);
    const char *argv[] = { PYTHON, QUORUM_SOURCE_DIR "/tests/reference/clip-tokenize.py", CLIP_DIR "/reference", BPE,
                           json, NULL };
    g_autoptr (QrClipTokenizer) hf = NULL;
    int status;
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    hf = qr_clip_tokenizer_load (json, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < texts->len; i++)
      assert_same_ids (hf, texts->pdata[i], want[i]);
    test_remove_tree (tmp);
  }
}

static void
test_model_input (void)
{
  g_autoptr (QrClipTokenizer) tok = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) long_text = g_string_new (NULL);
  int ids[QR_CLIP_CONTEXT], n;

  if (!g_file_test (BPE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("CLIP's merges are not beside the source tree (../shared/models/clip)");
      return;
    }
  tok = qr_clip_tokenizer_load (BPE, &error);
  g_assert_no_error (error);
  n = qr_clip_tokenize (tok, "a dog", 0, ids);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (ids[0], ==, 49406);
  g_assert_cmpint (ids[3], ==, 49407);
  g_assert_cmpint (ids[4], ==, 0);
  g_assert_cmpint (ids[76], ==, 0);
  for (int i = 0; i < 100; i++)
    g_string_append (long_text, "dog ");
  n = qr_clip_tokenize (tok, long_text->str, 49407, ids);
  g_assert_cmpint (n, ==, 77);
  g_assert_cmpint (ids[1], ==, ids[75]);
  g_assert_cmpint (ids[76], ==, 49407);
}

static void
test_bad_files (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *gz = g_build_filename (tmp, "vocab.txt.gz", NULL);
  g_autofree char *json = g_build_filename (tmp, "tokenizer.json", NULL);
  const char *cases[][2] = {
    { "{}", "no model.vocab" },
    { "{\"model\": {\"vocab\": {\"a\": \"x\"}, \"merges\": []}}", "not a token id" },
    { "{\"model\": {\"vocab\": {\"a\": 1}, \"merges\": [\"ab\"]}}", "merges[0]" },
    { "{\"model\": {\"vocab\": {\"a\": 1}, \"merges\": []}}", "<|startoftext|>" },
    { "[1,", "tokenizer.json" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (g_file_set_contents (json, cases[i][0], -1, NULL));
      g_assert_null (qr_clip_tokenizer_load (json, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, json));
      if (strstr (error->message, cases[i][1]) == NULL)
        g_error ("%s: \"%s\" does not say %s", cases[i][0], error->message, cases[i][1]);
    }
  {
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_set_contents (gz, "not gzip", -1, NULL));
    g_assert_null (qr_clip_tokenizer_load (gz, &error));
    g_assert_nonnull (strstr (error->message, gz));
  }
  if (g_file_test (BPE, G_FILE_TEST_EXISTS))
    {
      /* cut short: too few merges, or a damaged stream */
      g_autofree char *data = NULL;
      gsize length;
      g_assert_true (g_file_get_contents (BPE, &data, &length, NULL));
      for (gsize cut = 10; cut < length; cut += length / 7)
        {
          g_autoptr (GError) error = NULL;
          g_assert_true (g_file_set_contents (gz, data, (gssize) cut, NULL));
          g_assert_null (qr_clip_tokenizer_load (gz, &error));
          g_assert_nonnull (strstr (error->message, gz));
        }
    }
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip/tokenizer/openai", test_matches_openai);
  g_test_add_func ("/clip/tokenizer/model-input", test_model_input);
  g_test_add_func ("/clip/tokenizer/bad-files", test_bad_files);
  return g_test_run ();
}
