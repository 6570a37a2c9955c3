/* bench-clip.c: `quorum bench clip`: a CLIP image tower's speed on the CPU, images/s from a
 * prepared 224 × 224 image to its embedding, beside PyTorch running the module the ONNX file was
 * exported from, on the same image with the same threads, in the same run. With no --model the
 * network is made here: OpenAI's model.py at ViT-B/32's sizes (88 M parameters in the image
 * tower), seeded weights, exported by tests/reference/clip-onnx.py — no pretrained CLIP can be had
 * offline, and the speed does not depend on the weights' values. */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-clip.h"
#include "qr-files.h"
#include "qr-image.h"
#include "quorum-config.h"

#include <stdio.h>
#include <string.h>

/* PyTorch's median ms per image (clip-onnx.py's time command) on `batch` images at once, or < 0
 * with error. */
static double
torch_ms (const char *dir, const char *input, int repeat, int threads, int batch, const char **how, GError **error)
{
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "clip-onnx.py", NULL);
  g_autofree char *reference = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "clip", "reference", NULL);
  g_autofree char *repeat_text = g_strdup_printf ("%d", repeat);
  g_autofree char *batch_text = g_strdup_printf ("%d", batch);
  g_autofree char *made = g_build_filename (dir, "reference.json", NULL);
  const char *argv[] = { "/usr/bin/python3", script, reference, "time", dir, input, repeat_text, NULL, batch_text,
                         NULL };

  if (!g_file_test (made, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s was not made by tests/reference/clip-onnx.py: PyTorch "
                   "needs the module it was exported from", dir);
      return -1;
    }
  return qr_cli_run_timing_script (argv, 7, threads, how, "PyTorch", error);
}

/* The ViT-B/32-shaped folder, made in tmp (towers, preprocessor config, CLIP's vocabulary). */
static char *
make_b32 (const char *tmp, GError **error)
{
  g_autofree char *dir = g_build_filename (tmp, "clip-b32-shaped", NULL);
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "clip-onnx.py", NULL);
  g_autofree char *clip = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "clip", NULL);
  g_autofree char *reference = g_build_filename (clip, "reference", NULL);
  g_autofree char *bpe = g_build_filename (clip, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autofree char *bpe_copy = g_build_filename (dir, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autofree char *err = NULL, *contents = NULL;
  /* a dynamic batch, as Hugging Face's exports have: the collection's batches of QR_CLIP_BATCH */
  const char *argv[] = { "/usr/bin/python3", script, reference, "export", dir, "17", "b32-dynamic", NULL };
  gsize length;
  int status;

  if (!g_file_get_contents (bpe, &contents, &length, error))
    return NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, error))
    return NULL;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not make the ViT-B/32-shaped CLIP (Debian "
                   "python3-torch and python3-onnx): %s", err ? err : "");
      return NULL;
    }
  if (!g_file_set_contents (bpe_copy, contents, (gssize) length, error))
    return NULL;
  return g_steal_pointer (&dir);
}

