/* bench-scan.c: `quorum bench scan`: a whole collection through the peers, as a user runs it —
 * photos/s from JPEG files on disk to detections in the catalog. It makes the photos (N JPEGs of
 * 640 × 480 or --size, each a different crop, mirror and exposure of the demo's photos, quality 90; larger
 * than a demo photo they are its crop enlarged, smoother than a camera's), indexes
 * them, then times `quorum peers run` (the default peers: CenterNet, NanoDet and their mirrored
 * variants) from a fresh catalog, with the CPU time the run used and, on an NVIDIA GPU, how busy
 * nvidia-smi saw the GPU. The photos can be kept (--dir, in a folder WxH there) so that a second run only times. */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-files.h"
#include "qr-image.h"
#include "quorum-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int scan_width = 640, scan_height = 480;

/* The fractional part of x: the variants' crops, mirrors and exposures spread evenly. */
static double
frac (double x)
{
  return x - floor (x);
}

/* Photo i: source i mod n, its variant i / n — a 4:3 window of 70–100% of the largest one,
 * placed along the source, mirrored for odd variants, exposure × 0.85–1.15. */
static QrImage *
make_photo (QrImage *const *sources, guint n_sources, guint i)
{
  const QrImage *src = sources[i % n_sources];
  guint v = i / n_sources;
  double scale = 0.7 + 0.3 * frac (v * 0.6180339887), gain = 0.85 + 0.3 * frac (v * 0.7548776662 + 0.5);
  int w = src->width, h = src->height, cw, ch, x0, y0;
  g_autoptr (QrImage) crop = NULL;
  QrImage *photo;

  if (w * 3 > h * 4)
    ch = h, cw = h * 4 / 3;
  else
    cw = w, ch = w * 3 / 4;
  cw = MAX (1, (int) (cw * scale));
  ch = MAX (1, (int) (ch * scale));
  x0 = (int) ((w - cw) * frac (v * 0.3819660113));
  y0 = (int) ((h - ch) * frac (v * 0.5698402910));
  crop = qr_image_new (cw, ch);
  for (int y = 0; y < ch; y++)
    for (int x = 0; x < cw; x++)
      {
        int sx = v % 2 ? x0 + cw - 1 - x : x0 + x;
        const guint8 *p = src->pixels + ((gsize) (y0 + y) * (gsize) w + (gsize) sx) * 3;
        guint8 *q = crop->pixels + ((gsize) y * (gsize) cw + (gsize) x) * 3;
        for (int c = 0; c < 3; c++)
          q[c] = (guint8) MIN (255.0, p[c] * gain + 0.5);
      }
  photo = qr_image_resize (crop, scan_width, scan_height);
  return photo;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Writes the photos dir lacks (scan-NNNNN.jpg); the sources are the demo's photos. */
static gboolean
make_photos (const char *dir, guint n, guint *made, GError **error)
{
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_image_free);
  g_autoptr (GDir) demo = g_dir_open (QUORUM_DEMO_DIR_SOURCE, 0, error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  gint failed = 0, count = 0;
  GError *first = NULL;
  GMutex lock;

  if (demo == NULL)
    return FALSE;
  while ((entry = g_dir_read_name (demo)) != NULL)
    if (g_str_has_suffix (entry, ".jpg") || g_str_has_suffix (entry, ".png"))
      g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);
  for (guint k = 0; k < names->len; k++)
    {
      g_autofree char *path = g_build_filename (QUORUM_DEMO_DIR_SOURCE, names->pdata[k], NULL);
      QrImage *image = qr_image_load (path, NULL, 0, error);
      if (image == NULL)
        return FALSE;
      g_ptr_array_add (sources, image);
    }
  if (sources->len == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no photos to make the collection from",
                   QUORUM_DEMO_DIR_SOURCE);
      return FALSE;
    }
  g_mutex_init (&lock);
