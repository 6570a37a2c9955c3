/* test-clip.c: CLIP's tokenizer against OpenAI's own (../shared/models/clip/reference/
 * simple_tokenizer.py, run by tests/reference/clip-tokenize.py): every caption of the shared
 * photos and texts chosen to reach each rule (entities, whitespace, case, contractions, digits,
 * punctuation runs, accents, scripts without spaces, emoji, the special tokens) give the same
 * ids; the Hugging Face tokenizer.json form of the same vocabulary gives them too; the model
 * input is start, tokens, end, padding, cut to 77; bad files are errors naming them. */
#include "qr-clip.h"
#include "qr-engine.h"
#include "qr-scorer.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#define CLIP_DIR QUORUM_SOURCE_DIR "/../shared/models/clip"
#define BPE CLIP_DIR "/bpe_simple_vocab_16e6.txt.gz"
#define CAPTIONS QUORUM_SOURCE_DIR "/../shared/captions/captions.json"
#define CLIP_SCRIPT QUORUM_SOURCE_DIR "/tests/reference/clip-onnx.py"

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
  return g_file_test (BPE, G_FILE_TEST_EXISTS) && test_python_imports ("regex");
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
  const char *argv[] = { TEST_PYTHON, QUORUM_SOURCE_DIR "/tests/reference/clip-tokenize.py", CLIP_DIR "/reference",
                         BPE, NULL };
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
    const char *args[] = { CLIP_DIR "/reference", BPE, json, NULL };
    g_autoptr (QrClipTokenizer) hf = NULL;
    g_free (test_python_run (QUORUM_SOURCE_DIR "/tests/reference/clip-tokenize.py", args));
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


static gboolean
have_torch (void)
{
  return g_file_test (CLIP_DIR "/reference/model.py", G_FILE_TEST_EXISTS)
         && test_python_imports ("torch, onnx, numpy, PIL");
}

static char *
run_clip_script (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) CLIP_DIR "/reference");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  return test_python_run (CLIP_SCRIPT, (const char *const *) argv->pdata);
}

/* The tolerance of a comparison with PyTorch: 1e-4 of the largest value where the engine computes in
 * float32 (the CPU, CUDA FP32), the GPU tests' own where tensor cores round (test-gpu.c: TF32 2e-2,
 * FP16 3e-2); QUORUM_PRECISION says which a CUDA run (tools/cuda-host-check, the GPU machine) uses. */
static float
tolerance (void)
{
  const char *device = g_getenv ("QUORUM_DEVICE"), *precision = g_getenv ("QUORUM_PRECISION");
  if (g_strcmp0 (device, "cuda") != 0 || qr_engine_cuda_device_count () == 0)
    return 1e-4f;
  return g_strcmp0 (precision, "tf32") == 0 ? 2e-2f : g_strcmp0 (precision, "fp32") == 0 ? 1e-4f : 3e-2f;
}

static void
assert_close (const float *ours, JsonArray *want, int n, const char *what)
{
  float worst = 0, largest = 0;
  g_assert_cmpint ((int) json_array_get_length (want), ==, n);
  for (int i = 0; i < n; i++)
    {
      float w = (float) json_array_get_double_element (want, (guint) i);
      largest = MAX (largest, fabsf (w));
      worst = MAX (worst, fabsf (ours[i] - w));
    }
  g_test_message ("%s: within %.3g of PyTorch's (largest %.3g)", what, worst, largest);
  g_assert_cmpfloat (worst, <=, tolerance () * largest);
}

/* OpenAI's CLIP (model.py: a ViT image tower, the text transformer) with seeded weights, exported
 * by PyTorch at the given opset in transformers.js's layout: Quorum prepares a photo as Hugging
 * Face's processor does with Pillow (the same values), and its image and text embeddings match
 * PyTorch's on the same inputs. */
