/* bench-detect.c: `quorum bench detect`: detection speed beside the strongest peer a user would
 * run on the same machine, in the same run: on the CPU, CenterNet and NanoDet against TF.js's
 * WebAssembly backend (Node) and Darknet cfgs against OpenCV's DNN module; with --device cuda, each
 * model end to end and network alone against PyTorch running the same exported graph
 * (bench/torch-peer.py), with the share of the H100's FP16 peak. --export writes that graph. */
#define G_LOG_DOMAIN "quorum-bench"

#include "quorum-config.h"
#include "qr-cli.h"
#include "qr-detector.h"
#include "qr-darknet.h"
#include "qr-files.h"

#include <stdio.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* TF.js's WebAssembly backend (XNNPACK) on the same input: the fastest peer users of these
 * TF.js files would pick on a CPU. Returns ms per run, or < 0 when it cannot run. */
static double
run_tfjs_wasm (const char *model, const char *input, const char *shape, int repeat, const char *tmp, GError **error)
{
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "tfjs-run.mjs", NULL);
  g_autofree char *wasm = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "node_modules", "@tensorflow",
                                            "tfjs-backend-wasm", NULL);
  g_autofree char *repeat_text = g_strdup_printf ("%d", repeat);
  g_autofree char *out = NULL, *err = NULL;
  const char *ms;
  int status;

  if (node == NULL || !g_file_test (wasm, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "TF.js is not installed (npm ci in tests/reference)");
      return -1;
    }
  {
    const char *argv[] = { node, script, model, input, shape, tmp, "wasm", repeat_text, NULL };
    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, error))
      return -1;
  }
  ms = out ? strstr (out, "ms_per_run ") : NULL;
  if (!g_spawn_check_wait_status (status, NULL) || ms == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TF.js failed: %s", err ? err : "");
      return -1;
    }
  return g_ascii_strtod (ms + strlen ("ms_per_run "), NULL);
}

gboolean
qr_cli_run_self (const char *self, const char *const *args, int *status, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) self);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL, status,
                     error))
    return FALSE;
  if (!g_spawn_check_wait_status (*status, error))
    {
      g_prefix_error (error, "quorum %s: ", args[0]);
      return FALSE;
    }
  return TRUE;
}

/* The environment for a peer on `threads` threads: this one with OMP_NUM_THREADS (and
 * MKL_NUM_THREADS) set to it and OPENBLAS_NUM_THREADS to blas_threads. torch.set_num_threads
 * leaves OpenBLAS's own pool at one thread per core, so without this a "one thread" PyTorch ran
 * its products on every core. */
static GStrv
peer_environment (int threads, int blas_threads)
{
  g_autofree char *text = g_strdup_printf ("%d", MAX (threads, 1));
  g_autofree char *blas = g_strdup_printf ("%d", MAX (blas_threads, 1));
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "OMP_NUM_THREADS", text, TRUE);
  env = g_environ_setenv (env, "MKL_NUM_THREADS", text, TRUE);
  return g_environ_setenv (env, "OPENBLAS_NUM_THREADS", blas, TRUE);
}

/* One run of a timing script: its ms, or < 0 with error. */
static double
timing_run (const char *const *argv, char **env, const char *what, GError **error)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *ms;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, error))
    return -1;
  ms = out ? strstr (out, "ms_per_image ") : NULL;
  if (!g_spawn_check_wait_status (status, NULL) || ms == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", what, err ? err : "");
      return -1;
    }
  return g_ascii_strtod (ms + strlen ("ms_per_image "), NULL);
}

double
qr_cli_run_timing_script (const char **argv, int threads_arg, int threads, const char **how, const char *what,
                          GError **error)
{
  g_autofree char *text = g_strdup_printf ("%d", threads);
  g_auto (GStrv) same = peer_environment (threads, threads);
  g_auto (GStrv) blas = peer_environment (1, threads);
  double ms, one;

  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no %s (Debian python3-torch)", argv[0]);
      return -1;
    }
  argv[threads_arg] = text;
  *how = "torch.set_num_threads and OpenBLAS on the threads";
  if ((ms = timing_run (argv, same, what, error)) < 0 || threads <= 1)
    return ms;
  argv[threads_arg] = "1";
  one = timing_run (argv, blas, what, error);
  argv[threads_arg] = text;
  if (one < 0)
    return -1;
  if (one < ms)
    {
      *how = "torch.set_num_threads(1), OpenBLAS on the threads: its faster setting here";
      return one;
    }
  *how = "torch.set_num_threads and OpenBLAS on the threads: its faster setting here";
  return ms;
}