#pragma omp parallel for schedule(dynamic, 16)
  for (guint i = 0; i < n; i++)
    {
      char name[32];
      g_autofree char *path = NULL;
      g_autoptr (QrImage) photo = NULL;
      g_autofree guint8 *bytes = NULL;
      GError *local = NULL;
      gsize len = 0;

      if (g_atomic_int_get (&failed))
        continue;
      g_snprintf (name, sizeof name, "scan-%05u.jpg", i);
      path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      photo = make_photo ((QrImage *const *) sources->pdata, sources->len, i);
      bytes = qr_image_encode_jpeg (photo, 90, &len, &local);
      if (bytes == NULL || !g_file_set_contents (path, (const char *) bytes, (gssize) len, &local))
        {
          g_mutex_lock (&lock);
          if (first == NULL)
            first = local;
          else
            g_clear_error (&local);
          g_mutex_unlock (&lock);
          g_atomic_int_set (&failed, 1);
          continue;
        }
      g_atomic_int_inc (&count);
    }
  g_mutex_clear (&lock);
  *made = (guint) count;
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  return TRUE;
}

/* The CPU seconds (user + system) the finished children have used. */
static double
children_cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_CHILDREN, &u);
  return (double) u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double) u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* nvidia-smi sampling the GPU's utilisation every 200 ms, started before a run and read after. */
typedef struct
{
  GPid pid;
  int  out;
} GpuSampler;

static gboolean
gpu_sampler_start (GpuSampler *sampler)
{
  const char *argv[] = { "nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200",
                         NULL };
  sampler->pid = 0;
  sampler->out = -1;
  return g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                                   | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &sampler->pid, NULL, &sampler->out, NULL,
                                   NULL);
}

/* The mean of the samples (percent), or < 0 when there were none. */
static double
gpu_sampler_stop (GpuSampler *sampler, guint *samples)
{
  g_autoptr (GString) text = g_string_new (NULL);
  char buffer[4096];
  gssize got;
  double sum = 0;
  int status;
  g_auto (GStrv) lines = NULL;

  *samples = 0;
  kill (sampler->pid, SIGTERM);
  while ((got = read (sampler->out, buffer, sizeof buffer)) > 0)
    g_string_append_len (text, buffer, got);
  close (sampler->out);
  waitpid (sampler->pid, &status, 0);
  g_spawn_close_pid (sampler->pid);
  lines = g_strsplit (text->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *end;
      double v = g_ascii_strtod (lines[i], &end);
      if (end != lines[i])
        {
          sum += v;
          (*samples)++;
        }
    }
  return *samples > 0 ? sum / *samples : -1;
}