static void
test_clip_model (gconstpointer data)
{
  const char *opset = data;
  /* "17-b32": ViT-B/32's real sizes (88 M parameters in the image tower, 63 M in the text's) */
  gboolean b32 = g_str_has_suffix (opset, "b32");
  g_autofree char *tmp = NULL, *bpe_copy = NULL, *ours_in = NULL, *theirs_in = NULL, *contents = NULL;
  g_autofree char *photo = g_build_filename (QUORUM_DEMO_DIR, "skimage-coffee.png", NULL);
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrClip) clip = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autofree float *input = NULL, *image_embedding = NULL;
  const char *texts[] = { "a cup of coffee on a saucer", "two dogs playing in the snow", "" };
  float text_embeddings[3][512];
  int ids[3][QR_CLIP_CONTEXT], size, dim;
  gsize length;
  g_auto (GStrv) lines = NULL;

  if (!have_torch () || !g_file_test (BPE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("OpenAI's CLIP reference (../shared/models/clip) or PyTorch, ONNX and Pillow for Python (Debian "
                   "python3-torch, python3-onnx, python3-pil) are missing");
      return;
    }
#if defined(__SANITIZE_ADDRESS__)
  if (b32)
    {
      /* the same code as the small model's, with 150 M parameters: a minute in the plain build */
      g_test_skip ("ViT-B/32's sizes run in the plain build (the sanitizers' run has the small model's tests)");
      return;
    }
#endif
  tmp = test_make_tmpdir ();
  {
    /* "17-dynamic": the batch and the sequence left symbolic, as Hugging Face's exports do */
    g_autofree char *number = g_strndup (opset, 2);
    const char *args[] = { "export", tmp, number,
                           g_str_has_suffix (opset, "dynamic") ? "dynamic"
                           : g_str_has_suffix (opset, "combined") ? "combined"
                           : g_str_has_suffix (opset, "b32") ? "b32" : NULL, NULL };
    g_free (run_clip_script (args));
  }
  /* the folder as a user has it: the towers, the preprocessor's settings, the tokenizer */
  bpe_copy = g_build_filename (tmp, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_assert_true (g_file_get_contents (BPE, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (bpe_copy, contents, (gssize) length, NULL));
  clip = qr_clip_load (tmp, test_device (), &error);
  g_assert_no_error (error);
  g_test_message ("opset %s: the towers on %s (tolerance %.0e of the largest value)", opset, qr_clip_get_device (clip),
                  (double) tolerance ());
  dim = qr_clip_get_dim (clip);
  size = qr_clip_get_image_size (clip);
  g_assert_cmpint (dim, ==, b32 ? 512 : 32);
  g_assert_cmpint (size, ==, b32 ? 224 : 64);

  /* preprocessing: Pillow's bicubic resize, the centre crop, CLIP's normalisation */
  image = qr_image_load (photo, NULL, 0, &error);
  g_assert_no_error (error);
  input = g_new (float, (gsize) size * size * 3);
  qr_clip_preprocess (clip, image, input);
  theirs_in = g_build_filename (tmp, "theirs.f32", NULL);
  {
    g_autofree char *ss = g_strdup_printf ("%d", size);
    const char *args[] = { "preprocess", photo, ss, ss, theirs_in, NULL };
    g_autofree char *theirs = NULL;
    float worst = 0;
    g_free (run_clip_script (args));
    g_assert_true (g_file_get_contents (theirs_in, &theirs, &length, NULL));
    g_assert_cmpuint (length, ==, (gsize) size * size * 3 * sizeof (float));
    for (gsize i = 0; i < (gsize) size * size * 3; i++)
      worst = MAX (worst, fabsf (input[i] - ((float *) theirs)[i]));
    g_test_message ("opset %s: the prepared image within %.3g of Pillow's", opset, worst);
    g_assert_cmpfloat (worst, <=, 1e-5f);
  }

  /* the embeddings */
  image_embedding = g_new (float, dim);
  g_assert_true (qr_clip_embed_image (clip, image, image_embedding, &error));
  g_assert_no_error (error);
  for (int t = 0; t < 3; t++)
    {
      g_assert_true (qr_clip_embed_text (clip, texts[t], text_embeddings[t], ids[t], &error));
      g_assert_no_error (error);
      g_assert_cmpint (ids[t][0], ==, 49406);
    }
  ours_in = g_build_filename (tmp, "ours.f32", NULL);
  test_write_bytes (ours_in, input, (gsize) size * size * 3 * sizeof (float));
  {
    g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (NULL);
    g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (args, (char *) "run");
    g_ptr_array_add (args, tmp);
    g_ptr_array_add (args, ours_in);
    g_ptr_array_add (args, (char *) "--");
    for (int t = 0; t < 3; t++)
      {
        GString *list = g_string_new (NULL);
        for (int i = 0; i < QR_CLIP_CONTEXT; i++)
          g_string_append_printf (list, "%s%d", i ? "," : "", ids[t][i]);
        g_ptr_array_add (owned, g_string_free (list, FALSE));
        g_ptr_array_add (args, owned->pdata[owned->len - 1]);
      }
    g_ptr_array_add (args, NULL);
    out = run_clip_script ((const char *const *) args->pdata);
  }
  /* the patches a phrase map compares with a text (a 4 × 4 grid here) */
  {
    const char *args[] = { "patches", tmp, ours_in, NULL };
    g_autofree char *ref = run_clip_script (args);
    g_auto (GStrv) rows = g_strsplit (ref, "\n", -1);
    g_autofree float *patches = NULL;
    int grid = 0;
    patches = qr_clip_patch_embeddings (clip, input, &grid, &error);
    g_assert_no_error (error);
    g_assert_cmpint (grid, ==, b32 ? 7 : 4);
    for (int p = 0; p < grid * grid; p++)
      {
        g_autoptr (JsonParser) parser = json_parser_new ();
        g_autofree char *what = g_strdup_printf ("opset %s: patch %d", opset, p);
        g_assert_true (json_parser_load_from_data (parser, rows[p], -1, NULL));
        if (p == 0 || p == grid * grid - 1)
          assert_close (patches + (gsize) p * dim, json_node_get_array (json_parser_get_root (parser)), dim, what);
        else
          {
            JsonArray *want = json_node_get_array (json_parser_get_root (parser));
            double largest = 0;
            for (int i = 0; i < dim; i++)
              largest = MAX (largest, fabs (json_array_get_double_element (want, (guint) i)));
            for (int i = 0; i < dim; i++)
              g_assert_cmpfloat_with_epsilon (patches[(gsize) p * dim + i], json_array_get_double_element (want, (guint) i),
                                              tolerance () == 1e-4f ? 1e-4 : tolerance () * largest);
          }
      }
  }
  lines = g_strsplit (out, "\n", -1);
  for (int k = 0; k < 4; k++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autofree char *what = k == 0 ? g_strdup_printf ("opset %s: the image embedding", opset)
                                     : g_strdup_printf ("opset %s: \"%s\"", opset, texts[k - 1]);
      g_assert_true (json_parser_load_from_data (parser, lines[k], -1, NULL));
      assert_close (k == 0 ? image_embedding : text_embeddings[k - 1],
                    json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "embedding"),
                    dim, what);
    }

  /* a collection's images go through the tower QR_CLIP_BATCH at a time where the export lets the
     batch change (a dynamic batch): ten inputs (a full batch, then two padded with zeros), each
     embedding as the one-image tower gives it, the first as PyTorch's (checked above) */
  {
    const int n = QR_CLIP_BATCH + 2;
    gsize item = (gsize) size * size * 3;
    g_autofree float *inputs = g_new (float, item * n), *many = g_new (float, (gsize) dim * n);
    g_autofree float *one = g_new (float, dim);
    float worst = 0.0f, largest = 0.0f;
    for (int k = 0; k < n; k++)
      for (gsize j = 0; j < item; j++)
        inputs[(gsize) k * item + j] = k == 0 ? input[j] : input[(j + (gsize) k * 97) % item] * (1.0f - 0.05f * k);
    g_autofree float *singles = g_new (float, (gsize) dim * n);
    /* one at a time first: once batched, the one-image tower gives way to the batched one */
    for (int k = 0; k < n; k++)
      {
        g_assert_true (qr_clip_embed_input (clip, inputs + (gsize) k * item, singles + (gsize) k * dim, &error));
        g_assert_no_error (error);
      }
    g_assert_true (qr_clip_embed_inputs (clip, inputs, n, many, &error));
    g_assert_no_error (error);
    for (int k = 0; k < n; k++)
      for (int i = 0; i < dim; i++)
        {
          worst = MAX (worst, fabsf (singles[(gsize) k * dim + i] - many[(gsize) k * dim + i]));
          largest = MAX (largest, fabsf (singles[(gsize) k * dim + i]));
        }
    /* a single image after that (through the batched tower, padded) is the same one */
    g_assert_true (qr_clip_embed_input (clip, inputs + item, one, &error));
    g_assert_no_error (error);
    for (int i = 0; i < dim; i++)
      worst = MAX (worst, fabsf (one[i] - singles[dim + i]));
    g_test_message ("opset %s: %d images %d at a time, within %.3g of one at a time (largest %.3g)", opset, n,
                    qr_clip_get_batch (clip), worst, largest);
    g_assert_cmpfloat (worst, <=, 1e-5f * MAX (largest, 1.0f));
    if (g_str_has_suffix (opset, "dynamic"))
      g_assert_cmpint (qr_clip_get_batch (clip), ==, QR_CLIP_BATCH);
  }
  /* loaded for a search (the image tower on first use): the same embeddings */
  {
    g_autoptr (QrClip) lazy = qr_clip_load_text (tmp, test_device (), &error);
    g_autofree float *e = g_new (float, dim);
    g_assert_no_error (error);
    g_assert_cmpint (qr_clip_get_dim (lazy), ==, dim);
    g_assert_true (qr_clip_embed_text (lazy, texts[0], e, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (e, sizeof (float) * dim, text_embeddings[0], sizeof (float) * dim);
    g_assert_true (qr_clip_embed_image (lazy, image, e, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (e, sizeof (float) * dim, image_embedding, sizeof (float) * dim);
  }
  test_remove_tree (tmp);
}

static void
test_clip_folder_errors (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_build_filename (tmp, "x.onnx", NULL);

  g_assert_null (qr_clip_load (tmp, QR_DEVICE_CPU, &error));
  g_assert_nonnull (strstr (error->message, "vision_model.onnx"));
  g_assert_nonnull (strstr (error->message, tmp));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  g_assert_null (qr_clip_load (file, QR_DEVICE_CPU, &error));
  g_assert_nonnull (strstr (error->message, "not a folder"));
  g_clear_error (&error);

  /* a model.onnx that is not a combined CLIP (ONNX's own Relu case): the output it lacks, and the
     ones it has, named */
  if (g_file_test ("/usr/share/libonnx-testdata/data/node/test_relu/model.onnx", G_FILE_TEST_EXISTS)
      && g_file_test (BPE, G_FILE_TEST_EXISTS))
    {
      g_autofree char *contents = NULL, *model = g_build_filename (tmp, "model.onnx", NULL);
      g_autofree char *bpe = g_build_filename (tmp, "bpe_simple_vocab_16e6.txt.gz", NULL);
      gsize length;
      g_assert_true (g_file_get_contents ("/usr/share/libonnx-testdata/data/node/test_relu/model.onnx", &contents,
                                          &length, NULL));
      g_assert_true (g_file_set_contents (model, contents, (gssize) length, NULL));
      g_clear_pointer (&contents, g_free);
      g_assert_true (g_file_get_contents (BPE, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (bpe, contents, (gssize) length, NULL));
      g_assert_null (qr_clip_load (tmp, QR_DEVICE_CPU, &error));
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "model.onnx"));
      g_assert_nonnull (strstr (error->message, "no output named text_embeds (its outputs: y)"));
    }
  test_remove_tree (tmp);
}


static char *
run_quorum (int expect, char **err_out, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  const char *arg;
  int status;
  va_list ap;

  g_ptr_array_add (argv, (char *) QUORUM_BINARY);
  va_start (ap, err_out);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL) != (expect != 0) || (expect != 0 && WEXITSTATUS (status) != expect))
    g_error ("quorum %s: exit %d (expected %d): %s", (char *) argv->pdata[1], WEXITSTATUS (status), expect, err);
  if (err_out != NULL)
    *err_out = g_steal_pointer (&err);
  return out;
}

static void
unit (float *v, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double) v[i] * v[i];
  for (int i = 0; i < n; i++)
    v[i] = (float) (v[i] / sqrt (s));
}

/* quorum embed prints what the API computes (the image embeddings, a text's tokens and
 * embedding); embed --collection stores the collection's, resumably; search --scorer clip ranks
 * by their cosine with the text. */
static void
test_clip_cli (void)
{
  const char *photos[] = { "skimage-coffee.png", "darknet-dog.jpg", "skimage-chelsea.png" };
  g_autofree char *tmp = NULL, *model = NULL, *coll = NULL, *contents = NULL, *bpe_copy = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (QrClip) clip = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  float embeddings[4][32];
  gsize length;
  int dim;

  if (!have_torch () || !g_file_test (BPE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("OpenAI's CLIP reference or PyTorch for Python is missing");
      return;
    }
  tmp = test_make_tmpdir ();
  model = g_build_filename (tmp, "tiny-clip", NULL);
  coll = g_build_filename (tmp, "photos", NULL);
  g_assert_cmpint (g_mkdir (coll, 0755), ==, 0);
  {
    /* a dynamic batch, as Hugging Face's exports have: the collection's images go through the
       tower together (three, padded to a batch of QR_CLIP_BATCH), each stored embedding checked
       below against `embed IMAGE`'s one-at-a-time output through the search's scores */
    const char *args[] = { "export", model, "17", "dynamic", NULL };
    g_free (run_clip_script (args));
  }
  bpe_copy = g_build_filename (model, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_assert_true (g_file_get_contents (BPE, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (bpe_copy, contents, (gssize) length, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (photos); i++)
    {
      g_autofree char *src = g_build_filename (QUORUM_DEMO_DIR, photos[i], NULL), *dst = g_build_filename (coll, photos[i], NULL);
      g_autofree char *data = NULL;
      g_assert_true (g_file_get_contents (src, &data, &length, NULL));
      g_assert_true (g_file_set_contents (dst, data, (gssize) length, NULL));
    }
  clip = qr_clip_load (model, test_device (), &error);
  g_assert_no_error (error);
  dim = qr_clip_get_dim (clip);
  g_assert_cmpint (dim, ==, 32);

  /* embed IMAGE… --text: what the API gives */
  {
    g_autofree char *p0 = g_build_filename (coll, photos[0], NULL), *p1 = g_build_filename (coll, photos[1], NULL);
    g_autofree char *p2 = g_build_filename (coll, photos[2], NULL);
    out = run_quorum (0, NULL, "embed", "--model", model, "--device", "cpu", p0, p1, p2, "--text", "a cup of coffee",
                      NULL);
  }
  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  for (int k = 0; k < 4; k++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *o;
      JsonArray *e;
      float want[32];
      g_assert_true (json_parser_load_from_data (parser, lines[k], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      e = json_object_get_array_member (o, "embedding");
      g_assert_cmpuint (json_array_get_length (e), ==, 32);
      for (int i = 0; i < dim; i++)
        embeddings[k][i] = (float) json_array_get_double_element (e, (guint) i);
      if (k < 3)
        {
          g_autofree char *path = g_build_filename (coll, photos[k], NULL);
          g_autoptr (QrImage) image = qr_image_load (path, NULL, 0, &error);
          g_assert_no_error (error);
          g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "image"), photos[k]));
          g_assert_true (qr_clip_embed_image (clip, image, want, &error));
        }
      else
        {
          int ids[QR_CLIP_CONTEXT];
          JsonArray *tokens = json_object_get_array_member (o, "tokens");
          g_assert_cmpstr (json_object_get_string_member (o, "text"), ==, "a cup of coffee");
          g_assert_true (qr_clip_embed_text (clip, "a cup of coffee", want, ids, &error));
          g_assert_cmpuint (json_array_get_length (tokens), ==, 6);
          for (guint i = 0; i < 6; i++)
            g_assert_cmpint (json_array_get_int_element (tokens, i), ==, ids[i]);
        }
      for (int i = 0; i < dim; i++)
        g_assert_cmpfloat_with_epsilon (embeddings[k][i], want[i], 1e-6 * MAX (1.0f, fabsf (want[i])));
    }

  /* the collection: indexed, embedded (a second time nothing is left to do), searched */
  g_free (run_quorum (0, NULL, "index", "-q", coll, NULL));
  g_free (out);
  out = run_quorum (1, &err, "search", "--collection", coll, "--scorer", "clip", "coffee", NULL);
  g_assert_nonnull (strstr (err, "quorum embed"));
  g_clear_pointer (&err, g_free);
  g_free (run_quorum (0, &err, "embed", "--model", model, "--device", "cpu", "--collection", coll, NULL));
  g_assert_nonnull (strstr (err, "3 images embedded"));
  g_clear_pointer (&err, g_free);
  g_free (run_quorum (0, &err, "embed", "--model", model, "--device", "cpu", "--collection", coll, NULL));
  g_assert_nonnull (strstr (err, "0 images embedded"));
  g_clear_pointer (&err, g_free);
  {
    g_autofree char *info = run_quorum (0, NULL, "info", "--collection", coll, NULL);
    g_assert_nonnull (strstr (info, "CLIP         3 images embedded by "));
    g_assert_nonnull (strstr (info, "tiny-clip (used by --scorer clip)"));
  }
  g_free (out);
  out = run_quorum (0, NULL, "search", "--collection", coll, "--scorer", "clip", "a cup of coffee", NULL);
  {
    g_auto (GStrv) hits = g_strsplit (out, "\n", -1);
    double last = 2;
    unit (embeddings[3], dim);
    g_assert_cmpuint (g_strv_length (hits), ==, 4);
    for (int k = 0; k < 3; k++)
      {
        g_autoptr (JsonParser) parser = json_parser_new ();
        JsonObject *o;
        double score, cosine = 0;
        int which = -1;
        g_assert_true (json_parser_load_from_data (parser, hits[k], -1, NULL));
        o = json_node_get_object (json_parser_get_root (parser));
        for (int j = 0; j < 3; j++)
          if (strcmp (json_object_get_string_member (o, "image"), photos[j]) == 0)
            which = j;
        g_assert_cmpint (which, >=, 0);
        unit (embeddings[which], dim);
        for (int i = 0; i < dim; i++)
          cosine += (double) embeddings[which][i] * embeddings[3][i];
        score = json_object_get_double_member (o, "score");
        g_assert_cmpfloat_with_epsilon (score, cosine, 3e-3);   /* stored as float16, printed to 3 places */
        g_assert_cmpfloat (score, <=, last);
        last = score;
      }
  }
  /* the phrase map: the patches' cosines with the text over the crop (the middle 400 × 400 of
     the 600 × 400 photo: a 4 × 4 grid of 100-pixel cells, a column of empty cells each side) */
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (coll, NULL, &error);
    g_autoptr (QrScorer) scorer = NULL;
    g_autofree char *path = g_build_filename (coll, photos[0], NULL);
    g_autofree float *map = NULL, *patches = NULL, *input = NULL;
    g_autoptr (QrImage) image = qr_image_load (path, NULL, 0, &error);
    QrScorerText *text;
    int rows, cols, grid;
    double cell;
    float t[32], lo = G_MAXFLOAT, hi = -G_MAXFLOAT, cos[16];
    g_assert_no_error (error);
    scorer = qr_scorer_new (catalog, "clip", &error);
    g_assert_no_error (error);
    g_assert_true (qr_scorer_has_phrase_map (scorer));
    text = qr_scorer_prepare (scorer, "a cup of coffee", &error);
    g_assert_no_error (error);
    map = qr_scorer_phrase_map (scorer, text, path, NULL, &rows, &cols, &cell, &error);
    g_assert_no_error (error);
    g_assert_cmpint (image->width, ==, 600);
    g_assert_cmpint (image->height, ==, 400);
    g_assert_cmpint (rows, ==, 4);
    g_assert_cmpint (cols, ==, 6);
    g_assert_cmpfloat_with_epsilon (cell, 100.0, 1e-9);
    input = g_new (float, 64 * 64 * 3);
    qr_clip_preprocess (clip, image, input);
    patches = qr_clip_patch_embeddings (clip, input, &grid, &error);
    g_assert_no_error (error);
    g_assert_true (qr_clip_embed_text (clip, "a cup of coffee", t, NULL, &error));
    unit (t, dim);
    for (int p = 0; p < 16; p++)
      {
        double d = 0;
        unit (patches + p * dim, dim);
        for (int i = 0; i < dim; i++)
          d += (double) patches[p * dim + i] * t[i];
        cos[p] = (float) d;
        lo = MIN (lo, cos[p]);
        hi = MAX (hi, cos[p]);
      }
    for (int r = 0; r < rows; r++)
      {
        g_assert_cmpfloat (map[r * cols], ==, 0.0f);
        g_assert_cmpfloat (map[r * cols + 5], ==, 0.0f);
        for (int c = 1; c < 5; c++)
          g_assert_cmpfloat_with_epsilon (map[r * cols + c], (cos[r * 4 + c - 1] - lo) / (hi - lo), 1e-5);
      }
    qr_scorer_text_free (scorer, text);
  }
  /* caption mistakes: CLIP judges them too — a caption whose own image is not the nearest of the
     stored embeddings is "far", scored by the share of the other images nearer than its own */
  {
    g_autoptr (QrCatalog) catalog = qr_catalog_open (coll, NULL, &error);
    const char *captions[] = { "a cup of coffee on a saucer", "a dog sitting beside a bicycle",
                               "a cat lying on a rug" };
    gint64 ids[3];
    g_autoptr (GPtrArray) items = NULL;
    guint far = 0;
    g_assert_no_error (error);
    for (int k = 0; k < 3; k++)
      {
        g_autoptr (QrImageRecord) record = qr_catalog_find_image (catalog, photos[k], &error);
        g_assert_no_error (error);
        g_assert_nonnull (record);
        ids[k] = qr_catalog_add_caption (catalog, record->id, captions[k], "test", &error);
        g_assert_no_error (error);
      }
    items = qr_caption_mistakes_judged (catalog, 0.0, &error);
    g_assert_no_error (error);
    for (int k = 0; k < 3; k++)
      {
        float t[32];
        double own = 0, best = -2, want, cosines[3];
        const QrMistakeRecord *item = NULL;
        guint ahead = 0;
        g_assert_true (qr_clip_embed_text (clip, captions[k], t, NULL, &error));
        unit (t, dim);
        for (int j = 0; j < 3; j++)
          {
            double d = 0;
            unit (embeddings[j], dim);
            for (int i = 0; i < dim; i++)
              d += (double) embeddings[j][i] * t[i];
            cosines[j] = d;
            if (j == k)
              own = d;
            else
              best = MAX (best, d);
          }
        for (int j = 0; j < 3; j++)
          ahead += j != k && cosines[j] > own;
        want = ahead / 2.0;   /* the share of the two other photos nearer than its own */
        for (guint i = 0; i < items->len; i++)
          if (((QrMistakeRecord *) items->pdata[i])->caption_id == ids[k])
            item = items->pdata[i];
        g_test_message ("\"%s\": own %.3f, best other %.3f: %s", captions[k], own, best,
                        item ? item->reason : "not a mistake");
        if (want > 0)
          {
            g_autofree char *reason = g_strdup_printf ("CLIP (tiny-clip) puts %u of the 2 other images nearer than its own",
                                                       ahead);
            g_assert_nonnull (item);
            g_assert_nonnull (strstr (item->reason, reason));
            g_assert_cmpfloat (item->score, ==, want);
            far++;
          }
        else if (want == 0)
          g_assert_true (item == NULL || strstr (item->reason, "CLIP") == NULL);
      }
    g_assert_cmpuint (far, >, 0);
  }
  /* named once with models add, then by name */
  {
    g_autofree char *xdg = g_build_filename (tmp, "xdg", NULL);
    g_autofree char *o1 = NULL, *o2 = NULL;
    g_setenv ("XDG_DATA_HOME", xdg, TRUE);
    o1 = run_quorum (0, NULL, "models", "add", "tiny-clip", model, NULL);
    g_assert_nonnull (strstr (o1, "added tiny-clip (CLIP"));
    g_free (run_quorum (1, &err, "models", "add", "tiny-clip", model, NULL));
    g_assert_nonnull (strstr (err, "there already"));
    g_clear_pointer (&err, g_free);
    o2 = run_quorum (0, NULL, "embed", "--model", "tiny-clip", "--device", "cpu", "--text", "a cup of coffee", NULL);
    g_assert_nonnull (strstr (o2, "\"tokens\": [49406, 320, 1937, 539, 2453, 49407]"));
  }
  /* a model that is not there */
  g_free (run_quorum (1, &err, "embed", "--model", "no-such-clip", "--text", "x", NULL));
  g_assert_nonnull (strstr (err, "no-such-clip"));
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip/tokenizer/openai", test_matches_openai);
  g_test_add_func ("/clip/tokenizer/model-input", test_model_input);
  g_test_add_func ("/clip/tokenizer/bad-files", test_bad_files);
  g_test_add_data_func ("/clip/model/opset13", "13", test_clip_model);
  g_test_add_data_func ("/clip/model/opset17", "17", test_clip_model);
  g_test_add_data_func ("/clip/model/opset17-dynamic", "17-dynamic", test_clip_model);
  g_test_add_data_func ("/clip/model/opset17-combined", "17-combined", test_clip_model);
  g_test_add_data_func ("/clip/model/opset13-combined", "13-combined", test_clip_model);
  g_test_add_data_func ("/clip/model/opset17-b32", "17-b32", test_clip_model);
  g_test_add_func ("/clip/model/folder-errors", test_clip_folder_errors);
  g_test_add_func ("/clip/cli", test_clip_cli);
  return g_test_run ();
}