/* PyTorch (eager, CPU, `threads` threads, no autograd) running the module an ONNX detector was
 * exported from: model.pt beside it, as tests/reference/yolo-onnx.py writes (the generated
 * yolov8n-shaped network). ms per image, the median of repeat runs, or < 0. */
static double
run_torch_yolo (const char *onnx, const char *input, int size, int repeat, int threads, const char **how, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (onnx);
  g_autofree char *pt = g_build_filename (dir, "model.pt", NULL);
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "yolo-onnx.py", NULL);
  g_autofree char *size_text = g_strdup_printf ("%d", size), *repeat_text = g_strdup_printf ("%d", repeat);
  const char *argv[] = { "/usr/bin/python3", script, "time", dir, input, size_text, repeat_text, NULL, NULL };

  if (!g_file_test (pt, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no model.pt beside %s: PyTorch needs the module the "
                   "file was exported from (the generated yolov8n-shaped network has one)", onnx);
      return -1;
    }
  return qr_cli_run_timing_script (argv, 7, threads, how, "PyTorch", error);
}

/* OpenCV's DNN module (CPU backend) on the same Darknet cfg, weights and input, on `threads`
 * threads: ms per forward pass, the median of repeat runs, or < 0 when it cannot run. */
static double
run_opencv_darknet (const char *cfg, const char *weights, const char *input, int w, int h, int repeat, int threads,
                    const char *tmp, GError **error)
{
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "darknet-run.py", NULL);
  g_autofree char *repeat_text = g_strdup_printf ("%d", repeat), *threads_text = g_strdup_printf ("%d", threads);
  g_autofree char *ws = g_strdup_printf ("%d", w), *hs = g_strdup_printf ("%d", h);
  g_autofree char *out = NULL, *err = NULL;
  g_auto (GStrv) env = peer_environment (threads, threads);
  int status;
  const char *argv[] = { "/usr/bin/python3", script, cfg, weights, input, hs, ws, tmp, "0.25", "0.45", "--time",
                         repeat_text, threads_text, NULL };

  if (!g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no /usr/bin/python3 (Debian python3-opencv)");
      return -1;
    }
  if (!g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, error))
    return -1;
  if (!g_spawn_check_wait_status (status, NULL) || out == NULL || out[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "OpenCV failed: %s", err ? err : "");
      return -1;
    }
  return g_ascii_strtod (out, NULL);
}

/* A model for the benchmark: an installed one, or one of the official Darknet cfgs (weights are
 * not shipped: seeded random ones are written into tmp — speed does not depend on the values). */