int
qr_cli_bench_scan (int argc, char **argv)
{
  g_autofree char *dir_option = NULL, *device = NULL, *peers = NULL, *size = NULL, *photos_dir = NULL;
  int photos = 20000;
  GOptionEntry entries[] = {
    { "photos", 'n', 0, G_OPTION_ARG_INT, &photos, "Photos in the collection (default 20,000)", "N" },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir_option, "Keep the photos here (made once; a later run only times)",
      "DIR" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu, cuda or auto (default auto)", "DEVICE" },
    { "peers", 0, 0, G_OPTION_ARG_STRING, &peers, "The peers (default: the app's)", "LIST" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "The photos' size (default 640x480; 4032x3024: a phone's)", "WxH" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— a collection of JPEGs (640 × 480) through the peers, photos/s "
                                                             "into the catalog");
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL, *db = NULL, *self = NULL;
  const char *dir;
  guint made = 0, samples = 0;
  gint64 start;
  double make_s, index_s, run_s, cpu_before, cpu_s, gpu = -1;
  GpuSampler sampler = { 0 };
  gboolean sampling = FALSE;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (photos < 1 || photos > 1000000)
    return qr_cli_usage_error (context, "--photos must be 1 to 1,000,000");
  if (size != NULL && (sscanf (size, "%dx%d", &scan_width, &scan_height) != 2 || scan_width < 16 || scan_height < 16
                       || scan_width > 10000 || scan_height > 10000))
    return qr_cli_usage_error (context, "--size is WIDTHxHEIGHT, each 16 to 10,000 (e.g. 4032x3024)");
  if ((self = g_file_read_link ("/proc/self/exe", &error)) == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  if (dir_option != NULL)
    {
      if (g_mkdir_with_parents (dir_option, 0755) != 0)
        {
          g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", dir_option, g_strerror (errno));
          return qr_cli_fail (g_steal_pointer (&error));
        }
      dir = dir_option;
    }
  else
    {
      if ((tmp = g_dir_make_tmp ("quorum-scan-XXXXXX", &error)) == NULL)
        return qr_cli_fail (g_steal_pointer (&error));
      dir = tmp;
    }
  db = g_build_filename (dir, "scan-catalog.sqlite", NULL);
  /* each size in a folder of its own */
  photos_dir = g_strdup_printf ("%s/%dx%d", dir, scan_width, scan_height);
  if (g_mkdir_with_parents (photos_dir, 0755) != 0)
    {
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", photos_dir, g_strerror (errno));
      goto fail;
    }

  start = g_get_monotonic_time ();
  if (!make_photos (photos_dir, (guint) photos, &made, &error))
    goto fail;
  make_s = (double) (g_get_monotonic_time () - start) / 1e6;

  /* a fresh catalog each time: the run does every photo */
  {
    const char *suffixes[] = { "", "-wal", "-shm" };
    for (guint k = 0; k < G_N_ELEMENTS (suffixes); k++)
      {
        g_autofree char *f = g_strconcat (db, suffixes[k], NULL);
        g_unlink (f);
      }
  }
  {
    const char *args[] = { "index", "--db", db, "--quiet", photos_dir, NULL };
    start = g_get_monotonic_time ();
    if (!qr_cli_run_self (self, args, &status, &error))
      goto fail;
    index_s = (double) (g_get_monotonic_time () - start) / 1e6;
  }
  {
    g_autoptr (GPtrArray) args = g_ptr_array_new ();
    g_ptr_array_add (args, (char *) "peers");
    g_ptr_array_add (args, (char *) "--collection");
    g_ptr_array_add (args, photos_dir);
    g_ptr_array_add (args, (char *) "--db");
    g_ptr_array_add (args, db);
    g_ptr_array_add (args, (char *) "--quiet");
    g_ptr_array_add (args, (char *) "--device");
    g_ptr_array_add (args, device != NULL ? device : (char *) "auto");
    if (peers != NULL)
      {
        g_ptr_array_add (args, (char *) "--peers");
        g_ptr_array_add (args, peers);
      }
    g_ptr_array_add (args, (char *) "run");
    g_ptr_array_add (args, NULL);
    {
      g_autofree char *smi = g_find_program_in_path ("nvidia-smi");
      sampling = device != NULL && !g_str_equal (device, "cpu") && smi != NULL && gpu_sampler_start (&sampler);
    }
    cpu_before = children_cpu_seconds ();
    start = g_get_monotonic_time ();
    if (!qr_cli_run_self (self, (const char *const *) args->pdata, &status, &error))
      {
        if (sampling)
          gpu_sampler_stop (&sampler, &samples);
        goto fail;
      }
    run_s = (double) (g_get_monotonic_time () - start) / 1e6;
    cpu_s = children_cpu_seconds () - cpu_before;
    if (sampling)
      gpu = gpu_sampler_stop (&sampler, &samples);
  }

  printf ("bench scan: %d photos of %d × %d (JPEG, quality 90; %u made now in %.1f s) in %s, %u cores\n", photos,
          scan_width, scan_height, made, make_s, dir, g_get_num_processors ());
  printf ("  index                 %8.2f s  (not counted below)\n", index_s);
  printf ("  peers run (%s, device %s)  %8.2f s  %8.1f photos/s\n", peers != NULL ? peers : "the app's peers",
          device != NULL ? device : "auto", run_s, photos / run_s);
  printf ("  CPU time of the run   %8.2f s  (%.1f of %u cores busy on average)\n", cpu_s, cpu_s / run_s,
          g_get_num_processors ());
  if (gpu >= 0)
    printf ("  GPU busy (nvidia-smi) %8.1f %%   (mean of %u samples, 200 ms apart)\n", gpu, samples);
  else if (device != NULL && !g_str_equal (device, "cpu"))
    printf ("  GPU busy: not measured (no nvidia-smi)\n");
  printf ("  goal (issue 19): ≥ 2,000 photos/s on the 16-core H100 machine\n");
  if (tmp != NULL)
    qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  if (tmp != NULL)
    qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}
