/* cli-embed.c: `quorum embed` — a CLIP model's embeddings (qr-clip.h): of images and texts as JSON
 * lines, for scripts and tests to compare; or of a whole collection, stored for the clip scorer
 * (search --scorer clip), resumably. */
#include "qr-cli.h"
#include "qr-clip.h"
#include "qr-scorer.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int signum)
{
  interrupted = 1;
}

static gboolean
should_abort (gpointer data)
{
  return interrupted != 0;
}

/* A folder, else a folder of that name in the models folder. */
static char *
resolve_clip (const char *name, GError **error)
{
  g_autofree char *models = qr_get_models_folder ();
  g_autofree char *named = g_build_filename (models, name, NULL);

  if (g_file_test (name, G_FILE_TEST_IS_DIR))
    return g_strdup (name);
  if (strchr (name, G_DIR_SEPARATOR) == NULL && g_file_test (named, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&named);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no such CLIP model folder (nor %s)", name, named);
  return NULL;
}

static void
append_floats (GString *line, const float *v, int n)
{
  g_string_append_c (line, '[');
  for (int i = 0; i < n; i++)
    {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (line, i ? ", " : "");
      g_string_append (line, g_ascii_formatd (buffer, sizeof buffer, "%.8g", v[i]));
    }
  g_string_append_c (line, ']');
}

int
qr_cli_embed (int argc, char **argv)
{
  g_autofree char *model_name = NULL, *collection = NULL, *db = NULL, *device_text = NULL, *precision_text = NULL;
  g_auto (GStrv) texts = NULL, images = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_name, "A CLIP model folder (onnx/vision_model.onnx, "
      "onnx/text_model.onnx, tokenizer.json), or the name of one in the models folder", "NAME|DIR" },
    { "text", 't', 0, G_OPTION_ARG_STRING_ARRAY, &texts, "A text to embed (repeat for more)", "TEXT" },
    { "collection", 'c', 0, G_OPTION_ARG_FILENAME, &collection, "Embed every image of a collection that lacks "
      "this model's embedding, stored for search --scorer clip (Ctrl-C keeps what is done)", "DIR" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The catalog file", "PATH" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "cpu, cuda or auto (default)", "DEVICE" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_text, "On CUDA, for the embeddings printed: fp32 (default), tf32 or"
      " fp16", "PRECISION" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &images, NULL, "IMAGE…" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("IMAGE… — a CLIP model's embeddings: one JSON line per "
                                                             "image ({\"image\", \"embedding\"}) and per --text "
                                                             "({\"text\", \"tokens\", \"embedding\"}), as the model "
                                                             "outputs them (not normalised)");
  g_autoptr (QrClip) clip = NULL;
  g_autofree char *dir = NULL;
  g_autofree float *embedding = NULL;
  GError *error = NULL;
  QrDevice device = QR_DEVICE_AUTO;
  QrPrecision precision = QR_PRECISION_FP32;
  int status = QR_EXIT_OK;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      int code = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      return code;
    }
  if (model_name == NULL)
    return qr_cli_usage_error (context, "name the CLIP model: --model FOLDER");
  if (collection == NULL && (images == NULL || images[0] == NULL) && (texts == NULL || texts[0] == NULL))
    return qr_cli_usage_error (context, "give images, --text \"TEXT\" or --collection DIR");
  if (device_text != NULL && !qr_device_parse (device_text, &device))
    return qr_cli_usage_error (context, "--device is cpu, cuda or auto");
  if (precision_text != NULL && !qr_precision_parse (precision_text, &precision))
    return qr_cli_usage_error (context, "--precision is fp32, tf32 or fp16");
  if ((dir = resolve_clip (model_name, &error)) == NULL)
    return qr_cli_fail (error);

  if (collection != NULL)
    {
      g_autoptr (QrCatalog) catalog = qr_cli_open_catalog (collection, db, &error);
      QrCliProgress progress;
      guint computed, failed;
      gboolean ok;
      if (catalog == NULL)
        return qr_cli_fail (error);
      qr_cli_progress_init (&progress, "Embedding", quiet);
      signal (SIGINT, on_interrupt);
      ok = qr_clip_embed_collection (catalog, dir, device, qr_cli_progress_update, &progress, should_abort, NULL,
                                     &computed, &failed, &error);
      signal (SIGINT, SIG_DFL);
      qr_cli_progress_end (&progress);
      if (!ok)
        return qr_cli_fail (error);
      if (!quiet && failed > 0)
        g_printerr ("%u images embedded, %u could not be read\n", computed, failed);
      else if (!quiet)
        g_printerr ("%u images embedded\n", computed);
      if ((images == NULL || images[0] == NULL) && (texts == NULL || texts[0] == NULL))
        return QR_EXIT_OK;
    }

  if ((clip = qr_clip_load_full (dir, device, precision, 0, &error)) == NULL)
    return qr_cli_fail (error);
  embedding = g_new (float, qr_clip_get_dim (clip));
  for (guint i = 0; images != NULL && images[i] != NULL; i++)
    {
      g_autoptr (QrImage) image = qr_image_load (images[i], NULL, 0, &error);
      g_autoptr (GString) line = g_string_new ("{\"image\": ");
      if (image == NULL || !qr_clip_embed_image (clip, image, embedding, &error))
        {
          /* one bad image is reported and the others go on */
          g_printerr ("quorum: %s\n", error->message);
          g_clear_error (&error);
          status = QR_EXIT_ERROR;
          continue;
        }
      qr_cli_append_json_string (line, images[i]);
      g_string_append (line, ", \"embedding\": ");
      append_floats (line, embedding, qr_clip_get_dim (clip));
      g_string_append_c (line, '}');
      puts (line->str);
    }
  for (guint i = 0; texts != NULL && texts[i] != NULL; i++)
    {
      int ids[QR_CLIP_CONTEXT], n = 0;
      g_autoptr (GString) line = g_string_new ("{\"text\": ");
      if (!g_utf8_validate (texts[i], -1, NULL))
        {
          g_printerr ("quorum: --text %u is not UTF-8\n", i + 1);
          status = QR_EXIT_ERROR;
          continue;
        }
      if (!qr_clip_embed_text (clip, texts[i], embedding, ids, &error))
        return qr_cli_fail (error);
      qr_cli_append_json_string (line, texts[i]);
      g_string_append (line, ", \"tokens\": [");
      /* the ids the model was given, up to the end token (the rest is padding) */
      while (n < QR_CLIP_CONTEXT && (n == 0 || ids[n - 1] != qr_clip_tokenizer_end (qr_clip_get_tokenizer (clip))))
        g_string_append_printf (line, "%s%d", n ? ", " : "", ids[n]), n++;
      g_string_append (line, "], \"embedding\": ");
      append_floats (line, embedding, qr_clip_get_dim (clip));
      g_string_append_c (line, '}');
      puts (line->str);
    }
  return status;
}