static char *
bench_model_path (const char *name, const char *tmp, gboolean *random_weights, GError **error)
{
  g_autofree char *cfg_name = g_strconcat (name, ".cfg", NULL);
  g_autofree char *shared = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "darknet", cfg_name, NULL);
  g_autoptr (GError) local = NULL;
  char *path = g_str_has_suffix (name, ".cfg") ? NULL : qr_cli_resolve_model (name, &local);


  *random_weights = FALSE;
  if (g_str_equal (name, "yolov8n-shaped"))
    {
      /* YOLOv8n's architecture at its sizes (3.16 M parameters, 80 classes, 640 × 640) with seeded
         weights, exported by PyTorch with Ultralytics' layout and metadata; the module is kept
         beside it for PyTorch's line */
      g_autofree char *dir = g_build_filename (tmp, "yolov8n-shaped", NULL);
      g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "yolo-onnx.py", NULL);
      const char *argv[] = { "/usr/bin/python3", script, "export", dir, "17", "v8n", "640", NULL };
      g_autofree char *err = NULL;
      int status;
      g_clear_pointer (&path, g_free);
      if (g_mkdir_with_parents (dir, 0755) != 0
          || !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status,
                            error))
        return NULL;
      if (!g_spawn_check_wait_status (status, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not make yolov8n-shaped (Debian python3-torch and "
                       "python3-onnx): %s", err ? err : "");
          return NULL;
        }
      *random_weights = TRUE;
      {
        /* named for what it is (the detector's name is the file's) */
        g_autofree char *from = g_build_filename (dir, "model.onnx", NULL);
        char *to = g_build_filename (dir, "yolov8n-shaped.onnx", NULL);
        if (g_rename (from, to) != 0)
          {
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", to, g_strerror (errno));
            g_free (to);
            return NULL;
          }
        return to;
      }
    }
  if (g_str_has_suffix (name, ".cfg") && g_file_test (name, G_FILE_TEST_IS_REGULAR))
    {
      /* a cfg given by path: random weights unless its own are beside it */
      g_autofree char *stem = g_strndup (name, strlen (name) - 4);
      g_autofree char *own = g_strconcat (stem, ".weights", NULL);
      g_autofree char *base = g_path_get_basename (stem);
      g_clear_pointer (&shared, g_free);
      if (g_file_test (own, G_FILE_TEST_IS_REGULAR))
        {
          g_free (path);
          return g_strdup (name);
        }
      shared = g_strdup (name);
      g_free (cfg_name);
      cfg_name = g_strconcat (base, ".cfg", NULL);
      g_free (path);
      path = NULL;
    }
  if (path != NULL || !g_file_test (shared, G_FILE_TEST_IS_REGULAR))
    {
      if (path == NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      return path;
    }
  {
    g_autofree char *cfg = g_build_filename (tmp, cfg_name, NULL);
    g_autofree char *cfg_stem = g_strndup (cfg, strlen (cfg) - 4);
    g_autofree char *weights = g_strconcat (cfg_stem, ".weights", NULL);
    g_autofree char *text = NULL;
    gsize len;
    if (!g_file_get_contents (shared, &text, &len, error) || !g_file_set_contents (cfg, text, (gssize) len, error)
        || !qr_darknet_write_random_weights (cfg, weights, 1, error))
      return NULL;
    *random_weights = TRUE;
    return g_steal_pointer (&cfg);
  }
}

/* The source tree's file: QUORUM_SOURCE_DIR from the environment (the GPU machine runs a copy of
 * the tree elsewhere), the path compiled in, or the current folder. */
static char *
source_file (const char *relative)
{
  const char *env = g_getenv ("QUORUM_SOURCE_DIR");
  char *path;

  if (env != NULL)
    return g_build_filename (env, relative, NULL);
  path = g_build_filename (QUORUM_SOURCE_DIR, relative, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return path;
  g_free (path);
  return g_strdup (relative);
}

/* PyTorch on the same GPU running the same exported graph (bench/torch-peer.py), every batch size
 * in one process: ms[i] per batch of batches[i] (< 0 where it gave none); FALSE when it could not
 * run. The script's correctness check lines are appended to `checks`. */
static gboolean
run_torch (const char *graph, const char *constants, const char *input, char **batches, double *ms_out,
           const char *precision, int repeat, const char *check_dir, GString *checks, GError **error)
{
  const char *env = g_getenv ("QUORUM_TORCH_PYTHON");
  g_autofree char *python = env != NULL ? g_strdup (env) : g_find_program_in_path ("python3");
  g_autofree char *script = source_file ("bench/torch-peer.py");
  g_autofree char *batches_text = g_strjoinv (",", batches), *repeat_text = g_strdup_printf ("%d", repeat);
  g_autofree char *out = NULL, *err = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean any = FALSE;
  int status;

  for (guint b = 0; batches[b] != NULL; b++)
    ms_out[b] = -1;
  if (python == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no python3 with PyTorch (set QUORUM_TORCH_PYTHON)");
      return FALSE;
    }
  {
    const char *argv[] = { python, script, graph, constants, input, "--batches", batches_text, "--precision", precision,
                           "--repeat", repeat_text, "--check", check_dir, NULL };
    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, error))
      return FALSE;
  }
  lines = g_strsplit (out ? out : "", "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      int batch;
      double ms;
      if (sscanf (lines[i], "batch %d ms_per_batch %lf", &batch, &ms) == 2)
        for (guint b = 0; batches[b] != NULL; b++)
          if (atoi (batches[b]) == batch)
            ms_out[b] = ms, any = TRUE;
      if (g_str_has_prefix (lines[i], "check ") && checks != NULL)
        g_string_append_printf (checks, "%s%s", checks->len ? ", " : "", lines[i] + 6);
    }
  if (!g_spawn_check_wait_status (status, NULL) || !any)
    {
      const char *tail = err != NULL && strlen (err) > 600 ? err + strlen (err) - 600 : err;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "PyTorch failed: %s", tail ? tail : "");
      return any;
    }
  return TRUE;
}