int
qr_cli_bench_clip (int argc, char **argv)
{
  g_autofree char *model_dir = NULL, *image_path = NULL;
  int repeat = 10, threads = 0;
  gboolean no_peer = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_dir, "A CLIP folder (default: a ViT-B/32-shaped one made here, "
      "PyTorch beside it)", "DIR" },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image_path, "The photo (default: the demo's darknet-dog.jpg)", "PATH" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Timed runs (default 10)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "CPU threads, Quorum's and PyTorch's (default: one per core)", "N" },
    { "no-peer", 0, 0, G_OPTION_ARG_NONE, &no_peer, "Leave PyTorch out", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— a CLIP image tower's images/s on the CPU, beside PyTorch");
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (QrClip) clip = NULL;
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *tmp = NULL, *dir = NULL, *input_path = NULL;
  g_autofree float *input = NULL;
  int size;
  double ours, peer = -1;
  gint64 load_start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (repeat < 1 || repeat > 10000)
    return qr_cli_usage_error (context, "--repeat must be 1 to 10000");
  if (threads < 0 || threads > 1024)
    return qr_cli_usage_error (context, "--threads must be 1 to 1024");
  if (threads == 0)
    threads = (int) g_get_num_processors ();
  if (image_path == NULL)
    image_path = g_build_filename (QUORUM_DEMO_DIR_SOURCE, "darknet-dog.jpg", NULL);
  if ((image = qr_image_load (image_path, NULL, 0, &error)) == NULL
      || (tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error)) == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  if (model_dir != NULL)
    dir = g_strdup (model_dir);
  else
    {
      fprintf (stderr, "making a ViT-B/32-shaped CLIP (OpenAI's model.py, seeded weights; about 30 s)…\n");
      if ((dir = make_b32 (tmp, &error)) == NULL)
        goto fail;
    }
  load_start = g_get_monotonic_time ();
  if ((clip = qr_clip_load_threads (dir, QR_DEVICE_CPU, threads, &error)) == NULL)
    goto fail;
  size = qr_clip_get_image_size (clip);
  input = g_new (float, (gsize) size * size * 3);
  qr_clip_preprocess (clip, image, input);
  printf ("bench clip: %s, image tower %d × %d → %d values, loaded in %.1f s, %d timed runs after one warm-up, "
          "%d threads of %u cores\n", dir, size, size, qr_clip_get_dim (clip),
          (double) (g_get_monotonic_time () - load_start) / 1e6, repeat, threads, g_get_num_processors ());
  input_path = g_build_filename (tmp, "input.f32", NULL);
  if (!g_file_set_contents (input_path, (const char *) input, (gssize) ((gsize) size * size * 3 * sizeof (float)),
                            &error))
    goto fail;
  /* one image at a time (a search's query image, `quorum embed IMAGE`), then QR_CLIP_BATCH at a
     time (a collection's embeddings), each beside PyTorch on as many at once */
  for (int pass = 0; pass < 2; pass++)
    {
      int n = pass == 0 ? 1 : QR_CLIP_BATCH;
      const char *how = "";
      g_autofree float *inputs = g_new (float, (gsize) size * size * 3 * (gsize) n);
      g_autofree float *embeddings = g_new (float, (gsize) qr_clip_get_dim (clip) * (gsize) n);
      for (int k = 0; k < n; k++)
        memcpy (inputs + (gsize) k * size * size * 3, input, sizeof (float) * (gsize) size * size * 3);
      g_array_set_size (times, 0);
      peer = -1;
      for (int r = -1; r < repeat; r++)   /* one warm-up (the batched tower is made on its first run) */
        {
          gint64 start = g_get_monotonic_time ();
          if (!qr_clip_embed_inputs (clip, inputs, n, embeddings, &error))
            goto fail;
          if (r >= 0)
            {
              double ms = (double) (g_get_monotonic_time () - start) / 1000.0 / n;
              g_array_append_val (times, ms);
            }
        }
      g_array_sort (times, qr_cli_compare_doubles);
      ours = g_array_index (times, double, times->len / 2);
      if (pass == 1 && qr_clip_get_batch (clip) != QR_CLIP_BATCH)
        {
          printf ("  (this export's batch is fixed: a collection's images go one at a time)\n");
          break;
        }
      if (!no_peer)
        {
          g_autoptr (GError) peer_error = NULL;
          peer = torch_ms (dir, input_path, repeat, threads, n, &how, &peer_error);
          if (peer < 0)
            printf ("  (PyTorch not run: %s)\n", peer_error->message);
        }
      printf ("  %d at a time:\n", n);
      printf ("    quorum CPU  %8.1f ms/image  %6.2f images/s  (prepared image → embedding, median)\n", ours,
              1000.0 / ours);
      if (peer > 0)
        {
          printf ("    PyTorch     %8.1f ms/image  %6.2f images/s  (model.py's encode_image, eager, median; %s)\n",
                  peer, 1000.0 / peer, how);
          printf ("    ratio PyTorch / quorum: %.2f×\n", peer / ours);
        }
    }
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}