/* Writes what another framework needs to run the detector's network as Quorum did in its last
 * run: dir/graph.json, dir/constants.bin, dir/input.f32 (one image, preprocessed) and
 * dir/check/NAME.f32 (Quorum's outputs for that image). */
static gboolean
export_for_peer (QrDetector *detector, const QrImage *image, const char *dir, GError **error)
{
  QrModel *model = qr_detector_get_model (detector);
  g_autofree char *graph_path = g_build_filename (dir, "graph.json", NULL);
  g_autofree char *constants_path = g_build_filename (dir, "constants.bin", NULL);
  g_autofree char *input_path = g_build_filename (dir, "input.f32", NULL);
  g_autofree char *check_dir = g_build_filename (dir, "check", NULL);
  g_autoptr (GArray) found = qr_detector_detect (detector, image, NULL, NULL, error);
  g_autofree float *input = NULL;
  int in_w, in_h;

  if (found == NULL)
    return FALSE;
  g_mkdir_with_parents (check_dir, 0700);
  qr_detector_get_input_dims (detector, &in_w, &in_h);
  input = g_new (float, (gsize) in_w * (gsize) in_h * 3);
  qr_detector_preprocess (detector, image, input);
  if (!qr_model_export (model, graph_path, constants_path, error)
      || !g_file_set_contents (input_path, (const char *) input, (gssize) ((gsize) in_w * in_h * 3 * sizeof (float)),
                               error))
    return FALSE;
  for (guint o = 0; qr_model_get_output_name (model, o) != NULL; o++)
    {
      const char *name = qr_model_get_output_name (model, o);
      g_autofree char *safe = g_strdelimit (g_strdup (name), "/", '_');
      g_autofree char *file = g_strconcat (check_dir, G_DIR_SEPARATOR_S, safe, ".f32", NULL);
      int rank, dims[4];
      gsize n = 1;
      const float *data = qr_model_get_output (model, name, &rank, dims);
      for (int d = 1; d < rank; d++)
        n *= (gsize) dims[d];
      if (!g_file_set_contents (file, (const char *) data, (gssize) (n * sizeof (float)), error))
        return FALSE;
    }
  return TRUE;
}

/* ms per batch of the detector's network alone on `batch` copies of the image, fed floats
 * (uploaded, run, downloaded) as PyTorch's side is; < 0 with error when it fails. */
static double
time_network (QrDetector *detector, const QrImage *image, int batch, int repeat, GError **error)
{
  QrModel *model = qr_detector_get_model (detector);
  int in_w, in_h;
  gsize per_image;
  g_autofree float *input = NULL;
  gint64 start;

  qr_detector_get_input_dims (detector, &in_w, &in_h);
  per_image = (gsize) in_w * (gsize) in_h * 3;
  input = g_try_new (float, per_image * (gsize) batch);
  if (input == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "not enough memory for a batch of %d", batch);
      return -1;
    }
  qr_detector_preprocess (detector, image, input);
  for (int i = 1; i < batch; i++)
    memcpy (input + per_image * (gsize) i, input, per_image * sizeof (float));
  if (!qr_model_run (model, input, batch, NULL, NULL, error))
    return -1;
  start = g_get_monotonic_time ();
  for (int r = 0; r < repeat; r++)
    if (!qr_model_run (model, input, batch, NULL, NULL, error))
      return -1;
  return (double) (g_get_monotonic_time () - start) / 1000.0 / repeat;
}

/* The H100's dense FP16 tensor-core peak, the yardstick the issue names. */
#define H100_FP16_TFLOPS 989.0

static int
bench_detect_cuda (char **models, const QrImage *image, const char *image_path, const char *batches_text,
                   const char *precisions_text, int repeat, gboolean no_peer, const char *tmp)
{
  g_auto (GStrv) batches = g_strsplit (batches_text ? batches_text : "1,64", ",", -1);
  g_auto (GStrv) precisions = g_strsplit (precisions_text ? precisions_text : "fp16,fp32", ",", -1);
  g_autoptr (GError) error = NULL;

  printf ("bench detect --device cuda: %s, %d timed batches after two warm-ups, end to end (decoded image in host "
          "memory → boxes in host memory: preprocessing, upload, network, download, decoding, NMS)\n", image_path,
          repeat);
  for (guint m = 0; models[m] != NULL; m++)
    for (guint p = 0; precisions[p] != NULL; p++)
      {
        gboolean random_weights;
        g_autofree char *path = bench_model_path (models[m], tmp, &random_weights, &error);
        g_autoptr (QrDetector) detector = NULL;
        g_autofree char *graph_path = NULL, *constants_path = NULL, *input_path = NULL, *check_dir = NULL;
        QrDetectorOptions options;
        QrModel *model;
        int in_w, in_h;
        double gflop;

        if (path == NULL)
          return qr_cli_fail (g_steal_pointer (&error));
        qr_detector_options_init (&options);
        options.device = QR_DEVICE_CUDA;
        if (!qr_precision_parse (precisions[p], &options.precision))
          {
            fprintf (stderr, "quorum: --precision takes fp16, tf32 and fp32\n");
            return QR_EXIT_USAGE;
          }
        /* made-up weights score everything near 0.5: a high bar keeps decoding to real work */
        if (random_weights)
          options.score_threshold = 0.95f;
        detector = qr_detector_load (path, &options, &error);
        if (detector == NULL)
          return qr_cli_fail (g_steal_pointer (&error));
        model = qr_detector_get_model (detector);
        if (!g_str_has_prefix (qr_model_get_device (model), "cuda"))
          {
            fprintf (stderr, "quorum: bench detect --device cuda: the GPU is not usable here (see the message above)\n");
            return QR_EXIT_ERROR;
          }
        gflop = qr_model_get_flops (model) / 1e9;
        qr_detector_get_input_dims (detector, &in_w, &in_h);
        if (!no_peer)
          {
            /* our GPU outputs of one run, for the peer's translation check */
            graph_path = g_build_filename (tmp, "graph.json", NULL);
            constants_path = g_build_filename (tmp, "constants.bin", NULL);
            input_path = g_build_filename (tmp, "input.f32", NULL);
            check_dir = g_build_filename (tmp, "check", NULL);
            if (!export_for_peer (detector, image, tmp, &error))
              return qr_cli_fail (g_steal_pointer (&error));
          }
        {
          guint n_batches = g_strv_length (batches);
          g_autofree double *ours = g_new0 (double, n_batches), *theirs = g_new0 (double, n_batches);
          g_autofree double *ours_net = g_new0 (double, n_batches);
          g_autoptr (GString) checks = g_string_new (NULL);
          g_autoptr (GError) peer_error = NULL;
          for (guint b = 0; batches[b] != NULL; b++)
            {
              int batch = atoi (batches[b]);
              g_autofree const QrImage **images = NULL;
              double ms, ours_ips, prepare, network, decode, net_ms;
              gint64 start;

              if (batch < 1 || batch > 1024)
                {
                  fprintf (stderr, "quorum: --batch takes sizes from 1 to 1024\n");
                  return QR_EXIT_USAGE;
                }
              images = g_new (const QrImage *, batch);
              for (int i = 0; i < batch; i++)
                images[i] = image;
              for (int w = 0; w < 2; w++)
                {
                  g_autoptr (GPtrArray) found = qr_detector_detect_batch (detector, images, batch, NULL, NULL, &error);
                  if (found == NULL)
                    return qr_cli_fail (g_steal_pointer (&error));
                }
              start = g_get_monotonic_time ();
              prepare = network = decode = 0;
              for (int r = 0; r < repeat; r++)
                {
                  g_autoptr (GPtrArray) found = qr_detector_detect_batch (detector, images, batch, NULL, NULL, &error);
                  double a, n, d;
                  if (found == NULL)
                    return qr_cli_fail (g_steal_pointer (&error));
                  qr_detector_get_timings (detector, &a, &n, &d);
                  prepare += a / repeat, network += n / repeat, decode += d / repeat;
                }
              ms = (double) (g_get_monotonic_time () - start) / 1000.0 / repeat;
              ours_ips = batch * 1000.0 / ms;
              printf ("  %-11s %s batch %-3d quorum  %8.2f ms/batch %8.1f images/s  %6.2f TFLOP/s  %5.2f%% of %.0f "
                      "(%.2f GFLOP/image, %dx%d%s)\n", qr_detector_get_name (detector), precisions[p], batch, ms, ours_ips,
                      gflop * ours_ips / 1e3, 100.0 * gflop * ours_ips / 1e3 / H100_FP16_TFLOPS, H100_FP16_TFLOPS, gflop,
                      in_w, in_h, random_weights ? ", random weights" : "");
              printf ("  %-11s %s batch %-3d quorum  of which: on the CPU before %.2f ms, network (8-bit upload, resizing, "
                      "placing, run, download) %.2f ms, decoding + NMS %.2f ms\n", qr_detector_get_name (detector), precisions[p], batch,
                      prepare, network, decode);
              /* the network alone, fed floats as PyTorch is: like for like with its numbers */
              net_ms = time_network (detector, image, batch, repeat, &error);
              if (net_ms < 0)
                return qr_cli_fail (g_steal_pointer (&error));
              printf ("  %-11s %s batch %-3d quorum  %8.2f ms/batch %8.1f images/s  network only (float upload, run, "
                      "download)\n", qr_detector_get_name (detector), precisions[p], batch, net_ms, batch * 1000.0 / net_ms);
              fflush (stdout);
              ours[b] = ms;
              ours_net[b] = net_ms;
            }
          if (!no_peer)
            {
              if (!run_torch (graph_path, constants_path, input_path, batches, theirs, precisions[p], repeat, check_dir,
                              checks, &peer_error))
                printf ("  (PyTorch not run: %s)\n", peer_error->message);
              else if (peer_error != NULL)
                printf ("  (PyTorch stopped part way: %s)\n", peer_error->message);
              for (guint b = 0; batches[b] != NULL; b++)
                {
                  if (theirs[b] <= 0)
                    continue;
                  printf ("  %-11s %s batch %-3s pytorch %8.2f ms/batch %8.1f images/s  (network and transfers only)\n",
                          qr_detector_get_name (detector), precisions[p], batches[b], theirs[b],
                          atoi (batches[b]) * 1000.0 / theirs[b]);
                  printf ("  %-11s %s batch %-3s ratio PyTorch / quorum: %.2f× end to end, %.2f× network only\n",
                          qr_detector_get_name (detector), precisions[p], batches[b], theirs[b] / ours[b],
                          theirs[b] / ours_net[b]);
                }
              if (checks->len > 0)
                printf ("  %-11s %s PyTorch's outputs against ours (largest difference / largest value): %s\n",
                        qr_detector_get_name (detector), precisions[p], checks->str);
            }
        }
        fflush (stdout);
      }
  return QR_EXIT_OK;
}

/* ms per image, the median of repeat runs of detector after one warm-up (which plans memory for
 * the batch), as the peers report theirs (a mean let one stall of the machine move a line by half):
 * model and decoding at batch 1 with real weights, the model alone otherwise (made-up weights give
 * thousands of boxes; OpenCV and TF.js are timed on the network alone). < 0 with error. */
static double
time_detector (QrDetector *detector, QrImage *image, const float *input, int batch, int repeat, gboolean random_weights,
               GError **error)
{
  QrModel *model = qr_detector_get_model (detector);
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

  if (!qr_model_run (model, input, batch, NULL, NULL, error))
    return -1;
  for (int r = 0; r < repeat; r++)
    {
      g_autoptr (GArray) found = NULL;
      gint64 start = g_get_monotonic_time ();
      double ms;
      if (batch > 1 || random_weights)
        {
          if (!qr_model_run (model, input, batch, NULL, NULL, error))
            return -1;
        }
      else if ((found = qr_detector_detect (detector, image, NULL, NULL, error)) == NULL)
        return -1;
      ms = (double) (g_get_monotonic_time () - start) / 1000.0 / batch;
      g_array_append_val (times, ms);
    }
  g_array_sort (times, qr_cli_compare_doubles);
  return g_array_index (times, double, times->len / 2);
}

int
qr_cli_bench_detect (int argc, char **argv)
{
  g_autofree char *models_text = NULL, *image_path = NULL;
  int threads = 0, repeat = 20, batch = 1;
  gboolean no_peer = FALSE;
  g_autofree char *device_text = NULL, *batches_text = NULL, *precisions_text = NULL, *export_dir = NULL;
  GOptionEntry entries[] = {
    { "export", 0, 0, G_OPTION_ARG_FILENAME, &export_dir, "Write the first model's network, an input and Quorum's "
      "outputs there for another framework (bench/torch-peer.py reads them)", "DIR" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "cpu (default) or cuda: on CUDA, PyTorch runs beside", "DEVICE" },
    { "batches", 0, 0, G_OPTION_ARG_STRING, &batches_text, "On CUDA: batch sizes (default 1,64)", "LIST" },
    { "precisions", 0, 0, G_OPTION_ARG_STRING, &precisions_text, "On CUDA: fp16, tf32, fp32 (default fp16,fp32)", "LIST" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &models_text, "Comma-separated models (default centernet,nanodet,"
      "yolov4-tiny,yolov3-tiny; yolov8n-shaped: an ONNX YOLOv8n made here, PyTorch beside it)", "NAMES" },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image_path, "The photo to run on (default: the demo's darknet-dog.jpg)", "PATH" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "CPU threads (default: one per core)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images per run (default 1)", "N" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Timed runs (default 20)", "N" },
    { "no-peer", 0, 0, G_OPTION_ARG_NONE, &no_peer, "Skip the peer (TF.js, OpenCV)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— detector speed on the CPU, with TF.js WASM (TF.js models) or OpenCV DNN (Darknet models) beside it");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) models = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autofree char *tmp = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (repeat < 1 || batch < 1 || batch > 256)
    return qr_cli_usage_error (context, "--repeat must be at least 1 and --batch between 1 and 256");
  models = g_strsplit (models_text ? models_text : "centernet,nanodet,yolov4-tiny,yolov3-tiny", ",", -1);
  if (image_path == NULL)
    image_path = g_build_filename (QUORUM_DEMO_DIR_SOURCE, "darknet-dog.jpg", NULL);
  image = qr_image_load (image_path, NULL, 0, &error);
  if (image == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  if (device_text != NULL && g_str_equal (device_text, "cuda"))
    {
      int status = bench_detect_cuda (models, image, image_path, batches_text, precisions_text, repeat, no_peer, tmp);
      qr_remove_tree (tmp);
      return status;
    }
  if (device_text != NULL && !g_str_equal (device_text, "cpu"))
    return qr_cli_usage_error (context, "--device is cpu or cuda");
  if (export_dir != NULL)
    {
      gboolean random_weights;
      g_autofree char *path = bench_model_path (models[0], tmp, &random_weights, &error);
      g_autoptr (QrDetector) detector = NULL;
      if (path == NULL || (detector = qr_detector_load (path, NULL, &error)) == NULL
          || g_mkdir_with_parents (export_dir, 0755) != 0 || !export_for_peer (detector, image, export_dir, &error))
        {
          qr_remove_tree (tmp);
          if (error == NULL)
            g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot make the folder", export_dir);
          return qr_cli_fail (g_steal_pointer (&error));
        }
      printf ("%s: %s's network, an input and its outputs\n", export_dir, qr_detector_get_name (detector));
      qr_remove_tree (tmp);
      return QR_EXIT_OK;
    }

  printf ("bench detect: %s, batch %d, %d timed runs after one warm-up, %d threads of %u cores\n", image_path, batch, repeat,
          threads > 0 ? threads : (int) g_get_num_processors (), g_get_num_processors ());
  for (guint m = 0; models[m] != NULL; m++)
    {
      gboolean random_weights;
      g_autofree char *path = bench_model_path (models[m], tmp, &random_weights, &error);
      g_autoptr (QrDetector) detector = NULL;
      g_autofree float *input = NULL;
      g_autofree char *input_path = NULL, *shape = NULL;
      QrDetectorOptions options;
      int size, in_w, in_h;
      gsize per_image;
      const char *peer_name = "TF.js WASM", *torch_how = "";
      int used = threads > 0 ? threads : (int) g_get_num_processors ();
      double ours_ms, peer_ms = -1, ours_one_ms = -1, gflop;

      if (path == NULL)
        goto fail;
      qr_detector_options_init (&options);
      options.n_threads = threads;
      detector = qr_detector_load (path, &options, &error);
      if (detector == NULL)
        goto fail;
      size = qr_detector_get_input_size (detector);
      qr_detector_get_input_dims (detector, &in_w, &in_h);
      per_image = (gsize) in_w * (gsize) in_h * 3;
      input = g_new (float, per_image * (gsize) batch);
      for (int b = 0; b < batch; b++)
        qr_detector_preprocess (detector, image, input + per_image * (gsize) b);
      if ((ours_ms = time_detector (detector, image, input, batch, repeat, random_weights, &error)) < 0)
        goto fail;
      gflop = qr_model_get_flops (qr_detector_get_model (detector)) / 1e9;

      if (!no_peer && batch == 1)
        {
          g_autoptr (GError) peer_error = NULL;
          input_path = g_build_filename (tmp, "input.f32", NULL);
          if (!g_file_set_contents (input_path, (const char *) input, (gssize) (per_image * sizeof (float)), &error))
            goto fail;
          if (g_str_equal (qr_detector_get_family (detector), "ultralytics"))
            {
              peer_name = "PyTorch";
              peer_ms = run_torch_yolo (path, input_path, in_w, repeat, used, &torch_how, &peer_error);
            }
          else if (g_str_equal (qr_detector_get_family (detector), "yolo"))
            {
              g_autofree char *stem = g_strndup (path, strlen (path) - 4);
              g_autofree char *weights = g_strconcat (stem, ".weights", NULL);
              peer_name = "OpenCV DNN";
              peer_ms = run_opencv_darknet (path, weights, input_path, in_w, in_h, repeat, used, tmp, &peer_error);
            }
          else
            {
              shape = g_str_equal (qr_detector_get_family (detector), "centernet") ? g_strdup_printf ("1,%d,%d,3", size, size)
                                                                                : g_strdup_printf ("1,3,%d,%d", size, size);
              peer_ms = run_tfjs_wasm (path, input_path, shape, repeat, tmp, &peer_error);
              /* TF.js's WASM backend has no threads in Node (one core, SIMD): Quorum on one
                 thread too, for a ratio at equal threads beside the one at the asked threads */
              if (peer_ms > 0 && used > 1)
                {
                  g_autoptr (QrDetector) one = NULL;
                  options.n_threads = 1;
                  if ((one = qr_detector_load (path, &options, &error)) == NULL
                      || (ours_one_ms = time_detector (one, image, input, 1, repeat, random_weights, &error)) < 0)
                    goto fail;
                }
            }
          if (peer_ms < 0)
            printf ("  (%s not run: %s)\n", peer_name, peer_error->message);
        }
      printf ("  %-11s quorum CPU   %7.1f ms/image  %6.1f images/s  %5.2f GFLOP/image  %5.1f GFLOP/s  (%dx%d, %s)\n",
              qr_detector_get_name (detector), ours_ms, 1000.0 / ours_ms, gflop, gflop / ours_ms * 1000.0, in_w, in_h,
              random_weights ? "random weights, model only, median"
              : batch == 1   ? "model and decoding, median"
                             : "model only, median");
      if (ours_one_ms > 0)
        printf ("  %-11s quorum CPU   %7.1f ms/image  %6.1f images/s  (1 thread, as TF.js WASM)\n",
                qr_detector_get_name (detector), ours_one_ms, 1000.0 / ours_one_ms);
      if (peer_ms > 0)
        {
          gboolean tfjs = g_str_equal (peer_name, "TF.js WASM");
          printf ("  %-11s %-12s %7.1f ms/image  %6.1f images/s  (model only: %s%s)\n", qr_detector_get_name (detector),
                  peer_name, peer_ms, 1000.0 / peer_ms,
                  g_str_equal (qr_detector_get_family (detector), "yolo") ? "cv2.dnn, CPU backend, same threads, median"
                  : g_str_equal (qr_detector_get_family (detector), "ultralytics") ? "the exported module, eager, median; "
                  : "tfjs-backend-wasm, 1 thread: it has none in Node, median", torch_how);
          if (tfjs && used > 1)
            printf ("  %-11s ratio %s / quorum: %.2f× (quorum on %d threads), %.2f× (both on 1)\n",
                    qr_detector_get_name (detector), peer_name, peer_ms / ours_ms, used, peer_ms / ours_one_ms);
          else
            printf ("  %-11s ratio %s / quorum: %.2f×\n", qr_detector_get_name (detector), peer_name, peer_ms / ours_ms);
        }
    }
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}
